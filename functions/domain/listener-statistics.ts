import type { VirtualReading } from './device-health.js';

/** Octavia's statistics of a listener or load balancer (bytes, not the device's bits). */
export interface Statistics {
  bytes_in: number;
  bytes_out: number;
  active_connections: number;
  total_connections: number;
  request_errors: number;
}

/** The cumulative counters of one unit, as last read (bits and counts, as the device keeps them). */
export interface UnitCounters {
  bitsIn: number;
  bitsOut: number;
  totConns: number;
  slowKilled: number;
}

/** A listener's running totals, kept between polls. */
export interface ListenerStatistics {
  loadbalancerId: string;
  listenerId: string;
  /** Totals since the listener was first read, in bits and counts (bytes are derived on the way out). */
  totals: UnitCounters;
  activeConnections: number;
  /** Each unit's counters when last read: a unit's counters only grow while it carries traffic. */
  units: Record<string, UnitCounters>;
  /** The unit read last (the active one). */
  unit: string;
  observedAt: number;
}

const COUNTERS = ['bitsIn', 'bitsOut', 'totConns', 'slowKilled'] as const;

/**
 * Adds one reading of the active unit to a listener's totals. Device counters are per unit and
 * cumulative, and start again at zero after a reboot or when the virtual is re-created; a standby
 * carries no traffic, so its counters only grow while it is active. Each unit's growth since its
 * own last reading is therefore new traffic, and a counter lower than last time has restarted (its
 * whole value is new). So totals never go down across failovers and resets, and traffic is counted
 * once. Returns undefined when nothing changed (nothing to write).
 */
export function advanceStatistics(
  previous: ListenerStatistics | undefined,
  ids: { loadbalancerId: string; listenerId: string },
  unit: string,
  reading: VirtualReading,
  nowMs: number,
): ListenerStatistics | undefined {
  const last = previous?.units[unit];
  const totals = { ...(previous?.totals ?? { bitsIn: 0, bitsOut: 0, totConns: 0, slowKilled: 0 }) };
  let grew = false;
  for (const c of COUNTERS) {
    const now = Math.max(0, reading[c]);
    const before = last?.[c] ?? 0;
    const delta = now >= before ? now - before : now;
    if (delta > 0) grew = true;
    totals[c] += delta;
  }
  const counters: UnitCounters = {
    bitsIn: reading.bitsIn,
    bitsOut: reading.bitsOut,
    totConns: reading.totConns,
    slowKilled: reading.slowKilled,
  };
  const sameUnitState = last !== undefined && COUNTERS.every((c) => last[c] === counters[c]);
  if (previous && !grew && sameUnitState && previous.activeConnections === reading.curConns) return undefined;
  return {
    ...ids,
    totals,
    activeConnections: Math.max(0, reading.curConns),
    units: { ...(previous?.units ?? {}), [unit]: counters },
    unit,
    observedAt: nowMs,
  };
}

/** A listener's statistics in Octavia's shape (bits → bytes, rounded down). */
export function toStatistics(s: ListenerStatistics): Statistics {
  return {
    bytes_in: Math.floor(s.totals.bitsIn / 8),
    bytes_out: Math.floor(s.totals.bitsOut / 8),
    active_connections: s.activeConnections,
    total_connections: s.totals.totConns,
    request_errors: s.totals.slowKilled,
  };
}

/** A load balancer's statistics: the sum of its listeners' (Octavia's provider guide). */
export function sumStatistics(listeners: readonly Statistics[]): Statistics {
  const out: Statistics = {
    bytes_in: 0,
    bytes_out: 0,
    active_connections: 0,
    total_connections: 0,
    request_errors: 0,
  };
  for (const s of listeners) {
    for (const k of Object.keys(out) as (keyof Statistics)[]) out[k] += s[k];
  }
  return out;
}
