import { claimsOf, requestClaims, requestReferences } from '../../../functions/domain/claims.js';
import { ContentionError, RejectedRequestError } from '../../../functions/domain/errors.js';
import {
  isMemberBatch,
  type LbaasRequest,
  type MemberBatchRequest,
} from '../../../functions/domain/lbaas-request.js';
import { planMemberBatch } from '../../../functions/domain/member-batch.js';
import type { ObjectRef, RecordGuard, ResourceStore } from '../../../functions/domain/ports.js';
import {
  isPending,
  newResourceRecord,
  pendingStatusFor,
  type ResourceRecord,
  resourceKey,
  type StatusOutcome,
} from '../../../functions/domain/resource-state.js';

/**
 * The resources table in memory: desired state and statuses per load balancer, status writes
 * conditional on the revision that was applied (as in the DynamoDB adapter). It keeps the
 * ownership rules a service relies on, not every refusal wording of the adapter.
 */
export class InMemoryResourceStore implements ResourceStore {
  readonly records = new Map<string, ResourceRecord>();
  /** Claims: key → holder (`<load balancer>/<id>`). */
  readonly claims = new Map<string, string>();
  /** Every outcome written, in order (superseded ones are not). */
  readonly written: StatusOutcome[] = [];

  private key(loadbalancerId: string, type: string, id: string) {
    return `${loadbalancerId}|${resourceKey(type as ResourceRecord['type'], id)}`;
  }

  put(record: ResourceRecord): void {
    this.records.set(this.key(record.loadbalancerId, record.type, record.id), structuredClone(record));
  }

  get(loadbalancerId: string, type: ResourceRecord['type'], id: string): ResourceRecord | undefined {
    return this.records.get(this.key(loadbalancerId, type, id));
  }

  async recordRequest(request: LbaasRequest, env: string, nowMs: number, guard?: RecordGuard): Promise<void> {
    const { loadbalancerId, tenantId, resource } = request;
    const root = this.get(loadbalancerId, 'loadbalancer', loadbalancerId);
    if (guard && root) {
      const pool = guard.pool ? this.get(loadbalancerId, 'pool', guard.pool) : undefined;
      if (pool && pool.provisioningStatus !== 'ACTIVE')
        throw new RejectedRequestError('conflict', `Pool ${guard.pool} is immutable and cannot be updated.`);
      if (!guard.statuses.includes(root.provisioningStatus))
        throw new RejectedRequestError(
          'conflict',
          `Load Balancer ${loadbalancerId} is immutable and cannot be updated.`,
        );
      if (root.revision !== guard.revision)
        throw new ContentionError(`load balancer ${loadbalancerId} changed since it was read`);
    }
    if (isMemberBatch(request)) return this.recordMemberBatch(request, env, nowMs);
    const { operation } = request;
    const id = request.object.id;
    if (resource !== 'loadbalancer') {
      if (!root)
        throw new RejectedRequestError('not-found', `load balancer ${loadbalancerId} does not exist`);
      if (root.tenantId !== tenantId || root.env !== env)
        throw new RejectedRequestError('tenant-mismatch', `load balancer does not belong to ${tenantId}`);
    }
    for (const ref of requestReferences(request)) {
      if (!this.get(loadbalancerId, ref.type, ref.id))
        throw new RejectedRequestError(
          'not-found',
          `${ref.field} ${ref.id} is not a ${ref.type} of load balancer ${loadbalancerId}`,
        );
    }
    const existing = this.get(loadbalancerId, resource, id);
    const status = pendingStatusFor(operation);
    if (operation === 'create') {
      if (existing && existing.requestId !== request.requestId)
        throw new RejectedRequestError('conflict', `${resource} ${id} already exists`);
      const me = `${loadbalancerId}/${id}`;
      for (const claim of requestClaims(request, env)) {
        const holder = this.claims.get(claim.key);
        if (holder && holder !== me)
          throw new RejectedRequestError('conflict', `${claim.describe} is already used by ${holder}`);
      }
      for (const claim of requestClaims(request, env)) this.claims.set(claim.key, me);
      this.put(newResourceRecord(request, env, nowMs));
    } else {
      if (!existing) throw new RejectedRequestError('not-found', `${resource} ${id} does not exist`);
      if (existing.tenantId !== tenantId)
        throw new RejectedRequestError('tenant-mismatch', `${resource} ${id} does not belong to ${tenantId}`);
      if (operation === 'update') Object.assign(existing.desired as object, request.changes);
      if (resource === 'loadbalancer' && operation === 'update') existing.ownChangePending = true;
      existing.provisioningStatus = status;
      existing.revision += 1;
      existing.requestId = request.requestId;
      existing.updatedAt = nowMs;
      delete existing.statusReason;
    }
    if (resource !== 'loadbalancer' && root) {
      root.provisioningStatus = 'PENDING_UPDATE';
      root.revision += 1;
      root.updatedAt = nowMs;
    }
  }

  /** A member batch, all or nothing (the adapter's chunks and their undo are its own business). */
  private async recordMemberBatch(request: MemberBatchRequest, env: string, nowMs: number): Promise<void> {
    const { loadbalancerId } = request;
    const changes = planMemberBatch(await this.loadRecords(loadbalancerId), request, env);
    for (const m of changes.creates) {
      const holder = this.claims.get(`id#${env}#${m.id}`);
      if (holder && holder !== `${loadbalancerId}/${m.id}`)
        throw new RejectedRequestError('conflict', `id ${m.id} is already used by ${holder}`);
    }
    for (const m of changes.creates) {
      this.claims.set(`id#${env}#${m.id}`, `${loadbalancerId}/${m.id}`);
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
  }

  async clearOwnChange(loadbalancerId: string, requestId: string): Promise<void> {
    const root = this.get(loadbalancerId, 'loadbalancer', loadbalancerId);
    if (root?.requestId === requestId) delete root.ownChangePending;
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

  async recordOutcomes(outcomes: readonly StatusOutcome[], nowMs: number): Promise<number> {
    let written = 0;
    for (const o of outcomes) {
      const key = this.key(o.record.loadbalancerId, o.record.type, o.record.id);
      const stored = this.records.get(key);
      if (!stored || stored.revision !== o.record.revision) continue; // superseded by a newer request
      if (o.kind === 'deleted') {
        this.records.delete(key);
        for (const claim of claimsOf(o.record.env, o.record))
          if (this.claims.get(claim.key) === `${o.record.loadbalancerId}/${o.record.id}`)
            this.claims.delete(claim.key);
      } else if (o.kind === 'active') {
        stored.provisioningStatus = 'ACTIVE';
        stored.operatingStatus = o.operatingStatus;
        stored.appliedAt ??= nowMs;
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
