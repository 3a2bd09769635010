import { HostNameConflictError } from '../domain/errors.js';
import type { BeatReport, HeartbeatService } from '../services/heartbeat-service.js';
import type { HeartbeatConfig } from '../shared/config.js';
import { METRICS } from '../shared/metric-names.js';
import { emitMetric, MetricUnit, type Telemetry } from '../shared/telemetry.js';
import { sleep as systemSleep } from '../shared/timers.js';

/**
 * The scheduled heartbeat. EventBridge schedules fire at most once a minute, so one invocation
 * beats `beatsPerInvocation` times, `heartbeatInterval` apart (2 × 30 s by default): the function
 * sleeps between beats, which costs about 31 s of a 128 MB ARM function per minute per agent.
 */
export function createHeartbeatHandler(
  service: HeartbeatService,
  config: Pick<HeartbeatConfig, 'beatsPerInvocation' | 'heartbeatIntervalMs' | 'host'>,
  telemetry: Telemetry,
  sleep: (ms: number) => Promise<void> = systemSleep,
  clock: () => number = Date.now,
) {
  return async (): Promise<{ beats: BeatReport[] }> => {
    const beats: BeatReport[] = [];
    const start = clock();
    for (let i = 0; i < config.beatsPerInvocation; i++) {
      if (i > 0) await sleep(Math.max(0, start + i * config.heartbeatIntervalMs - clock()));
      try {
        const report = await service.beat();
        beats.push(report);
        reportBeat(report, config.host, telemetry);
      } catch (error) {
        if (error instanceof HostNameConflictError) {
          emitMetric(telemetry.metrics, METRICS.refusedRegistrations.name);
        }
        telemetry.logger.error('heartbeat failed', { error });
        if (i === config.beatsPerInvocation - 1 && beats.length === 0) throw error;
      } finally {
        // Flush per beat: the invocation sleeps between beats.
        if (telemetry.metrics.hasStoredMetrics()) telemetry.metrics.publishStoredMetrics();
      }
    }
    return { beats };
  };
}

/** Logs and metrics of one beat: this agent's devices, and every agent's heartbeat age. */
function reportBeat(report: BeatReport, host: string, { logger, metrics }: Telemetry): void {
  if (report.registered) logger.info('agent registered', { host });
  if (!report.alive) logger.error('no device reachable: heartbeat withheld', { devices: report.devices });
  emitMetric(metrics, METRICS.heartbeats.name, report.alive ? 1 : 0, { Agent: host });
  for (const state of Object.values(report.devices)) {
    const label = state.reachable ? String(state.failoverState).toLowerCase() : 'unreachable';
    emitMetric(metrics, METRICS.deviceStates.name, 1, { Agent: host, State: label });
  }
  emitMetric(metrics, METRICS.activeAgents.name, report.activeAgents);
  // An enabled agent that stopped heartbeating: the environment runs without redundancy.
  const down = report.agents.filter((a) => a.adminStateUp && !a.alive);
  emitMetric(metrics, METRICS.agentsDown.name, down.length);
  if (down.length > 0)
    logger.warn('agents down: enabled, but no heartbeat within agentDownTime', {
      agents: down.map((a) => a.host),
    });
  for (const a of report.agents) {
    if (a.heartbeatAgeSeconds === undefined) continue;
    emitMetric(
      metrics,
      METRICS.heartbeatAge.name,
      a.heartbeatAgeSeconds,
      { Agent: a.host },
      MetricUnit.Seconds,
    );
  }
  const rebound = report.rebound.reduce((sum, r) => sum + r.moved, 0);
  for (const r of report.rebound) logger.warn('rebound load balancers of a dead agent', { ...r });
  if (rebound > 0) emitMetric(metrics, METRICS.rebinds.name, rebound);
}
