import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyTargetOf } from '../../functions/services/load-balancer-applier.js';
import { type ReconcileReport, Reconciler } from '../../functions/services/reconciler.js';
import { BigIpPair } from '../../local/bigip-simulator/bigip-pair.js';
import { BigIpSimulator } from '../../local/bigip-simulator/bigip-simulator.js';
import { deviceApplier, loadBalancerTarget } from '../support/device-applier.js';
import { type DeviceNormaliser, startDeviceNormaliser } from '../support/device-normaliser.js';
import { requests, uuid } from '../support/factories.js';
import { InMemoryAgentRegistry } from '../support/fakes/in-memory-agent-registry.js';
import { InMemoryBindingStore } from '../support/fakes/in-memory-binding-store.js';
import { InMemoryLease } from '../support/fakes/in-memory-lease.js';
import { messagesFor, shape, VERSIONS } from '../support/load-balancer-shapes.js';
import { parsed } from '../support/service-fixtures.js';

/**
 * Convergence by construction (issue 31, part 1): on an HA pair whose units read everything back
 * otherwise than it was written (the device normaliser: defaults added, lists reordered,
 * representations changed, `caseInsensitive` added, `code: 0`, extra references, `generation` and
 * `?ver=` changing, member health changing), for generated trees on every supported TMOS version:
 * the second apply writes no object and runs no config-sync, nor does a reconciler run; a changed
 * intent is written once and then not again, whether the device answers a write as it reads the
 * object back or otherwise; a real drift (a member removed by hand, a pool's mode changed on the
 * device) is found and repaired, and after the repair nothing is written again; a load balancer
 * whose records are lost (taken over, say) is compared field by field once, and then not again. The
 * agent knows none of the normaliser's rules.
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
      fc.asyncProperty(
        shape,
        fc.boolean(),
        fc.constantFrom('as-read', 'raw'),
        async (s, takeOver, answers) => {
          const u = units.get(s.version) as Unit;
          for (const n of u.normalisers) n.answers = answers;
          const { resources, cluster, writer, sync, applier } = deviceApplier({
            env: ENV,
            urls: u.normalisers.map((n) => n.url),
            deviceGroup: DEVICE_GROUP,
            syncPollMs: 5,
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
          const target = loadBalancerTarget(ids);
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

            // A changed intent (the pool's algorithm) is written once, and then nothing again.
            const poolId = messages.find((m) => m.resource === 'pool')?.object as { id: string };
            const update = parsed(
              requests.update('pool', ids, {
                id: poolId.id,
                lb_algorithm: s.pool.lb_algorithm === 'ROUND_ROBIN' ? 'LEAST_CONNECTIONS' : 'ROUND_ROBIN',
              }),
            );
            await resources.recordRequest(update, ENV, Date.now());
            const changed = await measured(() => applier.apply(applyTargetOf(update)));
            expect(changed.value.outcome).toBe('applied');
            expect(changed.writes.length).toBeGreaterThan(0);
            expect(changed.syncs).toBeGreaterThan(0);
            const unchanged = await measured(() => applier.apply(target));
            expect(unchanged.writes).toEqual([]);
            expect(unchanged.syncs).toBe(0);

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
                ...(removed
                  ? [{ action: 'create', kind: 'member', path: `${poolPath}/${removed.name}` }]
                  : []),
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
            for (const n of u.normalisers) n.answers = 'as-read';
          }
        },
      ),
      // A failure costs a config-sync timeout per run: report the first one rather than shrink for minutes.
      { numRuns: 30, endOnFailure: true },
    );
    for (const u of units.values()) {
      for (const sim of sims(u)) expect(sim.dump()).toEqual({});
      expect(u.normalisers.every((n) => n.rewritten > 0)).toBe(true);
    }
  }, 300_000);
});

describe('the device’s answer to a write stands for its read-back (one unit)', () => {
  it('costs no GET after a write made on its own, and at most one more write where answers differ from reads', async () => {
    const sim = new BigIpSimulator({ version: '15.1.0' });
    const normaliser = await startDeviceNormaliser(await sim.listen());
    const { resources, cluster, applier } = deviceApplier({ env: ENV, urls: [normaliser.url] });
    const ids = { tenantId: uuid().replaceAll('-', ''), loadbalancerId: uuid() };
    const poolId = uuid();
    const listener = requests.createListener(ids, { protocol: 'HTTP', protocol_port: 80 });
    const setup = [
      requests.createLoadbalancer(ids, { vip_address: '10.9.9.9' }),
      listener,
      requests.createPool(ids, { id: poolId, protocol: 'HTTP', listener_id: listener.object.id }),
      requests.createHealthMonitor(ids, poolId, { type: 'HTTP', delay: 5, timeout: 3, max_retries: 3 }),
      requests.createMember(ids, poolId, { address: '10.9.0.1', protocol_port: 80 }),
    ];
    /** Applies one request (or, without one, the whole load balancer again): the calls it made. */
    const apply = async (message?: Record<string, unknown>) => {
      const request = message ? parsed(message) : undefined;
      if (request) await resources.recordRequest(request, ENV, Date.now());
      const before = sim.calls.length;
      const result = await applier.apply(
        request
          ? applyTargetOf(request)
          : {
              requestId: uuid(),
              tenantId: ids.tenantId,
              loadbalancerId: ids.loadbalancerId,
              resource: 'loadbalancer',
              objectId: ids.loadbalancerId,
              operation: 'sync',
            },
      );
      expect(result.outcome).toBe('applied');
      const calls = sim.calls.slice(before).filter((c) => !c.path.includes('/authn/'));
      return {
        calls: calls.map((c) => `${c.method} ${c.path.replace(/\?.*$/, '')}`),
        writes: calls.filter((c) => c.method !== 'GET').map((c) => `${c.method} ${c.path}`),
      };
    };
    try {
      for (const m of setup) await apply(m);
      expect((await apply()).writes).toEqual([]);

      // A member added: read the pool, write the member; its answer is its read-back (no GET after).
      const added = await apply(
        requests.createMember(ids, poolId, { address: '10.9.0.2', protocol_port: 80 }),
      );
      expect(added.calls).toEqual([
        expect.stringMatching(/^GET \/mgmt\/tm\/ltm\/pool\//),
        expect.stringMatching(/^POST \/mgmt\/tm\/ltm\/pool\/.*\/members$/),
      ]);
      expect((await apply()).writes).toEqual([]);

      // A device whose answers differ from its reads (here: the pool's monitor): the next apply sees
      // a read-back other than the one recorded, writes the pool once more and reads it back, and
      // then nothing again.
      normaliser.answers = 'raw';
      const update = await apply(
        requests.update('pool', ids, { id: poolId, lb_algorithm: 'LEAST_CONNECTIONS' }),
      );
      expect(update.writes).toEqual([expect.stringMatching(/^PATCH \/mgmt\/tm\/ltm\/pool\//)]);
      const again = await apply();
      expect(again.writes).toEqual([expect.stringMatching(/^PATCH \/mgmt\/tm\/ltm\/pool\//)]);
      expect(again.calls.at(-1)).toMatch(/^GET \/mgmt\/tm\/ltm\/pool\//);
      expect((await apply()).writes).toEqual([]);
      expect((await apply()).writes).toEqual([]);
    } finally {
      await cluster.close();
      await normaliser.close();
      await sim.close();
    }
  }, 60_000);
});
