import { type ApplyScope, l7ListenerOf } from './bigip-apply-plan.js';
import { operatingStatusFor, type Translation } from './bigip-translation.js';
import type { MemberSpec, ResourceType } from './lbaas-request.js';
import {
  allRecords,
  isDeleted,
  isPending,
  type LoadBalancerTree,
  type ResourceRecord,
  resourceKey,
  type StatusOutcome,
} from './resource-state.js';

/**
 * Whether an apply wrote the load balancer's own recorded update: only its own request (or a full
 * apply) does; a child's scope may reach its virtual address, never all it changes (every
 * listener's virtual server, say).
 */
export function appliesOwnChange(
  tree: LoadBalancerTree,
  scope: ApplyScope,
  targets: readonly { resource: ResourceType; objectId: string }[],
): boolean {
  return scope.full || targets.some((t) => t.resource === 'loadbalancer' && t.objectId === tree.root.id);
}

/**
 * Which statuses an apply of one or more requests settles: pending objects whose BIG-IP objects were in
 * scope (and the children deleted with a deleted pool); the load balancer itself when it was in scope or when
 * nothing else of its tree is left pending. Objects the translation refused go to ERROR with its
 * reason; an ERROR child puts its pending load balancer in ERROR too.
 */
export function completions(
  tree: LoadBalancerTree,
  translation: Translation,
  scope: ApplyScope,
  targets: readonly { resource: ResourceType; objectId: string }[],
): StatusOutcome[] {
  const touched = new Set<string>();
  for (const key of scope.keys) {
    const owner = translation.owner.get(key);
    if (owner) touched.add(owner);
  }
  for (const target of targets) touched.add(resourceKey(target.resource, target.objectId));
  const inScope = (r: ResourceRecord): boolean => {
    if (scope.full || touched.has(resourceKey(r.type, r.id))) return true;
    // Members and monitors go with their pool: settled by the pool's delete. A member or monitor
    // deleted on its own is settled only by an apply whose scope held it, never because another
    // change touched its pool (that apply did not delete it: its own delete would then find it
    // settled, and it would stay on the device).
    // A deleted member whose device object a live member took over goes with that object's write.
    const replacedBy = r.type === 'member' ? translation.replaced.get(resourceKey(r.type, r.id)) : undefined;
    if (replacedBy && scope.keys.has(replacedBy)) return true;
    if (r.type === 'member' || r.type === 'healthmonitor') {
      const poolId = (r.desired as MemberSpec).pool_id;
      const pool = tree.pools.find((p) => p.id === poolId);
      return pool !== undefined && isDeleted(tree, pool) && touched.has(resourceKey('pool', poolId));
    }
    // L7 policies and rules are written with their listener's LTM policy, which the listener owns.
    if (r.type === 'l7policy' || r.type === 'l7rule') {
      const listenerId = l7ListenerOf(tree, r.type, r.id);
      return listenerId !== undefined && touched.has(resourceKey('listener', listenerId));
    }
    return false;
  };
  const outcome = (r: ResourceRecord): StatusOutcome => {
    const error = translation.errors.get(resourceKey(r.type, r.id));
    if (error) return { kind: 'error', record: r, reason: error };
    if (isDeleted(tree, r)) return { kind: 'deleted', record: r };
    return { kind: 'active', record: r, operatingStatus: operatingStatusFor(tree, r) };
  };

  const out: StatusOutcome[] = [];
  const children = allRecords(tree).filter((r) => r !== tree.root);
  for (const r of children) {
    // Pending objects, and objects deleted along with a deleted parent, settle when in scope.
    if ((isPending(r.provisioningStatus) || isDeleted(tree, r)) && inScope(r)) out.push(outcome(r));
  }
  const settled = new Set(out.map((o) => o.record));
  const othersPending = children.some((r) => isPending(r.provisioningStatus) && !settled.has(r));
  const root = tree.root;
  const rootSettles = root.ownChangePending
    ? appliesOwnChange(tree, scope, targets)
    : inScope(root) || !othersPending;
  if (isPending(root.provisioningStatus) && rootSettles) {
    const childError = out.find((o) => o.kind === 'error');
    out.push(
      childError && !isDeleted(tree, root)
        ? { kind: 'error', record: root, reason: (childError as { reason: string }).reason }
        : outcome(root),
    );
    settled.add(root);
  }
  // Operating statuses derive from configuration: adding a monitor turns a pool's members from
  // NO_MONITOR to ONLINE, disabling a load balancer disables its listeners.
  for (const r of allRecords(tree)) {
    if (settled.has(r) || r.provisioningStatus !== 'ACTIVE' || isDeleted(tree, r)) continue;
    const operating = operatingStatusFor(tree, r);
    if (operating !== r.operatingStatus) out.push({ kind: 'active', record: r, operatingStatus: operating });
  }
  return out;
}

/** A device refused the change: the request's object and its load balancer go to ERROR with the device's words. */
export function refusedByDevice(
  tree: LoadBalancerTree,
  target: { resource: ResourceType; objectId: string },
  reason: string,
): StatusOutcome[] {
  const out: StatusOutcome[] = [];
  const record = allRecords(tree).find((r) => r.type === target.resource && r.id === target.objectId);
  if (record) out.push({ kind: 'error', record, reason });
  if (record !== tree.root) out.push({ kind: 'error', record: tree.root, reason });
  return out;
}

/**
 * The listeners whose default pool an apply deleted: their `default_pool_id` is cleared, as
 * Octavia clears it when the pool's row goes (its listener keeps no reference to a deleted object).
 */
export function orphanedDefaultPools(
  tree: LoadBalancerTree,
  outcomes: readonly StatusOutcome[],
): { listenerId: string; poolId: string }[] {
  const deletedPools = new Set(
    outcomes.filter((o) => o.kind === 'deleted' && o.record.type === 'pool').map((o) => o.record.id),
  );
  return tree.listeners
    .filter((l) => !isDeleted(tree, l))
    .map((l) => ({
      listenerId: l.id,
      poolId: String((l.desired as { default_pool_id?: string | null }).default_pool_id ?? ''),
    }))
    .filter((l) => deletedPools.has(l.poolId));
}
