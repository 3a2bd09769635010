import { type Claim, claimsOf, requestClaims, requestReferences } from '../../../functions/domain/claims.js';
import type { LastApplied } from '../../../functions/domain/last-applied.js';
import {
  isMemberBatch,
  type LbaasRequest,
  type MemberBatchRequest,
  type ObjectRequest,
  requestGuardKey,
} from '../../../functions/domain/lbaas-request.js';
import { planMemberBatch } from '../../../functions/domain/member-batch.js';
import { mergeablePrefix } from '../../../functions/domain/merged-records.js';
import {
  overLimit,
  type QuotaCheck,
  quotaReason,
  type UsageChange,
  usageOf,
} from '../../../functions/domain/octavia-quotas.js';
import type { ObjectRef, ResourceStore } from '../../../functions/domain/ports.js';
import {
  type RecordConflict,
  type RecordGuard,
  type RecordResult,
  refusal,
  type StoredObject,
} from '../../../functions/domain/refusals.js';
import {
  isPending,
  newResourceRecord,
  pendingStatusFor,
  type ResourceRecord,
  resourceKey,
  type StatusOutcome,
} from '../../../functions/domain/resource-state.js';

type Owner = { type: ResourceRecord['type']; id: string; loadbalancerId: string };

/**
 * The resources table in memory: desired state and statuses per load balancer, a request recorded
 * under the same conditions as the DynamoDB adapter's transaction (the object, its load balancer,
 * the claims, the references), and status writes conditional on the revision that was applied. A
 * refused write returns what was in the way, as the adapter does; the domain explains it.
 */
export class InMemoryResourceStore implements ResourceStore {
  readonly records = new Map<string, ResourceRecord>();
  /** Claims: key → the object holding it. */
  readonly claims = new Map<string, Owner>();
  /** Every outcome written, in order (superseded ones are not). */
  readonly written: StatusOutcome[] = [];
  /** Writes of last-applied records on their own (not with a status). */
  lastAppliedWrites = 0;
  /** Each project's usage counters (`env#tenant` → type → count), kept with the records as the adapter does. */
  readonly usage = new Map<string, UsageChange>();
  /** Requests' guards (`requestGuardKey` → when it expires, ms), written with each recording as the adapter does. */
  readonly guards = new Map<string, number>();

  /** `guardTtlMs`: how long a request's guard lasts (the adapter's default, 24 hours). */
  constructor(private readonly guardTtlMs = 86_400_000) {}

  async isGuarded(env: string, request: { tenantId: string; requestId: string }, nowMs: number) {
    return (this.guards.get(requestGuardKey(env, request)) ?? 0) > nowMs;
  }

  async loadUsage(env: string, tenantId: string): Promise<UsageChange> {
    return { ...(this.usage.get(`${env}#${tenantId}`) ?? {}) };
  }

  async releaseUsage(env: string, tenantId: string, counts: UsageChange): Promise<void> {
    this.count(env, tenantId, Object.fromEntries(Object.entries(counts).map(([t, n]) => [t, -(n ?? 0)])));
  }

  private count(env: string, tenantId: string, add: UsageChange): void {
    const key = `${env}#${tenantId}`;
    const now = this.usage.get(key) ?? {};
    for (const [t, n] of Object.entries(add))
      now[t as keyof UsageChange] = (now[t as keyof UsageChange] ?? 0) + (n ?? 0);
    this.usage.set(key, now);
  }

  private key(loadbalancerId: string, type: string, id: string) {
    return `${loadbalancerId}|${resourceKey(type as ResourceRecord['type'], id)}`;
  }

  put(record: ResourceRecord): void {
    this.records.set(this.key(record.loadbalancerId, record.type, record.id), structuredClone(record));
  }

  get(loadbalancerId: string, type: ResourceRecord['type'], id: string): ResourceRecord | undefined {
    return this.records.get(this.key(loadbalancerId, type, id));
  }

  async recordRequest(
    request: LbaasRequest,
    env: string,
    nowMs: number,
    guard?: RecordGuard,
    quota?: QuotaCheck,
  ): Promise<RecordResult> {
    // The guard is the transaction's first condition: a redelivery is never recorded again.
    if (await this.isGuarded(env, request, nowMs)) return { recorded: true, duplicate: true };
    const result = isMemberBatch(request)
      ? await this.recordMemberBatch(request, env, nowMs, guard, quota)
      : this.recordObjectRequest(request, env, nowMs, guard, quota);
    if (result.recorded) this.guards.set(requestGuardKey(env, request), nowMs + this.guardTtlMs);
    return result;
  }

  /** Counted each time a run is written together (the adapter's one transaction). */
  mergedWrites = 0;

  async recordRequests(requests: readonly LbaasRequest[], env: string, nowMs: number): Promise<number> {
    const n = mergeablePrefix(requests, env);
    if (n < 2) return 0;
    // All or none, as the adapter's one transaction: each recorded in turn, undone if one is not.
    const before = {
      records: structuredClone(this.records),
      claims: structuredClone(this.claims),
      usage: structuredClone(this.usage),
      guards: structuredClone(this.guards),
    };
    for (const request of requests.slice(0, n)) {
      const result = await this.recordRequest(request, env, nowMs);
      if (result.recorded && !('duplicate' in result)) continue;
      for (const name of ['records', 'claims', 'usage', 'guards'] as const) {
        const map = this[name] as Map<string, unknown>;
        map.clear();
        for (const [k, v] of before[name]) map.set(k, v);
      }
      return 0;
    }
    this.mergedWrites += 1;
    return n;
  }

  private recordObjectRequest(
    request: ObjectRequest,
    env: string,
    nowMs: number,
    guard?: RecordGuard,
    quota?: QuotaCheck,
  ): RecordResult {
    const { loadbalancerId, tenantId, resource, operation } = request;
    const id = request.object.id;
    const root = this.get(loadbalancerId, 'loadbalancer', loadbalancerId);
    const target = this.get(loadbalancerId, resource, id);
    // A re-record of the same create (a retry) counts nothing; otherwise the call's own count or the request's.
    const add = operation === 'create' && target ? {} : (quota?.add ?? usageOf([request]));
    const over = overLimit(this.usage.get(`${env}#${tenantId}`) ?? {}, add, quota?.limits ?? {});
    if (over.length > 0) return { recorded: false, refusal: refusal('quota-exceeded', quotaReason(over)) };
    const owned = (r: ResourceRecord | undefined) =>
      r !== undefined && r.tenantId === tenantId && r.env === env;
    const claims = requestClaims(request, env);
    const references = requestReferences(request);
    const ok =
      (resource === 'loadbalancer' || (owned(root) && root?.provisioningStatus !== 'PENDING_DELETE')) &&
      (operation === 'create'
        ? !target || (target.requestId === request.requestId && owned(target))
        : owned(target) &&
          (operation !== 'update' ||
            (target?.provisioningStatus !== 'PENDING_DELETE' &&
              Object.entries(request.unchanged).every(
                ([f, v]) =>
                  JSON.stringify(((target?.desired ?? {}) as Record<string, unknown>)[f]) ===
                  JSON.stringify(v),
              )))) &&
      claims.every((c) => this.heldBy(c) === undefined) &&
      references.every((r) => this.get(loadbalancerId, r.type, r.id) !== undefined) &&
      this.holdsGuard(request, guard);
    if (!ok) return { recorded: false, conflict: this.conflictOf(request, env, root, target, guard) };

    for (const claim of claims) this.claims.set(claim.key, claim.owner);
    this.count(env, tenantId, add);
    if (operation === 'create') this.put(newResourceRecord(request, env, nowMs));
    else if (target) {
      if (operation === 'update') Object.assign(target.desired as object, request.changes);
      if (resource === 'loadbalancer' && operation === 'update') target.ownChangePending = true;
      target.provisioningStatus = pendingStatusFor(operation);
      target.revision += 1;
      target.requestId = request.requestId;
      target.updatedAt = nowMs;
      delete target.statusReason;
    }
    if (resource !== 'loadbalancer' && root) {
      root.provisioningStatus = 'PENDING_UPDATE';
      root.revision += 1;
      root.updatedAt = nowMs;
    }
    return { recorded: true };
  }

  /** The object holding a claim, if it is another live one (a claim whose holder is gone is freed). */
  private heldBy(claim: Claim): Owner | undefined {
    const holder = this.claims.get(claim.key);
    if (!holder || (holder.id === claim.owner.id && holder.loadbalancerId === claim.owner.loadbalancerId))
      return undefined;
    if (!this.get(holder.loadbalancerId, holder.type, holder.id)) {
      this.claims.delete(claim.key);
      return undefined;
    }
    return holder;
  }

  /** What was in the way of a refused write, as the adapter reads it back. */
  private conflictOf(
    request: ObjectRequest,
    env: string,
    root: ResourceRecord | undefined,
    target: ResourceRecord | undefined,
    guard?: RecordGuard,
  ): RecordConflict {
    const heldClaims: RecordConflict['heldClaims'] = [];
    if (!target)
      for (const claim of requestClaims(request, env)) {
        const holder = this.heldBy(claim);
        if (holder) heldClaims.push({ claim, holder });
      }
    const missingReferences = requestReferences(request)
      .filter((r) => !this.get(request.loadbalancerId, r.type, r.id))
      .map((r) => {
        const claimed = this.claims.get(`id#${env}#${r.id}`);
        return { ...r, ...(claimed ? { claimedBy: claimed.loadbalancerId } : {}) };
      });
    const pool = guard?.pool ? this.get(request.loadbalancerId, 'pool', guard.pool) : undefined;
    return {
      ...(target ? { target: stored(target) } : {}),
      ...(root && request.resource !== 'loadbalancer' ? { root: stored(root) } : {}),
      ...(pool ? { guardedPool: stored(pool) } : {}),
      heldClaims,
      missingReferences,
    };
  }

  /**
   * The guard's conditions, as the adapter writes them into the transaction: the load balancer at
   * the revision the caller read and in an allowed status, the guarded pool ACTIVE (unless it is
   * the request's own object).
   */
  private holdsGuard(request: LbaasRequest, guard: RecordGuard | undefined): boolean {
    if (!guard) return true;
    const { loadbalancerId } = request;
    const root = this.get(loadbalancerId, 'loadbalancer', loadbalancerId);
    if (!root || root.revision !== guard.revision || !guard.statuses.includes(root.provisioningStatus))
      return false;
    if (!guard.pool) return true;
    const poolIsTarget =
      !isMemberBatch(request) && request.resource === 'pool' && request.object.id === guard.pool;
    return poolIsTarget || this.get(loadbalancerId, 'pool', guard.pool)?.provisioningStatus === 'ACTIVE';
  }

  /** A member batch, all or nothing (the adapter's chunks and their undo are its own business). */
  private async recordMemberBatch(
    request: MemberBatchRequest,
    env: string,
    nowMs: number,
    guard?: RecordGuard,
    quota?: QuotaCheck,
  ): Promise<RecordResult> {
    const { loadbalancerId } = request;
    const changes = planMemberBatch(await this.loadRecords(loadbalancerId), request, env);
    if ('refusal' in changes) return { recorded: false, refusal: changes.refusal };
    const claimFor = (id: string): Claim => ({
      key: `id#${env}#${id}`,
      owner: { type: 'member', id, loadbalancerId },
      describe: `id ${id}`,
    });
    const heldClaims: RecordConflict['heldClaims'] = [];
    for (const m of changes.creates) {
      const holder = this.heldBy(claimFor(m.id));
      if (holder) heldClaims.push({ claim: claimFor(m.id), holder });
    }
    if (heldClaims.length > 0) return { recorded: false, conflict: { heldClaims, missingReferences: [] } };
    if (!this.holdsGuard(request, guard)) {
      const root = this.get(loadbalancerId, 'loadbalancer', loadbalancerId);
      const pool = guard?.pool ? this.get(loadbalancerId, 'pool', guard.pool) : undefined;
      return {
        recorded: false,
        conflict: {
          ...(root ? { root: stored(root) } : {}),
          ...(pool ? { guardedPool: stored(pool) } : {}),
          heldClaims: [],
          missingReferences: [],
        },
      };
    }
    const add = { member: changes.creates.length };
    const over = overLimit(this.usage.get(`${env}#${request.tenantId}`) ?? {}, add, quota?.limits ?? {});
    if (over.length > 0) return { recorded: false, refusal: refusal('quota-exceeded', quotaReason(over)) };
    this.count(env, request.tenantId, add);
    for (const m of changes.creates) {
      this.claims.set(`id#${env}#${m.id}`, claimFor(m.id).owner);
      this.put(newResourceRecord({ ...request, resource: 'member', object: m }, env, nowMs));
    }
    const touch = (r: ResourceRecord, status: ResourceRecord['provisioningStatus'], changes = {}) => {
      const stored = this.get(loadbalancerId, r.type, r.id) as ResourceRecord;
      Object.assign(stored.desired as object, changes);
      stored.provisioningStatus = status;
      stored.revision += 1;
      stored.requestId = request.requestId;
      stored.updatedAt = nowMs;
      delete stored.statusReason;
    };
    for (const u of changes.updates) touch(u.record, 'PENDING_UPDATE', u.changes);
    for (const d of changes.deletes) touch(d, 'PENDING_DELETE');
    touch(this.get(loadbalancerId, 'pool', request.object.pool_id) as ResourceRecord, 'PENDING_UPDATE');
    touch(this.get(loadbalancerId, 'loadbalancer', loadbalancerId) as ResourceRecord, 'PENDING_UPDATE');
    return { recorded: true };
  }

  async clearOwnChange(loadbalancerId: string, requestId: string): Promise<void> {
    const root = this.get(loadbalancerId, 'loadbalancer', loadbalancerId);
    if (root?.requestId === requestId) delete root.ownChangePending;
  }

  async clearDefaultPool(loadbalancerId: string, listenerId: string, poolId: string): Promise<boolean> {
    const listener = this.get(loadbalancerId, 'listener', listenerId);
    const desired = listener?.desired as { default_pool_id?: string | null } | undefined;
    if (!desired || desired.default_pool_id !== poolId) return false;
    desired.default_pool_id = null;
    return true;
  }

  async markError(target: ObjectRef, reason: string, nowMs: number): Promise<boolean> {
    const r = this.get(target.loadbalancerId, target.type, target.id);
    if (!r || r.tenantId !== target.tenantId || r.env !== target.env) return false;
    r.provisioningStatus = 'ERROR';
    r.statusReason = reason;
    delete r.ownChangePending;
    r.revision += 1;
    r.updatedAt = nowMs;
    return true;
  }

  async loadObjects(
    loadbalancerId: string,
    objects: readonly { type: ResourceRecord['type']; id: string }[],
  ): Promise<ResourceRecord[]> {
    return objects
      .map((o) => this.get(loadbalancerId, o.type, o.id))
      .filter((r): r is ResourceRecord => r !== undefined)
      .map((r) => structuredClone(r));
  }

  async loadRecords(loadbalancerId: string): Promise<ResourceRecord[]> {
    return [...this.records.values()]
      .filter((r) => r.loadbalancerId === loadbalancerId)
      .map((r) => structuredClone(r));
  }

  async locate(
    env: string,
    id: string,
  ): Promise<{ loadbalancerId: string; type: ResourceRecord['type'] } | undefined> {
    const r = [...this.records.values()].find(
      (x) => x.env === env && x.id === id && x.type !== 'loadbalancer',
    );
    return r ? { loadbalancerId: r.loadbalancerId, type: r.type } : undefined;
  }

  async listObjects(
    env: string,
    type: ResourceRecord['type'],
    options: { tenantId?: string; name?: string; limit?: number; cursor?: string } = {},
  ): Promise<{ items: ResourceRecord[]; cursor: string | undefined }> {
    const nameOf = (r: ResourceRecord) => (r.desired as { name?: string }).name ?? '';
    const all = [...this.records.values()]
      .filter((r) => r.env === env && r.type === type)
      .filter((r) => options.name === undefined || nameOf(r) === options.name)
      .filter((r) => !options.tenantId || r.tenantId === options.tenantId)
      .sort((a, b) => `${nameOf(a)}#${a.id}`.localeCompare(`${nameOf(b)}#${b.id}`));
    const start = options.cursor ? Number(options.cursor) : 0;
    const limit = options.limit ?? 100;
    const items = all.slice(start, start + limit).map((r) => structuredClone(r));
    return { items, cursor: start + limit < all.length ? String(start + limit) : undefined };
  }

  async recordRepair(record: ResourceRecord, note: string, nowMs: number): Promise<boolean> {
    const stored = this.get(record.loadbalancerId, record.type, record.id);
    if (!stored || stored.revision !== record.revision || isPending(stored.provisioningStatus)) return false;
    Object.assign(stored, { provisioningStatus: 'ACTIVE', statusReason: note, updatedAt: nowMs });
    return true;
  }

  async recordLastApplied(
    loadbalancerId: string,
    records: readonly { key: string; lastApplied: Record<string, LastApplied> }[],
  ): Promise<number> {
    let written = 0;
    for (const { key, lastApplied } of records) {
      const stored = this.records.get(`${loadbalancerId}|${key}`);
      if (!stored) continue;
      stored.lastApplied = structuredClone(lastApplied);
      this.lastAppliedWrites += 1;
      written += 1;
    }
    return written;
  }

  async recordOutcomes(outcomes: readonly StatusOutcome[], nowMs: number): Promise<number> {
    let written = 0;
    for (const o of outcomes) {
      const key = this.key(o.record.loadbalancerId, o.record.type, o.record.id);
      const stored = this.records.get(key);
      if (!stored || stored.revision !== o.record.revision) continue; // superseded by a newer request
      if (o.kind === 'deleted') {
        this.records.delete(key);
        this.count(o.record.env, o.record.tenantId, { [o.record.type]: -1 });
        for (const claim of claimsOf(o.record.env, o.record)) {
          const holder = this.claims.get(claim.key);
          if (holder?.id === o.record.id && holder.loadbalancerId === o.record.loadbalancerId)
            this.claims.delete(claim.key);
        }
      } else if (o.kind === 'active') {
        stored.provisioningStatus = 'ACTIVE';
        stored.operatingStatus = o.operatingStatus;
        stored.appliedAt ??= nowMs;
        if (o.lastApplied) stored.lastApplied = structuredClone(o.lastApplied);
        delete stored.statusReason;
        delete stored.ownChangePending;
      } else {
        stored.provisioningStatus = 'ERROR';
        delete stored.ownChangePending;
        stored.operatingStatus = 'OFFLINE';
        stored.statusReason = o.reason;
      }
      this.written.push(o);
      written += 1;
    }
    return written;
  }
}

/** What a refusal needs of a record, copied as the adapter reads it back. */
function stored(r: ResourceRecord): StoredObject {
  return {
    tenantId: r.tenantId,
    env: r.env,
    provisioningStatus: r.provisioningStatus,
    revision: r.revision,
    desired: structuredClone(r.desired),
  };
}
