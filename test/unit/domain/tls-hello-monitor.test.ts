import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { planApply, scopeFor } from '../../../functions/domain/bigip-apply-plan.js';
import { type DeviceSnapshot, objectKey } from '../../../functions/domain/bigip-objects.js';
import { translate } from '../../../functions/domain/bigip-translation.js';
import { isOurName } from '../../../functions/domain/reconcile-plan.js';
import { TLS_HELLO_PROGRAM } from '../../../functions/domain/tls-hello-program.js';
import { TreeBuilder } from '../../support/trees.js';

const env = 'Project';

/** A device holding exactly the given objects of a translation (all of them by default). */
function deviceWith(t: ReturnType<typeof translate>, skip: (kind: string) => boolean = () => false) {
  const snapshot: DeviceSnapshot = { folderExists: true, objects: new Map(), poolMembers: new Map() };
  for (const [key, o] of t.present) {
    if (o.kind === 'folder' || skip(o.kind)) continue;
    snapshot.objects.set(key, { ...o.attrs });
    if (o.kind === 'pool') snapshot.poolMembers.set(key, []);
  }
  return snapshot;
}

function lbWithTlsHello() {
  const b = new TreeBuilder();
  const pool = b.pool({ protocol: 'HTTPS' });
  b.listener({ protocol: 'HTTPS', default_pool_id: pool.id });
  const hm = b.healthmonitor(pool.id, {
    type: 'TLS-HELLO',
    delay: 10,
    timeout: 4,
    max_retries: 3,
    name: 'tls',
  });
  return { b, pool, hm };
}

describe('TLS-HELLO → an external monitor running our program', () => {
  it('translates the monitor to ltm monitor external naming the load balancer’s program, with the usual timing', () => {
    const { b, hm } = lbWithTlsHello();
    const t = translate(b.tree(), { env });
    const partition = `Project_${b.ids.tenantId}`;
    const programName = `Project_${b.ids.loadbalancerId}_tls_hello`;
    const monitor = [...t.present.values()].find((o) => o.kind === 'monitor');
    // Timing as for every type: interval = delay, timeout = retries × timeout (at least delay + 1).
    expect(monitor).toEqual({
      kind: 'monitor',
      partition,
      name: `Project_${hm.id}`,
      monitorType: 'external',
      attrs: { interval: 10, timeout: 12, description: 'tls', run: `/${partition}/${programName}` },
    });
    const program = [...t.present.values()].find((o) => o.kind === 'monitor-program');
    const bytes = Buffer.from(TLS_HELLO_PROGRAM, 'utf8');
    expect(program).toMatchObject({
      name: programName,
      partition,
      content: TLS_HELLO_PROGRAM,
      attrs: { checksum: `SHA1:${bytes.length}:${createHash('sha1').update(bytes).digest('hex')}` },
    });
    expect(t.owner.get(objectKey(program as never))).toBe(`healthmonitor#${hm.id}`);
  });

  it('has no program when no monitor is TLS-HELLO', () => {
    const b = new TreeBuilder();
    b.healthmonitor(b.pool().id, { type: 'TCP' });
    const t = translate(b.tree(), { env });
    expect([...t.present.values(), ...t.absent.values()].filter((o) => o.kind === 'monitor-program')).toEqual(
      [],
    );
  });

  it('keeps the program while another TLS-HELLO monitor of the load balancer lives, removes it with the last', () => {
    const { b, hm } = lbWithTlsHello();
    const second = b.healthmonitor(b.pool({ protocol: 'HTTPS' }).id, { type: 'TLS-HELLO' });
    b.status(hm, 'PENDING_DELETE');
    const one = translate(b.tree(), { env });
    const kinds = (m: Map<string, { kind: string }>) => [...m.values()].map((o) => o.kind);
    expect(kinds(one.present)).toContain('monitor-program');
    b.status(second, 'PENDING_DELETE');
    const none = translate(b.tree(), { env });
    expect(kinds(none.present)).not.toContain('monitor-program');
    expect(kinds(none.absent)).toContain('monitor-program');
  });

  it('plans the program before the monitor, nothing on a second apply, and removes it after the monitor', () => {
    const { b, hm } = lbWithTlsHello();
    b.status(hm, 'PENDING_CREATE');
    const tree = b.tree();
    const t = translate(tree, { env });
    const scope = scopeFor(tree, t, { resource: 'healthmonitor', id: hm.id, operation: 'create' });
    expect(scope.reads.map((r) => r.kind).sort()).toEqual(['monitor', 'monitor-program', 'pool']);
    // The pool is on the device already; the monitor and its program are not.
    const before = deviceWith(t, (kind) => kind === 'monitor' || kind === 'monitor-program');
    for (const [key, o] of t.present)
      if (o.kind === 'pool') before.objects.set(key, { ...o.attrs, monitor: '' });
    const create = planApply(t, scope, before);
    expect(create.commands.map((c) => `${c.op} ${c.object.kind}`)).toEqual([
      'create monitor-program',
      'create monitor',
      'update pool',
    ]);
    expect(planApply(t, scope, deviceWith(t)).commands).toEqual([]);

    b.status(hm, 'PENDING_DELETE');
    const gone = b.tree();
    const after = translate(gone, { env });
    const del = planApply(
      after,
      scopeFor(gone, after, { resource: 'healthmonitor', id: hm.id, operation: 'delete' }),
      deviceWith(t),
    );
    expect(del.commands.map((c) => `${c.op} ${c.object.kind}`)).toEqual([
      'update pool',
      'delete monitor',
      'delete monitor-program',
    ]);
  });

  it('repairs a program changed on the device (its checksum differs): one update, the monitor untouched', () => {
    const { b } = lbWithTlsHello();
    const tree = b.tree();
    const t = translate(tree, { env });
    const device = deviceWith(t);
    const programKey = [...t.present].find(([, o]) => o.kind === 'monitor-program')?.[0] as string;
    device.objects.set(programKey, { checksum: 'SHA1:12:0123456789abcdef0123456789abcdef01234567' });
    const sync = scopeFor(tree, t, { resource: 'loadbalancer', id: b.ids.loadbalancerId, operation: 'sync' });
    const plan = planApply(t, sync, device);
    expect(plan.commands).toHaveLength(1);
    expect(plan.commands[0]).toMatchObject({
      op: 'update',
      object: { kind: 'monitor-program', content: TLS_HELLO_PROGRAM },
      changes: { checksum: t.present.get(programKey)?.attrs.checksum },
    });
  });

  it('takes only our own program names for orphans, never an operator’s file', () => {
    const id = '0b0e8a1c-2d5f-4c1a-9b7e-3f6a5d4c2b1a';
    expect(isOurName('Project', `Project_${id}_tls_hello`)).toBe(true);
    expect(isOurName('Project', 'tls_hello')).toBe(false);
    expect(isOurName('Project', `Project_${id}_tls_hello.sh`)).toBe(false);
  });
});
