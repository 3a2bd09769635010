import { describe, expect, it } from 'vitest';
import { createHealthPollerHandler } from '../../../functions/handlers/health-poller-handler.js';
import type { HealthPoller, PollReport } from '../../../functions/services/health-poller.js';
import { createTelemetry } from '../../../functions/shared/telemetry.js';
import { captureMetrics } from '../../support/scheduler-harness.js';

const traffic = {
  loadbalancerId: 'lb1',
  total: { bytes_in: 900, bytes_out: 1800, active_connections: 3, total_connections: 40, request_errors: 1 },
  delta: { bytes_in: 100, bytes_out: 200, active_connections: 3, total_connections: 4, request_errors: 1 },
  listeners: [
    {
      listenerId: 'l1',
      total: {
        bytes_in: 900,
        bytes_out: 1800,
        active_connections: 3,
        total_connections: 40,
        request_errors: 1,
      },
      delta: {
        bytes_in: 100,
        bytes_out: 200,
        active_connections: 3,
        total_connections: 4,
        request_errors: 1,
      },
    },
  ],
};

function pollerOf(...reports: (PollReport | Error)[]): HealthPoller {
  return {
    poll: async () => {
      const next = reports.shift();
      if (next instanceof Error) throw next;
      return next as PollReport;
    },
  } as HealthPoller;
}

describe('health poller handler', () => {
  it('publishes health counts and each load balancer and listener growth as metrics', async () => {
    const report: PollReport = {
      outcome: 'polled',
      unit: 'bigip-a',
      loadbalancers: 1,
      poolsRead: 1,
      statusesChanged: 2,
      statusesWritten: 2,
      statisticsWritten: 1,
      loadbalancersInError: 1,
      poolsAllMembersDown: 1,
      traffic: [traffic],
      changes: [],
    };
    const handler = createHealthPollerHandler(
      pollerOf(report),
      { pollsPerInvocation: 1, intervalMs: 30_000 },
      createTelemetry('health-poller', 'Project'),
    );
    const { metrics } = await captureMetrics(() => handler());
    const by = (name: string) => metrics.filter((m) => m.name === name);
    expect(by('HealthPolls')).toEqual([
      expect.objectContaining({ value: 1, dimensions: { Outcome: 'polled' } }),
    ]);
    expect(by('LoadBalancersInError')[0]?.value).toBe(1);
    expect(by('PoolsAllMembersDown')[0]?.value).toBe(1);
    expect(by('OperatingStatusChanges')[0]?.value).toBe(2);
    expect(by('LoadBalancerBytesIn')).toEqual([
      expect.objectContaining({ value: 100, unit: 'Bytes', dimensions: { LoadBalancer: 'lb1' } }),
    ]);
    expect(by('LoadBalancerNewConnections')[0]?.value).toBe(4);
    expect(by('ListenerBytesOut')).toEqual([
      expect.objectContaining({ value: 200, dimensions: { LoadBalancer: 'lb1', Listener: 'l1' } }),
    ]);
  });

  it('polls twice a minute at 30 s, and a failed poll neither throws nor stops the next', async () => {
    const slept: number[] = [];
    let now = 0;
    const handler = createHealthPollerHandler(
      pollerOf(new Error('store down'), { outcome: 'skipped', reason: 'device not read: busy' }),
      { pollsPerInvocation: 2, intervalMs: 30_000 },
      createTelemetry('health-poller', 'Project'),
      async (ms) => {
        slept.push(ms);
        now += ms;
      },
      () => now,
    );
    const { result, metrics } = await captureMetrics(() => handler());
    expect(slept).toEqual([30_000]);
    expect(result.polls).toEqual([{ outcome: 'skipped', reason: 'device not read: busy' }]);
    expect(metrics.filter((m) => m.name === 'HealthPolls').map((m) => m.dimensions.Outcome)).toEqual([
      'failed',
      'skipped',
    ]);
    expect(metrics.some((m) => m.name === 'LoadBalancersInError')).toBe(false);
  });
});
