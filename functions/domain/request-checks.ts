import { RejectedRequestError } from './errors.js';
import { L7_LISTENER_PROTOCOLS, rankAt } from './l7-policies.js';
import {
  certificateNamespace,
  formatIssues,
  type L7PolicySpec,
  type L7RuleSpec,
  type LbaasRequest,
  type ListenerSpec,
  l7PolicySpec,
  l7RuleSpec,
  listenerSpec,
  MAX_RULES_PER_POLICY,
  type PoolSpec,
} from './lbaas-request.js';
import { notBeingDeleted, type ResourceRecord } from './resource-state.js';

/**
 * The checks a request needs beyond its own message, made by the scheduler before it records the
 * request: a listener's certificates belong to its project and environment; an L7 policy's listener
 * speaks HTTP, its redirect pool is an HTTP pool of the same load balancer, a policy holds at most
 * fifty rules, an update's fields hold together with what is stored; a pool an L7 policy redirects to
 * is not deleted. Pure: the records are the load balancer's, read just before.
 */

/** True when a request must be checked against its load balancer's records before it is recorded. */
export function needsRecordChecks(request: LbaasRequest): boolean {
  if (request.operation === 'batch_update') return false;
  // A listener's certificates are checked with its protocol (an update names only what changes).
  if (request.resource === 'listener' && request.operation === 'update')
    return ['default_tls_container_ref', 'sni_container_refs', 'insert_headers'].some(
      (f) => f in request.changes,
    );
  if (request.resource === 'l7policy' || request.resource === 'l7rule') return request.operation !== 'delete';
  return request.resource === 'pool' && request.operation === 'delete';
}

const refuse = (category: ConstructorParameters<typeof RejectedRequestError>[0], reason: string) =>
  new RejectedRequestError(category, reason);

/**
 * A listener's certificates must be its own project's, in its own environment: a reference names
 * the secret `lbaas/<env>/<project>/<name>`, and no tenant may serve another's key.
 */
export function checkCertificateRefs(request: LbaasRequest, env: string): void {
  if (request.resource !== 'listener' || request.operation === 'delete') return;
  const fields = (request.operation === 'update' ? request.changes : request.object) as Record<
    string,
    unknown
  >;
  const refs = [fields.default_tls_container_ref, ...((fields.sni_container_refs as unknown[]) ?? [])];
  const namespace = certificateNamespace(env, request.tenantId);
  for (const ref of refs)
    if (typeof ref === 'string' && !ref.startsWith(namespace))
      throw refuse(
        'tenant-mismatch',
        `certificate ${ref} is not one of project ${request.tenantId} in environment ${env} (${namespace}…)`,
      );
}

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
          notBeingDeleted(r) &&
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

  if (request.resource === 'listener') {
    const parsed = listenerSpec.safeParse(merged);
    if (!parsed.success) throw refuse('invalid-message', formatIssues(parsed.error.issues, ['object']));
    return request;
  }
  if (request.resource === 'l7rule') {
    const parsed = l7RuleSpec.safeParse(merged);
    if (!parsed.success) throw refuse('invalid-message', formatIssues(parsed.error.issues, ['object']));
    const policy = find('l7policy', parsed.data.l7policy_id);
    if (!policy)
      throw refuse(
        'not-found',
        `l7policy_id ${parsed.data.l7policy_id} is not an L7 policy of this load balancer`,
      );
    if (!notBeingDeleted(policy)) throw refuse('conflict', `L7 policy ${policy.id} is being deleted`);
    if (request.operation === 'create') {
      const rules = records.filter(
        (r) =>
          r.type === 'l7rule' &&
          notBeingDeleted(r) &&
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
  if (!parsed.success) throw refuse('invalid-message', formatIssues(parsed.error.issues, ['object']));
  const policy = parsed.data;
  const listener = find('listener', policy.listener_id);
  if (!listener)
    throw refuse('not-found', `listener_id ${policy.listener_id} is not a listener of this load balancer`);
  if (!notBeingDeleted(listener)) throw refuse('conflict', `listener ${listener.id} is being deleted`);
  const protocol = (listener.desired as ListenerSpec).protocol;
  if (!L7_LISTENER_PROTOCOLS.includes(protocol))
    throw refuse(
      'unsupported',
      `L7 policies need an HTTP or TERMINATED_HTTPS listener; listener ${listener.id} is ${protocol} (a BIG-IP LTM policy with HTTP conditions needs the virtual server's HTTP profile)`,
    );
  if (policy.action === 'REDIRECT_TO_POOL') {
    const pool = find('pool', policy.redirect_pool_id);
    if (!pool)
      throw refuse(
        'not-found',
        `redirect_pool_id ${policy.redirect_pool_id} is not a pool of this load balancer`,
      );
    if (!notBeingDeleted(pool)) throw refuse('conflict', `pool ${pool.id} is being deleted`);
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
        notBeingDeleted(r) &&
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
