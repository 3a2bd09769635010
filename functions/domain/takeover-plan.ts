import { type BigIpObject, objectKey } from './bigip-objects.js';
import type { Translation } from './bigip-translation.js';
import {
  isOurs,
  NET_PARTITION,
  type NetObject,
  type NetworkOptions,
  networkOfRouteDomain,
  networkOnGroup,
  routeDomainOfAddress,
} from './network-objects.js';
import { type NetworkCatalog, routeDomainOf } from './networks.js';
import { isTenantPartition } from './reconcile-plan.js';

/**
 * Taking over a device F5's OpenStack agent configured (docs/takeover.md): what this environment
 * would do with each object the agent's layout puts there, decided from the device's inventory, the
 * load balancers in our records (translated as an apply would) and the configured networks. Pure:
 * nothing here reads or writes anything.
 *
 * The agent's layout (docs/takeover.md): a partition `<prefix>_<tenant>` per project; in it the
 * virtual addresses, virtual servers, pools and monitors named `<prefix>_<neutron id>`, members and
 * nodes named by address with `%<route domain>`, the tenant's route domain (named after the
 * partition, its id allocated by the agent), VLANs `vlan-<segmentation id>`, self IPs
 * `local-<device>-<subnet id>` and a SNAT pool `<prefix>_<tenant>`.
 */

/** The kinds of object the inventory lists (one collection each). */
export type InventoryKind =
  | 'folder'
  | 'route-domain'
  | 'vlan'
  | 'self-ip'
  | 'snatpool'
  | 'node'
  | 'virtual-address'
  | 'virtual'
  | 'pool'
  | 'member'
  | 'monitor';

/** One object on a device, with the few fields the takeover decides by. */
export interface InventoryItem {
  kind: InventoryKind;
  partition: string;
  name: string;
  /** Members: the pool's name (in `partition`); monitors: their type. */
  pool?: string;
  monitorType?: string;
  /** address (virtual address, node, member, self IP), destination (virtual), id and vlans (route domain), tag (VLAN), members (SNAT pool), description. */
  attrs: Record<string, unknown>;
}

export type TakeoverAction = 'adopt' | 'rename' | 'leave';

/** What the takeover would do with one object, and why. */
export interface TakeoverEntry {
  kind: InventoryKind;
  /** Full path (`/P/name`; a member as `/P/pool/member`). */
  path: string;
  /** The units that hold it (an HA pair's own self IPs are on one unit each). */
  units: string[];
  action: TakeoverAction;
  /** adopt: ours as it is; rename: ours is written as `target`, this one goes; leave: never touched. */
  target?: string;
  reason: string;
}

export interface TakeoverInput extends NetworkOptions {
  /** The F5 agent's `environment_prefix` (its default: `Project`). */
  agentPrefix: string;
  catalog: NetworkCatalog;
  /** Every load balancer of the environment with records, translated for this environment. */
  loadBalancers: readonly { id: string; tenantId: string; translation: Translation }[];
  /** Each unit's inventory, in the group's unit order (the group's unit names index the self IPs). */
  units: readonly { name: string; items: readonly InventoryItem[] }[];
}

/**
 * The agent's `environment_prefix` as the takeover accepts it: letters and digits, a letter first
 * (F5 limits it to 8 characters; 16 are accepted). It goes into a partition pattern, never a URL.
 */
export function assertAgentPrefix(prefix: string): void {
  if (!/^[A-Za-z][A-Za-z0-9]{0,15}$/.test(prefix))
    throw new RangeError(
      `agent prefix ${JSON.stringify(prefix.slice(0, 40))}: letters and digits only, a letter first, at most 16`,
    );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const pathOf = (i: Pick<InventoryItem, 'kind' | 'partition' | 'name' | 'pool'>) =>
  i.kind === 'folder'
    ? `/${i.name}`
    : i.kind === 'member'
      ? `/${i.partition}/${i.pool}/${i.name}`
      : `/${i.partition}/${i.name}`;

/** `10.0.0.5%2:8080` → `10.0.0.5%2`; IPv6 `…%2.8080` → `…%2`. */
const memberAddress = (name: string) => name.replace(/[:.]\d+$/, '');
const bare = (address: string) => address.split('%')[0]?.split('/')[0] ?? address;
const rdText = (rd: number) => (rd === 0 ? 'route domain 0' : `route domain ${rd}`);

/**
 * Every object of the agent's layout on the group, with what a takeover would do with it. Objects
 * outside the agent's tenant partitions are listed only when they are network objects (route
 * domains other than 0, VLANs, self IPs, SNAT pools): an operator's LTM objects in /Common are no
 * part of the agent's layout and are never touched.
 */
export function planTakeover(input: TakeoverInput): TakeoverEntry[] {
  const { env, agentPrefix } = input;
  // The same object on several units (what config-sync carries) is one entry.
  const seen = new Map<string, { item: InventoryItem; units: string[] }>();
  for (const unit of input.units)
    for (const item of unit.items) {
      if (!inScope(item, agentPrefix)) continue;
      const key = `${item.kind}:${item.monitorType ?? ''}:${pathOf(item)}`;
      const found = seen.get(key);
      if (found) found.units.push(unit.name);
      else seen.set(key, { item, units: [unit.name] });
    }

  // What our records want on the device, by key, with its load balancer.
  const desired = new Map<string, { lb: string; object: BigIpObject }>();
  const tenants = new Set<string>();
  const addresses = new Map<string, string[]>();
  for (const lb of input.loadBalancers) {
    tenants.add(lb.tenantId);
    for (const [key, object] of lb.translation.present) {
      desired.set(key, { lb: lb.id, object });
      if (object.kind === 'member') {
        const partitionKey = `${object.partition}|${String(object.attrs.address)}`;
        addresses.set(partitionKey, [...(addresses.get(partitionKey) ?? []), lb.id]);
      }
    }
  }
  const ours = oursOnGroup(input);
  const virtualAddresses = new Map<string, string>();
  for (const unit of input.units)
    for (const i of unit.items)
      if (i.kind === 'virtual-address') virtualAddresses.set(pathOf(i), String(i.attrs.address ?? ''));

  const entries: TakeoverEntry[] = [];
  for (const { item, units } of seen.values()) {
    const base = { kind: item.kind, path: pathOf(item), units };
    entries.push({ ...base, ...decide(item) });
  }
  return entries.sort((a, b) => a.path.localeCompare(b.path) || a.kind.localeCompare(b.kind));

  function decide(item: InventoryItem): Omit<TakeoverEntry, 'kind' | 'path' | 'units'> {
    switch (item.kind) {
      case 'folder':
      case 'virtual-address':
      case 'virtual':
      case 'pool':
      case 'monitor':
      case 'member':
      case 'node':
        if (item.partition === NET_PARTITION && item.kind !== 'folder')
          return { action: 'leave', reason: 'in /Common: no part of the agent’s layout' };
        return decideTenantObject(item);
      default:
        return decideNetworkObject(item);
    }
  }

  function decideTenantObject(item: InventoryItem): Omit<TakeoverEntry, 'kind' | 'path' | 'units'> {
    const partition = item.kind === 'folder' ? item.name : item.partition;
    const tenant = partition.slice(agentPrefix.length + 1);
    const ourPartition = `${env}_${tenant}`;
    if (!tenants.has(tenant))
      return { action: 'leave', reason: `no load balancer of project ${tenant} in our records` };
    if (item.kind === 'folder')
      return partition === ourPartition
        ? { action: 'adopt', reason: `project ${tenant}'s partition, named as ours` }
        : {
            action: 'rename',
            target: `/${ourPartition}`,
            reason: `project ${tenant}'s partition; ours is named with this environment's prefix`,
          };
    if (item.kind === 'node') return decideNode(item, ourPartition);
    if (item.kind === 'member') return decideMember(item, ourPartition);
    const prefix = `${agentPrefix}_`;
    const id = item.name.startsWith(prefix) ? item.name.slice(prefix.length) : '';
    if (!UUID.test(id))
      return { action: 'leave', reason: `not named <${agentPrefix}>_<id> as the agent names objects` };
    const name = `${env}_${id}`;
    const key = objectKey({
      kind: item.kind as BigIpObject['kind'],
      partition: ourPartition,
      name,
      ...(item.monitorType ? { monitorType: item.monitorType as never } : {}),
    });
    const wanted = desired.get(key);
    if (!wanted)
      return { action: 'leave', reason: `no ${item.kind} ${id} in our records for project ${tenant}` };
    const target = `/${ourPartition}/${name}`;
    const what = `load balancer ${wanted.lb}'s ${item.kind}`;
    const moved = addressMove(item, wanted.object);
    if (moved) return { action: 'rename', target, reason: `${what}; ${moved}` };
    return target === pathOf(item)
      ? { action: 'adopt', reason: `${what}, named as ours` }
      : { action: 'rename', target, reason: `${what}; ours is named with this environment's prefix` };
  }

  /** A virtual address's or virtual server's address in another route domain than ours. */
  function addressMove(item: InventoryItem, object: BigIpObject): string | undefined {
    const field = item.kind === 'virtual' ? 'destination' : 'address';
    // A device names a destination through its virtual address (`/P/<va name>:80`): read that one's address.
    const resolve = (destination: string) => {
      const target = destination.replace(/[:.]\d+$/, '');
      return virtualAddresses.get(target) ?? target;
    };
    const theirs = resolve(String(item.attrs[field] ?? ''));
    const mine = resolve(String(object.attrs[field] ?? ''));
    if (!theirs || !mine) return undefined;
    const rd = (s: string) => routeDomainOfAddress(s.split('/').pop() ?? s);
    if (rd(theirs) === rd(mine)) return undefined;
    return `its address is in ${rdText(rd(theirs))}, ours in ${rdText(rd(mine))} (the network's derived id): rewritten there`;
  }

  function decideMember(
    item: InventoryItem,
    ourPartition: string,
  ): Omit<TakeoverEntry, 'kind' | 'path' | 'units'> {
    const poolId = item.pool?.startsWith(`${agentPrefix}_`) ? item.pool.slice(agentPrefix.length + 1) : '';
    const pool = `${env}_${poolId}`;
    const key = objectKey({ kind: 'member', partition: ourPartition, pool, name: item.name });
    const wanted = desired.get(key);
    const target = `/${ourPartition}/${pool}/${item.name}`;
    if (wanted)
      return target === pathOf(item)
        ? {
            action: 'adopt',
            reason: `a member of load balancer ${wanted.lb}'s pool ${poolId}, named as ours`,
          }
        : {
            action: 'rename',
            target,
            reason: `a member of load balancer ${wanted.lb}'s pool ${poolId}; its pool is renamed`,
          };
    // The same server in another route domain: ours is written in the network's.
    const address = memberAddress(item.name);
    const port = item.name.slice(address.length);
    for (const v of desired.values())
      if (
        v.object.kind === 'member' &&
        v.object.partition === ourPartition &&
        v.object.pool === pool &&
        bare(String(v.object.attrs.address)) === bare(address) &&
        v.object.name.endsWith(port)
      )
        return {
          action: 'rename',
          target: `/${ourPartition}/${pool}/${v.object.name}`,
          reason: `a member of load balancer ${v.lb}'s pool ${poolId} in ${rdText(routeDomainOfAddress(address))}; ours is in ${rdText(routeDomainOfAddress(String(v.object.attrs.address)))}`,
        };
    return { action: 'leave', reason: `no member ${item.name} of pool ${poolId} in our records` };
  }

  function decideNode(
    item: InventoryItem,
    ourPartition: string,
  ): Omit<TakeoverEntry, 'kind' | 'path' | 'units'> {
    const address = String(item.attrs.address ?? item.name);
    const users = addresses.get(`${ourPartition}|${address}`);
    if (users)
      return {
        action: 'adopt',
        reason: `the node of load balancer ${users[0]}'s member(s); a node in the project's own partition named by its address is reused as the agent made it`,
      };
    for (const [k, lbs] of addresses) {
      const [p, a] = k.split('|') as [string, string];
      if (p === ourPartition && bare(a) === bare(address))
        return {
          action: 'rename',
          target: `/${NET_PARTITION}/${a}`,
          reason: `load balancer ${lbs[0]}'s member is at ${a}: ${rdText(routeDomainOfAddress(a))}, not ${rdText(routeDomainOfAddress(address))}`,
        };
    }
    return { action: 'leave', reason: `no member in our records at ${address}` };
  }

  function decideNetworkObject(item: InventoryItem): Omit<TakeoverEntry, 'kind' | 'path' | 'units'> {
    const path = pathOf(item);
    const mine = (o: NetObject | undefined, what: string) => {
      if (!o) return undefined;
      const target = `/${NET_PARTITION}/${o.name}`;
      if (target === path && isOurs(item.attrs, env))
        return { action: 'adopt' as const, reason: `${what}, made by this environment` };
      if (target === path)
        return {
          action: 'leave' as const,
          reason: `${what}'s name, but not made by this environment: the network is refused on this group until it goes`,
        };
      return { action: 'rename' as const, target, reason: what };
    };
    if (item.kind === 'route-domain') {
      const id = Number(item.attrs.id);
      const network = networkOfRouteDomain(input.catalog, id);
      if (network) {
        const o = ours.get(routeDomainOf(network))?.synced.find((x) => x.kind === 'route-domain');
        return (
          mine(o, `network ${network.id}'s route domain (id ${id}, derived from its segmentation)`) ?? none()
        );
      }
      // The agent allocated its ids: a route domain on a configured network's VLAN, with another id.
      const vlans = (item.attrs.vlans as string[] | undefined) ?? [];
      const tags = vlans.map((v) => vlanTag(v)).filter((t): t is number => t !== undefined);
      for (const n of input.catalog.networks) {
        const seg = n.segmentation;
        if (!seg) continue;
        const onIt = 'vlan' in seg ? tags.includes(seg.vlan) : vlans.some((v) => pathsEqual(v, seg.existing));
        if (onIt)
          return {
            action: 'rename',
            target: `/${NET_PARTITION}/${ours.get(routeDomainOf(n))?.synced.find((x) => x.kind === 'route-domain')?.name ?? `${env}_rd${routeDomainOf(n)}`}`,
            reason: `on network ${n.id}'s VLAN with id ${id}; ours has id ${routeDomainOf(n)} (derived from its segmentation): its addresses move from %${id} to %${routeDomainOf(n)}`,
          };
      }
      return { action: 'leave', reason: `route domain id ${id} is no configured network's` };
    }
    if (item.kind === 'vlan') {
      const tag = Number(item.attrs.tag);
      for (const n of input.catalog.networks) {
        const seg = n.segmentation;
        if (!seg) continue;
        if ('existing' in seg && pathsEqual(path, seg.existing))
          return {
            action: 'adopt',
            reason: `network ${n.id}'s existing VLAN: used as it is, never changed or removed`,
          };
        if ('vlan' in seg && seg.vlan === tag) {
          const o = ours.get(routeDomainOf(n))?.synced.find((x) => x.kind === 'vlan');
          return mine(o, `network ${n.id}'s VLAN (tag ${tag})`) ?? none();
        }
      }
      return {
        action: 'leave',
        reason: `tag ${Number.isFinite(tag) ? tag : 'none'} is no configured network's VLAN`,
      };
    }
    if (item.kind === 'self-ip') {
      const address = String(item.attrs.address ?? '');
      const rd = routeDomainOfAddress(address);
      const ip = bare(address);
      const network = networkOfRouteDomain(input.catalog, rd);
      const group = network ? ours.get(rd) : undefined;
      if (network && group) {
        const floating = group.synced.find((o) => o.kind === 'self-ip');
        if (floating && bare(String(floating.attrs.address)) === ip)
          return mine(floating, `network ${network.id}'s floating self IP`) ?? none();
        const unitOf = group.local.findIndex((o) => bare(String(o.attrs.address)) === ip);
        if (unitOf >= 0)
          return (
            mine(
              group.local[unitOf],
              `network ${network.id}'s self IP of unit ${input.units[unitOf]?.name ?? unitOf}`,
            ) ?? none()
          );
        return {
          action: 'leave',
          reason: `${address} is none of network ${network.id}'s configured self IPs on this group`,
        };
      }
      return { action: 'leave', reason: `${rdText(rd)} is no configured network's` };
    }
    // A SNAT pool: by the route domain of its addresses (the agent's members are SNAT translations named by subnet).
    const members = ((item.attrs.members as string[] | undefined) ?? []).map((m) => m.split('/').pop() ?? m);
    const rds = new Set(members.map((m) => routeDomainOfAddress(m)).filter((rd) => rd !== 0));
    for (const rd of rds) {
      const network = networkOfRouteDomain(input.catalog, rd);
      const o = ours.get(rd)?.synced.find((x) => x.kind === 'snatpool');
      if (network && o) return mine(o, `network ${network.id}'s SNAT pool`) ?? none();
      if (network)
        return {
          action: 'leave',
          reason: `network ${network.id} configures no SNAT pool (automap): left as it is`,
        };
    }
    return {
      action: 'leave',
      reason:
        rds.size === 0
          ? 'its members name no address in a configured network’s route domain'
          : `${[...rds].map(rdText).join(', ')}: no configured network's`,
    };
    function none() {
      return { action: 'leave' as const, reason: 'no object of ours matches it' };
    }
  }

  function vlanTag(vlanPath: string): number | undefined {
    for (const unit of input.units)
      for (const i of unit.items)
        if (i.kind === 'vlan' && pathsEqual(pathOf(i), vlanPath)) return Number(i.attrs.tag);
    return undefined;
  }
}

function pathsEqual(a: string, b: string): boolean {
  const norm = (p: string) => (p.startsWith('/') ? p : `/${NET_PARTITION}/${p}`);
  return norm(a) === norm(b);
}

/** Objects the takeover looks at: the agent's tenant partitions whole, and network objects anywhere. */
function inScope(item: InventoryItem, agentPrefix: string): boolean {
  if (item.kind === 'folder') return isTenantPartition(agentPrefix, item.name);
  if (item.kind === 'route-domain') return Number(item.attrs.id) !== 0;
  if (item.kind === 'vlan' || item.kind === 'self-ip' || item.kind === 'snatpool') return true;
  return isTenantPartition(agentPrefix, item.partition);
}

/** Every configured segmented network's objects on the group, by route domain. */
function oursOnGroup(input: TakeoverInput) {
  const out = new Map<number, NonNullable<ReturnType<typeof networkOnGroup>>>();
  for (const n of input.catalog.networks) {
    const on = networkOnGroup(n, input);
    if (on) out.set(on.routeDomain, on);
  }
  return out;
}
