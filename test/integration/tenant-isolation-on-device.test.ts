import { describe, expect, it } from 'vitest';
import { lbIds, requests } from '../support/factories.js';
import { systemsClosedAfterEach } from '../support/system-harness.js';

/**
 * How tenants share one device without stepping on each other, on a simulator that answers like a
 * real BIG-IP (device-facts.md §2, §3): the whole pipeline, SQS to device.
 */
const system = systemsClosedAfterEach();

/** A load balancer with a listener, a pool and one member at `address`. */
function loadBalancer(ids: ReturnType<typeof lbIds>, vip: string, address: string) {
  const pool = requests.createPool(ids);
  return [
    requests.createLoadbalancer(ids, { vip_address: vip }),
    pool,
    requests.createListener(ids, { default_pool_id: pool.object.id }),
    requests.createMember(ids, pool.object.id as string, { address, protocol_port: 80 }),
  ];
}

describe('tenants on one device', () => {
  it('deletes one load balancer of a tenant that has others: both stay out of ERROR, the partition stays (§3.1)', async () => {
    const s = await system();
    const a = lbIds();
    const b = lbIds({ tenantId: a.tenantId });
    await s.submitAndSettle(
      ...loadBalancer(a, '10.0.0.10', '10.0.1.1'),
      ...loadBalancer(b, '10.0.0.11', '10.0.1.2'),
    );
    await s.submitAndSettle(requests.delete('loadbalancer', a, a.loadbalancerId));
    expect(await s.resources.loadRecords(a.loadbalancerId)).toEqual([]);
    const survivor = await s.resources.loadRecords(b.loadbalancerId);
    expect(survivor.map((r) => r.provisioningStatus)).toEqual(survivor.map(() => 'ACTIVE'));
    expect(s.sim.partitions()).toEqual([`Test_${a.tenantId}`]);
    // The tenant's last load balancer takes the partition with it.
    await s.submitAndSettle(requests.delete('loadbalancer', b, b.loadbalancerId));
    expect(s.sim.partitions()).toEqual([]);
    expect(s.sim.dump()).toEqual({});
  });

  it('ends a delete without ERROR when the partition holds items we did not create (hidden ones, §3.1), and keeps it', async () => {
    const s = await system();
    const a = lbIds();
    await s.submitAndSettle(...loadBalancer(a, '10.0.0.10', '10.0.1.1'));
    s.sim.store.addHiddenItem(`Test_${a.tenantId}`, `monitor test results /Test_${a.tenantId}/m 1`);
    await s.submitAndSettle(requests.delete('loadbalancer', a, a.loadbalancerId));
    expect(await s.resources.loadRecords(a.loadbalancerId)).toEqual([]);
    expect(s.sim.partitions()).toEqual([`Test_${a.tenantId}`]);
    expect(await s.dlqDepth()).toBe(0);
  });

  it('serves members of two tenants on the same server: the node is shared, and removed only with its last member (§2.1)', async () => {
    const s = await system();
    const t1 = lbIds();
    const t2 = lbIds();
    await s.submitAndSettle(
      ...loadBalancer(t1, '10.0.0.10', '10.0.3.110'),
      ...loadBalancer(t2, '10.0.0.20', '10.0.3.110'),
    );
    for (const ids of [t1, t2]) {
      const records = await s.resources.loadRecords(ids.loadbalancerId);
      expect(records.map((r) => `${r.type}:${r.provisioningStatus}`).sort()).toEqual([
        'listener:ACTIVE',
        'loadbalancer:ACTIVE',
        'member:ACTIVE',
        'pool:ACTIVE',
      ]);
    }
    expect((s.sim.dump()['ltm/node'] as { fullPath: string }[]).map((n) => n.fullPath)).toEqual([
      '/Common/10.0.3.110',
    ]);
    await s.submitAndSettle(requests.delete('loadbalancer', t1, t1.loadbalancerId));
    expect((s.sim.dump()['ltm/node'] as { fullPath: string }[]).map((n) => n.fullPath)).toEqual([
      '/Common/10.0.3.110',
    ]);
    expect(
      (await s.resources.loadRecords(t2.loadbalancerId)).every((r) => r.provisioningStatus === 'ACTIVE'),
    ).toBe(true);
    await s.submitAndSettle(requests.delete('loadbalancer', t2, t2.loadbalancerId));
    expect(s.sim.dump()).toEqual({});
  });

  it.each([
    400, 404,
  ] as const)('builds the first load balancer of a new tenant whichever way a GET in a missing partition answers (%i, §3.2)', async (missingPartitionGet) => {
    const s = await system({ sim: { missingPartitionGet } });
    const ids = lbIds();
    await s.submitAndSettle(...loadBalancer(ids, '10.0.0.10', '10.0.1.1'));
    const records = await s.resources.loadRecords(ids.loadbalancerId);
    expect(
      records.filter((r) => r.provisioningStatus !== 'ACTIVE').map((r) => `${r.type}: ${r.statusReason}`),
    ).toEqual([]);
    expect(s.sim.partitions()).toEqual([`Test_${ids.tenantId}`]);
  });
});
