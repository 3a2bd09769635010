import { BatchWriteCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ListenerStatistics } from '../domain/listener-statistics.js';
import type { HealthStore, OperatingStatusChange } from '../domain/ports.js';
import { resourceKey } from '../domain/resource-state.js';
import { sleep } from '../shared/timers.js';
import { isConditionFailure } from './dynamodb-errors.js';
import { queryAll } from './dynamodb-query.js';

/** At most this many status writes at once: a poll of a large environment must not burst the table. */
const WRITE_CONCURRENCY = 16;

/**
 * What the health poller writes: operating statuses in the resources table (nothing else of the
 * item, each write conditional on the object being as it was read), and listener totals in the
 * statistics table.
 */
export class DynamoDbHealthStore implements HealthStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { resources: string; statistics: string },
  ) {}

  async writeOperatingStatuses(changes: readonly OperatingStatusChange[], nowMs: number): Promise<number> {
    let written = 0;
    let next = 0;
    const one = async (change: OperatingStatusChange) => {
      const r = change.record;
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.tables.resources,
            Key: { loadbalancerId: r.loadbalancerId, key: resourceKey(r.type, r.id) },
            UpdateExpression: 'SET operatingStatus = :to, operatingStatusAt = :now',
            // Still ACTIVE, at the revision and status read, of this tenant and environment.
            ConditionExpression:
              'revision = :rev AND operatingStatus = :from AND provisioningStatus = :active AND tenantId = :t AND env = :e',
            ExpressionAttributeValues: {
              ':to': change.to,
              ':now': nowMs,
              ':rev': r.revision,
              ':from': r.operatingStatus,
              ':active': 'ACTIVE',
              ':t': r.tenantId,
              ':e': r.env,
            },
          }),
        );
        written++;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(WRITE_CONCURRENCY, changes.length) }, async () => {
        while (next < changes.length) await one(changes[next++] as OperatingStatusChange);
      }),
    );
    return written;
  }

  async loadStatistics(loadbalancerId: string): Promise<ListenerStatistics[]> {
    const items = await queryAll(this.db, {
      TableName: this.tables.statistics,
      KeyConditionExpression: 'loadbalancerId = :lb',
      ExpressionAttributeValues: { ':lb': loadbalancerId },
    });
    return items.map((item) => item as unknown as ListenerStatistics);
  }

  async deleteStatistics(loadbalancerId: string): Promise<void> {
    const rows = await this.loadStatistics(loadbalancerId);
    await this.writeBatches(
      rows.map((s) => ({
        DeleteRequest: { Key: { loadbalancerId: s.loadbalancerId, listenerId: s.listenerId } },
      })),
    );
  }

  async saveStatistics(statistics: readonly ListenerStatistics[]): Promise<void> {
    await this.writeBatches(statistics.map((s) => ({ PutRequest: { Item: { ...s } } })));
  }

  /** Batch writes of 25, unprocessed ones sent again with back-off (a bounded number of times). */
  private async writeBatches(writes: readonly Record<string, unknown>[]): Promise<void> {
    for (let i = 0; i < writes.length; i += 25) {
      let requests = writes.slice(i, i + 25);
      for (let attempt = 0; requests.length > 0; attempt++) {
        const res = await this.db.send(
          new BatchWriteCommand({ RequestItems: { [this.tables.statistics]: requests as never } }),
        );
        requests = (res.UnprocessedItems?.[this.tables.statistics] ?? []) as Record<string, unknown>[];
        if (requests.length > 0) {
          if (attempt >= 8) throw new Error(`statistics: ${requests.length} writes left unprocessed`);
          await sleep(50 * 2 ** attempt);
        }
      }
    }
  }
}
