import type { RejectionCategory } from './errors.js';
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
  monitorHostProblem,
  type PoolSpec,
} from './lbaas-request.js';
import { type Refusal, refusal } from './refusals.js';
import { notBeingDeleted, type ResourceRecord } from './resource-state.js';

/*
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
    return [
      'default_tls_container_ref',
      'sni_container_refs',
      'insert_headers',
      'client_ca_tls_container_ref',
      'client_authentication',
      'tls_versions',
      'tls_ciphers',
    ].some((f) => f in request.changes);
  // A monitor's Host name and HTTP version hold together only with what is stored.
  if (request.resource === 'healthmonitor' && request.operation === 'update')
    return ['http_version', 'domain_name'].some((f) => f in request.changes);
  if (request.resource === 'l7policy' || request.resource === 'l7rule') return request.operation !== 'delete';
  return request.resource === 'pool' && request.operation === 'delete';
}

/** The request as it will be recorded, or why it is refused. */
export type Checked = { request: LbaasRequest } | { refusal: Refusal };

const refuse = (category: RejectionCategory, reason: string): { refusal: Refusal } => ({
  refusal: refusal(category, reason),
});

/**
 * A listener's certificates must be its own project's, in its own environment: a reference names
 * the secret `lbaas/<env>/<project>/<name>`, and no tenant may serve another's key.
 */
export function checkCertificateRefs(request: LbaasRequest, env: string): Refusal | undefined {
  if ((request.resource !== 'listener' && request.resource !== 'pool') || request.operation === 'delete')
    return undefined;
  const fields = (request.operation === 'update' ? request.changes : request.object) as Record<
    string,
    unknown
  >;
  // A listener's certificates and client CA, a pool's client certificate and CA (tls-translation.ts).
  const refs = [
    fields.default_tls_container_ref,
    ...((fields.sni_container_refs as unknown[]) ?? []),
    fields.client_ca_tls_container_ref,
    fields.tls_container_ref,
    fields.ca_tls_container_ref,
  ];
  const namespace = certificateNamespace(env, request.tenantId);
  for (const ref of refs)
    if (typeof ref === 'string' && !ref.startsWith(namespace))
      return refusal(
        'tenant-mismatch',
        `certificate ${ref} is not one of project ${request.tenantId} in environment ${env} (${namespace}…)`,
      );
  return undefined;
}

type Find = (type: ResourceRecord['type'], id: string | null | undefined) => ResourceRecord | undefined;

/**
 * The request as it will be recorded (a policy's fields that its action does not use cleared, its
 * redirect code defaulted, its rank set), or a refusal with the reason. Pure: the records are the
 * load balancer's, read just before.
 */
export function checkAgainstRecords(request: LbaasRequest, records: readonly ResourceRecord[]): Checked {
  if (request.operation === 'batch_update') return { request };
  if (request.operation === 'delete')
    return request.resource === 'pool'
      ? (checkPoolDelete(request.object.id, records) ?? { request })
      : { request };
  const find: Find = (type, id) => (id ? records.find((r) => r.type === type && r.id === id) : undefined);
  const stored = request.operation === 'update' ? find(request.resource, request.object.id) : undefined;
  if (request.operation === 'update' && !stored)
    return refuse('not-found', `${request.resource} ${request.object.id} does not exist`);
  const merged = { ...(stored?.desired as object), ...request.object } as Record<string, unknown>;
  delete merged.rank;
  switch (request.resource) {
    case 'listener': {
      const parsed = listenerSpec.safeParse(merged);
      return parsed.success
        ? { request }
        : refuse('invalid-message', formatIssues(parsed.error.issues, ['object']));
    }
    case 'healthmonitor': {
      const spec = merged as { http_version?: number | null; domain_name?: string | null };
      const problem = monitorHostProblem(spec.http_version, spec.domain_name);
      return problem ? refuse('invalid-message', problem) : { request };
    }
    case 'l7rule':
      return checkL7Rule(request, merged, find, records);
    case 'l7policy':
      return checkL7Policy(request, merged, find, records, stored);
    default:
      return { request };
  }
}

/** A pool an L7 policy redirects to is not deleted under it. */
function checkPoolDelete(poolId: string, records: readonly ResourceRecord[]): Checked | undefined {
  const user = records.find(
    (r) =>
      r.type === 'l7policy' &&
      notBeingDeleted(r) &&
      (r.desired as L7PolicySpec).action === 'REDIRECT_TO_POOL' &&
      (r.desired as L7PolicySpec).redirect_pool_id === poolId,
  );
  return user
    ? refuse(
        'conflict',
        `pool ${poolId} is the redirect pool of L7 policy ${user.id}: change or delete the policy first`,
      )
    : undefined;
}

/** An L7 rule's fields hold together, its policy is live, and the policy has room for a new rule. */
function checkL7Rule(
  request: LbaasRequest,
  merged: Record<string, unknown>,
  find: Find,
  records: readonly ResourceRecord[],
): Checked {
  const parsed = l7RuleSpec.safeParse(merged);
  if (!parsed.success) return refuse('invalid-message', formatIssues(parsed.error.issues, ['object']));
  const policy = find('l7policy', parsed.data.l7policy_id);
  if (!policy)
    return refuse(
      'not-found',
      `l7policy_id ${parsed.data.l7policy_id} is not an L7 policy of this load balancer`,
    );
  if (!notBeingDeleted(policy)) return refuse('conflict', `L7 policy ${policy.id} is being deleted`);
  if (request.operation === 'create') {
    const rules = records.filter(
      (r) =>
        r.type === 'l7rule' &&
        notBeingDeleted(r) &&
        r.id !== request.object.id &&
        (r.desired as L7RuleSpec).l7policy_id === policy.id,
    );
    if (rules.length >= MAX_RULES_PER_POLICY)
      return refuse(
        'conflict',
        `L7 policy ${policy.id} already has ${MAX_RULES_PER_POLICY} rules, the most a policy may have`,
      );
  }
  return { request };
}

/** An L7 policy's listener speaks HTTP, its redirect pool is a live HTTP pool; its fields normalised. */
function checkL7Policy(
  request: LbaasRequest,
  merged: Record<string, unknown>,
  find: Find,
  records: readonly ResourceRecord[],
  stored: ResourceRecord | undefined,
): Checked {
  const parsed = l7PolicySpec.safeParse(merged);
  if (!parsed.success) return refuse('invalid-message', formatIssues(parsed.error.issues, ['object']));
  const policy = parsed.data;
  const listener = find('listener', policy.listener_id);
  if (!listener)
    return refuse('not-found', `listener_id ${policy.listener_id} is not a listener of this load balancer`);
  if (!notBeingDeleted(listener)) return refuse('conflict', `listener ${listener.id} is being deleted`);
  const protocol = (listener.desired as ListenerSpec).protocol;
  if (!L7_LISTENER_PROTOCOLS.includes(protocol))
    return refuse(
      'unsupported',
      `L7 policies need an HTTP or TERMINATED_HTTPS listener; listener ${listener.id} is ${protocol} (a BIG-IP LTM policy with HTTP conditions needs the virtual server's HTTP profile)`,
    );
  if (policy.action === 'REDIRECT_TO_POOL') {
    const pool = find('pool', policy.redirect_pool_id);
    if (!pool)
      return refuse(
        'not-found',
        `redirect_pool_id ${policy.redirect_pool_id} is not a pool of this load balancer`,
      );
    if (!notBeingDeleted(pool)) return refuse('conflict', `pool ${pool.id} is being deleted`);
    const poolProtocol = (pool.desired as PoolSpec).protocol;
    if (poolProtocol === 'TCP' || poolProtocol === 'UDP')
      return refuse(
        'unsupported',
        `pool ${pool.id} is a ${poolProtocol} pool; an L7 policy can only redirect to an HTTP or HTTPS pool`,
      );
  }
  return { request: normalisePolicy(request, policy, records, stored) };
}

/** Clears the fields a policy's action does not use, defaults its redirect code and places it (its rank). */
function normalisePolicy(
  request: LbaasRequest,
  policy: L7PolicySpec,
  records: readonly ResourceRecord[],
  stored: ResourceRecord | undefined,
): LbaasRequest {
  const normalised: Record<string, unknown> = {
    redirect_pool_id: policy.action === 'REDIRECT_TO_POOL' ? policy.redirect_pool_id : null,
    redirect_url: policy.action === 'REDIRECT_TO_URL' ? policy.redirect_url : null,
    redirect_prefix: policy.action === 'REDIRECT_PREFIX' ? policy.redirect_prefix : null,
    redirect_http_code:
      policy.action === 'REDIRECT_TO_URL' || policy.action === 'REDIRECT_PREFIX'
        ? (policy.redirect_http_code ?? 302)
        : null,
  };
  const moves =
    request.operation === 'create' || (request.operation === 'update' && 'position' in request.changes);
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
  if (request.operation !== 'update') return request;
  const changes = { ...request.changes };
  const before = (stored as ResourceRecord).desired as unknown as Record<string, unknown>;
  for (const [field, value] of Object.entries(normalised)) {
    if (JSON.stringify(before[field]) !== JSON.stringify(value)) changes[field] = value;
  }
  return { ...request, object: { ...request.object, ...normalised }, changes };
}
