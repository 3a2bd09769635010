import { describe, expect, it } from 'vitest';
import { planApply, scopeFor } from '../../../functions/domain/bigip-apply-plan.js';
import type { BigIpObject, DeviceSnapshot } from '../../../functions/domain/bigip-objects.js';
import { objectKey } from '../../../functions/domain/bigip-objects.js';
import { translate } from '../../../functions/domain/bigip-translation.js';
import { TreeBuilder } from '../../support/trees.js';

const env = 'Project';
const of = (objects: Map<string, BigIpObject>, kind: string) =>
  [...objects.values()].filter((o) => o.kind === kind);

/**
 * Expected bodies are written out from F5's agent's documented wire format (its adapter tests:
 * `httpUri`+`path`+`startsWith`, `httpHeader`+`tmName`, `forward`+`reset`, `httpReply`+`redirect`
 * +`location`; peer-features.md §2.1), never produced by the translation itself.
 */
describe('translate: L7 policies → one LTM policy per listener', () => {
  it('maps each policy to a rule in list order, each rule to a condition, with the action', () => {
    const b = new TreeBuilder();
    const listener = b.listener({ protocol: 'HTTP' });
    const pool = b.pool();
    const toPool = b.l7policy(listener.id, { action: 'REDIRECT_TO_POOL', redirect_pool_id: pool.id });
    const reject = b.l7policy(listener.id, { action: 'REJECT', position: 1 });
    const redirect = b.l7policy(listener.id, {
      action: 'REDIRECT_PREFIX',
      redirect_prefix: 'https://www.example.com',
      redirect_http_code: 301,
    });
    b.l7rule(toPool.id, { type: 'HOST_NAME', compare_type: 'EQUAL_TO', value: 'api.example.com' });
    b.l7rule(toPool.id, { type: 'HEADER', key: 'X-Version', compare_type: 'CONTAINS', value: 'v2' });
    b.l7rule(reject.id, { type: 'PATH', compare_type: 'STARTS_WITH', value: '/admin', invert: true });
    b.l7rule(redirect.id, { type: 'COOKIE', key: 'beta', compare_type: 'ENDS_WITH', value: 'yes' });
    b.l7rule(redirect.id, { type: 'FILE_TYPE', compare_type: 'EQUAL_TO', value: 'jpg' });
    const t = translate(b.tree(), { env });
    const P = t.partition;

    expect(of(t.present, 'ltm-policy')).toEqual([
      {
        kind: 'ltm-policy',
        partition: P,
        name: `wrapper_policy_${listener.id}`,
        attrs: {
          strategy: '/Common/first-match',
          requires: ['http'],
          controls: ['forwarding'],
          rules: [
            {
              name: `l7policy_${reject.id}`,
              ordinal: 0,
              conditions: [
                {
                  name: '0',
                  httpUri: true,
                  path: true,
                  caseSensitive: true,
                  startsWith: true,
                  not: true,
                  request: true,
                  values: ['/admin'],
                },
              ],
              actions: [{ name: '0', forward: true, reset: true, request: true }],
            },
            {
              name: `l7policy_${toPool.id}`,
              ordinal: 1,
              conditions: [
                {
                  name: '0',
                  httpHost: true,
                  host: true,
                  caseInsensitive: true,
                  equals: true,
                  request: true,
                  values: ['api.example.com'],
                },
                {
                  name: '1',
                  httpHeader: true,
                  tmName: 'X-Version',
                  caseSensitive: true,
                  contains: true,
                  request: true,
                  values: ['v2'],
                },
              ],
              actions: [{ name: '0', forward: true, pool: `/${P}/Project_${pool.id}`, request: true }],
            },
            {
              name: `l7policy_${redirect.id}`,
              ordinal: 2,
              conditions: [
                {
                  name: '0',
                  httpCookie: true,
                  tmName: 'beta',
                  caseSensitive: true,
                  endsWith: true,
                  request: true,
                  values: ['yes'],
                },
                {
                  name: '1',
                  httpUri: true,
                  extension: true,
                  caseSensitive: true,
                  equals: true,
                  request: true,
                  values: ['jpg'],
                },
              ],
              actions: [
                {
                  name: '0',
                  httpReply: true,
                  redirect: true,
                  location: 'tcl:https://www.example.com[HTTP::uri]',
                  code: 301,
                  request: true,
                },
              ],
            },
          ],
        },
      },
    ]);
    const vs = of(t.present, 'virtual')[0];
    expect(vs?.attrs.policies).toEqual([`/${P}/wrapper_policy_${listener.id}`]);
  });

  it('leaves out what Octavia would not apply: a disabled policy, a policy without enabled rules, a disabled rule', () => {
    const b = new TreeBuilder();
    const listener = b.listener({ protocol: 'HTTP' });
    const off = b.l7policy(listener.id, { admin_state_up: false });
    b.l7rule(off.id);
    const empty = b.l7policy(listener.id);
    b.l7rule(empty.id, { admin_state_up: false });
    const t = translate(b.tree(), { env });
    expect(of(t.present, 'ltm-policy')).toEqual([]);
    // The listener has policies, so its virtual's list is ours to keep empty; the LTM policy must go.
    expect(of(t.present, 'virtual')[0]?.attrs.policies).toEqual([]);
    expect(of(t.absent, 'ltm-policy').map((o) => o.name)).toEqual([`wrapper_policy_${listener.id}`]);
  });

  it('leaves the virtual of a listener without L7 policies as it always was', () => {
    const b = new TreeBuilder();
    b.listener({ protocol: 'HTTP' });
    const t = translate(b.tree(), { env });
    expect(of(t.present, 'virtual')[0]?.attrs).not.toHaveProperty('policies');
    expect(of(t.present, 'ltm-policy')).toEqual([]);
    expect(of(t.absent, 'ltm-policy')).toEqual([]);
  });

  it('removes the LTM policy with its listener', () => {
    const b = new TreeBuilder();
    const listener = b.listener({ protocol: 'HTTP' });
    b.l7rule(b.l7policy(listener.id).id);
    b.status(listener, 'PENDING_DELETE');
    const t = translate(b.tree(), { env });
    expect(of(t.absent, 'ltm-policy').map((o) => o.name)).toEqual([`wrapper_policy_${listener.id}`]);
  });
});

describe('apply plan for L7 changes', () => {
  const empty = (folder = true): DeviceSnapshot => ({
    folderExists: folder,
    objects: new Map(),
    poolMembers: new Map(),
  });

  it('a rule reads its listener’s LTM policy, L7 iRule and virtual, and writes the policy first', () => {
    const b = new TreeBuilder();
    const listener = b.listener({ protocol: 'HTTP' });
    for (const r of [b.root, listener]) r.appliedAt = 1;
    const policy = b.l7policy(listener.id);
    const rule = b.l7rule(policy.id);
    const tree = b.tree();
    const t = translate(tree, { env });
    const scope = scopeFor(tree, t, { resource: 'l7rule', id: rule.id, operation: 'create' });
    // The iRule a REGEX would need is read too: one left by an earlier REGEX rule is removed.
    expect(scope.reads.map((r) => r.kind).sort()).toEqual(['ltm-policy', 'rule', 'virtual']);
    const vsKey = objectKey({ kind: 'virtual', partition: t.partition, name: `Project_${listener.id}` });
    const snapshot = empty();
    snapshot.objects.set(vsKey, { ...(t.present.get(vsKey)?.attrs as object), policies: [] });
    const plan = planApply(t, scope, snapshot);
    expect(plan.commands.map((c) => `${c.op} ${c.object.kind}`)).toEqual([
      'create ltm-policy',
      'update virtual',
    ]);
    expect(plan.atomic).toBe(true);
  });

  it('the last policy going: the virtual lets go of the LTM policy before it is deleted', () => {
    const b = new TreeBuilder();
    const listener = b.listener({ protocol: 'HTTP' });
    const policy = b.l7policy(listener.id);
    b.l7rule(policy.id);
    for (const r of b.all) {
      r.appliedAt = 1;
      r.provisioningStatus = 'ACTIVE';
    }
    b.status(policy, 'PENDING_DELETE');
    const tree = b.tree();
    const t = translate(tree, { env });
    const scope = scopeFor(tree, t, { resource: 'l7policy', id: policy.id, operation: 'delete' });
    const snapshot = empty();
    const P = t.partition;
    for (const key of scope.keys) {
      const o = t.present.get(key) ?? t.absent.get(key);
      if (o?.kind === 'virtual')
        snapshot.objects.set(key, { ...o.attrs, policies: [`/${P}/wrapper_policy_${listener.id}`] });
      if (o?.kind === 'ltm-policy') snapshot.objects.set(key, { rules: [] });
    }
    const plan = planApply(t, scope, snapshot);
    expect(plan.commands.map((c) => `${c.op} ${c.object.kind}`)).toEqual([
      'update virtual',
      'delete ltm-policy',
    ]);
  });
});

describe('translate: insert_headers as header inserts of the LTM policy', () => {
  const inserts = (port: number, proto: string) => [
    {
      name: '0',
      httpHeader: true,
      insert: true,
      tmName: 'X-Forwarded-For',
      value: 'tcl:[IP::client_addr]',
      request: true,
    },
    {
      name: '1',
      httpHeader: true,
      insert: true,
      tmName: 'X-Forwarded-Port',
      value: String(port),
      request: true,
    },
    { name: '2', httpHeader: true, insert: true, tmName: 'X-Forwarded-Proto', value: proto, request: true },
  ];
  const all = { 'X-Forwarded-For': 'true', 'X-Forwarded-Port': 'true', 'X-Forwarded-Proto': 'true' };

  it('a listener without L7 policies gets one rule without conditions', () => {
    const b = new TreeBuilder();
    const listener = b.listener({ protocol: 'HTTP', protocol_port: 8080, insert_headers: all });
    const t = translate(b.tree(), { env });
    expect(of(t.present, 'ltm-policy')[0]?.attrs.rules).toEqual([
      { name: 'insert_headers', ordinal: 0, conditions: [], actions: inserts(8080, 'http') },
    ]);
    expect(of(t.present, 'virtual')[0]?.attrs.policies).toEqual([
      `/${t.partition}/wrapper_policy_${listener.id}`,
    ]);
  });

  it('every L7 rule carries the inserts before its own action (first match runs one rule)', () => {
    const b = new TreeBuilder();
    const listener = b.listener({
      protocol: 'HTTP',
      protocol_port: 80,
      insert_headers: { 'X-Forwarded-Proto': 'true' },
    });
    const policy = b.l7policy(listener.id, { action: 'REJECT' });
    b.l7rule(policy.id);
    const rules = of(translate(b.tree(), { env }).present, 'ltm-policy')[0]?.attrs.rules as {
      actions: unknown[];
    }[];
    expect(rules.map((r) => r.actions)).toEqual([
      [
        {
          name: '0',
          httpHeader: true,
          insert: true,
          tmName: 'X-Forwarded-Proto',
          value: 'http',
          request: true,
        },
        { name: '1', forward: true, reset: true, request: true },
      ],
      [
        {
          name: '0',
          httpHeader: true,
          insert: true,
          tmName: 'X-Forwarded-Proto',
          value: 'http',
          request: true,
        },
      ],
    ]);
  });
});
