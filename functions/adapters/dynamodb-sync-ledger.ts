import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { SyncClaim, SyncLedger, SyncLedgerState } from '../domain/ports.js';
import { previousSyncFailed } from '../domain/sync-ledger-numbers.js';
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
    return stateOf(item, nowMs);
  }

  async begin(
    group: string,
    owner: string,
    nowMs: number,
    ttlMs: number,
    options: { hold?: boolean } = {},
  ): Promise<SyncClaim> {
    // `held` names the sync whose command is not sent yet; a claim that sends at once clears it.
    const held = options.hold ? ', held = if_not_exists(started, :zero) + :one' : ' REMOVE held';
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { leaseKey: keyOf(group) },
          UpdateExpression: `SET started = if_not_exists(started, :zero) + :one, ended = if_not_exists(ended, :zero), #o = :me, expiresAt = :exp${held}`,
          ConditionExpression: 'attribute_not_exists(#o) OR expiresAt < :now',
          ExpressionAttributeNames: { '#o': 'owner' },
          ExpressionAttributeValues: {
            ':zero': 0,
            ':one': 1,
            ':me': owner,
            ':exp': nowMs + ttlMs,
            ':now': nowMs,
          },
          // The whole item: its `tookMs` times a new writer's first polls (no extra read).
          ReturnValues: 'ALL_NEW',
          // Refused: the item as it stood, so the waiter knows what to wait for without a read.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const tookMs = tookOf(out.Attributes);
      const started = Number(out.Attributes?.started);
      return {
        started,
        ...(tookMs === undefined ? {} : { lastTookMs: tookMs }),
        ...(previousSyncFailed(started, Number(out.Attributes?.lastGood ?? 0))
          ? { previousFailed: true }
          : {}),
      };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const item = error.Item ? unmarshall(error.Item as Record<string, AttributeValue>) : undefined;
      return { busy: stateOf(item, nowMs) };
    }
  }

  async issue(group: string, owner: string, n: number): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { leaseKey: keyOf(group) },
          UpdateExpression: 'REMOVE held',
          ConditionExpression: '#o = :me AND started = :n',
          ExpressionAttributeNames: { '#o': 'owner' },
          ExpressionAttributeValues: { ':me': owner, ':n': n },
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return false;
    }
  }

  async end(
    group: string,
    owner: string,
    n: number,
    ok: boolean,
    options: { tookMs?: number } = {},
  ): Promise<void> {
    const Key = { leaseKey: keyOf(group) };
    const took = ok && options.tookMs !== undefined ? Math.round(options.tookMs) : undefined;
    // The usual case, still the runner: one write says the sync ended (and that it ended well, in the
    // same write, so a waiter that sees it ended may trust it).
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key,
          UpdateExpression: ok
            ? `SET ended = :n, lastGood = :n${took === undefined ? '' : ', tookMs = :took'} REMOVE #o, expiresAt, held`
            : 'SET ended = :n REMOVE #o, expiresAt, held',
          ConditionExpression: ok
            ? '#o = :me AND ended < :n AND (attribute_not_exists(lastGood) OR lastGood < :n)'
            : '#o = :me AND ended < :n',
          ExpressionAttributeNames: { '#o': 'owner' },
          ExpressionAttributeValues: {
            ':me': owner,
            ':n': n,
            ...(took === undefined ? {} : { ':took': took }),
          },
        }),
      );
      return;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
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
          UpdateExpression: 'SET ended = :n REMOVE #o, expiresAt, held',
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

/** The ledger's numbers from its item (none yet: all zero). */
function stateOf(item: Record<string, unknown> | undefined, nowMs: number): SyncLedgerState {
  const tookMs = tookOf(item);
  const started = Number(item?.started ?? 0);
  const running = typeof item?.owner === 'string' && Number(item?.expiresAt ?? 0) > nowMs;
  return {
    started,
    ended: Number(item?.ended ?? 0),
    running,
    lastGood: Number(item?.lastGood ?? 0),
    // Only the running sync's own hold counts (an item without `held` was written before holds: sent).
    holding: running && started > 0 && Number(item?.held ?? 0) === started,
    ...(tookMs === undefined ? {} : { lastTookMs: tookMs }),
  };
}

/** The last good sync's duration, when one was recorded (items written before it carry none). */
function tookOf(item: Record<string, unknown> | undefined): number | undefined {
  const took = Number(item?.tookMs);
  return Number.isFinite(took) && took > 0 ? took : undefined;
}

function keyOf(group: string): string {
  return `sync#${group}`;
}
