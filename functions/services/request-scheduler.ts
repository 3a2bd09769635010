import {
  type ForwardedScheduleDecision,
  type GroupView,
  needsAffinity,
  type ScheduleDecision,
  type ScheduleInput,
  type SelectionPolicy,
  scheduleRequest,
  tenantWithClaim,
} from '../domain/agent-scheduler.js';
import {
  type CapacityLimits,
  capacityScore,
  fullBecause,
  type GroupDefinition,
  usageOf,
} from '../domain/capacity.js';
import { ContentionError } from '../domain/errors.js';
import {
  forwardable,
  isMemberBatch,
  type LbaasRequest,
  type RejectionContext,
} from '../domain/lbaas-request.js';
import { mergeablePrefix } from '../domain/merged-records.js';
import { checkNetworks } from '../domain/network-checks.js';
import type { NetworkCatalog } from '../domain/networks.js';
import type {
  AgentQueue,
  AgentRecord,
  AgentRegistry,
  Binding,
  BindingStore,
  GroupRecord,
  GroupStore,
  Refusal as LoggedRefusal,
  RefusalLog,
  ResourceStore,
} from '../domain/ports.js';
import {
  explainRecordConflict,
  type Refusal,
  refusal,
  refusalSubject,
  refusalTargets,
} from '../domain/refusals.js';
import { checkAgainstRecords, checkCertificateRefs, needsRecordChecks } from '../domain/request-checks.js';
import type { AgentDirectory } from './agent-directory.js';

export interface RequestSchedulerDeps {
  env: string;
  agentDownTimeMs: number;
  selection: SelectionPolicy;
  resources: ResourceStore;
  bindings: BindingStore;
  registry: AgentRegistry;
  directory: AgentDirectory;
  queue: AgentQueue;
  clock: () => number;
  random: () => number;
  /** Told about every forwarded request (the local dashboard's activity feed). */
  onScheduled?: (request: LbaasRequest, outcome: Forwarded) => void;
  /** Where a refusal waits for its sender, and how long (as long as the request's idempotency record). */
  refusalLog?: { log: RefusalLog; keepMs: number };
  /** Told about every refusal (the local stack's log and console). */
  onRefused?: (refusal: LoggedRefusal) => void;
  /**
   * The environment's device groups with their limits, and where their usage is kept. Left out,
   * every agent's group is open and unlimited (and nothing is counted).
   */
  groups?: { store: GroupStore; definitions: readonly GroupDefinition[]; cacheMs: number };
  /** The environment's networks (network-checks.ts); left out, none: every address in route domain 0. */
  networks?: NetworkCatalog;
  /**
   * How long a load balancer's binding is remembered (as long as the agent list is cached): a bound
   * load balancer's requests come in bursts, and a remembered binding is used only while its agent is
   * active, so it goes where a fresh read would send it. Absent or 0: read for every request.
   */
  bindingCacheMs?: number;
}

export type ForwardedDecision = ForwardedScheduleDecision;

/** A request of a run (`prepareRun`): as `prepare` takes it. */
export interface RunItem {
  request: LbaasRequest;
  submittedAt?: number | undefined;
  /** Its producer says it recorded it (the Octavia API): never merged. */
  recorded?: boolean;
}

/** Sent to an agent. */
export interface Forwarded {
  kind: 'forwarded';
  decision: ForwardedDecision;
  /** True when this request created the load balancer's binding. */
  bound: boolean;
  /**
   * A redelivery of a request recorded before that its object still holds: forwarded again (it may
   * never have been), and harmless if it was (the agent queue's de-duplication, the worker's settled check).
   */
  again?: true;
}

/**
 * A redelivery of a request recorded before whose object no longer holds it (a newer request took
 * it, or it is deleted): it was forwarded before those, so nothing is done.
 */
export interface Duplicate {
  kind: 'duplicate';
}

/** No agent can take it now: nothing is forwarded, the message waits and is retried. */
export interface Waiting {
  kind: 'waiting';
  reason: string;
}

/** Refused for good (acknowledged, never retried); the objects it marks are already in ERROR. */
export interface Refused {
  kind: 'refused';
  refusal: Refusal;
  subject: RejectionContext;
}

/** What became of one request: a value for every expected outcome (exceptions are for the unexpected). */
export type ScheduleOutcome = Forwarded | Waiting | Refused | Duplicate;

/**
 * Recorded and placed, its forward not yet asked for: `forward` sends it (once) and tells what
 * became of it. The handler records a load balancer's next request before it forwards this one,
 * so a scheduler batch's forwards go out together.
 */
export interface Placed {
  kind: 'placed';
  forward: () => Promise<Forwarded>;
}

/** Where a request goes: an agent (with its row), nowhere yet, or nowhere ever. */
export type Placement =
  | { kind: 'forwarded'; decision: ForwardedDecision; agent: AgentRecord; bound: boolean }
  | Waiting
  | { kind: 'refused'; refusal: Refusal };

const MAX_DECISION_ROUNDS = 5;

/**
 * One request through the scheduler: check it, record the desired state and PENDING status, pick
 * the agent (binding races resolved by conditional writes), forward to that agent's queue. Every
 * refusal is recorded here, on the objects the domain says it marks (`refusalTargets`). The owner
 * of the idempotency rule: a request is recorded once (its guard, written with its record), and a
 * redelivery is only forwarded again, or, superseded, dropped (never recorded or refused again).
 */
export class RequestScheduler {
  constructor(private readonly deps: RequestSchedulerDeps) {}

  async handle(
    request: LbaasRequest,
    submittedAt?: number,
    options: { recorded?: boolean } = {},
  ): Promise<ScheduleOutcome> {
    const prepared = await this.prepare(request, submittedAt, options);
    return prepared.kind === 'placed' ? prepared.forward() : prepared;
  }

  /** `handle` up to the forward: recorded and placed (`Placed`), or what else became of it. */
  async prepare(
    request: LbaasRequest,
    submittedAt?: number,
    options: { recorded?: boolean } = {},
  ): Promise<Exclude<ScheduleOutcome, Forwarded> | Placed> {
    const { env, resources, clock } = this.deps;
    const subject = refusalSubject(request);
    // The placement's reads (the binding, the agents; cached or not) go out beside the record's
    // transaction, not after it: one round trip fewer for a request whose caches went cold (each
    // step of a client that waits for ACTIVE). Reads only; a refused request wastes them.
    const reads = this.placementReads(request.loadbalancerId);
    reads.catch(() => undefined);
    // A request its producer says it recorded (the Octavia API checks and records before it
    // answers) is recorded once: if its object carries it, it is only placed and forwarded.
    let again = false;
    if (!(options.recorded && (await this.isRecorded(request)))) {
      const checked = await this.check(request);
      // A redelivery is not refused for what newer requests changed since it was recorded.
      if ('refusal' in checked && !(await resources.isGuarded(env, request, clock())))
        return this.recordRefusal(subject, checked.refusal);
      if ('request' in checked) request = checked.request;
      const recorded =
        'refusal' in checked ? undefined : await resources.recordRequest(request, env, clock());
      if (recorded && !recorded.recorded) {
        const why =
          'refusal' in recorded ? recorded.refusal : explainRecordConflict(request, env, recorded.conflict);
        // Nothing in the way explains it: another writer changed an item between the write and the read.
        if (!why)
          throw new ContentionError(`request ${request.requestId} raced with another writer; will retry`, {
            loadbalancerId: request.loadbalancerId,
          });
        return this.recordRefusal(subject, why);
      }
      // Recorded before (its guard stood): forwarded again while its object holds it, else superseded.
      again = recorded === undefined || 'duplicate' in recorded;
      if (again && !(await this.isRecorded(request))) return { kind: 'duplicate' };
    }
    return this.placeRecorded(request, submittedAt, again, reads);
  }

  /**
   * A run of one load balancer's requests in FIFO order (a scheduler batch's message group): its
   * first requests that need no records to check, pass their checks and are not said to be recorded
   * already are recorded with one write (`ResourceStore.recordRequests`, when `mergeablePrefix`
   * allows) and placed, each as `prepare` would. Answers an outcome for each of the first requests it
   * took, in order, up to one that waits (its later ones wait behind it); none when it merged none.
   * The caller prepares the rest one by one, as it would have without this.
   */
  async prepareRun(run: readonly RunItem[]): Promise<(Exclude<ScheduleOutcome, Forwarded> | Placed)[]> {
    const { env, resources, clock } = this.deps;
    const checked: { request: LbaasRequest; submittedAt: number | undefined }[] = [];
    for (const { request, submittedAt, recorded } of run) {
      if (recorded || needsRecordChecks(request)) break;
      const passed = await this.check(request);
      if ('refusal' in passed) break;
      checked.push({ request: passed.request, submittedAt });
    }
    const requests = checked.map((c) => c.request);
    if (mergeablePrefix(requests, env) < 2) return [];
    const reads = this.placementReads(requests[0]?.loadbalancerId as string);
    reads.catch(() => undefined);
    // None recorded (one of them recorded before, a claim taken, an object missing…): each on its own says why.
    const n = await resources.recordRequests(requests, env, clock());
    const out: (Exclude<ScheduleOutcome, Forwarded> | Placed)[] = [];
    for (const [i, { request, submittedAt }] of checked.slice(0, n).entries()) {
      let prepared: Exclude<ScheduleOutcome, Forwarded> | Placed;
      try {
        // One load balancer: the first decision's binding is remembered for the next (the binding cache).
        prepared = await this.placeRecorded(request, submittedAt, false, i === 0 ? reads : undefined);
      } catch (error) {
        // Recorded, not placed: the caller prepares it again, and its guard makes that a redelivery.
        if (i === 0) throw error;
        break;
      }
      out.push(prepared);
      if (prepared.kind === 'waiting') break;
    }
    return out;
  }

  /** A recorded request placed (an agent's forward, waiting, or refused); `again` for a redelivery. */
  private async placeRecorded(
    request: LbaasRequest,
    submittedAt: number | undefined,
    again: boolean,
    reads?: ReturnType<RequestScheduler['placementReads']>,
  ): Promise<Exclude<ScheduleOutcome, Forwarded> | Placed> {
    const { env, queue, clock } = this.deps;
    const placement = await this.decide(request, reads);
    if (placement.kind === 'waiting') return placement;
    if (placement.kind === 'refused') return this.recordRefusal(refusalSubject(request), placement.refusal);
    const { decision, agent, bound } = placement;
    const placed = request;
    const forward = async (): Promise<Forwarded> => {
      await queue.forward(agent.queueUrl as string, {
        request: forwardable(placed),
        scheduling: {
          kind: decision.kind,
          host: decision.host,
          scheduledAt: clock(),
          env,
          ...(submittedAt ? { submittedAt } : {}),
        },
      });
      if (again) return { kind: 'forwarded', decision, bound, again: true };
      const outcome: Forwarded = { kind: 'forwarded', decision, bound };
      this.deps.onScheduled?.(placed, outcome);
      return outcome;
    };
    return { kind: 'placed', forward };
  }

  /** True when the request's object (a batch's pool) holds this very request of this tenant: it is recorded. */
  private async isRecorded(request: LbaasRequest): Promise<boolean> {
    const target = isMemberBatch(request)
      ? { type: 'pool' as const, id: request.object.pool_id }
      : { type: request.resource, id: request.object.id };
    const [record] = await this.deps.resources.loadObjects(request.loadbalancerId, [target]);
    return (
      record !== undefined &&
      record.requestId === request.requestId &&
      record.tenantId === request.tenantId &&
      record.env === this.deps.env
    );
  }

  /**
   * A refusal, recorded: kept for its sender (the refusal log), and the objects it marks (the domain
   * decides which) go to ERROR with the reason. The handler calls it for a message it could not
   * parse; `handle` for every other refusal.
   */
  async recordRefusal(subject: RejectionContext, why: Refusal): Promise<Refused> {
    const { env, resources, clock } = this.deps;
    await this.keepForSender(subject, why);
    const reason = `request ${subject.requestId ?? '(no id)'} rejected: ${why.reason}`;
    for (const target of refusalTargets(why.category, subject, env))
      await resources.markError(target, reason, clock());
    return { kind: 'refused', refusal: why, subject };
  }

  /** The sender learns of a refusal by its request id (the CLI's --wait reads it with one read). */
  private async keepForSender(subject: RejectionContext, why: Refusal): Promise<void> {
    const { requestId, tenantId, ...about } = subject;
    if (!requestId || !tenantId) return;
    const now = this.deps.clock();
    const logged: LoggedRefusal = {
      env: this.deps.env,
      tenantId,
      requestId,
      category: why.category,
      reason: why.reason,
      refusedAt: now,
      ...about,
    };
    const kept = this.deps.refusalLog;
    if (kept) await kept.log.record(logged, now + kept.keepMs);
    this.deps.onRefused?.(logged);
  }

  /** The checks a request needs beyond its message: its certificates, and the load balancer's records for L7 and pool deletes. */
  private async check(request: LbaasRequest): Promise<{ request: LbaasRequest } | { refusal: Refusal }> {
    const certificates = checkCertificateRefs(request, this.deps.env);
    if (certificates) return { refusal: certificates };
    const placed = checkNetworks(request, this.deps.networks ?? { networks: [] });
    if ('refusal' in placed) return placed;
    request = placed.request;
    if (!needsRecordChecks(request)) return { request };
    return checkAgainstRecords(request, await this.deps.resources.loadRecords(request.loadbalancerId));
  }

  /** A round's reads: the load balancer's binding (remembered, or read when `remembered` is allowed none) and the agents. */
  private async placementReads(loadbalancerId: string, useRemembered = true) {
    const { env, bindings, directory } = this.deps;
    const remembered = useRemembered ? this.recentBinding(loadbalancerId) : undefined;
    const [binding, registered] = await Promise.all([
      remembered ?? bindings.getBinding(loadbalancerId),
      directory.list(env),
    ]);
    return { remembered, binding, registered };
  }

  /**
   * Picks the agent for a request, binding the load balancer if it is new: one decision per round.
   * `first`: the first round's reads, when the caller started them already.
   */
  async decide(
    request: LbaasRequest,
    first?: ReturnType<RequestScheduler['placementReads']>,
  ): Promise<Placement> {
    const { env, bindings, clock, random, agentDownTimeMs, selection } = this.deps;
    const { loadbalancerId, tenantId } = request;
    for (let round = 0; round < MAX_DECISION_ROUNDS; round++) {
      const { remembered, binding, registered } = await (round === 0
        ? (first ?? this.placementReads(loadbalancerId))
        : this.placementReads(loadbalancerId, false));
      // An agent that never reported a queue cannot take work, whatever its row says.
      const agents = registered.filter((a) => a.queueUrl !== undefined);
      if (binding && binding.env !== env)
        return {
          kind: 'refused',
          refusal: refusal(
            'environment-mismatch',
            `load balancer ${loadbalancerId} is bound in environment ${binding.env}, not ${env}`,
          ),
        };
      const base = {
        env,
        tenantId,
        loadbalancerId,
        agents,
        agentDownTimeMs,
        nowMs: clock(),
        random,
        selection,
      };
      if (binding) {
        // A remembered binding serves its own active agent only; anything else decides on a fresh read.
        if (remembered && needsAffinity({ ...base, binding })) {
          this.bindingCache.delete(loadbalancerId);
          continue;
        }
        if (!remembered) this.rememberBinding(binding);
        // Only a failover needs the tenant's affinity: the bound path stays at one read.
        const affinity = needsAffinity({ ...base, binding })
          ? (await bindings.getTenantAffinity(env, tenantId)).hosts.map((h) => h.host)
          : [];
        return this.place(scheduleRequest({ ...base, binding, affinityHosts: affinity }), agents, false);
      }
      const placed = await this.placeNew(request, base);
      if (placed !== 'again') return placed;
    }
    throw new ContentionError(`could not settle a binding for load balancer ${loadbalancerId}`, {
      loadbalancerId,
    });
  }

  /** One round for an unbound load balancer: decide, claim the tenant if new, bind. `again` when a race was lost. */
  private async placeNew(
    request: LbaasRequest,
    base: Omit<ScheduleInput, 'binding' | 'affinityHosts'> & { agents: readonly AgentRecord[] },
  ): Promise<Placement | 'again'> {
    const { env, bindings, registry, clock, agentDownTimeMs, directory } = this.deps;
    const { loadbalancerId, tenantId } = request;
    // Anything but a delete that binds a load balancer puts it on a group's devices, so it counts
    // against capacity: a refused create's listener must not build the load balancer after all.
    const placesLoadBalancer = request.operation !== 'delete';
    const affinity = await bindings.getTenantAffinity(env, tenantId);
    const { views: groups, cached } = await this.groupViews();
    const tenant = tenantWithClaim(
      { hosts: affinity.hosts.map((h) => h.host), claim: affinity.claim },
      groups,
      placesLoadBalancer,
    );
    // A load balancer created with a flavor or availability zone names the groups it may go to.
    const allowed =
      request.resource === 'loadbalancer' && request.operation === 'create'
        ? (request.object as { device_groups?: string[] }).device_groups
        : undefined;
    const decision = scheduleRequest({
      ...base,
      binding: undefined,
      affinityHosts: tenant.affinityHosts,
      placesLoadBalancer,
      ...(allowed ? { allowedGroups: allowed } : {}),
      ...(groups ? { groups } : {}),
      ...(tenant.tenantGroup ? { tenantGroup: tenant.tenantGroup } : {}),
    });
    // A refusal is final for its request: never refuse on a cached view (a group may have been
    // enabled or emptied since), read the groups again first.
    if (decision.kind === 'at-capacity' && cached) {
      this.groupCache = undefined;
      return 'again';
    }
    if (!('host' in decision)) return this.place(decision, base.agents, false);
    if (decision.kind === 'random' || decision.kind === 'least-loaded') {
      const claimed = await bindings.claimTenant(
        env,
        tenantId,
        decision.host,
        affinity.claim?.version,
        clock(),
        decision.group,
      );
      if (!claimed) return 'again';
    }
    const max = placesLoadBalancer ? this.limitsOf(decision.group)?.maxLoadBalancers : undefined;
    const result = await bindings.bind(
      { loadbalancerId, env, host: decision.host, tenantId, boundAt: clock(), group: decision.group },
      {
        agentLiveAfter: clock() - agentDownTimeMs,
        ...(max !== undefined ? { maxLoadBalancers: max } : {}),
        // A new tenant only into an enabled group (the view may be cached).
        ...(decision.newTenant && this.deps.groups ? { groupEnabled: true } : {}),
      },
    );
    if (!result.created) {
      // The cached list was stale (the agent was deleted, disabled or died): decide again on a fresh one.
      if ('agentUnavailable' in result) directory.invalidate(env);
      // The group filled up or was disabled since it was read: read it again (and refuse, if need be).
      if ('groupRefused' in result) this.groupCache = undefined;
      return 'again';
    }
    await registry.adjustLoadbalancerCount(env, decision.host, 1);
    if (placesLoadBalancer) this.countPlaced(decision.group);
    this.rememberBinding({
      loadbalancerId,
      env,
      host: decision.host,
      tenantId,
      boundAt: clock(),
      group: decision.group,
    });
    return this.place(decision, base.agents, true);
  }

  /** Recently read or made bindings, oldest first (the binding cache). */
  private readonly bindingCache = new Map<string, { at: number; binding: Binding }>();

  private recentBinding(loadbalancerId: string): Binding | undefined {
    const ttl = this.deps.bindingCacheMs ?? 0;
    const hit = this.bindingCache.get(loadbalancerId);
    const now = this.deps.clock();
    return hit && now - hit.at < ttl && now >= hit.at ? hit.binding : undefined;
  }

  private rememberBinding(binding: Binding): void {
    const ttl = this.deps.bindingCacheMs ?? 0;
    if (ttl <= 0) return;
    const now = this.deps.clock();
    this.bindingCache.delete(binding.loadbalancerId);
    this.bindingCache.set(binding.loadbalancerId, { at: now, binding });
    // Oldest first: drop what has expired.
    for (const [id, entry] of this.bindingCache) {
      if (now - entry.at < ttl) break;
      this.bindingCache.delete(id);
    }
  }

  /** The groups' rows as last read, and the load balancers this scheduler placed since (countPlaced). */
  private groupCache: { at: number; rows: Map<string, GroupRecord> } | undefined;

  /**
   * The groups' views for a decision that places a load balancer: one query for all of them
   * (cached briefly, like the agents; the load balancer limit itself is enforced by the bind).
   */
  private async groupViews(): Promise<{ views: GroupView[] | undefined; cached: boolean }> {
    const groups = this.deps.groups;
    if (!groups || groups.definitions.length === 0) return { views: undefined, cached: false };
    const now = this.deps.clock();
    const hit = this.groupCache;
    const cached = hit !== undefined && now - hit.at < groups.cacheMs && now >= hit.at;
    const rows = cached
      ? hit.rows
      : new Map((await groups.store.listGroups(this.deps.env)).map((r) => [r.name, r]));
    if (!cached) this.groupCache = { at: now, rows };
    return { views: groups.definitions.map((d) => groupView(d, rows.get(d.name))), cached };
  }

  /**
   * A load balancer this scheduler just bound counts in its cached group rows at once, as the bind
   * counted it in the store: otherwise new tenants placed one after another within the cache's life
   * would all see the same scores and could pile into one group.
   */
  private countPlaced(group: string | undefined): void {
    const rows = this.groupCache?.rows;
    if (!rows || group === undefined) return;
    const row: GroupRecord = rows.get(group) ?? {
      env: this.deps.env,
      name: group,
      adminStateUp: true,
      loadBalancers: 0,
      listeners: 0,
      members: 0,
    };
    rows.set(group, { ...row, loadBalancers: row.loadBalancers + 1 });
  }

  private limitsOf(group: string): CapacityLimits | undefined {
    return this.deps.groups?.definitions.find((d) => d.name === group)?.limits;
  }

  /** The domain's decision as a placement: an agent, a wait, or a refusal. */
  private place(decision: ScheduleDecision, agents: readonly AgentRecord[], bound: boolean): Placement {
    if (decision.kind === 'no-active-agent') return { kind: 'waiting', reason: decision.reason };
    if (decision.kind === 'at-capacity')
      return { kind: 'refused', refusal: refusal(`${decision.scope}-at-capacity`, decision.reason) };
    const agent = agents.find((a) => a.host === decision.host) as AgentRecord;
    return { kind: 'forwarded', decision, agent, bound };
  }
}

/** A group's view from its definition and its row (no row yet: empty and enabled). */
export function groupView(definition: GroupDefinition, row: GroupRecord | undefined): GroupView {
  const usage = usageOf(row);
  const why = fullBecause(usage, definition.limits);
  return {
    name: definition.name,
    score: capacityScore(usage, definition.limits),
    adminStateUp: row?.adminStateUp ?? true,
    ...(why ? { fullBecause: why } : {}),
  };
}
