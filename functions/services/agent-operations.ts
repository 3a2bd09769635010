import { type DecisionKind, groupOf, scheduleRequest } from '../domain/agent-scheduler.js';
import { type DrainMove, planDrain } from '../domain/drain-plan.js';
import { OperatorRefusedError } from '../domain/errors.js';
import { heartbeatAgeMs, isActive, isAlive } from '../domain/liveness.js';
import type {
  AgentRecord,
  AgentRegistry,
  Binding,
  BindingPage,
  BindingStore,
  QueueInbox,
} from '../domain/ports.js';

export interface AgentOperationsDeps {
  registry: AgentRegistry;
  bindings: BindingStore;
  /** The agents' queues, to refuse deleting an agent whose queue still holds requests. */
  inbox?: QueueInbox;
  agentDownTimeMs: number;
  clock: () => number;
}

export interface AgentStatus extends AgentRecord {
  alive: boolean;
  active: boolean;
  heartbeatAgeSeconds: number | undefined;
}

/** A load balancer's binding, its bound agent's state, and who serves its requests now. */
export interface HostingAgent {
  binding: Binding;
  agent: AgentStatus | undefined;
  servedBy:
    | { host: string; decision: DecisionKind }
    | { host: undefined; decision: DecisionKind; reason: string };
}

export interface DrainReport {
  moved: DrainMove[];
  /** Load balancers that could not move (no active agent, or they changed meanwhile). */
  skipped: { loadbalancerId: string; reason: string }[];
}

/**
 * What operators do with agents (the CLI calls these): list, inspect, enable/disable, drain,
 * delete. Upstream, `agent-delete` silently unbound every load balancer and there was no way to
 * move one; here a delete is refused while load balancers are bound, and a drain moves them.
 */
export class AgentOperations {
  constructor(private readonly deps: AgentOperationsDeps) {}

  async agents(env: string): Promise<AgentStatus[]> {
    const now = this.deps.clock();
    const agents = await this.deps.registry.listAgents(env);
    return agents
      .map((a) => {
        const age = heartbeatAgeMs(a, now);
        return {
          ...a,
          alive: isAlive(a, this.deps.agentDownTimeMs, now),
          active: isActive(a, this.deps.agentDownTimeMs, now),
          heartbeatAgeSeconds: age === undefined ? undefined : Math.round(age / 100) / 10,
        };
      })
      .sort((a, b) => a.host.localeCompare(b.host));
  }

  /** One page of the load balancers bound to an agent (cost: that agent's bindings only). */
  async listOnAgent(
    env: string,
    host: string,
    page: { limit?: number; cursor?: string } = {},
  ): Promise<BindingPage> {
    return this.deps.bindings.listOnAgent(env, host, page);
  }

  /**
   * The agent bound to a load balancer, alive or not (like upstream's lbaas-agent-hosting-loadbalancer),
   * and who serves it now: the scheduler's own rule on the agents as they are (the bound agent while
   * it is active; during its outage the failover agent its requests go to, or nobody).
   */
  async hostingAgent(loadbalancerId: string): Promise<HostingAgent | undefined> {
    const binding = await this.deps.bindings.getBinding(loadbalancerId);
    if (!binding) return undefined;
    const agents = await this.agents(binding.env);
    const agent = agents.find((a) => a.host === binding.host);
    const input = {
      env: binding.env,
      tenantId: binding.tenantId,
      loadbalancerId,
      binding: { host: binding.host, ...(binding.group ? { group: binding.group } : {}) },
      agents,
      agentDownTimeMs: this.deps.agentDownTimeMs,
      nowMs: this.deps.clock(),
      // A bound load balancer's choice draws nothing at random (failover: affinity, else rendezvous).
      random: () => 0,
    };
    let decision = scheduleRequest({ ...input, affinityHosts: [] });
    if (decision.kind !== 'bound' && decision.kind !== 'no-active-agent') {
      const affinity = await this.deps.bindings.getTenantAffinity(binding.env, binding.tenantId);
      decision = scheduleRequest({ ...input, affinityHosts: affinity.hosts.map((h) => h.host) });
    }
    const servedBy =
      'host' in decision
        ? { host: decision.host, decision: decision.kind }
        : { host: undefined, decision: decision.kind, reason: decision.reason };
    return { binding, agent, servedBy };
  }

  async setAdminState(env: string, host: string, up: boolean): Promise<void> {
    if (!(await this.deps.registry.setAdminState(env, host, up))) {
      throw new OperatorRefusedError(`no agent ${host} in environment ${env}`, { env, host });
    }
  }

  /**
   * Deletes an agent's registration. Refused while load balancers are bound to it (the error
   * lists the first ones) unless forced; forcing first moves them to live agents of its group (a
   * drain), and is refused, naming them, for those no live agent can take: a forced delete never
   * leaves a load balancer without an agent that will serve it (an unbound live load balancer would
   * wait for its next request, and look orphaned on the device meanwhile).
   */
  async deleteAgent(
    env: string,
    host: string,
    options: { force?: boolean } = {},
  ): Promise<{ moved: number }> {
    const agent = await this.deps.registry.getAgent(env, host);
    if (!agent) throw new OperatorRefusedError(`no agent ${host} in environment ${env}`, { env, host });
    // Requests already forwarded to it would wait for it forever (the reclaimer only moves them off dead agents).
    const queued = agent.queueUrl && this.deps.inbox ? await this.deps.inbox.depth(agent.queueUrl) : 0;
    if (queued > 0 && !options.force) {
      throw new OperatorRefusedError(
        `agent ${host} still has ${queued} request(s) in its queue: let it work them off (or stop it, and the reclaimer moves them once it is dead), then delete; or delete with --force and the reclaimer moves them`,
        { env, host, queued },
      );
    }
    const first = await this.deps.bindings.listOnAgent(env, host, { limit: 20 });
    if (first.items.length > 0 && !options.force) {
      const count = await this.deps.bindings.countOnAgent(env, host);
      throw new OperatorRefusedError(
        `agent ${host} still hosts ${count} load balancer(s): ${first.items.map((b) => b.loadbalancerId).join(', ')}${count > first.items.length ? ', …' : ''}; drain it first (agent-drain) or delete with --force`,
        { env, host, count, loadbalancers: first.items.map((b) => b.loadbalancerId) },
      );
    }
    let moved = 0;
    if (first.items.length > 0) {
      moved = (await this.drain(env, host)).moved.length;
      const left = await this.deps.bindings.listOnAgent(env, host, { limit: 20 });
      if (left.items.length > 0) {
        const count = await this.deps.bindings.countOnAgent(env, host);
        throw new OperatorRefusedError(
          `agent ${host} still hosts ${count} load balancer(s) no live agent of group ${groupOf(agent)} can take: ${left.items.map((b) => b.loadbalancerId).join(', ')}${count > left.items.length ? ', …' : ''}; start an agent of that group, then delete again (it is disabled meanwhile)`,
          { env, host, count, moved, loadbalancers: left.items.map((b) => b.loadbalancerId) },
        );
      }
    }
    await this.deps.registry.deleteAgent(env, host);
    return { moved };
  }

  /**
   * Moves an agent's bindings to other active agents, tenant affinity first (or all to `to`).
   * An operator's drain first disables the agent, so no scheduler can bind anything new to it
   * (binds check the agent in their transaction), then repeats until a pass finds nothing it can
   * move (the by-agent index is eventually consistent). Each move is conditional on the binding
   * still being on the drained agent, so it is safe while requests are in flight: a request already
   * in the drained agent's queue is applied by it (applies converge under the partition lease),
   * later ones go to the new agent. `limit` bounds the work of one call (the rebind policy drains
   * dead agents in slices, and never changes their admin state: that belongs to operators).
   */
  async drain(
    env: string,
    from: string,
    options: { to?: string; limit?: number; disable?: boolean } = {},
  ): Promise<DrainReport> {
    const agents = await this.deps.registry.listAgents(env);
    if (!agents.some((a) => a.host === from))
      throw new OperatorRefusedError(`no agent ${from} in environment ${env}`);
    const now = this.deps.clock();
    if (options.to) {
      const target = agents.find((a) => a.host === options.to);
      if (!target || !isActive(target, this.deps.agentDownTimeMs, now) || options.to === from) {
        throw new OperatorRefusedError(
          `cannot drain to ${options.to}: it must be another active agent of ${env}`,
        );
      }
      const source = agents.find((a) => a.host === from) as AgentRecord;
      if (groupOf(target) !== groupOf(source)) {
        throw new OperatorRefusedError(
          `cannot drain to ${options.to}: it manages device group ${groupOf(target)}, and ${from}'s load balancers live on group ${groupOf(source)}'s devices`,
        );
      }
    }
    if (options.disable ?? true) await this.deps.registry.setAdminState(env, from, false);
    const report: DrainReport = { moved: [], skipped: [] };
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    for (let pass = 0; pass < MAX_DRAIN_PASSES && report.moved.length < limit; pass++) {
      const before = report.moved.length;
      const { unplaced, contended } = await this.drainPass(env, from, options.to, limit, report);
      // Done when a pass moved nothing: nothing is left, or what is left cannot go anywhere now
      // (a tenant whose claim changed meanwhile is planned again).
      if (report.moved.length === before && !contended) {
        report.skipped.push(...unplaced);
        break;
      }
    }
    return report;
  }

  /**
   * One pass over the agent's bindings, page by page; returns what could not be placed, and whether
   * a tenant's claim changed under it (that tenant is planned again by the next pass).
   */
  private async drainPass(
    env: string,
    from: string,
    to: string | undefined,
    limit: number,
    report: DrainReport,
  ): Promise<{ unplaced: DrainReport['skipped']; contended: boolean }> {
    const unplaced: DrainReport['skipped'] = [];
    let contended = false;
    let cursor: string | undefined;
    do {
      const page = await this.deps.bindings.listOnAgent(env, from, {
        limit: 100,
        ...(cursor ? { cursor } : {}),
      });
      cursor = page.cursor;
      const tenants = [...new Set(page.items.map((b) => b.tenantId))];
      const views = new Map(
        await Promise.all(
          tenants.map(async (t) => [t, await this.deps.bindings.getTenantAffinity(env, t)] as const),
        ),
      );
      // A tenant's claim counts like an affinity host, as it does for the scheduler: a first bind
      // in progress, or the agent a drain already chose for the tenant.
      const affinity = new Map(
        [...views].map(([t, view]) => {
          const hosts = view.hosts.map((h) => h.host);
          if (view.claim && !hosts.includes(view.claim.host)) hosts.push(view.claim.host);
          return [t, hosts] as const;
        }),
      );
      const fresh = await this.deps.registry.listAgents(env);
      const plan = planDrain({
        env,
        from,
        bindings: page.items.slice(0, Math.max(0, limit - report.moved.length)),
        agents: fresh,
        affinity,
        agentDownTimeMs: this.deps.agentDownTimeMs,
        nowMs: this.deps.clock(),
        ...(to ? { to } : {}),
      });
      for (const u of plan.unplaced)
        unplaced.push({ loadbalancerId: u.loadbalancerId, reason: 'no active agent to take it' });
      // A tenant placed anew first claims its new agent (conditional on the claim it read), so the
      // scheduler sends the tenant's new load balancers there too instead of splitting it.
      const claimed = new Map<string, boolean>();
      for (const move of plan.moves) {
        if (!claimed.has(move.tenantId))
          claimed.set(move.tenantId, await this.claimFor(env, move, views, fresh));
        if (!claimed.get(move.tenantId)) {
          contended = true;
          continue;
        }
        if (await this.deps.bindings.moveBinding(move.loadbalancerId, from, move.to, this.deps.clock())) {
          await this.deps.registry.adjustLoadbalancerCount(env, from, -1);
          await this.deps.registry.adjustLoadbalancerCount(env, move.to, 1);
          report.moved.push(move);
        } else {
          report.skipped.push({ loadbalancerId: move.loadbalancerId, reason: 'binding changed meanwhile' });
        }
      }
      if (plan.moves.length === 0) break; // nothing can move now; do not spin on the same page
    } while (cursor && report.moved.length < limit);
    return { unplaced, contended };
  }

  /** The tenant's claim names the agent its load balancers move to (true), or another writer changed it (false). */
  private async claimFor(
    env: string,
    move: DrainMove,
    views: ReadonlyMap<string, { claim: { host: string; version: number; group?: string } | undefined }>,
    agents: readonly AgentRecord[],
  ): Promise<boolean> {
    const claim = views.get(move.tenantId)?.claim;
    if (claim?.host === move.to) return true;
    const target = agents.find((a) => a.host === move.to);
    return this.deps.bindings.claimTenant(
      env,
      move.tenantId,
      move.to,
      claim?.version,
      this.deps.clock(),
      target ? groupOf(target) : claim?.group,
    );
  }
}

/** Passes of a drain: the first moves what the index shows, later ones what arrived meanwhile. */
const MAX_DRAIN_PASSES = 5;
