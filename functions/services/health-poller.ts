import { groupOf } from '../domain/agent-scheduler.js';
import { fullPath, partitionName, poolName, virtualServerName } from '../domain/bigip-names.js';
import { type CapacityLimits, capacityScore, type GroupUsage } from '../domain/capacity.js';
import { deriveHealth, type HealthScrape } from '../domain/device-health.js';
import {
  advanceStatistics,
  type ListenerStatistics,
  type Statistics,
  sumStatistics,
  toStatistics,
} from '../domain/listener-statistics.js';
import { isActive } from '../domain/liveness.js';
import type { NetworkCatalog } from '../domain/networks.js';
import type {
  AgentRecord,
  AgentRegistry,
  BindingStore,
  DeviceCluster,
  GroupStore,
  HealthStore,
  OperatingStatusChange,
  ResourceStore,
} from '../domain/ports.js';
import { isDeleted, type LoadBalancerTree, resourceKey } from '../domain/resource-state.js';
import { environmentTrees } from './environment-trees.js';

export interface HealthPollerDeps {
  env: string;
  /** The device group polled: its devices, the load balancers of its agents, its usage row. */
  group?: {
    name: string;
    limits: CapacityLimits;
    store: GroupStore;
    agentDownTimeMs: number;
  };
  cluster: DeviceCluster;
  registry: AgentRegistry;
  bindings: BindingStore;
  resources: ResourceStore;
  health: HealthStore;
  clock: () => number;
  /** The environment's networks: members are named on the device in their route domain (none: route domain 0). */
  networks?: NetworkCatalog;
}

/** One load balancer's traffic in one poll: totals, and what grew since the last poll. */
export interface LoadBalancerTraffic {
  loadbalancerId: string;
  total: Statistics;
  /** Growth since the previous poll (what a per-period metric publishes). */
  delta: Statistics;
  listeners: { listenerId: string; total: Statistics; delta: Statistics }[];
}

export type PollReport =
  | { outcome: 'skipped'; reason: string }
  | {
      outcome: 'polled';
      unit: string;
      loadbalancers: number;
      poolsRead: number;
      statusesChanged: number;
      statusesWritten: number;
      statisticsWritten: number;
      loadbalancersInError: number;
      poolsAllMembersDown: number;
      traffic: LoadBalancerTraffic[];
      /** Status changes by `type#id`, for logs. */
      changes: { loadbalancerId: string; key: string; from: string; to: string }[];
      /** The device group's usage and capacity score, when the poller serves a group. */
      capacity?: GroupCapacity;
    };

/** What a poll measured of its device group. */
export interface GroupCapacity {
  group: string;
  usage: GroupUsage;
  score: number;
  activeAgents: number;
  /** Whether the groups table was written (only when something changed). */
  written: boolean;
}

/**
 * The status poller of one device cluster: reads the active unit in bulk (every virtual server's
 * stats and every virtual address, then one member-stats call per pool of ours), turns the reading
 * into operating statuses (the only writer of ONLINE, DEGRADED and ERROR for load balancers,
 * listeners, pools and members) and listener totals, and writes only what changed. A poll that cannot read the whole device
 * (no active unit, busy, token trouble, a hung unit, mcpd answering false 404s) changes nothing:
 * the next poll tries again. An object the device does not show keeps its status.
 */
export class HealthPoller {
  constructor(private readonly deps: HealthPollerDeps) {}

  /**
   * One poll. One at a time per cluster is the caller's to ensure (in AWS: one function per
   * environment with reserved concurrency 1), so a quiet poll writes nothing at all.
   */
  async poll(): Promise<PollReport> {
    const { env, cluster, clock } = this.deps;
    const { registry, bindings, resources } = this.deps;
    // Read once: the walk and the group's count of live agents use the same list.
    const agents = await registry.listAgents(env);
    const trees = await environmentTrees({
      env,
      registry,
      bindings,
      resources,
      agents,
      ...(this.deps.group ? { group: this.deps.group.name } : {}),
    });
    let scrape: HealthScrape;
    try {
      const device = await cluster.activeDevice();
      const pools = new Set<string>();
      for (const tree of trees) {
        const partition = partitionName(env, tree.root.tenantId);
        for (const p of tree.pools)
          if (!isDeleted(tree, p)) pools.add(fullPath(partition, poolName(env, p.id)));
      }
      scrape = await device.readHealth(`${env}_`, (path) => pools.has(path));
    } catch (error) {
      return { outcome: 'skipped', reason: `device not read: ${(error as Error).message}` };
    }

    const now = clock();
    const changes: OperatingStatusChange[] = [];
    const changeLog: { loadbalancerId: string; key: string; from: string; to: string }[] = [];
    let loadbalancersInError = 0;
    let poolsAllMembersDown = 0;
    const traffic: LoadBalancerTraffic[] = [];
    const toSave: ListenerStatistics[] = [];
    const rate = { bits: 0, measured: false };

    for (const tree of trees) {
      const verdict = deriveHealth(tree, scrape, env, this.deps.networks);
      poolsAllMembersDown += verdict.poolsAllDown.length;
      const records = [tree.root, ...tree.listeners, ...tree.pools, ...tree.members, ...tree.healthmonitors];
      for (const record of records) {
        const to = verdict.statuses.get(resourceKey(record.type, record.id));
        if (!to || to === record.operatingStatus || record.provisioningStatus !== 'ACTIVE') continue;
        changes.push({ record, to });
        changeLog.push({
          loadbalancerId: tree.root.id,
          key: resourceKey(record.type, record.id),
          from: record.operatingStatus,
          to,
        });
      }
      const lbStatus =
        verdict.statuses.get(resourceKey('loadbalancer', tree.root.id)) ?? tree.root.operatingStatus;
      if (lbStatus === 'ERROR') loadbalancersInError++;
      const t = await this.traffic(tree, scrape, now, toSave, rate);
      if (t) traffic.push(t);
    }

    const statusesWritten =
      changes.length > 0 ? await this.deps.health.writeOperatingStatuses(changes, now) : 0;
    if (toSave.length > 0) await this.deps.health.saveStatistics(toSave);
    const capacity = this.deps.group ? await this.capacity(trees, agents, traffic, rate, now) : undefined;
    return {
      outcome: 'polled',
      unit: scrape.unit,
      loadbalancers: trees.length,
      poolsRead: scrape.pools.size,
      statusesChanged: changes.length,
      statusesWritten,
      statisticsWritten: toSave.length,
      loadbalancersInError,
      poolsAllMembersDown,
      traffic,
      changes: changeLog,
      ...(capacity ? { capacity } : {}),
    };
  }

  /**
   * The group's usage: load balancers from the exact count the bindings keep, listeners and
   * members counted from the desired state just walked, connections and throughput measured on
   * the active unit (our virtual servers). Written only when it changed.
   */
  private async capacity(
    trees: readonly LoadBalancerTree[],
    agents: readonly AgentRecord[],
    traffic: readonly LoadBalancerTraffic[],
    rate: { bits: number; measured: boolean },
    now: number,
  ): Promise<GroupCapacity> {
    const { env } = this.deps;
    const group = this.deps.group as NonNullable<HealthPollerDeps['group']>;
    const row = (await group.store.listGroups(env)).find((r) => r.name === group.name);
    let listeners = 0;
    let members = 0;
    for (const tree of trees) {
      listeners += tree.listeners.filter((l) => !isDeleted(tree, l)).length;
      members += tree.members.filter((m) => !isDeleted(tree, m)).length;
    }
    const connections = traffic.reduce((n, t) => n + t.total.active_connections, 0);
    // Bits per second over each listener's own interval since its last reading, in Mbit/s.
    const throughputMbps = rate.measured ? round2(rate.bits / 1e6) : undefined;
    const usage: GroupUsage = {
      loadBalancers: row?.loadBalancers ?? 0,
      listeners,
      members,
      connections,
      ...(throughputMbps !== undefined ? { throughputMbps } : {}),
    };
    const changed =
      row?.listeners !== listeners ||
      row?.members !== members ||
      row?.connections !== connections ||
      (throughputMbps !== undefined && row?.throughputMbps !== throughputMbps);
    if (changed)
      await group.store.recordUsage(
        env,
        group.name,
        { listeners, members, connections, ...(throughputMbps !== undefined ? { throughputMbps } : {}) },
        now,
      );
    return {
      group: group.name,
      usage,
      score: capacityScore(usage, group.limits),
      activeAgents: agents.filter((a) => groupOf(a) === group.name && isActive(a, group.agentDownTimeMs, now))
        .length,
      written: changed,
    };
  }

  /** Each listener's totals advanced by this reading; what changed is queued for saving. */
  private async traffic(
    tree: LoadBalancerTree,
    scrape: HealthScrape,
    now: number,
    toSave: ListenerStatistics[],
    rate: { bits: number; measured: boolean },
  ): Promise<LoadBalancerTraffic | undefined> {
    const { env, health } = this.deps;
    const partition = partitionName(env, tree.root.tenantId);
    const listeners = tree.listeners.filter((l) => !isDeleted(tree, l));
    if (listeners.length === 0) return undefined;
    const previous = new Map((await health.loadStatistics(tree.root.id)).map((s) => [s.listenerId, s]));
    const out: LoadBalancerTraffic['listeners'] = [];
    for (const listener of listeners) {
      const reading = scrape.virtuals.get(fullPath(partition, virtualServerName(env, listener.id)));
      const before = previous.get(listener.id);
      const next = reading
        ? advanceStatistics(
            before,
            { loadbalancerId: tree.root.id, listenerId: listener.id },
            scrape.unit,
            reading,
            now,
          )
        : undefined;
      if (next) toSave.push(next);
      if (reading && before && now > before.observedAt) {
        // This listener's throughput since its last saved reading (bits grown / seconds between; 0 if idle).
        const after = next ?? before;
        const bits =
          after.totals.bitsIn + after.totals.bitsOut - before.totals.bitsIn - before.totals.bitsOut;
        rate.bits += Math.max(0, bits) / ((now - before.observedAt) / 1000);
        rate.measured = true;
      }
      const current = next ?? before;
      if (!current) continue;
      const total = toStatistics(current);
      const base = before ? toStatistics(before) : undefined;
      out.push({ listenerId: listener.id, total, delta: growth(total, base) });
    }
    if (out.length === 0) return undefined;
    return {
      loadbalancerId: tree.root.id,
      total: sumStatistics(out.map((l) => l.total)),
      delta: sumStatistics(out.map((l) => l.delta)),
      listeners: out,
    };
  }
}

/** What grew since the previous totals; active connections are a level, not a growth. */
function growth(now: Statistics, before: Statistics | undefined): Statistics {
  return {
    bytes_in: now.bytes_in - (before?.bytes_in ?? 0),
    bytes_out: now.bytes_out - (before?.bytes_out ?? 0),
    active_connections: now.active_connections,
    total_connections: now.total_connections - (before?.total_connections ?? 0),
    request_errors: now.request_errors - (before?.request_errors ?? 0),
  };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
