import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  paginateScan,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { LeaseBusyError } from '../domain/errors.js';
import type { PartitionLease } from '../domain/ports.js';
import { sleep } from '../shared/timers.js';
import { isConditionFailure } from './dynamodb-errors.js';

export interface LeaseOptions {
  /** How long a lease lasts if its holder dies without releasing it. */
  ttlMs: number;
  /** How long to keep trying before handing the message back to the queue. */
  waitMs?: number;
  pollMs?: number;
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * A short lease per device cluster and partition, so that two writers (two agents during a
 * failover, or two invocations of one agent) never change the same partition at once: the
 * upstream agents corrupted shared route domains and SNATs doing exactly that.
 */
export class DynamoDbPartitionLease implements PartitionLease {
  private readonly clock: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly options: LeaseOptions,
  ) {
    this.clock = options.clock ?? Date.now;
    this.sleep = options.sleep ?? sleep;
  }

  async acquire(key: string, owner: string): Promise<number> {
    const deadline = this.clock() + (this.options.waitMs ?? 0);
    for (;;) {
      const now = this.clock();
      try {
        await this.db.send(
          new PutCommand({
            TableName: this.table,
            Item: {
              leaseKey: key,
              owner,
              acquiredAt: now,
              expiresAt: now + this.options.ttlMs,
              expiresAtSeconds: Math.ceil((now + this.options.ttlMs) / 1000) + 3600,
            },
            ConditionExpression: 'attribute_not_exists(leaseKey) OR expiresAt < :now OR #o = :me',
            ExpressionAttributeNames: { '#o': 'owner' },
            ExpressionAttributeValues: { ':now': now, ':me': owner },
          }),
        );
        return this.sendBy(now);
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      if (this.clock() >= deadline) {
        throw new LeaseBusyError(`partition lease ${key} is held by another writer`, { key, owner });
      }
      await this.sleep(this.options.pollMs ?? 150);
    }
  }

  async renew(key: string, owner: string): Promise<number> {
    const now = this.clock();
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { leaseKey: key },
          UpdateExpression: 'SET expiresAt = :until, expiresAtSeconds = :ttl',
          // Still ours and not expired: an expired lease may already be another writer's.
          ConditionExpression: '#o = :me AND expiresAt >= :now',
          ExpressionAttributeNames: { '#o': 'owner' },
          ExpressionAttributeValues: {
            ':me': owner,
            ':now': now,
            ':until': now + this.options.ttlMs,
            ':ttl': Math.ceil((now + this.options.ttlMs) / 1000) + 3600,
          },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      throw new LeaseBusyError(`partition lease ${key} was lost before the write; will retry`, {
        key,
        owner,
      });
    }
    return this.sendBy(now);
  }

  /**
   * The send-by time of a grant written at `grantedAt` (measured before the write, so never late):
   * half the TTL, leaving the other half for calls already on their way. One rule for an acquisition
   * and a renewal alike.
   */
  private sendBy(grantedAt: number): number {
    return grantedAt + this.options.ttlMs / 2;
  }

  async release(key: string, owner: string): Promise<void> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { leaseKey: key },
          ConditionExpression: '#o = :me',
          ExpressionAttributeNames: { '#o': 'owner' },
          ExpressionAttributeValues: { ':me': owner },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /**
   * A scan: the table holds only live leases (each is deleted on release; one whose holder died
   * lapses and is replaced or removed by its TTL) and one ledger item per device group, so it
   * stays small whatever the number of tenants. Read consistently: a release just made is seen.
   */
  async countHeld(prefix: string, nowMs: number): Promise<number> {
    let count = 0;
    const pages = paginateScan(
      { client: this.db },
      {
        TableName: this.table,
        ConsistentRead: true,
        Select: 'COUNT',
        FilterExpression: 'begins_with(leaseKey, :p) AND expiresAt > :now',
        ExpressionAttributeValues: { ':p': prefix, ':now': nowMs },
      },
    );
    for await (const page of pages) count += page.Count ?? 0;
    return count;
  }
}
