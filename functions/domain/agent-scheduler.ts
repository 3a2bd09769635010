import { type AgentView, isActive } from './liveness.js';
import { rendezvousPick } from './rendezvous.js';

export type SelectionPolicy = 'random' | 'least-loaded';

/** The device group of an agent that names none (configurations from before groups). */
export const DEFAULT_GROUP = 'default';

/** What the scheduler knows about one device group of the environment. */
export interface GroupView {
  name: string;
  /** Highest usage / limit (`capacityScore`); 1 or more is full. */
  score: number;
  /** False: the operator closed it to new tenants (`lbaas group-disable`). */
  adminStateUp: boolean;
  /** Why it is full, for the refusal (e.g. "loadBalancers 200 of 200"). */
  fullBecause?: string;
}

export interface ScheduleInput {
  env: string;
  tenantId: string;
  loadbalancerId: string;
  /** The agent the load balancer is bound to, if any (and the group it was bound in). */
  binding: { host: string; group?: string } | undefined;
  /** Every agent registered in `env`, each with its device group. */
  agents: readonly AgentView[];
  /** Hosts that have (or are claiming) affinity with the tenant, oldest affinity first. */
  affinityHosts: readonly string[];
  agentDownTimeMs: number;
  nowMs: number;
  /** A random source returning a number in [0, 1). */
  random: () => number;
  /** How to pick for a tenant with no active affinity agent; default `random`. */
  selection?: SelectionPolicy;
  /**
   * The environment's device groups. Left out: one group per group name the agents carry, none
   * full (an environment configured before groups behaves exactly as it did).
   */
  groups?: readonly GroupView[];
  /** The tenant's group when its affinity hosts do not show it (a first bind's claim). */
  tenantGroup?: string;
  /**
   * True when binding would put a new load balancer on a group's devices (anything but a delete):
   * a full group refuses it. A delete of an unbound load balancer (one that was refused) is placed
   * anyway, so it can finish.
   */
  placesLoadBalancer?: boolean;
  /**
   * The device groups a new load balancer may be placed in (its Octavia flavor's and availability
   * zone's); left out: any. Placement never leaves them: a tenant living in another group is
   * refused, never moved.
   */
  allowedGroups?: readonly string[];
}

/** Decisions that send the request to an agent (`least-loaded` is a new binding under that policy). */
export const FORWARDED_DECISIONS = ['bound', 'affinity', 'random', 'least-loaded', 'failover'] as const;
export type ForwardedDecisionKind = (typeof FORWARDED_DECISIONS)[number];

export type ScheduleDecision =
  | {
      kind: ForwardedDecisionKind;
      host: string;
      group: string;
      /** A tenant with no group yet, placed now (its group must be enabled when it binds). */
      newTenant?: true;
    }
  | { kind: 'no-active-agent'; reason: string }
  | { kind: 'at-capacity'; reason: string; scope: 'group' | 'environment'; group?: string };

export type DecisionKind = ScheduleDecision['kind'];

/** A decision that sends the request to an agent. */
export type ForwardedScheduleDecision = Extract<ScheduleDecision, { host: string }>;

export function groupOf(agent: Pick<AgentView, 'group'>): string {
  return agent.group ?? DEFAULT_GROUP;
}

/**
 * The tenant's device group as the scheduler sees it: its first registered affinity agent's, else
 * the group its claim names; undefined for a new tenant (who gets a group now).
 */
function knownTenantGroup(
  agents: readonly AgentView[],
  affinityHosts: readonly string[],
  claimGroup: string | undefined,
): string | undefined {
  const agent = affinityHosts.map((h) => agents.find((a) => a.host === h)).find((a) => a !== undefined);
  return agent ? groupOf(agent) : claimGroup;
}

/**
 * Whether a decision needs the tenant's affinity: a bound load balancer whose agent is active (the
 * common case) needs no other read, nor does one when no agent at all is active.
 */
export function needsAffinity(
  input: Pick<ScheduleInput, 'binding' | 'agents' | 'agentDownTimeMs' | 'nowMs'>,
): boolean {
  const { binding, agents, agentDownTimeMs, nowMs } = input;
  if (!agents.some((a) => isActive(a, agentDownTimeMs, nowMs))) return false;
  const bound = binding ? agents.find((a) => a.host === binding.host) : undefined;
  return !(bound && isActive(bound, agentDownTimeMs, nowMs));
}

/**
 * A new load balancer's view of its tenant: the affinity hosts and the group, its first-agent claim
 * included. A claim without an affinity row is a concurrent first bind in progress: follow it.
 * Unless its group cannot take a new load balancer: with no affinity row the tenant has none
 * anywhere, so it is still new, and may claim another group (the claim's version guards it).
 */
export function tenantWithClaim(
  affinity: { hosts: readonly string[]; claim: { host: string; group?: string } | undefined },
  groups: readonly GroupView[] | undefined,
  placesLoadBalancer: boolean,
): { affinityHosts: string[]; tenantGroup?: string } {
  const affinityHosts = [...affinity.hosts];
  const claim = affinity.claim;
  if (!claim) return { affinityHosts };
  const view = groups?.find((g) => g.name === claim.group);
  const stands =
    affinityHosts.length > 0 ||
    !placesLoadBalancer ||
    view === undefined ||
    (view.adminStateUp && view.score < 1);
  if (!stands) return { affinityHosts };
  if (!affinityHosts.includes(claim.host)) affinityHosts.push(claim.host);
  return { affinityHosts, ...(claim.group ? { tenantGroup: claim.group } : {}) };
}

/**
 * The agent scheduler (docs/ARCHITECTURE.md "scheduler rules"), inside the load balancer's
 * device group:
 * 1. bound and active → `bound`;
 * 2. unbound → first active agent with tenant affinity (`affinity`), else a random active agent
 *    (`random`; `least-loaded`, a random one of the least loaded, under that policy), and bind;
 * 3. bound but inactive → first active agent with affinity, else the active agent rendezvous
 *    hashing gives the tenant (`failover`); the binding is kept;
 * 4. no active agent → `no-active-agent`: never hand work to a dead agent.
 * Groups: a bound load balancer and its failover stay in the bound agent's group; a tenant lives
 * in one group (its affinity agents'); a new tenant goes to the enabled group with the lowest
 * score below 1 that has an active agent; a new load balancer of a tenant whose group is full is
 * refused (`at-capacity`), never placed in another group.
 */
export function scheduleRequest(input: ScheduleInput): ScheduleDecision {
  const { env, binding, agents, affinityHosts, agentDownTimeMs, nowMs } = input;
  const byHost = new Map(agents.map((a) => [a.host, a]));
  const active = (host: string) => {
    const agent = byHost.get(host);
    return agent !== undefined && isActive(agent, agentDownTimeMs, nowMs);
  };
  // Sorted so that the choice never depends on the order the store returned the agents in.
  const activeAgents = agents.filter((a) => isActive(a, agentDownTimeMs, nowMs));
  const activeIn = (group: string) =>
    activeAgents
      .filter((a) => groupOf(a) === group)
      .map((a) => a.host)
      .sort();

  const boundAgent = binding ? byHost.get(binding.host) : undefined;
  if (binding && boundAgent && active(binding.host))
    return { kind: 'bound', host: binding.host, group: groupOf(boundAgent) };

  const tenantGroup = knownTenantGroup(agents, affinityHosts, input.tenantGroup);

  if (activeAgents.length === 0) {
    const why =
      agents.length === 0
        ? `no agent is registered in environment ${env}`
        : `none of the ${agents.length} agents of environment ${env} is active`;
    return { kind: 'no-active-agent', reason: `no active agent in environment ${env}: ${why}` };
  }

  if (binding) {
    // A failover never leaves the bound agent's group: another group's agents manage other devices.
    const implied = impliedGroups(agents);
    const group =
      (boundAgent ? groupOf(boundAgent) : undefined) ??
      binding.group ??
      tenantGroup ??
      (implied.length === 1 ? implied[0]?.name : undefined);
    if (group === undefined)
      return {
        kind: 'no-active-agent',
        reason: `load balancer ${input.loadbalancerId} is bound to ${binding.host}, which is not registered in environment ${env}, and its tenant has no group`,
      };
    const hosts = activeIn(group);
    if (hosts.length === 0) return noneActiveIn(env, group);
    const affinity = affinityHosts.find((h) => h !== binding.host && hosts.includes(h));
    if (affinity) return { kind: 'failover', host: affinity, group };
    const host = rendezvousPick(`${env}#${input.tenantId}`, hosts) as string;
    return { kind: 'failover', host, group };
  }

  const groups = input.groups ?? impliedGroups(agents);
  const viewOf = (name: string): GroupView =>
    groups.find((g) => g.name === name) ?? { name, score: 0, adminStateUp: true };

  const allowed = input.allowedGroups;
  if (tenantGroup !== undefined) {
    if (allowed && !allowed.includes(tenantGroup))
      return {
        kind: 'at-capacity',
        scope: 'group',
        group: tenantGroup,
        reason: `load balancer ${input.loadbalancerId} may only be placed in device group(s) ${allowed.join(', ')} (its flavor or availability zone), but its project's load balancers are in device group ${tenantGroup} of environment ${env} (a project's load balancers share one group)`,
      };
    const view = viewOf(tenantGroup);
    if (input.placesLoadBalancer && view.score >= 1) return groupFull(env, view);
    const hosts = activeIn(tenantGroup);
    if (hosts.length === 0) return noneActiveIn(env, tenantGroup);
    const affinity = affinityHosts.find((h) => hosts.includes(h));
    if (affinity) return { kind: 'affinity', host: affinity, group: tenantGroup };
    return pickNew(input, hosts, tenantGroup, false);
  }

  // A new tenant: the enabled group with room and the lowest score (ties at random), among those allowed.
  const open = groups.filter(
    (g) =>
      g.adminStateUp && (!input.placesLoadBalancer || g.score < 1) && (!allowed || allowed.includes(g.name)),
  );
  // A delete of a load balancer never placed still needs an agent.
  const eligible = open.length > 0 || input.placesLoadBalancer ? open : groups;
  if (eligible.length === 0 && allowed)
    return {
      kind: 'at-capacity',
      scope: 'environment',
      reason: `environment ${env} has no device group that takes load balancer ${input.loadbalancerId} among those its flavor or availability zone allows (${allowed.join(', ')}): each is full, disabled or not configured`,
    };
  if (eligible.length === 0) {
    const closed = groups.filter((g) => !g.adminStateUp).length;
    return {
      kind: 'at-capacity',
      scope: 'environment',
      reason: `environment ${env} is at capacity: ${groups.length - closed} device group(s) full, ${closed} disabled; no group takes a new tenant`,
    };
  }
  const serving = eligible.filter((g) => activeIn(g.name).length > 0);
  if (serving.length === 0) {
    return {
      kind: 'no-active-agent',
      reason: `no active agent in environment ${env}: no agent of device group(s) ${eligible.map((g) => g.name).join(', ')} is active`,
    };
  }
  const lowest = Math.min(...serving.map((g) => g.score));
  const tied = serving
    .filter((g) => g.score === lowest)
    .map((g) => g.name)
    .sort();
  const group =
    tied.length === 1 ? (tied[0] as string) : (tied[indexFor(input.random(), tied.length)] as string);
  return pickNew(input, activeIn(group), group, true);
}

function groupFull(env: string, view: GroupView): ScheduleDecision {
  return {
    kind: 'at-capacity',
    scope: 'group',
    group: view.name,
    reason: `device group ${view.name} of environment ${env} is at capacity${view.fullBecause ? ` (${view.fullBecause})` : ''}`,
  };
}

function noneActiveIn(env: string, group: string): ScheduleDecision {
  return {
    kind: 'no-active-agent',
    reason: `no active agent in environment ${env}: none of device group ${group}'s agents is active (the tenant's load balancers stay on its devices)`,
  };
}

function impliedGroups(agents: readonly AgentView[]): GroupView[] {
  return [...new Set(agents.map(groupOf))].sort().map((name) => ({ name, score: 0, adminStateUp: true }));
}

function indexFor(r: number, length: number): number {
  return Math.min(length - 1, Math.max(0, Math.floor(r * length)));
}

function pickNew(
  input: ScheduleInput,
  activeHosts: readonly string[],
  group: string,
  newTenant: boolean,
): ScheduleDecision {
  let candidates = activeHosts;
  if (input.selection === 'least-loaded') {
    const load = new Map(input.agents.map((a) => [a.host, a.loadbalancerCount ?? 0]));
    const least = Math.min(...activeHosts.map((h) => load.get(h) ?? 0));
    candidates = activeHosts.filter((h) => (load.get(h) ?? 0) === least);
  }
  const kind = input.selection === 'least-loaded' ? 'least-loaded' : 'random';
  const host = candidates[indexFor(input.random(), candidates.length)] as string;
  return { kind, host, group, ...(newTenant ? { newTenant: true as const } : {}) };
}
