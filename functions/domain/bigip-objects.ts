/**
 * The BIG-IP objects this control plane manages, in a device-neutral form. `attrs` hold only the
 * attributes we own, already in their canonical form, so desired and actual compare with `===`
 * on JSON. Adapters translate to and from iControl REST bodies.
 */
export const OBJECT_KINDS = [
  'folder',
  'persistence-cookie',
  'monitor',
  'pool',
  'member',
  'virtual-address',
  'ltm-policy',
  'virtual',
] as const;
export type ObjectKind = (typeof OBJECT_KINDS)[number];

export type MonitorType = 'http' | 'https' | 'tcp' | 'gateway-icmp';

export interface BigIpObject {
  kind: ObjectKind;
  partition: string;
  name: string;
  /** For monitors: the monitor type (its collection). */
  monitorType?: MonitorType;
  /** For members: the pool's name (in `partition`). */
  pool?: string;
  /**
   * For members: the partition of the member and its node (`/Common`, shared by tenants; members
   * taken over from the upstream agent have theirs in the tenant's partition). Not part of the key.
   */
  nodePartition?: string;
  attrs: Record<string, unknown>;
}

/** Dependency rank: create in ascending order, delete in descending order. */
export function kindRank(kind: ObjectKind): number {
  return OBJECT_KINDS.indexOf(kind);
}

export function objectKey(
  o: Pick<BigIpObject, 'kind' | 'partition' | 'name' | 'monitorType' | 'pool'>,
): string {
  const qualifier = o.kind === 'monitor' ? `:${o.monitorType}` : o.kind === 'member' ? `:${o.pool}` : '';
  return `${o.kind}${qualifier}/${o.partition}/${o.name}`;
}

export type BigIpCommand =
  | { op: 'create'; object: BigIpObject }
  | { op: 'update'; object: BigIpObject; changes: Record<string, unknown> }
  | { op: 'delete'; object: BigIpObject }
  /** A pool's whole member list in one write (members not listed go): many member changes, one call. */
  | { op: 'replace-members'; object: BigIpObject; members: BigIpObject[] };

/** What was read from a device for a set of objects. */
export interface DeviceSnapshot {
  folderExists: boolean;
  /** Canonical attributes by object key; an absent key means the object does not exist. */
  objects: Map<string, Record<string, unknown>>;
  /** Pools read with their members: every member present, by pool key (for stale-member clean-up). */
  poolMembers: Map<string, BigIpObject[]>;
}

/** A read the agent makes: one iControl REST GET each. */
export type ReadUnit =
  | { kind: 'virtual-address'; partition: string; name: string }
  | { kind: 'virtual'; partition: string; name: string }
  | { kind: 'pool'; partition: string; name: string }
  | { kind: 'monitor'; partition: string; name: string; monitorType: MonitorType }
  | { kind: 'persistence-cookie'; partition: string; name: string }
  | { kind: 'ltm-policy'; partition: string; name: string }
  | { kind: 'folder'; partition: string; name: string };
