import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { HostNameConflictError } from '../domain/errors.js';
import type { AgentRecord, AgentRegistry, DeviceState, HeartbeatReport } from '../domain/ports.js';
import { isConditionFailure } from './dynamodb-errors.js';
import { queryAll } from './dynamodb-query.js';

/**
 * The agents table. Heartbeats register and refresh an agent with one conditional update that
 * never touches `adminStateUp` after creation: that flag belongs to operators alone.
 */
export class DynamoDbAgentRegistry implements AgentRegistry {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async listAgents(env: string): Promise<AgentRecord[]> {
    const items = await queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'env = :e',
      ExpressionAttributeValues: { ':e': env },
      ConsistentRead: true,
    });
    return items.map(toAgent);
  }

  async getAgent(env: string, host: string): Promise<AgentRecord | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { env, host }, ConsistentRead: true }),
    );
    return out.Item ? toAgent(out.Item) : undefined;
  }

  async adjustLoadbalancerCount(env: string, host: string, delta: number): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { env, host },
          UpdateExpression: 'ADD loadbalancerCount :d',
          ConditionExpression: 'attribute_exists(host)',
          ExpressionAttributeValues: { ':d': delta },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /**
   * Registers (first beat) or refreshes an agent. A host name held by another agent identity is
   * refused: host names are unique.
   */
  async heartbeat(report: HeartbeatReport): Promise<{ registered: boolean }> {
    const values: Record<string, unknown> = {
      ':id': report.agentId,
      ':q': report.queueUrl,
      ':devices': report.devices,
      ':conf': report.configuration,
      ':now': report.nowMs,
      ':true': true,
      ':zero': 0,
    };
    const sets = [
      'agentId = if_not_exists(agentId, :id)',
      'adminStateUp = if_not_exists(adminStateUp, :true)',
      'registeredAt = if_not_exists(registeredAt, :now)',
      'loadbalancerCount = if_not_exists(loadbalancerCount, :zero)',
      'queueUrl = :q',
      'devices = :devices',
      'configuration = :conf',
      'reportedAt = :now',
    ];
    if (report.group) {
      sets.push('#group = :group');
      values[':group'] = report.group;
    }
    if (report.alive) sets.push('heartbeatAt = :now');
    if (report.started) sets.push('startedAt = :now');
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { env: report.env, host: report.host },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: 'attribute_not_exists(host) OR agentId = :id',
          ExpressionAttributeValues: values,
          ...(report.group ? { ExpressionAttributeNames: { '#group': 'group' } } : {}),
          ReturnValues: 'UPDATED_OLD',
        }),
      );
      return { registered: out.Attributes?.agentId === undefined };
    } catch (error) {
      if (isConditionFailure(error)) {
        const holder = await this.getAgent(report.env, report.host);
        throw new HostNameConflictError(
          `host name ${report.host} in environment ${report.env} already belongs to agent ${holder?.agentId ?? 'unknown'}; agent ${report.agentId} was refused`,
          { env: report.env, host: report.host, agentId: report.agentId, holder: holder?.agentId },
        );
      }
      throw error;
    }
  }

  /** Operator intent only; false if the agent does not exist. */
  async setAdminState(env: string, host: string, adminStateUp: boolean): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { env, host },
          UpdateExpression: 'SET adminStateUp = :a',
          ConditionExpression: 'attribute_exists(host)',
          ExpressionAttributeValues: { ':a': adminStateUp },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async deleteAgent(env: string, host: string): Promise<boolean> {
    const out = await this.db.send(
      new DeleteCommand({ TableName: this.table, Key: { env, host }, ReturnValues: 'ALL_OLD' }),
    );
    return out.Attributes !== undefined;
  }
}

function toAgent(item: Record<string, unknown>): AgentRecord {
  const agent: AgentRecord = {
    env: String(item.env),
    host: String(item.host),
    agentId: String(item.agentId ?? ''),
    adminStateUp: item.adminStateUp !== false,
    heartbeatAt: typeof item.heartbeatAt === 'number' ? item.heartbeatAt : undefined,
    queueUrl: typeof item.queueUrl === 'string' ? item.queueUrl : undefined,
    loadbalancerCount: Math.max(0, Number(item.loadbalancerCount ?? 0)),
  };
  if (typeof item.group === 'string') agent.group = item.group;
  if (typeof item.startedAt === 'number') agent.startedAt = item.startedAt;
  if (typeof item.registeredAt === 'number') agent.registeredAt = item.registeredAt;
  if (item.devices) agent.devices = item.devices as Record<string, DeviceState>;
  if (item.configuration) agent.configuration = item.configuration as Record<string, unknown>;
  return agent;
}
