import type { BigIpCommand, BigIpObject } from './bigip-objects.js';

/**
 * A node's address is unique per route domain across partitions (device-facts.md §2.1, §7.13):
 * a member whose node would be `/Common/<address>` is refused while another partition has a node of
 * that address (`0107003a … Pool member node (/Common/10.0.3.110) and existing node
 * (/Project_1bcf…/10.0.3.110) cannot use the same IP Address`). A device F5's agent managed has its
 * nodes in the tenants' partitions, named by address; when that partition is the tenant's own (the
 * same environment prefix), its node is reused: the member goes into that partition. Any other
 * holder (another partition, or a node named otherwise) cannot be used by our member: the refusal
 * names it and says what to do.
 */
export interface NodeConflict {
  /** The node the member wanted (`/Common/10.0.3.110`). */
  wanted: string;
  /** Its address: the wanted node's name (ours are named by address). */
  address: string;
  /** The node that has the address, and its partition. */
  existing: string;
  existingPartition: string;
  /** The device's own words. */
  deviceMessage: string;
}

const CONFLICT_RE =
  /0107003a:\d+:[^(]*\((\/[^/)]+\/([^)]+))\) and existing node \((\/([^/)]+)\/[^)]+)\) cannot use the same IP Address/;

/** The node conflict a device's refusal describes, if it is one. */
export function nodeConflictIn(message: string): NodeConflict | undefined {
  const m = CONFLICT_RE.exec(message);
  if (!m) return undefined;
  const [, wanted, address, existing, existingPartition] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
  return { wanted, address, existing, existingPartition, deviceMessage: message };
}

/**
 * The change again with every member at the conflict's address placed in `partition` (the pool's),
 * when the node that has the address is `/<partition>/<address>`; undefined when it cannot be reused
 * or nothing is left to move (so a retry never repeats itself).
 */
export function reuseTenantNode(
  commands: readonly BigIpCommand[],
  conflict: NodeConflict,
  partition: string,
): BigIpCommand[] | undefined {
  if (conflict.existing !== `/${partition}/${conflict.address}`) return undefined;
  let moved = false;
  const place = (m: BigIpObject): BigIpObject => {
    if (m.kind !== 'member' || String(m.attrs.address) !== conflict.address) return m;
    if ((m.nodePartition ?? m.partition) === partition) return m;
    moved = true;
    return { ...m, nodePartition: partition };
  };
  const out = commands.map((c): BigIpCommand => {
    if (c.op === 'create') return { ...c, object: place(c.object) };
    if (c.op === 'replace-members') return { ...c, members: c.members.map(place) };
    return c;
  });
  return moved ? out : undefined;
}

/** Why a member cannot have its node, in words an operator can act on. */
export function nodeConflictReason(conflict: NodeConflict): string {
  return (
    `member address ${conflict.address}: node ${conflict.existing} of partition ${conflict.existingPartition} ` +
    `has the address ${conflict.address}, and a node's address is unique across partitions (one route ` +
    'domain); a member can use only a node of its own partition, named by its address, or of /Common. ' +
    `Remove or move that node, or use another address (device: ${conflict.deviceMessage})`
  );
}
