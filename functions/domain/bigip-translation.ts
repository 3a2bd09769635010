import {
  appCookieProfileName,
  cidrRuleName,
  destination,
  fullPath,
  l7RuleName,
  ltmPolicyName,
  memberAddress,
  memberMonitorName,
  memberName,
  monitorName,
  nodeName,
  partitionName,
  poolName,
  proxyRuleName,
  tcpProfileName,
  virtualAddressName,
  virtualServerName,
} from './bigip-names.js';
import { type BigIpObject, type MonitorType, objectKey } from './bigip-objects.js';
import { LbaasError } from './errors.js';
import { canonicalIp, isV6 } from './ip-address.js';
import { allowedCidrsRule, l7RoutingRule } from './irule-translation.js';
import {
  type HealthMonitorSpec,
  type ListenerSpec,
  listenerTransport,
  type MemberSpec,
  type PoolSpec,
} from './lbaas-request.js';
import { listenerPolicy } from './ltm-policy-translation.js';
import {
  memberRouteDomain,
  networkOfRouteDomain,
  routeDomainOfAddress,
  sourceTranslation,
} from './network-objects.js';
import { inRouteDomain, type NetworkCatalog, type NetworkDefinition } from './networks.js';
import { sourceAddrProfile, sourceAddrProfileName, tunedSourceAddr } from './persistence-profiles.js';
import { proxyProtocolRule, proxyVersion } from './proxy-protocol.js';
import {
  isDeleted,
  type LoadBalancerTree,
  type OperatingStatus,
  type ResourceRecord,
  resourceKey,
} from './resource-state.js';
import { poolTls } from './server-ssl-translation.js';
import { programChecksum, TLS_HELLO_PROGRAM, tlsHelloProgramName } from './tls-hello-program.js';
import { type CertificateLookup, listenerTls, tlsPrefix } from './tls-translation.js';

export interface TranslationOptions {
  env: string;
  /** The certificates of TERMINATED_HTTPS listeners, read by the caller (the translation does no I/O). */
  certificates?: CertificateLookup;
  /** Traffic group of the virtual address (an HA pair's floating group by default). */
  trafficGroup?: string;
  /**
   * The environment's networks: a VIP and a member are written in their network's route domain
   * (`10.0.0.5%2`), a virtual server translates to its network's SNAT pool. Absent: no networks.
   */
  networks?: NetworkCatalog;
}

/** A load balancer's desired state as BIG-IP objects. */
export interface Translation {
  /** The environment it was made for (our object names start with it). */
  env: string;
  partition: string;
  loadbalancerDeleted: boolean;
  /** Objects that must exist, with the attributes we own. */
  present: Map<string, BigIpObject>;
  /** Objects that must not exist (deleted objects and the children deleted with them). */
  absent: Map<string, BigIpObject>;
  /** BIG-IP object key → the resource key (type#id) of the object it comes from. */
  owner: Map<string, string>;
  /** Resource key → why it cannot be put on a device (it goes to ERROR). */
  errors: Map<string, string>;
  /**
   * Owners of TLS objects (TERMINATED_HTTPS listeners, pools with TLS to members; live or being
   * deleted) by resource key → the name prefix of their TLS objects.
   */
  tlsPrefixes: Map<string, string>;
  /**
   * What a live listener the translation refused still has on a device, by name (a prefix ending in
   * `_` for its TLS objects): its virtual server, LTM policy and TLS objects stay as they are until it
   * can be translated again, so nothing takes them for orphans.
   */
  held: string[];
  /**
   * A deleted pool's key → the nodes (full paths) its members use. The device deletes a pool's
   * members with it; their nodes are ours to clean up, also on a retry that finds the pool gone.
   */
  deletedPoolNodes: Map<string, string[]>;
  /**
   * A deleted member's resource key → the device object a live member of its pool took over (the
   * same address and port, as a member batch replacing it lists): the apply that writes that
   * object settles the deleted member too.
   */
  replaced: Map<string, string>;
  /**
   * The member monitors that may be on a device (full path → the object): one per member of a pool
   * with a health monitor. One a device member still names and the translation does not want is
   * deleted after the member lets go of it (planApply).
   */
  memberMonitors: Map<string, BigIpObject>;
  /**
   * Route domains (other than 0) whose network objects must be on a device before `present` is
   * written (`live`), and those this load balancer's objects leave after the change (`released`:
   * the network may go once nothing else uses it).
   */
  routeDomains: { live: Set<number>; released: Set<number> };
}

const MONITOR_TYPES: Record<HealthMonitorSpec['type'], MonitorType> = {
  PING: 'gateway-icmp',
  TCP: 'tcp',
  HTTP: 'http',
  HTTPS: 'https',
  // A UDP monitor: a datagram to the member, down on ICMP port unreachable (peer-features.md §1.6).
  'UDP-CONNECT': 'udp',
  // A handshake-only check: an external monitor running our program (device-facts.md §8.1, §8.3).
  'TLS-HELLO': 'external',
};

/**
 * Upstream mapping; any member weight above 1 switches to the ratio variant. SOURCE_IP_PORT (a
 * member chosen per client address and port) is the device's own way with a flow: a BIG-IP picks a
 * member for a flow's first packet and keeps every later packet of that flow (its client address
 * and port) on it, so the pool balances flows round-robin. An inference from what a flow is: no
 * public source maps this algorithm onto a BIG-IP (docs/octavia-api.md).
 */
function loadBalancingMode(algorithm: PoolSpec['lb_algorithm'], ratio: boolean): string {
  if (algorithm === 'LEAST_CONNECTIONS')
    return ratio ? 'ratio-least-connections-member' : 'least-connections-member';
  if (algorithm === 'SOURCE_IP') return 'least-connections-node';
  return ratio ? 'ratio-member' : 'round-robin';
}

/** `200`, `200,202`, `200-204` → a `recv` regular expression on the status line. */
export function expectedCodesPattern(codes: string): string {
  const list: string[] = [];
  for (const part of codes.split(',')) {
    const [from, to] = part.split('-').map(Number) as [number, number | undefined];
    for (let c = from; c <= (to ?? from) && list.length < 400; c++) list.push(String(c));
  }
  return `HTTP/1\\.(0|1) (${list.join('|')})`;
}

/**
 * Upstream semantics: BIG-IP's timeout is the whole time before "down", i.e. retries × timeout.
 * From 13.0 a device lowers an interval that is not below the timeout (device-facts.md §1.3),
 * so the timeout is raised to at least interval + 1: what is sent is what the device keeps.
 */
export function monitorTiming(hm: Pick<HealthMonitorSpec, 'delay' | 'timeout' | 'max_retries'>) {
  return { interval: hm.delay, timeout: Math.max(hm.max_retries * hm.timeout, hm.delay + 1) };
}

/**
 * The HTTP request a monitor sends, with the two-character escapes every F5 client sends (§1.4):
 * HTTP/1.0 unless the monitor names 1.1, and its Host header when it names a domain, as Octavia's
 * own health check and SAP's provider build it (peer-features.md §1.6).
 */
export function monitorSendString(
  hm: Pick<HealthMonitorSpec, 'http_method' | 'url_path'> &
    Partial<Pick<HealthMonitorSpec, 'http_version' | 'domain_name'>>,
): string {
  const version = hm.http_version === 1.1 ? '1.1' : '1.0';
  const host = hm.domain_name ? `Host: ${hm.domain_name}\\r\\n` : '';
  return `${hm.http_method} ${hm.url_path} HTTP/${version}\\r\\n${host}\\r\\n`;
}

/**
 * A monitor's alias destination, where it checks instead of the member (`*:*`: the member itself).
 * The device writes an IPv6 alias with a dot before the port, as a virtual's destination.
 */
export function monitorDestination(
  address: string | null | undefined,
  port: number | null | undefined,
): string {
  const host = address ? canonicalIp(address) : '*';
  const p = port ? String(port) : '*';
  return address && isV6(host) ? `${host}.${p}` : `${host}:${p}`;
}

function monitorAttrs(t: TranslationContext, hm: HealthMonitorSpec): Record<string, unknown> {
  const attrs: Record<string, unknown> = { ...monitorTiming(hm), description: hm.name };
  // The program gets the member's address and port from the device; no argument of ours (§8.4).
  if (hm.type === 'TLS-HELLO') attrs.run = fullPath(t.partition, tlsHelloProgramName(t.env, t.tree.root.id));
  if (hm.type === 'HTTP' || hm.type === 'HTTPS') {
    attrs.send = monitorSendString(hm);
    attrs.recv = expectedCodesPattern(hm.expected_codes);
  }
  return attrs;
}

/**
 * Profiles of a listener's virtual server. An HTTP virtual lists `/Common/tcp` itself: a device adds
 * it to any standard virtual that lacks a TCP profile (§1.2), so sending it keeps desired = actual.
 */
export function virtualProfiles(protocol: ListenerSpec['protocol'], proxyProtocol = false): string[] {
  if (protocol === 'UDP') return ['/Common/udp'];
  // With a PROXY pool behind it: no connection reuse (each server connection carries one client's
  // header), and a full TCP proxy instead of fastL4, which runs no such iRule (peer-features.md §1.10).
  if (protocol === 'HTTP' || protocol === 'TERMINATED_HTTPS')
    return proxyProtocol
      ? ['/Common/http', '/Common/tcp']
      : ['/Common/http', '/Common/oneconnect', '/Common/tcp'];
  return proxyProtocol ? ['/Common/tcp'] : ['/Common/fastL4'];
}

/** Members' nodes live in /Common, shared by every tenant whose members use the address (AS3's shareNodes). */
export const NODE_PARTITION = 'Common';

/**
 * Translates a load balancer's tree into BIG-IP objects with the upstream agent's names:
 * partition per tenant, a virtual address per load balancer, a virtual server per listener, a
 * pool per pool with `ip:port` members, a monitor per health monitor, an LTM policy per listener
 * with L7 policies (ltm-policy-translation.ts). Pure: no device involved.
 */
export function translate(tree: LoadBalancerTree, options: TranslationOptions): Translation {
  const t = new TranslationContext(tree, options);
  // A VIP recorded in a route domain whose network this translation does not know is never written
  // into another one (route domain 0 would put it beside another tenant's addresses): refused.
  if (t.routeDomain !== 0 && !t.network && !t.out.loadbalancerDeleted) {
    const reason = `route domain ${t.routeDomain} of VIP ${tree.root.desired.vip_address} is no network configured for this agent`;
    for (const list of [
      [tree.root],
      tree.listeners,
      tree.pools,
      tree.members,
      tree.healthmonitors,
      tree.l7policies,
      tree.l7rules,
    ])
      for (const r of list) if (!t.deleted(r)) t.fail(r, reason);
    return t.out;
  }
  translateVirtualAddress(t);
  for (const pool of tree.pools) translatePool(t, pool);
  for (const hm of tree.healthmonitors) translateMonitor(t, hm);
  translateMonitorProgram(t);
  translateMembers(t);
  for (const listener of tree.listeners) translateListener(t, listener);
  usedRouteDomains(t);
  return t.out;
}

/** The route domains the objects wanted on a device use, and those only deleted objects used. */
function usedRouteDomains(t: TranslationContext): void {
  const rdOf = (o: BigIpObject) => routeDomainOfAddress(String(o.attrs.address ?? o.name));
  const { live, released } = t.out.routeDomains;
  for (const o of t.out.present.values())
    if (o.kind === 'virtual-address' || o.kind === 'member') live.add(rdOf(o));
  for (const o of t.out.absent.values())
    if (o.kind === 'member') released.add(routeDomainOfAddress(memberAddress(o.name)));
  if (
    t.out.loadbalancerDeleted ||
    t.out.absent.has(
      objectKey({
        kind: 'virtual-address',
        partition: t.partition,
        name: virtualAddressName(t.env, t.tree.root.id),
      }),
    )
  )
    released.add(t.routeDomain);
  for (const nodes of t.out.deletedPoolNodes.values())
    for (const n of nodes) released.add(routeDomainOfAddress(n));
  live.delete(0);
  released.delete(0);
  for (const rd of live) released.delete(rd);
}

/** One translation in progress: the tree, the partition and what has been decided so far. */
class TranslationContext {
  readonly env: string;
  readonly partition: string;
  readonly out: Translation;
  /** The load balancer's route domain (its VIP's network's; 0 without one) and that network. */
  readonly routeDomain: number;
  readonly network: NetworkDefinition | undefined;
  readonly catalog: NetworkCatalog;

  constructor(
    readonly tree: LoadBalancerTree,
    readonly options: TranslationOptions,
  ) {
    this.env = options.env;
    this.partition = partitionName(options.env, tree.root.tenantId);
    this.out = {
      env: this.env,
      partition: this.partition,
      loadbalancerDeleted: isDeleted(tree, tree.root),
      present: new Map(),
      absent: new Map(),
      owner: new Map(),
      errors: new Map(),
      tlsPrefixes: new Map(),
      held: [],
      deletedPoolNodes: new Map(),
      replaced: new Map(),
      memberMonitors: new Map(),
      routeDomains: { live: new Set(), released: new Set() },
    };
    this.catalog = options.networks ?? { networks: [] };
    this.routeDomain = tree.root.desired.vip_route_domain ?? 0;
    this.network = networkOfRouteDomain(this.catalog, this.routeDomain);
  }

  /** An address as the device writes it in a route domain. */
  at(address: string, rd: number): string {
    return inRouteDomain(address, rd);
  }

  /** An object that must exist (`present`) or must not (`absent`), owned by the record it comes from (the first one wins). */
  add(target: 'present' | 'absent', object: BigIpObject, record: ResourceRecord): void {
    const key = objectKey(object);
    this.out[target].set(key, object);
    if (!this.out.owner.has(key)) this.out.owner.set(key, resourceKey(record.type, record.id));
  }

  /** A record that cannot be put on a device, and why (the first reason wins). */
  fail(record: ResourceRecord, reason: string): void {
    if (!this.out.errors.has(resourceKey(record.type, record.id)))
      this.out.errors.set(resourceKey(record.type, record.id), reason);
  }

  deleted(record: ResourceRecord): boolean {
    return isDeleted(this.tree, record);
  }

  /** Pools with TLS to members → their server-ssl profile (full path), for the virtuals using them. */
  readonly serverSsl = new Map<string, string>();
  /** Pools whose TLS cannot be translated now, and why (their listeners are held as they are). */
  readonly poolTlsErrors = new Map<string, string>();

  private backupPools: Set<string> | undefined;

  /**
   * Whether a pool has a live backup member: then its pool activates priority groups and its other
   * members are the higher group (one rule for the pool and its members, worked out once per
   * translation: a thousand-member pool asked member by member would cost a million checks).
   */
  hasBackups(poolId: string): boolean {
    this.backupPools ??= new Set(
      this.tree.members
        .filter((m) => (m.desired as MemberSpec).backup === true && !this.deleted(m))
        .map((m) => m.desired.pool_id as string),
    );
    return this.backupPools.has(poolId);
  }
}

/** The load balancer's virtual address (and the tenant's partition while it lives). */
function translateVirtualAddress(t: TranslationContext): void {
  const { root } = t.tree;
  const lb = root.desired;
  const va: BigIpObject = {
    kind: 'virtual-address',
    partition: t.partition,
    name: virtualAddressName(t.env, root.id),
    attrs: {
      address: t.at(lb.vip_address, t.routeDomain),
      enabled: lb.admin_state_up ? 'yes' : 'no',
      autoDelete: 'false',
      trafficGroup: t.options.trafficGroup ?? '/Common/traffic-group-1',
      description: lb.name,
    },
  };
  if (t.out.loadbalancerDeleted) {
    t.add('absent', va, root);
  } else {
    t.add('present', { kind: 'folder', partition: t.partition, name: t.partition, attrs: {} }, root);
    t.add('present', va, root);
  }
}

/** A pool with its monitor reference and cookie persistence profile. */
function translatePool(t: TranslationContext, pool: ResourceRecord): void {
  const { env, partition, tree } = t;
  const spec = pool.desired as PoolSpec;
  const name = poolName(env, pool.id);
  const cookie: BigIpObject = {
    kind: 'persistence-cookie',
    partition,
    name: appCookieProfileName(env, pool.id),
    attrs: {
      method: 'hash',
      cookieName: spec.session_persistence?.cookie_name ?? '',
      defaultsFrom: '/Common/cookie',
    },
  };
  const rule: BigIpObject = {
    kind: 'rule',
    partition,
    name: proxyRuleName(env, pool.id),
    attrs: { apiAnonymous: proxyProtocolRule(fullPath(partition, name), proxyVersion(spec.protocol)) },
  };
  const sourceAddr = sourceAddrProfile(env, partition, pool.id, spec);
  // Its TLS objects (server-ssl-translation.ts) are found by their prefix, as a listener's are.
  const tlsOwned = () => t.out.tlsPrefixes.set(resourceKey('pool', pool.id), tlsPrefix(env, pool.id));
  if (t.deleted(pool)) {
    t.add('absent', { kind: 'pool', partition, name, attrs: {} }, pool);
    t.add('absent', cookie, pool);
    t.add('absent', sourceAddr, pool);
    if (proxyVersion(spec.protocol)) t.add('absent', rule, pool);
    if (spec.tls_enabled !== undefined) tlsOwned();
    return;
  }
  if (proxyVersion(spec.protocol)) t.add('present', rule, pool);
  const tls = poolTls(pool.id, spec, partition, env, t.options.certificates);
  if (tls.error) {
    // Its TLS objects stay as they are (a certificate that cannot be read never takes serving ones down).
    t.fail(pool, tls.error);
    t.poolTlsErrors.set(pool.id, tls.error);
    t.out.held.push(tlsPrefix(env, pool.id));
  } else {
    if (spec.tls_enabled !== undefined) tlsOwned();
    for (const o of tls.objects) t.add('present', o, pool);
    if (tls.profile) t.serverSsl.set(pool.id, tls.profile);
  }
  const members = tree.members.filter((m) => m.desired.pool_id === pool.id && !t.deleted(m));
  const ratio = members.some((m) => (m.desired as MemberSpec).weight > 1);
  // Backup members: priority group activation, the lower group only when the upper has no member up.
  const backups = t.hasBackups(pool.id);
  const hm = tree.healthmonitors.find((h) => h.desired.pool_id === pool.id && checks(tree, h));
  t.add(
    'present',
    {
      kind: 'pool',
      partition,
      name,
      attrs: {
        loadBalancingMode: loadBalancingMode(spec.lb_algorithm, ratio),
        monitor: hm ? fullPath(partition, monitorName(env, hm.id)) : '',
        minActiveMembers: backups ? 1 : 0,
        description: spec.name,
      },
    },
    pool,
  );
  t.add(spec.session_persistence?.type === 'APP_COOKIE' ? 'present' : 'absent', cookie, pool);
  t.add(tunedSourceAddr(spec) ? 'present' : 'absent', sourceAddr, pool);
}

/** A health monitor (gone with its pool). */
function translateMonitor(t: TranslationContext, hm: ResourceRecord): void {
  const spec = hm.desired as HealthMonitorSpec;
  const pool = t.tree.pools.find((p) => p.id === spec.pool_id);
  const object: BigIpObject = {
    kind: 'monitor',
    partition: t.partition,
    name: monitorName(t.env, hm.id),
    monitorType: MONITOR_TYPES[spec.type],
    attrs: monitorAttrs(t, spec),
  };
  if (t.deleted(hm) || (pool && t.deleted(pool))) t.add('absent', { ...object, attrs: {} }, hm);
  else if (!pool) t.fail(hm, `pool ${spec.pool_id} does not exist in load balancer ${t.tree.root.id}`);
  else t.add('present', object, hm);
}

/**
 * The TLS-HELLO program of a load balancer (`sys file external-monitor`): on the device while one of
 * its TLS-HELLO monitors lives, owned by the first such monitor; gone with the last one (a device
 * file: installed before the change that uses it, removed after the one that lets go of it).
 */
function translateMonitorProgram(t: TranslationContext): void {
  const tlsHello = t.tree.healthmonitors.filter((h) => (h.desired as HealthMonitorSpec).type === 'TLS-HELLO');
  if (tlsHello.length === 0) return;
  const live = tlsHello.filter((h) => t.out.present.has(monitorKey(t, h)));
  const program: BigIpObject = {
    kind: 'monitor-program',
    partition: t.partition,
    name: tlsHelloProgramName(t.env, t.tree.root.id),
    attrs: { checksum: programChecksum() },
    content: TLS_HELLO_PROGRAM,
  };
  const [owner] = live.length > 0 ? live : tlsHello;
  t.add(live.length > 0 ? 'present' : 'absent', program, owner as ResourceRecord);
}

function monitorKey(t: TranslationContext, hm: ResourceRecord): string {
  const type = MONITOR_TYPES[(hm.desired as HealthMonitorSpec).type];
  return objectKey({
    kind: 'monitor',
    partition: t.partition,
    name: monitorName(t.env, hm.id),
    monitorType: type,
  });
}

/**
 * Members under their pools, oldest first: the device names a member by address and port, so a
 * second member on one is refused (ERROR), and a deleted member never removes a live one's entry.
 */
function translateMembers(t: TranslationContext): void {
  const { env, partition, tree, out } = t;
  const taken = new Map<string, string>();
  const oldestFirst = [...tree.members].sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  for (const member of oldestFirst) {
    const spec = member.desired as MemberSpec;
    const pool = tree.pools.find((p) => p.id === spec.pool_id);
    // The member's address in its network's route domain (its subnet's, else its load balancer's).
    const rd = memberRouteDomain(t.catalog, spec.subnet_id, t.routeDomain);
    if (rd === undefined) {
      if (!t.deleted(member))
        t.fail(
          member,
          `subnet ${spec.subnet_id} of member ${member.id} is no network configured for this agent`,
        );
      continue;
    }
    if (rd !== 0 && !networkOfRouteDomain(t.catalog, rd)) {
      if (!t.deleted(member))
        t.fail(member, `route domain ${rd} of member ${member.id} is no network configured for this agent`);
      continue;
    }
    const address = t.at(spec.address, rd);
    if (pool && t.deleted(pool)) {
      // Deleting a pool deletes its members on the device; their nodes are cleaned up after.
      const poolKey = objectKey({ kind: 'pool', partition, name: poolName(env, pool.id) });
      const nodes = out.deletedPoolNodes.get(poolKey) ?? [];
      nodes.push(fullPath(NODE_PARTITION, nodeName(address)));
      out.deletedPoolNodes.set(poolKey, nodes);
      memberMonitor(t, member, pool);
      continue;
    }
    if (!pool) {
      if (!t.deleted(member))
        t.fail(member, `pool ${spec.pool_id} does not exist in load balancer ${tree.root.id}`);
      continue;
    }
    const poolHasBackups = t.hasBackups(pool.id);
    const ownMonitor = memberMonitor(t, member, pool);
    const object: BigIpObject = {
      kind: 'member',
      partition,
      pool: poolName(env, pool.id),
      nodePartition: NODE_PARTITION,
      name: memberName(address, spec.protocol_port),
      attrs: {
        address,
        ratio: Math.max(1, spec.weight),
        // With backups in the pool, the others are the higher group (1); without, every member is 0 (the default).
        priorityGroup: poolHasBackups && spec.backup !== true ? 1 : 0,
        session:
          spec.admin_state_up && spec.weight > 0 && (pool.desired as PoolSpec).admin_state_up
            ? 'user-enabled'
            : 'user-disabled',
        // Its own monitor replaces the pool's for this member; `default` is the pool's (device-facts.md §1.6).
        monitor: ownMonitor ? fullPath(partition, ownMonitor.name) : 'default',
        description: spec.name,
      },
    };
    const key = objectKey(object);
    if (t.deleted(member)) {
      out.owner.set(key, out.owner.get(key) ?? resourceKey('member', member.id));
      if (!out.present.has(key)) t.add('absent', { ...object, attrs: {} }, member);
      else out.replaced.set(resourceKey('member', member.id), key);
      continue;
    }
    const holder = taken.get(key);
    if (holder) {
      t.fail(member, `pool ${pool.id} already has member ${holder} at ${object.name}`);
      continue;
    }
    taken.set(key, member.id);
    if (ownMonitor) t.add('present', ownMonitor, member);
    const previous = out.owner.get(key);
    if (out.absent.has(key) && previous) out.replaced.set(previous, key);
    out.absent.delete(key);
    out.present.set(key, object);
    out.owner.set(key, resourceKey('member', member.id));
  }
}

/**
 * A member's own monitor when it names an alternate monitor address or port and its pool is
 * checked: the pool's health monitor with an alias destination (SAP's provider makes the same
 * per-member monitor: peer-features.md §1.6). Every member of a pool with a health monitor is
 * listed in `memberMonitors`, so one left on a device can be found and removed.
 */
function memberMonitor(
  t: TranslationContext,
  member: ResourceRecord,
  pool: ResourceRecord,
): BigIpObject | undefined {
  const spec = member.desired as MemberSpec;
  const hms = t.tree.healthmonitors.filter((h) => h.desired.pool_id === pool.id);
  const hm = hms.find((h) => checks(t.tree, h)) ?? hms[0];
  if (!hm) return undefined;
  const hmSpec = hm.desired as HealthMonitorSpec;
  const object: BigIpObject = {
    kind: 'monitor',
    partition: t.partition,
    name: memberMonitorName(t.env, member.id),
    monitorType: MONITOR_TYPES[hmSpec.type],
    attrs: {
      ...monitorAttrs(t, hmSpec),
      destination: monitorDestination(
        spec.monitor_address,
        hmSpec.type === 'PING' ? undefined : spec.monitor_port,
      ),
    },
  };
  t.out.memberMonitors.set(fullPath(t.partition, object.name), object);
  const wanted = !t.deleted(member) && checks(t.tree, hm) && !!(spec.monitor_address || spec.monitor_port);
  return wanted ? object : undefined;
}

/**
 * A listener's virtual server, its LTM policy (L7 policies) and TLS objects. A listener that cannot
 * be translated (a missing default pool, a persistence it cannot serve, a certificate that cannot be
 * read) goes to ERROR and keeps what it has on the device (`held`).
 */
function translateListener(t: TranslationContext, listener: ResourceRecord): void {
  const { env, partition, tree, out } = t;
  const lb = tree.root.desired;
  const spec = listener.desired as ListenerSpec;
  const vsName = virtualServerName(env, listener.id);
  const policy = listenerPolicy(tree, listener, partition, env);
  const policyObject: BigIpObject = policy.object ?? {
    kind: 'ltm-policy',
    partition,
    name: ltmPolicyName(listener.id),
    attrs: {},
  };
  for (const [key, reason] of policy.errors) if (!out.errors.has(key)) out.errors.set(key, reason);
  // Stale TLS objects are removed by name prefix: only for a listener going away or fully translated
  // (a certificate that cannot be read must never take the serving ones down).
  const tlsObjectsOf = () =>
    out.tlsPrefixes.set(resourceKey('listener', listener.id), tlsPrefix(env, listener.id));
  // A listener that cannot be applied goes to ERROR, and so does what depends on it (its L7
  // policies and rules: none of them reaches the device); what it has on a device stays (`held`).
  const refuse = (reason: string) => {
    t.fail(listener, reason);
    const why = `listener ${listener.id} is not applied: ${out.errors.get(resourceKey('listener', listener.id))}`;
    const policies = tree.l7policies.filter(
      (p) => (p.desired as { listener_id: string }).listener_id === listener.id,
    );
    for (const p of policies) if (!t.deleted(p)) t.fail(p, why);
    for (const r of tree.l7rules)
      if (!t.deleted(r) && policies.some((p) => p.id === (r.desired as { l7policy_id: string }).l7policy_id))
        t.fail(r, why);
    out.held.push(
      vsName,
      policyObject.name,
      cidrRule.name,
      l7Rule.name,
      tcpProfile.name,
      ...(spec.protocol === 'TERMINATED_HTTPS' ? [tlsPrefix(env, listener.id)] : []),
    );
  };
  // The listener's own iRules (irule-translation.ts): its allowed CIDRs, and its L7 routing while a
  // rule is a REGEX. Each is listed as absent once the listener has had a reason for it.
  const cidrs = spec.allowed_cidrs ?? [];
  const cidrRule: BigIpObject = { kind: 'rule', partition, name: cidrRuleName(env, listener.id), attrs: {} };
  const l7Rule: BigIpObject = { kind: 'rule', partition, name: l7RuleName(env, listener.id), attrs: {} };
  // Its own TCP profile while it sets an idle timeout (timeout_client_data = timeout_member_data).
  const tcpProfile: BigIpObject = {
    kind: 'tcp-profile',
    partition,
    name: tcpProfileName(env, listener.id),
    attrs: {},
  };
  if (t.deleted(listener)) {
    if (spec.protocol === 'TERMINATED_HTTPS') tlsObjectsOf();
    t.add('absent', { kind: 'virtual', partition, name: vsName, attrs: {} }, listener);
    if (policy.managed) t.add('absent', policyObject, listener);
    if (spec.allowed_cidrs !== undefined) t.add('absent', cidrRule, listener);
    if (policy.managed) t.add('absent', l7Rule, listener);
    if (spec.idle_timeout_ms !== undefined) t.add('absent', tcpProfile, listener);
    return;
  }
  const pool = spec.default_pool_id
    ? tree.pools.find((p) => p.id === spec.default_pool_id)
    : tree.pools.find((p) => (p.desired as PoolSpec).listener_id === listener.id);
  if (spec.default_pool_id && !pool) {
    refuse(`default pool ${spec.default_pool_id} does not exist in load balancer ${tree.root.id}`);
    return;
  }
  // A pool whose TLS to members cannot be translated now keeps its listener's virtual as it is.
  const poolTlsError = pool && !t.deleted(pool) ? t.poolTlsErrors.get(pool.id) : undefined;
  if (pool && poolTlsError) {
    refuse(`its default pool ${pool.id} is not applied: ${poolTlsError}`);
    return;
  }
  const livePool =
    pool && !t.deleted(pool) && !out.errors.has(resourceKey('pool', pool.id)) ? pool : undefined;
  // A server-ssl profile belongs to the virtual: every pool it sends to must want the same TLS.
  const serverSsl = livePool ? t.serverSsl.get(livePool.id) : undefined;
  const mixed = redirectPools(t, listener).find(
    (p) => p.id !== livePool?.id && t.serverSsl.get(p.id) !== serverSsl,
  );
  if (mixed) {
    refuse(
      `its L7 policies send to pool ${mixed.id}, whose TLS to members differs from its default pool's: a BIG-IP virtual server has one server-ssl profile for every pool it sends to`,
    );
    return;
  }
  const persist = persistence(listener, livePool, partition, env);
  if (persist instanceof LbaasError) {
    refuse(persist.message);
    return;
  }
  const tls =
    spec.protocol === 'TERMINATED_HTTPS'
      ? listenerTls(listener.id, spec, partition, env, t.options.certificates)
      : undefined;
  if (tls?.error) {
    refuse(tls.error);
    return;
  }
  if (policy.managed) t.add(policy.object ? 'present' : 'absent', policyObject, listener);
  if (tls) tlsObjectsOf();
  const proxyRules = proxyRulesOf(t, listener, livePool);
  const ownRules: string[] = [];
  if (cidrs.length > 0) {
    cidrRule.attrs = { apiAnonymous: allowedCidrsRule(cidrs, listenerTransport(spec.protocol)) };
    t.add('present', cidrRule, listener);
    ownRules.push(fullPath(partition, cidrRule.name));
  } else if (spec.allowed_cidrs !== undefined) t.add('absent', cidrRule, listener);
  if (policy.routed) {
    l7Rule.attrs = {
      apiAnonymous: l7RoutingRule(
        policy.routed,
        (id) => fullPath(partition, poolName(env, id)),
        livePool ? fullPath(partition, poolName(env, livePool.id)) : undefined,
      ),
    };
    t.add('present', l7Rule, listener);
    ownRules.push(fullPath(partition, l7Rule.name));
  } else if (policy.managed) t.add('absent', l7Rule, listener);
  const idle = spec.idle_timeout_ms;
  let profiles = virtualProfiles(spec.protocol, proxyRules.length > 0);
  if (typeof idle === 'number' && spec.protocol !== 'UDP') {
    tcpProfile.attrs = { defaultsFrom: '/Common/tcp', idleTimeout: idle / 1000 };
    t.add('present', tcpProfile, listener);
    // Its TCP profile takes the place of /Common/tcp, and of fastL4 (whose one idle timeout is not
    // ours to change): such a listener is a full TCP proxy, as with a PROXY pool behind it.
    const own = fullPath(partition, tcpProfile.name);
    profiles = [...profiles.filter((p) => p !== '/Common/tcp' && p !== '/Common/fastL4'), own];
  } else if (idle !== undefined) t.add('absent', tcpProfile, listener);
  // iRules only where a listener has had a reason for one (the other virtuals keep what they had).
  const rulesManaged =
    spec.allowed_cidrs !== undefined ||
    policy.managed ||
    tree.pools.some((p) => proxyVersion((p.desired as PoolSpec).protocol) !== undefined);
  if (serverSsl) {
    // TLS to members: the pool's server-ssl profile; it needs a full TCP proxy (not fastL4).
    profiles = profiles.filter((p) => p !== '/Common/fastL4');
    if (!profiles.some((p) => p === '/Common/tcp' || p.endsWith('_tcp'))) profiles.push('/Common/tcp');
    profiles.push(serverSsl);
  }
  for (const o of tls?.objects ?? []) t.add('present', o, listener);
  t.add(
    'present',
    {
      kind: 'virtual',
      partition,
      name: vsName,
      attrs: {
        destination: destination(partition, t.at(lb.vip_address, t.routeDomain), spec.protocol_port),
        mask: isV6(lb.vip_address) ? 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' : '255.255.255.255',
        // A UDP listener: a UDP virtual server with the UDP profile (bigip-rest.md A.3).
        ipProtocol: listenerTransport(spec.protocol),
        pool: livePool ? fullPath(partition, poolName(env, livePool.id)) : '',
        profiles: [...profiles, ...(tls?.profiles ?? [])].sort(),
        persist,
        // Automap (the network's self IPs), or the network's SNAT pool (device-facts.md §2.7).
        sourceAddressTranslation: sourceTranslation(t.network, env),
        connectionLimit: Math.max(spec.connection_limit, 0),
        enabled: spec.admin_state_up && lb.admin_state_up,
        description: spec.name,
        // Only on listeners with L7 policies: the others' virtuals keep the bodies they always had.
        ...(policy.managed
          ? { policies: policy.object ? [fullPath(partition, policy.object.name)] : [] }
          : {}),
        ...(rulesManaged ? { rules: [...ownRules, ...proxyRules] } : {}),
      },
    },
    listener,
  );
}

/** The live pools a listener's L7 policies send to. */
function redirectPools(t: TranslationContext, listener: ResourceRecord): ResourceRecord[] {
  const ids = new Set(
    t.tree.l7policies
      .filter(
        (p) =>
          !t.deleted(p) &&
          (p.desired as { listener_id: string }).listener_id === listener.id &&
          (p.desired as { action: string }).action === 'REDIRECT_TO_POOL',
      )
      .map((p) => (p.desired as { redirect_pool_id?: string }).redirect_pool_id),
  );
  return t.tree.pools.filter((p) => ids.has(p.id) && !t.deleted(p));
}

/**
 * The PROXY protocol iRules a listener's virtual server runs: its default pool's and those of the
 * pools its L7 policies send to, when they are PROXY pools that live and translate.
 */
function proxyRulesOf(
  t: TranslationContext,
  listener: ResourceRecord,
  defaultPool: ResourceRecord | undefined,
): string[] {
  const { tree, out } = t;
  const redirects = tree.l7policies
    .filter(
      (p) =>
        !t.deleted(p) &&
        (p.desired as { listener_id: string }).listener_id === listener.id &&
        (p.desired as { action: string }).action === 'REDIRECT_TO_POOL',
    )
    .map((p) =>
      tree.pools.find((pool) => pool.id === (p.desired as { redirect_pool_id?: string }).redirect_pool_id),
    );
  const rules = new Set<string>();
  for (const pool of [defaultPool, ...redirects]) {
    if (!pool || t.deleted(pool) || out.errors.has(resourceKey('pool', pool.id))) continue;
    if (proxyVersion((pool.desired as PoolSpec).protocol))
      rules.add(fullPath(t.partition, proxyRuleName(t.env, pool.id)));
  }
  return [...rules].sort();
}

function persistence(
  listener: ResourceRecord,
  pool: ResourceRecord | undefined,
  partition: string,
  env: string,
): string[] | LbaasError {
  if (!pool) return [];
  const spec = pool.desired as PoolSpec;
  const protocol = (listener.desired as ListenerSpec).protocol;
  const type = spec.session_persistence?.type;
  if (
    (type === 'HTTP_COOKIE' || type === 'APP_COOKIE') &&
    protocol !== 'HTTP' &&
    protocol !== 'TERMINATED_HTTPS'
  ) {
    return new LbaasError(
      `${type} persistence of pool ${pool.id} needs an HTTP listener; listener ${listener.id} is ${protocol}`,
    );
  }
  if (type === 'SOURCE_IP')
    return [
      tunedSourceAddr(spec)
        ? fullPath(partition, sourceAddrProfileName(env, pool.id))
        : '/Common/source_addr',
    ];
  if (type === 'HTTP_COOKIE') return ['/Common/cookie'];
  if (type === 'APP_COOKIE') return [fullPath(partition, appCookieProfileName(env, pool.id))];
  // Upstream: the SOURCE_IP algorithm is least-connections-node plus source-address persistence.
  return spec.lb_algorithm === 'SOURCE_IP' ? ['/Common/source_addr'] : [];
}

/** Statuses that only a device's health reading sets; configuration never overrides them. */
const HEALTH_READINGS: ReadonlySet<OperatingStatus> = new Set(['ONLINE', 'ERROR', 'DEGRADED']);

/** Whether a status was read from a device (the status poller's), not assumed by an apply. */
export function isHealthReading(status: OperatingStatus): boolean {
  return HEALTH_READINGS.has(status);
}

/**
 * The status an object whose health the device decides has before its first reading: OFFLINE, the
 * value Octavia's API gives load balancers, listeners, pools and monitored members when it
 * creates them (its health manager alone moves them on).
 */
export const UNMEASURED: OperatingStatus = 'OFFLINE';

/**
 * Operating status an object takes from its configuration once applied: OFFLINE when it (or what
 * it hangs from) is administratively down, DRAINING for a member of weight 0, NO_MONITOR for a
 * member of an unmonitored pool. Otherwise its health is the device's word (device-health.ts): a
 * reading already taken is kept, so an apply never turns a failing member back to ONLINE nor a
 * measured one back to unmeasured; before the first reading it is UNMEASURED, never an assumed
 * ONLINE.
 */
export function operatingStatusFor(tree: LoadBalancerTree, record: ResourceRecord): OperatingStatus {
  const configured = configuredStatus(tree, record);
  if (configured) return configured;
  return isHealthReading(record.operatingStatus) ? record.operatingStatus : UNMEASURED;
}

/**
 * Whether a health monitor checks its pool's members: it lives and is enabled. A disabled monitor
 * stays on the device but is taken off its pool (Octavia checks only with an enabled monitor).
 */
function checks(tree: LoadBalancerTree, hm: ResourceRecord): boolean {
  return !isDeleted(tree, hm) && (hm.desired as HealthMonitorSpec).admin_state_up;
}

/** The status configuration alone decides, or undefined when health decides. */
export function configuredStatus(
  tree: LoadBalancerTree,
  record: ResourceRecord,
): OperatingStatus | undefined {
  const lbUp = tree.root.desired.admin_state_up;
  switch (record.type) {
    case 'loadbalancer':
      return lbUp ? undefined : 'OFFLINE';
    case 'listener':
      return (record.desired as ListenerSpec).admin_state_up && lbUp ? undefined : 'OFFLINE';
    case 'pool':
      return (record.desired as PoolSpec).admin_state_up ? undefined : 'OFFLINE';
    case 'member': {
      const spec = record.desired as MemberSpec;
      const pool = tree.pools.find((p) => p.id === spec.pool_id);
      if (!spec.admin_state_up || (pool && !(pool.desired as PoolSpec).admin_state_up)) return 'OFFLINE';
      if (spec.weight === 0) return 'DRAINING';
      const monitored = tree.healthmonitors.some(
        (h) => h.desired.pool_id === spec.pool_id && checks(tree, h),
      );
      return monitored ? undefined : 'NO_MONITOR';
    }
    // Monitors and L7 objects have no health of their own: Octavia's worker marks them ONLINE when
    // it applies them enabled, and so does the apply here (configuration, not a reading).
    case 'healthmonitor':
      return (record.desired as HealthMonitorSpec).admin_state_up ? 'ONLINE' : 'OFFLINE';
    case 'l7policy':
    case 'l7rule':
      return (record.desired as { admin_state_up: boolean }).admin_state_up ? 'ONLINE' : 'OFFLINE';
  }
}
