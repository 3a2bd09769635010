import { BatchGetCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Refusal, RefusalLog } from '../domain/ports.js';

/** DynamoDB's BatchGetItem limit. */
const BATCH = 100;

/**
 * Refusals in the idempotency table, beside the requests' Powertools records and expiring with
 * them (its TTL attribute, `expiration`, in epoch seconds). Two items per refusal, each a plain
 * put of a key no other request shares, so concurrent refusals never overwrite each other's:
 * `refusal#request#<env>#<tenant>#<request id>` (what a sender waits on) and
 * `refusal#object#<env>#<object id>` (the object's last refusal, for `show`). Neither key can be
 * a Powertools key (`<env>-scheduler#<hash>`): `#` follows no environment prefix directly.
 */
export class DynamoDbRefusalLog implements RefusalLog {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async record(refusal: Refusal, expiresAtMs: number): Promise<void> {
    const item = { ...refusal, expiration: Math.ceil(expiresAtMs / 1000) };
    const keys = [requestKey(refusal.env, refusal.tenantId, refusal.requestId)];
    if (refusal.objectId) keys.push(objectKey(refusal.env, refusal.objectId));
    await Promise.all(
      keys.map((id) => this.db.send(new PutCommand({ TableName: this.table, Item: { ...item, id } }))),
    );
  }

  async forRequests(
    env: string,
    requests: readonly { tenantId: string; requestId: string }[],
    nowMs: number,
  ): Promise<Refusal[]> {
    const out: Refusal[] = [];
    const ids = [...new Set(requests.map((r) => requestKey(env, r.tenantId, r.requestId)))];
    for (let i = 0; i < ids.length; i += BATCH) {
      let keys: Record<string, unknown>[] = ids.slice(i, i + BATCH).map((id) => ({ id }));
      while (keys.length > 0) {
        const res = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of res.Responses?.[this.table] ?? []) {
          const refusal = live(item, nowMs);
          if (refusal) out.push(refusal);
        }
        keys = (res.UnprocessedKeys?.[this.table]?.Keys ?? []) as Record<string, unknown>[];
      }
    }
    return out;
  }

  async lastForObject(env: string, objectId: string, nowMs: number): Promise<Refusal | undefined> {
    const res = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { id: objectKey(env, objectId) }, ConsistentRead: true }),
    );
    return res.Item ? live(res.Item, nowMs) : undefined;
  }
}

const requestKey = (env: string, tenantId: string, requestId: string) =>
  `refusal#request#${env}#${tenantId}#${requestId}`;
const objectKey = (env: string, objectId: string) => `refusal#object#${env}#${objectId}`;

/** A stored refusal, unless its time is up (DynamoDB deletes expired items only eventually). */
function live(item: Record<string, unknown>, nowMs: number): Refusal | undefined {
  if (typeof item.expiration === 'number' && item.expiration * 1000 <= nowMs) return undefined;
  const { id: _id, expiration: _expiration, ...refusal } = item;
  return refusal as unknown as Refusal;
}
