import type { Claim } from './claims.js';
import type { RejectionCategory } from './errors.js';
import {
  isMemberBatch,
  type LbaasRequest,
  type RejectionContext,
  type ResourceType,
  type UpdateRequest,
} from './lbaas-request.js';
import {
  failedRequestTargets,
  type ObjectRef,
  type ProvisioningStatus,
  type ResourceRecord,
} from './resource-state.js';

/**
 * A request refused for good: it is acknowledged, never retried, and the reason reaches the sender
 * (status reason, log line, `RejectedRequests{Reason}` metric). A value, not an exception: the
 * checks, the store's conflicts and the scheduler's capacity rule all return one.
 */
export interface Refusal {
  category: RejectionCategory;
  reason: string;
}

export function refusal(category: RejectionCategory, reason: string): Refusal {
  return { category, reason };
}

/**
 * The objects a refusal puts in ERROR, and the one place that decides it. A malformed change to a
 * known object of the sender's own project (an invalid message, an immutable field) marks that
 * object; a capacity refusal marks the object and its load balancer, which the request had put in
 * PENDING_UPDATE and which is placed nowhere. A conflict, a missing object or another project's id
 * never touches anybody's object. Every write is guarded by the tenant and environment.
 */
export function refusalTargets(
  category: RejectionCategory,
  subject: RejectionContext,
  env: string,
): ObjectRef[] {
  const { loadbalancerId, tenantId, resource, objectId } = subject;
  if (!loadbalancerId || !tenantId || !resource || !objectId) return [];
  if (category === 'group-at-capacity' || category === 'environment-at-capacity')
    return failedRequestTargets({ loadbalancerId, tenantId, resource, object: { id: objectId } }, env);
  if (category === 'invalid-message' || category === 'immutable-field')
    return [{ loadbalancerId, tenantId, type: resource, id: objectId, env }];
  return [];
}

/** Who a request is about, as refusals report it (a member batch is reported on its pool). */
export function refusalSubject(request: LbaasRequest): RejectionContext {
  return {
    requestId: request.requestId,
    tenantId: request.tenantId,
    loadbalancerId: request.loadbalancerId,
    operation: request.operation,
    resource: isMemberBatch(request) ? 'pool' : request.resource,
    objectId: request.object.id,
  };
}

/** An object as the resources table holds it, as far as a refusal needs it. */
export type StoredObject = Pick<
  ResourceRecord,
  'tenantId' | 'env' | 'provisioningStatus' | 'revision' | 'desired'
>;

/**
 * What a write through the Octavia API requires of the load balancer, checked in the recording
 * transaction itself (Octavia's immutability rule): its revision as the caller read it (any
 * request recorded since refuses this one) and its provisioning status; a member's or monitor's
 * pool must be ACTIVE too.
 */
export interface RecordGuard {
  revision: number;
  statuses: readonly ProvisioningStatus[];
  pool?: string;
}

/**
 * What the resources table found when it refused a request's write: the request's object and its
 * load balancer as stored, the claims another live object holds, and the references that are not
 * objects of the load balancer. The store only reads; `explainRecordConflict` says what it means.
 */
export interface RecordConflict {
  /** The request's own object (absent: it does not exist). */
  target?: StoredObject;
  /** The load balancer, for a child's request (absent: it does not exist). */
  root?: StoredObject;
  /** Each claim of a create another live object holds, with that object. */
  heldClaims: { claim: Claim; holder: { type: ResourceType; id: string; loadbalancerId: string } }[];
  /** Each reference that is not an object of the load balancer, with the load balancer whose id it is, if any. */
  missingReferences: { field: string; type: ResourceType; id: string; claimedBy?: string }[];
  /** The pool a guard names, as stored (a guarded write only). */
  guardedPool?: StoredObject;
}

/** What recording a request came to: recorded, refused by a rule (a member batch's plan), or a write the table refused. */
export type RecordResult =
  | { recorded: true }
  /** Recorded by an earlier delivery of the same request (its guard stands): nothing was written. */
  | { recorded: true; duplicate: true }
  | { recorded: false; refusal: Refusal }
  | { recorded: false; conflict: RecordConflict };

/** `id 123 is already used by member 123 of load balancer L in environment E`. */
export function describeClaimClash(
  claim: Claim,
  holder: RecordConflict['heldClaims'][number]['holder'],
  env: string,
): string {
  const of = holder.type === 'loadbalancer' ? '' : ` of load balancer ${holder.loadbalancerId}`;
  return `${claim.describe} is already used by ${holder.type} ${holder.id}${of} in environment ${env}`;
}

/**
 * Why the resources table refused a request's write, in an operator's words, from what it found;
 * undefined when nothing found explains it (another writer changed an item in between: retry).
 */
export function explainRecordConflict(
  request: LbaasRequest,
  env: string,
  conflict: RecordConflict,
  guard?: RecordGuard,
): Refusal | undefined {
  const { loadbalancerId, tenantId } = request;
  if (isMemberBatch(request)) {
    const [clash] = conflict.heldClaims;
    if (clash)
      return refusal(
        'conflict',
        `member ${clash.claim.owner.id} cannot be created: ${describeClaimClash(clash.claim, clash.holder, env)}`,
      );
    return guard ? explainGuard(loadbalancerId, conflict.root, conflict, guard) : undefined;
  }
  const { resource, operation } = request;
  const id = request.object.id;
  const ownership = (item: StoredObject, what: string): Refusal | undefined => {
    if (item.tenantId !== tenantId)
      return refusal('tenant-mismatch', `${what} does not belong to project ${tenantId}`);
    if (item.env !== env)
      return refusal(
        'environment-mismatch',
        `${what} belongs to environment ${String(item.env)}, not ${env}`,
      );
    return undefined;
  };

  if (resource !== 'loadbalancer') {
    const { root } = conflict;
    if (!root) return refusal('not-found', `load balancer ${loadbalancerId} does not exist`);
    const denied = ownership(root, `load balancer ${loadbalancerId}`);
    if (denied) return denied;
    if (root.provisioningStatus === 'PENDING_DELETE')
      return refusal('conflict', `load balancer ${loadbalancerId} is being deleted`);
  }
  const what = resource === 'loadbalancer' ? `load balancer ${id}` : `${resource} ${id}`;
  const { target } = conflict;
  if (operation === 'create') {
    if (target) return ownership(target, what) ?? refusal('conflict', `${what} already exists`);
    const [clash] = conflict.heldClaims;
    if (clash)
      return refusal(
        'conflict',
        `${what} cannot be created: ${describeClaimClash(clash.claim, clash.holder, env)}`,
      );
  } else {
    if (!target) return refusal('not-found', `${what} does not exist in load balancer ${loadbalancerId}`);
    const denied = ownership(target, what);
    if (denied) return denied;
    if (operation === 'update') {
      if (target.provisioningStatus === 'PENDING_DELETE')
        return refusal('conflict', `${what} is being deleted`);
      const stored = (target.desired ?? {}) as Record<string, unknown>;
      const differing = Object.entries((request as UpdateRequest).unchanged).filter(
        ([field, value]) => JSON.stringify(stored[field]) !== JSON.stringify(value),
      );
      if (differing.length > 0) {
        const list = differing
          .map(([f, v]) => `${f} (stored ${JSON.stringify(stored[f])}, given ${JSON.stringify(v)})`)
          .join(', ');
        return refusal('immutable-field', `update cannot change ${list}`);
      }
    }
  }
  const [missing] = conflict.missingReferences;
  if (missing) {
    const where = missing.claimedBy ? `: it belongs to load balancer ${missing.claimedBy}` : '';
    return refusal(
      'not-found',
      `${missing.field} ${missing.id} is not a ${missing.type} of load balancer ${loadbalancerId}${where}`,
    );
  }
  if (!guard) return undefined;
  return explainGuard(loadbalancerId, resource === 'loadbalancer' ? target : conflict.root, conflict, guard);
}

/**
 * Why a guarded write was refused: the load balancer (or the pool it guards) is not in a status the
 * write allows (Octavia's 409, in its words); undefined when it only changed since the caller read
 * it (the caller reads again and retries).
 */
function explainGuard(
  loadbalancerId: string,
  root: StoredObject | undefined,
  conflict: RecordConflict,
  guard: RecordGuard,
): Refusal | undefined {
  if (!root) return refusal('not-found', `load balancer ${loadbalancerId} does not exist`);
  if (guard.pool && conflict.guardedPool && conflict.guardedPool.provisioningStatus !== 'ACTIVE')
    return refusal('conflict', `Pool ${guard.pool} is immutable and cannot be updated.`);
  if (!guard.statuses.includes(root.provisioningStatus))
    return refusal('conflict', `Load Balancer ${loadbalancerId} is immutable and cannot be updated.`);
  return undefined;
}
