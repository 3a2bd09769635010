import { RejectedRequestError } from './errors.js';
import {
  type L7PolicySpec,
  type L7RuleSpec,
  type LbaasRequest,
  type ListenerSpec,
  l7PolicySpec,
  l7RuleSpec,
  MAX_RULES_PER_POLICY,
  type PoolSpec,
} from './lbaas-request.js';
import type { ResourceRecord } from './resource-state.js';

/**
 * L7 policies and rules as Octavia keeps them, checked against the load balancer's records before a
 * request is recorded: the checks one message alone cannot make (the listener's protocol, a redirect
 * pool of the same load balancer, fifty rules per policy, an update's fields taken together) and the
 * order of a listener's policies.
 *
 * Order: Octavia keeps a listener's policies as a list (positions 1..n); creating or moving one to
 * position p inserts it there and shifts the others, deleting one closes the gap. Each policy here
 * carries a `rank`, a key between its neighbours' at the time it was placed, so the list order is the
 * rank order and placing one policy writes no other record (a listener's requests are recorded one at a
 * time: its load balancer's FIFO group). A policy's position is its place in that order.
 */

/** Listener protocols whose virtual servers can carry an LTM policy (they have an HTTP profile). */
export const L7_LISTENER_PROTOCOLS: readonly ListenerSpec['protocol'][] = ['HTTP'];

/**
 * A key strictly between `before` and `after` (either may be absent: the list's ends). Keys are
 * digit strings compared as text, i.e. as decimal fractions; they never end in 0, so there is
 * always room between two of them.
 */
export function rankBetween(before: string | undefined, after: string | undefined): string {
  const a = before ?? '';
  if (after !== undefined) {
    let n = 0;
    while ((a[n] ?? '0') === after[n]) n++;
    if (n > 0) return after.slice(0, n) + rankBetween(a.slice(n), after.slice(n));
  }
  const low = a ? Number(a[0]) : 0;
  const high = after !== undefined ? Number(after[0]) : 10;
  if (high - low > 1) return String(Math.round((low + high) / 2));
  if (after !== undefined && after.length > 1) return after[0] as string;
  return String(low) + rankBetween(a.slice(1), undefined);
}

function live(record: ResourceRecord): boolean {
  return record.provisioningStatus !== 'PENDING_DELETE';
}

/** A listener's policies in list order (first-match order on the device). */
export function orderedPolicies<R extends Pick<ResourceRecord, 'id' | 'createdAt' | 'desired'>>(
  policies: readonly R[],
): R[] {
  const rank = (r: R) => (r.desired as L7PolicySpec).rank ?? '';
  return [...policies].sort(
    (a, b) =>
      (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0) ||
      a.createdAt - b.createdAt ||
      a.id.localeCompare(b.id),
  );
}

/** Octavia's positions (1..n) of a listener's live policies, by id. */
export function policyPositions(records: readonly ResourceRecord[], listenerId: string): Map<string, number> {
  const siblings = orderedPolicies(
    records.filter(
      (r) => r.type === 'l7policy' && live(r) && (r.desired as L7PolicySpec).listener_id === listenerId,
    ),
  );
  return new Map(siblings.map((r, i) => [r.id, i + 1]));
}

/** The rank that puts a policy at `position` among the listener's other live policies. */
export function rankAt(others: readonly ResourceRecord[], position: number): string {
  const ordered = orderedPolicies(others);
  const index = Math.min(position, ordered.length + 1) - 1;
  const rank = (r: ResourceRecord | undefined) => (r ? ((r.desired as L7PolicySpec).rank ?? '') : undefined);
  const before = rank(ordered[index - 1]);
  const after = rank(ordered[index]);
  // Policies recorded without a rank all sort first (''): place after them rather than fail.
  return rankBetween(before, after !== undefined && after > (before ?? '') ? after : undefined);
}

/** True when a request must be checked against its load balancer's records before it is recorded. */
export function needsRecordChecks(request: LbaasRequest): boolean {
  if (request.operation === 'batch_update') return false;
  if (request.resource === 'l7policy' || request.resource === 'l7rule') return request.operation !== 'delete';
  return request.resource === 'pool' && request.operation === 'delete';
}

const refuse = (category: ConstructorParameters<typeof RejectedRequestError>[0], reason: string) =>
  new RejectedRequestError(category, reason);

/**
 * The request as it will be recorded (a policy's fields that its action does not use cleared, its
 * redirect code defaulted, its rank set), or a refusal with the reason. Pure: the records are the
 * load balancer's, read just before.
 */
export function checkAgainstRecords(request: LbaasRequest, records: readonly ResourceRecord[]): LbaasRequest {
  if (request.operation === 'batch_update' || request.operation === 'delete') {
    if (request.resource === 'pool' && request.operation === 'delete') {
      const user = records.find(
        (r) =>
          r.type === 'l7policy' &&
          live(r) &&
          (r.desired as L7PolicySpec).action === 'REDIRECT_TO_POOL' &&
          (r.desired as L7PolicySpec).redirect_pool_id === request.object.id,
      );
      if (user)
        throw refuse(
          'conflict',
          `pool ${request.object.id} is the redirect pool of L7 policy ${user.id}: change or delete the policy first`,
        );
    }
    return request;
  }
  const find = (type: ResourceRecord['type'], id: string | null | undefined) =>
    id ? records.find((r) => r.type === type && r.id === id) : undefined;
  const stored = request.operation === 'update' ? find(request.resource, request.object.id) : undefined;
  if (request.operation === 'update' && !stored)
    throw refuse('not-found', `${request.resource} ${request.object.id} does not exist`);
  const merged = { ...(stored?.desired as object), ...request.object } as Record<string, unknown>;
  delete merged.rank;

  if (request.resource === 'l7rule') {
    const parsed = l7RuleSpec.safeParse(merged);
    if (!parsed.success) throw refuse('invalid-message', issues(parsed.error.issues));
    const policy = find('l7policy', parsed.data.l7policy_id);
    if (!policy)
      throw refuse(
        'not-found',
        `l7policy_id ${parsed.data.l7policy_id} is not an L7 policy of this load balancer`,
      );
    if (!live(policy)) throw refuse('conflict', `L7 policy ${policy.id} is being deleted`);
    if (request.operation === 'create') {
      const rules = records.filter(
        (r) =>
          r.type === 'l7rule' &&
          live(r) &&
          r.id !== request.object.id &&
          (r.desired as L7RuleSpec).l7policy_id === policy.id,
      );
      if (rules.length >= MAX_RULES_PER_POLICY)
        throw refuse(
          'conflict',
          `L7 policy ${policy.id} already has ${MAX_RULES_PER_POLICY} rules, the most a policy may have`,
        );
    }
    return request;
  }
  if (request.resource !== 'l7policy') return request;

  const parsed = l7PolicySpec.safeParse(merged);
  if (!parsed.success) throw refuse('invalid-message', issues(parsed.error.issues));
  const policy = parsed.data;
  const listener = find('listener', policy.listener_id);
  if (!listener)
    throw refuse('not-found', `listener_id ${policy.listener_id} is not a listener of this load balancer`);
  if (!live(listener)) throw refuse('conflict', `listener ${listener.id} is being deleted`);
  const protocol = (listener.desired as ListenerSpec).protocol;
  if (!L7_LISTENER_PROTOCOLS.includes(protocol))
    throw refuse(
      'unsupported',
      `L7 policies need an HTTP listener; listener ${listener.id} is ${protocol} (a BIG-IP LTM policy with HTTP conditions needs the virtual server's HTTP profile)`,
    );
  if (policy.action === 'REDIRECT_TO_POOL') {
    const pool = find('pool', policy.redirect_pool_id);
    if (!pool)
      throw refuse(
        'not-found',
        `redirect_pool_id ${policy.redirect_pool_id} is not a pool of this load balancer`,
      );
    if (!live(pool)) throw refuse('conflict', `pool ${pool.id} is being deleted`);
    if ((pool.desired as PoolSpec).protocol === 'TCP')
      throw refuse(
        'unsupported',
        `pool ${pool.id} is a TCP pool; an L7 policy can only redirect to an HTTP or HTTPS pool`,
      );
  }
  const normalised: Record<string, unknown> = {
    redirect_pool_id: policy.action === 'REDIRECT_TO_POOL' ? policy.redirect_pool_id : null,
    redirect_url: policy.action === 'REDIRECT_TO_URL' ? policy.redirect_url : null,
    redirect_prefix: policy.action === 'REDIRECT_PREFIX' ? policy.redirect_prefix : null,
    redirect_http_code:
      policy.action === 'REDIRECT_TO_URL' || policy.action === 'REDIRECT_PREFIX'
        ? (policy.redirect_http_code ?? 302)
        : null,
  };
  const moves = request.operation === 'create' || 'position' in request.changes;
  if (moves) {
    const others = records.filter(
      (r) =>
        r.type === 'l7policy' &&
        live(r) &&
        r.id !== policy.id &&
        (r.desired as L7PolicySpec).listener_id === policy.listener_id,
    );
    normalised.rank = rankAt(others, policy.position);
  }
  if (request.operation === 'create')
    return { ...request, object: { ...request.object, ...normalised } } as LbaasRequest;
  const changes = { ...request.changes };
  const before = (stored as ResourceRecord).desired as unknown as Record<string, unknown>;
  for (const [field, value] of Object.entries(normalised)) {
    if (JSON.stringify(before[field]) !== JSON.stringify(value)) changes[field] = value;
  }
  return { ...request, object: { ...request.object, ...normalised }, changes };
}

function issues(list: readonly { path: PropertyKey[]; message: string }[]): string {
  const parts = list.slice(0, 5).map((i) => {
    const path = ['object', ...i.path.map(String)].join('.');
    return `${path}: ${i.message}`;
  });
  return `invalid request: ${parts.join('; ')}`;
}
