import { type ScheduleDecision, type SelectionPolicy, scheduleRequest } from '../domain/agent-scheduler.js';
import { ContentionError, NoActiveAgentError, RejectedRequestError } from '../domain/errors.js';
import { forwardable, type LbaasRequest } from '../domain/lbaas-request.js';
import type { AgentQueue, AgentRecord, AgentRegistry, BindingStore, ResourceStore } from '../domain/ports.js';
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
}

export type ForwardedDecision = Exclude<ScheduleDecision, { kind: 'no-active-agent' }>;

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

  async handle(request: LbaasRequest, submittedAt?: number): Promise<ScheduleOutcome> {
    const { env, resources, queue, clock } = this.deps;
    await resources.recordRequest(request, env, clock());
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

  /** Picks the agent for a request, binding the load balancer if it is new. */
  async decide(
    request: LbaasRequest,
  ): Promise<{ decision: ForwardedDecision; agent: AgentRecord; bound: boolean }> {
    const { env, bindings, directory, registry, clock, random, agentDownTimeMs, selection } = this.deps;
    const { loadbalancerId, tenantId } = request;

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
      // A claim without an affinity row is a concurrent first bind in progress: follow it.
      if (affinity.claim && !affinityHosts.includes(affinity.claim.host))
        affinityHosts.push(affinity.claim.host);
      const decision = scheduleRequest({ ...base, binding: undefined, affinityHosts });
      if (decision.kind === 'no-active-agent') return this.resolve(decision, agents, false);

      if (decision.kind === 'random' || decision.kind === 'least-loaded') {
        const claimed = await bindings.claimTenant(
          env,
          tenantId,
          decision.host,
          affinity.claim?.version,
          clock(),
        );
        if (!claimed) continue;
      }
      const result = await bindings.bind(
        { loadbalancerId, env, host: decision.host, tenantId, boundAt: clock() },
        { agentLiveAfter: clock() - agentDownTimeMs },
      );
      if (!result.created) {
        // The cached list was stale (the agent was deleted, disabled or died): decide again on a fresh one.
        if ('agentUnavailable' in result) directory.invalidate(env);
        continue;
      }
      await registry.adjustLoadbalancerCount(env, decision.host, 1);
      return this.resolve(decision, agents, true);
    }
    throw new ContentionError(`could not settle a binding for load balancer ${loadbalancerId}`, {
      loadbalancerId,
    });
  }

  private resolve(
    decision: ScheduleDecision,
    agents: readonly AgentRecord[],
    bound: boolean,
  ): { decision: ForwardedDecision; agent: AgentRecord; bound: boolean } {
    if (decision.kind === 'no-active-agent') {
      throw new NoActiveAgentError(decision.reason, { env: this.deps.env });
    }
    const agent = agents.find((a) => a.host === decision.host) as AgentRecord;
    return { decision, agent, bound };
  }
}
