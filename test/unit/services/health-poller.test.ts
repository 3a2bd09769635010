import { describe, expect, it } from 'vitest';
import type { CapacityLimits } from '../../../functions/domain/capacity.js';
import { BigIpError } from '../../../functions/domain/errors.js';
import { HealthPoller } from '../../../functions/services/health-poller.js';
import { applyTargetOf, LoadBalancerApplier } from '../../../functions/services/load-balancer-applier.js';
import { type LbIds, lbIds, requests } from '../../support/factories.js';
import { InMemoryAgentRegistry } from '../../support/fakes/in-memory-agent-registry.js';
import { InMemoryBigIp, InMemoryCluster } from '../../support/fakes/in-memory-bigip.js';
import { InMemoryBindingStore } from '../../support/fakes/in-memory-binding-store.js';
import { InMemoryGroupStore } from '../../support/fakes/in-memory-group-store.js';
import { InMemoryHealthStore } from '../../support/fakes/in-memory-health-store.js';
import { InMemoryLease } from '../../support/fakes/in-memory-lease.js';
import { InMemoryResourceStore } from '../../support/fakes/in-memory-resource-store.js';
import { inMemoryWriter, manualClock, parsed } from '../../support/service-fixtures.js';

const ENV = 'Unit';
const LIMITS: CapacityLimits = { maxLoadBalancers: 100, maxListeners: 10, maxMembers: 100 };

function fixture(options: { group?: boolean } = {}) {
  const clock = manualClock();
  const resources = new InMemoryResourceStore();
  const bindings = new InMemoryBindingStore();
  const registry = new InMemoryAgentRegistry();
  registry.put({ env: ENV, host: 'a1', heartbeatAt: clock.now() });
  const device = new InMemoryBigIp();
  const cluster = new InMemoryCluster([device]);
  const { writer } = inMemoryWriter(ENV, cluster, new InMemoryLease());
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
  });
  const groups = new InMemoryGroupStore();
  const poller = new HealthPoller({
    env: ENV,
    cluster,
    registry,
    bindings,
    resources,
    health,
    clock: clock.now,
    ...(options.group
      ? { group: { name: 'default', limits: LIMITS, store: groups, agentDownTimeMs: 75_000 } }
      : {}),
  });
  const submit = async (message: Record<string, unknown>) => {
    const request = parsed(message);
    await resources.recordRequest(request, ENV, clock.now());
    await applier.apply(applyTargetOf(request));
    return request;
  };
  /** A load balancer bound to a1: a listener, its pool with two members, a monitor; all ACTIVE. */
  const monitored = async (ids: LbIds = lbIds()) => {
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
    const poolId = pool.object.id as string;
    const m1 = await submit(requests.createMember(ids, poolId, { address: '10.0.0.1', protocol_port: 80 }));
    const m2 = await submit(requests.createMember(ids, poolId, { address: '10.0.0.2', protocol_port: 80 }));
    await submit(requests.createHealthMonitor(ids, poolId));
    const pooled = `/${ENV}_${ids.tenantId}/${ENV}_${poolId}`;
    const virtual = `/${ENV}_${ids.tenantId}/${ENV}_${listener.object.id}`;
    return {
      ids,
      listenerId: listener.object.id as string,
      poolId,
      m1: m1.object.id as string,
      m2: m2.object.id as string,
      pooled,
      virtual,
    };
  };
  const monitor = (pool: string, member: string, monitorStatus: string) =>
    device.health.members.set(`${pool}|${member}`, { monitorStatus, enabled: true });
  const status = (lb: string, type: 'loadbalancer' | 'listener' | 'pool' | 'member', id: string) =>
    resources.get(lb, type, id)?.operatingStatus;
  return {
    clock,
    resources,
    bindings,
    registry,
    device,
    health,
    groups,
    poller,
    submit,
    monitored,
    monitor,
    status,
  };
}

describe('HealthPoller over in-memory ports', () => {
  it('turns the device’s monitor states into rolled-up statuses, and writes only what changed', async () => {
    const f = fixture();
    const a = await f.monitored();
    f.monitor(a.pooled, '10.0.0.1:80', 'up');
    f.monitor(a.pooled, '10.0.0.2:80', 'down');
    const first = await f.poller.poll();
    expect(first).toMatchObject({
      outcome: 'polled',
      loadbalancers: 1,
      poolsRead: 1,
      loadbalancersInError: 0,
    });
    const lb = a.ids.loadbalancerId;
    expect(f.status(lb, 'member', a.m1)).toBe('ONLINE');
    expect(f.status(lb, 'member', a.m2)).toBe('ERROR');
    expect(f.status(lb, 'pool', a.poolId)).toBe('DEGRADED');
    expect(f.status(lb, 'listener', a.listenerId)).toBe('DEGRADED');
    expect(f.status(lb, 'loadbalancer', lb)).toBe('DEGRADED');
    expect(await f.poller.poll()).toMatchObject({ statusesChanged: 0, statusesWritten: 0 });
    f.monitor(a.pooled, '10.0.0.1:80', 'down');
    expect(await f.poller.poll()).toMatchObject({ loadbalancersInError: 1, poolsAllMembersDown: 1 });
    expect(f.status(lb, 'loadbalancer', lb)).toBe('ERROR');
  });

  it('keeps the status of a member the device has not checked yet', async () => {
    const f = fixture();
    const a = await f.monitored();
    const before = f.status(a.ids.loadbalancerId, 'member', a.m1);
    f.monitor(a.pooled, '10.0.0.2:80', 'down');
    await f.poller.poll();
    expect(f.status(a.ids.loadbalancerId, 'member', a.m1)).toBe(before);
    expect(f.status(a.ids.loadbalancerId, 'member', a.m2)).toBe('ERROR');
  });

  it('changes nothing when the device cannot be read whole', async () => {
    const f = fixture();
    const a = await f.monitored();
    f.monitor(a.pooled, '10.0.0.2:80', 'down');
    f.device.fail = new BigIpError('mcpd answered 404 for a pool it listed', {
      device: 'bigip1',
      transient: true,
    });
    expect(await f.poller.poll()).toEqual({
      outcome: 'skipped',
      reason: 'device not read: mcpd answered 404 for a pool it listed',
    });
    expect(f.status(a.ids.loadbalancerId, 'member', a.m2)).not.toBe('ERROR');
  });

  it('never overwrites an object that changed since it was read (an apply or a newer request wins)', async () => {
    const f = fixture();
    const a = await f.monitored();
    f.monitor(a.pooled, '10.0.0.2:80', 'down');
    const read = f.device.readHealth.bind(f.device);
    f.device.readHealth = async (prefix, want) => {
      // A newer request for the member is recorded while the poll reads the device.
      await f.resources.recordRequest(
        parsed(requests.update('member', a.ids, { id: a.m2, weight: 5 })),
        ENV,
        f.clock.now(),
      );
      return read(prefix, want);
    };
    const report = await f.poller.poll();
    expect(report).toMatchObject({ outcome: 'polled' });
    expect(report.outcome === 'polled' && report.statusesWritten).toBeLessThan(
      report.outcome === 'polled' ? report.statusesChanged : 0,
    );
    expect(f.resources.get(a.ids.loadbalancerId, 'member', a.m2)).toMatchObject({
      provisioningStatus: 'PENDING_UPDATE',
    });
    expect(f.status(a.ids.loadbalancerId, 'member', a.m2)).not.toBe('ERROR');
  });

  it('keeps each listener’s totals in bytes, and writes none while nothing grew', async () => {
    const f = fixture();
    const a = await f.monitored();
    f.device.health.virtuals.set(a.virtual, {
      bitsIn: 8_000,
      bitsOut: 16_000,
      curConns: 2,
      totConns: 10,
      slowKilled: 0,
      enabled: true,
    });
    const first = await f.poller.poll();
    expect(first.outcome === 'polled' && first.traffic[0]?.total).toEqual({
      bytes_in: 1_000,
      bytes_out: 2_000,
      active_connections: 2,
      total_connections: 10,
      request_errors: 0,
    });
    expect(await f.health.loadStatistics(a.ids.loadbalancerId)).toHaveLength(1);
    expect(await f.poller.poll()).toMatchObject({ statisticsWritten: 0 });
  });

  it('measures its device group: listeners and members counted, written only when they change', async () => {
    const f = fixture({ group: true });
    await f.monitored();
    const first = await f.poller.poll();
    expect(first.outcome === 'polled' && first.capacity).toMatchObject({
      group: 'default',
      usage: { listeners: 1, members: 2, connections: 0 },
      score: 0.1,
      activeAgents: 1,
      written: true,
    });
    expect(f.groups.row(ENV, 'default')).toMatchObject({ listeners: 1, members: 2 });
    const second = await f.poller.poll();
    expect(second.outcome === 'polled' && second.capacity?.written).toBe(false);
  });

  it('polls only this environment’s load balancers', async () => {
    const f = fixture();
    const a = await f.monitored();
    // A binding of another environment on an agent of the same name is not this poller's.
    await f.bindings.bind({
      loadbalancerId: 'other-lb',
      env: 'Other',
      host: 'a1',
      tenantId: 't',
      boundAt: 1,
    });
    const report = await f.poller.poll();
    expect(report).toMatchObject({ outcome: 'polled', loadbalancers: 1 });
    expect(
      report.outcome === 'polled' && report.changes.every((c) => c.loadbalancerId === a.ids.loadbalancerId),
    ).toBe(true);
  });
});
