import type { AgentRegistry, DeviceCluster, DeviceState } from '../domain/ports.js';
import type { AgentOperations, AgentStatus } from './agent-operations.js';

export interface HeartbeatDeps {
  env: string;
  host: string;
  agentId: string;
  queueUrl: string;
  registry: AgentRegistry;
  cluster: DeviceCluster;
  operations: AgentOperations;
  rebindAfterMs: number | undefined;
  clock: () => number;
  /** The device group whose devices this agent manages. */
  group?: string;
  /**
   * How long one unit may take to answer a beat; a unit that has not answered by then is reported
   * hung and the beat goes on without it (a hung standby must not delay every agent's heartbeat).
   */
  unitBudgetMs?: number;
}

export interface BeatReport {
  alive: boolean;
  /** True on the beat that created the agent's row. */
  registered: boolean;
  devices: Record<string, DeviceState>;
  /** Every agent of the environment as this beat saw it (a dead agent's age keeps growing). */
  agents: AgentStatus[];
  activeAgents: number;
  /** Load balancers moved off agents dead longer than rebindAfterMs, by agent. */
  rebound: { from: string; moved: number }[];
}

/**
 * One heartbeat of one agent: through the agent's own path, reach every device of the
 * environment (token login, failover state, sync state of a pair), record the result in the
 * agents table, and report the environment's liveness. An agent that reaches no device records
 * its device states but not a fresh heartbeat, so it stops getting work. It never touches
 * `admin_state_up`. A second identity claiming the host name gets HostNameConflictError.
 */
export class HeartbeatService {
  private started = true;

  constructor(private readonly deps: HeartbeatDeps) {}

  async beat(): Promise<BeatReport> {
    const { cluster, registry, clock, env, host } = this.deps;
    const devices = await cluster.unitStates({
      withVersion: this.started,
      budgetMs: this.deps.unitBudgetMs ?? 10_000,
    });
    const alive = Object.values(devices).some((d) => d.reachable);
    const { registered } = await registry.heartbeat({
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
        device_count: Object.keys(devices).length,
      },
      ...(this.deps.group ? { group: this.deps.group } : {}),
    });
    if (alive) this.started = false;

    const agents = await this.deps.operations.agents(env);
    const rebound: BeatReport['rebound'] = [];
    const threshold = this.deps.rebindAfterMs;
    if (alive && threshold !== undefined) {
      for (const dead of agents.filter((a) => !a.alive && (a.loadbalancerCount ?? 0) > 0)) {
        const ageMs = (dead.heartbeatAgeSeconds ?? Number.POSITIVE_INFINITY) * 1000;
        if (ageMs < threshold) continue;
        const report = await this.deps.operations.drain(env, dead.host, { limit: 200, disable: false });
        if (report.moved.length > 0) rebound.push({ from: dead.host, moved: report.moved.length });
      }
    }
    return {
      alive,
      registered,
      devices,
      agents,
      activeAgents: agents.filter((a) => a.active).length,
      rebound,
    };
  }
}
