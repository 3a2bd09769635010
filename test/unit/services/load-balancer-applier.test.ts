import { describe, expect, it } from 'vitest';
import { BigIpError, LeaseBusyError, RejectedRequestError } from '../../../functions/domain/errors.js';
import type { WriteTimes } from '../../../functions/domain/invocation-time.js';
import type { LbaasRequest } from '../../../functions/domain/lbaas-request.js';
import {
  type ApplierDeps,
  applyTargetOf,
  LoadBalancerApplier,
} from '../../../functions/services/load-balancer-applier.js';
import { lbIds, requests } from '../../support/factories.js';
import { InMemoryAgentRegistry } from '../../support/fakes/in-memory-agent-registry.js';
import { InMemoryBigIp, InMemoryCluster } from '../../support/fakes/in-memory-bigip.js';
import { InMemoryBindingStore } from '../../support/fakes/in-memory-binding-store.js';
import { InMemoryHealthStore } from '../../support/fakes/in-memory-health-store.js';
import { InMemoryLease } from '../../support/fakes/in-memory-lease.js';
import { InMemoryResourceStore } from '../../support/fakes/in-memory-resource-store.js';
import { overlappingCatalog, SUBNET_A } from '../../support/network-fixtures.js';
import { inMemoryWriter, manualClock, parsed } from '../../support/service-fixtures.js';

const ENV = 'Unit';

function fixture(devices = [new InMemoryBigIp()], extra: Partial<ApplierDeps> = {}) {
  const clock = manualClock();
  const resources = new InMemoryResourceStore();
  const bindings = new InMemoryBindingStore();
  const registry = new InMemoryAgentRegistry();
  registry.put({ env: ENV, host: 'a1', heartbeatAt: clock.now() });
  const lease = new InMemoryLease({ clock: clock.now });
  const cluster = new InMemoryCluster(devices);
  const { sync, writer } = inMemoryWriter(ENV, cluster, lease);
  const health = new InMemoryHealthStore(resources);
  const applier = new LoadBalancerApplier({
    env: ENV,
    host: 'a1',
    resources,
    bindings,
    registry,
    writer,
    statistics: health,
    clock: clock.now,
    ...extra,
  });
  const record = async (message: Record<string, unknown>) => {
    const request = parsed(message);
    await resources.recordRequest(request, ENV, clock.now());
    return request;
  };
  const apply = (r: LbaasRequest) => applier.apply(applyTargetOf(r));
  /** A load balancer with one pool, both applied. */
  const withPool = async () => {
    const ids = lbIds();
    await apply(await record(requests.createLoadbalancer(ids)));
    const pool = await record(requests.createPool(ids));
    await apply(pool);
    return { ids, pool };
  };
  return {
    clock,
    resources,
    bindings,
    registry,
    lease,
    cluster,
    sync,
    health,
    device: devices[0] as InMemoryBigIp,
    applier,
    record,
    apply,
    withPool,
  };
}

describe('LoadBalancerApplier over in-memory ports', () => {
  it('hands the invocation’s times to the networks it puts and lets go of, as to its own writes', async () => {
    const handed: string[] = [];
    const said = (what: string, rds: Iterable<number>, times: WriteTimes | undefined) =>
      handed.push(`${what} ${[...rds].join()} ${JSON.stringify(times)}`);
    const networks: NonNullable<ApplierDeps['networks']> = {
      // A delete's apply asks for no network: nothing to record.
      ensure: async (rds, times) => {
        if ([...rds].length > 0) said('ensure', rds, times);
      },
      recheck: async () => false,
      release: async (rd, _wantedBy, times) => {
        said('release', [rd], times);
        return { routeDomain: rd, outcome: 'removed' };
      },
    };
    const f = fixture(undefined, { networks, translation: { networks: overlappingCatalog } });
    const ids = lbIds();
    const lb = await f.record(
      requests.createLoadbalancer(ids, {
        vip_address: '10.0.0.10',
        vip_subnet_id: SUBNET_A,
        vip_route_domain: 2,
      }),
    );
    const times = { sendUntil: f.clock.now() + 45_000, confirmUntil: f.clock.now() + 54_000 };
    const [created] = await f.applier.applyAll([[applyTargetOf(lb)]], times);
    expect(created?.status).toBe('fulfilled');
    const gone = await f.record(requests.delete('loadbalancer', ids, ids.loadbalancerId));
    await f.applier.applyAll([[applyTargetOf(gone)]], times);
    expect(f.sync.untils.every((u) => u === times.confirmUntil)).toBe(true);
    // Recorded in route domain 2 (the scheduler's network check sets it from the subnet).
    expect(handed).toEqual([`ensure 2 ${JSON.stringify(times)}`, `release 2 ${JSON.stringify(times)}`]);
  });

  it('does not write when its lease was lost while it read (a slowed apply): the request is retried, nothing changes', async () => {
    const f = fixture();
    const ids = lbIds();
    const lb = await f.record(requests.createLoadbalancer(ids));
    const key = `${ENV}#cluster1#${ENV}_${ids.tenantId}`;
    // The apply reads the device, then another writer holds the partition (this one's lease expired).
    const read = f.device.read.bind(f.device);
    f.device.read = async (partition, units) => {
      const snapshot = await read(partition, units);
      f.clock.advance(60_001);
      f.lease.steal(key);
      return snapshot;
    };
    await expect(f.apply(lb)).rejects.toThrow(/partition lease .* was lost/);
    expect(f.device.folders.size).toBe(0);
    expect(f.resources.get(ids.loadbalancerId, 'loadbalancer', ids.loadbalancerId)?.provisioningStatus).toBe(
      'PENDING_CREATE',
    );
  });

  it('applies a new load balancer under its partition lease and settles it ACTIVE', async () => {
    const f = fixture();
    const ids = lbIds();
    const lb = await f.record(requests.createLoadbalancer(ids));
    const result = await f.apply(lb);
    expect(result).toMatchObject({ outcome: 'applied', device: 'bigip1', statuses: 1 });
    const partition = `${ENV}_${ids.tenantId}`;
    // The lease is taken before the device is touched and released after.
    expect(f.lease.events).toEqual([
      `acquire ${ENV}#cluster1#${partition}`,
      `release ${ENV}#cluster1#${partition}`,
    ]);
    expect(f.lease.holders.size).toBe(0);
    expect(f.device.folders.has(partition)).toBe(true);
    expect(f.resources.get(ids.loadbalancerId, 'loadbalancer', ids.loadbalancerId)).toMatchObject({
      provisioningStatus: 'ACTIVE',
      operatingStatus: 'OFFLINE', // on the device, not measured yet: the status poller says ONLINE
    });
  });

  it('re-applying an unchanged load balancer plans no command and writes no status', async () => {
    const f = fixture();
    const ids = lbIds();
    const lb = await f.record(requests.createLoadbalancer(ids));
    await f.apply(lb);
    const again = await f.apply(lb);
    expect(again).toMatchObject({ outcome: 'applied', commands: 0, statuses: 0 });
  });

  it('settles a listener and its pending load balancer, and leaves a newer request PENDING', async () => {
    const f = fixture();
    const ids = lbIds();
    await f.apply(await f.record(requests.createLoadbalancer(ids)));
    const listener = await f.record(requests.createListener(ids));
    // A newer update of the same listener lands after the apply read the tree.
    const loadRecords = f.resources.loadRecords.bind(f.resources);
    f.resources.loadRecords = async (lbId) => {
      const rs = await loadRecords(lbId);
      await f.resources.recordRequest(
        parsed(requests.update('listener', ids, { id: listener.object.id, connection_limit: 10 })),
        ENV,
        f.clock.now(),
      );
      return rs;
    };
    await f.apply(listener);
    expect(f.resources.get(ids.loadbalancerId, 'listener', listener.object.id)?.provisioningStatus).toBe(
      'PENDING_UPDATE',
    );
  });

  it('puts the object and its load balancer in ERROR with the device’s words when the device refuses', async () => {
    const f = fixture();
    const ids = lbIds();
    await f.apply(await f.record(requests.createLoadbalancer(ids)));
    const listener = await f.record(requests.createListener(ids));
    f.device.fail = new BigIpError('refused', {
      device: 'bigip1',
      status: 400,
      transient: false,
      context: { bigipMessage: '01070333:3: Virtual Server ... illegally shares destination' },
    });
    const result = await f.apply(listener);
    expect(result).toEqual({
      outcome: 'device-error',
      reason: '01070333:3: Virtual Server ... illegally shares destination',
      device: 'bigip1',
    });
    for (const [type, id] of [
      ['listener', listener.object.id],
      ['loadbalancer', ids.loadbalancerId],
    ] as const) {
      expect(f.resources.get(ids.loadbalancerId, type, id)).toMatchObject({
        provisioningStatus: 'ERROR',
        statusReason: expect.stringContaining('01070333'),
      });
    }
    expect(f.lease.holders.size).toBe(0);
  });

  it('an object the device refused does not block changes to the rest of its load balancer', async () => {
    const f = fixture();
    const ids = lbIds();
    await f.apply(await f.record(requests.createLoadbalancer(ids)));
    const bad = await f.record(requests.createListener(ids, { protocol_port: 443 }));
    // The device refuses this listener's virtual server whenever a transaction carries it.
    f.device.refuse = (c) =>
      c.object.kind === 'virtual' && c.op !== 'delete' && c.object.name.includes(bad.object.id as string)
        ? '01070333:3: Virtual Server illegally shares destination'
        : undefined;
    expect((await f.apply(bad)).outcome).toBe('device-error');
    const status = (type: 'listener' | 'loadbalancer' | 'pool', id: string) =>
      f.resources.get(ids.loadbalancerId, type, id)?.provisioningStatus;
    expect(status('listener', bad.object.id as string)).toBe('ERROR');

    // A change of the load balancer (it covers every listener's virtual) and a new listener and
    // pool still go through, leaving the refused listener as it is.
    const rename = await f.record(
      requests.update('loadbalancer', ids, { id: ids.loadbalancerId, name: 'web-2' }),
    );
    expect((await f.apply(rename)).outcome).toBe('applied');
    const good = await f.record(requests.createListener(ids, { protocol_port: 8080 }));
    expect((await f.apply(good)).outcome).toBe('applied');
    const pool = await f.record(requests.createPool(ids, { listener_id: good.object.id }));
    expect((await f.apply(pool)).outcome).toBe('applied');
    expect(status('loadbalancer', ids.loadbalancerId)).toBe('ACTIVE');
    expect(status('listener', good.object.id as string)).toBe('ACTIVE');
    expect(status('pool', pool.object.id as string)).toBe('ACTIVE');
    expect(status('listener', bad.object.id as string)).toBe('ERROR');

    // A request naming the refused listener retries it (and is refused again while the device says no);
    // deleting it goes ahead.
    const retry = await f.record(requests.update('listener', ids, { id: bad.object.id, name: 'tls' }));
    expect((await f.apply(retry)).outcome).toBe('device-error');
    const removal = await f.record(requests.delete('listener', ids, bad.object.id as string));
    expect((await f.apply(removal)).outcome).toBe('applied');
    expect(f.resources.get(ids.loadbalancerId, 'listener', bad.object.id as string)).toBeUndefined();
  });

  it('rethrows a transient device fault (to be retried), releasing the lease and writing no status', async () => {
    const f = fixture();
    const ids = lbIds();
    const lb = await f.record(requests.createLoadbalancer(ids));
    f.device.fail = new BigIpError('busy', { device: 'bigip1', status: 503, transient: true });
    await expect(f.apply(lb)).rejects.toThrow('busy');
    expect(f.lease.holders.size).toBe(0);
    expect(f.resources.written).toHaveLength(0);
    expect(f.resources.get(ids.loadbalancerId, 'loadbalancer', ids.loadbalancerId)?.provisioningStatus).toBe(
      'PENDING_CREATE',
    );
  });

  it('reads the desired tree inside the lease: an apply that waited writes the newest state, never an older one', async () => {
    const f = fixture();
    const { ids, pool } = await f.withPool();
    const member = await f.record(requests.createMember(ids, pool.object.id, { weight: 28 }));
    await f.apply(member);
    const to29 = await f.record(requests.update('member', ids, { id: member.object.id, weight: 29 }));
    // While this apply waits for the lease, a newer request (weight 30) is recorded.
    f.lease.whileWaiting = async () => {
      await f.resources.recordRequest(
        parsed(requests.update('member', ids, { id: member.object.id, weight: 30 })),
        ENV,
        f.clock.now(),
      );
    };
    await f.apply(to29);
    const onDevice = [...f.device.objects.values()].find((o) => o.kind === 'member');
    expect(onDevice?.attrs.ratio).toBe(30);
    // The record reflects it: what is ACTIVE is what the device has.
    const record = f.resources.get(ids.loadbalancerId, 'member', member.object.id);
    expect(record?.desired).toMatchObject({ weight: 30 });
    expect(record?.provisioningStatus).toBe('ACTIVE');
  });

  it('never settles a member delete it did not apply: an earlier request of the pool that reads it pending leaves it to its own apply', async () => {
    // Found by the loaded long soak: the scheduler records a member's delete while the agent still
    // works through the load balancer's earlier requests; a health monitor's apply (its scope: the
    // monitor and the pool object, not the members) read the member as PENDING_DELETE and wrote it
    // as deleted, so the delete's own apply found it settled, and the member stayed on the device.
    const f = fixture();
    const { ids, pool } = await f.withPool();
    const kept = await f.record(requests.createMember(ids, pool.object.id, { address: '10.0.1.4' }));
    const gone = await f.record(requests.createMember(ids, pool.object.id, { address: '10.0.1.6' }));
    await f.applier.applyAll([[applyTargetOf(kept), applyTargetOf(gone)]]);
    const monitor = await f.record(requests.createHealthMonitor(ids, pool.object.id));
    const remove = await f.record(requests.delete('member', ids, gone.object.id));
    // The monitor's request was forwarded first; its apply runs after the delete was recorded.
    await f.apply(monitor);
    await f.apply(remove);
    const members = () =>
      [...f.device.objects.values()].filter((o) => o.kind === 'member').map((o) => o.attrs.address);
    expect(members()).toEqual(['10.0.1.4']);
    expect(f.resources.get(ids.loadbalancerId, 'member', gone.object.id)).toBeUndefined();
    expect(f.resources.get(ids.loadbalancerId, 'healthmonitor', monitor.object.id)?.provisioningStatus).toBe(
      'ACTIVE',
    );
  });

  it('never settles a monitor delete it did not apply: a member’s apply that reads it pending leaves it to its own apply', async () => {
    const f = fixture();
    const { ids, pool } = await f.withPool();
    const monitor = await f.record(requests.createHealthMonitor(ids, pool.object.id));
    await f.apply(monitor);
    const member = await f.record(requests.createMember(ids, pool.object.id));
    const remove = await f.record(requests.delete('healthmonitor', ids, monitor.object.id));
    await f.apply(member);
    await f.apply(remove);
    expect([...f.device.objects.values()].filter((o) => o.kind === 'monitor')).toEqual([]);
    expect(f.resources.get(ids.loadbalancerId, 'healthmonitor', monitor.object.id)).toBeUndefined();
  });

  it('a load balancer’s own update, once applied, lets a child’s apply settle it even if the child’s request raced its status write', async () => {
    const f = fixture();
    const { ids, pool } = await f.withPool();
    const disable = await f.record(
      requests.update('loadbalancer', ids, { id: ids.loadbalancerId, admin_state_up: false }),
    );
    // While the update is written, a member is recorded: the update's status write (conditional on
    // the revision it read) loses, and the load balancer stays PENDING_UPDATE for the member.
    let member: LbaasRequest | undefined;
    const execute = f.device.execute.bind(f.device);
    f.device.execute = async (partition, plan, options) => {
      member ??= await f.record(requests.createMember(ids, pool.object.id));
      return execute(partition, plan, options);
    };
    await f.apply(disable);
    const root = () => f.resources.get(ids.loadbalancerId, 'loadbalancer', ids.loadbalancerId);
    expect(root()?.provisioningStatus).toBe('PENDING_UPDATE');
    expect(root()?.ownChangePending).toBeUndefined();
    await f.apply(member as LbaasRequest);
    expect(root()?.provisioningStatus).toBe('ACTIVE');
  });

  it('leaves a load balancer’s own update pending when an earlier child’s apply reads it', async () => {
    const f = fixture();
    const { ids, pool } = await f.withPool();
    const member = await f.record(requests.createMember(ids, pool.object.id));
    const rename = await f.record(
      requests.update('loadbalancer', ids, { id: ids.loadbalancerId, name: 'renamed' }),
    );
    await f.apply(member);
    const root = () => f.resources.get(ids.loadbalancerId, 'loadbalancer', ids.loadbalancerId);
    expect(root()?.provisioningStatus).toBe('PENDING_UPDATE');
    await f.apply(rename);
    expect(root()?.provisioningStatus).toBe('ACTIVE');
    expect([...f.device.objects.values()].find((o) => o.kind === 'virtual-address')?.attrs.description).toBe(
      'renamed',
    );
  });

  it('does not touch the device while another writer holds the partition lease', async () => {
    const f = fixture();
    const ids = lbIds();
    const lb = await f.record(requests.createLoadbalancer(ids));
    f.lease.holders.set(`${ENV}#cluster1#${ENV}_${ids.tenantId}`, 'someone-else');
    await expect(f.apply(lb)).rejects.toBeInstanceOf(LeaseBusyError);
    expect(f.device.events).toEqual([]);
  });

  it('config-syncs an HA pair after a change, never after an unchanged re-apply', async () => {
    const f = fixture([
      new InMemoryBigIp('a'),
      Object.assign(new InMemoryBigIp('b'), { failoverState: 'STANDBY' }),
    ]);
    const lb = await f.record(requests.createLoadbalancer(lbIds()));
    await f.apply(lb);
    await f.apply(lb);
    expect(f.sync.syncs).toEqual(['a']);
  });

  it('deletes a load balancer: objects gone, records deleted, binding and agent count released', async () => {
    const f = fixture();
    const ids = lbIds();
    await f.apply(await f.record(requests.createLoadbalancer(ids)));
    await f.bindings.bind({
      loadbalancerId: ids.loadbalancerId,
      env: ENV,
      host: 'a1',
      tenantId: ids.tenantId,
      boundAt: 1,
    });
    await f.registry.adjustLoadbalancerCount(ENV, 'a1', 1);
    const del = await f.record(requests.delete('loadbalancer', ids, ids.loadbalancerId));
    await f.apply(del);
    expect(await f.resources.loadRecords(ids.loadbalancerId)).toEqual([]);
    expect(await f.bindings.getBinding(ids.loadbalancerId)).toBeUndefined();
    expect((await f.registry.getAgent(ENV, 'a1'))?.loadbalancerCount).toBe(0);
    expect(f.device.folders.size).toBe(0);
    expect(f.device.objects.size).toBe(0);
  });

  it('releases a deleted load balancer’s binding before its records go (whoever sees them gone finds it unbound)', async () => {
    const f = fixture();
    const ids = lbIds();
    await f.apply(await f.record(requests.createLoadbalancer(ids)));
    await f.bindings.bind({
      loadbalancerId: ids.loadbalancerId,
      env: ENV,
      host: 'a1',
      tenantId: ids.tenantId,
      boundAt: 1,
    });
    const del = await f.record(requests.delete('loadbalancer', ids, ids.loadbalancerId));
    const boundWhenDeleted: unknown[] = [];
    const write = f.resources.recordOutcomes.bind(f.resources);
    f.resources.recordOutcomes = async (outcomes, now) => {
      if (outcomes.some((o) => o.kind === 'deleted' && o.record.type === 'loadbalancer'))
        boundWhenDeleted.push(await f.bindings.getBinding(ids.loadbalancerId));
      return write(outcomes, now);
    };
    await f.apply(del);
    expect(boundWhenDeleted).toEqual([undefined]);
  });

  it('clears a listener’s default_pool_id once its default pool is deleted, as Octavia does, so the listener’s next update applies (#27.10)', async () => {
    const f = fixture();
    const { ids, pool } = await f.withPool();
    const listener = await f.record(requests.createListener(ids, { default_pool_id: pool.object.id }));
    await f.apply(listener);
    await f.apply(await f.record(requests.delete('pool', ids, pool.object.id as string)));
    const stored = f.resources.get(ids.loadbalancerId, 'listener', listener.object.id as string);
    expect(stored?.desired).toMatchObject({ default_pool_id: null });
    expect(stored?.provisioningStatus).toBe('ACTIVE');
    // An unrelated update of the listener goes through (it went to ERROR: "default pool … does not exist").
    await f.apply(
      await f.record(requests.update('listener', ids, { id: listener.object.id, name: 'renamed' })),
    );
    expect(f.resources.get(ids.loadbalancerId, 'listener', listener.object.id as string)).toMatchObject({
      provisioningStatus: 'ACTIVE',
      desired: { name: 'renamed', default_pool_id: null },
    });
  });

  it('removes a deleted load balancer’s listener statistics with it, and only its own (#27.11)', async () => {
    const f = fixture();
    const [ids, other] = [lbIds(), lbIds()];
    await f.apply(await f.record(requests.createLoadbalancer(ids)));
    const stats = (loadbalancerId: string, listenerId: string) => ({
      loadbalancerId,
      listenerId,
      totals: { bitsIn: 8, bitsOut: 8, totConns: 1, slowKilled: 0 },
      activeConnections: 0,
      units: {},
      unit: 'bigip1',
      observedAt: 1,
    });
    await f.health.saveStatistics([
      stats(ids.loadbalancerId, 'l1'),
      stats(ids.loadbalancerId, 'l2'),
      stats(other.loadbalancerId, 'l3'),
    ]);
    await f.apply(await f.record(requests.delete('loadbalancer', ids, ids.loadbalancerId)));
    expect(await f.health.loadStatistics(ids.loadbalancerId)).toEqual([]);
    expect(await f.health.loadStatistics(other.loadbalancerId)).toHaveLength(1);
  });

  it('completes a delete only when the device, known ready, shows the objects gone: mcpd’s false 404s release nothing (#27.3)', async () => {
    const f = fixture();
    const { ids, pool } = await f.withPool();
    await f.bindings.bind({
      loadbalancerId: ids.loadbalancerId,
      env: ENV,
      host: 'a1',
      tenantId: ids.tenantId,
      boundAt: 1,
    });
    const onDevice = f.device.objects.size;
    // mcpd reloads: not ready, and every existing object answers 404.
    f.device.ready = { ready: false, reason: 'mcpd phase is loading' };
    const read = f.device.read.bind(f.device);
    f.device.read = async (partition, units) => ({
      ...(await read(partition, units)),
      folderExists: false,
      objects: new Map(),
      poolMembers: new Map(),
    });
    const del = await f.record(requests.delete('loadbalancer', ids, ids.loadbalancerId));
    const error = await f.apply(del).catch((e) => e);
    expect(error).toBeInstanceOf(BigIpError);
    expect(error.transient).toBe(true);
    expect(error.message).toMatch(/not ready/);
    expect(f.device.objects.size).toBe(onDevice);
    expect(f.resources.get(ids.loadbalancerId, 'loadbalancer', ids.loadbalancerId)?.provisioningStatus).toBe(
      'PENDING_DELETE',
    );
    expect(f.resources.get(ids.loadbalancerId, 'pool', pool.object.id as string)).toBeDefined();
    expect(await f.bindings.getBinding(ids.loadbalancerId)).toBeDefined();
    // Ready again: the retry deletes it all and only then lets go of the records and the binding.
    f.device.ready = { ready: true };
    f.device.read = read;
    await f.apply(del);
    expect(f.device.objects.size).toBe(0);
    expect(await f.resources.loadRecords(ids.loadbalancerId)).toEqual([]);
    expect(await f.bindings.getBinding(ids.loadbalancerId)).toBeUndefined();
  });

  it('answers gone for a load balancer whose records no longer exist, without a device call', async () => {
    const f = fixture();
    const ids = lbIds();
    const lb = parsed(requests.createLoadbalancer(ids));
    expect(await f.apply(lb)).toEqual({ outcome: 'gone' });
    expect(f.device.events).toEqual([]);
  });

  it('refuses a load balancer of another environment', async () => {
    const f = fixture();
    const ids = lbIds();
    const lb = parsed(requests.createLoadbalancer(ids));
    await f.resources.recordRequest(lb, 'Other', 1);
    await expect(f.apply(lb)).rejects.toBeInstanceOf(RejectedRequestError);
    expect(f.device.events).toEqual([]);
  });

  describe('coalesced applies', () => {
    const targets = (...rs: LbaasRequest[]) => rs.map(applyTargetOf);

    it('applies several requests for one load balancer as one change and settles each', async () => {
      const f = fixture([new InMemoryBigIp('a'), new InMemoryBigIp('b')]);
      f.device.failoverState = 'ACTIVE';
      (f.cluster.devices[1] as InMemoryBigIp).failoverState = 'STANDBY';
      const ids = lbIds();
      await f.apply(await f.record(requests.createLoadbalancer(ids)));
      f.lease.events.length = 0;
      f.device.events.length = 0;
      f.sync.syncs.length = 0;
      const listener = await f.record(requests.createListener(ids));
      const pool = await f.record(requests.createPool(ids, { listener_id: listener.object.id }));
      const m1 = await f.record(
        requests.createMember(ids, pool.object.id as string, { address: '10.0.0.1' }),
      );
      const m2 = await f.record(
        requests.createMember(ids, pool.object.id as string, { address: '10.0.0.2' }),
      );
      const [result] = await f.applier.applyAll([targets(listener, pool, m1, m2)]);

      expect(result).toMatchObject({ status: 'fulfilled', value: { outcome: 'applied', commands: 4 } });
      // One lease, one read, one transaction, one read-back of what it wrote, one config-sync for all four.
      expect(f.lease.events).toHaveLength(2);
      expect(f.device.events.filter((e) => e.startsWith('execute'))).toEqual([
        `execute ${ENV}_${ids.tenantId} 4`,
      ]);
      expect(f.device.events.filter((e) => e.startsWith('read'))).toHaveLength(2);
      expect(f.sync.syncs).toEqual(['a']);
      for (const [type, id] of [
        ['listener', listener.object.id],
        ['pool', pool.object.id],
        ['member', m1.object.id],
        ['member', m2.object.id],
        ['loadbalancer', ids.loadbalancerId],
      ] as const) {
        expect(f.resources.get(ids.loadbalancerId, type, id as string)?.provisioningStatus).toBe('ACTIVE');
      }
    });

    it('applies a refused coalesced change again request by request: only the culprit goes to ERROR', async () => {
      const f = fixture();
      const ids = lbIds();
      await f.apply(await f.record(requests.createLoadbalancer(ids)));
      const good = await f.record(requests.createListener(ids, { protocol_port: 80 }));
      const bad = await f.record(requests.createListener(ids, { protocol_port: 443 }));
      const later = await f.record(requests.createListener(ids, { protocol_port: 8080 }));
      f.device.events.length = 0;
      f.device.refuse = (c) =>
        c.object.kind === 'virtual' && c.object.name.includes(bad.object.id as string)
          ? '01070333:3: Virtual Server illegally shares destination'
          : undefined;
      const [result] = await f.applier.applyAll([targets(good, bad, later)]);

      expect(result).toMatchObject({
        status: 'fulfilled',
        value: { outcome: 'device-error', reason: expect.stringContaining('01070333') },
      });
      const status = (id: string) => f.resources.get(ids.loadbalancerId, 'listener', id)?.provisioningStatus;
      expect(status(good.object.id as string)).toBe('ACTIVE');
      expect(status(bad.object.id as string)).toBe('ERROR');
      expect(status(later.object.id as string)).toBe('ACTIVE');
      // The refused whole, then each request alone in order (the culprit refused again, the rest applied).
      expect(f.device.events.filter((e) => e.startsWith('execute'))).toHaveLength(4);
      expect(f.device.objects.has(`virtual/${ENV}_${ids.tenantId}/${ENV}_${later.object.id}`)).toBe(true);
    });

    it('shares one lease among a tenant’s load balancers and applies tenants side by side', async () => {
      const f = fixture();
      const t1a = lbIds();
      const t1b = { ...lbIds(), tenantId: t1a.tenantId };
      const t2 = lbIds();
      const lbs = [];
      for (const ids of [t1a, t1b, t2]) lbs.push(await f.record(requests.createLoadbalancer(ids)));
      const results = await f.applier.applyAll(lbs.map((lb) => targets(lb)));

      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
      expect(f.lease.events.filter((e) => e.startsWith('acquire'))).toHaveLength(2);
      for (const ids of [t1a, t1b, t2])
        expect(
          f.resources.get(ids.loadbalancerId, 'loadbalancer', ids.loadbalancerId)?.provisioningStatus,
        ).toBe('ACTIVE');
    });

    it('applies a tenant’s load balancers side by side under its one lease, and a load balancer’s delete after them', async () => {
      const f = fixture();
      const a = lbIds();
      const b = { ...lbIds(), tenantId: a.tenantId };
      const gone = { ...lbIds(), tenantId: a.tenantId };
      await f.apply(await f.record(requests.createLoadbalancer(gone)));
      const log: string[] = [];
      // Each read waits, for a moment, for another to start: side by side, both start before either ends.
      let reading = 0;
      let wake: () => void = () => undefined;
      const other = new Promise<void>((r) => {
        wake = r;
      });
      const read = f.device.read.bind(f.device);
      f.device.read = async (partition, units) => {
        reading += 1;
        log.push(`read (${reading} started)`);
        if (reading === 2) wake();
        await Promise.race([other, new Promise((r) => setTimeout(r, 50))]);
        return read(partition, units);
      };
      const execute = f.device.execute.bind(f.device);
      f.device.execute = async (partition, plan, options) => {
        log.push(`execute ${[...new Set(plan.commands.map((c) => c.op))].join(',')}`);
        return execute(partition, plan, options);
      };
      // The deleted load balancer's change is brought by a pool request (its delete, recorded after,
      // comes in a later batch): what decides is its desired state, not the request.
      const pool = await f.record(requests.createPool(gone));
      await f.record(requests.delete('loadbalancer', gone, gone.loadbalancerId));
      const changes = [
        pool,
        await f.record(requests.createLoadbalancer(a)),
        await f.record(requests.createLoadbalancer(b)),
      ];
      const results = await f.applier.applyAll(changes.map((r) => targets(r)));

      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
      expect(f.lease.events.filter((e) => e.startsWith('acquire'))).toHaveLength(2);
      // The two creates read side by side; the delete (listed first) only once they were sent.
      expect(log.slice(0, 4)).toEqual([
        'read (1 started)',
        'read (2 started)',
        'execute create',
        'execute create',
      ]);
      expect(log.slice(4).filter((e) => e.startsWith('execute'))).toEqual(['execute delete']);
      for (const ids of [a, b])
        expect(
          f.resources.get(ids.loadbalancerId, 'loadbalancer', ids.loadbalancerId)?.provisioningStatus,
        ).toBe('ACTIVE');
      expect(await f.resources.loadRecords(gone.loadbalancerId)).toEqual([]);
    });

    it('fails every load balancer of a tenant whose lease is busy, and touches nothing', async () => {
      const f = fixture();
      const ids = lbIds();
      const lb = await f.record(requests.createLoadbalancer(ids));
      f.lease.holders.set(`${ENV}#cluster1#${ENV}_${ids.tenantId}`, 'someone-else');
      const [result] = await f.applier.applyAll([targets(lb)]);
      expect(result).toMatchObject({ status: 'rejected', reason: expect.any(LeaseBusyError) });
      expect(f.device.events).toEqual([]);
    });

    it('answers a request an earlier coalesced apply settled with one small read: no lease, no device', async () => {
      const f = fixture();
      const ids = lbIds();
      await f.apply(await f.record(requests.createLoadbalancer(ids)));
      const pool = await f.record(requests.createPool(ids));
      const members = [];
      for (const address of ['10.0.0.1', '10.0.0.2', '10.0.0.3'])
        members.push(await f.record(requests.createMember(ids, pool.object.id as string, { address })));
      // The first member's apply covers its whole pool: every member recorded so far.
      await f.apply(pool);
      f.lease.events.length = 0;
      f.device.events.length = 0;
      const results = await f.applier.applyAll([targets(...members)]);
      expect(results).toEqual([
        {
          status: 'fulfilled',
          value: expect.objectContaining({ outcome: 'applied', commands: 0, device: 'none' }),
        },
      ]);
      expect(f.lease.events).toEqual([]);
      expect(f.device.events).toEqual([]);
      // A re-submission (another request id) is applied in full: it may be an operator's repair.
      const again = await f.record(
        requests.update('member', ids, { id: members[0]?.object.id, weight: 1, name: 'again' }),
      );
      await f.applier.applyAll([targets(again)]);
      expect(f.device.events.some((e) => e.startsWith('read'))).toBe(true);
    });

    it('applies all a reached pending object changes, so its own request may find it settled (found by the soak)', async () => {
      const f = fixture();
      const ids = lbIds();
      await f.apply(await f.record(requests.createLoadbalancer(ids)));
      const listener = await f.record(requests.createListener(ids));
      await f.apply(listener);
      // A pool for the listener and a member of it are recorded; the member's apply comes first.
      const pool = await f.record(requests.createPool(ids, { listener_id: listener.object.id }));
      const member = await f.record(requests.createMember(ids, pool.object.id as string));
      await f.apply(member);
      const virtual = [...f.device.objects.values()].find((o) => o.kind === 'virtual');
      // Expected from the inputs: the listener's virtual server uses the pool the request named.
      expect(virtual?.attrs.pool).toBe(`/${ENV}_${ids.tenantId}/${ENV}_${pool.object.id}`);
      f.device.events.length = 0;
      expect(await f.applier.applyAll([targets(pool)])).toEqual([
        { status: 'fulfilled', value: expect.objectContaining({ device: 'none' }) },
      ]);
      expect(f.device.events).toEqual([]);
    });
  });
});
