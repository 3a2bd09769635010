import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BigIpSimulator } from '../../local/bigip-simulator/bigip-simulator.js';
import { deviceApplier, loadBalancerTarget } from '../support/device-applier.js';
import { requests } from '../support/factories.js';
import { messagesFor, shape, VERSIONS } from '../support/load-balancer-shapes.js';
import { parsed } from '../support/service-fixtures.js';

/**
 * Convergence on a device that behaves like a real one (device-facts.md §1): for every shape
 * the product supports, applying a load balancer a second time, unchanged, makes no write at all.
 * The stores are in memory; the device path is real: iControl REST client → simulator.
 */
const ENV = 'Conv';
const sims = new Map<string, BigIpSimulator>();
const urls = new Map<string, string>();

beforeAll(async () => {
  for (const version of VERSIONS) {
    const sim = new BigIpSimulator({ version });
    urls.set(version, await sim.listen());
    sims.set(version, sim);
  }
});
afterAll(async () => {
  for (const sim of sims.values()) await sim.close();
});

describe('re-applying an unchanged load balancer writes nothing (every supported shape)', () => {
  it('holds for generated trees on BIG-IP 12.1, 13.1, 14.1, 15.1 and 17.1', async () => {
    await fc.assert(
      fc.asyncProperty(shape, async (s) => {
        const sim = sims.get(s.version) as BigIpSimulator;
        const { resources, cluster, applier } = deviceApplier({
          env: ENV,
          urls: [urls.get(s.version) as string],
        });
        const { ids, messages } = messagesFor(s);
        for (const m of messages) await resources.recordRequest(parsed(m), ENV, Date.now());
        const target = loadBalancerTarget(ids);
        try {
          const first = await applier.apply(target);
          expect(first.outcome).toBe('applied');
          const records = await resources.loadRecords(ids.loadbalancerId);
          expect(
            records
              .filter((r) => r.provisioningStatus !== 'ACTIVE')
              .map((r) => `${r.type}: ${r.statusReason}`),
          ).toEqual([]);
          const before = sim.calls.length;
          const second = await applier.apply(target);
          const writes = sim.calls.slice(before).filter((c) => c.method !== 'GET');
          expect(second).toMatchObject({ outcome: 'applied', commands: 0 });
          expect(writes.map((c) => `${c.method} ${c.path}`)).toEqual([]);
        } finally {
          // Leave the device empty for the next tree (a delete applies the whole load balancer).
          await resources.recordRequest(
            parsed(requests.delete('loadbalancer', ids, ids.loadbalancerId)),
            ENV,
            Date.now(),
          );
          await applier.apply({ ...target, operation: 'delete' });
          await cluster.close();
        }
      }),
      { numRuns: 40 },
    );
    for (const sim of sims.values()) expect(sim.dump()).toEqual({});
  }, 120_000);
});
