/**
 * The BIG-IP objects this control plane manages, in a device-neutral form. `attrs` hold only the
 * attributes we own, already in their canonical form, so desired and actual compare with `===`
 * on JSON. Adapters translate to and from iControl REST bodies.
 */
export const OBJECT_KINDS = [
  'folder',
  'ssl-cert',
  'ssl-key',
  'persistence-cookie',
  'persistence-source-addr',
  'tcp-profile',
  'monitor-program',
  'monitor',
  'pool',
  'member',
  'virtual-address',
  'client-ssl',
  'server-ssl',
  'ltm-policy',
  'rule',
  'virtual',
] as const;

/**
 * Objects named after their content (certificates, keys, the client-ssl profiles using them): one
 * that exists holds what its name says, so it is never updated, only created or deleted. Files are
 * put on a device outside transactions (upload, then install): before the change, removed after.
 */
export const CONTENT_NAMED: ReadonlySet<ObjectKind> = new Set([
  'ssl-cert',
  'ssl-key',
  'client-ssl',
  'server-ssl',
]);
export const DEVICE_FILES: ReadonlySet<ObjectKind> = new Set(['ssl-cert', 'ssl-key', 'monitor-program']);
export type ObjectKind = (typeof OBJECT_KINDS)[number];

export type MonitorType = 'http' | 'https' | 'tcp' | 'gateway-icmp' | 'udp' | 'external';

/** Every monitor type this control plane writes (its collections: `ltm/monitor/<type>`). */
export const MONITOR_TYPES: readonly MonitorType[] = [
  'http',
  'https',
  'tcp',
  'gateway-icmp',
  'udp',
  'external',
];

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
  /**
   * Certificates and keys: the PEM text to upload (an external monitor's program: its text). Key
   * material: it is never compared, logged or stored anywhere but on the device (bigip-objects
   * never travel in logs or records).
   */
  content?: string;
  /** An encrypted key's passphrase (its install), with the same care. */
  passphrase?: string;
  /** A client-ssl or server-ssl profile's encrypted keys' passphrases, by the key's full path, with the same care. */
  passphrases?: Record<string, string>;
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
  /** Certificates, keys and client-ssl profiles the partition holds (when a TLS listener is in scope). */
  tlsListed?: BigIpObject[];
  /**
   * The device's TMOS version: what an LTM policy may carry depends on it (tmos-versions.ts), and a
   * last-applied record holds only on the version that read it back (last-applied.ts). Absent: every
   * attribute is sent, and records are those of a device that did not say.
   */
  tmosVersion?: string;
}

/** A read the agent makes: one iControl REST GET each. */
export type ReadUnit =
  | { kind: 'virtual-address'; partition: string; name: string }
  | { kind: 'virtual'; partition: string; name: string }
  | { kind: 'pool'; partition: string; name: string }
  | { kind: 'monitor'; partition: string; name: string; monitorType: MonitorType }
  /** An external monitor's program (`sys file external-monitor`): its checksum. */
  | { kind: 'monitor-program'; partition: string; name: string }
  | { kind: 'persistence-cookie'; partition: string; name: string }
  | { kind: 'persistence-source-addr'; partition: string; name: string }
  | { kind: 'tcp-profile'; partition: string; name: string }
  | { kind: 'ltm-policy'; partition: string; name: string }
  | { kind: 'rule'; partition: string; name: string }
  /** The partition's certificates, keys and client-ssl profiles, by name (three listing GETs). */
  | { kind: 'tls-listing'; partition: string; name: string }
  | { kind: 'folder'; partition: string; name: string };

/**
 * Whether a node is one the device made for a member of ours: a device creates a member's node, with
 * its defaults, when none exists for the address. Only such a node is cleaned up once our last
 * member on its address goes; a node an operator made or changed by hand (a description, a
 * connection or rate limit, a ratio or monitor of its own) is theirs, and stays.
 */
export function isDeviceMadeNode(attrs: Readonly<Record<string, unknown>>): boolean {
  const is = (field: string, value: unknown, absent = true) =>
    attrs[field] === undefined ? absent : String(attrs[field]) === String(value);
  return (
    (attrs.description === undefined || attrs.description === '') &&
    is('connectionLimit', 0) &&
    is('rateLimit', 'disabled') &&
    is('ratio', 1) &&
    is('dynamicRatio', 1) &&
    is('logging', 'disabled') &&
    (attrs.monitor === undefined || /^(\/Common\/)?default$/.test(String(attrs.monitor).trim()))
  );
}
