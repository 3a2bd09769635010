import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { BigIpCluster } from '../adapters/bigip-cluster.js';
import type { DynamoDbAgentRegistry } from '../adapters/dynamodb-agent-registry.js';
import { HostNameConflictError } from '../domain/errors.js';
import type { DeviceState } from '../domain/ports.js';
import { METRICS } from '../shared/metric-names.js';
import { emitMetric, MetricUnit } from '../shared/telemetry.js';
import type { AgentOperations } from './agent-operations.js';

export interface HeartbeatDeps {
  env: string;
  host: string;
  agentId: string;
  queueUrl: string;
  registry: DynamoDbAgentRegistry;
  cluster: BigIpCluster;
  operations: AgentOperations;
  rebindAfterMs: number | undefined;
  clock: () => number;
  logger: Logger;
  metrics: Metrics;
}

export interface BeatReport {
  alive: boolean;
  registered: boolean;
  devices: Record<string, DeviceState>;
  activeAgents: number;
  rebound: number;
}

/**
 * One heartbeat of one agent: through the agent's own path, reach every device of the
 * environment (token login, failover state, sync state of a pair), record the result in the
 * agents table, and report the environment's liveness. An agent that reaches no device records
 * its device states but not a fresh heartbeat, so it stops getting work. It never touches
 * `admin_state_up`.
 */
export class HeartbeatService {
  private started = true;

  constructor(private readonly deps: HeartbeatDeps) {}

  async beat(): Promise<BeatReport> {
    const { cluster, registry, clock, metrics, env, host } = this.deps;
    const devices: Record<string, DeviceState> = {};
    await Promise.all(
      cluster.devices.map(async (device) => {
        try {
          const status = await device.status({
            withSync: cluster.devices.length > 1,
            withVersion: this.started,
          });
          devices[device.name] = {
            reachable: true,
            failoverState: status.failoverState,
            ...(status.syncStatus ? { syncStatus: status.syncStatus } : {}),
            ...(status.version ? { version: status.version } : {}),
            checkedAt: clock(),
          };
        } catch (error) {
          devices[device.name] = {
            reachable: false,
            message: (error as Error).message.slice(0, 300),
            checkedAt: clock(),
          };
        }
      }),
    );
    const alive = Object.values(devices).some((d) => d.reachable);
    let registered = false;
    try {
      ({ registered } = await registry.heartbeat({
        env,
        host,
        agentId: this.deps.agentId,
        queueUrl: this.deps.queueUrl,
        nowMs: clock(),
        started: this.started && alive,
        alive,
        devices,
        configuration: {
          environment_prefix: env,
          cluster: cluster.name,
          device_count: cluster.devices.length,
        },
      }));
    } catch (error) {
      if (error instanceof HostNameConflictError) emitMetric(metrics, METRICS.refusedRegistrations.name);
      throw error;
    }
    if (alive) this.started = false;
    if (registered) this.deps.logger.info('agent registered', { host, agentId: this.deps.agentId });
    if (!alive) this.deps.logger.error('no device reachable: heartbeat withheld', { devices });

    emitMetric(metrics, METRICS.heartbeats.name, alive ? 1 : 0, { Agent: host });
    for (const state of Object.values(devices)) {
      const label = state.reachable ? String(state.failoverState).toLowerCase() : 'unreachable';
      emitMetric(metrics, METRICS.deviceStates.name, 1, { Agent: host, State: label });
    }
    // Every live agent reports the whole environment, so a dead agent's heartbeat age keeps growing on the dashboard.
    const agents = await this.deps.operations.agents(env);
    const activeAgents = agents.filter((a) => a.active).length;
    emitMetric(metrics, METRICS.activeAgents.name, activeAgents);
    for (const a of agents) {
      if (a.heartbeatAgeSeconds !== undefined) {
        emitMetric(
          metrics,
          METRICS.heartbeatAge.name,
          a.heartbeatAgeSeconds,
          { Agent: a.host },
          MetricUnit.Seconds,
        );
      }
    }

    let rebound = 0;
    const threshold = this.deps.rebindAfterMs;
    if (alive && threshold !== undefined) {
      for (const dead of agents.filter((a) => !a.alive && (a.loadbalancerCount ?? 0) > 0)) {
        const ageMs = (dead.heartbeatAgeSeconds ?? Number.POSITIVE_INFINITY) * 1000;
        if (ageMs < threshold) continue;
        const report = await this.deps.operations.drain(env, dead.host, { limit: 200 });
        rebound += report.moved.length;
        if (report.moved.length > 0) {
          this.deps.logger.warn('rebound load balancers of a dead agent', {
            from: dead.host,
            moved: report.moved.length,
          });
        }
      }
      if (rebound > 0) emitMetric(metrics, METRICS.rebinds.name, rebound);
    }
    return { alive, registered, devices, activeAgents, rebound };
  }
}
