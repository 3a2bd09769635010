import { DEFAULT_GROUP } from '../domain/agent-scheduler.js';
import { CAPACITY_METRICS } from '../domain/capacity.js';
import type { HealthPoller, PollReport } from '../services/health-poller.js';
import type { HealthPollerConfig } from '../shared/config.js';
import { METRICS } from '../shared/metric-names.js';
import { emitMetric, MetricUnit, type Telemetry } from '../shared/telemetry.js';
import { sleep as systemSleep } from '../shared/timers.js';

/** The cluster's status poller, scheduled every minute and polling `pollsPerInvocation` times. */
export function createHealthPollerHandler(
  poller: HealthPoller,
  config: Pick<HealthPollerConfig, 'pollsPerInvocation' | 'intervalMs'>,
  telemetry: Telemetry,
  sleep: (ms: number) => Promise<void> = systemSleep,
  clock: () => number = Date.now,
) {
  return async (): Promise<{ polls: PollReport[] }> => {
    const polls: PollReport[] = [];
    const start = clock();
    for (let i = 0; i < config.pollsPerInvocation; i++) {
      if (i > 0) await sleep(Math.max(0, start + i * config.intervalMs - clock()));
      try {
        const report = await poller.poll();
        polls.push(report);
        reportPoll(report, telemetry);
      } catch (error) {
        // A store failure: nothing half-written matters (each write stands alone); the next poll retries.
        telemetry.logger.error('health poll failed', { error });
        emitMetric(telemetry.metrics, METRICS.healthPolls.name, 1, { Outcome: 'failed' });
      } finally {
        if (telemetry.metrics.hasStoredMetrics()) telemetry.metrics.publishStoredMetrics();
      }
    }
    return { polls };
  };
}

function reportPoll(report: PollReport, { logger, metrics }: Telemetry): void {
  emitMetric(metrics, METRICS.healthPolls.name, 1, { Outcome: report.outcome });
  if (report.outcome === 'skipped') {
    logger.warn('health poll skipped: no status changed', { reason: report.reason });
    return;
  }
  for (const change of report.changes) logger.info('operating status changed', { ...change });
  logger.info('health poll', {
    unit: report.unit,
    loadbalancers: report.loadbalancers,
    poolsRead: report.poolsRead,
    statusesWritten: report.statusesWritten,
    statisticsWritten: report.statisticsWritten,
  });
  emitMetric(metrics, METRICS.statusChanges.name, report.statusesWritten);
  const group = { Group: report.capacity?.group ?? DEFAULT_GROUP };
  emitMetric(metrics, METRICS.loadbalancersInError.name, report.loadbalancersInError, group);
  emitMetric(metrics, METRICS.poolsAllDown.name, report.poolsAllMembersDown, group);
  if (report.capacity) {
    const { usage, score, activeAgents } = report.capacity;
    emitMetric(metrics, METRICS.groupScore.name, score, group);
    emitMetric(metrics, METRICS.groupActiveAgents.name, activeAgents, group);
    for (const metric of CAPACITY_METRICS.map(([m]) => m)) {
      const value = usage[metric];
      if (value !== undefined)
        emitMetric(metrics, METRICS.groupUsage.name, value, { ...group, Metric: metric });
    }
    logger.info('device group usage', { ...report.capacity });
  }
  for (const lb of report.traffic) {
    const dims = { LoadBalancer: lb.loadbalancerId };
    emitMetric(metrics, METRICS.lbBytesIn.name, lb.delta.bytes_in, dims, MetricUnit.Bytes);
    emitMetric(metrics, METRICS.lbBytesOut.name, lb.delta.bytes_out, dims, MetricUnit.Bytes);
    emitMetric(metrics, METRICS.lbNewConnections.name, lb.delta.total_connections, dims);
    emitMetric(metrics, METRICS.lbActiveConnections.name, lb.delta.active_connections, dims);
    emitMetric(metrics, METRICS.lbRequestErrors.name, lb.delta.request_errors, dims);
    for (const l of lb.listeners) {
      const ldims = { ...dims, Listener: l.listenerId };
      emitMetric(metrics, METRICS.listenerBytesIn.name, l.delta.bytes_in, ldims, MetricUnit.Bytes);
      emitMetric(metrics, METRICS.listenerBytesOut.name, l.delta.bytes_out, ldims, MetricUnit.Bytes);
      emitMetric(metrics, METRICS.listenerNewConnections.name, l.delta.total_connections, ldims);
      emitMetric(metrics, METRICS.listenerActiveConnections.name, l.delta.active_connections, ldims);
    }
  }
}
