import type { RejectionCategory } from './errors.js';
import { type MemberBatchRequest, type MemberSpec, MUTABLE_FIELDS } from './lbaas-request.js';
import { type Refusal, refusal } from './refusals.js';
import { buildTree, isDeleted, type ResourceRecord } from './resource-state.js';

/** What a member batch does to the stored members of its pool. */
export interface MemberBatchChanges {
  creates: MemberSpec[];
  /** Listed members that exist: the mutable fields that change (none: a member in ERROR tried again). */
  updates: { record: ResourceRecord<'member'>; changes: Partial<MemberSpec> }[];
  /** Members of the pool the batch does not list (none with `additive_only`). */
  deletes: ResourceRecord<'member'>[];
}

const IMMUTABLE: (keyof MemberSpec)[] = ['address', 'protocol_port', 'subnet_id'];
const CLEARED_WHEN_UNLISTED: ReadonlySet<keyof MemberSpec> = new Set(['monitor_address', 'monitor_port']);

/**
 * Compares a member batch with the load balancer's stored records (Octavia's member_batch_update):
 * a listed id that is new is created, a listed member of the pool is updated where its mutable
 * fields differ, and a member of the pool that is not listed is deleted unless the batch is
 * additive. Everything that would make the batch fail part-way is refused here, before anything
 * is written: an unknown or deleted pool, an id that is another object, an immutable field
 * changed, two members on one address and port (the refusal is returned).
 */
export function planMemberBatch(
  records: readonly ResourceRecord[],
  request: MemberBatchRequest,
  env: string,
): MemberBatchChanges | { refusal: Refusal } {
  const { loadbalancerId, tenantId } = request;
  const poolId = request.object.pool_id;
  const refuse = (category: RejectionCategory, message: string) => ({ refusal: refusal(category, message) });
  const tree = buildTree(records);
  if (!tree) return refuse('not-found', `load balancer ${loadbalancerId} does not exist`);
  if (tree.root.tenantId !== tenantId)
    return refuse(
      'tenant-mismatch',
      `load balancer ${loadbalancerId} does not belong to project ${tenantId}`,
    );
  if (tree.root.env !== env)
    return refuse(
      'environment-mismatch',
      `load balancer ${loadbalancerId} belongs to environment ${tree.root.env}, not ${env}`,
    );
  if (tree.root.provisioningStatus === 'PENDING_DELETE')
    return refuse('conflict', `load balancer ${loadbalancerId} is being deleted`);
  const pool = tree.pools.find((p) => p.id === poolId);
  if (!pool) return refuse('not-found', `pool_id ${poolId} is not a pool of load balancer ${loadbalancerId}`);
  if (isDeleted(tree, pool)) return refuse('conflict', `pool ${poolId} is being deleted`);

  const byId = new Map(records.map((r) => [r.id, r]));
  const inPool = tree.members.filter((m) => (m.desired as MemberSpec).pool_id === poolId);
  const listed = new Set(request.object.members.map((m) => m.id));
  const out: MemberBatchChanges = { creates: [], updates: [], deletes: [] };
  for (const member of request.object.members) {
    const existing = byId.get(member.id);
    if (!existing) {
      out.creates.push(member);
      continue;
    }
    if (existing.type !== 'member' || (existing.desired as MemberSpec).pool_id !== poolId)
      return refuse(
        'conflict',
        `member ${member.id} cannot be listed: it is ${existing.type} ${existing.id} of this load balancer${existing.type === 'member' ? `, in pool ${(existing.desired as MemberSpec).pool_id}` : ''}`,
      );
    if (existing.provisioningStatus === 'PENDING_DELETE')
      return refuse('conflict', `member ${member.id} is being deleted`);
    const stored = existing.desired as MemberSpec;
    const differing = IMMUTABLE.filter(
      (f) => member[f] !== undefined && JSON.stringify(member[f]) !== JSON.stringify(stored[f]),
    );
    if (differing.length > 0)
      return refuse(
        'immutable-field',
        `member ${member.id} cannot change ${differing.map((f) => `${f} (stored ${JSON.stringify(stored[f])}, given ${JSON.stringify(member[f])})`).join(', ')}`,
      );
    const changes: Partial<MemberSpec> = {};
    for (const f of MUTABLE_FIELDS.member) {
      // A listed member without an alternate monitor target has none (Octavia replaces the member).
      const given = CLEARED_WHEN_UNLISTED.has(f) ? (member[f] ?? null) : member[f];
      const had = CLEARED_WHEN_UNLISTED.has(f) ? (stored[f] ?? null) : stored[f];
      if (JSON.stringify(given) !== JSON.stringify(had)) Object.assign(changes, { [f]: given });
    }
    if (Object.keys(changes).length > 0 || existing.provisioningStatus === 'ERROR')
      out.updates.push({ record: existing as ResourceRecord<'member'>, changes });
  }
  if (!request.object.additive_only) {
    for (const m of inPool)
      if (!listed.has(m.id) && m.provisioningStatus !== 'PENDING_DELETE')
        out.deletes.push(m as ResourceRecord<'member'>);
  }
  // The device names a member by address and port: two in one pool would be refused.
  const staying = new Map<string, string>();
  for (const m of inPool)
    if (!out.deletes.includes(m as ResourceRecord<'member'>) && m.provisioningStatus !== 'PENDING_DELETE') {
      const d = m.desired as MemberSpec;
      staying.set(`${d.address}:${d.protocol_port}`, m.id);
    }
  for (const m of out.creates) {
    const holder = staying.get(`${m.address}:${m.protocol_port}`);
    if (holder)
      return refuse(
        'conflict',
        `member ${m.id} cannot be created: ${m.address}:${m.protocol_port} is already member ${holder} of pool ${poolId}`,
      );
  }
  return out;
}
