import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaticCredentials } from '../../functions/adapters/device-credentials.js';
import type { ApplyTarget } from '../../functions/services/load-balancer-applier.js';
import { LoadBalancerApplier } from '../../functions/services/load-balancer-applier.js';
import { type ReconcileReport, Reconciler } from '../../functions/services/reconciler.js';
import { wirePartitionWriter } from '../../functions/wiring/device-cluster-wiring.js';
import { BigIpPair } from '../../local/bigip-simulator/bigip-pair.js';
import type { BigIpSimulator } from '../../local/bigip-simulator/bigip-simulator.js';
import { type DeviceNormaliser, startDeviceNormaliser } from '../support/device-normaliser.js';
import { requests, uuid } from '../support/factories.js';
import { InMemoryAgentRegistry } from '../support/fakes/in-memory-agent-registry.js';
import { InMemoryBindingStore } from '../support/fakes/in-memory-binding-store.js';
import { InMemoryHealthStore } from '../support/fakes/in-memory-health-store.js';
import { InMemoryLease } from '../support/fakes/in-memory-lease.js';
import { InMemoryResourceStore } from '../support/fakes/in-memory-resource-store.js';
import { InMemorySyncLedger } from '../support/fakes/in-memory-sync-ledger.js';
import { messagesFor, shape, VERSIONS } from '../support/load-balancer-shapes.js';
import { parsed } from '../support/service-fixtures.js';

/**
 * Convergence by construction (issue 31, part 1): on an HA pair whose units read everything back
 * otherwise than it was written (the device normaliser: defaults added, lists reordered,
 * representations changed, `caseInsensitive` added, `code: 0`, extra references, `generation` and
 * `?ver=` changing, member health changing), for generated trees on every supported TMOS version:
 * the second apply writes no object and runs no config-sync, nor does a reconciler run; a real drift
 * (a member removed by hand, a pool's mode changed on the device) is found and repaired, and after
 * the repair nothing is written again; a load balancer whose records are lost (taken over, say) is
 * compared field by field once, and then not again. The agent knows none of the normaliser's rules.
 */
const ENV = 'Norm';
const DEVICE_GROUP = 'failover-group';

interface Unit {
  pair: BigIpPair;
  normalisers: DeviceNormaliser[];
}
const units = new Map<string, Unit>();

beforeAll(async () => {
  for (const version of VERSIONS) {
    const pair = BigIpPair.create({ version });
    const [a, b] = await pair.listen();
    const normalisers = [await startDeviceNormaliser(a), await startDeviceNormaliser(b)];
    units.set(version, { pair, normalisers });
  }
});
afterAll(async () => {
  for (const { pair, normalisers } of units.values()) {
    for (const n of normalisers) await n.close();
    await pair.close();
  }
});

const sims = (u: Unit): BigIpSimulator[] => [u.pair.a, u.pair.b];
const syncsOn = (u: Unit) => sims(u).reduce((n, sim) => n + sim.sync.requested, 0);
const done = (r: ReconcileReport) => {
  if (r.outcome === 'skipped') throw new Error(`run skipped: ${r.reason}`);
  if (r.outcome === 'aborted') throw new Error(`run aborted: ${r.reason}`);
  return r;
};

describe('convergence on a device that reads back otherwise than it was written', () => {
  it('writes and syncs nothing when nothing changed, and still repairs real drift, on 12.1, 13.1, 14.1, 15.1 and 17.1', async () => {
    await fc.assert(
      fc.asyncProperty(shape, fc.boolean(), async (s, takeOver) => {
        const u = units.get(s.version) as Unit;
        const resources = new InMemoryResourceStore();
        const wiring = {
          env: ENV,
          lease: new InMemoryLease(),
          ledger: new InMemorySyncLedger(),
          owner: 'agent-1',
          newOwner: uuid,
          credentials: new StaticCredentials({ username: 'admin', password: 'admin' }),
          syncPollMs: 5,
        };
        const { cluster, writer, sync } = wirePartitionWriter(
          {
            devices: u.normalisers.map((n, i) => ({ name: `bigip${i + 1}`, baseUrl: n.url })),
            deviceSecretId: 'local',
            caBundle: undefined,
            deviceGroup: DEVICE_GROUP,
            trafficGroup: undefined,
            clusterName: 'c1',
            restTimeoutMs: 5_000,
          },
          wiring,
        );
        const applier = new LoadBalancerApplier({
          env: ENV,
          host: 'agent-1',
          resources,
          bindings: new InMemoryBindingStore(),
          registry: new InMemoryAgentRegistry(),
          writer,
          statistics: new InMemoryHealthStore(resources),
          clock: Date.now,
        });
        const reconciler = new Reconciler({
          env: ENV,
          cluster,
          registry: new InMemoryAgentRegistry(),
          bindings: new InMemoryBindingStore(),
          resources,
          writer,
          sync,
          runLease: new InMemoryLease(),
          owner: 'reconciler',
          clock: Date.now,
        });
        const { ids, messages } = messagesFor(s);
        for (const m of messages) await resources.recordRequest(parsed(m), ENV, Date.now());
        const target: ApplyTarget = {
          requestId: 'r',
          tenantId: ids.tenantId,
          loadbalancerId: ids.loadbalancerId,
          resource: 'loadbalancer',
          objectId: ids.loadbalancerId,
          operation: 'create',
        };
        const reconcile = async () =>
          done(
            await reconciler.run({
              dryRun: false,
              orphans: 'report',
              scope: { loadbalancerId: ids.loadbalancerId },
            }),
          ).loadbalancers[0];
        /** What one step wrote on either unit and how many config-syncs it ran. */
        const measured = async <T>(step: () => Promise<T>) => {
          const calls = sims(u).map((sim) => sim.calls.length);
          const syncs = syncsOn(u);
          const value = await step();
          const writes = sims(u).flatMap((sim, i) =>
            sim.calls
              .slice(calls[i])
              .filter((c) => c.method !== 'GET' && !c.path.includes('/authn/'))
              .map((c) => `${sim.hostname} ${c.method} ${c.path}`),
          );
          return { value, writes, syncs: syncsOn(u) - syncs };
        };
        try {
          const first = await measured(() => applier.apply(target));
          expect(first.value.outcome).toBe('applied');
          expect(first.syncs).toBeGreaterThan(0);
          const records = await resources.loadRecords(ids.loadbalancerId);
          expect(
            records
              .filter((r) => r.provisioningStatus !== 'ACTIVE')
              .map((r) => `${r.type}: ${r.statusReason}`),
          ).toEqual([]);

          // Unchanged: no object written, no config-sync, by the agent or the reconciler.
          const second = await measured(() => applier.apply(target));
          expect(second.value).toMatchObject({ outcome: 'applied', commands: 0 });
          expect(second.writes).toEqual([]);
          expect(second.syncs).toBe(0);
          const verified = await measured(reconcile);
          expect(verified.value?.outcome).toBe('in-sync');
          expect(verified.writes).toEqual([]);
          expect(verified.syncs).toBe(0);

          if (takeOver) {
            // Records lost (a configuration taken over): compared field by field once, then recorded.
            for (const r of resources.records.values()) delete r.lastApplied;
            await measured(() => applier.apply(target));
            const after = await measured(() => applier.apply(target));
            expect(after.writes).toEqual([]);
            expect(after.syncs).toBe(0);
          }

          // Real drift on the active unit: a member removed by hand, the pool's mode changed.
          const active = u.pair.active;
          const partition = `${ENV}_${ids.tenantId}`;
          const poolPath = active.store.all('ltm/pool').find((p) => p.partition === partition)
            ?.fullPath as string;
          const mode = active.store.get('ltm/pool', poolPath)?.attrs.loadBalancingMode;
          const members = active.store.all('ltm/pool/members').filter((m) => m.pool === poolPath);
          const removed = members[0];
          if (removed) active.store.delete('ltm/pool/members', `${poolPath}|${removed.fullPath}`);
          const other = mode === 'least-connections-node' ? 'observed-member' : 'least-connections-node';
          active.store.patch('ltm/pool', poolPath, { loadBalancingMode: other });

          const repaired = await measured(reconcile);
          expect(repaired.value?.outcome).toBe('repaired');
          expect(repaired.value?.drift).toEqual(
            expect.arrayContaining([
              expect.objectContaining({ action: 'change', kind: 'pool', path: poolPath }),
              ...(removed ? [{ action: 'create', kind: 'member', path: `${poolPath}/${removed.name}` }] : []),
            ]),
          );
          expect(repaired.syncs).toBeGreaterThan(0);
          for (const sim of sims(u)) {
            expect(sim.store.get('ltm/pool', poolPath)?.attrs.loadBalancingMode).toBe(mode);
            expect(sim.store.all('ltm/pool/members').filter((m) => m.pool === poolPath)).toHaveLength(
              members.length,
            );
          }

          // Repaired is recorded: nothing to do again, for the reconciler or the agent.
          const again = await measured(reconcile);
          expect(again.value?.outcome).toBe('in-sync');
          expect(again.writes).toEqual([]);
          expect(again.syncs).toBe(0);
          const last = await measured(() => applier.apply(target));
          expect(last.value).toMatchObject({ outcome: 'applied', commands: 0 });
          expect(last.writes).toEqual([]);
          expect(last.syncs).toBe(0);
        } finally {
          await resources.recordRequest(
            parsed(requests.delete('loadbalancer', ids, ids.loadbalancerId)),
            ENV,
            Date.now(),
          );
          await applier.apply({ ...target, operation: 'delete' });
          await cluster.close();
        }
      }),
      // A failure costs a config-sync timeout per run: report the first one rather than shrink for minutes.
      { numRuns: 30, endOnFailure: true },
    );
    for (const u of units.values()) {
      for (const sim of sims(u)) expect(sim.dump()).toEqual({});
      expect(u.normalisers.every((n) => n.rewritten > 0)).toBe(true);
    }
  }, 300_000);
});
