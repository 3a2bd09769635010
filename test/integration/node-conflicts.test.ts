import { describe, expect, it } from 'vitest';
import { lbIds, requests } from '../support/factories.js';
import { systemsClosedAfterEach } from '../support/system-harness.js';

const system = systemsClosedAfterEach();
const ENV = 'Test';

/**
 * A node's address is unique per route domain across partitions (device-facts.md §2.1, §7.13). A
 * device F5's agent managed before has its nodes in the tenants' partitions, where this agent would
 * create shared nodes in /Common: the member's node is refused.
 */
describe('a member whose address is a node of another partition', () => {
  it('reuses a node of the tenant’s own partition (left by F5’s agent), and converges', async () => {
    const s = await system();
    const ids = lbIds();
    const P = `${ENV}_${ids.tenantId}`;
    // What F5's agent left: the tenant's partition with a node in it.
    s.sim.store.create('sys/folder', { name: P });
    s.sim.store.create('ltm/node', { name: '10.7.9.1', partition: P, address: '10.7.9.1' });
    const pool = requests.createPool(ids);
    const poolId = pool.object.id as string;
    const member = requests.createMember(ids, poolId, { address: '10.7.9.1', protocol_port: 80 });
    await s.submitAndSettle(
      requests.createLoadbalancer(ids),
      pool,
      member,
      requests.createMember(ids, poolId, { address: '10.7.9.5', protocol_port: 80 }),
    );
    const records = await s.resources.loadRecords(ids.loadbalancerId);
    expect(
      records.map((r) => `${r.type} ${r.provisioningStatus} ${r.statusReason ?? ''}`.trim()).sort(),
    ).toEqual(['loadbalancer ACTIVE', 'member ACTIVE', 'member ACTIVE', 'pool ACTIVE']);
    const members = (s.sim.dump()['ltm/pool/members'] ?? []) as { fullPath: string }[];
    expect(members.map((m) => m.fullPath).sort()).toEqual(['/Common/10.7.9.5:80', `/${P}/10.7.9.1:80`]);
    // Nothing to do again, and the member changes where it is.
    s.sim.resetCalls();
    expect(await s.applyAgain(ids, 'pool', poolId)).toMatchObject({ outcome: 'applied', commands: 0 });
    await s.submitAndSettle(
      requests.update('member', ids, { id: member.object.id, pool_id: poolId, weight: 3 }),
    );
    const changed = (s.sim.dump()['ltm/pool/members'] as { fullPath: string; ratio: number }[]).find(
      (m) => m.fullPath === `/${P}/10.7.9.1:80`,
    );
    expect(changed?.ratio).toBe(3);
    expect(
      (await s.resources.loadRecords(ids.loadbalancerId)).every((r) => r.provisioningStatus === 'ACTIVE'),
    ).toBe(true);
  });

  it('puts the member in ERROR naming the other partition’s node, once, and leaves the rest of the pool alone', async () => {
    const s = await system();
    const ids = lbIds();
    // F5's agent's partition for the tenant under another environment prefix.
    const theirs = `Project_${ids.tenantId}`;
    s.sim.store.create('sys/folder', { name: theirs });
    s.sim.store.create('ltm/node', { name: '10.7.9.2', partition: theirs, address: '10.7.9.2' });
    const pool = requests.createPool(ids);
    const poolId = pool.object.id as string;
    await s.submitAndSettle(requests.createLoadbalancer(ids), pool);
    s.sim.resetCalls();
    const clash = requests.createMember(ids, poolId, { address: '10.7.9.2', protocol_port: 80 });
    await s.submitAndSettle(clash);
    const records = await s.resources.loadRecords(ids.loadbalancerId);
    expect(records.find((r) => r.id === clash.object.id)).toMatchObject({
      provisioningStatus: 'ERROR',
      statusReason: expect.stringMatching(
        new RegExp(`node /${theirs}/10\\.7\\.9\\.2 of partition ${theirs} has the address 10\\.7\\.9\\.2`),
      ),
    });
    // Refused once, not retried: one attempt at the device.
    expect(s.sim.calls.filter((c) => c.status === 400)).toHaveLength(1);
    // Another member of the pool still goes on.
    await s.submitAndSettle(requests.createMember(ids, poolId, { address: '10.7.9.3', protocol_port: 80 }));
    const members = (s.sim.dump()['ltm/pool/members'] ?? []) as { fullPath: string }[];
    expect(members.map((m) => m.fullPath)).toEqual(['/Common/10.7.9.3:80']);
  });
});
