import type { ApplyPlan } from './bigip-apply-plan.js';
import { fullPath, nodeName } from './bigip-names.js';
import { type BigIpCommand, type BigIpObject, kindRank, objectKey } from './bigip-objects.js';

/** One difference between a device and the desired state, as an operator reads it. */
export interface DriftItem {
  action: 'create' | 'change' | 'remove';
  kind: BigIpObject['kind'];
  /** Full path (`/P/name`; a member as `/P/pool/member`). */
  path: string;
  /** For a change: the attributes that differ. */
  fields?: string[];
}

const pathOf = (o: BigIpObject) =>
  o.kind === 'member' ? `/${o.partition}/${o.pool}/${o.name}` : `/${o.partition}/${o.name}`;

/** What a plan would do, object by object (a member list written at once counts member by member). */
export function describeDrift(plan: ApplyPlan, actualMembers?: Map<string, BigIpObject[]>): DriftItem[] {
  const out: DriftItem[] = [];
  if (plan.createFolder) out.push({ action: 'create', kind: 'folder', path: '/' });
  for (const c of plan.commands) out.push(...describeCommand(c, actualMembers));
  if (plan.removeFolder) out.push({ action: 'remove', kind: 'folder', path: '/' });
  return out;
}

function describeCommand(c: BigIpCommand, actualMembers?: Map<string, BigIpObject[]>): DriftItem[] {
  switch (c.op) {
    case 'create':
      return [{ action: 'create', kind: c.object.kind, path: pathOf(c.object) }];
    case 'update':
      return [
        {
          action: 'change',
          kind: c.object.kind,
          path: pathOf(c.object),
          fields: Object.keys(c.changes).sort(),
        },
      ];
    case 'delete':
      return [{ action: 'remove', kind: c.object.kind, path: pathOf(c.object) }];
    case 'replace-members': {
      const before = actualMembers?.get(objectKey(c.object)) ?? [];
      const after = new Set(c.members.map((m) => m.name));
      const had = new Set(before.map((m) => m.name));
      return [
        ...c.members
          .filter((m) => !had.has(m.name))
          .map((m): DriftItem => ({ action: 'create', kind: 'member', path: pathOf(m) })),
        ...before
          .filter((m) => !after.has(m.name))
          .map((m): DriftItem => ({ action: 'remove', kind: 'member', path: pathOf(m) })),
        ...c.members
          .filter((m) => had.has(m.name))
          .map((m): DriftItem => ({ action: 'change', kind: 'member', path: pathOf(m) })),
      ];
    }
  }
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/**
 * Whether a name is one this environment gives (`<env>_<uuid>`, a pool's cookie profile
 * `<env>_<uuid>_cookie`, a load balancer's TLS-HELLO program `<env>_<uuid>_tls_hello`, a listener's LTM policy `wrapper_policy_<uuid>` in one of its partitions,
 * a TLS listener's certificate, key, chain or profile `<env>_<16 hex>_<12 hex>.crt|.key|.chain.crt|_d|_s`):
 * anything else on a device was made by someone else and is never touched.
 */
export function isOurName(env: string, name: string): boolean {
  return (
    new RegExp(`^${env}_${UUID}(_cookie|_tls_hello)?$`).test(name) ||
    new RegExp(`^wrapper_policy_${UUID}$`).test(name) ||
    new RegExp(`^${env}_[0-9a-f]{16}_[0-9a-f]{12}(\\.crt|\\.key|\\.chain\\.crt|_d|_s)$`).test(name)
  );
}

/**
 * Whether a folder is one of this environment's tenant partitions: exactly `<env>_<project id>`
 * (32 hex digits or a UUID, as `partitionName` makes them). An operator's `<env>_shared` is not.
 */
export function isTenantPartition(env: string, name: string): boolean {
  return new RegExp(`^${env}_([0-9a-f]{32}|${UUID})$`).test(name);
}

/**
 * Objects in one of our partitions that carry our naming but that no desired object has: an
 * orphan is left by a lost delete, a failed clean-up, or a device restored from an old backup.
 * `desired` holds the keys of every object the desired state has in that partition (present or
 * about to be deleted).
 */
export function findOrphans(
  env: string,
  listed: readonly BigIpObject[],
  desired: ReadonlySet<string>,
): BigIpObject[] {
  return listed.filter((o) => isOurName(env, o.name) && !desired.has(objectKey(o)));
}

/**
 * Removes orphans in dependency order (virtual servers, pools with their members, monitors and
 * profiles, virtual addresses), then the nodes the removed pools' members used (the device refuses
 * while anything else uses one) and, when the whole partition is an orphan, the folder (refused,
 * harmlessly, while it holds anything we did not make). Each delete stands alone: every prefix is
 * a valid configuration, and a retry resumes.
 */
export function orphanPlan(
  orphans: readonly BigIpObject[],
  poolMembers: ReadonlyMap<string, readonly BigIpObject[]>,
  removeFolder: boolean,
): ApplyPlan {
  const commands: BigIpCommand[] = [...orphans]
    .sort((a, b) => kindRank(b.kind) - kindRank(a.kind) || a.name.localeCompare(b.name))
    .map((object) => ({ op: 'delete', object }));
  const nodes = new Set<string>();
  for (const o of orphans) {
    if (o.kind !== 'pool') continue;
    for (const m of poolMembers.get(objectKey(o)) ?? []) {
      const address = m.attrs.address;
      if (address) nodes.add(fullPath(m.nodePartition ?? m.partition, nodeName(String(address))));
    }
  }
  return { createFolder: false, commands, atomic: false, nodeCleanup: [...nodes].sort(), removeFolder };
}
