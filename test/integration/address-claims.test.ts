import { describe, expect, it } from 'vitest';
import { lbIds, requests } from '../support/factories.js';
import { captureMetrics, schedulerHarness } from '../support/scheduler-harness.js';
import { parsed } from '../support/service-fixtures.js';
import { systemHarness } from '../support/system-harness.js';

/** Addresses are unique on a device across partitions (bigip-real-device.md §2.2): claims refuse clashes up front. */
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
    const refused = await h.resources
      .recordRequest(
        parsed(requests.createLoadbalancer(other, { vip_address: '10.9.0.2' })),
        h.env,
        Date.now(),
      )
      .catch((e: Error) => e);
    expect((refused as Error).message).toBe(
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
