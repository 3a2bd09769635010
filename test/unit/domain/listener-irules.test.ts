import { describe, expect, it } from 'vitest';
import { planApply, scopeFor } from '../../../functions/domain/bigip-apply-plan.js';
import { type BigIpObject, type DeviceSnapshot, objectKey } from '../../../functions/domain/bigip-objects.js';
import { translate } from '../../../functions/domain/bigip-translation.js';
import { TreeBuilder } from '../../support/trees.js';

const env = 'Project';
const rules = (t: ReturnType<typeof translate>, where: 'present' | 'absent') =>
  [...t[where].values()].filter((o) => o.kind === 'rule').map((o) => o.name);
const virtualOf = (t: ReturnType<typeof translate>) =>
  [...t.present.values()].find((o) => o.kind === 'virtual') as BigIpObject;

describe('a listener’s allowed_cidrs: an iRule of its own on its virtual server', () => {
  it('puts the CIDRs in an iRule the listener’s virtual runs, and removes it once the list is emptied', () => {
    const b = new TreeBuilder();
    const listener = b.listener({ protocol: 'TCP', allowed_cidrs: ['192.0.2.0/24', '198.51.100.7/32'] });
    const t = translate(b.tree(), { env });
    const name = `Project_${listener.id}_cidrs`;
    expect(rules(t, 'present')).toEqual([name]);
    const text = String(t.present.get(`rule/${t.partition}/${name}`)?.attrs.apiAnonymous ?? '');
    expect(text).toContain('[IP::addr [IP::client_addr] equals 192.0.2.0/24]');
    expect(text).toContain('[IP::addr [IP::client_addr] equals 198.51.100.7/32]');
    expect(virtualOf(t).attrs.rules).toEqual([`/${t.partition}/${name}`]);
    expect(t.owner.get(`rule/${t.partition}/${name}`)).toBe(`listener#${listener.id}`);

    (listener.desired as { allowed_cidrs: string[] }).allowed_cidrs = [];
    const cleared = translate(b.tree(), { env });
    expect(rules(cleared, 'present')).toEqual([]);
    expect(rules(cleared, 'absent')).toEqual([name]);
    expect(virtualOf(cleared).attrs.rules).toEqual([]);
  });

  it('leaves a listener that never had CIDRs (or L7 policies) without a rules attribute', () => {
    const b = new TreeBuilder();
    b.listener({ protocol: 'HTTP' });
    const t = translate(b.tree(), { env });
    expect('rules' in virtualOf(t).attrs).toBe(false);
    expect(rules(t, 'absent')).toEqual([]);
  });

  it('keeps an operator’s hand-attached iRule on the virtual while changing its own', () => {
    const b = new TreeBuilder();
    const listener = b.listener({ protocol: 'HTTP', allowed_cidrs: ['10.1.0.0/16'] });
    for (const r of [b.root, listener]) r.appliedAt = 1;
    const tree = b.tree();
    const t = translate(tree, { env });
    const vs = virtualOf(t);
    const snapshot: DeviceSnapshot = { folderExists: true, objects: new Map(), poolMembers: new Map() };
    snapshot.objects.set(objectKey(vs), { ...vs.attrs, rules: ['/Common/operator_rule'] });
    const scope = scopeFor(tree, t, { resource: 'listener', id: listener.id, operation: 'update' });
    const update = planApply(t, scope, snapshot).commands.find(
      (c) => c.op === 'update' && c.object.kind === 'virtual',
    );
    expect(update?.op === 'update' && update.changes.rules).toEqual([
      '/Common/operator_rule',
      `/${t.partition}/Project_${listener.id}_cidrs`,
    ]);
  });
});

describe('L7 policies with a REGEX rule: the listener’s routing as one iRule', () => {
  it('moves every policy of the listener into its iRule, in order, and keeps only the header inserts in the LTM policy', () => {
    const b = new TreeBuilder();
    const web = b.pool();
    const api = b.pool();
    const listener = b.listener({
      protocol: 'HTTP',
      default_pool_id: web.id,
      insert_headers: { 'X-Forwarded-For': 'true' },
    });
    const toApi = b.l7policy(listener.id, { action: 'REDIRECT_TO_POOL', redirect_pool_id: api.id });
    const reject = b.l7policy(listener.id, { action: 'REJECT', position: 1 });
    // Mixed in one policy: a REGEX and an EQUAL_TO, both must match.
    b.l7rule(toApi.id, { type: 'PATH', compare_type: 'REGEX', value: '^/api/v[0-9]+/' });
    b.l7rule(toApi.id, { type: 'HEADER', key: 'X-Env', compare_type: 'EQUAL_TO', value: 'prod' });
    b.l7rule(reject.id, { type: 'HOST_NAME', compare_type: 'ENDS_WITH', value: '.blocked.example' });
    const t = translate(b.tree(), { env });
    const P = t.partition;
    const name = `Project_${listener.id}_l7`;
    expect(rules(t, 'present')).toEqual([name]);
    expect(virtualOf(t).attrs.rules).toEqual([`/${P}/${name}`]);
    const text = String(t.present.get(`rule/${P}/${name}`)?.attrs.apiAnonymous);
    // Octavia's order: REJECT (position 1) first, then the pool; the default pool for the rest.
    const lines = text.split('\n');
    expect(lines.findIndex((l) => l.includes('reject'))).toBeLessThan(
      lines.findIndex((l) => l.includes(`pool /${P}/Project_${api.id}`)),
    );
    expect(lines.at(-3)).toBe(`    pool /${P}/Project_${web.id}`);
    expect(text).toContain(
      '[regexp -- "\\u005e\\u002fapi\\u002fv\\u005b0\\u002d9\\u005d\\u002b\\u002f" [HTTP::path]] && [string equal [HTTP::header value "X\\u002dEnv"] "prod"]',
    );
    const policy = [...t.present.values()].find((o) => o.kind === 'ltm-policy');
    expect(((policy?.attrs.rules ?? []) as { name: string }[]).map((r) => r.name)).toEqual([
      'insert_headers',
    ]);
  });

  it('goes back to the LTM policy, and removes the iRule, once no enabled rule is a REGEX', () => {
    const b = new TreeBuilder();
    const listener = b.listener({ protocol: 'HTTP' });
    const p = b.l7policy(listener.id, { action: 'REJECT' });
    const regex = b.l7rule(p.id, { type: 'PATH', compare_type: 'REGEX', value: '\\.php$' });
    b.l7rule(p.id, { type: 'PATH', compare_type: 'STARTS_WITH', value: '/admin' });
    expect(rules(translate(b.tree(), { env }), 'present')).toEqual([`Project_${listener.id}_l7`]);
    (regex.desired as { admin_state_up: boolean }).admin_state_up = false;
    const t = translate(b.tree(), { env });
    expect(rules(t, 'present')).toEqual([]);
    expect(rules(t, 'absent')).toEqual([`Project_${listener.id}_l7`]);
    const policy = [...t.present.values()].find((o) => o.kind === 'ltm-policy');
    expect(((policy?.attrs.rules ?? []) as { name: string }[]).map((r) => r.name)).toEqual([
      `l7policy_${p.id}`,
    ]);
    expect(virtualOf(t).attrs.rules).toEqual([]);
  });

  it('removes the listener’s iRules with the listener', () => {
    const b = new TreeBuilder();
    const listener = b.listener({ protocol: 'HTTP', allowed_cidrs: ['10.0.0.0/8'] });
    const p = b.l7policy(listener.id, { action: 'REJECT' });
    b.l7rule(p.id, { type: 'PATH', compare_type: 'REGEX', value: 'x' });
    b.status(listener, 'PENDING_DELETE');
    const t = translate(b.tree(), { env });
    expect(rules(t, 'absent').sort()).toEqual([`Project_${listener.id}_cidrs`, `Project_${listener.id}_l7`]);
  });
});

describe('a listener’s idle timeout: a TCP profile of its own', () => {
  it('replaces /Common/tcp (or fastL4) with the listener’s own profile, and removes it when reset', () => {
    const b = new TreeBuilder();
    const http = b.listener({ protocol: 'HTTP', idle_timeout_ms: 90_000 });
    const tcp = b.listener({ protocol: 'TCP', protocol_port: 5432, idle_timeout_ms: 0 });
    const t = translate(b.tree(), { env });
    const P = t.partition;
    const profile = (id: string) => t.present.get(`tcp-profile/${P}/Project_${id}_tcp`);
    expect(profile(http.id)?.attrs).toEqual({ defaultsFrom: '/Common/tcp', idleTimeout: 90 });
    expect(profile(tcp.id)?.attrs).toEqual({ defaultsFrom: '/Common/tcp', idleTimeout: 0 });
    expect(t.owner.get(`tcp-profile/${P}/Project_${http.id}_tcp`)).toBe(`listener#${http.id}`);
    const vs = (id: string) => t.present.get(`virtual/${P}/Project_${id}`)?.attrs.profiles;
    expect(vs(http.id)).toEqual(['/Common/http', '/Common/oneconnect', `/${P}/Project_${http.id}_tcp`]);
    expect(vs(tcp.id)).toEqual([`/${P}/Project_${tcp.id}_tcp`]);

    (http.desired as { idle_timeout_ms: number | null }).idle_timeout_ms = null;
    const reset = translate(b.tree(), { env });
    expect(reset.absent.has(`tcp-profile/${P}/Project_${http.id}_tcp`)).toBe(true);
    expect(reset.present.get(`virtual/${P}/Project_${http.id}`)?.attrs.profiles).toEqual([
      '/Common/http',
      '/Common/oneconnect',
      '/Common/tcp',
    ]);
  });
});

describe('the L7 iRule’s pools in an apply’s scope', () => {
  it('brings a redirect pool not yet on the device into the change that writes the iRule naming it', () => {
    const b = new TreeBuilder();
    const api = b.pool();
    const listener = b.listener({ protocol: 'HTTP' });
    const policy = b.l7policy(listener.id, { action: 'REDIRECT_TO_POOL', redirect_pool_id: api.id });
    const rule = b.l7rule(policy.id, { type: 'PATH', compare_type: 'REGEX', value: '^/api' });
    for (const r of [b.root, listener]) r.appliedAt = 1;
    const tree = b.tree();
    const t = translate(tree, { env });
    const scope = scopeFor(tree, t, { resource: 'l7rule', id: rule.id, operation: 'create' });
    expect([...scope.keys]).toContain(`pool/${t.partition}/Project_${api.id}`);
    // Applied already, the pool is left out (nothing to write for it).
    api.appliedAt = 1;
    const again = scopeFor(b.tree(), translate(b.tree(), { env }), {
      resource: 'l7rule',
      id: rule.id,
      operation: 'create',
    });
    expect([...again.keys]).not.toContain(`pool/${t.partition}/Project_${api.id}`);
  });
});
