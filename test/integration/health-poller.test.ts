import { describe, expect, it } from 'vitest';
import { DynamoDbGroupStore } from '../../functions/adapters/dynamodb-group-store.js';
import type { BigIpSimulator } from '../../local/bigip-simulator/bigip-simulator.js';
import type { MonitorStatus } from '../../local/bigip-simulator/stats-book.js';
import { lbIds, requests } from '../support/factories.js';
import { type systemHarness, systemsClosedAfterEach } from '../support/system-harness.js';

type System = Awaited<ReturnType<typeof systemHarness>>;
const system = systemsClosedAfterEach();

/** A load balancer with an HTTP listener, a monitored round-robin pool and two members. */
async function monitoredLoadBalancer(s: System) {
  const ids = lbIds();
  const listener = requests.createListener(ids);
  const pool = requests.createPool(ids, { listener_id: listener.object.id });
  const poolId = pool.object.id as string;
  const m1 = requests.createMember(ids, poolId, { address: '10.0.0.1', protocol_port: 80 });
  const m2 = requests.createMember(ids, poolId, { address: '10.0.0.2', protocol_port: 80 });
  const hm = requests.createHealthMonitor(ids, poolId);
  await s.submitAndSettle(requests.createLoadbalancer(ids), listener, pool, m1, m2, hm);
  return {
    ids,
    poolId,
    listenerId: listener.object.id as string,
    m1: m1.object.id as string,
    m2: m2.object.id as string,
  };
}

/** Sets a member's monitor state in the simulated unit's own books (what its monitors would find). */
function monitor(sim: BigIpSimulator, poolId: string, member: string, status: MonitorStatus) {
  const pool = sim.store.all('ltm/pool').find((p) => p.name.endsWith(`_${poolId}`));
  const m = sim.store.all('ltm/pool/members').find((x) => x.pool === pool?.fullPath && x.name === member);
  if (!pool || !m) throw new Error(`no member ${member} in pool ${poolId} on ${sim.hostname}`);
  sim.stats.setMember(`${pool.fullPath}|${m.fullPath}`, status);
}

function virtualCounters(sim: BigIpSimulator, listenerId: string) {
  const vs = sim.store.all('ltm/virtual').find((v) => v.name.endsWith(`_${listenerId}`));
  if (!vs) throw new Error(`no virtual for listener ${listenerId}`);
  return sim.stats.virtual(vs.fullPath);
}

async function statuses(s: System, loadbalancerId: string) {
  const records = await s.resources.loadRecords(loadbalancerId);
  return Object.fromEntries(records.map((r) => [`${r.type}#${r.id}`, r.operatingStatus]));
}

const statsCalls = (sim: BigIpSimulator) => sim.calls.filter((c) => c.path.endsWith('/stats'));

describe('health poller against the simulated device', () => {
  it('reads health in bulk (3 calls + 1 per pool) and writes only what changed', async () => {
    const s = await system();
    const a = await monitoredLoadBalancer(s);
    const b = await monitoredLoadBalancer(s);
    const { poller } = s.healthPoller();
    monitor(s.sim, a.poolId, '10.0.0.1:80', 'up');
    monitor(s.sim, a.poolId, '10.0.0.2:80', 'down');
    for (const m of ['10.0.0.1:80', '10.0.0.2:80']) monitor(s.sim, b.poolId, m, 'up');
    s.sim.resetCalls();

    const first = await poller.poll();
    expect(first).toMatchObject({ outcome: 'polled', loadbalancers: 2, poolsRead: 2 });
    expect(statsCalls(s.sim).map((c) => c.path.replace(/~[^/]+~/, '~P~'))).toEqual(
      expect.arrayContaining([
        '/mgmt/tm/ltm/virtual/stats',
        '/mgmt/tm/ltm/pool/stats',
        expect.stringMatching(/^\/mgmt\/tm\/ltm\/pool\/~P~.*\/members\/stats$/),
      ]),
    );
    expect(statsCalls(s.sim)).toHaveLength(2 + 2);
    // The virtual addresses, one listing: what shows a load balancer on the device.
    expect(s.sim.calls.filter((c) => c.path.startsWith('/mgmt/tm/ltm/virtual-address'))).toHaveLength(1);
    expect(s.sim.calls.filter((c) => c.method !== 'GET' && !c.path.includes('authn'))).toEqual([]);

    const sa = await statuses(s, a.ids.loadbalancerId);
    expect(sa[`member#${a.m1}`]).toBe('ONLINE');
    expect(sa[`member#${a.m2}`]).toBe('ERROR');
    expect(sa[`pool#${a.poolId}`]).toBe('DEGRADED');
    expect(sa[`listener#${a.listenerId}`]).toBe('DEGRADED');
    expect(sa[`loadbalancer#${a.ids.loadbalancerId}`]).toBe('DEGRADED');
    const sb = await statuses(s, b.ids.loadbalancerId);
    expect(sb[`loadbalancer#${b.ids.loadbalancerId}`]).toBe('ONLINE');

    // Nothing changed on the device: nothing is written.
    const second = await poller.poll();
    expect(second).toMatchObject({ outcome: 'polled', statusesChanged: 0, statisticsWritten: 0 });

    // All members down: the pool and everything above it is ERROR, and counted for the alarms.
    monitor(s.sim, a.poolId, '10.0.0.1:80', 'down');
    const third = await poller.poll();
    expect(third).toMatchObject({ outcome: 'polled', loadbalancersInError: 1, poolsAllMembersDown: 1 });
    expect((await statuses(s, a.ids.loadbalancerId))[`loadbalancer#${a.ids.loadbalancerId}`]).toBe('ERROR');
  });

  it('what has no monitor is measured by being on the device: a bare load balancer, a listener without a pool, an unmonitored pool', async () => {
    const s = await system();
    const bare = lbIds();
    await s.submitAndSettle(requests.createLoadbalancer(bare));
    const ids = lbIds();
    const listener = requests.createListener(ids);
    const pool = requests.createPool(ids);
    const poolId = pool.object.id as string;
    const member = requests.createMember(ids, poolId, { address: '10.0.0.1', protocol_port: 80 });
    await s.submitAndSettle(requests.createLoadbalancer(ids), listener, pool, member);
    // Applied, nothing read yet: Octavia's initial values, no assumed ONLINE.
    const lbKey = (id: string) => `loadbalancer#${id}`;
    expect((await statuses(s, bare.loadbalancerId))[lbKey(bare.loadbalancerId)]).toBe('OFFLINE');
    expect(await statuses(s, ids.loadbalancerId)).toEqual({
      [lbKey(ids.loadbalancerId)]: 'OFFLINE',
      [`listener#${listener.object.id}`]: 'OFFLINE',
      [`pool#${poolId}`]: 'OFFLINE',
      [`member#${member.object.id}`]: 'NO_MONITOR',
    });

    const { poller } = s.healthPoller();
    await poller.poll();
    expect((await statuses(s, bare.loadbalancerId))[lbKey(bare.loadbalancerId)]).toBe('ONLINE');
    expect(await statuses(s, ids.loadbalancerId)).toEqual({
      [lbKey(ids.loadbalancerId)]: 'ONLINE',
      [`listener#${listener.object.id}`]: 'ONLINE',
      [`pool#${poolId}`]: 'ONLINE',
      [`member#${member.object.id}`]: 'NO_MONITOR',
    });

    // An apply afterwards keeps the reading.
    await s.submitAndSettle(
      requests.update('loadbalancer', bare, { id: bare.loadbalancerId, name: 'renamed' }),
    );
    expect((await statuses(s, bare.loadbalancerId))[lbKey(bare.loadbalancerId)]).toBe('ONLINE');
  });

  it('a member not yet checked keeps its status; an apply afterwards does not reset a failing member', async () => {
    const s = await system();
    const a = await monitoredLoadBalancer(s);
    const { poller } = s.healthPoller();
    monitor(s.sim, a.poolId, '10.0.0.2:80', 'down');
    await poller.poll();
    const before = await statuses(s, a.ids.loadbalancerId);
    expect(before[`member#${a.m1}`]).toBe('OFFLINE'); // unchecked: still as the apply left it, unmeasured
    expect(before[`member#${a.m2}`]).toBe('ERROR');
    expect(before[`pool#${a.poolId}`]).toBe('DEGRADED'); // one fails; the other is not called ONLINE
    // A change to the pool re-settles the tree: the member's health is the device's word, not reset,
    // and the unchecked member is not made ONLINE by the apply either.
    await s.submitAndSettle(requests.update('pool', a.ids, { id: a.poolId, name: 'renamed' }));
    const after = await statuses(s, a.ids.loadbalancerId);
    expect(after[`member#${a.m2}`]).toBe('ERROR');
    expect(after[`member#${a.m1}`]).toBe('OFFLINE');
    expect(after[`pool#${a.poolId}`]).toBe('DEGRADED');
    // Its monitor's first verdict is what makes it ONLINE.
    monitor(s.sim, a.poolId, '10.0.0.1:80', 'up');
    await poller.poll();
    expect((await statuses(s, a.ids.loadbalancerId))[`member#${a.m1}`]).toBe('ONLINE');
  });

  it('keeps listener totals in bytes across a reboot of the unit, and writes nothing while idle', async () => {
    const s = await system();
    const a = await monitoredLoadBalancer(s);
    const { poller, telemetry: _t } = s.healthPoller();
    const c = virtualCounters(s.sim, a.listenerId);
    Object.assign(c, { bitsIn: 8_000, bitsOut: 16_000, curConns: 2, totConns: 10 });
    const first = await poller.poll();
    expect(first.outcome === 'polled' && first.traffic[0]?.total).toEqual({
      bytes_in: 1_000,
      bytes_out: 2_000,
      active_connections: 2,
      total_connections: 10,
      request_errors: 0,
    });
    expect(await poller.poll()).toMatchObject({ statisticsWritten: 0 });
    s.sim.stats.reset(); // reboot: counters start again
    Object.assign(virtualCounters(s.sim, a.listenerId), { bitsIn: 800, bitsOut: 800, totConns: 1 });
    const after = await poller.poll();
    expect(after.outcome === 'polled' && after.traffic[0]?.total).toMatchObject({
      bytes_in: 1_100,
      bytes_out: 2_100,
      total_connections: 11,
    });
    expect(after.outcome === 'polled' && after.traffic[0]?.delta).toMatchObject({ bytes_in: 100 });
    const saved = await s.healthStats(a.ids.loadbalancerId);
    expect(saved).toHaveLength(1);
  });

  it('measures its device group’s usage: counted objects, connections and throughput, written only when they change', async () => {
    const s = await system();
    const a = await monitoredLoadBalancer(s);
    await monitoredLoadBalancer(s);
    const { poller } = s.healthPoller();
    const c = virtualCounters(s.sim, a.listenerId);
    Object.assign(c, { bitsIn: 1_000_000, bitsOut: 1_000_000, curConns: 3 });
    const first = await poller.poll();
    // Two load balancers (counted with their bindings), two listeners and four members (desired state),
    // three connections; no throughput before a second reading.
    expect(first.outcome === 'polled' && first.capacity).toEqual({
      group: 'default',
      usage: { loadBalancers: 2, listeners: 2, members: 4, connections: 3 },
      score: 0,
      activeAgents: expect.any(Number),
      written: true,
    });
    // 16 Mbit more, 10 s later (the harness clock): 1.6 Mbit/s.
    s.advance(10_000);
    Object.assign(c, { bitsIn: 9_000_000, bitsOut: 9_000_000 });
    const second = await poller.poll();
    expect(second.outcome === 'polled' && second.capacity?.usage.throughputMbps).toBe(1.6);
    s.advance(10_000);
    await poller.poll(); // no traffic since: 0 Mbit/s, a change
    s.advance(10_000);
    const quiet = await poller.poll();
    expect(quiet.outcome === 'polled' && quiet.capacity?.written).toBe(false);
    const [row] = await new DynamoDbGroupStore(s.clients.db, s.tables.groups).listGroups(s.env);
    expect(row).toMatchObject({
      name: 'default',
      loadBalancers: 2,
      listeners: 2,
      members: 4,
      connections: 3,
    });
    expect(row?.throughputMbps).toBe(0);
  });

  it.each([
    ['busy (503)', { kind: 'busy' as const, times: Number.POSITIVE_INFINITY }],
    ['mcpd reloading (false 404 for a pool it just listed)', { kind: 'false-404' as const, times: 1 }],
    [
      'restjavad restarting (404 not registered)',
      { kind: 'not-registered' as const, times: Number.POSITIVE_INFINITY },
    ],
    ['a reset connection', { kind: 'reset' as const, times: Number.POSITIVE_INFINITY }],
  ])('a poll that cannot read the device changes nothing: %s', async (_name, fault) => {
    const s = await system();
    const a = await monitoredLoadBalancer(s);
    const { poller } = s.healthPoller();
    monitor(s.sim, a.poolId, '10.0.0.1:80', 'up');
    monitor(s.sim, a.poolId, '10.0.0.2:80', 'up');
    await poller.poll();
    const before = await statuses(s, a.ids.loadbalancerId);
    monitor(s.sim, a.poolId, '10.0.0.1:80', 'down');
    monitor(s.sim, a.poolId, '10.0.0.2:80', 'down');
    s.sim.injectFault({ ...fault, path: /\/members\/stats$/ });
    const report = await poller.poll();
    expect(report).toMatchObject({ outcome: 'skipped', reason: expect.stringMatching(/device not read/) });
    expect(await statuses(s, a.ids.loadbalancerId)).toEqual(before);
    s.sim.faults.clear();
    expect(await poller.poll()).toMatchObject({ outcome: 'polled', poolsAllMembersDown: 1 });
  });

  it('a hung unit costs one bounded wait and changes nothing', async () => {
    const s = await system({ restTimeoutMs: 300 });
    const a = await monitoredLoadBalancer(s);
    const { poller } = s.healthPoller();
    await poller.poll();
    const before = await statuses(s, a.ids.loadbalancerId);
    monitor(s.sim, a.poolId, '10.0.0.1:80', 'down');
    s.sim.injectFault({ kind: 'hang', path: /\/virtual\/stats$/, times: Number.POSITIVE_INFINITY });
    expect(await poller.poll()).toMatchObject({ outcome: 'skipped' });
    expect(await statuses(s, a.ids.loadbalancerId)).toEqual(before);
  });

  it('never overwrites an object that changed since it was read (an apply or a newer request wins)', async () => {
    const s = await system();
    const a = await monitoredLoadBalancer(s);
    const stale = (await s.resources.loadRecords(a.ids.loadbalancerId)).find((r) => r.id === a.m2);
    await s.submitAndSettle(requests.update('member', a.ids, { id: a.m2, weight: 5 }));
    const { DynamoDbHealthStore } = await import('../../functions/adapters/dynamodb-health-store.js');
    const store = new DynamoDbHealthStore(s.clients.db, s.tables);
    expect(await store.writeOperatingStatuses([{ record: stale as never, to: 'ERROR' }], 1)).toBe(0);
    // As the apply left it: not measured yet.
    expect((await statuses(s, a.ids.loadbalancerId))[`member#${a.m2}`]).toBe('OFFLINE');
  });

  it('an expired token is renewed and the poll goes on', async () => {
    const s = await system();
    const a = await monitoredLoadBalancer(s);
    const { poller } = s.healthPoller();
    await poller.poll();
    monitor(s.sim, a.poolId, '10.0.0.2:80', 'down');
    s.sim.expireAllTokens();
    expect(await poller.poll()).toMatchObject({ outcome: 'polled', statusesWritten: 4 });
  });

  it('reads the active unit of a pair only', async () => {
    const s = await system({ pair: true, deviceGroup: 'failover-group' });
    const a = await monitoredLoadBalancer(s);
    const pair = s.pair as NonNullable<System['pair']>;
    const { poller } = s.healthPoller();
    // The standby's own monitors disagree: it must not be read.
    monitor(pair.active, a.poolId, '10.0.0.1:80', 'up');
    monitor(pair.active, a.poolId, '10.0.0.2:80', 'up');
    monitor(pair.standby, a.poolId, '10.0.0.1:80', 'down');
    monitor(pair.standby, a.poolId, '10.0.0.2:80', 'down');
    pair.standby.resetCalls();
    expect(await poller.poll()).toMatchObject({ outcome: 'polled', poolsAllMembersDown: 0 });
    expect(statsCalls(pair.standby)).toEqual([]);
  });

  it('never reads or writes what is not this environment', async () => {
    const s = await system();
    const a = await monitoredLoadBalancer(s);
    // Another environment's partition on the same device, with a pool.
    s.sim.store.create('sys/folder', { name: 'Other_t1', subPath: '/' });
    s.sim.store.create('ltm/pool', { name: 'Other_p1', partition: 'Other_t1' });
    const { poller } = s.healthPoller();
    s.sim.resetCalls();
    await poller.poll();
    expect(statsCalls(s.sim).filter((c) => c.path.includes('Other'))).toEqual([]);
    expect(statsCalls(s.sim)).toHaveLength(3);
    expect(Object.keys(await statuses(s, a.ids.loadbalancerId))).toHaveLength(6);
  });
});
