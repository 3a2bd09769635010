import { describe, expect, it } from 'vitest';
import type { ReconcileReport } from '../../functions/services/reconciler.js';
import type { BigIpSimulator } from '../../local/bigip-simulator/bigip-simulator.js';
import { lbIds, requests, uuid } from '../support/factories.js';
import { type systemHarness, systemsClosedAfterEach } from '../support/system-harness.js';

type System = Awaited<ReturnType<typeof systemHarness>>;
const system = systemsClosedAfterEach();

/** A load balancer with a listener, a pool with a monitor and two members. */
async function loadBalancer(s: System, vip: string) {
  const ids = lbIds();
  const listener = requests.createListener(ids);
  const pool = requests.createPool(ids, { listener_id: listener.object.id });
  const poolId = pool.object.id as string;
  await s.submitAndSettle(
    requests.createLoadbalancer(ids, { vip_address: vip }),
    listener,
    pool,
    requests.createMember(ids, poolId, { address: '10.7.0.1', protocol_port: 80 }),
    requests.createMember(ids, poolId, { address: '10.7.0.2', protocol_port: 80 }),
    requests.createHealthMonitor(ids, poolId),
  );
  return { ids, poolId, listenerId: listener.object.id as string };
}

const writes = (sim: BigIpSimulator) =>
  sim.calls.filter((c) => c.method !== 'GET' && !c.path.includes('/authn/'));
const done = (r: ReconcileReport) => {
  if (r.outcome === 'skipped') throw new Error(`run skipped: ${r.reason}`);
  return r;
};
// The harness's environment prefix is `Test`: partitions `Test_<tenant>`, objects `Test_<id>`.
const ENV = 'Test';
const partitionOf = (ids: { tenantId: string }) => `${ENV}_${ids.tenantId}`;
const poolPath = (ids: { tenantId: string }, poolId: string) => `/${partitionOf(ids)}/${ENV}_${poolId}`;
/** Keys sorted at every level: what a device holds, whatever order attributes were written in. */
const sorted = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(sorted)
    : v && typeof v === 'object'
      ? Object.fromEntries(
          Object.entries(v)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([k, x]) => [k, sorted(x)]),
        )
      : v;
/** A configuration dump with each collection in a stable order (members of several pools share paths). */
const canonical = (dump: Record<string, unknown[]>) =>
  Object.fromEntries(
    Object.entries(dump).map(([k, v]) => [k, v.map((o) => JSON.stringify(sorted(o))).sort()]),
  );

describe('reconciler against the simulated device', () => {
  it('verifies an unchanged environment with reads only', async () => {
    const s = await system();
    await loadBalancer(s, '10.70.0.1');
    await loadBalancer(s, '10.70.0.2');
    const { reconciler } = s.reconciler();
    s.sim.resetCalls();
    const report = done(await reconciler.run({ dryRun: false, orphans: 'remove' }));
    expect(report.loadbalancers.map((l) => l.outcome)).toEqual(['in-sync', 'in-sync']);
    expect(report.orphans).toEqual([]);
    expect(writes(s.sim)).toEqual([]);
  });

  it('reports drift made by hand on a dry run, changing nothing, then repairs exactly it', async () => {
    const s = await system();
    const a = await loadBalancer(s, '10.70.1.1');
    const before = s.sim.dump();
    // Behind the agent's back: a pool setting changed, a member added, the virtual server deleted.
    const pool = poolPath(a.ids, a.poolId);
    s.sim.store.patch('ltm/pool', pool, { loadBalancingMode: 'least-connections-member' });
    const poolObject = s.sim.store.get('ltm/pool', pool);
    s.sim.store.create('ltm/pool/members', { name: '10.7.9.9:80', partition: 'Common' }, poolObject);
    s.sim.store.delete('ltm/virtual', `/${partitionOf(a.ids)}/${ENV}_${a.listenerId}`);

    const { reconciler } = s.reconciler();
    s.sim.resetCalls();
    const dry = done(await reconciler.run({ dryRun: true, orphans: 'report' }));
    expect(writes(s.sim)).toEqual([]);
    const lb = dry.loadbalancers[0];
    expect(lb?.outcome).toBe('drift');
    expect(lb?.drift).toEqual(
      expect.arrayContaining([
        { action: 'change', kind: 'pool', path: pool, fields: ['loadBalancingMode'] },
        { action: 'create', kind: 'virtual', path: `/${partitionOf(a.ids)}/${ENV}_${a.listenerId}` },
        { action: 'remove', kind: 'member', path: `${pool}/10.7.9.9:80` },
      ]),
    );
    expect(lb?.drift).toHaveLength(3);

    const repaired = done(await reconciler.run({ dryRun: false, orphans: 'report' }));
    expect(repaired.loadbalancers[0]?.outcome).toBe('repaired');
    expect(canonical(s.sim.dump())).toEqual(canonical(before));
    const root = (await s.resources.loadRecords(a.ids.loadbalancerId)).find((r) => r.type === 'loadbalancer');
    expect(root?.provisioningStatus).toBe('ACTIVE');
    expect(root?.statusReason).toMatch(/^drift repaired on bigip1 at .*: 1 created, 1 changed, 1 removed/);
    // Nothing left to do.
    expect(done(await reconciler.run({ dryRun: true, orphans: 'report' })).loadbalancers[0]?.outcome).toBe(
      'in-sync',
    );
  });

  it('finds orphans named like ours, removes them only when told, and never touches anything else', async () => {
    const s = await system();
    const a = await loadBalancer(s, '10.70.2.1');
    const partition = partitionOf(a.ids);
    const store = s.sim.store;
    // In our partition: an orphan pool and monitor named like ours, and a hand-made pool.
    const orphanPool = `${ENV}_${uuid()}`;
    store.create('ltm/monitor/http', { name: `${ENV}_${uuid()}`, partition });
    store.create('ltm/pool', {
      name: orphanPool,
      partition,
      members: [{ name: '10.7.8.8:80', partition: 'Common' }],
    });
    store.create('ltm/pool', { name: 'handmade', partition });
    // A whole partition of a tenant with no load balancer left, and another environment's partition.
    const gone = `${ENV}_${uuid().replaceAll('-', '')}`;
    store.create('sys/folder', { name: gone });
    store.create('ltm/pool', { name: `${ENV}_${uuid()}`, partition: gone });
    store.create('sys/folder', { name: 'Other_t1' });
    store.create('ltm/pool', { name: `Other_${uuid()}`, partition: 'Other_t1' });

    const { reconciler } = s.reconciler();
    const reported = done(await reconciler.run({ dryRun: false, orphans: 'report' }));
    expect(
      reported.orphans.map((o) => [o.partition, o.wholePartition, o.objects.length, o.removed]).sort(),
    ).toEqual(
      [
        [gone, true, 1, false],
        [partition, false, 2, false],
      ].sort(),
    );
    expect(store.get('ltm/pool', `/${partition}/${orphanPool}`)).toBeDefined();

    const removed = done(await reconciler.run({ dryRun: false, orphans: 'remove' }));
    expect(removed.orphans.every((o) => o.removed)).toBe(true);
    expect(store.get('ltm/pool', `/${partition}/${orphanPool}`)).toBeUndefined();
    expect(store.get('ltm/node', '/Common/10.7.8.8')).toBeUndefined();
    expect(store.get('sys/folder', `/${gone}`)).toBeUndefined();
    // Ours intact; hand-made and foreign objects untouched.
    expect(store.get('ltm/pool', `/${partition}/handmade`)).toBeDefined();
    expect(store.all('ltm/pool').some((p) => p.partition === 'Other_t1')).toBe(true);
    expect(store.get('ltm/pool', poolPath(a.ids, a.poolId))).toBeDefined();
    expect(done(await reconciler.run({ dryRun: true, orphans: 'report' })).orphans).toEqual([]);
  });

  it('restores a replaced active unit load balancer by load balancer, and the pair ends in sync', async () => {
    const s = await system({ pair: true, deviceGroup: 'failover-group' });
    await loadBalancer(s, '10.70.3.1');
    await loadBalancer(s, '10.70.3.2');
    const pair = s.pair as NonNullable<System['pair']>;
    const before = pair.active.dump();
    pair.active.replaceWithEmptyUnit();
    const progress: string[] = [];
    const { reconciler } = s.reconciler();
    const report = done(
      await reconciler.run({
        dryRun: false,
        orphans: 'report',
        onProgress: (n, total, item) =>
          progress.push(`${n}/${total} ${'outcome' in item ? item.outcome : ''}`),
      }),
    );
    expect(report.loadbalancers.map((l) => l.outcome)).toEqual(['restored', 'restored']);
    expect(progress).toEqual(['1/2 restored', '2/2 restored']);
    expect(canonical(pair.active.dump())).toEqual(canonical(before));
    expect(canonical(pair.standby.dump())).toEqual(canonical(before));
  });

  it('syncs a replaced standby from the active unit', async () => {
    const s = await system({ pair: true, deviceGroup: 'failover-group' });
    await loadBalancer(s, '10.70.4.1');
    const pair = s.pair as NonNullable<System['pair']>;
    const before = pair.active.dump();
    pair.standby.replaceWithEmptyUnit();
    pair.standby.changesPending = true;
    pair.active.changesPending = true;
    const report = done(await s.reconciler().reconciler.run({ dryRun: false, orphans: 'report' }));
    expect(report.peerSynced).toBe(true);
    expect(canonical(pair.standby.dump())).toEqual(canonical(before));
  });

  it('runs on a device older than 13.1 (no sys/ready), and skips it while its mcpd reloads', async () => {
    const s = await system({ sim: { version: '12.1.2' } });
    await loadBalancer(s, '10.70.6.1');
    const { reconciler } = s.reconciler();
    s.sim.resetCalls();
    expect(done(await reconciler.run({ dryRun: true, orphans: 'report' })).loadbalancers[0]?.outcome).toBe(
      'in-sync',
    );
    // What F5's own client checks there: mcpd's phase and sys/available, never sys/ready.
    expect(s.sim.callCount({ path: /\/sys\/ready$/ })).toBe(0);
    expect(s.sim.callCount({ path: /\/sys\/available$/ })).toBeGreaterThan(0);
    s.sim.restartMcpd();
    expect(await reconciler.run({ dryRun: false, orphans: 'remove' })).toMatchObject({
      outcome: 'skipped',
      reason: expect.stringMatching(/mcpd phase is loading/),
    });
  });

  it('does nothing while mcpd reloads, nor when the device lists what it then says is missing', async () => {
    const s = await system();
    const a = await loadBalancer(s, '10.70.5.1');
    const { reconciler } = s.reconciler();
    s.sim.restartMcpd();
    s.sim.resetCalls();
    const skipped = await reconciler.run({ dryRun: false, orphans: 'remove' });
    expect(skipped).toMatchObject({
      outcome: 'skipped',
      reason: expect.stringMatching(/not ready: sys\/ready/),
    });
    expect(writes(s.sim)).toEqual([]);
    s.sim.mcpdReady();

    // Readiness says yes, but the device answers 404 for a pool it lists.
    s.sim.injectFault({
      kind: 'false-404',
      path: `${ENV}_${a.poolId}`,
      method: 'GET',
      times: Number.POSITIVE_INFINITY,
    });
    const aborted = await reconciler.run({ dryRun: false, orphans: 'remove' });
    expect(aborted).toMatchObject({
      outcome: 'aborted',
      reason: expect.stringMatching(/lists .* but answers 404/),
    });
    expect(writes(s.sim)).toEqual([]);
    s.sim.faults.clear();
    expect(done(await reconciler.run({ dryRun: false, orphans: 'remove' })).loadbalancers[0]?.outcome).toBe(
      'in-sync',
    );
  });

  it('puts a load balancer the device refuses to repair in ERROR with the reason, and back to ACTIVE once repaired', async () => {
    const s = await system();
    const a = await loadBalancer(s, '10.70.6.1');
    const partition = partitionOf(a.ids);
    // Our virtual server and address are gone, and someone took the VIP in another partition.
    s.sim.store.delete('ltm/virtual', `/${partition}/${ENV}_${a.listenerId}`);
    s.sim.store.delete('ltm/virtual-address', `/${partition}/${ENV}_${a.ids.loadbalancerId}`);
    s.sim.store.create('sys/folder', { name: 'Handmade' });
    s.sim.store.create('ltm/virtual-address', { name: 'taken', partition: 'Handmade', address: '10.70.6.1' });
    const { reconciler } = s.reconciler();
    const failed = done(await reconciler.run({ dryRun: false, orphans: 'report' }));
    expect(failed.loadbalancers[0]).toMatchObject({
      outcome: 'failed',
      reason: expect.stringMatching(/refused/),
    });
    const root = async () =>
      (await s.resources.loadRecords(a.ids.loadbalancerId)).find((r) => r.type === 'loadbalancer');
    expect(await root()).toMatchObject({
      provisioningStatus: 'ERROR',
      statusReason: expect.stringMatching(/0107176c|refused/),
    });

    s.sim.store.delete('ltm/virtual-address', '/Handmade/taken');
    const repaired = done(await reconciler.run({ dryRun: false, orphans: 'report' }));
    expect(repaired.loadbalancers[0]?.outcome).toBe('restored');
    expect(await root()).toMatchObject({ provisioningStatus: 'ACTIVE' });
  });

  it('runs once at a time per cluster, and a busy device leaves everything for the next run', async () => {
    const s = await system();
    const a = await loadBalancer(s, '10.70.7.1');
    const first = s.reconciler();
    const second = s.reconciler();
    s.sim.injectFault({ kind: 'latency', delayMs: 300, path: '/sys/folder', times: 1 });
    const [r1, r2] = await Promise.all([
      first.reconciler.run({ dryRun: true, orphans: 'report' }),
      new Promise((r) => setTimeout(r, 50)).then(() =>
        second.reconciler.run({ dryRun: true, orphans: 'report' }),
      ),
    ]);
    expect([r1.outcome, r2.outcome].sort()).toEqual(['done', 'skipped']);

    s.sim.store.patch('ltm/pool', poolPath(a.ids, a.poolId), {
      loadBalancingMode: 'least-connections-member',
    });
    s.sim.injectFault({ kind: 'busy', path: /\/ltm\/pool\/~/, times: Number.POSITIVE_INFINITY });
    const busy = await first.reconciler.run({ dryRun: false, orphans: 'report' });
    expect(busy.outcome).toBe('aborted');
    expect(s.sim.store.get('ltm/pool', poolPath(a.ids, a.poolId))?.attrs.loadBalancingMode).toBe(
      'least-connections-member',
    );
    s.sim.faults.clear();
    expect(
      done(await first.reconciler.run({ dryRun: false, orphans: 'report' })).loadbalancers[0]?.outcome,
    ).toBe('repaired');
  });
});
