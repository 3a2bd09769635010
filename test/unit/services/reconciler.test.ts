import { describe, expect, it } from 'vitest';
import type { BigIpObject } from '../../../functions/domain/bigip-objects.js';
import { BigIpError, OutOfTimeError } from '../../../functions/domain/errors.js';
import { applyTargetOf, LoadBalancerApplier } from '../../../functions/services/load-balancer-applier.js';
import { NetworkProvisioner } from '../../../functions/services/network-provisioner.js';
import { type ReconcileOptions, Reconciler } from '../../../functions/services/reconciler.js';
import { type LbIds, lbIds, requests, uuid } from '../../support/factories.js';
import { InMemoryAgentRegistry } from '../../support/fakes/in-memory-agent-registry.js';
import { InMemoryBigIp, InMemoryCluster } from '../../support/fakes/in-memory-bigip.js';
import { InMemoryBindingStore } from '../../support/fakes/in-memory-binding-store.js';
import { InMemoryHealthStore } from '../../support/fakes/in-memory-health-store.js';
import { InMemoryLease } from '../../support/fakes/in-memory-lease.js';
import { InMemoryResourceStore } from '../../support/fakes/in-memory-resource-store.js';
import { overlappingCatalog, SUBNET_B } from '../../support/network-fixtures.js';
import { inMemoryWriter, manualClock, parsed } from '../../support/service-fixtures.js';

const ENV = 'Unit';
const REPAIR: ReconcileOptions = { dryRun: false, orphans: 'report' };

function fixture(devices = [new InMemoryBigIp()]) {
  const clock = manualClock();
  const resources = new InMemoryResourceStore();
  const bindings = new InMemoryBindingStore();
  const registry = new InMemoryAgentRegistry();
  registry.put({ env: ENV, host: 'a1', heartbeatAt: clock.now() });
  const lease = new InMemoryLease({ clock: clock.now });
  const runLease = new InMemoryLease({ clock: clock.now });
  const cluster = new InMemoryCluster(devices);
  const { sync, writer } = inMemoryWriter(ENV, cluster, lease, 'reconciler');
  const applier = new LoadBalancerApplier({
    env: ENV,
    host: 'a1',
    resources,
    bindings,
    registry,
    writer,
    statistics: new InMemoryHealthStore(resources),
    clock: clock.now,
  });
  const reconciler = new Reconciler({
    env: ENV,
    cluster,
    registry,
    bindings,
    resources,
    writer,
    sync,
    runLease,
    owner: 'reconciler-1',
    clock: clock.now,
  });
  const device = devices[0] as InMemoryBigIp;
  /** Records and applies a request as the scheduler and the agent would. */
  const submit = async (message: Record<string, unknown>) => {
    const request = parsed(message);
    await resources.recordRequest(request, ENV, clock.now());
    await applier.apply(applyTargetOf(request));
    return request;
  };
  /** A load balancer bound to agent a1 with a listener, a pool and a member, all ACTIVE on the device. */
  const loadBalancer = async (ids: LbIds = lbIds()) => {
    await submit(requests.createLoadbalancer(ids));
    await bindings.bind({
      loadbalancerId: ids.loadbalancerId,
      env: ENV,
      host: 'a1',
      tenantId: ids.tenantId,
      boundAt: 1,
    });
    const listener = await submit(requests.createListener(ids));
    const pool = await submit(requests.createPool(ids, { listener_id: listener.object.id }));
    const member = await submit(requests.createMember(ids, pool.object.id as string, { weight: 28 }));
    return { ids, listener, pool, member };
  };
  const onDevice = (kind: BigIpObject['kind']) => [...device.objects.values()].filter((o) => o.kind === kind);
  return {
    clock,
    resources,
    bindings,
    registry,
    lease,
    runLease,
    cluster,
    sync,
    applier,
    reconciler,
    device,
    submit,
    loadBalancer,
    onDevice,
  };
}

/** The fixture over an HA pair: `a` active, `b` standby. */
function pairFixture() {
  const a = new InMemoryBigIp('a');
  const b = Object.assign(new InMemoryBigIp('b'), { failoverState: 'STANDBY' });
  return { a, b, f: fixture([a, b]) };
}

describe('Reconciler over in-memory ports', () => {
  it('verifies an environment in sync with reads only: no lease, no write, no status', async () => {
    const f = fixture();
    await f.loadBalancer();
    f.lease.events.length = 0;
    f.device.events.length = 0;
    const written = f.resources.written.length;
    const report = await f.reconciler.run(REPAIR);
    expect(report).toMatchObject({ outcome: 'done', loadbalancers: [{ outcome: 'in-sync' }], orphans: [] });
    expect(f.lease.events).toEqual([]);
    expect(f.device.events.filter((e) => e.startsWith('execute'))).toEqual([]);
    expect(f.resources.written.length).toBe(written);
  });

  it('reports drift on a dry run and changes nothing; repairs exactly it otherwise, noting it on the load balancer', async () => {
    const f = fixture();
    const { ids } = await f.loadBalancer();
    const [virtual] = f.onDevice('virtual');
    f.device.objects.delete(`virtual/${virtual?.partition}/${virtual?.name}`);
    const drift = [{ action: 'create', kind: 'virtual', path: `/${virtual?.partition}/${virtual?.name}` }];
    f.lease.events.length = 0;
    const dry = await f.reconciler.run({ ...REPAIR, dryRun: true });
    expect(dry).toMatchObject({ outcome: 'done', loadbalancers: [{ outcome: 'drift', drift }] });
    expect(f.onDevice('virtual')).toHaveLength(0);
    const report = await f.reconciler.run(REPAIR);
    expect(report).toMatchObject({ loadbalancers: [{ outcome: 'repaired', drift }] });
    expect(f.onDevice('virtual')).toHaveLength(1);
    expect(f.resources.get(ids.loadbalancerId, 'loadbalancer', ids.loadbalancerId)).toMatchObject({
      provisioningStatus: 'ACTIVE',
      statusReason: expect.stringMatching(/^drift repaired on bigip1 .*: 1 created; create virtual/),
    });
    expect(f.lease.events).toEqual([
      `acquire ${ENV}#cluster1#${ENV}_${ids.tenantId}`,
      `release ${ENV}#cluster1#${ENV}_${ids.tenantId}`,
    ]);
  });

  it('never undoes a newer apply: the repair is planned from the desired state read under the lease', async () => {
    const f = fixture();
    const { ids, member } = await f.loadBalancer();
    // Drift: the pool's monitor-less member list lost its member by hand.
    for (const [k, o] of f.device.objects) if (o.kind === 'member') f.device.objects.delete(k);
    // While the reconciler waits for the partition, an agent applies a newer weight.
    f.lease.whileWaiting = async () => {
      await f.submit(requests.update('member', ids, { id: member.object.id, weight: 30 }));
    };
    const report = await f.reconciler.run(REPAIR);
    expect(report).toMatchObject({ loadbalancers: [{ outcome: 'in-sync' }] });
    // The agent's apply put the member back at its newest weight; the repair wrote nothing older over it.
    expect(f.onDevice('member').map((m) => m.attrs.ratio)).toEqual([30]);
  });

  it('skips a load balancer a request is pending for (its apply converges it)', async () => {
    const f = fixture();
    const { ids, pool } = await f.loadBalancer();
    await f.resources.recordRequest(
      parsed(requests.update('pool', ids, { id: pool.object.id, name: 'renamed' })),
      ENV,
      f.clock.now(),
    );
    for (const [k, o] of f.device.objects) if (o.kind === 'pool') f.device.objects.delete(k);
    const report = await f.reconciler.run(REPAIR);
    expect(report).toMatchObject({
      loadbalancers: [{ outcome: 'skipped', reason: 'a request for it is pending: its apply converges it' }],
    });
    expect(f.onDevice('pool')).toHaveLength(0);
  });

  it('leaves a partition an agent is writing to the next run, and a repair whose lease lapsed too', async () => {
    const f = fixture();
    const { ids } = await f.loadBalancer();
    const key = `${ENV}#cluster1#${ENV}_${ids.tenantId}`;
    for (const [k, o] of f.device.objects) if (o.kind === 'pool') f.device.objects.delete(k);
    f.lease.holders.set(key, 'agent');
    expect(await f.reconciler.run(REPAIR)).toMatchObject({
      loadbalancers: [{ outcome: 'skipped', reason: 'an agent is writing its partition' }],
    });
    f.lease.holders.delete(key);
    // The repair's read under the lease is slowed past the lease's TTL, and another writer takes it.
    const read = f.device.read.bind(f.device);
    let slowed = false;
    f.device.read = async (partition, units) => {
      const snapshot = await read(partition, units);
      if (!slowed && f.lease.holders.has(key)) {
        slowed = true;
        f.clock.advance(60_001);
        f.lease.steal(key);
      }
      return snapshot;
    };
    expect(await f.reconciler.run(REPAIR)).toMatchObject({
      loadbalancers: [{ outcome: 'skipped', reason: 'its partition lease lapsed before the repair' }],
    });
    expect(f.onDevice('pool')).toHaveLength(0);
  });

  it('puts a load balancer whose repair the device refuses in ERROR with the device’s words', async () => {
    const f = fixture();
    const { ids } = await f.loadBalancer();
    for (const [k, o] of f.device.objects) if (o.kind === 'pool') f.device.objects.delete(k);
    f.device.refuse = (c) => (c.object.kind === 'pool' ? '01070734:3: Configuration error' : undefined);
    const report = await f.reconciler.run(REPAIR);
    expect(report).toMatchObject({
      loadbalancers: [
        { outcome: 'failed', reason: 'the device refused the repair: 01070734:3: Configuration error' },
      ],
    });
    expect(f.resources.get(ids.loadbalancerId, 'loadbalancer', ids.loadbalancerId)).toMatchObject({
      provisioningStatus: 'ERROR',
      statusReason: 'the device refused the repair: 01070734:3: Configuration error',
    });
  });

  it('does nothing while the device is not ready, and stops when it lists an object it then says is missing', async () => {
    const f = fixture();
    await f.loadBalancer();
    f.device.ready = { ready: false, reason: 'mcpd is loading' };
    expect(await f.reconciler.run(REPAIR)).toEqual({
      outcome: 'skipped',
      reason: 'device bigip1 is not ready: mcpd is loading',
    });
    f.device.ready = { ready: true };
    f.device.events.length = 0;
    // mcpd's false 404: a listed pool is missing from the read.
    const read = f.device.read.bind(f.device);
    f.device.read = async (partition, units) => {
      const snapshot = await read(partition, units);
      for (const k of [...snapshot.objects.keys()]) if (k.startsWith('pool/')) snapshot.objects.delete(k);
      return snapshot;
    };
    const report = await f.reconciler.run(REPAIR);
    expect(report).toMatchObject({
      outcome: 'aborted',
      reason: expect.stringMatching(/lists .* but answers 404/),
    });
    expect(f.device.events.filter((e) => e.startsWith('execute'))).toHaveLength(0);
  });

  it('reports orphans named like ours, removes them only when told, and never touches a foreign name', async () => {
    const f = fixture();
    const { ids } = await f.loadBalancer();
    const partition = `${ENV}_${ids.tenantId}`;
    const orphan: BigIpObject = { kind: 'pool', partition, name: `${ENV}_${uuid()}`, attrs: {} };
    const foreign: BigIpObject = { kind: 'pool', partition, name: 'operators_pool', attrs: {} };
    for (const o of [orphan, foreign]) f.device.objects.set(`pool/${partition}/${o.name}`, o);
    const reported = await f.reconciler.run(REPAIR);
    expect(reported).toMatchObject({
      orphans: [
        {
          partition,
          removed: false,
          objects: [{ action: 'remove', kind: 'pool', path: `/${partition}/${orphan.name}` }],
        },
      ],
    });
    expect(f.device.objects.has(`pool/${partition}/${orphan.name}`)).toBe(true);
    const removed = await f.reconciler.run({ ...REPAIR, orphans: 'remove' });
    expect(removed).toMatchObject({ orphans: [{ partition, removed: true }] });
    expect(f.device.objects.has(`pool/${partition}/${orphan.name}`)).toBe(false);
    expect(f.device.objects.has(`pool/${partition}/operators_pool`)).toBe(true);
    expect(f.onDevice('virtual')).toHaveLength(1);
  });

  it('ends aborted, not failed, when an orphan’s removal is cut at the run’s times: the next run goes on', async () => {
    const { a, f } = pairFixture();
    const { ids } = await f.loadBalancer();
    const partition = `${ENV}_${ids.tenantId}`;
    const orphan: BigIpObject = { kind: 'pool', partition, name: `${ENV}_${uuid()}`, attrs: {} };
    a.objects.set(`pool/${partition}/${orphan.name}`, orphan);
    const cut = new OutOfTimeError('the invocation’s time ran out before the change was confirmed');
    f.sync.fail = cut;
    const report = await f.reconciler.run({ ...REPAIR, orphans: 'remove', timeLeftMs: 900_000 });
    expect(report).toMatchObject({ outcome: 'aborted', reason: cut.message });
    expect(f.sync.untils.at(-1)).toBeDefined();
    const next = await f.reconciler.run({ ...REPAIR, orphans: 'remove' });
    expect(next).toMatchObject({ outcome: 'done' });
  });

  it('runs once at a time per cluster', async () => {
    const f = fixture();
    f.runLease.holders.set('reconcile#cluster1', 'another-run');
    expect(await f.reconciler.run(REPAIR)).toEqual({
      outcome: 'skipped',
      reason: 'another run on this cluster is in progress',
    });
  });

  it('syncs a peer that came back empty when nothing else was written, and never on a dry run', async () => {
    const { f } = pairFixture();
    await f.loadBalancer();
    f.sync.syncs.length = 0;
    f.sync.outOfSync = true;
    expect(await f.reconciler.run({ ...REPAIR, dryRun: true })).toMatchObject({ peerSynced: false });
    expect(await f.reconciler.run(REPAIR)).toMatchObject({ peerSynced: true });
    expect(f.sync.syncs).toEqual(['a']);
  });

  it('stops the run when a repair’s change is not confirmed on the group', async () => {
    const { a, f } = pairFixture();
    const { ids } = await f.loadBalancer();
    for (const [k, o] of a.objects) if (o.kind === 'pool') a.objects.delete(k);
    f.sync.fail = new BigIpError('config-sync did not bring the change to every unit in time', {
      device: 'a',
      transient: true,
    });
    const report = await f.reconciler.run(REPAIR);
    expect(report).toMatchObject({
      outcome: 'aborted',
      reason: 'config-sync did not bring the change to every unit in time',
    });
    // Not marked repaired: the next run starts over.
    expect(
      f.resources.get(ids.loadbalancerId, 'loadbalancer', ids.loadbalancerId)?.statusReason,
    ).toBeUndefined();
  });

  it('starts nothing after its invocation’s sending time: the run ends aborted, and the next run goes on', async () => {
    const f = fixture();
    const tenant = lbIds().tenantId;
    const lbs = [];
    for (let i = 0; i < 3; i += 1) lbs.push(await f.loadBalancer({ ...lbIds(), tenantId: tenant }));
    // Each check takes half a second; three quarters of a second to send in (a second left).
    const report = await f.reconciler.run({
      ...REPAIR,
      timeLeftMs: 1_000,
      onProgress: () => f.clock.advance(500),
    });
    expect(report).toMatchObject({
      outcome: 'aborted',
      reason: 'out of time: 2 of 3 load balancers checked; the next run goes on',
    });
    if (report.outcome === 'skipped') throw new Error('not run');
    expect(report.loadbalancers).toHaveLength(2);
    expect(report.orphans).toEqual([]);
    // The next run, with time enough, checks all three.
    const next = await f.reconciler.run({ ...REPAIR, timeLeftMs: 60_000 });
    expect(next).toMatchObject({ outcome: 'done' });
    if (next.outcome === 'skipped') throw new Error('not run');
    expect(next.loadbalancers.map((l) => l.outcome)).toEqual(['in-sync', 'in-sync', 'in-sync']);
  });

  it('leaves a repair its time ran out in to the next run, which makes it', async () => {
    const f = fixture();
    await f.loadBalancer();
    const [virtual] = f.onDevice('virtual');
    f.device.objects.delete(`virtual/${virtual?.partition}/${virtual?.name}`);
    // Waiting for the partition's lease took the rest of the run's sending time.
    const acquire = f.lease.acquire.bind(f.lease);
    f.lease.acquire = async (k, o) => {
      f.clock.advance(1_000);
      return acquire(k, o);
    };
    const report = await f.reconciler.run({ ...REPAIR, timeLeftMs: 1_000 });
    expect(report).toMatchObject({
      outcome: 'aborted',
      loadbalancers: [{ outcome: 'skipped', reason: "the run's time ran out during the repair" }],
    });
    expect(f.onDevice('virtual')).toHaveLength(0);
    expect(f.lease.holders.size).toBe(0);
    const next = await f.reconciler.run(REPAIR);
    expect(next).toMatchObject({ outcome: 'done', loadbalancers: [{ outcome: 'repaired' }] });
    expect(f.onDevice('virtual')).toHaveLength(1);
  });

  it('leaves a repair not confirmed on the group by its confirming time to the next run, never as repaired', async () => {
    const { a, f } = pairFixture();
    const { ids } = await f.loadBalancer();
    for (const [k, o] of a.objects) if (o.kind === 'pool') a.objects.delete(k);
    f.sync.fail = new OutOfTimeError('the invocation’s time ran out before the change was confirmed');
    const startedAt = f.clock.now();
    const before = f.sync.untils.length;
    const report = await f.reconciler.run({ ...REPAIR, timeLeftMs: 900_000 });
    // Nine tenths of its 15 minutes to confirm in.
    expect(f.sync.untils.slice(before)).toEqual([startedAt + 810_000]);
    expect(report).toMatchObject({
      outcome: 'done',
      loadbalancers: [
        {
          outcome: 'skipped',
          reason: "the run's time ran out before the repair was confirmed on every unit",
        },
      ],
    });
    expect(
      f.resources.get(ids.loadbalancerId, 'loadbalancer', ids.loadbalancerId)?.statusReason,
    ).toBeUndefined();
    // The pool is back on the active unit; the next run finds it there.
    const next = await f.reconciler.run(REPAIR);
    expect(next).toMatchObject({ outcome: 'done', loadbalancers: [{ outcome: 'in-sync' }] });
  });

  it('never takes an operator’s folder for one of ours: only <env>_<project id> is a tenant partition (#27.5)', async () => {
    const f = fixture();
    await f.loadBalancer();
    f.device.folders.add(`${ENV}_shared`);
    const report = await f.reconciler.run({ ...REPAIR, orphans: 'remove' });
    expect(report).toMatchObject({ outcome: 'done', orphans: [] });
    expect(f.device.folders.has(`${ENV}_shared`)).toBe(true);
    // A tenant partition nothing desires any more is still found (and removed when told).
    const gone = `${ENV}_${lbIds().tenantId}`;
    f.device.folders.add(gone);
    expect(await f.reconciler.run({ ...REPAIR, orphans: 'remove' })).toMatchObject({
      orphans: [{ partition: gone, wholePartition: true, removed: true }],
    });
    expect(f.device.folders.has(gone)).toBe(false);
  });

  it('never removes a load balancer created while it runs: orphans are decided under the lease, on a fresh read (#27.1)', async () => {
    const f = fixture();
    const first = await f.loadBalancer();
    const partition = `${ENV}_${first.ids.tenantId}`;
    // A real orphan, so the run goes on to remove something.
    const orphan: BigIpObject = { kind: 'pool', partition, name: `${ENV}_${uuid()}`, attrs: {} };
    f.device.objects.set(`pool/${partition}/${orphan.name}`, orphan);
    // After the run read the desired trees and before it lists the partition, an agent creates
    // another load balancer of the tenant.
    const second = lbIds({ tenantId: first.ids.tenantId });
    const list = f.device.listPartition.bind(f.device);
    let created = false;
    f.device.listPartition = async (p) => {
      if (!created && p === partition) {
        created = true;
        await f.loadBalancer(second);
      }
      return list(p);
    };
    const report = await f.reconciler.run({ ...REPAIR, orphans: 'remove' });
    expect(report).toMatchObject({ orphans: [{ partition, removed: true }] });
    expect(created).toBe(true);
    expect(f.device.objects.has(`pool/${partition}/${orphan.name}`)).toBe(false);
    // Everything of the new load balancer is still there, and its records ACTIVE.
    const theirs = [...f.device.objects.values()].filter((o) => o.kind === 'virtual-address');
    expect(theirs.map((o) => o.name).sort()).toEqual(
      [`${ENV}_${first.ids.loadbalancerId}`, `${ENV}_${second.loadbalancerId}`].sort(),
    );
    expect(f.onDevice('virtual')).toHaveLength(2);
  });

  it('decides again as the partition’s writer: what became desired between the survey and the removal stays (#27.1)', async () => {
    const f = fixture();
    const { ids } = await f.loadBalancer();
    const partition = `${ENV}_${ids.tenantId}`;
    // A pool on the device no record desires yet: an orphan when the run surveys the partition.
    const poolId = uuid();
    const pool: BigIpObject = {
      kind: 'pool',
      partition,
      name: `${ENV}_${poolId}`,
      attrs: { loadBalancingMode: 'round-robin', monitor: '', description: 'pool' },
    };
    f.device.objects.set(`pool/${partition}/${pool.name}`, pool);
    // Before the reconciler gets the partition, an agent applies a request creating that very pool.
    const acquire = f.lease.acquire.bind(f.lease);
    let created = false;
    f.lease.acquire = async (key, owner) => {
      if (!created && owner.startsWith('reconciler')) {
        created = true;
        await f.submit(requests.createPool(ids, { id: poolId, listener_id: undefined }));
      }
      return acquire(key, owner);
    };
    const report = await f.reconciler.run({ ...REPAIR, orphans: 'remove' });
    expect(created).toBe(true);
    expect(report).toMatchObject({ orphans: [{ partition, removed: false, objects: [] }] });
    expect(f.device.objects.has(`pool/${partition}/${pool.name}`)).toBe(true);
    expect(f.resources.get(ids.loadbalancerId, 'pool', poolId)?.provisioningStatus).toBe('ACTIVE');
  });

  it('never takes a load balancer with records for an orphan, bound to an agent or not (#27.2)', async () => {
    const f = fixture();
    const { ids } = await f.loadBalancer();
    // A forced agent delete (before it moved load balancers) left it unbound but ACTIVE.
    await f.bindings.release(ids.loadbalancerId);
    const before = f.device.objects.size;
    const report = await f.reconciler.run({ ...REPAIR, orphans: 'remove' });
    expect(report).toMatchObject({ outcome: 'done', orphans: [] });
    expect(f.device.objects.size).toBe(before);
    expect(f.device.folders.has(`${ENV}_${ids.tenantId}`)).toBe(true);
  });
});

/** An HA pair with the overlapping networks (route domains 2 and 3), the agent and the reconciler each with their own provisioner. */
function networkFixture() {
  const a = new InMemoryBigIp('bigip-a');
  const b = new InMemoryBigIp('bigip-b');
  b.failoverState = 'STANDBY';
  const f = fixture([a, b]);
  const provisioner = (host: string) =>
    new NetworkProvisioner({
      env: ENV,
      group: 'default',
      networks: overlappingCatalog,
      writer: inMemoryWriter(ENV, f.cluster, f.lease, host).writer,
      cluster: f.cluster,
      unitNames: ['bigip-a', 'bigip-b'],
    });
  const agentNetworks = provisioner('a1');
  const applier = new LoadBalancerApplier({
    env: ENV,
    host: 'a1',
    resources: f.resources,
    bindings: f.bindings,
    registry: f.registry,
    writer: inMemoryWriter(ENV, f.cluster, f.lease).writer,
    statistics: new InMemoryHealthStore(f.resources),
    clock: f.clock.now,
    translation: { networks: overlappingCatalog },
    networks: agentNetworks,
  });
  const reconcilerNetworks = provisioner('reconciler');
  const release = { hook: async () => {} };
  const networks: Pick<NetworkProvisioner, 'check' | 'placed' | 'release'> = {
    check: (rds, repair) => reconcilerNetworks.check(rds, repair),
    placed: () => reconcilerNetworks.placed(),
    release: async (rd, wantedBy) => {
      await release.hook();
      return reconcilerNetworks.release(rd, wantedBy);
    },
  };
  const reconciler = new Reconciler({
    env: ENV,
    cluster: f.cluster,
    registry: f.registry,
    bindings: f.bindings,
    resources: f.resources,
    writer: inMemoryWriter(ENV, f.cluster, f.lease, 'reconciler').writer,
    sync: f.sync,
    runLease: f.runLease,
    owner: 'reconciler-1',
    clock: f.clock.now,
    translation: { networks: overlappingCatalog },
    networks,
  });
  /** A load balancer with a member on network B (route domain 3), recorded and applied by the agent. */
  const onNetworkB = async (ids: LbIds = lbIds()) => {
    const submit = async (message: Record<string, unknown>) => {
      const request = parsed(message);
      await f.resources.recordRequest(request, ENV, f.clock.now());
      await applier.apply(applyTargetOf(request));
      return request;
    };
    await submit(requests.createLoadbalancer(ids, { vip_subnet_id: SUBNET_B, vip_route_domain: 3 }));
    await f.bindings.bind({
      loadbalancerId: ids.loadbalancerId,
      env: ENV,
      host: 'a1',
      tenantId: ids.tenantId,
      boundAt: 1,
    });
    const pool = await submit(requests.createPool(ids));
    await submit(
      requests.createMember(ids, pool.object.id as string, { address: '10.0.0.5', subnet_id: SUBNET_B }),
    );
    return ids;
  };
  const netNames = (unit: InMemoryBigIp) => [...unit.net.keys()].sort();
  return { ...f, a, b, agentNetworks, reconcilerNetworks, reconciler, release, onNetworkB, netNames };
}

const NETWORK_2 = [
  'route-domain/Common/Unit_rd2',
  'self-ip/Common/Unit_float2',
  'self-ip/Common/Unit_self2_0',
  'vlan/Common/Unit_vlan2',
];

describe('Reconciler: networks no load balancer uses any more', () => {
  it('reports a network left behind (a crash between the last delete and its removal), removes it only when told, on every unit, and keeps the used one', async () => {
    const f = networkFixture();
    await f.onNetworkB();
    // What a crash after the last delete on network A leaves: its objects, and no load balancer.
    await f.agentNetworks.ensure([2]);
    const used = f.netNames(f.a).filter((k) => k.match(/[a-z]3(_\d)?$/));
    expect(f.netNames(f.a)).toEqual([...NETWORK_2, ...used].sort());
    expect(f.netNames(f.b)).toEqual(['self-ip/Common/Unit_self2_1', 'self-ip/Common/Unit_self3_1']);

    const dry = await f.reconciler.run({ dryRun: true, orphans: 'remove' });
    expect(dry).toMatchObject({ outcome: 'done', unusedNetworks: [{ routeDomain: 2, removed: false }] });
    const reported = await f.reconciler.run(REPAIR);
    expect(reported).toMatchObject({ unusedNetworks: [{ routeDomain: 2, removed: false }] });
    expect(f.netNames(f.a)).toEqual([...NETWORK_2, ...used].sort());

    const removed = await f.reconciler.run({ ...REPAIR, orphans: 'remove' });
    expect(removed).toMatchObject({ outcome: 'done', unusedNetworks: [{ routeDomain: 2, removed: true }] });
    expect(f.netNames(f.a)).toEqual(used);
    expect(f.netNames(f.b)).toEqual(['self-ip/Common/Unit_self3_1']);
    // Through the partition writer: under the network's own lease, confirmed on the group.
    expect(f.lease.events.some((e) => e.includes(`${ENV}#cluster1#net2`))).toBe(true);
    const again = await f.reconciler.run({ ...REPAIR, orphans: 'remove' });
    expect(again).toMatchObject({ outcome: 'done', unusedNetworks: [] });
  });

  it('never removes a network something on the device still uses, nor objects with our names that are not ours', async () => {
    const f = networkFixture();
    await f.agentNetworks.ensure([2]);
    // An operator's virtual address in route domain 2, in a partition of their own.
    f.a.objects.set('virtual-address/ops/va', {
      kind: 'virtual-address',
      partition: 'ops',
      name: 'va',
      attrs: { address: '10.0.0.77%2' },
    });
    const kept = await f.reconciler.run({ ...REPAIR, orphans: 'remove' });
    expect(kept).toMatchObject({
      unusedNetworks: [{ routeDomain: 2, removed: false, kept: 'in use: /ops/va' }],
    });
    expect(f.netNames(f.a)).toEqual(NETWORK_2);
    f.a.objects.delete('virtual-address/ops/va');
    // The operator's VLAN with our name (another description) is never removed.
    f.a.net.set('vlan/Common/Unit_vlan2', { tag: 2, description: 'the operator’s' });
    const removed = await f.reconciler.run({ ...REPAIR, orphans: 'remove' });
    expect(removed).toMatchObject({ unusedNetworks: [{ routeDomain: 2, removed: true }] });
    expect(f.netNames(f.a)).toEqual(['vlan/Common/Unit_vlan2']);
  });

  it('decides again under the network’s lease: a load balancer recorded on the network meanwhile keeps it', async () => {
    const f = networkFixture();
    await f.agentNetworks.ensure([3]);
    const ids = lbIds();
    f.release.hook = async () => {
      // Recorded (and settled) after the survey, before its apply reached the device.
      const request = parsed(
        requests.createLoadbalancer(ids, { vip_subnet_id: SUBNET_B, vip_route_domain: 3 }),
      );
      await f.resources.recordRequest(request, ENV, f.clock.now());
      const lb = f.resources.get(ids.loadbalancerId, 'loadbalancer', ids.loadbalancerId);
      if (lb)
        await f.resources.recordOutcomes(
          [{ kind: 'error', record: lb, reason: 'device busy' }],
          f.clock.now(),
        );
    };
    const report = await f.reconciler.run({ ...REPAIR, orphans: 'remove' });
    expect(report).toMatchObject({
      unusedNetworks: [
        { routeDomain: 3, removed: false, kept: `in use: load balancer ${ids.loadbalancerId} (its records)` },
      ],
    });
    expect(f.netNames(f.a)).toHaveLength(5);
  });

  it('leaves networks alone while a request is pending, and never looks for them on a scoped run', async () => {
    const f = networkFixture();
    await f.agentNetworks.ensure([2]);
    const ids = lbIds();
    await f.resources.recordRequest(parsed(requests.createLoadbalancer(ids)), ENV, f.clock.now());
    const pending = await f.reconciler.run({ ...REPAIR, orphans: 'remove' });
    expect(pending).toMatchObject({
      unusedNetworks: [
        { routeDomain: 2, removed: false, kept: 'a request is pending: the next run decides' },
      ],
    });
    const scoped = await f.reconciler.run({
      ...REPAIR,
      orphans: 'remove',
      scope: { tenantId: ids.tenantId },
    });
    expect(scoped.outcome === 'done' && scoped.unusedNetworks).toBeUndefined();
    expect(f.netNames(f.a)).toEqual(NETWORK_2);
  });
});
