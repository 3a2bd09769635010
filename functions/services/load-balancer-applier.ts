import { type ApplyCadence, firstStep, nextStep, type RootLook } from '../domain/apply-cadence.js';
import {
  type ApplyScope,
  planApply,
  type ScopeTarget,
  scopeForRequests,
  showsDeletesDone,
} from '../domain/bigip-apply-plan.js';
import { partitionName } from '../domain/bigip-names.js';
import { type Translation, type TranslationOptions, translate } from '../domain/bigip-translation.js';
import { BigIpError, RejectedRequestError } from '../domain/errors.js';
import type { WriteTimes } from '../domain/invocation-time.js';
import {
  foldIntoOutcomes,
  type LastApplied,
  type LastAppliedMap,
  lastAppliedOf,
  recordsByOwner,
} from '../domain/last-applied.js';
import { BATCH_OPERATION, type ResourceType } from '../domain/lbaas-request.js';
import type {
  AgentRegistry,
  BindingStore,
  CertificateStore,
  HealthStore,
  ResourceStore,
  Timers,
} from '../domain/ports.js';
import {
  buildTree,
  isDeleted,
  isPending,
  type LoadBalancerTree,
  type ResourceRecord,
} from '../domain/resource-state.js';
import {
  appliesOwnChange,
  completions,
  orphanedDefaultPools,
  refusedByDevice,
} from '../domain/status-completion.js';
import type { CertificateLookup } from '../domain/tls-translation.js';
import { lookupCertificates } from './certificate-lookup.js';
import type { NetworkProvisioner } from './network-provisioner.js';
import {
  type PartitionSession,
  type PartitionWriter,
  sendChange,
  type WriteResult,
} from './partition-writer.js';

export interface ApplierDeps {
  env: string;
  host: string;
  resources: ResourceStore;
  bindings: BindingStore;
  registry: AgentRegistry;
  /** Where listener statistics are kept: a deleted load balancer's go with it. */
  statistics: Pick<HealthStore, 'deleteStatistics'>;
  /** How a change reaches a partition (lease, send-by fencing, config-sync confirmation). */
  writer: PartitionWriter;
  translation?: Omit<TranslationOptions, 'env' | 'certificates'>;
  /** Where TERMINATED_HTTPS listeners' certificates are read (none: such listeners go to ERROR). */
  certificates?: CertificateStore;
  /** Puts segmented networks on the group before their first user and removes them after their last (none: route domain 0 only). */
  networks?: Pick<NetworkProvisioner, 'ensure' | 'recheck' | 'release'>;
  /**
   * How long a change waits, before its lease, while its load balancer's requests are still being
   * recorded (apply-cadence.ts), and the sleep it waits with. Absent: applied at once.
   */
  cadence?: { rule: ApplyCadence; timers: Pick<Timers, 'sleep'> };
  clock: () => number;
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
  result: Extract<ApplyResult, { outcome: 'applied' }>;
  /** Every last-applied record after this change (what it wrote, read back right after). */
  lastApplied: Map<string, LastApplied>;
  /** The objects it created or updated. */
  written: Set<string>;
}

/** The load balancer a change is for. */
const lbOf = (change: readonly ApplyTarget[]) => (change[0] as ApplyTarget).loadbalancerId;

/** What became of one load balancer's change under the lease. */
type ChangeWork = { done: ApplyResult } | { staged: Staged[]; refused?: ApplyResult } | { error: unknown };

/**
 * The agent's policy for a change: as the tenant partition's writer (`PartitionWriter`: lease,
 * send-by fencing, config-sync confirmation), load a load balancer's whole desired tree, translate
 * it, read what the device has for the objects the requests can change and send only the
 * difference (one transaction); once it is on every unit of the device group, write ACTIVE/ERROR
 * statuses and, for a deleted load balancer, release its binding and tenant affinity. Statuses are
 * written only for the revisions it applied.
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
   * Changes, one per load balancer (its requests in the order received): one result per change.
   * Tenants are applied concurrently, each under its partition's lease, and a tenant's load
   * balancers side by side under it (their deletes after the rest). `sendUntil`: no device call is
   * sent after it (the invocation's time; invocation-time.ts), and a change cut by it is retried;
   * `confirmUntil`: a change not confirmed on its device group by then is retried too.
   */
  async applyAll(
    changes: readonly (readonly ApplyTarget[])[],
    options: WriteTimes = {},
  ): Promise<PromiseSettledResult<ApplyResult>[]> {
    const byTenant = new Map<string, number[]>();
    changes.forEach((g, i) => {
      const tenant = g[0]?.tenantId ?? '';
      byTenant.set(tenant, [...(byTenant.get(tenant) ?? []), i]);
    });
    const results: PromiseSettledResult<ApplyResult>[] = new Array(changes.length);
    await Promise.all(
      [...byTenant.entries()].map(async ([tenant, indices]) => {
        const settled = await this.applyTenant(
          tenant,
          indices.map((i) => changes[i] as readonly ApplyTarget[]),
          options,
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
    changes: readonly (readonly ApplyTarget[])[],
    options: WriteTimes,
  ): Promise<PromiseSettledResult<ApplyResult>[]> {
    // Requests an earlier coalesced apply already settled need nothing more, not even the lease.
    const checks = await this.alreadySettled(changes);
    const settled = checks.map((c) => c.settled);
    if (settled.every(Boolean)) return changes.map(() => ({ status: 'fulfilled', value: SERVED_EARLIER }));
    // A burst still being recorded is waited for, so that one apply covers it (before the lease:
    // nothing is held meanwhile, and the tree is read once the lease is taken, as always).
    await Promise.all(checks.map((c, i) => (c.settled ? undefined : this.paceBehindBurst(changes[i], c))));
    let written: WriteResult<ChangeWork[]>;
    try {
      written = await this.deps.writer.write(
        partitionName(this.deps.env, tenantId),
        async (session) => {
          // Each change's desired tree, read inside the lease (a writer that waited plans from the newest).
          const trees = await Promise.all(
            changes.map(async (change, i) =>
              settled[i] ? undefined : { records: await this.deps.resources.loadRecords(lbOf(change)) },
            ),
          );
          const one = async (i: number): Promise<ChangeWork> => {
            const read = trees[i];
            if (!read) return { done: SERVED_EARLIER };
            try {
              return await this.underLease(
                changes[i] as readonly ApplyTarget[],
                read.records,
                session,
                options,
              );
            } catch (error) {
              return { error };
            }
          };
          // Load balancers' changes touch objects of their own, so they go side by side under the one
          // lease: their reads, enlists and read-backs overlap (the device still takes one write at a
          // time). A load balancer whose desired state is deleted may have its plan remove the
          // partition's folder (whatever request brought it here), which a change beside it could be
          // writing into: those go after the others, one at a time.
          const deleted = trees.map((read) => {
            const tree = read && buildTree(read.records);
            return tree !== undefined && isDeleted(tree, tree.root);
          });
          const work: ChangeWork[] = new Array(changes.length);
          await Promise.all(
            changes.map(async (_, i) => {
              if (!deleted[i]) work[i] = await one(i);
            }),
          );
          for (const [i, last] of deleted.entries()) if (last) work[i] = await one(i);
          return work;
        },
        options,
      );
    } catch (error) {
      return changes.map(() => ({ status: 'rejected', reason: error }));
    }
    if (written.outcome === 'busy') return changes.map(() => ({ status: 'rejected', reason: written.error }));

    // Confirmed on the device group outside the lease (the writer's); statuses only for what is on every unit.
    const { value: work, unconfirmed } = written;
    const out: PromiseSettledResult<ApplyResult>[] = [];
    for (const w of work) {
      if ('error' in w) out.push({ status: 'rejected', reason: w.error });
      else if ('done' in w) out.push({ status: 'fulfilled', value: w.done });
      else if (unconfirmed !== undefined && w.staged.length > 0) {
        out.push({ status: 'rejected', reason: unconfirmed });
      } else {
        try {
          // Networks this change's objects left go once nothing else uses them, before the statuses
          // say it is done (a failed removal retries the request, which still names them).
          await this.releaseNetworks(w.staged, options);
          out.push({ status: 'fulfilled', value: await this.settle(w.staged, w.refused) });
        } catch (error) {
          out.push({ status: 'rejected', reason: error });
        }
      }
    }
    return out;
  }

  /**
   * Per change: whether an earlier coalesced apply settled every request of it (their objects carry
   * them and are no longer pending, or are gone after a delete): one small read per change, so a
   * thousand requests for one pool cost a few device changes and, for the rest, these reads. The
   * same read takes the load balancer's root, the cadence's first look.
   */
  private async alreadySettled(changes: readonly (readonly ApplyTarget[])[]): Promise<SettledCheck[]> {
    return Promise.all(
      changes.map(async (targets): Promise<SettledCheck> => {
        const first = targets[0];
        if (!first || targets.some((t) => t.resource === 'loadbalancer')) return { settled: false };
        const lb = first.loadbalancerId;
        const records = await this.deps.resources.loadObjects(lb, [
          ...targets.map((t) => ({ type: t.resource, id: t.objectId })),
          ...(this.paced() ? [{ type: 'loadbalancer' as const, id: lb }] : []),
        ]);
        const pending = records.filter(
          (r) =>
            r.type !== 'loadbalancer' &&
            isPending(r.provisioningStatus) &&
            targets.some((t) => t.resource === r.type && t.objectId === r.id && t.requestId === r.requestId),
        );
        const root = rootLookOf(records, lb);
        return {
          settled: targets.every((t) => settledBefore(records, t)),
          ...(root ? { root } : {}),
          ...(pending.length > 0 ? { newestRequestAt: Math.max(...pending.map((r) => r.updatedAt)) } : {}),
        };
      }),
    );
  }

  private paced(): boolean {
    return (this.deps.cadence?.rule.maxWaitMs ?? 0) > 0;
  }

  /** Waits while the load balancer's root keeps moving (apply-cadence.ts); one read per look. */
  private async paceBehindBurst(
    targets: readonly ApplyTarget[] | undefined,
    check: SettledCheck,
  ): Promise<void> {
    const { cadence, resources, clock } = this.deps;
    const lb = targets?.[0]?.loadbalancerId;
    if (!cadence || !lb || !check.root) return;
    let step = firstStep(check.root, check.newestRequestAt, cadence.rule);
    const since = clock();
    let previous = check.root;
    while (step.kind === 'wait') {
      await cadence.timers.sleep(step.ms);
      const current = rootLookOf(await resources.loadObjects(lb, [{ type: 'loadbalancer', id: lb }]), lb);
      step = nextStep(previous, current, clock() - since, cadence.rule);
      if (current) previous = current;
    }
  }

  private async underLease(
    targets: readonly ApplyTarget[],
    records: ResourceRecord[],
    session: PartitionSession,
    times: WriteTimes,
  ): Promise<ChangeWork> {
    const { env, resources, clock } = this.deps;
    const first = targets[0] as ApplyTarget;
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
    const lastApplied = lastAppliedOf(tree);
    // The networks its objects live in are on the group before anything that uses them is sent.
    const live = translation.routeDomains.live;
    await this.deps.networks?.ensure(live, times);
    try {
      return { staged: [await this.onDevice(tree, translation, targets, session, lastApplied)] };
    } catch (error) {
      if (!(error instanceof BigIpError) || error.transient) throw error;
      // Refused because a network another agent removed meanwhile was missing: put back, sent again.
      if (live.size > 0 && (await this.deps.networks?.recheck(live, times)))
        return { staged: [await this.onDevice(tree, translation, targets, session, lastApplied)] };
      if (targets.length > 1)
        return this.oneByOne(tree, translation, targets, certificates, session, lastApplied);
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
    session: PartitionSession,
    lastApplied: LastAppliedMap,
  ): Promise<ChangeWork> {
    const staged: Staged[] = [];
    let refused: ApplyResult | undefined;
    let current = tree;
    for (const target of targets) {
      try {
        // Each change plans with the records the ones before it left.
        const records = staged.at(-1)?.lastApplied ?? lastApplied;
        staged.push(await this.onDevice(current, translation, [target], session, records));
      } catch (error) {
        if (!(error instanceof BigIpError) || error.transient) throw error;
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

  /** Reads what the requests can change, plans the difference and sends it (fenced by the lease). */
  private async onDevice(
    tree: LoadBalancerTree,
    translation: Translation,
    targets: readonly ApplyTarget[],
    session: PartitionSession,
    lastApplied: LastAppliedMap,
  ): Promise<Staged> {
    const scope = scopeForRequests(
      tree,
      translation,
      targets.map((t) => ({ resource: t.resource, id: t.objectId, operation: t.operation })),
    );
    const device = await session.activeDevice();
    const snapshot = await session.read(device, scope.reads);
    // A delete completes only when the device, known ready, shows the objects gone.
    if (showsDeletesDone(translation, scope, snapshot)) {
      const readiness = await device.readiness();
      if (!readiness.ready)
        throw new BigIpError(
          `device ${device.name} is not ready (${readiness.reason}): it cannot show whether what is deleted is gone; retried`,
          { device: device.name, transient: true },
        );
    }
    const plan = planApply(translation, scope, snapshot, lastApplied);
    const sent = await sendChange(session, device, { translation, scope, snapshot, plan, lastApplied });
    return {
      tree,
      translation,
      scope,
      targets,
      result: {
        outcome: 'applied',
        commands: plan.commands.length,
        atomic: plan.atomic,
        skipped: sent.report.skipped,
        statuses: 0,
        device: device.name,
      },
      lastApplied: sent.lastApplied,
      written: sent.written,
    };
  }

  /** Each route domain the change's objects left, removed from the group if nothing else uses it. */
  private async releaseNetworks(staged: readonly Staged[], times: WriteTimes): Promise<void> {
    const final = staged.at(-1);
    if (!this.deps.networks || !final) return;
    for (const rd of final.translation.routeDomains.released)
      await this.deps.networks.release(rd, undefined, times);
  }

  private async settle(staged: readonly Staged[], refused: ApplyResult | undefined): Promise<ApplyResult> {
    const { resources, clock } = this.deps;
    // A deleted load balancer lets go of its agent before its records go: whoever sees the records
    // gone (`lbaas submit --wait`, the console) finds it bound nowhere (found by a loaded full run).
    const final = staged.at(-1);
    if (final?.translation.loadbalancerDeleted) {
      const released = await this.deps.bindings.release(final.tree.root.id);
      if (released) await this.deps.registry.adjustLoadbalancerCount(released.env, released.host, -1);
      await this.deps.statistics.deleteStatistics(final.tree.root.id);
    }
    // What the change wrote is recorded as the device read it back: with the statuses of the
    // resources it settles, and on its own for a resource it wrote without settling it (a pool that a
    // new monitor's change points at its monitor), before any status says ACTIVE.
    const first = staged[0];
    const owned =
      first && final
        ? recordsByOwner(
            first.tree,
            final.translation,
            final.lastApplied,
            new Set(staged.flatMap((s) => [...s.written])),
          )
        : [];
    const folded = new Set<string>();
    const settled = staged.map((s) => {
      const fold = foldIntoOutcomes(completions(s.tree, s.translation, s.scope, s.targets), owned);
      for (const key of fold.folded) folded.add(key);
      return { s, outcomes: fold.outcomes };
    });
    const separate = owned.filter((o) => o.written && !folded.has(o.key));
    if (final && separate.length > 0) await resources.recordLastApplied(final.tree.root.id, separate);
    let written = 0;
    let last: Staged | undefined;
    for (const { s, outcomes } of settled) {
      written += await resources.recordOutcomes(outcomes, clock());
      // A deleted pool leaves no listener pointing at it (Octavia clears default_pool_id).
      for (const { listenerId, poolId } of orphanedDefaultPools(s.tree, outcomes))
        await resources.clearDefaultPool(s.tree.root.id, listenerId, poolId);
      // Its own update is on the device even if a child's request bumped the revision meanwhile
      // (the status write above then lost): the child's apply may settle it now.
      const { root } = s.tree;
      if (root.ownChangePending && appliesOwnChange(s.tree, s.scope, s.targets))
        await resources.clearOwnChange(root.id, root.requestId);
      last = s;
    }
    if (refused) return refused;
    if (!last) return { outcome: 'gone' };
    const commands = staged.reduce((n, s) => n + s.result.commands, 0);
    return { ...last.result, commands, statuses: written };
  }
}

/** A change's settled check: whether it is settled, and the cadence's first look. */
interface SettledCheck {
  settled: boolean;
  root?: RootLook;
  /** When the newest of its still pending requests was recorded (absent: none is pending). */
  newestRequestAt?: number;
}

function rootLookOf(records: readonly ResourceRecord[], loadbalancerId: string): RootLook | undefined {
  const root = records.find((r) => r.type === 'loadbalancer' && r.id === loadbalancerId);
  return root ? { revision: root.revision, updatedAt: root.updatedAt } : undefined;
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
