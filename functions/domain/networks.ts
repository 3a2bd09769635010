import { canonicalIp } from './ip-address.js';

/**
 * The environment's networks: what its configuration names (a network, its subnets and their
 * CIDRs, its segmentation on the devices), enough to resolve a VIP's or member's subnet or network,
 * allocate a VIP address from it, answer the Neutron reads real clients make before they create a
 * load balancer, and give each segmented network its route domain on every device. A network
 * without segmentation is the devices' default route domain 0, as before networks were isolated.
 */

export interface SubnetDefinition {
  id: string;
  name: string;
  cidr: string;
}

/**
 * How a network reaches the devices: a VLAN tag (the VLAN `vlan-<tag>` is created on each device
 * that needs it) or an existing VLAN or tunnel the operator made (`/Common/<name>`, never created
 * or removed by us).
 */
export type Segmentation = { vlan: number } | { existing: string };

/** SNAT for a network's virtual servers: the self IPs (automap) or a SNAT pool of these addresses. */
export type SnatSetting = 'automap' | { pool: string[] };

/** A device group's self IPs on a network: one per unit (in the group's unit order) and the floating one. */
export interface SelfIpSetting {
  units: string[];
  floating: string;
}

export interface NetworkDefinition {
  id: string;
  name: string;
  subnets: SubnetDefinition[];
  /** Absent: the network is route domain 0 and nothing is created for it on the devices. */
  segmentation?: Segmentation | undefined;
  /** The route domain id, when not the VLAN tag (required for an existing VLAN or tunnel). */
  routeDomain?: number | undefined;
  /** Default automap. */
  snat?: SnatSetting | undefined;
  /** Per device group name. */
  selfIps?: Record<string, SelfIpSetting> | undefined;
}

/**
 * A network's route-domain id: derived from its configuration alone (SAP's rule: the VLAN's
 * segmentation id, or the id configured with an existing VLAN), never allocated by whichever
 * device or agent comes first, so every unit and every agent agrees (upstream-agent.md §8).
 */
export function routeDomainOf(network: Pick<NetworkDefinition, 'segmentation' | 'routeDomain'>): number {
  if (!network.segmentation) return 0;
  if (network.routeDomain !== undefined) return network.routeDomain;
  return 'vlan' in network.segmentation ? network.segmentation.vlan : 0;
}

/** An address in a route domain, as the device writes it: `10.0.0.5%2` (no suffix in route domain 0). */
export function inRouteDomain(address: string, routeDomain: number): string {
  return routeDomain === 0 ? address : `${address}%${routeDomain}`;
}

/** Addresses a network keeps for the devices (self IPs of every group, SNAT pool addresses): never a VIP or a member. */
export function reservedAddresses(network: NetworkDefinition): Set<string> {
  const out = new Set<string>();
  for (const s of Object.values(network.selfIps ?? {}))
    for (const a of [...s.units, s.floating]) out.add(canonicalIp(a));
  if (typeof network.snat === 'object') for (const a of network.snat.pool) out.add(canonicalIp(a));
  return out;
}

/** The prefix length of the configured subnet of `network` that holds `address`, if any. */
export function prefixIn(network: NetworkDefinition, address: string): number | undefined {
  const subnet = network.subnets.find((s) => cidrContains(s.cidr, address));
  return subnet ? parseCidr(subnet.cidr)?.prefix : undefined;
}

/** A subnet with its network, as a VIP or member names it. */
export interface ResolvedSubnet {
  id: string;
  name: string;
  cidr: string;
  networkId: string;
  ipVersion: 4 | 6;
  /** False for a subnet the configuration does not name (accepted only in no-op network mode). */
  configured: boolean;
}

export interface NetworkCatalog {
  networks: readonly NetworkDefinition[];
  /**
   * No-op networks (the conformance run, as Octavia's no-op network driver): any network or subnet
   * id is accepted, as if it held this CIDR. Never set in a deployed environment.
   */
  noopCidr?: string;
}

/** A parsed CIDR: its first address and prefix as a bigint, and its family. */
interface Cidr {
  version: 4 | 6;
  base: bigint;
  prefix: number;
}

export function parseCidr(cidr: string): Cidr | undefined {
  const [address, bits] = cidr.split('/');
  if (address === undefined || bits === undefined || !/^\d{1,3}$/.test(bits)) return undefined;
  const prefix = Number(bits);
  const v4 = parseIpv4(address);
  if (v4 !== undefined) {
    if (prefix > 32) return undefined;
    return { version: 4, base: v4 & mask(32, prefix), prefix };
  }
  const v6 = parseIpv6(address);
  if (v6 === undefined || prefix > 128) return undefined;
  return { version: 6, base: v6 & mask(128, prefix), prefix };
}

function mask(width: number, prefix: number): bigint {
  const all = (1n << BigInt(width)) - 1n;
  return all ^ ((1n << BigInt(width - prefix)) - 1n);
}

function parseIpv4(address: string): bigint | undefined {
  const parts = address.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((acc, p) => (acc << 8n) + BigInt(Number(p)), 0n);
}

function parseIpv6(address: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(address) || address.includes(':::')) return undefined;
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const expand = (list: string[]): string[] | undefined => {
    const last = list.at(-1);
    if (last?.includes('.')) {
      const v4 = parseIpv4(last);
      if (v4 === undefined) return undefined;
      return [...list.slice(0, -1), (v4 >> 16n).toString(16), (v4 & 0xffffn).toString(16)];
    }
    return list;
  };
  const head = expand(groups(halves[0] as string));
  const tail = halves.length === 2 ? expand(groups(halves[1] as string)) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 2 && missing < 1) || (halves.length === 1 && missing !== 0)) return undefined;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (all.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return all.reduce((acc, g) => (acc << 16n) + BigInt(Number.parseInt(g, 16)), 0n);
}

function format(version: 4 | 6, value: bigint): string {
  if (version === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((s) => ((value >> s) & 0xffffn).toString(16));
  return canonicalIp(groups.join(':'));
}

/** True when `address` lies in `cidr` (same family). */
export function cidrContains(cidr: string, address: string): boolean {
  const c = parseCidr(cidr);
  if (!c) return false;
  const value = c.version === 4 ? parseIpv4(address) : parseIpv6(address);
  if (value === undefined) return false;
  const width = c.version === 4 ? 32 : 128;
  return (value & mask(width, c.prefix)) === c.base;
}

/** The IP version of an address, or undefined. */
export function ipVersionOf(address: string): 4 | 6 | undefined {
  if (parseIpv4(address) !== undefined) return 4;
  if (parseIpv6(address) !== undefined) return 6;
  return undefined;
}

/**
 * Addresses a VIP may take in a subnet, `count` of them from the `offset`-th usable one (wrapping
 * around): Neutron's default allocation pool, everything but the network address, the first
 * address (the gateway) and, for IPv4, the broadcast address. At most 2^20 addresses are
 * considered in a large (IPv6) subnet.
 */
export function vipCandidates(cidr: string, offset: number, count: number): string[] {
  const c = parseCidr(cidr);
  if (!c) return [];
  const width = c.version === 4 ? 32 : 128;
  const size = 1n << BigInt(width - c.prefix);
  const reserved = c.version === 4 ? 3n : 2n;
  if (size <= reserved) return [];
  const usable = size - reserved < 1n << 20n ? size - reserved : 1n << 20n;
  const out: string[] = [];
  const n = BigInt(Math.min(count, Number(usable)));
  for (let i = 0n; i < n; i++) {
    const index = (BigInt(Math.max(0, Math.floor(offset))) + i) % usable;
    out.push(format(c.version, c.base + 2n + index));
  }
  return out;
}

/** How many addresses `vipCandidates` can offer in a subnet. */
export function usableAddresses(cidr: string): number {
  const c = parseCidr(cidr);
  if (!c) return 0;
  const width = c.version === 4 ? 32 : 128;
  const size = 1n << BigInt(width - c.prefix);
  const reserved = c.version === 4 ? 3n : 2n;
  if (size <= reserved) return 0;
  return Number(size - reserved < 1n << 20n ? size - reserved : 1n << 20n);
}

/** A configured subnet by id, or (no-op networks) any id as a subnet of the no-op CIDR. */
export function findSubnet(catalog: NetworkCatalog, id: string): ResolvedSubnet | undefined {
  for (const n of catalog.networks)
    for (const s of n.subnets) if (s.id === id) return resolved(s, n.id, true);
  if (catalog.noopCidr) return resolved({ id, name: '', cidr: catalog.noopCidr }, id, false);
  return undefined;
}

export function findNetwork(catalog: NetworkCatalog, id: string): NetworkDefinition | undefined {
  const found = catalog.networks.find((n) => n.id === id);
  if (found) return found;
  if (catalog.noopCidr) return { id, name: '', subnets: [{ id, name: '', cidr: catalog.noopCidr }] };
  return undefined;
}

/** The network a configured subnet belongs to. */
export function networkOfSubnet(catalog: NetworkCatalog, subnetId: string): NetworkDefinition | undefined {
  return catalog.networks.find((n) => n.subnets.some((s) => s.id === subnetId));
}

function resolved(s: SubnetDefinition, networkId: string, configured: boolean): ResolvedSubnet {
  return {
    id: s.id,
    name: s.name,
    cidr: s.cidr,
    networkId,
    ipVersion: parseCidr(s.cidr)?.version ?? 4,
    configured,
  };
}

/**
 * A VIP port's id: the load balancer's id with the hex digits of its first group complemented
 * (d → 15 − d). The mapping is its own inverse, so `GET /v2.0/ports/{id}` finds the load balancer
 * in one read, and a port id never equals a load balancer's.
 */
export function vipPortId(loadbalancerId: string): string {
  const flip = (hex: string) => (15 - Number.parseInt(hex, 16)).toString(16);
  return loadbalancerId.toLowerCase().replace(/^[0-9a-f]{8}/, (g) => [...g].map(flip).join(''));
}

/** The load balancer whose VIP port this is (the inverse of vipPortId). */
export function loadBalancerOfPort(portId: string): string {
  return vipPortId(portId);
}

/** Neutron's shape of a subnet (what `openstack subnet show` and the SDK read). */
export function neutronSubnet(s: ResolvedSubnet, projectId: string) {
  const c = parseCidr(s.cidr);
  const gateway = c ? format(c.version, c.base + 1n) : null;
  const candidates = usableAddresses(s.cidr);
  const first = vipCandidates(s.cidr, 0, 1)[0];
  const last = candidates > 0 ? vipCandidates(s.cidr, candidates - 1, 1)[0] : undefined;
  return {
    id: s.id,
    name: s.name,
    network_id: s.networkId,
    cidr: s.cidr,
    ip_version: s.ipVersion,
    gateway_ip: gateway,
    allocation_pools: first && last ? [{ start: first, end: last }] : [],
    enable_dhcp: false,
    dns_nameservers: [],
    host_routes: [],
    ipv6_address_mode: null,
    ipv6_ra_mode: null,
    subnetpool_id: null,
    service_types: [],
    description: '',
    tags: [],
    project_id: projectId,
    tenant_id: projectId,
    revision_number: 0,
  };
}

/** Neutron's shape of a network. */
export function neutronNetwork(n: NetworkDefinition, projectId: string) {
  return {
    id: n.id,
    name: n.name,
    subnets: n.subnets.map((s) => s.id),
    status: 'ACTIVE',
    admin_state_up: true,
    shared: true,
    'router:external': false,
    port_security_enabled: false,
    mtu: 1500,
    availability_zones: [],
    description: '',
    tags: [],
    project_id: projectId,
    tenant_id: projectId,
    revision_number: 0,
  };
}

/**
 * A VIP port's Neutron status from what was measured: ACTIVE only once an agent put the load
 * balancer on a device (DOWN when its admin state is down); before that BUILD while it waits, or
 * ERROR when it failed.
 */
export function vipPortStatus(lb: {
  adminStateUp: boolean;
  appliedAt: number | undefined;
  provisioningStatus: string;
}): 'ACTIVE' | 'DOWN' | 'BUILD' | 'ERROR' {
  if (lb.appliedAt === undefined) return lb.provisioningStatus === 'ERROR' ? 'ERROR' : 'BUILD';
  return lb.adminStateUp ? 'ACTIVE' : 'DOWN';
}

/** Neutron's shape of a load balancer's VIP port. */
export function neutronVipPort(lb: {
  id: string;
  name: string;
  projectId: string;
  address: string;
  subnetId: string | undefined;
  networkId: string | undefined;
  adminStateUp: boolean;
  appliedAt: number | undefined;
  provisioningStatus: string;
}) {
  return {
    id: vipPortId(lb.id),
    name: `octavia-lb-${lb.id}`,
    network_id: lb.networkId ?? null,
    fixed_ips: [{ subnet_id: lb.subnetId ?? null, ip_address: lb.address }],
    device_owner: 'Octavia',
    device_id: `lb-${lb.id}`,
    status: vipPortStatus(lb),
    admin_state_up: lb.adminStateUp,
    mac_address: null,
    security_groups: [],
    allowed_address_pairs: [],
    port_security_enabled: false,
    description: '',
    tags: [],
    project_id: lb.projectId,
    tenant_id: lb.projectId,
    revision_number: 0,
  };
}
