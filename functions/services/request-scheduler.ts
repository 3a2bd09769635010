import {
  type ForwardedScheduleDecision,
  type GroupView,
  knownTenantGroup,
  type ScheduleDecision,
  type SelectionPolicy,
  scheduleRequest,
} from '../domain/agent-scheduler.js';
import {
  type CapacityLimits,
  capacityScore,
  fullBecause,
  type GroupDefinition,
  usageOf,
} from '../domain/capacity.js';
import { ContentionError, NoActiveAgentError, RejectedRequestError } from '../domain/errors.js';
import { forwardable, isMemberBatch, type LbaasRequest } from '../domain/lbaas-request.js';
import type {
  AgentQueue,
  AgentRecord,
  AgentRegistry,
  BindingStore,
  GroupRecord,
  GroupStore,
  ResourceStore,
} from '../domain/ports.js';
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
  onScheduled?: (request: LbaasRequest, outcome: ScheduleOutcome) => void;
  /**
   * The environment's device groups with their limits, and where their usage is kept. Left out,
   * every agent's group is open and unlimited (and nothing is counted).
   */
  groups?: { store: GroupStore; definitions: readonly GroupDefinition[]; cacheMs: number };
}

export type ForwardedDecision = ForwardedScheduleDecision;

export interface ScheduleOutcome {
  decision: ForwardedDecision;
  /** True when this request created the load balancer's binding. */
  bound: boolean;
}

const MAX_DECISION_ROUNDS = 5;

/**
 * One request through the scheduler: record the desired state and PENDING status, pick the agent
 * (binding races resolved by conditional writes), forward to that agent's queue.
 */
export class RequestScheduler {
  constructor(private readonly deps: RequestSchedulerDeps) {}

  async handle(
    request: LbaasRequest,
    submittedAt?: number,
    options: { recorded?: boolean } = {},
  ): Promise<ScheduleOutcome> {
    const { env, resources, queue, clock } = this.deps;
    // A request its producer says it recorded (the Octavia API checks and records before it
    // answers) is recorded once: if its object carries it, it is only placed and forwarded.
    if (!(options.recorded && (await this.isRecorded(request)))) {
      checkCertificateRefs(request, env);
      // L7 requests (and a pool's deletion) are checked against the load balancer's records first.
      if (needsRecordChecks(request))
        request = checkAgainstRecords(request, await resources.loadRecords(request.loadbalancerId));
      await resources.recordRequest(request, env, clock());
    }
    const { decision, agent, bound } = await this.decide(request);
    await queue.forward(agent.queueUrl as string, {
      request: forwardable(request),
      scheduling: {
        kind: decision.kind,
        host: decision.host,
        scheduledAt: clock(),
        env,
        ...(submittedAt ? { submittedAt } : {}),
      },
    });
    const outcome = { decision, bound };
    this.deps.onScheduled?.(request, outcome);
    return outcome;
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

  /** Picks the agent for a request, binding the load balancer if it is new. */
  async decide(
    request: LbaasRequest,
  ): Promise<{ decision: ForwardedDecision; agent: AgentRecord; bound: boolean }> {
    const { env, bindings, directory, registry, clock, random, agentDownTimeMs, selection } = this.deps;
    const { loadbalancerId, tenantId } = request;
    // Anything but a delete that binds a load balancer puts it on a group's devices, so it counts
    // against capacity: a refused create's listener must not build the load balancer after all.
    const placesLoadBalancer = request.operation !== 'delete';

    for (let round = 0; round < MAX_DECISION_ROUNDS; round++) {
      const [binding, registered] = await Promise.all([
        bindings.getBinding(loadbalancerId),
        directory.list(env),
      ]);
      // An agent that never reported a queue cannot take work, whatever its row says.
      const agents = registered.filter((a) => a.queueUrl !== undefined);
      if (binding && binding.env !== env) {
        throw new RejectedRequestError(
          'environment-mismatch',
          `load balancer ${loadbalancerId} is bound in environment ${binding.env}, not ${env}`,
        );
      }
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
        let decision = scheduleRequest({ ...base, binding, affinityHosts: [] });
        if (decision.kind !== 'bound' && decision.kind !== 'no-active-agent') {
          // Only a failover needs the tenant's affinity; the bound path stays at one read.
          const affinity = await bindings.getTenantAffinity(env, tenantId);
          decision = scheduleRequest({ ...base, binding, affinityHosts: affinity.hosts.map((h) => h.host) });
        }
        return this.resolve(decision, agents, false);
      }

      const affinity = await bindings.getTenantAffinity(env, tenantId);
      const affinityHosts = affinity.hosts.map((h) => h.host);
      const { views: groups, cached } = await this.groupViews();
      // A claim without an affinity row is a concurrent first bind in progress: follow it. Unless
      // its group cannot take a new load balancer: with no affinity row the tenant has none
      // anywhere, so it is still new, and may claim another group (the claim's version guards it).
      const claimGroup = affinity.claim?.group;
      const claimView = groups?.find((g) => g.name === claimGroup);
      const claimStands =
        affinity.claim !== undefined &&
        (affinityHosts.length > 0 ||
          !placesLoadBalancer ||
          claimView === undefined ||
          (claimView.adminStateUp && claimView.score < 1));
      if (claimStands && affinity.claim && !affinityHosts.includes(affinity.claim.host))
        affinityHosts.push(affinity.claim.host);
      const decision = scheduleRequest({
        ...base,
        binding: undefined,
        affinityHosts,
        placesLoadBalancer,
        ...(groups ? { groups } : {}),
        ...(claimStands && claimGroup ? { tenantGroup: claimGroup } : {}),
      });
      // A refusal is final for its request: never refuse on a cached view (a group may have been
      // enabled or emptied since), read the groups again first.
      if (decision.kind === 'at-capacity' && cached) {
        this.groupCache = undefined;
        continue;
      }
      if (!('host' in decision)) return this.resolve(decision, agents, false);
      // A tenant with no group yet gets one now: it may only be an enabled one.
      const newTenant =
        knownTenantGroup(agents, affinityHosts, claimStands ? claimGroup : undefined) === undefined;

      if (decision.kind === 'random' || decision.kind === 'least-loaded') {
        const claimed = await bindings.claimTenant(
          env,
          tenantId,
          decision.host,
          affinity.claim?.version,
          clock(),
          decision.group,
        );
        if (!claimed) continue;
      }
      const max = placesLoadBalancer ? this.limitsOf(decision.group)?.maxLoadBalancers : undefined;
      const result = await bindings.bind(
        { loadbalancerId, env, host: decision.host, tenantId, boundAt: clock(), group: decision.group },
        {
          agentLiveAfter: clock() - agentDownTimeMs,
          ...(max !== undefined ? { maxLoadBalancers: max } : {}),
          // A new tenant only into an enabled group (the view may be cached).
          ...(newTenant && decision.group !== undefined && this.deps.groups ? { groupEnabled: true } : {}),
        },
      );
      if (!result.created) {
        // The cached list was stale (the agent was deleted, disabled or died): decide again on a fresh one.
        if ('agentUnavailable' in result) directory.invalidate(env);
        // The group filled up or was disabled since it was read: read it again (and refuse, if need be).
        if ('groupRefused' in result) this.groupCache = undefined;
        continue;
      }
      await registry.adjustLoadbalancerCount(env, decision.host, 1);
      return this.resolve(decision, agents, true);
    }
    throw new ContentionError(`could not settle a binding for load balancer ${loadbalancerId}`, {
      loadbalancerId,
    });
  }

  private groupCache: { at: number; views: GroupView[] } | undefined;

  /**
   * The groups' views for a decision that places a load balancer: one query for all of them
   * (cached briefly, like the agents; the load balancer limit itself is enforced by the bind).
   */
  private async groupViews(): Promise<{ views: GroupView[] | undefined; cached: boolean }> {
    const groups = this.deps.groups;
    if (!groups || groups.definitions.length === 0) return { views: undefined, cached: false };
    const now = this.deps.clock();
    const hit = this.groupCache;
    if (hit && now - hit.at < groups.cacheMs && now >= hit.at) return { views: hit.views, cached: true };
    const rows = new Map((await groups.store.listGroups(this.deps.env)).map((r) => [r.name, r]));
    const views = groups.definitions.map((d) => groupView(d, rows.get(d.name)));
    this.groupCache = { at: now, views };
    return { views, cached: false };
  }

  private limitsOf(group: string): CapacityLimits | undefined {
    return this.deps.groups?.definitions.find((d) => d.name === group)?.limits;
  }

  private resolve(
    decision: ScheduleDecision,
    agents: readonly AgentRecord[],
    bound: boolean,
  ): { decision: ForwardedDecision; agent: AgentRecord; bound: boolean } {
    if (decision.kind === 'no-active-agent') {
      throw new NoActiveAgentError(decision.reason, { env: this.deps.env });
    }
    if (decision.kind === 'at-capacity') {
      throw new RejectedRequestError(`${decision.scope}-at-capacity`, decision.reason, {
        env: this.deps.env,
        ...(decision.group ? { group: decision.group } : {}),
      });
    }
    const agent = agents.find((a) => a.host === decision.host) as AgentRecord;
    return { decision, agent, bound };
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
