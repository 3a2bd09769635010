import { assertSafeName } from './bigip-names.js';
import { canonicalIp } from './ip-address.js';
import {
  inRouteDomain,
  type NetworkCatalog,
  type NetworkDefinition,
  networkOfSubnet,
  prefixIn,
  routeDomainOf,
} from './networks.js';

/**
 * A segmented network on one device group, as BIG-IP objects in /Common (device-facts.md
 * §2.5–§2.7): its route domain (the id derived from the configuration, networks.ts, so every unit
 * and every agent writes the same), its VLAN (unless the operator's existing one is named), a
 * floating self IP in the traffic group, a SNAT pool when the network has one (all carried to the
 * peer by config-sync), and each unit's own self IP (`traffic-group-local-only`, never synced:
 * written to that unit). Every object we create says so in its description, so nothing an operator
 * made is ever changed or removed.
 */

export const NET_PARTITION = 'Common';

export type NetKind = 'vlan' | 'route-domain' | 'self-ip' | 'snatpool';

/** A network object in /Common: `attrs` are the fields we own, in the device's canonical form. */
export interface NetObject {
  kind: NetKind;
  name: string;
  attrs: Record<string, unknown>;
}

export type NetCommand =
  | { op: 'create'; object: NetObject }
  | { op: 'update'; object: NetObject; changes: Record<string, unknown> }
  | { op: 'delete'; object: NetObject };

export function netObjectKey(o: Pick<NetObject, 'kind' | 'name'>): string {
  return `${o.kind}/${NET_PARTITION}/${o.name}`;
}

/** The description every network object we create carries: the environment and the network. */
export function networkMark(env: string, networkId: string): string {
  return `lbaas ${env} network ${networkId}`;
}

/** Whether a network object read from a device is one this environment created. */
export function isOurs(attrs: Readonly<Record<string, unknown>> | undefined, env: string): boolean {
  return String(attrs?.description ?? '').startsWith(`lbaas ${env} network `);
}

export const routeDomainName = (env: string, id: number) => assertSafeName(`${env}_rd${id}`, 'route domain');
export const vlanName = (env: string, tag: number) => assertSafeName(`${env}_vlan${tag}`, 'VLAN');
export const unitSelfIpName = (env: string, rd: number, unit: number) =>
  assertSafeName(`${env}_self${rd}_${unit}`, 'self IP');
export const floatingSelfIpName = (env: string, rd: number) => assertSafeName(`${env}_float${rd}`, 'self IP');
export const snatPoolName = (env: string, rd: number) => assertSafeName(`${env}_snat${rd}`, 'SNAT pool');

/** A network's objects on one device group. */
export interface NetworkOnGroup {
  routeDomain: number;
  network: NetworkDefinition;
  /** On the active unit, carried by config-sync: in creation order (VLAN, route domain, floating self IP, SNAT pool). */
  synced: NetObject[];
  /** Unit i's own self IP (in the group's unit order); empty when the group has no self IPs on the network. */
  local: NetObject[];
}

export interface NetworkOptions {
  env: string;
  /** The device group: its self IPs on the network are `selfIps[group]`. */
  group: string;
  /** The floating self IP's traffic group (an HA pair's floating one by default). */
  trafficGroup?: string | undefined;
}

/** The objects a segmented network needs on a device group (undefined for route domain 0: nothing). */
export function networkOnGroup(
  network: NetworkDefinition,
  options: NetworkOptions,
): NetworkOnGroup | undefined {
  const rd = routeDomainOf(network);
  if (!network.segmentation || rd === 0) return undefined;
  const { env } = options;
  const description = networkMark(env, network.id);
  const segmentation = network.segmentation;
  const vlanPath =
    'vlan' in segmentation
      ? `/${NET_PARTITION}/${vlanName(env, segmentation.vlan)}`
      : segmentation.existing.startsWith('/')
        ? segmentation.existing
        : `/${NET_PARTITION}/${segmentation.existing}`;
  const synced: NetObject[] = [];
  if ('vlan' in segmentation)
    synced.push({
      kind: 'vlan',
      name: vlanName(env, segmentation.vlan),
      attrs: { tag: segmentation.vlan, description },
    });
  synced.push({
    kind: 'route-domain',
    name: routeDomainName(env, rd),
    // Strict: an address of this route domain never reaches another's (device-facts.md §2.5).
    attrs: { id: rd, vlans: [vlanPath], strict: 'enabled', description },
  });
  const selfAddress = (address: string) => {
    const ip = canonicalIp(address);
    return `${inRouteDomain(ip, rd)}/${prefixIn(network, ip) ?? (ip.includes(':') ? 128 : 32)}`;
  };
  const selfIps = network.selfIps?.[options.group];
  if (selfIps)
    synced.push({
      kind: 'self-ip',
      name: floatingSelfIpName(env, rd),
      attrs: {
        address: selfAddress(selfIps.floating),
        vlan: vlanPath,
        trafficGroup: options.trafficGroup ?? '/Common/traffic-group-1',
        description,
      },
    });
  if (typeof network.snat === 'object')
    synced.push({
      kind: 'snatpool',
      name: snatPoolName(env, rd),
      attrs: {
        members: network.snat.pool
          .map((a) => `/${NET_PARTITION}/${inRouteDomain(canonicalIp(a), rd)}`)
          .sort(),
        description,
      },
    });
  const local = (selfIps?.units ?? []).map(
    (address, unit): NetObject => ({
      kind: 'self-ip',
      name: unitSelfIpName(env, rd, unit),
      attrs: {
        address: selfAddress(address),
        vlan: vlanPath,
        trafficGroup: '/Common/traffic-group-local-only',
        description,
      },
    }),
  );
  return { routeDomain: rd, network, synced, local };
}

/** The segmented network of a route domain, if the catalog has one. */
export function networkOfRouteDomain(catalog: NetworkCatalog, rd: number): NetworkDefinition | undefined {
  if (rd === 0) return undefined;
  return catalog.networks.find((n) => n.segmentation && routeDomainOf(n) === rd);
}

/**
 * The route domain a member's address is written in: its subnet's network's, else its load
 * balancer's. A subnet the catalog does not hold is refused (undefined) when the catalog names
 * networks and is not the conformance run's no-op one: writing it into another route domain would
 * put one tenant's server in another's network.
 */
export function memberRouteDomain(
  catalog: NetworkCatalog,
  subnetId: string | null | undefined,
  loadBalancerRd: number,
): number | undefined {
  if (!subnetId) return loadBalancerRd;
  const network = networkOfSubnet(catalog, subnetId);
  if (network) return routeDomainOf(network);
  if (catalog.networks.length === 0 || catalog.noopCidr !== undefined) return loadBalancerRd;
  return undefined;
}

/** A virtual server's source address translation on its network: automap, or the network's SNAT pool. */
export function sourceTranslation(
  network: NetworkDefinition | undefined,
  env: string,
): { type: 'automap' } | { type: 'snat'; pool: string } {
  if (network && typeof network.snat === 'object' && routeDomainOf(network) !== 0)
    return { type: 'snat', pool: `/${NET_PARTITION}/${snatPoolName(env, routeDomainOf(network))}` };
  return { type: 'automap' };
}

/**
 * What to send so that a unit holds `desired` (creates and updates, in order), given what it holds.
 * An object of ours by name but not by description is someone else's: it is never changed, and
 * the network cannot be put there (`foreign`).
 */
export function planNetwork(
  desired: readonly NetObject[],
  actual: ReadonlyMap<string, Record<string, unknown>>,
  env: string,
): { commands: NetCommand[]; foreign: string[] } {
  const commands: NetCommand[] = [];
  const foreign: string[] = [];
  for (const object of desired) {
    const found = actual.get(netObjectKey(object));
    if (!found) {
      commands.push({ op: 'create', object });
      continue;
    }
    if (!isOurs(found, env)) {
      foreign.push(`/${NET_PARTITION}/${object.name}`);
      continue;
    }
    const changes: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(object.attrs))
      if (JSON.stringify(found[field]) !== JSON.stringify(value)) changes[field] = value;
    // A route domain's id never changes on a device: a different one is another network's (refused above by name).
    if ('id' in changes) {
      foreign.push(`/${NET_PARTITION}/${object.name}`);
      continue;
    }
    if (Object.keys(changes).length > 0) commands.push({ op: 'update', object, changes });
  }
  return { commands, foreign };
}

/**
 * What removing a network from a unit deletes, in dependency order (SNAT pool, self IPs, route
 * domain, VLAN): only objects this environment created, never an operator's existing VLAN.
 */
export function removalOrder(
  objects: readonly NetObject[],
  actual: ReadonlyMap<string, Record<string, unknown>>,
  env: string,
): NetCommand[] {
  const rank: Record<NetKind, number> = { snatpool: 0, 'self-ip': 1, 'route-domain': 2, vlan: 3 };
  return objects
    .filter((o) => isOurs(actual.get(netObjectKey(o)), env))
    .sort((a, b) => rank[a.kind] - rank[b.kind])
    .map((object) => ({ op: 'delete', object }));
}

/** The route domain an address is written in (`10.0.0.5%2` → 2; none → 0). */
export function routeDomainOfAddress(address: string): number {
  const m = /%(\d+)(?:\/\d+)?$/.exec(address);
  return m ? Number(m[1]) : 0;
}

/**
 * What a network's writer holds as its "partition" in the writer's lease key
 * (`<env>#<cluster>#net<id>`): one writer of a network's objects per device group at a time. A
 * tenant partition is `<env>_<tenant>`, so the two never meet.
 */
export function networkLeaseName(rd: number): string {
  return `net${rd}`;
}
