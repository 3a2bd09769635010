import {
  fullPath,
  memberName,
  partitionName,
  poolName,
  virtualAddressName,
  virtualServerName,
} from './bigip-names.js';
import { configuredStatus, isHealthReading } from './bigip-translation.js';
import type { ListenerSpec, MemberSpec, PoolSpec } from './lbaas-request.js';
import { memberRouteDomain } from './network-objects.js';
import { inRouteDomain, type NetworkCatalog } from './networks.js';
import {
  isDeleted,
  type LoadBalancerTree,
  type OperatingStatus,
  type ResourceRecord,
  resourceKey,
} from './resource-state.js';

/** One virtual server's counters and state, as one unit's stats endpoint reports them (device-facts.md §5.2). */
export interface VirtualReading {
  /** Cumulative on this unit, in bits. */
  bitsIn: number;
  bitsOut: number;
  curConns: number;
  totConns: number;
  /** Connections the device killed as slow (SAP's provider reports them as request errors). */
  slowKilled: number;
  enabled: boolean;
}

/** One pool member as its pool's member stats report it. */
export interface MemberReading {
  /** `up`, `down`, `checking`, `unchecked`, `user-down`, `addr-down`, … */
  monitorStatus: string;
  enabled: boolean;
}

/** One virtual address as the unit's configuration shows it (`enabled: yes|no`). */
export interface AddressReading {
  enabled: boolean;
}

/** What one poll read from the active unit, keyed by full path (`/P/name`). */
export interface HealthScrape {
  /** The unit read (its counters are its own: statistics track units apart). */
  unit: string;
  virtuals: Map<string, VirtualReading>;
  /** Virtual addresses (a load balancer's VIP on the device, listeners or not). */
  addresses: Map<string, AddressReading>;
  /** Pools whose member stats were read, each member by name (`ip:port`). */
  pools: Map<string, Map<string, MemberReading>>;
}

/** Monitor states that mean "failing its monitor"; `user-down` is an operator's choice, not a failure. */
const FAILING = new Set(['down', 'addr-down', 'down-by-irule', 'down-manual-resume']);

/**
 * A member's health from its monitor: up → ONLINE, failing → ERROR. Undefined (keep the status it
 * has) while the device has not checked it yet, or shows a state configuration does not explain
 * (disabled while we want it enabled: an apply is on its way).
 */
export function memberHealth(reading: MemberReading | undefined): OperatingStatus | undefined {
  if (!reading?.enabled) return undefined;
  if (reading.monitorStatus === 'up') return 'ONLINE';
  if (FAILING.has(reading.monitorStatus)) return 'ERROR';
  return undefined;
}

/**
 * A pool from the members meant to serve (not OFFLINE or DRAINING on purpose), each with its
 * reading: ONLINE or ERROR from its monitor, NO_MONITOR when it is on the device in an unmonitored
 * pool, undefined when nothing has measured it yet. Every one failing → ERROR, some → DEGRADED;
 * else ONLINE once each has been measured (an unmonitored pool's ONLINE says its members are on the
 * device, not that they answer; none meant to serve → ONLINE, as Octavia's backend with no servers
 * is UP). Undefined (keep the status it has) while one is still unmeasured and none fails.
 */
export function poolRollUp(serving: readonly (OperatingStatus | undefined)[]): OperatingStatus | undefined {
  const failing = serving.filter((s) => s === 'ERROR').length;
  if (failing > 0) return failing === serving.length ? 'ERROR' : 'DEGRADED';
  return serving.includes(undefined) ? undefined : 'ONLINE';
}

/**
 * A listener whose virtual server is on the device and enabled, from its default pool: the pool's
 * trouble, else ONLINE (no pool, or one not measured yet: the virtual server itself is there).
 */
export function listenerRollUp(pool: OperatingStatus | undefined): OperatingStatus {
  return pool === 'ERROR' || pool === 'DEGRADED' ? pool : 'ONLINE';
}

/**
 * A load balancer whose virtual address is on the device and enabled, from its listeners and pools:
 * ERROR when every listener counted (not OFFLINE: disabled, or not measured yet) is ERROR (it serves
 * nothing), DEGRADED when any listener or pool is ERROR or DEGRADED, else ONLINE.
 */
export function loadBalancerRollUp(
  listeners: readonly OperatingStatus[],
  pools: readonly OperatingStatus[],
): OperatingStatus {
  const serving = listeners.filter((s) => s !== 'OFFLINE');
  if (serving.length > 0 && serving.every((s) => s === 'ERROR')) return 'ERROR';
  const troubled = (s: OperatingStatus) => s === 'ERROR' || s === 'DEGRADED';
  return serving.some(troubled) || pools.some(troubled) ? 'DEGRADED' : 'ONLINE';
}

export interface HealthVerdict {
  /** Operating status by resource key, for every live object the scrape decides (the rest keep theirs). */
  statuses: Map<string, OperatingStatus>;
  /** Pools whose every serving member fails its monitor. */
  poolsAllDown: string[];
}

/**
 * The operating statuses of one load balancer's tree from one scrape of the active unit. Each
 * object's status is its configured one (OFFLINE, DRAINING, NO_MONITOR) when configuration decides;
 * otherwise its health, each from its own object on the device: a member's from its monitor; a
 * pool's from its member stats (read: it is on the device), rolled up from its members; a
 * listener's from its virtual server (there and enabled), with its pool's trouble; the load
 * balancer's from its virtual address (there and enabled), with its listeners' and pools' trouble.
 * An object the scrape does not show (not on the device yet, not checked yet) keeps the status it
 * has, and so counts with that status in the roll-up. Pure.
 */
export function deriveHealth(
  tree: LoadBalancerTree,
  scrape: HealthScrape,
  env: string,
  networks: NetworkCatalog = { networks: [] },
): HealthVerdict {
  const partition = partitionName(env, tree.root.tenantId);
  // A member is named on the device in its network's route domain (`10.0.0.5%2:8080`), as translated.
  const lbRd = tree.root.desired.vip_route_domain ?? 0;
  const deviceName = (spec: MemberSpec) =>
    memberName(
      inRouteDomain(spec.address, memberRouteDomain(networks, spec.subnet_id, lbRd) ?? lbRd),
      spec.protocol_port,
    );
  const statuses = new Map<string, OperatingStatus>();
  const live = <R extends ResourceRecord>(records: readonly R[]) =>
    records.filter((r) => !isDeleted(tree, r));
  const effective = (r: ResourceRecord) => statuses.get(resourceKey(r.type, r.id)) ?? r.operatingStatus;

  const poolStatus = new Map<string, OperatingStatus>();
  const poolsAllDown: string[] = [];
  for (const pool of live(tree.pools)) {
    const members = scrape.pools.get(fullPath(partition, poolName(env, pool.id)));
    const own = live(tree.members).filter((m) => (m.desired as MemberSpec).pool_id === pool.id);
    const serving: (OperatingStatus | undefined)[] = [];
    for (const m of own) {
      const spec = m.desired as MemberSpec;
      const reading = members?.get(deviceName(spec));
      const configured = configuredStatus(tree, m);
      const status = configured ?? memberHealth(reading);
      if (status) statuses.set(resourceKey('member', m.id), status);
      if (configured === 'OFFLINE' || configured === 'DRAINING') continue;
      // Unmonitored, a member is measured by being on the device (enabled); monitored, by a reading
      // now or one kept from an earlier poll.
      if (configured === 'NO_MONITOR') serving.push(reading?.enabled ? 'NO_MONITOR' : undefined);
      else serving.push(isHealthReading(effective(m)) ? effective(m) : undefined);
    }
    const status = configuredStatus(tree, pool) ?? (members ? poolRollUp(serving) : undefined);
    if (status) statuses.set(resourceKey('pool', pool.id), status);
    if (status === 'ERROR') poolsAllDown.push(pool.id);
    poolStatus.set(pool.id, status ?? pool.operatingStatus);
  }

  for (const listener of live(tree.listeners)) {
    const spec = listener.desired as ListenerSpec;
    const virtual = scrape.virtuals.get(fullPath(partition, virtualServerName(env, listener.id)));
    const pool = spec.default_pool_id
      ? poolStatus.get(spec.default_pool_id)
      : [...poolStatus].find(([id]) => {
          const p = tree.pools.find((x) => x.id === id);
          return (p?.desired as PoolSpec | undefined)?.listener_id === listener.id;
        })?.[1];
    const status = configuredStatus(tree, listener) ?? (virtual?.enabled ? listenerRollUp(pool) : undefined);
    if (status) statuses.set(resourceKey('listener', listener.id), status);
  }

  const root = tree.root;
  if (!isDeleted(tree, root)) {
    const address = scrape.addresses.get(fullPath(partition, virtualAddressName(env, root.id)));
    const status =
      configuredStatus(tree, root) ??
      (address?.enabled
        ? loadBalancerRollUp(live(tree.listeners).map(effective), live(tree.pools).map(effective))
        : undefined);
    if (status) statuses.set(resourceKey('loadbalancer', root.id), status);
  }
  return { statuses, poolsAllDown };
}
