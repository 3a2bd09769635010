import { describe, expect, it } from 'vitest';
import { planApply, scopeFor, scopeForRequests } from '../../../functions/domain/bigip-apply-plan.js';
import { type DeviceSnapshot, objectKey } from '../../../functions/domain/bigip-objects.js';
import { translate } from '../../../functions/domain/bigip-translation.js';
import { TreeBuilder } from '../../support/trees.js';

const env = 'Project';

/** A device that already has exactly the desired objects. */
function deviceWith(t: ReturnType<typeof translate>, keys?: Iterable<string>): DeviceSnapshot {
  const snapshot: DeviceSnapshot = { folderExists: true, objects: new Map(), poolMembers: new Map() };
  for (const key of keys ?? t.present.keys()) {
    const o = t.present.get(key);
    if (!o || o.kind === 'folder') continue;
    snapshot.objects.set(key, { ...o.attrs });
    if (o.kind === 'member') {
      const poolKey = `pool/${o.partition}/${o.pool}`;
      snapshot.poolMembers.set(poolKey, [...(snapshot.poolMembers.get(poolKey) ?? []), o]);
    }
  }
  for (const o of t.present.values()) {
    if (o.kind === 'pool' && !snapshot.poolMembers.has(objectKey(o)))
      snapshot.poolMembers.set(objectKey(o), []);
  }
  return snapshot;
}

/** The plan that deletes the builder's whole load balancer from the given device. */
function planLoadBalancerDelete(b: TreeBuilder, device: DeviceSnapshot) {
  b.status(b.root, 'PENDING_DELETE');
  const tree = b.tree();
  const t = translate(tree, { env });
  const scope = scopeFor(tree, t, {
    resource: 'loadbalancer',
    id: b.ids.loadbalancerId,
    operation: 'delete',
  });
  return planApply(t, scope, device);
}

describe('scopeFor', () => {
  it('reads only the pool (with its members) for a member change, however big the load balancer', () => {
    const b = new TreeBuilder();
    const pools = [b.pool(), b.pool(), b.pool()];
    for (const p of pools) for (let i = 0; i < 20; i++) b.member(p.id, { address: `10.0.${i}.1` });
    for (let i = 0; i < 5; i++) b.listener({ protocol_port: 80 + i });
    const target = b.member(pools[1]?.id as string, { address: '10.9.9.9' });
    const tree = b.tree();
    const scope = scopeFor(tree, translate(tree, { env }), {
      resource: 'member',
      id: target.id,
      operation: 'create',
    });
    expect(scope.reads).toEqual([
      { kind: 'pool', partition: `Project_${b.ids.tenantId}`, name: `Project_${pools[1]?.id}` },
    ]);
  });

  it('pulls in what an object references when that was never applied (a listener whose pool is still on its way)', () => {
    const b = new TreeBuilder();
    const listener = b.listener();
    const pool = b.pool({ listener_id: listener.id });
    b.healthmonitor(pool.id, { type: 'TCP' });
    b.root.appliedAt = 1;
    const tree = b.tree();
    const t = translate(tree, { env });
    const kinds = () =>
      scopeFor(tree, t, { resource: 'listener', id: listener.id, operation: 'create' })
        .reads.map((r) => r.kind)
        .sort();
    expect(kinds()).toEqual(['monitor', 'pool', 'virtual']);
    pool.appliedAt = 2;
    for (const hm of tree.healthmonitors) hm.appliedAt = 3;
    expect(kinds()).toEqual(['virtual']);
    delete b.root.appliedAt;
    // The load balancer is not on the device yet: its partition is read too (device-facts.md §3.2: a GET in a
    // missing partition may answer 404, so only the folder's own GET says whether it exists).
    expect(kinds()).toEqual(['folder', 'virtual', 'virtual-address']);
  });

  it('leaves a refused member out of its pool’s other changes (retried, it would fail them all)', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    const refused = b.member(pool.id, { address: '10.0.3.110' });
    b.status(refused, 'ERROR');
    const target = b.member(pool.id, { address: '10.0.3.111' });
    const tree = b.tree();
    const t = translate(tree, { env });
    const keyOf = (id: string) => [...t.owner.entries()].find(([, owner]) => owner === `member#${id}`)?.[0];
    const scope = scopeFor(tree, t, { resource: 'member', id: target.id, operation: 'create' });
    expect(scope.keys.has(keyOf(target.id) as string)).toBe(true);
    expect(scope.keys.has(keyOf(refused.id) as string)).toBe(false);
    // Named by its own request, it is retried.
    const own = scopeFor(tree, t, { resource: 'member', id: refused.id, operation: 'update' });
    expect(own.keys.has(keyOf(refused.id) as string)).toBe(true);
  });

  it('reads the monitor and its pool for a health monitor change', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    const hm = b.healthmonitor(pool.id, { type: 'TCP' });
    const tree = b.tree();
    const scope = scopeFor(tree, translate(tree, { env }), {
      resource: 'healthmonitor',
      id: hm.id,
      operation: 'create',
    });
    expect(scope.reads.map((r) => r.kind).sort()).toEqual(['monitor', 'pool']);
  });

  it('covers the whole load balancer for its creation or deletion', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    b.listener({ default_pool_id: pool.id });
    b.healthmonitor(pool.id);
    const tree = b.tree();
    const scope = scopeFor(tree, translate(tree, { env }), {
      resource: 'loadbalancer',
      id: b.ids.loadbalancerId,
      operation: 'create',
    });
    expect(scope.full).toBe(true);
    expect(scope.reads.map((r) => r.kind).sort()).toEqual([
      'folder',
      'monitor',
      'pool',
      'virtual',
      'virtual-address',
    ]);
  });

  it('reads a cookie profile only while a pool uses APP_COOKIE, or when a pool update may switch away from it', () => {
    const b = new TreeBuilder();
    const pool = b.pool({ session_persistence: { type: 'SOURCE_IP' } });
    const tree = b.tree();
    const t = translate(tree, { env });
    const kinds = (operation: 'create' | 'update') =>
      scopeFor(tree, t, { resource: 'pool', id: pool.id, operation }).reads.map((r) => r.kind);
    expect(kinds('create')).not.toContain('persistence-cookie');
    expect(kinds('update')).toContain('persistence-cookie');
  });
});

describe('planApply', () => {
  it('manages only its own iRules on a virtual server: an operator’s hand-attached one stays', () => {
    const b = new TreeBuilder();
    const proxy = b.pool({ protocol: 'PROXY' });
    const plain = b.pool({ protocol: 'HTTP' });
    const tcp = b.listener({ protocol: 'TCP', protocol_port: 1234, default_pool_id: proxy.id });
    const http = b.listener({ protocol: 'HTTP', protocol_port: 80, default_pool_id: plain.id });
    const tree = b.tree();
    const t = translate(tree, { env });
    const ours = `/${t.partition}/Project_${proxy.id}_proxy`;
    const operators = ['/Common/operator_logging', `/${t.partition}/hand_made`];
    const device = deviceWith(t);
    const vsKey = (id: string) => `virtual/${t.partition}/Project_${id}`;
    // The operator put an iRule before ours on one virtual, and one on the virtual without a PROXY pool.
    device.objects.set(vsKey(tcp.id), {
      ...device.objects.get(vsKey(tcp.id)),
      rules: [operators[0], ours],
    });
    device.objects.set(vsKey(http.id), { ...device.objects.get(vsKey(http.id)), rules: [operators[1]] });
    const full = scopeFor(tree, t, { resource: 'loadbalancer', id: b.ids.loadbalancerId, operation: 'sync' });
    expect(planApply(t, full, device).commands).toEqual([]);

    // The PROXY pool goes: our iRule leaves the virtual, the operator's stays.
    b.status(proxy, 'PENDING_DELETE');
    const gone = b.tree();
    const after = translate(gone, { env });
    const scope = scopeFor(gone, after, { resource: 'pool', id: proxy.id, operation: 'delete' });
    const update = planApply(after, scope, device).commands.find(
      (c) => c.op === 'update' && c.object.kind === 'virtual' && c.object.name === `Project_${tcp.id}`,
    );
    expect(update).toMatchObject({ changes: { rules: [operators[0]] } });
  });

  it('plans nothing when the device already matches (re-applying an unchanged tree writes nothing)', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    b.listener({ default_pool_id: pool.id });
    b.member(pool.id);
    b.healthmonitor(pool.id);
    const tree = b.tree();
    const t = translate(tree, { env });
    const scope = scopeFor(tree, t, {
      resource: 'loadbalancer',
      id: b.ids.loadbalancerId,
      operation: 'sync',
    });
    const plan = planApply(t, scope, deviceWith(t));
    expect(plan).toEqual({
      createFolder: false,
      commands: [],
      atomic: false,
      nodeCleanup: [],
      removeFolder: false,
    });
  });

  it('creates a new tenant partition first and everything else in dependency order', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    b.listener({ default_pool_id: pool.id });
    b.member(pool.id);
    b.healthmonitor(pool.id);
    const tree = b.tree();
    const t = translate(tree, { env });
    const scope = scopeFor(tree, t, {
      resource: 'loadbalancer',
      id: b.ids.loadbalancerId,
      operation: 'create',
    });
    const plan = planApply(t, scope, { folderExists: false, objects: new Map(), poolMembers: new Map() });
    expect(plan.createFolder).toBe(true);
    expect(plan.atomic).toBe(true);
    expect(plan.commands.map((c) => `${c.op} ${c.object.kind}`)).toEqual([
      'create monitor',
      'create pool',
      'create member',
      'create virtual-address',
      'create virtual',
    ]);
  });

  it('removes a member’s own monitor once the member lets go of it (its alternate target cleared), and with its pool', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    b.healthmonitor(pool.id);
    const member = b.member(pool.id, { monitor_address: '10.0.9.9', monitor_port: 8081 });
    const applied = translate(b.tree(), { env });
    const device = deviceWith(applied);
    const own = `/${applied.partition}/Project_${member.id}`;
    expect([...device.poolMembers.values()].flat()[0]?.attrs.monitor).toBe(own);

    delete (member.desired as { monitor_address?: string }).monitor_address;
    delete (member.desired as { monitor_port?: number }).monitor_port;
    b.status(member, 'PENDING_UPDATE');
    let tree = b.tree();
    let t = translate(tree, { env });
    const cleared = planApply(
      t,
      scopeFor(tree, t, { resource: 'member', id: member.id, operation: 'update' }),
      device,
    );
    expect(cleared.commands.map((c) => `${c.op} ${c.object.kind} ${c.object.name}`)).toEqual([
      `update member ${(member.desired as { address: string }).address}:${(member.desired as { protocol_port: number }).protocol_port}`,
      `delete monitor Project_${member.id}`,
    ]);
    expect(cleared.commands[0]).toMatchObject({ changes: { monitor: 'default' } });

    (member.desired as { monitor_address?: string }).monitor_address = '10.0.9.9';
    b.status(member, 'ACTIVE').status(pool, 'PENDING_DELETE');
    tree = b.tree();
    t = translate(tree, { env });
    const gone = planApply(
      t,
      scopeFor(tree, t, { resource: 'pool', id: pool.id, operation: 'delete' }),
      device,
    );
    expect(gone.commands.map((c) => `${c.op} ${c.object.kind}`)).toEqual([
      'delete pool',
      'delete monitor',
      'delete monitor',
    ]);
    expect(gone.commands.map((c) => c.object.name)).toContain(`Project_${member.id}`);
  });

  it('updates only the attributes that differ', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    const member = b.member(pool.id, { weight: 1 });
    const tree = b.tree();
    const t = translate(tree, { env });
    const device = deviceWith(t);
    (member.desired as { weight: number }).weight = 4;
    const t2 = translate(b.tree(), { env });
    const plan = planApply(
      t2,
      scopeFor(b.tree(), t2, { resource: 'member', id: member.id, operation: 'update' }),
      device,
    );
    expect(
      plan.commands.map((c) => [c.op, c.object.kind, c.op === 'update' ? c.changes : undefined]),
    ).toEqual([
      ['update', 'pool', { loadBalancingMode: 'ratio-member' }],
      ['update', 'member', { ratio: 4 }],
    ]);
  });

  it('dereferences before it deletes: pool off the virtual server, then the pool', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    b.listener({ default_pool_id: pool.id });
    b.member(pool.id, { address: '10.0.0.7' });
    const tree = b.tree();
    const device = deviceWith(translate(tree, { env }));
    b.status(pool, 'PENDING_DELETE');
    const t = translate(b.tree(), { env });
    const plan = planApply(
      t,
      scopeFor(b.tree(), t, { resource: 'pool', id: pool.id, operation: 'delete' }),
      device,
    );
    expect(plan.commands.map((c) => `${c.op} ${c.object.kind}`)).toEqual(['update virtual', 'delete pool']);
    expect(plan.atomic).toBe(true);
    // Nodes are shared by tenants in /Common; the device refuses the delete while anyone uses one.
    expect(plan.nodeCleanup).toEqual(['/Common/10.0.0.7']);
  });

  it('cleans the node again on a retry whose member delete already committed (found by the long soak)', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    const member = b.member(pool.id, { address: '10.0.0.9' });
    const t0 = translate(b.tree(), { env });
    // The member's delete committed; the node delete after it did not. The device has the pool only.
    const device = deviceWith(
      t0,
      [...t0.present.keys()].filter((k) => t0.present.get(k)?.kind !== 'member'),
    );
    b.status(member, 'PENDING_DELETE');
    const t = translate(b.tree(), { env });
    const plan = planApply(
      t,
      scopeFor(b.tree(), t, { resource: 'member', id: member.id, operation: 'delete' }),
      device,
    );
    expect(plan.commands).toEqual([]);
    expect(plan.nodeCleanup).toEqual(['/Common/10.0.0.9']);
  });

  it('deletes a whole load balancer without a transaction and removes nodes and the partition after', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    b.listener({ default_pool_id: pool.id });
    b.member(pool.id, { address: '10.0.0.8' });
    const device = deviceWith(translate(b.tree(), { env }));
    const plan = planLoadBalancerDelete(b, device);
    expect(plan.commands.map((c) => `${c.op} ${c.object.kind}`)).toEqual([
      'delete virtual',
      'delete virtual-address',
      'delete pool',
    ]);
    expect(plan.atomic).toBe(false);
    expect(plan.nodeCleanup).toEqual(['/Common/10.0.0.8']);
    expect(plan.removeFolder).toBe(true);
  });

  it('cleans the nodes of a deleted pool’s members on a retry that finds the pool already gone (found by the long soak)', () => {
    // The load balancer's pool was deleted (its members with it) and that reached the unit that took
    // over after a failover; the node deletes after it did not. The retry there finds no pool.
    const b = new TreeBuilder();
    const pool = b.pool();
    b.listener({ default_pool_id: pool.id });
    b.member(pool.id, { address: '10.0.0.21' });
    b.member(pool.id, { address: '10.0.0.22', protocol_port: 8443 });
    const before = translate(b.tree(), { env });
    const device = deviceWith(
      before,
      [...before.present.keys()].filter(
        (k) => !['pool', 'member'].includes(before.present.get(k)?.kind ?? ''),
      ),
    );
    device.poolMembers.clear();
    const plan = planLoadBalancerDelete(b, device);
    expect(plan.commands.map((c) => `${c.op} ${c.object.kind}`)).toEqual([
      'delete virtual',
      'delete virtual-address',
    ]);
    expect(plan.nodeCleanup).toEqual(['/Common/10.0.0.21', '/Common/10.0.0.22']);
  });

  it('cleans the node of a member whose delete committed before its retry came with the load balancer’s delete (found by the long soak)', () => {
    // The member's delete committed and its node delete did not (a reset after the commit); its retry
    // then came in one change with the load balancer's delete. The device has the pool without it.
    const b = new TreeBuilder();
    const pool = b.pool();
    b.listener({ default_pool_id: pool.id });
    b.member(pool.id, { address: '10.0.0.21' });
    const gone = b.member(pool.id, { address: '10.0.0.22', protocol_port: 8443 });
    const before = translate(b.tree(), { env });
    const device = deviceWith(
      before,
      [...before.present.keys()].filter((k) => !k.includes('10.0.0.22')),
    );
    b.status(gone, 'PENDING_DELETE');
    b.status(b.root, 'PENDING_DELETE');
    const tree = b.tree();
    const t = translate(tree, { env });
    const scope = scopeForRequests(tree, t, [
      { resource: 'member', id: gone.id, operation: 'delete' },
      { resource: 'loadbalancer', id: b.ids.loadbalancerId, operation: 'delete' },
    ]);
    const plan = planApply(t, scope, device);
    expect(plan.commands.map((c) => `${c.op} ${c.object.kind}`)).toContain('delete pool');
    expect(plan.nodeCleanup).toEqual(['/Common/10.0.0.21', '/Common/10.0.0.22']);
  });

  it('deletes an APP_COOKIE pool’s cookie profile with its load balancer (found by the convergence property)', () => {
    const b = new TreeBuilder();
    const pool = b.pool({ session_persistence: { type: 'APP_COOKIE', cookie_name: 'SID' } });
    b.listener({ default_pool_id: pool.id });
    const device = deviceWith(translate(b.tree(), { env }));
    const plan = planLoadBalancerDelete(b, device);
    expect(plan.commands.map((c) => `${c.op} ${c.object.kind}`)).toContain('delete persistence-cookie');
  });

  it('removes members the device has but the tree does not (drift), and their nodes', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    const member = b.member(pool.id, { address: '10.0.0.1' });
    const tree = b.tree();
    const t = translate(tree, { env });
    const device = deviceWith(t);
    const stray = {
      kind: 'member' as const,
      partition: t.partition,
      pool: `Project_${pool.id}`,
      name: '10.6.6.6:80',
      attrs: { address: '10.6.6.6' },
    };
    device.poolMembers.get(`pool/${t.partition}/Project_${pool.id}`)?.push(stray);
    device.objects.set(objectKey(stray), stray.attrs);
    const plan = planApply(
      t,
      scopeFor(tree, t, { resource: 'member', id: member.id, operation: 'update' }),
      device,
    );
    expect(plan.commands.map((c) => `${c.op} ${c.object.name}`)).toEqual(['delete 10.6.6.6:80']);
    // A member made by hand (or by the upstream agent) has its node in its own partition.
    expect(plan.nodeCleanup).toEqual([`/${t.partition}/10.6.6.6`]);
  });

  it('compares a destination the device reads back through the virtual address name (§1.1)', () => {
    const b = new TreeBuilder();
    const listener = b.listener({ protocol_port: 443 });
    const tree = b.tree();
    const t = translate(tree, { env });
    const device = deviceWith(t);
    const vsKey = [...t.present.keys()].find((k) => k.startsWith('virtual/')) as string;
    // What a real device answers: `/<partition>/<virtual address name>:<port>`.
    device.objects.set(vsKey, {
      ...device.objects.get(vsKey),
      destination: `/${t.partition}/Project_${b.ids.loadbalancerId}:443`,
    });
    const unchanged = planApply(
      t,
      scopeFor(tree, t, { resource: 'listener', id: listener.id, operation: 'update' }),
      device,
    );
    expect(unchanged.commands).toEqual([]);
    // A destination on another port is a real change.
    device.objects.set(vsKey, {
      ...device.objects.get(vsKey),
      destination: `/${t.partition}/Project_${b.ids.loadbalancerId}:80`,
    });
    const moved = planApply(
      t,
      scopeFor(tree, t, { resource: 'listener', id: listener.id, operation: 'update' }),
      device,
    );
    expect(moved.commands.map((c) => c.op)).toEqual(['update']);
  });

  it('updates and deletes a member where the device has it (its node in the tenant partition, F5’s agent’s)', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    b.member(pool.id, { address: '10.0.3.110', weight: 3 });
    const gone = b.member(pool.id, { address: '10.0.3.111' });
    b.status(gone, 'PENDING_DELETE');
    const tree = b.tree();
    const t = translate(tree, { env });
    const P = t.partition;
    const device = deviceWith(t);
    const poolKey = objectKey({ kind: 'pool', partition: P, name: `Project_${pool.id}` });
    const onDevice = [...t.present.values(), ...t.absent.values()]
      .filter((o) => o.kind === 'member')
      .map((m) => ({
        ...m,
        nodePartition: P,
        attrs: { ...m.attrs, address: m.name.split(':')[0], ratio: 1 },
      }));
    device.poolMembers.set(poolKey, onDevice);
    for (const m of onDevice) device.objects.set(objectKey(m), m.attrs);
    const scope = scopeFor(tree, t, { resource: 'pool', id: pool.id, operation: 'update' });
    const plan = planApply(t, scope, device);
    expect(plan.commands.map((c) => `${c.op} ${c.object.name} ${c.object.nodePartition}`)).toEqual([
      `update 10.0.3.110:8080 ${P}`,
      `delete 10.0.3.111:8080 ${P}`,
    ]);
    expect(plan.nodeCleanup).toEqual([`/${P}/10.0.3.111`]);
  });

  it('keeps a node that a surviving member of the load balancer still uses', () => {
    const b = new TreeBuilder();
    const [a, c] = [b.pool(), b.pool()];
    const gone = b.member(a.id, { address: '10.0.0.9', protocol_port: 80 });
    b.member(c.id, { address: '10.0.0.9', protocol_port: 81 });
    const t0 = translate(b.tree(), { env });
    const device = deviceWith(t0);
    b.status(gone, 'PENDING_DELETE');
    const tree = b.tree();
    const t = translate(tree, { env });
    const plan = planApply(
      t,
      scopeFor(tree, t, { resource: 'member', id: gone.id, operation: 'delete' }),
      device,
    );
    expect(plan.commands.map((c) => `${c.op} ${c.object.kind}`)).toEqual(['delete member']);
    expect(plan.nodeCleanup).toEqual([]);
  });

  describe('member lists', () => {
    it('writes a pool’s whole member list once when many members change, and still cleans their nodes', () => {
      const b = new TreeBuilder();
      const pool = b.pool();
      const kept = b.member(pool.id, { address: '10.0.0.1' });
      const gone = b.member(pool.id, { address: '10.0.0.2' });
      const before = translate(b.tree(), { env });
      const device = deviceWith(before);
      b.status(gone, 'PENDING_DELETE');
      const added = [b.member(pool.id, { address: '10.0.1.1' }), b.member(pool.id, { address: '10.0.1.2' })];
      const tree = b.tree();
      const t = translate(tree, { env });
      const plan = planApply(
        t,
        scopeFor(tree, t, { resource: 'member', id: added[0]?.id as string, operation: 'create' }),
        device,
      );
      expect(plan.commands).toHaveLength(1);
      const [list] = plan.commands;
      expect(list?.op).toBe('replace-members');
      // Built from the inputs: the addresses the pool should have, not the plan's own translation.
      const listed = list?.op === 'replace-members' ? list.members.map((m) => m.attrs.address).sort() : [];
      expect(listed).toEqual(['10.0.0.1', '10.0.1.1', '10.0.1.2']);
      expect(kept.id).toBeDefined();
      expect(plan.nodeCleanup).toEqual(['/Common/10.0.0.2']);
      expect(plan.atomic).toBe(false);
    });

    it('keeps member commands below the threshold, and orders a list after its new pool', () => {
      const b = new TreeBuilder();
      const pool = b.pool();
      const m = [b.member(pool.id, { address: '10.0.0.1' }), b.member(pool.id, { address: '10.0.0.2' })];
      const tree = b.tree();
      const t = translate(tree, { env });
      const few = planApply(
        t,
        scopeFor(tree, t, { resource: 'member', id: m[0]?.id as string, operation: 'create' }),
        deviceWith(
          t,
          [...t.present.keys()].filter((k) => !k.startsWith('member')),
        ),
      );
      expect(few.commands.map((c) => c.op)).toEqual(['create', 'create']);

      b.member(pool.id, { address: '10.0.0.3' });
      const tree2 = b.tree();
      const t2 = translate(tree2, { env });
      const fresh = planApply(
        t2,
        scopeFor(tree2, t2, { resource: 'pool', id: pool.id, operation: 'create' }),
        { folderExists: true, objects: new Map(), poolMembers: new Map() },
      );
      expect(fresh.commands.map((c) => `${c.op} ${c.object.kind}`)).toEqual([
        'create pool',
        'replace-members pool',
      ]);
    });

    it('never writes a list that would drop a desired member left out of scope', () => {
      const b = new TreeBuilder();
      const pool = b.pool();
      const outside = b.member(pool.id, { address: '10.0.0.9' });
      const added = [1, 2, 3].map((i) => b.member(pool.id, { address: `10.0.1.${i}` }));
      const tree = b.tree();
      const t = translate(tree, { env });
      const scope = scopeFor(tree, t, {
        resource: 'member',
        id: added[0]?.id as string,
        operation: 'create',
      });
      const device = deviceWith(t, [`pool/${t.partition}/Project_${pool.id}`]);
      expect(planApply(t, scope, device).commands.map((c) => c.op)).toEqual(['replace-members']);
      const outsideKey = [...scope.keys].find((k) => t.owner.get(k) === `member#${outside.id}`) as string;
      expect(outsideKey).toBeDefined();
      scope.keys.delete(outsideKey);
      expect(planApply(t, scope, device).commands.map((c) => c.op)).toEqual(['create', 'create', 'create']);
    });
  });
});
