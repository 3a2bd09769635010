import { describe, expect, it } from 'vitest';
import type { ResourceStore } from '../../functions/domain/ports.js';
import { explainRecordConflict } from '../../functions/domain/refusals.js';
import { lbIds, requests } from '../support/factories.js';
import { captureMetrics, schedulerHarness } from '../support/scheduler-harness.js';
import { parsed } from '../support/service-fixtures.js';
import { systemHarness } from '../support/system-harness.js';

/** Why the resources table refused a request, as the scheduler reports it (the adapter's findings, the domain's words). */
async function refusalOf(h: { resources: ResourceStore; env: string }, body: Record<string, unknown>) {
  const request = parsed(body);
  const result = await h.resources.recordRequest(request, h.env, Date.now());
  if (result.recorded) return 'recorded';
  return 'refusal' in result
    ? result.refusal.reason
    : explainRecordConflict(request, h.env, result.conflict)?.reason;
}

/** Addresses are unique on a device across partitions (device-facts.md §2.2): claims refuse clashes up front. */
describe('address claims (DynamoDB Local)', () => {
  it('lets exactly one of two racing load balancers take a VIP, and tells the other why', async () => {
    const h = await schedulerHarness();
    const [t1, t2] = [lbIds(), lbIds()];
    const bodies = [
      requests.createLoadbalancer(t1, { vip_address: '10.9.0.1' }),
      requests.createLoadbalancer(t2, { vip_address: '10.9.0.1' }),
    ];
    const { metrics } = await captureMetrics(() => Promise.all(bodies.map((b) => h.deliver([b]))));
    const recorded = [
      ...(await h.resources.loadRecords(t1.loadbalancerId)),
      ...(await h.resources.loadRecords(t2.loadbalancerId)),
    ];
    expect(recorded).toHaveLength(1);
    expect(metrics.filter((m) => m.name === 'RejectedRequests').map((m) => m.dimensions.Reason)).toEqual([
      'conflict',
    ]);
  });

  it('refuses a VIP another tenant’s load balancer holds, naming it, and changes nothing of theirs', async () => {
    const h = await schedulerHarness();
    const [owner, other] = [lbIds(), lbIds()];
    await h.deliver([requests.createLoadbalancer(owner, { vip_address: '10.9.0.2' })]);
    const before = await h.resources.loadRecords(owner.loadbalancerId);
    const refused = await refusalOf(h, requests.createLoadbalancer(other, { vip_address: '10.9.0.2' }));
    expect(refused).toBe(
      `load balancer ${other.loadbalancerId} cannot be created: VIP 10.9.0.2 is already used by loadbalancer ${owner.loadbalancerId} in environment ${h.env}`,
    );
    expect(await h.resources.loadRecords(other.loadbalancerId)).toEqual([]);
    expect(await h.resources.loadRecords(owner.loadbalancerId)).toEqual(before);
  });

  it('frees a VIP and a port when their objects are deleted, so they can be used again', async () => {
    const s = await systemHarness({ random: () => 0 });
    try {
      const a = lbIds();
      const listener = requests.createListener(a, { protocol_port: 443 });
      await s.submitAndSettle(requests.createLoadbalancer(a, { vip_address: '10.9.0.3' }), listener);
      await s.submitAndSettle(requests.delete('listener', a, listener.object.id as string));
      const again = requests.createListener(a, { protocol_port: 443 });
      await s.submitAndSettle(again);
      expect((await s.resources.loadRecords(a.loadbalancerId)).map((r) => r.id)).toContain(again.object.id);

      await s.submitAndSettle(requests.delete('loadbalancer', a, a.loadbalancerId));
      const b = lbIds();
      await s.submitAndSettle(requests.createLoadbalancer(b, { vip_address: '10.9.0.3' }));
      const [root] = await s.resources.loadRecords(b.loadbalancerId);
      expect(root?.provisioningStatus).toBe('ACTIVE');
    } finally {
      await s.close();
    }
  });
});

describe('object ids and references stay inside their load balancer (DynamoDB Local)', () => {
  it('refuses an object id another load balancer already uses, and leaves that one untouched', async () => {
    const h = await schedulerHarness();
    const a = lbIds();
    const b = lbIds({ tenantId: a.tenantId });
    const pool = requests.createPool(a);
    await h.deliver([requests.createLoadbalancer(a), pool, requests.createLoadbalancer(b)]);
    const before = await h.resources.loadRecords(a.loadbalancerId);
    // The same pool id on another load balancer of the same tenant would be the same BIG-IP pool.
    const reused = requests.createPool(b, { id: pool.object.id, lb_algorithm: 'LEAST_CONNECTIONS' });
    const { metrics } = await captureMetrics(() => h.deliver([reused]));
    expect(metrics).toContainEqual(
      expect.objectContaining({ name: 'RejectedRequests', dimensions: { Reason: 'conflict' } }),
    );
    expect((await h.resources.loadRecords(b.loadbalancerId)).map((r) => r.type)).toEqual(['loadbalancer']);
    expect(await h.resources.loadRecords(a.loadbalancerId)).toEqual(before);
    const refused = await refusalOf(h, reused);
    expect(refused).toBe(
      `pool ${pool.object.id} cannot be created: id ${pool.object.id} is already used by pool ${pool.object.id} of load balancer ${a.loadbalancerId} in environment ${h.env}`,
    );
  });

  it('refuses members, monitors, default pools and listeners that point into another load balancer, saying where', async () => {
    const h = await schedulerHarness();
    const a = lbIds();
    const b = lbIds({ tenantId: a.tenantId });
    const poolA = requests.createPool(a);
    const listenerA = requests.createListener(a);
    await h.deliver([requests.createLoadbalancer(a), poolA, listenerA, requests.createLoadbalancer(b)]);
    const foreign = [
      requests.createMember(b, poolA.object.id as string),
      requests.createHealthMonitor(b, poolA.object.id as string),
      requests.createListener(b, { default_pool_id: poolA.object.id }),
      requests.createPool(b, { listener_id: listenerA.object.id }),
    ];
    for (const body of foreign) {
      const refused = await refusalOf(h, body);
      expect(refused).toMatch(
        new RegExp(
          `is not a (pool|listener) of load balancer ${b.loadbalancerId}: it belongs to load balancer ${a.loadbalancerId}$`,
        ),
      );
    }
    const { metrics } = await captureMetrics(() => h.deliver(foreign));
    expect(metrics.filter((m) => m.name === 'RejectedRequests').map((m) => m.dimensions.Reason)).toEqual([
      'not-found',
      'not-found',
      'not-found',
      'not-found',
    ]);
    expect((await h.resources.loadRecords(b.loadbalancerId)).map((r) => r.type)).toEqual(['loadbalancer']);
  });
});
