import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { type Claim, claimsOf, requestClaims, requestReferences } from '../domain/claims.js';
import { ContentionError } from '../domain/errors.js';
import type { LastApplied } from '../domain/last-applied.js';
import {
  isMemberBatch,
  type LbaasRequest,
  type MemberBatchRequest,
  type ObjectRequest,
  type UpdateRequest,
} from '../domain/lbaas-request.js';
import { planMemberBatch } from '../domain/member-batch.js';
import type { ObjectRef, ResourceStore } from '../domain/ports.js';
import type { RecordConflict, RecordGuard, RecordResult, StoredObject } from '../domain/refusals.js';
import {
  listingKeys,
  newResourceRecord,
  pendingStatusFor,
  projectListingKeys,
  type ResourceRecord,
  resourceKey,
  type StatusOutcome,
} from '../domain/resource-state.js';
import { RESOURCES_BY_TYPE_INDEX } from '../shared/table-schema.js';
import { isConditionFailure, isTransactionCanceled } from './dynamodb-errors.js';
import { decodeCursor, encodeCursor, queryAll } from './dynamodb-query.js';

type Write = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

/**
 * The resources table: one partition per load balancer holding every object's desired state and
 * statuses. A request touches its object and the root in one transaction whose conditions also
 * check that the tenant and environment own the load balancer.
 */
export class DynamoDbResourceStore implements ResourceStore {
  private readonly table: string;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { resources: string; claims: string },
  ) {
    this.table = tables.resources;
  }

  async recordRequest(
    request: LbaasRequest,
    env: string,
    nowMs: number,
    guard?: RecordGuard,
  ): Promise<RecordResult> {
    if (isMemberBatch(request)) return this.recordMemberBatch(request, env, nowMs, guard);
    const target = this.targetWrite(request, env, nowMs);
    const root = request.resource !== 'loadbalancer' ? this.rootWrite(request, env, nowMs) : target;
    if (guard) guardRoot(root, guard);
    const writes: Write[] = [target];
    if (root !== target) writes.push(root);
    for (const claim of requestClaims(request, env)) writes.push(this.claimWrite(claim, nowMs));
    // What the request points at must be an object of the same load balancer (checked, race-free, with the write).
    const refs = requestReferences(request);
    for (const ref of refs) {
      const guarded = guard?.pool === ref.id && ref.type === 'pool';
      writes.push({
        ConditionCheck: {
          TableName: this.table,
          Key: { loadbalancerId: request.loadbalancerId, key: resourceKey(ref.type, ref.id) },
          ConditionExpression: guarded
            ? 'attribute_exists(#k) AND provisioningStatus = :gpa'
            : 'attribute_exists(#k)',
          ExpressionAttributeNames: { '#k': 'key' },
          ...(guarded ? { ExpressionAttributeValues: { ':gpa': 'ACTIVE' } } : {}),
        },
      });
    }
    // A guarded pool the request does not point at (a monitor's or member's delete): checked on its own.
    if (guard?.pool && !refs.some((r) => r.type === 'pool' && r.id === guard.pool)) {
      const poolIsTarget = request.resource === 'pool' && request.object.id === guard.pool;
      if (!poolIsTarget)
        writes.push({
          ConditionCheck: {
            TableName: this.table,
            Key: { loadbalancerId: request.loadbalancerId, key: resourceKey('pool', guard.pool) },
            ConditionExpression: 'provisioningStatus = :gpa',
            ExpressionAttributeValues: { ':gpa': 'ACTIVE' },
          },
        });
    }
    try {
      if (writes.length === 1) await this.sendSingle(writes[0] as Write);
      else await this.db.send(new TransactWriteCommand({ TransactItems: writes }));
    } catch (error) {
      if (isConditionFailure(error) || isTransactionCanceled(error))
        return { recorded: false, conflict: await this.conflictOf(request, env, guard) };
      throw error;
    }
    return { recorded: true };
  }

  /**
   * A member batch may list a thousand members, more than one transaction holds (100 items), so it
   * is checked whole first (planMemberBatch, and every new id's claim), then written in chunks:
   * creates first (they alone can race another load balancer, for an id), undone if a chunk loses
   * that race; then updates and deletes, which only this load balancer's requests touch, and those
   * arrive one at a time (its FIFO group); the pool and load balancer last. A retry of the same
   * request finds its creates already recorded and goes on.
   */
  private async recordMemberBatch(
    request: MemberBatchRequest,
    env: string,
    nowMs: number,
    guard?: RecordGuard,
  ): Promise<RecordResult> {
    const { loadbalancerId, requestId } = request;
    const records = await this.loadRecords(loadbalancerId);
    const changes = planMemberBatch(records, request, env);
    if ('refusal' in changes) return { recorded: false, refusal: changes.refusal };
    const owner = (id: string) => ({ type: 'member' as const, id, loadbalancerId });
    const claimFor = (id: string): Claim => ({
      key: `id#${env}#${id}`,
      owner: owner(id),
      describe: `id ${id}`,
    });
    // One read per hundred ids; only a claim someone else holds is looked at closer.
    const held = await this.heldClaims(
      (await this.claimedByOthers(changes.creates.map((m) => claimFor(m.id)))).map(claimFor),
    );
    if (held.length > 0) return { recorded: false, conflict: { heldClaims: held, missingReferences: [] } };
    // A guarded batch (the API's) then takes its load balancer from the guarded state to
    // PENDING_UPDATE, so no other guarded write runs while its chunks are written.
    if (guard && !(await this.lockForBatch(request, env, nowMs, guard)))
      return { recorded: false, conflict: await this.guardConflictOf(loadbalancerId, guard) };

    const created: string[] = [];
    try {
      // A few transactions at a time (each holds 49 members and their claims).
      const pending = chunks(changes.creates, 49);
      const writeChunk = async () => {
        for (let chunk = pending.shift(); chunk; chunk = pending.shift()) {
          const writes: Write[] = [];
          for (const m of chunk) {
            const create = {
              ...request,
              operation: 'create' as const,
              resource: 'member' as const,
              object: m,
            };
            writes.push(this.targetWrite(create, env, nowMs), this.claimWrite(claimFor(m.id), nowMs));
          }
          await this.db.send(new TransactWriteCommand({ TransactItems: writes }));
          created.push(...chunk.map((m) => m.id));
        }
      };
      const results = await Promise.allSettled(Array.from({ length: 8 }, writeChunk));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    } catch (error) {
      if (!isTransactionCanceled(error)) throw error;
      // Another load balancer took an id between the check and the write: refuse the whole batch.
      await this.undoCreates(loadbalancerId, requestId, env, created);
      if (guard) await this.unlockAfterBatch(request, nowMs);
      const taken = await this.heldClaims(changes.creates.map((m) => claimFor(m.id)));
      if (taken.length > 0)
        return { recorded: false, conflict: { heldClaims: taken, missingReferences: [] } };
      throw new ContentionError(
        `member batch ${requestId} raced with another writer; will retry`,
        { loadbalancerId },
        { cause: error },
      );
    }

    // The same writes as single requests would make: each member, then the pool, PENDING.
    const as = (type: 'member' | 'pool', id: string, changes: Record<string, unknown> = {}) =>
      this.targetWrite(
        {
          ...request,
          resource: type,
          operation: 'update',
          object: { id },
          changes,
          unchanged: {},
        } as UpdateRequest,
        env,
        nowMs,
      );
    const rest: Write[] = [
      ...changes.updates.map((u) => as('member', u.record.id, u.changes)),
      ...changes.deletes.map((d) =>
        this.targetWrite({ ...request, operation: 'delete', object: { id: d.id } }, env, nowMs),
      ),
    ];
    for (const chunk of chunks(rest, 100))
      await this.db.send(new TransactWriteCommand({ TransactItems: chunk }));
    await this.db.send(
      new TransactWriteCommand({
        TransactItems: [as('pool', request.object.pool_id), this.rootWrite(request, env, nowMs)],
      }),
    );
    return { recorded: true };
  }

  /** The guarded batch's lock: the root to PENDING_UPDATE if it is as the guard says (and the pool ACTIVE). */
  private async lockForBatch(
    request: MemberBatchRequest,
    env: string,
    nowMs: number,
    guard: RecordGuard,
  ): Promise<boolean> {
    const root = this.rootWrite(request, env, nowMs);
    guardRoot(root, guard);
    const writes: Write[] = [root];
    if (guard.pool)
      writes.push({
        ConditionCheck: {
          TableName: this.table,
          Key: { loadbalancerId: request.loadbalancerId, key: resourceKey('pool', guard.pool) },
          ConditionExpression: 'provisioningStatus = :gpa',
          ExpressionAttributeValues: { ':gpa': 'ACTIVE' },
        },
      });
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: writes }));
      return true;
    } catch (error) {
      if (!isTransactionCanceled(error)) throw error;
      return false;
    }
  }

  /** Gives a refused guarded batch's load balancer back its ACTIVE status (nothing of the batch stayed). */
  private async unlockAfterBatch(request: MemberBatchRequest, nowMs: number): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: {
            loadbalancerId: request.loadbalancerId,
            key: resourceKey('loadbalancer', request.loadbalancerId),
          },
          UpdateExpression: 'SET provisioningStatus = :a, updatedAt = :now',
          ConditionExpression: 'provisioningStatus = :pu',
          ExpressionAttributeValues: { ':a': 'ACTIVE', ':pu': 'PENDING_UPDATE', ':now': nowMs },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** What a guarded batch's lock ran into: its load balancer and the pool it guards, as stored. */
  private async guardConflictOf(loadbalancerId: string, guard: RecordGuard): Promise<RecordConflict> {
    const [root, pool] = await Promise.all([
      this.storedItem(loadbalancerId, resourceKey('loadbalancer', loadbalancerId)),
      guard.pool ? this.storedItem(loadbalancerId, resourceKey('pool', guard.pool)) : undefined,
    ]);
    return {
      ...(root ? { root: stored(root) } : {}),
      ...(pool ? { guardedPool: stored(pool) } : {}),
      heldClaims: [],
      missingReferences: [],
    };
  }

  private async storedItem(
    loadbalancerId: string,
    key: string,
  ): Promise<Record<string, unknown> | undefined> {
    return (
      await this.db.send(
        new GetCommand({ TableName: this.table, Key: { loadbalancerId, key }, ConsistentRead: true }),
      )
    ).Item;
  }

  /** The owners' ids of the claims that exist and belong to another object. */
  private async claimedByOthers(claims: readonly Claim[]): Promise<string[]> {
    const out: string[] = [];
    for (const chunk of chunks(claims, 100)) {
      let keys: Record<string, unknown>[] = chunk.map((c) => ({ claimKey: c.key }));
      while (keys.length > 0) {
        const res = await this.db.send(
          new BatchGetCommand({
            RequestItems: { [this.tables.claims]: { Keys: keys, ConsistentRead: true } },
          }),
        );
        for (const item of res.Responses?.[this.tables.claims] ?? []) {
          const claim = chunk.find((c) => c.key === item.claimKey);
          if (
            claim &&
            (item.ownerId !== claim.owner.id || item.loadbalancerId !== claim.owner.loadbalancerId)
          )
            out.push(claim.owner.id);
        }
        keys = (res.UnprocessedKeys?.[this.tables.claims]?.Keys ?? []) as Record<string, unknown>[];
      }
    }
    return out;
  }

  /** Removes the records and claims a refused batch created (only its own, never applied). */
  private async undoCreates(
    loadbalancerId: string,
    requestId: string,
    env: string,
    ids: readonly string[],
  ): Promise<void> {
    for (const id of ids) {
      try {
        await this.db.send(
          new DeleteCommand({
            TableName: this.table,
            Key: { loadbalancerId, key: resourceKey('member', id) },
            ConditionExpression: 'requestId = :rid AND provisioningStatus = :pc',
            ExpressionAttributeValues: { ':rid': requestId, ':pc': 'PENDING_CREATE' },
          }),
        );
        await this.releaseClaim({
          key: `id#${env}#${id}`,
          owner: { type: 'member', id, loadbalancerId },
          describe: `id ${id}`,
        });
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
  }

  async clearOwnChange(loadbalancerId: string, requestId: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { loadbalancerId, key: resourceKey('loadbalancer', loadbalancerId) },
          UpdateExpression: 'REMOVE ownChangePending',
          ConditionExpression: 'requestId = :rid',
          ExpressionAttributeValues: { ':rid': requestId },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async clearDefaultPool(loadbalancerId: string, listenerId: string, poolId: string): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { loadbalancerId, key: resourceKey('listener', listenerId) },
          UpdateExpression: 'SET #d.#p = :null',
          ConditionExpression: '#d.#p = :pool',
          ExpressionAttributeNames: { '#d': 'desired', '#p': 'default_pool_id' },
          ExpressionAttributeValues: { ':null': null, ':pool': poolId },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async markError(target: ObjectRef, reason: string, nowMs: number): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { loadbalancerId: target.loadbalancerId, key: resourceKey(target.type, target.id) },
          UpdateExpression:
            'SET provisioningStatus = :err, statusReason = :why, updatedAt = :now, revision = revision + :one REMOVE ownChangePending',
          ConditionExpression: 'attribute_exists(#k) AND tenantId = :t AND env = :e',
          ExpressionAttributeNames: { '#k': 'key' },
          ExpressionAttributeValues: {
            ':err': 'ERROR',
            ':why': truncate(reason),
            ':now': nowMs,
            ':one': 1,
            ':t': target.tenantId,
            ':e': target.env,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async loadObjects(
    loadbalancerId: string,
    objects: readonly { type: ResourceRecord['type']; id: string }[],
  ): Promise<ResourceRecord[]> {
    const out: ResourceRecord[] = [];
    const unique = [...new Set(objects.map((o) => resourceKey(o.type, o.id)))];
    for (const chunk of chunks(unique, 100)) {
      let keys: Record<string, unknown>[] = chunk.map((key) => ({ loadbalancerId, key }));
      while (keys.length > 0) {
        const res = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }),
        );
        out.push(...(res.Responses?.[this.table] ?? []).map(toRecord));
        keys = (res.UnprocessedKeys?.[this.table]?.Keys ?? []) as Record<string, unknown>[];
      }
    }
    return out;
  }

  async loadRecords(loadbalancerId: string): Promise<ResourceRecord[]> {
    const items = await queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'loadbalancerId = :lb',
      ExpressionAttributeValues: { ':lb': loadbalancerId },
      ConsistentRead: true,
    });
    return items.map(toRecord);
  }

  /** The load balancer and type behind a child object's id, from its id claim. */
  async locate(
    env: string,
    id: string,
  ): Promise<{ loadbalancerId: string; type: ResourceRecord['type'] } | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tables.claims, Key: { claimKey: `id#${env}#${id}` } }),
    );
    const item = out.Item as { loadbalancerId?: string; ownerType?: string; type?: string } | undefined;
    if (!item?.loadbalancerId) return undefined;
    return {
      loadbalancerId: item.loadbalancerId,
      type: (item.ownerType ?? item.type) as ResourceRecord['type'],
    };
  }

  /** One page of an environment's objects of one type through the by-type index (name, then id order). */
  async listObjects(
    env: string,
    type: ResourceRecord['type'],
    options: { tenantId?: string; name?: string; limit?: number; cursor?: string } = {},
  ): Promise<{ items: ResourceRecord[]; cursor: string | undefined }> {
    const values: Record<string, unknown> = { ':lk': `${env}#${type}` };
    let keyCondition = 'listKey = :lk';
    if (options.name !== undefined) {
      keyCondition += ' AND begins_with(nameKey, :nk)';
      values[':nk'] = `${options.name}#`;
    }
    if (options.tenantId) values[':t'] = options.tenantId;
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: RESOURCES_BY_TYPE_INDEX,
        KeyConditionExpression: keyCondition,
        ...(options.tenantId ? { FilterExpression: 'tenantId = :t' } : {}),
        ExpressionAttributeValues: values,
        Limit: options.limit ?? 100,
        ...(options.cursor ? { ExclusiveStartKey: decodeCursor(options.cursor) } : {}),
      }),
    );
    return {
      items: (out.Items ?? []).map(toRecord),
      cursor: out.LastEvaluatedKey ? encodeCursor(out.LastEvaluatedKey) : undefined,
    };
  }

  async recordRepair(record: ResourceRecord, note: string, nowMs: number): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { loadbalancerId: record.loadbalancerId, key: resourceKey(record.type, record.id) },
          UpdateExpression:
            'SET provisioningStatus = :active, statusReason = :why, updatedAt = :now, appliedAt = if_not_exists(appliedAt, :now)',
          // Only what the reconciler read: a newer request (new revision, PENDING_*) keeps its status.
          ConditionExpression:
            'revision = :rev AND provisioningStatus IN (:active, :error) AND tenantId = :t AND env = :e',
          ExpressionAttributeValues: {
            ':active': 'ACTIVE',
            ':error': 'ERROR',
            ':why': truncate(note),
            ':now': nowMs,
            ':rev': record.revision,
            ':t': record.tenantId,
            ':e': record.env,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Writes what an apply achieved. Each write is conditional on the revision the agent applied,
   * so an object that a newer request touched meanwhile keeps its PENDING status for that request.
   * Returns how many outcomes were written (the rest were superseded).
   */
  async recordOutcomes(outcomes: readonly StatusOutcome[], nowMs: number): Promise<number> {
    const updates = outcomes.filter((o) => o.kind !== 'deleted');
    const deletes = outcomes.filter((o) => o.kind === 'deleted');
    let written = 0;
    // Many settle together after a batch: a hundred per transaction, each still conditional on its
    // revision; a chunk with a superseded object is cancelled whole and written one by one instead.
    const bulk = updates.length >= BULK_OUTCOMES ? chunks(updates, 100) : [];
    const single = updates.length >= BULK_OUTCOMES ? [] : [...updates];
    await Promise.all(
      bulk.map(async (chunk) => {
        try {
          await this.db.send(
            new TransactWriteCommand({
              TransactItems: chunk.map((o) => ({ Update: this.statusUpdate(o, nowMs) })),
            }),
          );
          written += chunk.length;
        } catch (error) {
          if (!isTransactionCanceled(error)) throw error;
          single.push(...chunk);
        }
      }),
    );
    const queue = [...single, ...deletes];
    let next = 0;
    const worker = async () => {
      while (next < queue.length) {
        const outcome = queue[next++] as StatusOutcome;
        if (await this.recordOutcome(outcome, nowMs)) written += 1;
      }
    };
    await Promise.all(Array.from({ length: Math.min(OUTCOME_CONCURRENCY, queue.length) }, worker));
    return written;
  }

  async recordLastApplied(
    loadbalancerId: string,
    records: readonly { key: string; lastApplied: Record<string, LastApplied> }[],
  ): Promise<number> {
    let written = 0;
    let next = 0;
    const worker = async () => {
      while (next < records.length) {
        const { key, lastApplied } = records[next++] as (typeof records)[number];
        try {
          await this.db.send(
            new UpdateCommand({
              TableName: this.table,
              Key: { loadbalancerId, key },
              UpdateExpression: 'SET lastApplied = :la',
              // A record deleted meanwhile is not brought back as a stub.
              ConditionExpression: 'attribute_exists(#k)',
              ExpressionAttributeNames: { '#k': 'key' },
              ExpressionAttributeValues: { ':la': lastApplied },
            }),
          );
          written += 1;
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(OUTCOME_CONCURRENCY, records.length) }, worker));
    return written;
  }

  /** The conditional update an ACTIVE or ERROR outcome makes. */
  private statusUpdate(outcome: StatusOutcome, nowMs: number) {
    const { record } = outcome;
    const common = {
      TableName: this.table,
      Key: { loadbalancerId: record.loadbalancerId, key: resourceKey(record.type, record.id) },
      ConditionExpression: 'revision = :rev',
    };
    if (outcome.kind === 'active') {
      // What the change applied and read back rides on the status write (last-applied.ts).
      const lastApplied = outcome.lastApplied ? ', lastApplied = :la' : '';
      return {
        ...common,
        UpdateExpression: `SET provisioningStatus = :s, operatingStatus = :o, updatedAt = :now, appliedAt = if_not_exists(appliedAt, :now)${lastApplied} REMOVE statusReason, ownChangePending`,
        ExpressionAttributeValues: {
          ':rev': record.revision,
          ':s': 'ACTIVE',
          ':o': outcome.operatingStatus,
          ':now': nowMs,
          ...(outcome.lastApplied ? { ':la': outcome.lastApplied } : {}),
        },
      };
    }
    return {
      ...common,
      UpdateExpression:
        'SET provisioningStatus = :s, operatingStatus = :o, statusReason = :why, updatedAt = :now REMOVE ownChangePending',
      ExpressionAttributeValues: {
        ':rev': record.revision,
        ':s': 'ERROR',
        ':o': 'OFFLINE',
        ':why': truncate(outcome.kind === 'error' ? outcome.reason : ''),
        ':now': nowMs,
      },
    };
  }

  private async recordOutcome(outcome: StatusOutcome, nowMs: number): Promise<boolean> {
    const { record } = outcome;
    try {
      if (outcome.kind === 'deleted') {
        await this.db.send(
          new DeleteCommand({
            TableName: this.table,
            Key: { loadbalancerId: record.loadbalancerId, key: resourceKey(record.type, record.id) },
            ConditionExpression: 'revision = :rev',
            ExpressionAttributeValues: { ':rev': record.revision },
          }),
        );
        for (const claim of claimsOf(record.env, record)) await this.releaseClaim(claim);
      } else {
        await this.db.send(new UpdateCommand(this.statusUpdate(outcome, nowMs)));
      }
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** A claim a create takes, in the request's transaction (idempotent for the same owner). */
  private claimWrite(claim: Claim, nowMs: number): Write {
    return {
      Put: {
        TableName: this.tables.claims,
        Item: {
          claimKey: claim.key,
          ownerType: claim.owner.type,
          ownerId: claim.owner.id,
          loadbalancerId: claim.owner.loadbalancerId,
          claimedAt: nowMs,
        },
        ConditionExpression: 'attribute_not_exists(claimKey) OR (ownerId = :o AND loadbalancerId = :lb)',
        ExpressionAttributeValues: { ':o': claim.owner.id, ':lb': claim.owner.loadbalancerId },
      },
    };
  }

  /** Frees a deleted object's claim (only its own; a claim already gone is fine). */
  private async releaseClaim(claim: Claim): Promise<void> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.tables.claims,
          Key: { claimKey: claim.key },
          ConditionExpression: 'ownerId = :o AND loadbalancerId = :lb',
          ExpressionAttributeValues: { ':o': claim.owner.id, ':lb': claim.owner.loadbalancerId },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /**
   * The live object holding a create's claim, if another one does. A claim whose holder no longer
   * exists (its delete stopped between the two writes) is freed, and the request may be retried.
   */
  private async claimHolder(
    claim: Claim,
  ): Promise<RecordConflict['heldClaims'][number]['holder'] | undefined> {
    const held = (
      await this.db.send(
        new GetCommand({
          TableName: this.tables.claims,
          Key: { claimKey: claim.key },
          ConsistentRead: true,
        }),
      )
    ).Item;
    if (!held || (held.ownerId === claim.owner.id && held.loadbalancerId === claim.owner.loadbalancerId))
      return undefined;
    const holder = {
      type: held.ownerType as ResourceRecord['type'],
      id: String(held.ownerId),
      loadbalancerId: String(held.loadbalancerId),
    };
    const item = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { loadbalancerId: holder.loadbalancerId, key: resourceKey(holder.type, holder.id) },
        ConsistentRead: true,
      }),
    );
    if (!item.Item) {
      await this.releaseClaim({ ...claim, owner: holder });
      return undefined;
    }
    return holder;
  }

  /** The claims of `claims` another live object holds, each with its holder. */
  private async heldClaims(claims: readonly Claim[]): Promise<RecordConflict['heldClaims']> {
    const out: RecordConflict['heldClaims'] = [];
    for (const claim of claims) {
      const holder = await this.claimHolder(claim);
      if (holder) out.push({ claim, holder });
    }
    return out;
  }

  private async sendSingle(write: Write): Promise<void> {
    if (write.Put)
      await this.db.send(new PutCommand(write.Put as ConstructorParameters<typeof PutCommand>[0]));
    else if (write.Update) {
      await this.db.send(new UpdateCommand(write.Update as ConstructorParameters<typeof UpdateCommand>[0]));
    }
  }

  private targetWrite(request: ObjectRequest, env: string, nowMs: number): Write {
    const { loadbalancerId, tenantId, resource, operation } = request;
    const Key = { loadbalancerId, key: resourceKey(resource, request.object.id) };
    const status = pendingStatusFor(operation);
    if (operation === 'create') {
      return {
        Put: {
          TableName: this.table,
          Item: {
            ...newResourceRecord(request, env, nowMs),
            key: Key.key,
            ...listingKeys(env, resource, request.object.id, (request.object as { name?: string }).name),
            ...projectListingKeys(env, resource, tenantId, request.object.id, nowMs),
          },
          // The same request may come back (a retry after a partial failure, a redrive): it re-records,
          // but a request id reused by another tenant (or environment) never takes the object over.
          ConditionExpression:
            'attribute_not_exists(#k) OR (requestId = :rid AND tenantId = :t AND env = :e)',
          ExpressionAttributeNames: { '#k': 'key' },
          ExpressionAttributeValues: { ':rid': request.requestId, ':t': tenantId, ':e': env },
        },
      };
    }
    const names: Record<string, string> = { '#k': 'key' };
    const values: Record<string, unknown> = {
      ':s': status,
      ':one': 1,
      ':rid': request.requestId,
      ':now': nowMs,
      ':t': tenantId,
      ':e': env,
    };
    const sets = [
      'provisioningStatus = :s',
      'revision = revision + :one',
      'requestId = :rid',
      'updatedAt = :now',
    ];
    const conditions = ['attribute_exists(#k)', 'tenantId = :t', 'env = :e'];
    if (resource === 'loadbalancer' && operation === 'update') {
      sets.push('ownChangePending = :own');
      values[':own'] = true;
    }
    if (operation === 'update') {
      const { changes, unchanged } = request as UpdateRequest;
      // Only when a field of `desired` is named: DynamoDB refuses unused attribute names.
      if (Object.keys(changes).length + Object.keys(unchanged).length > 0) names['#d'] = 'desired';
      if (typeof changes.name === 'string') {
        sets.push('nameKey = :nk');
        values[':nk'] = listingKeys(env, resource, request.object.id, changes.name).nameKey;
      }
      Object.entries(changes).forEach(([field, value], i) => {
        names[`#c${i}`] = field;
        values[`:c${i}`] = value;
        sets.push(`#d.#c${i} = :c${i}`);
      });
      Object.entries(unchanged).forEach(([field, value], i) => {
        names[`#u${i}`] = field;
        values[`:u${i}`] = value;
        conditions.push(`#d.#u${i} = :u${i}`);
      });
      values[':pd'] = 'PENDING_DELETE';
      conditions.push('provisioningStatus <> :pd');
    }
    return {
      Update: {
        TableName: this.table,
        Key,
        UpdateExpression: `SET ${sets.join(', ')} REMOVE statusReason`,
        ConditionExpression: conditions.join(' AND '),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    };
  }

  private rootWrite(request: LbaasRequest, env: string, nowMs: number): Write {
    return {
      Update: {
        TableName: this.table,
        Key: {
          loadbalancerId: request.loadbalancerId,
          key: resourceKey('loadbalancer', request.loadbalancerId),
        },
        UpdateExpression: 'SET provisioningStatus = :pu, revision = revision + :one, updatedAt = :now',
        ConditionExpression:
          'attribute_exists(#k) AND tenantId = :t AND env = :e AND provisioningStatus <> :pd',
        ExpressionAttributeNames: { '#k': 'key' },
        ExpressionAttributeValues: {
          ':pu': 'PENDING_UPDATE',
          ':pd': 'PENDING_DELETE',
          ':one': 1,
          ':now': nowMs,
          ':t': request.tenantId,
          ':e': env,
        },
      },
    };
  }

  /**
   * What a refused write ran into, read back: the request's object and its load balancer, the
   * claims another object holds, the references that are not objects of the load balancer (and
   * whose id they are), and the pool a guard names. The domain says what it means
   * (`explainRecordConflict`).
   */
  private async conflictOf(
    request: ObjectRequest,
    env: string,
    guard?: RecordGuard,
  ): Promise<RecordConflict> {
    const { loadbalancerId, resource } = request;
    const get = (key: string) => this.storedItem(loadbalancerId, key);
    const [target, root, pool] = await Promise.all([
      get(resourceKey(resource, request.object.id)),
      resource === 'loadbalancer' ? undefined : get(resourceKey('loadbalancer', loadbalancerId)),
      guard?.pool ? get(resourceKey('pool', guard.pool)) : undefined,
    ]);
    const conflict: RecordConflict = {
      ...(target ? { target: stored(target) } : {}),
      ...(root ? { root: stored(root) } : {}),
      ...(pool ? { guardedPool: stored(pool) } : {}),
      heldClaims: target ? [] : await this.heldClaims(requestClaims(request, env)),
      missingReferences: [],
    };
    for (const ref of requestReferences(request)) {
      if (await get(resourceKey(ref.type, ref.id))) continue;
      const claimed = (
        await this.db.send(
          new GetCommand({
            TableName: this.tables.claims,
            Key: { claimKey: `id#${env}#${ref.id}` },
            ConsistentRead: true,
          }),
        )
      ).Item;
      conflict.missingReferences.push({
        ...ref,
        ...(claimed ? { claimedBy: String(claimed.loadbalancerId) } : {}),
      });
    }
    return conflict;
  }
}

/** Adds a guard's conditions to the write of a request's load balancer record. */
function guardRoot(write: Write, guard: RecordGuard): void {
  const op = (write.Update ?? write.Put) as {
    ConditionExpression?: string;
    ExpressionAttributeValues?: Record<string, unknown>;
  };
  const statuses = guard.statuses.map((_, i) => `:gs${i}`);
  op.ConditionExpression = `(${op.ConditionExpression ?? 'attribute_exists(loadbalancerId)'}) AND revision = :grev AND provisioningStatus IN (${statuses.join(', ')})`;
  op.ExpressionAttributeValues = {
    ...(op.ExpressionAttributeValues ?? {}),
    ':grev': guard.revision,
    ...Object.fromEntries(guard.statuses.map((s, i) => [`:gs${i}`, s])),
  };
}

/** What a refusal needs of a stored item. */
function stored(item: Record<string, unknown>): StoredObject {
  return {
    tenantId: String(item.tenantId),
    env: String(item.env),
    provisioningStatus: item.provisioningStatus as StoredObject['provisioningStatus'],
    revision: Number(item.revision ?? 0),
    desired: item.desired as StoredObject['desired'],
  };
}

/** Status writes in flight at once for one apply. */
const OUTCOME_CONCURRENCY = 32;
/** From this many status writes, they go a hundred per transaction. */
const BULK_OUTCOMES = 50;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function toRecord(item: Record<string, unknown>): ResourceRecord {
  const record = {
    loadbalancerId: String(item.loadbalancerId),
    type: item.type,
    id: String(item.id),
    tenantId: String(item.tenantId),
    env: String(item.env),
    desired: item.desired,
    provisioningStatus: item.provisioningStatus,
    operatingStatus: item.operatingStatus ?? 'OFFLINE',
    revision: Number(item.revision ?? 0),
    requestId: String(item.requestId ?? ''),
    createdAt: Number(item.createdAt ?? 0),
    updatedAt: Number(item.updatedAt ?? 0),
  } as ResourceRecord;
  if (typeof item.statusReason === 'string') record.statusReason = item.statusReason;
  if (typeof item.appliedAt === 'number') record.appliedAt = item.appliedAt;
  if (item.ownChangePending === true) record.ownChangePending = true;
  if (item.lastApplied && typeof item.lastApplied === 'object')
    record.lastApplied = item.lastApplied as Record<string, LastApplied>;
  return record;
}

/** Keeps reasons readable and well under DynamoDB's item limit. */
function truncate(reason: string, max = 1000): string {
  return reason.length > max ? `${reason.slice(0, max - 1)}…` : reason;
}
