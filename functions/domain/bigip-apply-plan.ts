import { destination, fullPath, isOwnRulePath, memberAddress, nodeName } from './bigip-names.js';
import {
  type BigIpCommand,
  type BigIpObject,
  CONTENT_NAMED,
  DEVICE_FILES,
  type DeviceSnapshot,
  kindRank,
  OBJECT_KINDS,
  objectKey,
  type ReadUnit,
} from './bigip-objects.js';
import type { Translation } from './bigip-translation.js';
import { type LastAppliedMap, unchangedSinceApplied } from './last-applied.js';
import type {
  HealthMonitorSpec,
  L7PolicySpec,
  L7RuleSpec,
  ListenerSpec,
  MemberSpec,
  PoolSpec,
  ResourceType,
} from './lbaas-request.js';
import { tunedSourceAddr } from './persistence-profiles.js';
import {
  allRecords,
  isPending,
  type LoadBalancerTree,
  type ResourceRecord,
  resourceKey,
} from './resource-state.js';
import { forVersion } from './tmos-versions.js';

/** What one request makes the agent look at on the device. */
export interface ApplyScope {
  /** Object keys (present or absent) this apply reconciles. */
  keys: Set<string>;
  /** The GETs needed to know their current state. */
  reads: ReadUnit[];
  /** Reconcile the whole load balancer (create, delete, sync). */
  full: boolean;
  /** Name prefixes of the TLS listeners in scope: their certificates, keys and profiles not wanted go. */
  tlsPrefixes: string[];
}

export interface ScopeTarget {
  resource: ResourceType;
  id: string;
  /** `members`: a pool's member list (a batch member update): the pool's scope, its settings untouched. */
  operation: 'create' | 'update' | 'delete' | 'sync' | 'members';
}

/**
 * The objects a request can change, so that an apply reads and writes only those: a member
 * touches its pool, a listener its virtual server. Creating, deleting or syncing a load balancer
 * covers all of it. This keeps a single-object change at a few REST calls however big the load
 * balancer is.
 */
export function scopeFor(tree: LoadBalancerTree, t: Translation, target: ScopeTarget): ApplyScope {
  const all = [...t.present.keys(), ...t.absent.keys()];
  const object = (key: string) => t.present.get(key) ?? t.absent.get(key);
  // Keys by owner, once: a pool of a thousand members must not cost a thousand scans of every key.
  const byOwner = new Map<string, string[]>();
  for (const k of all) {
    const owner = t.owner.get(k);
    if (owner === undefined) continue;
    const keys = byOwner.get(owner);
    if (keys) keys.push(k);
    else byOwner.set(owner, [k]);
  }
  const ownedBy = (type: ResourceType, id: string) => byOwner.get(resourceKey(type, id)) ?? [];
  const keys = new Set<string>();
  const addAll = (list: string[]) => {
    for (const k of list) keys.add(k);
  };
  const poolKeys = (poolId: string) => ownedBy('pool', poolId).filter((k) => object(k)?.kind === 'pool');
  const membersOf = (poolId: string) =>
    tree.members
      .filter((m) => (m.desired as MemberSpec).pool_id === poolId)
      .flatMap((m) => ownedBy('member', m.id));
  const listenersUsing = (poolId: string) =>
    tree.listeners
      .filter(
        (l) =>
          (l.desired as ListenerSpec).default_pool_id === poolId ||
          tree.pools.some((p) => p.id === poolId && (p.desired as PoolSpec).listener_id === l.id),
      )
      .flatMap((l) => ownedBy('listener', l.id));

  const full =
    target.operation === 'sync' ||
    (target.resource === 'loadbalancer' && target.operation !== 'update') ||
    t.loadbalancerDeleted;
  if (full) {
    addAll(all);
  } else {
    switch (target.resource) {
      case 'loadbalancer':
        addAll(ownedBy('loadbalancer', target.id));
        addAll(tree.listeners.flatMap((l) => ownedBy('listener', l.id)));
        break;
      case 'listener':
        addAll(ownedBy('listener', target.id));
        break;
      case 'pool':
        addAll(ownedBy('pool', target.id));
        addAll(membersOf(target.id));
        addAll(listenersUsing(target.id));
        addAll(
          tree.healthmonitors
            .filter((h) => h.desired.pool_id === target.id)
            .flatMap((h) => ownedBy('healthmonitor', h.id)),
        );
        break;
      case 'member': {
        const member = tree.members.find((m) => m.id === target.id);
        if (member) {
          const poolId = (member.desired as MemberSpec).pool_id;
          addAll(poolKeys(poolId));
          addAll(membersOf(poolId));
        }
        break;
      }
      case 'healthmonitor': {
        const hm = tree.healthmonitors.find((h) => h.id === target.id);
        addAll(ownedBy('healthmonitor', target.id));
        if (hm) {
          addAll(poolKeys((hm.desired as HealthMonitorSpec).pool_id));
          // Members with their own monitor carry this one's settings (bigip-translation.ts memberMonitor).
          const poolId = (hm.desired as HealthMonitorSpec).pool_id;
          if (tree.members.some((m) => memberMonitorWanted(m.desired as MemberSpec, poolId)))
            addAll(membersOf(poolId));
        }
        break;
      }
      case 'l7policy':
      case 'l7rule': {
        // Every L7 policy and rule of a listener lives in its one LTM policy, which its virtual names.
        const listenerId = l7ListenerOf(tree, target.resource, target.id);
        if (listenerId) addAll(ownedBy('listener', listenerId));
        break;
      }
    }
  }
  setAsideRefused(tree, t, target, keys);
  if (!full) addDependencies(tree, t, keys);
  // A pool brings every member back (its list must be whole), but a refused member is not needed
  // by anything: retried, it would fail every later change of its pool (a node conflict, say).
  if (!full) setAsideRefused(tree, t, target, keys, 'member');

  // A pool's cookie profile exists only while its persistence is APP_COOKIE. An absent one is worth
  // a read only when it may still be on the device: an update may be switching away from it, or the
  // pool (alone or with its load balancer) is being deleted while it still says APP_COOKIE.
  const usesAppCookie = (poolId: string) =>
    (tree.pools.find((p) => p.id === poolId)?.desired as PoolSpec | undefined)?.session_persistence?.type ===
    'APP_COOKIE';
  // The same for a UDP pool's own source-address profile, which exists only while its SOURCE_IP
  // persistence is tuned (persistence-profiles.ts).
  const tunesSourceAddr = (poolId: string) => {
    const pool = tree.pools.find((p) => p.id === poolId)?.desired as PoolSpec | undefined;
    return pool !== undefined && tunedSourceAddr(pool);
  };
  for (const key of [...keys]) {
    const o = object(key);
    if ((o?.kind !== 'persistence-cookie' && o?.kind !== 'persistence-source-addr') || !t.absent.has(key))
      continue;
    const poolId = (t.owner.get(key) ?? '').replace(/^pool#/, '');
    const switching = target.resource === 'pool' && target.operation === 'update' && poolId === target.id;
    const uses = o.kind === 'persistence-cookie' ? usesAppCookie(poolId) : tunesSourceAddr(poolId);
    if (!switching && !uses) keys.delete(key);
  }
  // A TLS listener's objects are found by listing the partition's (their names carry the content).
  // Keyed by the owner's resource key (a TERMINATED_HTTPS listener, a pool with TLS to members).
  const tlsPrefixes = [...t.tlsPrefixes]
    .filter(([owner]) => full || (byOwner.get(owner) ?? []).some((k) => keys.has(k)))
    .map(([, prefix]) => prefix);
  const reads = readsFor([...keys].map(object).filter((o): o is BigIpObject => !!o));
  if (tlsPrefixes.length > 0 && !reads.some((r) => r.kind === 'tls-listing'))
    reads.push({ kind: 'tls-listing', partition: t.partition, name: t.partition });
  return { keys, reads, full, tlsPrefixes };
}

/**
 * The scope of the requests applied as one change, grown by the scopes of the other pending objects
 * it reaches. Such an object is settled by this apply (its BIG-IP objects are in scope), so all it
 * changes must be applied too: a pool created with `listener_id` that a member's apply reaches
 * must also become its listener's pool, or its own request, finding it settled, would never do it.
 * The load balancer itself is not grown into (a child puts it in PENDING_UPDATE; its own requests
 * always apply in full).
 */
export function scopeForRequests(
  tree: LoadBalancerTree,
  t: Translation,
  targets: readonly ScopeTarget[],
): ApplyScope {
  let scope = mergeScopes(targets.map((target) => scopeFor(tree, t, target)));
  const grown = new Set(targets.map((target) => resourceKey(target.resource, target.id)));
  for (;;) {
    const owners = new Set([...scope.keys].map((k) => t.owner.get(k)));
    // A member's own scope is its pool's member list, which any scope that reaches one member of the
    // pool already holds: only listeners, pools and monitors can add to it.
    const reached = allRecords(tree).filter(
      (r) =>
        r !== tree.root &&
        r.type !== 'member' &&
        isPending(r.provisioningStatus) &&
        owners.has(resourceKey(r.type, r.id)) &&
        !grown.has(resourceKey(r.type, r.id)),
    );
    if (reached.length === 0 || scope.full) return scope;
    for (const r of reached) grown.add(resourceKey(r.type, r.id));
    scope = mergeScopes([
      scope,
      ...reached.map((r) =>
        scopeFor(tree, t, { resource: r.type, id: r.id, operation: pendingOperation(r) }),
      ),
    ]);
  }
}

/** Whether a member of a pool asks for an alternate monitor target. */
function memberMonitorWanted(m: MemberSpec, poolId: string): boolean {
  return m.pool_id === poolId && !!(m.monitor_address || m.monitor_port);
}

/** The listener whose LTM policy holds an L7 policy or rule. */
export function l7ListenerOf(tree: LoadBalancerTree, type: ResourceType, id: string): string | undefined {
  const policyId =
    type === 'l7rule'
      ? (tree.l7rules.find((r) => r.id === id)?.desired as L7RuleSpec | undefined)?.l7policy_id
      : id;
  const policy = tree.l7policies.find((p) => p.id === policyId);
  return policy ? (policy.desired as L7PolicySpec).listener_id : undefined;
}

function pendingOperation(r: ResourceRecord): ScopeTarget['operation'] {
  if (r.provisioningStatus === 'PENDING_CREATE') return 'create';
  if (r.provisioningStatus === 'PENDING_DELETE') return 'delete';
  return 'update';
}

/** The scope of several requests applied as one change: every key and read any of them needs. */
export function mergeScopes(scopes: readonly ApplyScope[]): ApplyScope {
  const keys = new Set<string>();
  const reads = new Map<string, ReadUnit>();
  const prefixes = new Set<string>();
  for (const s of scopes) {
    for (const k of s.keys) keys.add(k);
    for (const r of s.reads) reads.set(JSON.stringify(r), r);
    for (const p of s.tlsPrefixes) prefixes.add(p);
  }
  return {
    keys,
    reads: [...reads.values()],
    full: scopes.some((s) => s.full),
    tlsPrefixes: [...prefixes],
  };
}

/**
 * An object the device refused (ERROR) is not written again by requests for other objects: its
 * refusal would fail their transaction too, and one bad listener would block every change to its
 * load balancer. It is retried when a request names it, when something in scope references it
 * (see addDependencies), and by an operator's sync; its deletion always goes ahead.
 */
function setAsideRefused(
  tree: LoadBalancerTree,
  t: Translation,
  target: ScopeTarget,
  keys: Set<string>,
  only?: ResourceType,
): void {
  if (target.operation === 'sync' || t.loadbalancerDeleted) return;
  const refused = new Set(
    allRecords(tree)
      .filter(
        (r) =>
          r.provisioningStatus === 'ERROR' &&
          (only === undefined || r.type === only) &&
          !(r.type === target.resource && r.id === target.id),
      )
      .map((r) => resourceKey(r.type, r.id)),
  );
  if (refused.size === 0) return;
  for (const key of [...keys]) {
    if (t.present.has(key) && refused.has(t.owner.get(key) ?? '')) keys.delete(key);
  }
}

/**
 * Requests are applied one by one, but the desired tree may already hold later requests (the
 * scheduler records them as they arrive): a listener's default pool, a pool's new monitor. An
 * object in scope pulls in what it references when that has never been applied (or failed), so
 * the apply never points at something missing; objects applied before are trusted to exist.
 */
function addDependencies(tree: LoadBalancerTree, t: Translation, keys: Set<string>): void {
  const records = new Map(allRecords(tree).map((r) => [resourceKey(r.type, r.id), r]));
  const unapplied = (key: string) => {
    const owner = records.get(t.owner.get(key) ?? '');
    return owner !== undefined && (owner.appliedAt === undefined || owner.provisioningStatus === 'ERROR');
  };
  const byPath = new Map<string, string>();
  for (const [key, o] of t.present)
    byPath.set(`${o.kind === 'monitor' ? 'monitor' : o.kind}:/${o.partition}/${o.name}`, key);
  const queue = [...keys];
  while (queue.length > 0) {
    const o = t.present.get(queue.pop() as string);
    if (!o) continue;
    const refs: (string | undefined)[] = [];
    if (o.kind === 'virtual') {
      refs.push(byPath.get(`pool:${o.attrs.pool}`));
      for (const p of o.attrs.persist as string[])
        refs.push(byPath.get(`persistence-cookie:${p}`) ?? byPath.get(`persistence-source-addr:${p}`));
      if (tree.root.appliedAt === undefined) {
        // The load balancer itself is not on the device yet (its create is still on its way).
        for (const [key, x] of t.present)
          if (x.kind === 'virtual-address' || x.kind === 'folder') refs.push(key);
      }
    }
    if (o.kind === 'virtual') {
      for (const p of (o.attrs.policies as string[] | undefined) ?? [])
        refs.push(byPath.get(`ltm-policy:${p}`));
      for (const r of (o.attrs.rules as string[] | undefined) ?? []) refs.push(byPath.get(`rule:${r}`));
      for (const p of (o.attrs.profiles as string[] | undefined) ?? [])
        refs.push(byPath.get(`tcp-profile:${p}`), byPath.get(`server-ssl:${p}`));
    }
    // An iRule of ours names its pools in `pool /P/name` lines; a device refuses to save one naming a
    // pool that does not exist (device-facts.md §7.14), so the pools come first.
    if (o.kind === 'rule')
      for (const m of String(o.attrs.apiAnonymous ?? '').matchAll(/^\s*pool (\/\S+)$/gm))
        refs.push(byPath.get(`pool:${m[1]}`));
    if (o.kind === 'ltm-policy') {
      for (const rule of o.attrs.rules as { actions: { pool?: string }[] }[])
        for (const action of rule.actions) if (action.pool) refs.push(byPath.get(`pool:${action.pool}`));
    }
    if (o.kind === 'pool') {
      refs.push(byPath.get(`monitor:${o.attrs.monitor}`));
      for (const [key, x] of t.present) if (x.kind === 'member' && x.pool === o.name) refs.push(key);
    }
    if (o.kind === 'member' && o.attrs.monitor !== 'default')
      refs.push(byPath.get(`monitor:${o.attrs.monitor}`));
    // An external monitor's program is read whenever the monitor is written: the device refuses a
    // monitor whose program is missing (device-facts.md §8.5), and it is one GET.
    if (o.kind === 'monitor' && typeof o.attrs.run === 'string')
      refs.push(byPath.get(`monitor-program:${o.attrs.run}`));
    for (const ref of refs) {
      // Members and programs are read with their referrer even when applied (see above).
      const refKind = t.present.get(ref ?? '')?.kind;
      if (
        ref &&
        !keys.has(ref) &&
        (unapplied(ref) || refKind === 'member' || refKind === 'monitor-program')
      ) {
        keys.add(ref);
        queue.push(ref);
      }
    }
  }
}

function readsFor(objects: BigIpObject[]): ReadUnit[] {
  const reads = new Map<string, ReadUnit>();
  const put = (unit: ReadUnit) => reads.set(JSON.stringify(unit), unit);
  for (const o of objects) {
    switch (o.kind) {
      case 'folder':
        break; // every read answers "folder not found" when the partition is missing
      case 'member':
        put({ kind: 'pool', partition: o.partition, name: o.pool as string });
        break;
      case 'monitor':
        put({ kind: 'monitor', partition: o.partition, name: o.name, monitorType: o.monitorType ?? 'http' });
        break;
      case 'ssl-cert':
      case 'ssl-key':
      case 'client-ssl':
      case 'server-ssl':
        put({ kind: 'tls-listing', partition: o.partition, name: o.partition });
        break;
      default:
        put({ kind: o.kind, partition: o.partition, name: o.name } as ReadUnit);
    }
  }
  // The partition itself is read whenever it is in scope: whether a GET of an object in a missing
  // partition answers 400 or 404 is not pinned down (device-facts.md §3.2), so only the
  // folder's own GET says for sure whether it must be created.
  const folder = objects.find((o) => o.kind === 'folder');
  if (folder) put({ kind: 'folder', partition: folder.partition, name: folder.name });
  return [...reads.values()];
}

/** What an apply does on the device, in order. */
export interface ApplyPlan {
  /** Create the tenant's partition first (shared by the tenant's load balancers, so not part of one's change). */
  createFolder: boolean;
  /** The change itself, in dependency order. */
  commands: BigIpCommand[];
  /** Run `commands` as one iControl REST transaction (all or nothing). */
  atomic: boolean;
  /**
   * Nodes (full paths) to try to delete afterwards: the device refuses, harmlessly, while any
   * member anywhere still uses one (nodes in /Common are shared by tenants).
   */
  nodeCleanup: string[];
  /** Try to remove the partition afterwards (the device refuses, harmlessly, if it still holds objects). */
  removeFolder: boolean;
}

/**
 * Compares desired with actual for the objects in scope and orders the difference: creates and
 * updates by dependency (monitor → pool → member → virtual address → virtual server), then
 * deletes in reverse. Re-applying an unchanged tree plans nothing. Members found on the device
 * that the tree does not have are removed (their pool is ours).
 *
 * Like with like first (`lastApplied`, last-applied.ts): an object whose intent is the one last
 * applied and that the device reads back as it did right after that write is left alone, whatever
 * the device added, normalised or reordered. Only a changed intent, a changed read-back (drift) or an
 * object with no record of this TMOS version is compared field by field.
 */
export function planApply(
  t: Translation,
  scope: ApplyScope,
  snapshot: DeviceSnapshot,
  lastApplied?: LastAppliedMap,
): ApplyPlan {
  const writes: BigIpCommand[] = [];
  const deletes: BigIpCommand[] = [];
  let createFolder = false;
  const placed = placedAsOnDevice(snapshot);
  for (const key of scope.keys) {
    const wanted = t.present.get(key);
    // As this device's version takes it (a redirect code only from 14.0): sent and compared so;
    // a member where the device has it (its node's partition).
    const desired = wanted && placed(forVersion(wanted, snapshot.tmosVersion));
    const actual = snapshot.objects.get(key);
    if (desired) {
      if (desired.kind === 'folder') {
        createFolder = !snapshot.folderExists;
        continue;
      }
      if (!actual || !snapshot.folderExists) {
        writes.push({ op: 'create', object: desired });
        continue;
      }
      if (CONTENT_NAMED.has(desired.kind)) continue;
      if (unchangedSinceApplied(lastApplied?.get(key), desired, actual, snapshot.tmosVersion)) continue;
      const seen = desired.kind === 'virtual' ? withAddressDestination(actual, t) : actual;
      const attrs = desired.kind === 'virtual' ? withForeignRules(desired.attrs, seen, t) : desired.attrs;
      const changes: Record<string, unknown> = {};
      for (const [attr, value] of Object.entries(attrs)) {
        if (JSON.stringify(value) !== JSON.stringify(seen[attr])) changes[attr] = value;
      }
      if (Object.keys(changes).length > 0) writes.push({ op: 'update', object: desired, changes });
      continue;
    }
    const gone = t.absent.get(key);
    if (gone && actual && snapshot.folderExists) deletes.push({ op: 'delete', object: placed(gone) });
  }
  // Drift: members on a pool we manage that the tree does not know.
  for (const [poolKey, members] of snapshot.poolMembers) {
    if (!scope.keys.has(poolKey) || !t.present.has(poolKey)) continue;
    for (const member of members) {
      const key = objectKey(member);
      if (!t.present.has(key) && !t.absent.has(key)) deletes.push({ op: 'delete', object: member });
    }
  }
  // A member's own monitor that its member on the device still names and nothing wants any more:
  // removed after the member lets go of it (a write), or goes with its pool.
  for (const [poolKey, members] of snapshot.poolMembers) {
    if (!scope.keys.has(poolKey) || !snapshot.folderExists) continue;
    for (const member of members) {
      const stale = t.memberMonitors.get(String(member.attrs.monitor ?? ''));
      if (!stale || t.present.has(objectKey(stale))) continue;
      if (!t.absent.has(poolKey) && !scope.keys.has(objectKey(member)) && t.present.has(objectKey(member)))
        continue; // the member keeps naming it: not this apply's to change
      deletes.push({ op: 'delete', object: stale });
    }
  }
  // Certificates, keys and profiles of TLS listeners in scope that nothing wants any more (rotated, removed).
  for (const o of snapshot.tlsListed ?? []) {
    const key = objectKey(o);
    if (scope.tlsPrefixes.some((p) => o.name.startsWith(p)) && !t.present.has(key) && snapshot.folderExists)
      deletes.push({ op: 'delete', object: o });
  }
  writes.sort((a, b) => kindRank(a.object.kind) - kindRank(b.object.kind));
  deletes.sort((a, b) => kindRank(b.object.kind) - kindRank(a.object.kind));
  const commands = replaceMemberLists(t, scope, [...writes, ...deletes], placed);

  const nodes = new Set<string>();
  const onDevice = (pool: string | undefined) =>
    snapshot.poolMembers.get(`pool/${t.partition}/${pool}`) ?? [];
  const node = (m: BigIpObject, address: unknown) =>
    fullPath(m.nodePartition ?? m.partition, nodeName(String(address)));
  for (const c of deletes) {
    if (c.object.kind === 'member') {
      const actual = onDevice(c.object.pool).find((m) => m.name === c.object.name) ?? c.object;
      const address = actual.attrs.address ?? c.object.attrs.address;
      if (address) nodes.add(node(actual, address));
    }
    if (c.object.kind === 'pool') {
      for (const m of onDevice(c.object.name)) nodes.add(node(m, m.attrs.address));
    }
  }
  // A retry after the transaction committed but the node delete did not (a reset, a 503, a failover
  // in between) finds the member already gone: its node is cleaned now, or it would stay forever.
  // The device refuses to delete a node still in use, so this never removes someone else's.
  for (const key of scope.keys) {
    const gone = t.absent.get(key);
    if (gone?.kind === 'member' && !snapshot.objects.has(key))
      nodes.add(node(gone, memberAddress(gone.name)));
  }
  // The same for a deleted pool: every member it had in the desired state, whether the device still
  // shows it or not. The retry may find no pool to read them from (its delete committed), or the pool
  // without a member whose own delete committed earlier and whose retry came in this one change
  // (a member delete retried with its load balancer's delete, found by the long soak).
  for (const key of scope.keys) {
    if (t.absent.get(key)?.kind === 'pool') for (const n of t.deletedPoolNodes.get(key) ?? []) nodes.add(n);
  }
  // A surviving member of this load balancer may still use an address whose other member went away.
  for (const o of t.present.values()) if (o.kind === 'member') nodes.delete(node(o, o.attrs.address));

  return {
    createFolder,
    commands,
    // Deleting a whole load balancer is dependency-ordered deletes: every prefix is a valid
    // configuration and a retry resumes, so it skips the transaction's two extra calls. Files
    // (certificates, keys) are put before and removed after the change, never inside it.
    atomic: commands.filter((c) => !DEVICE_FILES.has(c.object.kind)).length > 1 && !t.loadbalancerDeleted,
    nodeCleanup: [...nodes].sort(),
    removeFolder: t.loadbalancerDeleted && scope.full,
  };
}

/**
 * A member the device already has stays where it is: in the partition of its node (/Common for ours,
 * the tenant's for one taken over from F5's agent or reusing its node: node-conflicts.ts), so an
 * update or a delete names it there.
 */
function placedAsOnDevice(snapshot: DeviceSnapshot): (o: BigIpObject) => BigIpObject {
  // Each pool's members by name, indexed once it is asked about (a thousand members, each looked up).
  const byPool = new Map<string, Map<string, BigIpObject>>();
  const membersOf = (poolKey: string) => {
    let index = byPool.get(poolKey);
    if (!index) {
      index = new Map();
      for (const m of snapshot.poolMembers.get(poolKey) ?? []) if (!index.has(m.name)) index.set(m.name, m);
      byPool.set(poolKey, index);
    }
    return index;
  };
  return (o) => {
    if (o.kind !== 'member') return o;
    const found = membersOf(objectKey({ kind: 'pool', partition: o.partition, name: o.pool as string })).get(
      o.name,
    );
    if (!found?.nodePartition || found.nodePartition === o.nodePartition) return o;
    return { ...o, nodePartition: found.nodePartition };
  };
}

/** From this many member changes on one pool, its whole member list is written at once. */
export const MEMBER_LIST_THRESHOLD = 3;

/**
 * Whether a read shows something this change deletes as already gone (an object in scope the
 * translation wants absent, or the partition of a change that deletes). A device whose mcpd
 * reloads answers 404 for objects that exist (bigip-rest.md A.6), so such a read proves a delete done
 * only from a device known ready.
 */
export function showsDeletesDone(t: Translation, scope: ApplyScope, snapshot: DeviceSnapshot): boolean {
  const deletes = [...scope.keys].filter((k) => t.absent.has(k));
  if (deletes.length === 0 && !t.loadbalancerDeleted) return false;
  return !snapshot.folderExists || deletes.some((k) => !snapshot.objects.has(k));
}

/**
 * Many member changes on one pool become one write of its member list (bigip-rest.md A.3: a pool carries
 * `members:[...]`; a PATCH with the list replaces them): a thousand members cost one call instead of
 * a thousand. Only when every member the pool should have is in scope, so the list is complete
 * (a member set aside as refused would otherwise be dropped), and the list goes where the member
 * changes would have gone: after pools, before virtual addresses.
 */
function replaceMemberLists(
  t: Translation,
  scope: ApplyScope,
  commands: BigIpCommand[],
  placed: (o: BigIpObject) => BigIpObject,
): BigIpCommand[] {
  const byPool = new Map<string, BigIpCommand[]>();
  for (const c of commands) {
    if (c.object.kind !== 'member') continue;
    const pool = c.object.pool as string;
    byPool.set(pool, [...(byPool.get(pool) ?? []), c]);
  }
  const replaced = new Map<string, BigIpCommand>();
  for (const [poolName, changes] of byPool) {
    if (changes.length < MEMBER_LIST_THRESHOLD) continue;
    const poolKey = objectKey({ kind: 'pool', partition: t.partition, name: poolName });
    const pool = t.present.get(poolKey);
    if (!pool || !scope.keys.has(poolKey)) continue;
    const desired = [...t.present.entries()].filter(([, o]) => o.kind === 'member' && o.pool === poolName);
    if (desired.some(([key]) => !scope.keys.has(key))) continue;
    replaced.set(poolName, {
      op: 'replace-members',
      object: pool,
      members: desired.map(([, o]) => placed(o)),
    });
  }
  if (replaced.size === 0) return commands;
  const out: BigIpCommand[] = [];
  for (const c of commands) {
    const pool = c.object.kind === 'member' ? (c.object.pool as string) : undefined;
    const list = pool === undefined ? undefined : replaced.get(pool);
    if (!list) out.push(c);
    else if (!out.includes(list)) out.push(list);
  }
  // Creates come before deletes: a list replacing created members sits among the creates, which is
  // where a list replacing only deleted members must go too (the pool must exist; its virtual may go later).
  return out.sort((a, b) => rank(a) - rank(b));
}

function rank(c: BigIpCommand): number {
  // Writes ascend by kind, deletes descend after them: keep that split, lists ranking as member writes.
  if (c.op === 'delete') return 2 * OBJECT_KINDS.length - kindRank(c.object.kind);
  return c.op === 'replace-members' ? kindRank('member') : kindRank(c.object.kind);
}

/**
 * A virtual server's iRules as this change leaves them: ours as the translation wants them, every
 * other one (an operator's) kept where the device has it. The translation names only ours, so
 * comparing its list alone would remove a hand-attached iRule from every virtual of a load balancer
 * with a PROXY pool.
 */
function withForeignRules(
  attrs: Record<string, unknown>,
  actual: Record<string, unknown>,
  t: Translation,
): Record<string, unknown> {
  const wanted = attrs.rules as string[] | undefined;
  if (wanted === undefined) return attrs;
  const own = (r: string) => isOwnRulePath(t.env, t.partition, r);
  const onDevice = (actual.rules as string[] | undefined) ?? [];
  const kept = onDevice.filter((r) => !own(r) || wanted.includes(r));
  const rules = [...kept, ...wanted.filter((r) => !kept.includes(r))];
  return { ...attrs, rules };
}

/**
 * A device reads a virtual server's destination back through the name of the virtual address that
 * holds its IP (`/P/<va name>:80`, `.80` for IPv6; device-facts.md §1.1). Our virtual
 * addresses are in the translation, so the destination is compared by address.
 */
function withAddressDestination(actual: Record<string, unknown>, t: Translation): Record<string, unknown> {
  const dest = /^\/([^/]+)\/(.+)[:.](\d+)$/.exec(String(actual.destination ?? ''));
  if (!dest) return actual;
  const [, partition, name, port] = dest as unknown as [string, string, string, string];
  const va = [...t.present.values(), ...t.absent.values()].find(
    (o) => o.kind === 'virtual-address' && o.partition === partition && o.name === name,
  );
  if (!va) return actual;
  return { ...actual, destination: destination(partition, String(va.attrs.address), Number(port)) };
}
