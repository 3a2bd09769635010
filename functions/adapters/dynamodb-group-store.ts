import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { GroupRecord, GroupStore } from '../domain/ports.js';
import { queryAll } from './dynamodb-query.js';

/**
 * The groups table (env, group): a device group's load balancer count, kept by the binding
 * store's transactions; what the status poller counted and measured; the operator's switch. A
 * group nobody has written yet has no row and reads as empty and enabled.
 */
export class DynamoDbGroupStore implements GroupStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async listGroups(env: string): Promise<GroupRecord[]> {
    const items = await queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'env = :e',
      ExpressionAttributeValues: { ':e': env },
      ConsistentRead: true,
    });
    return items.map(toGroup);
  }

  async setAdminState(env: string, name: string, adminStateUp: boolean): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { env, group: name },
        UpdateExpression: 'SET adminStateUp = :a',
        ExpressionAttributeValues: { ':a': adminStateUp },
      }),
    );
  }

  async recordUsage(
    env: string,
    name: string,
    usage: { listeners: number; members: number; connections?: number; throughputMbps?: number },
    nowMs: number,
  ): Promise<void> {
    const values: Record<string, unknown> = {
      ':l': usage.listeners,
      ':m': usage.members,
      ':now': nowMs,
    };
    const sets = ['listeners = :l', 'members = :m', 'measuredAt = :now'];
    if (usage.connections !== undefined) {
      sets.push('connections = :c');
      values[':c'] = usage.connections;
    }
    if (usage.throughputMbps !== undefined) {
      sets.push('throughputMbps = :t');
      values[':t'] = usage.throughputMbps;
    }
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { env, group: name },
        UpdateExpression: `SET ${sets.join(', ')}`,
        ExpressionAttributeValues: values,
      }),
    );
  }
}

function toGroup(item: Record<string, unknown>): GroupRecord {
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const group: GroupRecord = {
    env: String(item.env),
    name: String(item.group),
    adminStateUp: item.adminStateUp !== false,
    // A count below zero can only come from releases of bindings made before groups were counted.
    loadBalancers: Math.max(0, num(item.loadBalancers) ?? 0),
    listeners: num(item.listeners) ?? 0,
    members: num(item.members) ?? 0,
  };
  const connections = num(item.connections);
  const throughputMbps = num(item.throughputMbps);
  const measuredAt = num(item.measuredAt);
  if (connections !== undefined) group.connections = connections;
  if (throughputMbps !== undefined) group.throughputMbps = throughputMbps;
  if (measuredAt !== undefined) group.measuredAt = measuredAt;
  return group;
}
