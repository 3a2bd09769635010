import { describe, expect, it } from 'vitest';
import { OutOfTimeError } from '../../../functions/domain/errors.js';
import { NetworkProvisioner } from '../../../functions/services/network-provisioner.js';
import { InMemoryBigIp, InMemoryCluster } from '../../support/fakes/in-memory-bigip.js';
import { InMemoryLease } from '../../support/fakes/in-memory-lease.js';
import { overlappingCatalog } from '../../support/network-fixtures.js';
import { inMemoryWriter } from '../../support/service-fixtures.js';

function fixture() {
  const a = new InMemoryBigIp('bigip-a');
  const b = new InMemoryBigIp('bigip-b');
  b.failoverState = 'STANDBY';
  const cluster = new InMemoryCluster([a, b]);
  const lease = new InMemoryLease();
  const { writer, sync } = inMemoryWriter('Project', cluster, lease);
  const provisioner = new NetworkProvisioner({
    env: 'Project',
    group: 'default',
    networks: overlappingCatalog,
    writer,
    cluster,
    unitNames: ['bigip-a', 'bigip-b'],
  });
  return { a, b, cluster, lease, sync, provisioner };
}

const names = (unit: InMemoryBigIp) => [...unit.net.keys()].sort();

describe('NetworkProvisioner', () => {
  it('puts a network on the active unit, confirms it on the group, and writes each unit its own self IP; the next load balancer costs no call', async () => {
    const f = fixture();
    await f.provisioner.ensure([3]);
    expect(names(f.a)).toEqual([
      'route-domain/Common/Project_rd3',
      'self-ip/Common/Project_float3',
      'self-ip/Common/Project_self3_0',
      'snatpool/Common/Project_snat3',
      'vlan/Common/Project_vlan3',
    ]);
    // The standby got only its own self IP directly (the rest reaches it by config-sync).
    expect(names(f.b)).toEqual(['self-ip/Common/Project_self3_1']);
    // Its sync is never held for other writers (it may be written inside a load balancer's write,
    // whose own lease a held sync would wait for).
    expect(f.sync.mayHold.length).toBeGreaterThan(0);
    expect(f.sync.mayHold.every((held) => !held)).toBe(true);
    expect(f.b.net.get('self-ip/Common/Project_self3_1')?.address).toBe('10.0.0.252%3/24');
    expect(f.sync.syncs).toEqual(['bigip-a']);
    // Under the network's own lease.
    expect(f.lease.events.some((e) => e.includes('Project#cluster1#net3'))).toBe(true);
    const before = [...f.a.events, ...f.b.events].length;
    await f.provisioner.ensure([3, 0]);
    expect([...f.a.events, ...f.b.events].length).toBe(before);
  });

  it('keeps to the invocation’s times it is given: nothing sent after the sending time, the group waited for only until the confirming time', async () => {
    const late = fixture();
    const past = { sendUntil: Date.now() - 1 };
    await expect(late.provisioner.ensure([3], past)).rejects.toBeInstanceOf(OutOfTimeError);
    expect([...names(late.a), ...names(late.b)]).toEqual([]);
    expect(late.lease.holders.size).toBe(0);
    const f = fixture();
    const times = { sendUntil: Date.now() + 60_000, confirmUntil: Date.now() + 70_000 };
    await f.provisioner.ensure([3], times);
    expect(await f.provisioner.release(3, undefined, times)).toEqual({ routeDomain: 3, outcome: 'removed' });
    // Both writes confirmed on the group (the put and the removal), each only until that time.
    expect(f.sync.untils).toEqual([times.confirmUntil, times.confirmUntil]);
  });

  it('puts a network two changes need at once only once, and both wait for it', async () => {
    const writes = (f: ReturnType<typeof fixture>) => [...f.a.events, ...f.b.events, ...f.lease.events];
    const alone = fixture();
    await alone.provisioner.ensure([3]);
    const f = fixture();
    const both = await Promise.allSettled([f.provisioner.ensure([3]), f.provisioner.ensure([3])]);
    expect(both.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    // What two changes at once cost is what one costs: the same leases, reads and writes.
    expect(writes(f)).toEqual(writes(alone));
    expect(names(f.a)).toHaveLength(5);
  });

  it('leaves a network something still uses, and removes it whole (ours only) once nothing does', async () => {
    const f = fixture();
    await f.provisioner.ensure([3]);
    f.a.objects.set('virtual-address/P/va', {
      kind: 'virtual-address',
      partition: 'P',
      name: 'va',
      attrs: { address: '10.0.0.9%3' },
    });
    expect(await f.provisioner.release(3)).toEqual({ routeDomain: 3, outcome: 'in-use', users: ['/P/va'] });
    expect(names(f.a)).toHaveLength(5);
    f.a.objects.clear();
    expect(await f.provisioner.release(3)).toEqual({ routeDomain: 3, outcome: 'removed' });
    expect(names(f.a)).toEqual([]);
    expect(names(f.b)).toEqual([]);
  });

  it("never removes an operator's object with our name, and refuses to put a network where one is", async () => {
    const f = fixture();
    f.a.net.set('vlan/Common/Project_vlan2', { tag: 2, description: 'the operator’s' });
    await expect(f.provisioner.ensure([2])).rejects.toThrow(
      /Project_vlan2 .*not as this environment made them/,
    );
    expect(await f.provisioner.release(2)).toEqual({ routeDomain: 2, outcome: 'removed' });
    expect(f.a.net.get('vlan/Common/Project_vlan2')).toEqual({ tag: 2, description: 'the operator’s' });
  });

  it('reads a network again after a refusal and puts back what another agent removed meanwhile', async () => {
    const f = fixture();
    await f.provisioner.ensure([2]);
    f.a.net.clear();
    expect(await f.provisioner.recheck([2])).toBe(true);
    expect(names(f.a)).toContain('route-domain/Common/Project_rd2');
    expect(await f.provisioner.recheck([2])).toBe(false);
  });

  it('answers two changes refused at once in a network removed meanwhile from one repair: both are sent again', async () => {
    const writes = (f: ReturnType<typeof fixture>) => [...f.a.events, ...f.b.events, ...f.lease.events];
    const alone = fixture();
    await alone.provisioner.ensure([2]);
    alone.a.net.clear();
    await alone.provisioner.recheck([2]);
    const f = fixture();
    await f.provisioner.ensure([2]);
    f.a.net.clear();
    const both = await Promise.all([f.provisioner.recheck([2]), f.provisioner.recheck([2])]);
    expect(both).toEqual([true, true]);
    expect(writes(f)).toEqual(writes(alone));
  });

  it('reports (and when asked repairs) a network that differs on a unit', async () => {
    const f = fixture();
    await f.provisioner.ensure([2]);
    f.b.net.clear();
    const drift = await f.provisioner.check([2], false);
    expect(drift).toEqual([
      { routeDomain: 2, unit: 'bigip-b', objects: ['create self-ip /Common/Project_self2_1'], foreign: [] },
    ]);
    await f.provisioner.check([2], true);
    expect(await f.provisioner.check([2], false)).toEqual([]);
  });
});
