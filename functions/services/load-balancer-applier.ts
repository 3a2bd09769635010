import {
  type ApplyScope,
  planApply,
  type ScopeTarget,
  scopeForRequests,
} from '../domain/bigip-apply-plan.js';
import { partitionLeaseKey, partitionName } from '../domain/bigip-names.js';
import { type Translation, type TranslationOptions, translate } from '../domain/bigip-translation.js';
import { BigIpError, RejectedRequestError } from '../domain/errors.js';
import { BATCH_OPERATION, type ResourceType } from '../domain/lbaas-request.js';
import type {
  AgentRegistry,
  BigIpDevice,
  BindingStore,
  CertificateStore,
  DeviceCluster,
  PartitionLease,
  ResourceStore,
} from '../domain/ports.js';
import {
  buildTree,
  isPending,
  type LoadBalancerTree,
  type ResourceRecord,
} from '../domain/resource-state.js';
import { appliesOwnChange, completions, refusedByDevice } from '../domain/status-completion.js';
import type { CertificateLookup } from '../domain/tls-translation.js';
import { lookupCertificates } from './certificate-lookup.js';

export interface ApplierDeps {
  env: string;
  host: string;
  resources: ResourceStore;
  bindings: BindingStore;
  registry: AgentRegistry;
  lease: PartitionLease;
  cluster: DeviceCluster;
  translation?: Omit<TranslationOptions, 'env' | 'certificates'>;
  /** Where TERMINATED_HTTPS listeners' certificates are read (none: such listeners go to ERROR). */
  certificates?: CertificateStore;
  clock: () => number;
  /** Unique lease-owner tokens (one per apply). */
  newId: () => string;
}

/** The partition lease an apply holds, renewed before it writes. */
interface HeldLease {
  key: string;
  owner: string;
}

export interface ApplyTarget {
  requestId: string;
  /** The tenant: its partition's lease is taken before anything is read. */
  tenantId: string;
  loadbalancerId: string;
  resource: ResourceType;
  objectId: string;
  operation: ScopeTarget['operation'];
}

/** What an apply works on, from the request that asked for it. */
export function applyTargetOf(request: {
  requestId: string;
  tenantId: string;
  loadbalancerId: string;
  resource: ResourceType;
  operation: ScopeTarget['operation'] | typeof BATCH_OPERATION;
  object: { id: string };
}): ApplyTarget {
  // A member batch changes one pool's members: that pool's scope (its id is the object's).
  if (request.operation === BATCH_OPERATION) {
    return {
      requestId: request.requestId,
      tenantId: request.tenantId,
      loadbalancerId: request.loadbalancerId,
      resource: 'pool',
      objectId: request.object.id,
      operation: 'members',
    };
  }
  return {
    requestId: request.requestId,
    tenantId: request.tenantId,
    loadbalancerId: request.loadbalancerId,
    resource: request.resource,
    objectId: request.object.id,
    operation: request.operation,
  };
}

export type ApplyResult =
  | { outcome: 'gone' }
  | {
      outcome: 'applied';
      commands: number;
      atomic: boolean;
      skipped: string[];
      statuses: number;
      device: string;
    }
  | { outcome: 'device-error'; reason: string; device: string };

/** What an apply put on the device and still has to confirm on the group before its statuses are written. */
interface Staged {
  tree: LoadBalancerTree;
  translation: Translation;
  scope: ApplyScope;
  targets: readonly ApplyTarget[];
  device: BigIpDevice;
  changed: boolean;
  result: Extract<ApplyResult, { outcome: 'applied' }>;
}

type GroupWork = { done: ApplyResult } | { staged: Staged[]; refused?: ApplyResult } | { error: unknown };

/**
 * The agent's work, under the lease of the tenant's partition: load a load balancer's whole
 * desired tree, translate it, read what the device has for the objects the requests can change,
 * apply only the difference (one transaction), confirm it on every unit of the device group, then
 * write ACTIVE/ERROR statuses and, for a deleted load balancer, release its binding and tenant
 * affinity. The tree is read inside the lease, so an apply that waited for it writes the newest
 * desired state, never an older one; statuses are written only for the revisions it applied.
 *
 * Several requests for one load balancer are applied as one change (the desired tree already holds
 * them all); load balancers of one tenant share one lease; every tenant's change shares the device
 * group's config-syncs. A coalesced change the device refuses is applied again request by request,
 * so the refusal lands on the object that caused it, exactly as if each had come alone.
 */
export class LoadBalancerApplier {
  constructor(private readonly deps: ApplierDeps) {}

  /** One request (see applyAll). */
  async apply(target: ApplyTarget): Promise<ApplyResult> {
    const [result] = await this.applyAll([[target]]);
    if (result?.status === 'rejected') throw result.reason;
    return (result as PromiseFulfilledResult<ApplyResult>).value;
  }

  /**
   * Requests grouped by load balancer (each group in the order received): one result per group.
   * Tenants are applied concurrently, each under its partition's lease.
   */
  async applyAll(groups: readonly (readonly ApplyTarget[])[]): Promise<PromiseSettledResult<ApplyResult>[]> {
    const byTenant = new Map<string, number[]>();
    groups.forEach((g, i) => {
      const tenant = g[0]?.tenantId ?? '';
      byTenant.set(tenant, [...(byTenant.get(tenant) ?? []), i]);
    });
    const results: PromiseSettledResult<ApplyResult>[] = new Array(groups.length);
    await Promise.all(
      [...byTenant.entries()].map(async ([tenant, indices]) => {
        const settled = await this.applyTenant(
          tenant,
          indices.map((i) => groups[i] as readonly ApplyTarget[]),
        );
        indices.forEach((i, k) => {
          results[i] = settled[k] as PromiseSettledResult<ApplyResult>;
        });
      }),
    );
    return results;
  }

  private async applyTenant(
    tenantId: string,
    groups: readonly (readonly ApplyTarget[])[],
  ): Promise<PromiseSettledResult<ApplyResult>[]> {
    const { env, lease, cluster } = this.deps;
    // Requests an earlier coalesced apply already settled need nothing more, not even the lease.
    const settled = await this.alreadySettled(groups);
    if (settled.every(Boolean)) return groups.map(() => ({ status: 'fulfilled', value: SERVED_EARLIER }));
    // One writer per partition of a cluster (config-sync stays safe: it only runs from the active unit).
    const leaseKey = partitionLeaseKey(env, cluster.name, partitionName(env, tenantId));
    const owner = `${this.deps.host}#${this.deps.newId()}`;
    try {
      await lease.acquire(leaseKey, owner);
    } catch (error) {
      return groups.map(() => ({ status: 'rejected', reason: error }));
    }
    const work: GroupWork[] = [];
    try {
      for (const [i, group] of groups.entries()) {
        if (settled[i]) {
          work.push({ done: SERVED_EARLIER });
          continue;
        }
        try {
          work.push(await this.underLease(group, { key: leaseKey, owner }));
        } catch (error) {
          work.push({ error });
        }
      }
    } finally {
      await lease.release(leaseKey, owner).catch(() => undefined);
    }

    // Confirmation runs outside the lease: a config-sync wait must not hold up the tenant's next change.
    const staged = work.flatMap((w) => ('staged' in w ? w.staged : []));
    let confirmError: unknown;
    try {
      await this.confirm(staged);
    } catch (error) {
      confirmError = error;
      if (error instanceof BigIpError) cluster.forget();
    }
    const out: PromiseSettledResult<ApplyResult>[] = [];
    for (const w of work) {
      if ('error' in w) out.push({ status: 'rejected', reason: w.error });
      else if ('done' in w) out.push({ status: 'fulfilled', value: w.done });
      else if (confirmError !== undefined && w.staged.length > 0) {
        out.push({ status: 'rejected', reason: confirmError });
      } else {
        try {
          out.push({ status: 'fulfilled', value: await this.settle(w.staged, w.refused) });
        } catch (error) {
          out.push({ status: 'rejected', reason: error });
        }
      }
    }
    return out;
  }

  /**
   * Per group: whether an earlier coalesced apply settled every request of it (their objects carry
   * them and are no longer pending, or are gone after a delete): one small read per group, so a
   * thousand requests for one pool cost a few device changes and, for the rest, these reads.
   */
  private async alreadySettled(groups: readonly (readonly ApplyTarget[])[]): Promise<boolean[]> {
    return Promise.all(
      groups.map(async (targets) => {
        const first = targets[0];
        if (!first || targets.some((t) => t.resource === 'loadbalancer')) return false;
        const records = await this.deps.resources.loadObjects(
          first.loadbalancerId,
          targets.map((t) => ({ type: t.resource, id: t.objectId })),
        );
        return targets.every((t) => settledBefore(records, t));
      }),
    );
  }

  private async underLease(targets: readonly ApplyTarget[], held: HeldLease): Promise<GroupWork> {
    const { env, resources, clock, cluster } = this.deps;
    const first = targets[0] as ApplyTarget;
    const records = await resources.loadRecords(first.loadbalancerId);
    const tree = buildTree(records);
    if (!tree) return { done: { outcome: 'gone' } };
    if (tree.root.env !== env || tree.root.tenantId !== first.tenantId) {
      throw new RejectedRequestError(
        'environment-mismatch',
        `load balancer ${tree.root.id} belongs to environment ${tree.root.env} and project ${tree.root.tenantId}, not ${env} and ${first.tenantId}`,
      );
    }
    // Settled meanwhile by another apply (this one waited for the lease).
    if (targets.every((t) => settledBefore(records, t))) return { done: SERVED_EARLIER };
    const certificates = await lookupCertificates(tree, this.deps.certificates, env);
    const translation = translate(tree, { env, ...this.deps.translation, certificates });
    try {
      return { staged: [await this.onDevice(tree, translation, targets, held)] };
    } catch (error) {
      if (!(error instanceof BigIpError)) throw error;
      cluster.forget();
      if (error.transient) throw error;
      if (targets.length > 1) return this.oneByOne(tree, translation, targets, certificates, held);
      const reason = String(error.context.bigipMessage ?? error.message);
      await resources.recordOutcomes(refusedByDevice(tree, first, reason), clock());
      return { done: { outcome: 'device-error', reason, device: error.device } };
    }
  }

  /** A coalesced change was refused: each request alone, so the refusal names the object that caused it. */
  private async oneByOne(
    tree: LoadBalancerTree,
    translation: Translation,
    targets: readonly ApplyTarget[],
    certificates: CertificateLookup,
    held: HeldLease,
  ): Promise<GroupWork> {
    const staged: Staged[] = [];
    let refused: ApplyResult | undefined;
    let current = tree;
    for (const target of targets) {
      try {
        staged.push(await this.onDevice(current, translation, [target], held));
      } catch (error) {
        if (!(error instanceof BigIpError) || error.transient) throw error;
        this.deps.cluster.forget();
        const reason = String(error.context.bigipMessage ?? error.message);
        await this.deps.resources.recordOutcomes(refusedByDevice(current, target, reason), this.deps.clock());
        refused ??= { outcome: 'device-error', reason, device: error.device };
        // Later requests must see this object as refused (set aside), as they would have one at a time.
        current = markRefused(current, target, reason);
        translation = translate(current, { env: this.deps.env, ...this.deps.translation, certificates });
      }
    }
    return refused ? { staged, refused } : { staged };
  }

  private async onDevice(
    tree: LoadBalancerTree,
    translation: Translation,
    targets: readonly ApplyTarget[],
    held: HeldLease,
  ): Promise<Staged> {
    const scope = scopeForRequests(
      tree,
      translation,
      targets.map((t) => ({ resource: t.resource, id: t.objectId, operation: t.operation })),
    );
    const device = await this.deps.cluster.activeDevice();
    const snapshot = await device.read(translation.partition, scope.reads);
    const plan = planApply(translation, scope, snapshot);
    const changed =
      plan.createFolder || plan.commands.length > 0 || plan.nodeCleanup.length > 0 || plan.removeFolder;
    // Still the partition's only writer? A slowed apply may have outlived its lease (then: retried).
    const sendBy = changed ? await this.deps.lease.renew(held.key, held.owner) : undefined;
    const report = await device.execute(translation.partition, plan, sendBy ? { sendBy } : {});
    return {
      tree,
      translation,
      scope,
      targets,
      device,
      changed,
      result: {
        outcome: 'applied',
        commands: plan.commands.length,
        atomic: plan.atomic,
        skipped: report.skipped,
        statuses: 0,
        device: device.name,
      },
    };
  }

  /** Every staged change on every unit of the group, with the fewest config-syncs (one wait per device written). */
  private async confirm(staged: readonly Staged[]): Promise<void> {
    const byDevice = new Map<BigIpDevice, Staged[]>();
    for (const s of staged) byDevice.set(s.device, [...(byDevice.get(s.device) ?? []), s]);
    for (const [device, list] of byDevice) {
      await this.deps.cluster.confirmOnGroup(
        device,
        async (unit) => {
          for (const s of list) if (!(await holds(unit, s))) return false;
          return true;
        },
        { changed: list.some((s) => s.changed) },
      );
    }
  }

  private async settle(staged: readonly Staged[], refused: ApplyResult | undefined): Promise<ApplyResult> {
    const { resources, clock } = this.deps;
    let written = 0;
    let last: Staged | undefined;
    for (const s of staged) {
      written += await resources.recordOutcomes(
        completions(s.tree, s.translation, s.scope, s.targets),
        clock(),
      );
      // Its own update is on the device even if a child's request bumped the revision meanwhile
      // (the status write above then lost): the child's apply may settle it now.
      const { root } = s.tree;
      if (root.ownChangePending && appliesOwnChange(s.tree, s.scope, s.targets))
        await resources.clearOwnChange(root.id, root.requestId);
      last = s;
    }
    if (last?.translation.loadbalancerDeleted) {
      const released = await this.deps.bindings.release(last.tree.root.id);
      if (released) await this.deps.registry.adjustLoadbalancerCount(released.env, released.host, -1);
    }
    if (refused) return refused;
    if (!last) return { outcome: 'gone' };
    const commands = staged.reduce((n, s) => n + s.result.commands, 0);
    return { ...last.result, commands, statuses: written };
  }
}

/** What a request an earlier apply settled reports: nothing left to do on the device. */
const SERVED_EARLIER: ApplyResult = {
  outcome: 'applied',
  commands: 0,
  atomic: false,
  skipped: [],
  statuses: 0,
  device: 'none',
};

/**
 * Whether an earlier apply already settled this request: its object records it (or a deleted object
 * is gone) and is ACTIVE or ERROR. A request whose object carries another request id (a re-submission,
 * or a newer request) is applied in full.
 */
function settledBefore(records: readonly ResourceRecord[], target: ApplyTarget): boolean {
  if (target.resource === 'loadbalancer') return false;
  const record = records.find((r) => r.type === target.resource && r.id === target.objectId);
  if (!record) return target.operation === 'delete';
  return record.requestId === target.requestId && !isPending(record.provisioningStatus);
}

/** Whether a unit holds what the staged change wrote: planning against it finds nothing to do. */
function holds(unit: BigIpDevice, s: Staged): Promise<boolean> {
  return unitHolds(unit, s.translation, s.scope);
}

/** Whether a unit already has what a translation wants for a scope (the same read and plan, empty). */
export async function unitHolds(
  unit: BigIpDevice,
  translation: Translation,
  scope: ApplyScope,
): Promise<boolean> {
  const snapshot = await unit.read(translation.partition, scope.reads);
  const plan = planApply(translation, scope, snapshot);
  return !plan.createFolder && plan.commands.length === 0;
}

function markRefused(tree: LoadBalancerTree, target: ApplyTarget, reason: string): LoadBalancerTree {
  const mark = <R extends ResourceRecord>(r: R): R =>
    r.type === target.resource && r.id === target.objectId
      ? { ...r, provisioningStatus: 'ERROR', statusReason: reason }
      : r;
  return {
    root: mark(tree.root),
    listeners: tree.listeners.map(mark),
    pools: tree.pools.map(mark),
    members: tree.members.map(mark),
    healthmonitors: tree.healthmonitors.map(mark),
    l7policies: tree.l7policies.map(mark),
    l7rules: tree.l7rules.map(mark),
  };
}
