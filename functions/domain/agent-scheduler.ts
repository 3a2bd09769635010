import { type AgentView, isActive } from './liveness.js';
import { rendezvousPick } from './rendezvous.js';

export type SelectionPolicy = 'random' | 'least-loaded';

export interface ScheduleInput {
  env: string;
  tenantId: string;
  loadbalancerId: string;
  /** The agent the load balancer is bound to, if any. */
  binding: { host: string } | undefined;
  /** Every agent registered in `env`. */
  agents: readonly AgentView[];
  /** Hosts that have (or are claiming) affinity with the tenant, oldest affinity first. */
  affinityHosts: readonly string[];
  agentDownTimeMs: number;
  nowMs: number;
  /** A random source returning a number in [0, 1). */
  random: () => number;
  /** How to pick for a tenant with no active affinity agent; default `random`. */
  selection?: SelectionPolicy;
}

/** Decisions that send the request to an agent (`least-loaded` is a new binding under that policy). */
export const FORWARDED_DECISIONS = ['bound', 'affinity', 'random', 'least-loaded', 'failover'] as const;
export type ForwardedDecisionKind = (typeof FORWARDED_DECISIONS)[number];

export type ScheduleDecision =
  | { kind: ForwardedDecisionKind; host: string; bind: boolean }
  | { kind: 'no-active-agent'; reason: string };

export type DecisionKind = ScheduleDecision['kind'];

/**
 * The agent scheduler (DESIGN.md "scheduler rules"):
 * 1. bound and active → `bound`;
 * 2. unbound → first active agent with tenant affinity (`affinity`), else a random active agent
 *    (`random`; `least-loaded`, a random one of the least loaded, under that policy), and bind;
 * 3. bound but inactive → first active agent with affinity, else the active agent rendezvous
 *    hashing gives the tenant (`failover`); the binding is kept;
 * 4. no active agent → `no-active-agent`: never hand work to a dead agent.
 */
export function scheduleRequest(input: ScheduleInput): ScheduleDecision {
  const { env, binding, agents, affinityHosts, agentDownTimeMs, nowMs } = input;
  const byHost = new Map(agents.map((a) => [a.host, a]));
  const active = (host: string) => {
    const agent = byHost.get(host);
    return agent !== undefined && isActive(agent, agentDownTimeMs, nowMs);
  };
  // Sorted so that the choice never depends on the order the store returned the agents in.
  const activeHosts = agents
    .filter((a) => isActive(a, agentDownTimeMs, nowMs))
    .map((a) => a.host)
    .sort();

  if (binding && active(binding.host)) return { kind: 'bound', host: binding.host, bind: false };

  const affinity = affinityHosts.find((host) => host !== binding?.host && active(host));

  if (activeHosts.length === 0) {
    const why =
      agents.length === 0
        ? `no agent is registered in environment ${env}`
        : `none of the ${agents.length} agents of environment ${env} is active`;
    return { kind: 'no-active-agent', reason: `no active agent in environment ${env}: ${why}` };
  }

  if (binding) {
    if (affinity) return { kind: 'failover', host: affinity, bind: false };
    const host = rendezvousPick(`${env}#${input.tenantId}`, activeHosts) as string;
    return { kind: 'failover', host, bind: false };
  }

  if (affinity) return { kind: 'affinity', host: affinity, bind: true };
  const kind = input.selection === 'least-loaded' ? 'least-loaded' : 'random';
  return { kind, host: pickNew(input, activeHosts), bind: true };
}

function pickNew(input: ScheduleInput, activeHosts: readonly string[]): string {
  let candidates = activeHosts;
  if (input.selection === 'least-loaded') {
    const load = new Map(input.agents.map((a) => [a.host, a.loadbalancerCount ?? 0]));
    const least = Math.min(...activeHosts.map((h) => load.get(h) ?? 0));
    candidates = activeHosts.filter((h) => (load.get(h) ?? 0) === least);
  }
  const index = Math.min(candidates.length - 1, Math.max(0, Math.floor(input.random() * candidates.length)));
  return candidates[index] as string;
}
