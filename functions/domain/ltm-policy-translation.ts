import { fullPath, ltmPolicyName, poolName } from './bigip-names.js';
import type { BigIpObject } from './bigip-objects.js';
import { needsL7Rule, type RoutedPolicy } from './irule-translation.js';
import { orderedPolicies } from './l7-policies.js';
import type { L7PolicySpec, L7RuleSpec, ListenerSpec } from './lbaas-request.js';
import { isDeleted, type LoadBalancerTree, type ResourceRecord, resourceKey } from './resource-state.js';

/*
 * A listener's L7 policies as one BIG-IP LTM policy, the way F5's agent mapped them
 * (peer-features.md §2.1): strategy first-match, one rule per L7 policy in list order, one
 * condition per L7 rule (all must match), one action per rule. The policy is written with
 * `legacy: true` (the device adapter adds it), which creates and edits it as before 12.1, without
 * Drafts (device-facts.md §3.4).
 *
 * Octavia's semantics where the two differ: an L7 policy with no enabled rule matches nothing, so it
 * is left out (F5's agent sent a rule without conditions, which matches every request); a disabled
 * policy is left out too. REJECT resets the connection, as F5's agent did: an LTM policy has no
 * action that answers 403 (Octavia's documented REJECT) without an iRule.
 */

/** Canonical attributes of a condition: only what we send, as the device reads it back. */
export type PolicyCondition = Record<string, string | boolean | string[]>;
export type PolicyAction = Record<string, string | number | boolean>;
export interface PolicyRule {
  name: string;
  ordinal: number;
  conditions: PolicyCondition[];
  actions: PolicyAction[];
}

/** The condition fields we own, in the order both sides list them (compared as JSON). */
const CONDITION_KEYS = [
  'name',
  'httpHost',
  'host',
  'httpUri',
  'path',
  'extension',
  'httpHeader',
  'httpCookie',
  'tmName',
  'caseSensitive',
  'caseInsensitive',
  'equals',
  'startsWith',
  'endsWith',
  'contains',
  'not',
  'request',
  'values',
] as const;
const ACTION_KEYS = [
  'name',
  'forward',
  'reset',
  'httpReply',
  'redirect',
  'location',
  'code',
  'pool',
  'httpHeader',
  'insert',
  'tmName',
  'value',
  'request',
] as const;

function pick<K extends string>(raw: Record<string, unknown>, keys: readonly K[]): Record<string, never> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const value = raw[key];
    // A device lists every flag and number of a condition or action, false and 0 included.
    if (value === undefined || value === false || value === 0 || value === null) continue;
    out[key] = key === 'name' ? String(value) : value;
  }
  return out as Record<string, never>;
}

/** A condition as sent or as read back from a device, reduced to what we own. */
export function canonicalCondition(raw: Record<string, unknown>): PolicyCondition {
  return pick(raw, CONDITION_KEYS);
}

/** An action as sent or as read back, reduced to what we own. */
export function canonicalAction(raw: Record<string, unknown>): PolicyAction {
  return pick(raw, ACTION_KEYS);
}

const OPERATORS: Record<Exclude<L7RuleSpec['compare_type'], 'REGEX'>, string> = {
  EQUAL_TO: 'equals',
  STARTS_WITH: 'startsWith',
  ENDS_WITH: 'endsWith',
  CONTAINS: 'contains',
};

/**
 * One L7 rule as an LTM policy condition, with the case option Octavia means: its reference
 * implementation matches host names without case (haproxy `req.hdr(host) -i`) and paths, file
 * types, headers and cookies exactly (no `-i`); `invert` and the compare type do not change that.
 * The option is always sent: a condition sent without one is stored case-insensitive
 * (device-facts.md §7.1), which would match `/API` for a rule on `/api` and read back
 * differently from what was sent.
 */
export function conditionFor(rule: L7RuleSpec, index: number): PolicyCondition {
  const condition: PolicyCondition = { name: String(index) };
  switch (rule.type) {
    case 'HOST_NAME':
      Object.assign(condition, { httpHost: true, host: true, caseInsensitive: true });
      break;
    case 'PATH':
      Object.assign(condition, { httpUri: true, path: true, caseSensitive: true });
      break;
    case 'FILE_TYPE':
      Object.assign(condition, { httpUri: true, extension: true, caseSensitive: true });
      break;
    case 'HEADER':
      Object.assign(condition, { httpHeader: true, tmName: rule.key ?? '', caseSensitive: true });
      break;
    case 'COOKIE':
      Object.assign(condition, { httpCookie: true, tmName: rule.key ?? '', caseSensitive: true });
      break;
  }
  condition[OPERATORS[rule.compare_type as keyof typeof OPERATORS]] = true;
  if (rule.invert) condition.not = true;
  condition.request = true;
  condition.values = [rule.value];
  return canonicalCondition(condition);
}

/** One L7 policy's action. `REDIRECT_PREFIX` keeps the request's URI: the location is Tcl (the prefix was checked to hold nothing Tcl evaluates). */
export function actionFor(policy: L7PolicySpec, partition: string, env: string): PolicyAction {
  switch (policy.action) {
    case 'REDIRECT_TO_POOL':
      return {
        name: '0',
        forward: true,
        pool: fullPath(partition, poolName(env, policy.redirect_pool_id as string)),
        request: true,
      };
    case 'REDIRECT_TO_URL':
      return {
        name: '0',
        httpReply: true,
        redirect: true,
        location: policy.redirect_url as string,
        // Recorded reads list `code` on every action (0 when unset); AS3's httpRedirect `code`
        // (SAP PR #252) sets it. That a device answers with it is inferred, not recorded.
        code: policy.redirect_http_code ?? 302,
        request: true,
      };
    case 'REDIRECT_PREFIX':
      return {
        name: '0',
        httpReply: true,
        redirect: true,
        location: `tcl:${policy.redirect_prefix}[HTTP::uri]`,
        code: policy.redirect_http_code ?? 302,
        request: true,
      };
    case 'REJECT':
      return { name: '0', forward: true, reset: true, request: true };
  }
}

/**
 * Octavia's insert_headers as header inserts on every request (tmsh `http-header insert name N value
 * V`; in REST `httpHeader`, `insert`, `tmName`, `value` — inferred from that syntax and the conditions'
 * `tmName`: no recorded read of such an action is in the references). X-Forwarded-For is the client's address,
 * evaluated by the device (`tcl:[IP::client_addr]`); port and protocol are the listener's own.
 */
export function headerInserts(listener: ListenerSpec): PolicyAction[] {
  const wanted = listener.insert_headers ?? {};
  const values: [string, string][] = [];
  if (wanted['X-Forwarded-For'] === 'true') values.push(['X-Forwarded-For', 'tcl:[IP::client_addr]']);
  if (wanted['X-Forwarded-Port'] === 'true')
    values.push(['X-Forwarded-Port', String(listener.protocol_port)]);
  if (wanted['X-Forwarded-Proto'] === 'true')
    values.push(['X-Forwarded-Proto', listener.protocol === 'TERMINATED_HTTPS' ? 'https' : 'http']);
  return values.map(([tmName, value]) =>
    canonicalAction({ name: '', httpHeader: true, insert: true, tmName, value, request: true }),
  );
}

/** A rule's actions named 0, 1, … as a device names them. */
function numbered(actions: PolicyAction[]): PolicyAction[] {
  return actions.map((a, i) => canonicalAction({ ...a, name: String(i) }));
}

export interface ListenerPolicy {
  /** The LTM policy, or undefined when no L7 policy of the listener takes effect. */
  object: BigIpObject | undefined;
  /** Whether the listener has L7 policy records at all (its virtual's `policies` is then ours to set). */
  managed: boolean;
  /** L7 policies that cannot be put on the device, with why. */
  errors: Map<string, string>;
  /**
   * When one of the listener's enabled rules is a REGEX (which no LTM policy condition can match):
   * every policy that takes effect, in order, for the listener's L7 iRule (irule-translation.ts);
   * the LTM policy then holds the header inserts only. Undefined otherwise.
   */
  routed: RoutedPolicy[] | undefined;
}

/** The LTM policy of one listener, from its live L7 policies and their enabled rules. */
export function listenerPolicy(
  tree: LoadBalancerTree,
  listener: ResourceRecord,
  partition: string,
  env: string,
): ListenerPolicy {
  const errors = new Map<string, string>();
  const inserts = headerInserts(listener.desired as ListenerSpec);
  const all = tree.l7policies.filter((p) => (p.desired as L7PolicySpec).listener_id === listener.id);
  const policies = orderedPolicies(all.filter((p) => !isDeleted(tree, p)));
  const rules: PolicyRule[] = [];
  const routed: RoutedPolicy[] = [];
  for (const policy of policies) {
    const spec = policy.desired as L7PolicySpec;
    if (!spec.admin_state_up) continue;
    if (spec.action === 'REDIRECT_TO_POOL') {
      const pool = tree.pools.find((p) => p.id === spec.redirect_pool_id);
      if (!pool || isDeleted(tree, pool)) {
        errors.set(
          resourceKey('l7policy', policy.id),
          `redirect pool ${spec.redirect_pool_id} does not exist in load balancer ${tree.root.id}`,
        );
        continue;
      }
    }
    const enabled = tree.l7rules
      .filter(
        (r) =>
          (r.desired as L7RuleSpec).l7policy_id === policy.id &&
          !isDeleted(tree, r) &&
          (r.desired as L7RuleSpec).admin_state_up,
      )
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
      .map((r) => r.desired as L7RuleSpec);
    if (enabled.length === 0) continue;
    routed.push({ spec, rules: enabled });
    rules.push({
      name: `l7policy_${policy.id}`,
      ordinal: rules.length,
      conditions: enabled.map((r, i) => conditionFor(r, i)),
      // First match runs one rule: each carries the header inserts too.
      actions: numbered([...inserts, canonicalAction(actionFor(spec, partition, env))]),
    });
  }
  // A REGEX anywhere: the listener's routing moves to its iRule, whole, so the policies keep their order.
  const byIRule = needsL7Rule(routed.flatMap((p) => p.rules));
  if (byIRule) rules.length = 0;
  // Requests no L7 policy takes get the headers from a last rule without conditions.
  if (inserts.length > 0)
    rules.push({ name: 'insert_headers', ordinal: rules.length, conditions: [], actions: numbered(inserts) });
  const object: BigIpObject | undefined =
    rules.length === 0
      ? undefined
      : {
          kind: 'ltm-policy',
          partition,
          name: ltmPolicyName(listener.id),
          attrs: {
            strategy: '/Common/first-match',
            requires: ['http'],
            controls: ['forwarding'],
            rules,
          },
        };
  const headersManaged = Object.keys((listener.desired as ListenerSpec).insert_headers ?? {}).length > 0;
  return { object, managed: all.length > 0 || headersManaged, errors, routed: byIRule ? routed : undefined };
}
