import { HostNameConflictError } from '../../../functions/domain/errors.js';
import type { AgentRecord, AgentRegistry, HeartbeatReport } from '../../../functions/domain/ports.js';

/** The agents table in memory, with the registration rules of the DynamoDB adapter. */
export class InMemoryAgentRegistry implements AgentRegistry {
  readonly rows = new Map<string, AgentRecord>();

  private key(env: string, host: string) {
    return `${env}#${host}`;
  }

  /** Seeds an agent as a heartbeat would have registered it. */
  put(agent: Partial<AgentRecord> & { env: string; host: string }): AgentRecord {
    const row: AgentRecord = {
      agentId: `id-${agent.host}`,
      adminStateUp: true,
      heartbeatAt: undefined,
      queueUrl: `queue://${agent.host}`,
      loadbalancerCount: 0,
      ...agent,
    };
    this.rows.set(this.key(agent.env, agent.host), row);
    return row;
  }

  async listAgents(env: string): Promise<AgentRecord[]> {
    return [...this.rows.values()].filter((a) => a.env === env).map((a) => ({ ...a }));
  }

  async getAgent(env: string, host: string): Promise<AgentRecord | undefined> {
    const row = this.rows.get(this.key(env, host));
    return row ? { ...row } : undefined;
  }

  async adjustLoadbalancerCount(env: string, host: string, delta: number): Promise<void> {
    const row = this.rows.get(this.key(env, host));
    if (row) row.loadbalancerCount = (row.loadbalancerCount ?? 0) + delta;
  }

  async heartbeat(report: HeartbeatReport): Promise<{ registered: boolean }> {
    const existing = this.rows.get(this.key(report.env, report.host));
    if (existing && existing.agentId !== report.agentId) {
      throw new HostNameConflictError(
        `host name ${report.host} already belongs to agent ${existing.agentId}`,
        {
          env: report.env,
          host: report.host,
        },
      );
    }
    const row: AgentRecord = existing ?? {
      env: report.env,
      host: report.host,
      agentId: report.agentId,
      adminStateUp: true,
      heartbeatAt: undefined,
      queueUrl: report.queueUrl,
      loadbalancerCount: 0,
      registeredAt: report.nowMs,
    };
    row.queueUrl = report.queueUrl;
    row.devices = report.devices;
    row.configuration = report.configuration;
    if (report.group) row.group = report.group;
    if (report.alive) row.heartbeatAt = report.nowMs;
    if (report.started) row.startedAt = report.nowMs;
    this.rows.set(this.key(report.env, report.host), row);
    return { registered: existing === undefined };
  }

  async setAdminState(env: string, host: string, adminStateUp: boolean): Promise<boolean> {
    const row = this.rows.get(this.key(env, host));
    if (!row) return false;
    row.adminStateUp = adminStateUp;
    return true;
  }

  async deleteAgent(env: string, host: string): Promise<boolean> {
    return this.rows.delete(this.key(env, host));
  }
}
