import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { SyncLedger, SyncLedgerState } from '../domain/ports.js';
import { isConditionFailure } from './dynamodb-errors.js';

/**
 * The config-sync ledger of each device group, one item in the leases table (`sync#<group>`):
 * counters of syncs started and ended, and the runner of the current one with its expiry. The item
 * carries no TTL attribute: its counters must outlive every waiter.
 */
export class DynamoDbSyncLedger implements SyncLedger {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async read(group: string, nowMs: number): Promise<SyncLedgerState> {
    const item = (
      await this.db.send(
        new GetCommand({ TableName: this.table, Key: { leaseKey: keyOf(group) }, ConsistentRead: true }),
      )
    ).Item;
    return {
      started: Number(item?.started ?? 0),
      ended: Number(item?.ended ?? 0),
      running: typeof item?.owner === 'string' && Number(item?.expiresAt ?? 0) > nowMs,
      lastGood: Number(item?.lastGood ?? 0),
    };
  }

  async begin(group: string, owner: string, nowMs: number, ttlMs: number): Promise<number | undefined> {
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { leaseKey: keyOf(group) },
          UpdateExpression:
            'SET started = if_not_exists(started, :zero) + :one, ended = if_not_exists(ended, :zero), #o = :me, expiresAt = :exp',
          ConditionExpression: 'attribute_not_exists(#o) OR expiresAt < :now',
          ExpressionAttributeNames: { '#o': 'owner' },
          ExpressionAttributeValues: {
            ':zero': 0,
            ':one': 1,
            ':me': owner,
            ':exp': nowMs + ttlMs,
            ':now': nowMs,
          },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(out.Attributes?.started);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async end(group: string, owner: string, n: number, ok: boolean): Promise<void> {
    const Key = { leaseKey: keyOf(group) };
    if (ok) {
      // Recorded first: a waiter that sees the sync ended may then trust it.
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key,
            UpdateExpression: 'SET lastGood = :n',
            ConditionExpression: 'attribute_not_exists(lastGood) OR lastGood < :n',
            ExpressionAttributeValues: { ':n': n },
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key,
          UpdateExpression: 'SET ended = :n REMOVE #o, expiresAt',
          ConditionExpression: '#o = :me AND ended < :n',
          ExpressionAttributeNames: { '#o': 'owner' },
          ExpressionAttributeValues: { ':me': owner, ':n': n },
        }),
      );
      return;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    // Our runner's lease ran out and another took over: still record that this sync ended.
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key,
          UpdateExpression: 'SET ended = :n',
          ConditionExpression: 'ended < :n',
          ExpressionAttributeValues: { ':n': n },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}

function keyOf(group: string): string {
  return `sync#${group}`;
}
