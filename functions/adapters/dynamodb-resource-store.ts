import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
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
  requestGuardKey,
  type UpdateRequest,
} from '../domain/lbaas-request.js';
import { planMemberBatch } from '../domain/member-batch.js';
import { mergeablePrefix } from '../domain/merged-records.js';
import {
  overLimit,
  type QuotaCheck,
  quotaReason,
  type UsageChange,
  usageOf,
} from '../domain/octavia-quotas.js';
import type { ObjectRef, ResourceStore } from '../domain/ports.js';
import {
  type RecordConflict,
  type RecordGuard,
  type RecordResult,
  refusal,
  type StoredObject,
} from '../domain/refusals.js';
import {
  listedByProject,
  listingKeys,
  newResourceRecord,
  pendingStatusFor,
  projectListingKeys,
  type ResourceRecord,
  resourceKey,
  type StatusOutcome,
} from '../domain/resource-state.js';
import { RESOURCES_BY_TYPE_INDEX } from '../shared/table-schema.js';
import { cancellationCodes, isConditionFailure, isTransactionCanceled } from './dynamodb-errors.js';
import { decodeCursor, encodeCursor, queryAll } from './dynamodb-query.js';

type Write = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

/** How long a request's guard lasts unless told: as long as Powertools' idempotency record did (24 hours). */
const GUARD_TTL_SECONDS = 86_400;

/**
 * The resources table: one partition per load balancer holding every object's desired state and
 * statuses. A request touches its object and the root in one transaction whose conditions also
 * check that the tenant and environment own the load balancer, with the request's guard (in the
 * idempotency table, which only the writers of requests are given) so it is recorded once.
 */
export class DynamoDbResourceStore implements ResourceStore {
  private readonly table: string;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { resources: string; claims: string; idempotency?: string },
    private readonly guardTtlSeconds = GUARD_TTL_SECONDS,
  ) {
    this.table = tables.resources;
  }

  async isGuarded(env: string, request: { tenantId: string; requestId: string }, nowMs: number) {
    const item = (
      await this.db.send(
        new GetCommand({
          TableName: this.guardTable(),
          Key: { id: requestGuardKey(env, request) },
          ConsistentRead: true,
        }),
      )
    ).Item;
    // DynamoDB deletes expired items only eventually.
    return typeof item?.expiration === 'number' && item.expiration * 1000 > nowMs;
  }

  private guardTable(): string {
    if (!this.tables.idempotency) throw new Error('recording a request needs the idempotency table');
    return this.tables.idempotency;
  }

  /** The request's guard: new, or in the place of an expired one (the table's TTL deletes it late). */
  private guardWrite(request: LbaasRequest, env: string, nowMs: number): Write {
    return {
      Put: {
        TableName: this.guardTable(),
        Item: {
          id: requestGuardKey(env, request),
          loadbalancerId: request.loadbalancerId,
          recordedAt: nowMs,
          expiration: Math.ceil(nowMs / 1000) + this.guardTtlSeconds,
        },
        ConditionExpression: 'attribute_not_exists(#id) OR #exp <= :now',
        ExpressionAttributeNames: { '#id': 'id', '#exp': 'expiration' },
        ExpressionAttributeValues: { ':now': Math.floor(nowMs / 1000) },
      },
    };
  }

  async recordRequest(
    request: LbaasRequest,
    env: string,
    nowMs: number,
    guard?: RecordGuard,
    quota?: QuotaCheck,
  ): Promise<RecordResult> {
    if (isMemberBatch(request)) return this.recordMemberBatch(request, env, nowMs, guard, quota);
    const add = quota?.add ?? usageOf([request]);
    const over = overLimit({}, add, quota?.limits ?? {});
    if (over.length > 0) return { recorded: false, refusal: refusal('quota-exceeded', quotaReason(over)) };
    const usage = this.usageWrite(env, request.tenantId, add, quota?.limits);
    // A counted create must be new: a re-record of the same request (a retry) is written again below, uncounted.
    const target = this.targetWrite(request, env, nowMs, usage !== undefined);
    const root = request.resource !== 'loadbalancer' ? this.rootWrite(request, env, nowMs) : target;
    if (guard) guardRoot(root, guard);
    // The guard first: a redelivery is known by it, whatever else its write would run into.
    const writes: Write[] = [this.guardWrite(request, env, nowMs), target];
    if (root !== target) writes.push(root);
    if (usage) writes.push(usage);
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
      await transact(this.db, writes);
    } catch (error) {
      if (!isTransactionCanceled(error)) throw error;
      if (cancellationCodes(error)[0] === 'ConditionalCheckFailed')
        return { recorded: true, duplicate: true };
      if (usage) {
        const codes = cancellationCodes(error);
        if (codes[writes.indexOf(usage)] === 'ConditionalCheckFailed') {
          const now = overLimit(await this.loadUsage(env, request.tenantId), add, quota?.limits ?? {});
          if (now.length > 0)
            return { recorded: false, refusal: refusal('quota-exceeded', quotaReason(now)) };
          throw new ContentionError(`request ${request.requestId} raced on its project's usage; will retry`);
        }
      }
      // The same request recorded before (a retry): record it again without counting it twice.
      if (usage && request.operation === 'create') {
        const held = await this.storedItem(
          request.loadbalancerId,
          resourceKey(request.resource, request.object.id),
        );
        if (held?.requestId === request.requestId && held.tenantId === request.tenantId && held.env === env)
          return this.recordRequest(request, env, nowMs, guard, { limits: {}, add: {} });
      }
      return { recorded: false, conflict: await this.conflictOf(request, env, guard) };
    }
    return { recorded: true };
  }

  async recordRequests(requests: readonly LbaasRequest[], env: string, nowMs: number): Promise<number> {
    const n = mergeablePrefix(requests, env);
    if (n < 2) return 0;
    // mergeablePrefix takes object requests of one load balancer and tenant only.
    const run = requests.slice(0, n) as ObjectRequest[];
    const first = run[0] as ObjectRequest;
    // Each request's own items as recordRequest writes them (a create counted, so new), then the
    // objects they point at once, the root once (revision + n) and the project's usage once (summed).
    const writes: Write[] = [];
    const references = new Map<string, Write>();
    for (const request of run) {
      writes.push(
        this.guardWrite(request, env, nowMs),
        this.targetWrite(request, env, nowMs, request.operation === 'create'),
        ...requestClaims(request, env).map((claim) => this.claimWrite(claim, nowMs)),
      );
      for (const ref of requestReferences(request))
        references.set(resourceKey(ref.type, ref.id), {
          ConditionCheck: {
            TableName: this.table,
            Key: { loadbalancerId: first.loadbalancerId, key: resourceKey(ref.type, ref.id) },
            ConditionExpression: 'attribute_exists(#k)',
            ExpressionAttributeNames: { '#k': 'key' },
          },
        });
    }
    writes.push(...references.values(), this.rootWrite(first, env, nowMs, n));
    const usage = this.usageWrite(env, first.tenantId, usageOf(run));
    if (usage) writes.push(usage);
    try {
      await transact(this.db, writes);
    } catch (error) {
      // Whatever refused it, each request's own recording finds and explains it.
      if (isTransactionCanceled(error)) return 0;
      throw error;
    }
    return n;
  }

  async loadUsage(env: string, tenantId: string): Promise<UsageChange> {
    const item = (
      await this.db.send(
        new GetCommand({
          TableName: this.tables.claims,
          Key: { claimKey: usageKey(env, tenantId) },
          ConsistentRead: true,
        }),
      )
    ).Item;
    const out: UsageChange = {};
    for (const [k, v] of Object.entries(item ?? {}))
      if (k.startsWith('n_') && typeof v === 'number') out[k.slice(2) as keyof UsageChange] = v;
    return out;
  }

  async releaseUsage(env: string, tenantId: string, counts: UsageChange): Promise<void> {
    const negative = Object.fromEntries(Object.entries(counts).map(([t, n]) => [t, -(n ?? 0)]));
    const write = this.usageWrite(env, tenantId, negative);
    if (write?.Update)
      await this.db.send(new UpdateCommand(write.Update as ConstructorParameters<typeof UpdateCommand>[0]));
  }

  /**
   * The project's usage counter item (in the claims table: it is per environment and changes with
   * the claims), changed by `add`; with limits, conditional on staying within each. Undefined when
   * nothing changes.
   */
  private usageWrite(
    env: string,
    tenantId: string,
    add: UsageChange,
    limits: QuotaCheck['limits'] = {},
  ): Write | undefined {
    const entries = Object.entries(add).filter(([, n]) => n !== undefined && n !== 0) as [string, number][];
    if (entries.length === 0) return undefined;
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const adds: string[] = [];
    const conditions: string[] = [];
    entries.forEach(([type, n], i) => {
      names[`#n${i}`] = `n_${type}`;
      values[`:a${i}`] = n;
      adds.push(`#n${i} :a${i}`);
      const limit = limits[type as keyof UsageChange];
      if (n > 0 && limit !== undefined && limit >= 0) {
        values[`:m${i}`] = limit - n;
        conditions.push(`(attribute_not_exists(#n${i}) OR #n${i} <= :m${i})`);
      }
    });
    return {
      Update: {
        TableName: this.tables.claims,
        Key: { claimKey: usageKey(env, tenantId) },
        UpdateExpression: `ADD ${adds.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ...(conditions.length > 0 ? { ConditionExpression: conditions.join(' AND ') } : {}),
      },
    };
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
    quota?: QuotaCheck,
  ): Promise<RecordResult> {
    const { loadbalancerId, requestId } = request;
    // Its chunks are many transactions: a redelivery is known by its guard before the first.
    if (await this.isGuarded(env, request, nowMs)) return { recorded: true, duplicate: true };
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
    // The new members count in the project's usage first (within its quota), the records follow.
    const add: UsageChange = { member: changes.creates.length };
    const limits = quota?.limits ?? {};
    const over = overLimit({}, add, limits);
    if (over.length > 0) return { recorded: false, refusal: refusal('quota-exceeded', quotaReason(over)) };
    const usage = this.usageWrite(env, request.tenantId, add, limits);
    const quotaRefusal = async (): Promise<RecordResult> => {
      const now = overLimit(await this.loadUsage(env, request.tenantId), add, limits);
      if (now.length === 0)
        throw new ContentionError(`member batch ${requestId} raced on its project's usage; will retry`);
      return { recorded: false, refusal: refusal('quota-exceeded', quotaReason(now)) };
    };
    // A guarded batch (the API's) then takes its load balancer from the guarded state to
    // PENDING_UPDATE, so no other guarded write runs while its chunks are written.
    if (guard) {
      const locked = await this.lockForBatch(request, env, nowMs, guard, usage);
      if (locked === 'usage') return quotaRefusal();
      if (!locked) return { recorded: false, conflict: await this.guardConflictOf(loadbalancerId, guard) };
    } else if (usage?.Update) {
      try {
        await this.db.send(new UpdateCommand(usage.Update as ConstructorParameters<typeof UpdateCommand>[0]));
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        return quotaRefusal();
      }
    }

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
      await this.undoCreates(loadbalancerId, requestId, request.tenantId, env, created);
      // The creates never written give their count back too (the written ones did, with their records).
      await this.releaseUsage(env, request.tenantId, { member: changes.creates.length - created.length });
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
    // The guard with the last write: a batch that failed before it is recorded again when it comes back.
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            this.guardWrite(request, env, nowMs),
            as('pool', request.object.pool_id),
            this.rootWrite(request, env, nowMs),
          ],
        }),
      );
    } catch (error) {
      if (isTransactionCanceled(error) && cancellationCodes(error)[0] === 'ConditionalCheckFailed')
        return { recorded: true, duplicate: true };
      throw error;
    }
    return { recorded: true };
  }

  /** The guarded batch's lock: the root to PENDING_UPDATE if it is as the guard says (and the pool ACTIVE). */
  private async lockForBatch(
    request: MemberBatchRequest,
    env: string,
    nowMs: number,
    guard: RecordGuard,
    usage: Write | undefined,
  ): Promise<boolean | 'usage'> {
    const root = this.rootWrite(request, env, nowMs);
    guardRoot(root, guard);
    const writes: Write[] = [root];
    if (usage) writes.push(usage);
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
      await transact(this.db, writes);
      return true;
    } catch (error) {
      if (!isTransactionCanceled(error)) throw error;
      if (usage && cancellationCodes(error)[1] === 'ConditionalCheckFailed') return 'usage';
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
    tenantId: string,
    env: string,
    ids: readonly string[],
  ): Promise<void> {
    for (const id of ids) {
      try {
        await transact(this.db, [
          {
            Delete: {
              TableName: this.table,
              Key: { loadbalancerId, key: resourceKey('member', id) },
              ConditionExpression: 'requestId = :rid AND provisioningStatus = :pc',
              ExpressionAttributeValues: { ':rid': requestId, ':pc': 'PENDING_CREATE' },
            },
          },
          this.usageWrite(env, tenantId, { member: -1 }) as Write,
        ]);
        await this.releaseClaim({
          key: `id#${env}#${id}`,
          owner: { type: 'member', id, loadbalancerId },
          describe: `id ${id}`,
        });
      } catch (error) {
        if (!isConditionFailure(error) && !isTransactionCanceled(error)) throw error;
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
    const single: StatusOutcome[] = updates.length >= BULK_OUTCOMES ? [] : [...updates];
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
    // Deleted records go a project at a time, up to 99 per transaction with one change of the
    // project's usage (a cascade delete would otherwise contend for that one item record by
    // record); a chunk with a superseded record is written one by one instead.
    const byProject = new Map<string, StatusOutcome[]>();
    for (const o of deletes) {
      const key = `${o.record.env}#${o.record.tenantId}`;
      byProject.set(key, [...(byProject.get(key) ?? []), o]);
    }
    for (const group of byProject.values())
      for (const chunk of chunks(group, 99)) {
        if (chunk.length === 1) {
          single.push(...chunk);
          continue;
        }
        const { env, tenantId } = (chunk[0] as StatusOutcome).record;
        const counts: UsageChange = {};
        for (const o of chunk) counts[o.record.type] = (counts[o.record.type] ?? 0) - 1;
        try {
          await transact(this.db, [
            ...chunk.map((o) => this.recordDelete(o.record)),
            this.usageWrite(env, tenantId, counts) as Write,
          ]);
        } catch (error) {
          if (!isTransactionCanceled(error)) throw error;
          single.push(...chunk);
          continue;
        }
        written += chunk.length;
        for (const o of chunk)
          for (const claim of claimsOf(o.record.env, o.record)) await this.releaseClaim(claim);
      }
    const queue = single;
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
              ExpressionAttributeValues: { ':la': encodeLastApplied(lastApplied) },
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
          ...(outcome.lastApplied ? { ':la': encodeLastApplied(outcome.lastApplied) } : {}),
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
        // The record and its count in its project's usage go together.
        await transact(this.db, [
          this.recordDelete(record),
          this.usageWrite(record.env, record.tenantId, { [record.type]: -1 }) as Write,
        ]);
        for (const claim of claimsOf(record.env, record)) await this.releaseClaim(claim);
      } else {
        await this.db.send(new UpdateCommand(this.statusUpdate(outcome, nowMs)));
      }
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      // Superseded (its revision changed) is not written; a transaction that kept losing to others is retried by the caller.
      if (isTransactionCanceled(error) && !cancellationCodes(error).includes('TransactionConflict'))
        return false;
      throw error;
    }
  }

  /** A record's removal, conditional on the revision that was applied. */
  private recordDelete(record: ResourceRecord): Write {
    return {
      Delete: {
        TableName: this.table,
        Key: { loadbalancerId: record.loadbalancerId, key: resourceKey(record.type, record.id) },
        ConditionExpression: 'revision = :rev',
        ExpressionAttributeValues: { ':rev': record.revision },
      },
    };
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

  private targetWrite(request: ObjectRequest, env: string, nowMs: number, mustBeNew = false): Write {
    const { loadbalancerId, tenantId, resource, operation } = request;
    const Key = { loadbalancerId, key: resourceKey(resource, request.object.id) };
    const status = pendingStatusFor(operation);
    if (operation === 'create' && mustBeNew) {
      const write = this.targetWrite(request, env, nowMs);
      const put = write.Put as { ConditionExpression?: string; ExpressionAttributeValues?: unknown };
      put.ConditionExpression = 'attribute_not_exists(#k)';
      delete put.ExpressionAttributeValues;
      return write;
    }
    if (operation === 'create') {
      return {
        Put: {
          TableName: this.table,
          Item: {
            ...newResourceRecord(request, env, nowMs),
            key: Key.key,
            ...listingKeys(env, resource, request.object.id, (request.object as { name?: string }).name),
            ...(listedByProject(resource)
              ? projectListingKeys(env, resource, tenantId, request.object.id, nowMs)
              : {}),
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

  /** The load balancer's record as `count` requests of its children leave it: PENDING_UPDATE, revision + count. */
  private rootWrite(request: LbaasRequest, env: string, nowMs: number, count = 1): Write {
    return {
      Update: {
        TableName: this.table,
        Key: {
          loadbalancerId: request.loadbalancerId,
          key: resourceKey('loadbalancer', request.loadbalancerId),
        },
        UpdateExpression: 'SET provisioningStatus = :pu, revision = revision + :n, updatedAt = :now',
        ConditionExpression:
          'attribute_exists(#k) AND tenantId = :t AND env = :e AND provisioningStatus <> :pd',
        ExpressionAttributeNames: { '#k': 'key' },
        ExpressionAttributeValues: {
          ':pu': 'PENDING_UPDATE',
          ':pd': 'PENDING_DELETE',
          ':n': count,
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

/**
 * Sends a transaction, again after a short random pause when DynamoDB cancelled it only because
 * another transaction held one of its items (a project's usage counter is shared by every write
 * of the project); a condition that failed is the caller's to read.
 */
async function transact(db: DynamoDBDocumentClient, writes: Write[], attempts = 10): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await db.send(new TransactWriteCommand({ TransactItems: writes }));
      return;
    } catch (error) {
      if (!isTransactionCanceled(error) || attempt >= attempts) throw error;
      const codes = cancellationCodes(error);
      if (!codes.includes('TransactionConflict') || codes.includes('ConditionalCheckFailed')) throw error;
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * attempt));
    }
  }
}

/** The claims-table item counting a project's objects in an environment (`n_<type>` attributes). */
function usageKey(env: string, tenantId: string): string {
  return `usage#${env}#${tenantId}`;
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
  const lastApplied = decodeLastApplied(item.lastApplied);
  if (lastApplied) record.lastApplied = lastApplied;
  return record;
}

/**
 * A resource's last-applied records as its item keeps them: one string, a line per device object,
 * `key⇥intent⇥readBack⇥tmos`, the read-back left empty when it is the intent's digest (a device
 * that reads back what it was sent). As a map of maps a member's records cost about 250 bytes on
 * the wire (80 more) and five attributes to encode and decode, on every status write of a
 * 1,000-member batch and every read of its tree. Names are checked (bigip-names.ts) and hold no tab or line
 * break; a key that did would keep the map.
 */
export function encodeLastApplied(
  records: Record<string, LastApplied>,
): string | Record<string, LastApplied> {
  const entries = Object.entries(records);
  if (entries.some(([key, r]) => /[\t\n]/.test(key + r.intent + r.readBack + r.tmos))) return records;
  return entries
    .map(([key, r]) => `${key}\t${r.intent}\t${r.readBack === r.intent ? '' : r.readBack}\t${r.tmos}`)
    .join('\n');
}

/** The records an item holds: the string above, or the map that items written before it hold. */
export function decodeLastApplied(value: unknown): Record<string, LastApplied> | undefined {
  if (typeof value === 'string') {
    const out: Record<string, LastApplied> = {};
    for (const line of value ? value.split('\n') : []) {
      const [key = '', intent = '', readBack = '', tmos = ''] = line.split('\t');
      out[key] = { intent, readBack: readBack || intent, tmos };
    }
    return out;
  }
  if (value && typeof value === 'object') return value as Record<string, LastApplied>;
  return undefined;
}

/** Keeps reasons readable and well under DynamoDB's item limit. */
function truncate(reason: string, max = 1000): string {
  return reason.length > max ? `${reason.slice(0, max - 1)}…` : reason;
}
