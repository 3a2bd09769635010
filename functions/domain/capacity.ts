import type { GroupRecord } from './ports.js';

/*
 * Device-group capacity (issue #16): how full a group of BIG-IP devices is, as one score. F5's
 * upstream driver scored a group by the highest ratio of a measured metric to its configured
 * maximum (1.0 = full); we keep that rule, with counts we maintain ourselves next to the device's.
 */

/** Every limit a group may set; a limit left out does not count. */
export interface CapacityLimits {
  maxLoadBalancers?: number;
  maxListeners?: number;
  maxMembers?: number;
  /** Current client-side connections on the active unit, all virtual servers. */
  maxConnections?: number;
  /** Client-side throughput on the active unit (in + out), megabits per second. */
  maxThroughputMbps?: number;
}

/** A device group as configured: its name and capacity limits. */
export interface GroupDefinition {
  name: string;
  limits: CapacityLimits;
  /** How many BIG-IPs the group has (its topology, for Octavia flavors); left out when unknown. */
  units?: number | undefined;
}

export interface GroupUsage {
  loadBalancers: number;
  listeners: number;
  members: number;
  connections?: number;
  throughputMbps?: number;
}

export const CAPACITY_METRICS = [
  ['loadBalancers', 'maxLoadBalancers'],
  ['listeners', 'maxListeners'],
  ['members', 'maxMembers'],
  ['connections', 'maxConnections'],
  ['throughputMbps', 'maxThroughputMbps'],
] as const satisfies readonly (readonly [keyof GroupUsage, keyof CapacityLimits])[];

export type CapacityMetric = (typeof CAPACITY_METRICS)[number][0];

/**
 * The group's score: the highest usage / limit over the limits it sets (0 with none). A score of 1
 * or more is full: no new tenant goes there, and its tenants get no new load balancer.
 */
export function capacityScore(usage: GroupUsage, limits: CapacityLimits): number {
  return Math.max(0, ...ratios(usage, limits).map((r) => r.ratio));
}

/** Each limited metric's usage, limit and ratio (what `lbaas groups` shows). */
export function ratios(
  usage: GroupUsage,
  limits: CapacityLimits,
): { metric: CapacityMetric; used: number; limit: number; ratio: number }[] {
  const out: { metric: CapacityMetric; used: number; limit: number; ratio: number }[] = [];
  for (const [metric, limitKey] of CAPACITY_METRICS) {
    const limit = limits[limitKey];
    if (limit === undefined) continue;
    const used = Math.max(0, usage[metric] ?? 0);
    out.push({ metric, used, limit, ratio: limit > 0 ? used / limit : 1 });
  }
  return out;
}

/** A group's usage from its row in the groups table (no row yet: nothing used). */
export function usageOf(
  row:
    | Pick<GroupRecord, 'loadBalancers' | 'listeners' | 'members' | 'connections' | 'throughputMbps'>
    | undefined,
): GroupUsage {
  return {
    loadBalancers: row?.loadBalancers ?? 0,
    listeners: row?.listeners ?? 0,
    members: row?.members ?? 0,
    ...(row?.connections !== undefined ? { connections: row.connections } : {}),
    ...(row?.throughputMbps !== undefined ? { throughputMbps: row.throughputMbps } : {}),
  };
}

/** Which metric makes the group full (for the refusal's reason), if any. */
export function fullBecause(usage: GroupUsage, limits: CapacityLimits): string | undefined {
  const full = ratios(usage, limits).find((r) => r.ratio >= 1);
  return full ? `${full.metric} ${round(full.used)} of ${full.limit}` : undefined;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
