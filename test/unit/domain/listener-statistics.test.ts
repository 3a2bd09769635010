import { describe, expect, it } from 'vitest';
import type { VirtualReading } from '../../../functions/domain/device-health.js';
import {
  advanceStatistics,
  type ListenerStatistics,
  sumStatistics,
  toStatistics,
} from '../../../functions/domain/listener-statistics.js';

const ids = { loadbalancerId: 'lb', listenerId: 'l1' };
const reading = (bytesIn: number, bytesOut: number, tot: number, cur = 0): VirtualReading => ({
  bitsIn: bytesIn * 8,
  bitsOut: bytesOut * 8,
  totConns: tot,
  curConns: cur,
  slowKilled: 0,
  enabled: true,
});

/** Feeds readings `[unit, reading]` in order; returns the Octavia statistics after each. */
function run(steps: [string, VirtualReading][]) {
  let s: ListenerStatistics | undefined;
  return steps.map(([unit, r], i) => {
    s = advanceStatistics(s, ids, unit, r, i) ?? s;
    return toStatistics(s as ListenerStatistics);
  });
}

describe('listener statistics', () => {
  it('converts the device bits to bytes', () => {
    expect(run([['a', reading(100, 2000, 3, 1)]])).toEqual([
      { bytes_in: 100, bytes_out: 2000, active_connections: 1, total_connections: 3, request_errors: 0 },
    ]);
  });

  it('keeps growing across a reboot that restarts the counters', () => {
    const out = run([
      ['a', reading(100, 100, 10)],
      ['a', reading(150, 150, 15)],
      ['a', reading(20, 20, 2)], // rebooted: 20 new bytes, 2 new connections
    ]);
    expect(out.map((s) => [s.bytes_in, s.total_connections])).toEqual([
      [100, 10],
      [150, 15],
      [170, 17],
    ]);
  });

  it('counts each unit once across failovers and back', () => {
    const out = run([
      ['a', reading(100, 0, 10)],
      ['b', reading(30, 0, 3)], // b took over: everything on b is new
      ['b', reading(40, 0, 4)],
      ['a', reading(100, 0, 10)], // back on a, which carried nothing meanwhile
      ['a', reading(110, 0, 11)],
    ]);
    expect(out.map((s) => s.bytes_in)).toEqual([100, 130, 140, 140, 150]);
    expect(out.map((s) => s.total_connections)).toEqual([10, 13, 14, 14, 15]);
  });

  it('reports nothing to write when nothing changed', () => {
    const first = advanceStatistics(undefined, ids, 'a', reading(10, 10, 1), 0);
    expect(first).toBeDefined();
    expect(advanceStatistics(first, ids, 'a', reading(10, 10, 1), 1)).toBeUndefined();
    expect(advanceStatistics(first, ids, 'a', reading(10, 10, 1, 5), 1)).toBeDefined();
  });

  it('sums listeners into a load balancer', () => {
    const a = { bytes_in: 1, bytes_out: 2, active_connections: 3, total_connections: 4, request_errors: 5 };
    expect(sumStatistics([a, a])).toEqual({
      bytes_in: 2,
      bytes_out: 4,
      active_connections: 6,
      total_connections: 8,
      request_errors: 10,
    });
  });
});
