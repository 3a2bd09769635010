import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { ContentionError } from '../domain/errors.js';
import type { Binding, BindingPage, BindingStore, TenantAffinity } from '../domain/ports.js';
import { BINDINGS_BY_AGENT_INDEX } from '../shared/table-schema.js';
import { cancellationCodes, isConditionFailure, isTransactionCanceled } from './dynamodb-errors.js';
import { countAll, decodeCursor, encodeCursor } from './dynamodb-query.js';

const CLAIM = '#claim';

/**
 * Bindings (load balancer → agent) and tenant affinity (env#tenant → hosts with a count of that
 * tenant's load balancers). Both change together in one transaction so they never disagree.
 */
export class DynamoDbBindingStore implements BindingStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { bindings: string; affinity: string; agents?: string; groups?: string },
  ) {}

  async getBinding(loadbalancerId: string): Promise<Binding | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tables.bindings, Key: { loadbalancerId }, ConsistentRead: true }),
    );
    return out.Item ? toBinding(out.Item) : undefined;
  }

  async getTenantAffinity(env: string, tenantId: string): Promise<TenantAffinity> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tables.affinity,
        KeyConditionExpression: 'tenantKey = :k',
        ExpressionAttributeValues: { ':k': tenantKey(env, tenantId) },
        ConsistentRead: true,
      }),
    );
    const items = out.Items ?? [];
    const claimItem = items.find((i) => i.host === CLAIM);
    const hosts = items
      .filter((i) => i.host !== CLAIM && Number(i.loadbalancers) > 0)
      .map((i) => ({ host: String(i.host), since: Number(i.since), loadbalancers: Number(i.loadbalancers) }))
      .sort((a, b) => a.since - b.since || a.host.localeCompare(b.host));
    return {
      hosts,
      claim: claimItem
        ? {
            host: String(claimItem.claimedHost),
            version: Number(claimItem.version),
            ...(typeof claimItem.group === 'string' ? { group: claimItem.group } : {}),
          }
        : undefined,
    };
  }

  async claimTenant(
    env: string,
    tenantId: string,
    host: string,
    expectedVersion: number | undefined,
    nowMs: number,
    group?: string,
  ): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tables.affinity,
          Item: {
            tenantKey: tenantKey(env, tenantId),
            host: CLAIM,
            claimedHost: host,
            version: (expectedVersion ?? 0) + 1,
            claimedAt: nowMs,
            ...(group ? { group } : {}),
          },
          ConditionExpression:
            expectedVersion === undefined ? 'attribute_not_exists(tenantKey)' : 'version = :v',
          ...(expectedVersion === undefined ? {} : { ExpressionAttributeValues: { ':v': expectedVersion } }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async bind(
    binding: Binding,
    options: { agentLiveAfter?: number; maxLoadBalancers?: number; groupEnabled?: boolean } = {},
  ): Promise<
    | { created: true }
    | { created: false; existing: Binding }
    | { created: false; agentUnavailable: true }
    | { created: false; groupRefused: true }
    | { created: false; claimChanged: true }
  > {
    const agentCheck =
      options.agentLiveAfter !== undefined && this.tables.agents
        ? [
            {
              ConditionCheck: {
                TableName: this.tables.agents,
                Key: { env: binding.env, host: binding.host },
                ConditionExpression: 'attribute_exists(host) AND adminStateUp = :up AND heartbeatAt > :after',
                ExpressionAttributeValues: { ':up': true, ':after': options.agentLiveAfter },
              },
            },
          ]
        : [];
    const groupCount = this.groupCount(binding, 1, options.maxLoadBalancers, options.groupEnabled);
    // A tenant lives in one group: no load balancer binds outside the group its claim names (a
    // concurrent first bind may have moved the claim to another group meanwhile).
    const claimCheck =
      binding.group === undefined
        ? []
        : [
            {
              ConditionCheck: {
                TableName: this.tables.affinity,
                Key: { tenantKey: tenantKey(binding.env, binding.tenantId), host: CLAIM },
                ConditionExpression:
                  'attribute_not_exists(tenantKey) OR attribute_not_exists(#group) OR #group = :g',
                ExpressionAttributeNames: { '#group': 'group' },
                ExpressionAttributeValues: { ':g': binding.group },
              },
            },
          ];
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            ...agentCheck,
            {
              Put: {
                TableName: this.tables.bindings,
                Item: { ...binding, agentKey: agentKey(binding.env, binding.host) },
                ConditionExpression: 'attribute_not_exists(loadbalancerId)',
              },
            },
            {
              Update: {
                TableName: this.tables.affinity,
                Key: { tenantKey: tenantKey(binding.env, binding.tenantId), host: binding.host },
                UpdateExpression: 'SET since = if_not_exists(since, :now) ADD loadbalancers :one',
                ExpressionAttributeValues: { ':now': binding.boundAt, ':one': 1 },
              },
            },
            ...groupCount,
            ...claimCheck,
          ],
        }),
      );
      return { created: true };
    } catch (error) {
      const codes = isTransactionCanceled(error) ? cancellationCodes(error) : [];
      if (agentCheck.length > 0 && codes[0] === 'ConditionalCheckFailed')
        return { created: false, agentUnavailable: true };
      if (groupCount.length > 0 && codes[agentCheck.length + 2] === 'ConditionalCheckFailed')
        return { created: false, groupRefused: true };
      if (claimCheck.length > 0 && codes.at(-1) === 'ConditionalCheckFailed')
        return { created: false, claimChanged: true };
      if (codes[agentCheck.length] === 'ConditionalCheckFailed') {
        const existing = await this.getBinding(binding.loadbalancerId);
        if (existing) return { created: false, existing };
      }
      if (isTransactionCanceled(error)) {
        throw new ContentionError(
          `binding ${binding.loadbalancerId} lost a race: ${error.message}`,
          {},
          { cause: error },
        );
      }
      throw error;
    }
  }

  /**
   * Drops the binding of a deleted load balancer and its share of the tenant affinity; the
   * affinity row (and the tenant claim it anchored) goes when its count reaches zero.
   */
  async release(loadbalancerId: string, expectedHost?: string): Promise<Binding | undefined> {
    const binding = await this.getBinding(loadbalancerId);
    if (!binding || (expectedHost !== undefined && binding.host !== expectedHost)) return undefined;
    const tKey = tenantKey(binding.env, binding.tenantId);
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Delete: {
                TableName: this.tables.bindings,
                Key: { loadbalancerId },
                ConditionExpression: 'host = :h',
                ExpressionAttributeValues: { ':h': binding.host },
              },
            },
            {
              Update: {
                TableName: this.tables.affinity,
                Key: { tenantKey: tKey, host: binding.host },
                UpdateExpression: 'ADD loadbalancers :minus',
                ExpressionAttributeValues: { ':minus': -1 },
              },
            },
            ...this.groupCount(binding, -1),
          ],
        }),
      );
    } catch (error) {
      if (isTransactionCanceled(error) && cancellationCodes(error)[0] === 'ConditionalCheckFailed')
        return undefined;
      throw error;
    }
    await this.dropEmptyAffinity(binding.env, binding.tenantId, binding.host);
    return binding;
  }

  /**
   * The binding's share of its device group's load balancer count, written in the binding's own
   * transaction so the count is exact; a limit makes the bind conditional on room in the group,
   * `enabled` on the group not being disabled (an operator's disable holds at once, whatever a
   * scheduler's cached view says).
   */
  private groupCount(binding: Binding, delta: 1 | -1, max?: number, enabled?: boolean) {
    if (!this.tables.groups || binding.group === undefined) return [];
    const limited = delta > 0 && max !== undefined;
    const open = delta > 0 && enabled === true;
    const conditions = [
      ...(limited ? ['(attribute_not_exists(loadBalancers) OR loadBalancers < :max)'] : []),
      ...(open ? ['(attribute_not_exists(adminStateUp) OR adminStateUp = :up)'] : []),
    ];
    return [
      {
        Update: {
          TableName: this.tables.groups,
          Key: { env: binding.env, group: binding.group },
          UpdateExpression: 'ADD loadBalancers :d',
          ...(conditions.length > 0 ? { ConditionExpression: conditions.join(' AND ') } : {}),
          ExpressionAttributeValues: {
            ':d': delta,
            ...(limited ? { ':max': max } : {}),
            ...(open ? { ':up': true } : {}),
          },
        },
      },
    ];
  }

  /**
   * Moves a binding from one agent to another (drain, rebind) with its affinity counts, only if
   * it is still on `from`; false if it moved or went away meanwhile.
   */
  async moveBinding(loadbalancerId: string, from: string, to: string, nowMs: number): Promise<boolean> {
    const binding = await this.getBinding(loadbalancerId);
    if (!binding || binding.host !== from) return false;
    const tKey = tenantKey(binding.env, binding.tenantId);
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tables.bindings,
                Key: { loadbalancerId },
                UpdateExpression: 'SET host = :to, agentKey = :ak, boundAt = :now',
                ConditionExpression: 'host = :from',
                ExpressionAttributeValues: {
                  ':to': to,
                  ':from': from,
                  ':ak': agentKey(binding.env, to),
                  ':now': nowMs,
                },
              },
            },
            {
              Update: {
                TableName: this.tables.affinity,
                Key: { tenantKey: tKey, host: from },
                UpdateExpression: 'ADD loadbalancers :minus',
                ExpressionAttributeValues: { ':minus': -1 },
              },
            },
            {
              Update: {
                TableName: this.tables.affinity,
                Key: { tenantKey: tKey, host: to },
                UpdateExpression: 'SET since = if_not_exists(since, :now) ADD loadbalancers :one',
                ExpressionAttributeValues: { ':now': nowMs, ':one': 1 },
              },
            },
          ],
        }),
      );
    } catch (error) {
      if (isTransactionCanceled(error) && cancellationCodes(error)[0] === 'ConditionalCheckFailed')
        return false;
      throw error;
    }
    await this.dropEmptyAffinity(binding.env, binding.tenantId, from);
    return true;
  }

  /** One page of the load balancers bound to an agent, through the by-agent index. */
  async listOnAgent(
    env: string,
    host: string,
    options: { limit?: number; cursor?: string } = {},
  ): Promise<BindingPage> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tables.bindings,
        IndexName: BINDINGS_BY_AGENT_INDEX,
        KeyConditionExpression: 'agentKey = :k',
        ExpressionAttributeValues: { ':k': agentKey(env, host) },
        Limit: options.limit ?? 100,
        ...(options.cursor ? { ExclusiveStartKey: decodeCursor(options.cursor) } : {}),
      }),
    );
    return {
      items: (out.Items ?? []).map(toBinding),
      cursor: out.LastEvaluatedKey ? encodeCursor(out.LastEvaluatedKey) : undefined,
    };
  }

  /** Counts bindings on an agent by walking the index (cost grows with that agent's bindings only). */
  async countOnAgent(env: string, host: string): Promise<number> {
    return countAll(this.db, {
      TableName: this.tables.bindings,
      IndexName: BINDINGS_BY_AGENT_INDEX,
      KeyConditionExpression: 'agentKey = :k',
      ExpressionAttributeValues: { ':k': agentKey(env, host) },
    });
  }

  private async dropEmptyAffinity(env: string, tenantId: string, host: string): Promise<void> {
    const tKey = tenantKey(env, tenantId);
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.tables.affinity,
          Key: { tenantKey: tKey, host },
          ConditionExpression: 'loadbalancers <= :zero',
          ExpressionAttributeValues: { ':zero': 0 },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) return;
      throw error;
    }
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.tables.affinity,
          Key: { tenantKey: tKey, host: CLAIM },
          ConditionExpression: 'claimedHost = :h',
          ExpressionAttributeValues: { ':h': host },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}

export function tenantKey(env: string, tenantId: string): string {
  return `${env}#${tenantId}`;
}

export function agentKey(env: string, host: string): string {
  return `${env}#${host}`;
}

function toBinding(item: Record<string, unknown>): Binding {
  return {
    loadbalancerId: String(item.loadbalancerId),
    env: String(item.env),
    host: String(item.host),
    tenantId: String(item.tenantId),
    boundAt: Number(item.boundAt),
    ...(typeof item.group === 'string' ? { group: item.group } : {}),
  };
}
