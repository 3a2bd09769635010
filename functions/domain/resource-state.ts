import type { LastApplied } from './last-applied.js';
import type { ObjectSpec, Operation, ResourceType } from './lbaas-request.js';

export const PROVISIONING_STATUSES = [
  'PENDING_CREATE',
  'PENDING_UPDATE',
  'PENDING_DELETE',
  'ACTIVE',
  'ERROR',
] as const;
/** Octavia's operating statuses: OFFLINE is administratively down, ERROR is failing its health checks. */
export const OPERATING_STATUSES = [
  'ONLINE',
  'OFFLINE',
  'DEGRADED',
  'ERROR',
  'DRAINING',
  'NO_MONITOR',
] as const;
export type ProvisioningStatus = (typeof PROVISIONING_STATUSES)[number];
export type OperatingStatus = (typeof OPERATING_STATUSES)[number];

/** One object of a load balancer's tree as the resources table holds it. */
export interface ResourceRecord<R extends ResourceType = ResourceType> {
  loadbalancerId: string;
  type: R;
  id: string;
  tenantId: string;
  env: string;
  desired: ObjectSpec[R];
  provisioningStatus: ProvisioningStatus;
  operatingStatus: OperatingStatus;
  /** Why the object is in ERROR (a validation reason or the BIG-IP's message). */
  statusReason?: string;
  /** Bumped by every accepted request; status writes are conditional on it so a late apply never hides a newer request. */
  revision: number;
  requestId: string;
  /** When an agent first put the object on a device (absent: never applied yet). */
  appliedAt?: number;
  /**
   * A load balancer's own update is recorded and not yet applied. Its children's requests put it in
   * PENDING_UPDATE too; only then may a child's apply settle it (it did not write the update).
   */
  ownChangePending?: boolean;
  /**
   * Per device object this resource's translation makes (by object key): what was last applied and
   * what the device read back right after (last-applied.ts). Absent: never recorded.
   */
  lastApplied?: Record<string, LastApplied>;
  /** When the object was first recorded; the older of two clashing objects keeps its place. */
  createdAt: number;
  updatedAt: number;
}

/** What an apply learned about one object: the status to write, conditional on its revision. */
export type StatusOutcome =
  | {
      kind: 'active';
      record: ResourceRecord;
      operatingStatus: OperatingStatus;
      /** The record's new last-applied records, written with its status (last-applied.ts). */
      lastApplied?: Record<string, LastApplied>;
    }
  | { kind: 'error'; record: ResourceRecord; reason: string }
  | { kind: 'deleted'; record: ResourceRecord };

/** One object of one tenant in one environment (what a status write may touch). */
export interface ObjectRef {
  loadbalancerId: string;
  type: ResourceType;
  id: string;
  tenantId: string;
  env: string;
}

/**
 * The objects a request that will never be applied puts in ERROR: its own object and, for a
 * child, its load balancer (the tenant and environment guard every write).
 */
export function failedRequestTargets(
  request: {
    loadbalancerId: string;
    tenantId: string;
    resource: ResourceType;
    operation?: string;
    object: { id: string };
  },
  env: string,
): ObjectRef[] {
  const base = { loadbalancerId: request.loadbalancerId, tenantId: request.tenantId, env };
  // A member batch's object is its pool.
  const type = request.operation === 'batch_update' ? 'pool' : request.resource;
  const own = { ...base, type, id: request.object.id };
  return request.resource === 'loadbalancer'
    ? [own]
    : [own, { ...base, type: 'loadbalancer', id: request.loadbalancerId }];
}

/** The sort key of a resource inside its load balancer's partition. */
export function resourceKey(type: ResourceType, id: string): string {
  return `${type}#${id}`;
}

/** The status a request puts its object in while it waits for an agent. */
export function pendingStatusFor(operation: Operation): ProvisioningStatus {
  if (operation === 'create') return 'PENDING_CREATE';
  if (operation === 'update') return 'PENDING_UPDATE';
  return 'PENDING_DELETE';
}

/** The record a create request starts: pending, offline, revision 1. Every store writes this shape. */
export function newResourceRecord(
  request: {
    loadbalancerId: string;
    tenantId: string;
    resource: ResourceType;
    requestId: string;
    object: { id: string };
  },
  env: string,
  nowMs: number,
): ResourceRecord {
  return {
    loadbalancerId: request.loadbalancerId,
    type: request.resource,
    id: request.object.id,
    tenantId: request.tenantId,
    env,
    desired: request.object as ObjectSpec[ResourceType],
    provisioningStatus: 'PENDING_CREATE',
    operatingStatus: 'OFFLINE',
    revision: 1,
    requestId: request.requestId,
    createdAt: nowMs,
    updatedAt: nowMs,
  };
}

/** Not asked to be deleted itself (what is deleted with a parent needs the tree: isDeleted). */
export function notBeingDeleted(record: Pick<ResourceRecord, 'provisioningStatus'>): boolean {
  return record.provisioningStatus !== 'PENDING_DELETE';
}

export function isPending(status: ProvisioningStatus): boolean {
  return status.startsWith('PENDING_');
}

/** A load balancer and everything under it, grouped by type. */
export interface LoadBalancerTree {
  root: ResourceRecord<'loadbalancer'>;
  listeners: ResourceRecord<'listener'>[];
  pools: ResourceRecord<'pool'>[];
  members: ResourceRecord<'member'>[];
  healthmonitors: ResourceRecord<'healthmonitor'>[];
  l7policies: ResourceRecord<'l7policy'>[];
  l7rules: ResourceRecord<'l7rule'>[];
}

/** Groups the records of one load balancer; undefined if the root is gone. */
export function buildTree(records: readonly ResourceRecord[]): LoadBalancerTree | undefined {
  const root = records.find((r) => r.type === 'loadbalancer') as ResourceRecord<'loadbalancer'> | undefined;
  if (!root) return undefined;
  const of = <R extends ResourceType>(type: R) =>
    records.filter((r) => r.type === type).sort((a, b) => a.id.localeCompare(b.id)) as ResourceRecord<R>[];
  return {
    root,
    listeners: of('listener'),
    pools: of('pool'),
    members: of('member'),
    healthmonitors: of('healthmonitor'),
    l7policies: of('l7policy'),
    l7rules: of('l7rule'),
  };
}

export function allRecords(tree: LoadBalancerTree): ResourceRecord[] {
  return [
    tree.root,
    ...tree.listeners,
    ...tree.pools,
    ...tree.members,
    ...tree.healthmonitors,
    ...tree.l7policies,
    ...tree.l7rules,
  ];
}

/**
 * True when the record is being deleted itself or through a parent (deleting a load balancer
 * deletes its tree; deleting a pool deletes its members and its health monitor; deleting a
 * listener its L7 policies, and a policy its rules).
 */
export function isDeleted(tree: LoadBalancerTree, record: ResourceRecord): boolean {
  if (record.provisioningStatus === 'PENDING_DELETE') return true;
  if (tree.root.provisioningStatus === 'PENDING_DELETE') return true;
  if (record.type === 'l7rule') {
    const policy = tree.l7policies.find(
      (p) => p.id === (record.desired as { l7policy_id: string }).l7policy_id,
    );
    return policy !== undefined && isDeleted(tree, policy);
  }
  if (record.type === 'l7policy') {
    const listener = tree.listeners.find(
      (l) => l.id === (record.desired as { listener_id: string }).listener_id,
    );
    return listener !== undefined && listener.provisioningStatus === 'PENDING_DELETE';
  }
  if (record.type === 'member' || record.type === 'healthmonitor') {
    const poolId = (record.desired as { pool_id: string }).pool_id;
    const pool = tree.pools.find((p) => p.id === poolId);
    return pool !== undefined && pool.provisioningStatus === 'PENDING_DELETE';
  }
  return false;
}

/** The by-type index keys of an object: every object of one type in one environment, by name. */
export function listingKeys(env: string, type: ResourceType, id: string, name: string | undefined) {
  return { listKey: `${env}#${type}`, nameKey: `${name ?? ''}#${id}` };
}

/**
 * Whether the by-project index holds objects of this type. A pool's members and a policy's rules
 * are listed through their parent (one query of its load balancer's partition), never by project,
 * so their items carry no index keys: a sparse index, and a member write goes to one index less
 * (a 1,000-member batch writes its items 2,000 times, at creation and at ACTIVE).
 */
export function listedByProject(type: ResourceType): boolean {
  return type !== 'member' && type !== 'l7rule';
}

/**
 * The by-project index keys of an object (of a type {@link listedByProject}): one project's objects of one type in one environment,
 * in creation order (Octavia's default list order, created_at then id), so a listing's page is a
 * page of the index.
 */
export function projectListingKeys(
  env: string,
  type: ResourceType,
  tenantId: string,
  id: string,
  createdAt: number,
) {
  return { projectKey: `${env}#${type}#${tenantId}`, createdKey: createdKeyOf(createdAt, id) };
}

/** The sort key of the by-project index: creation time (fixed width), then id. */
export function createdKeyOf(createdAt: number, id: string): string {
  return `${String(Math.max(0, Math.floor(createdAt))).padStart(15, '0')}#${id}`;
}
