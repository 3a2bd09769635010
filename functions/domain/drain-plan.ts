import { groupOf, scheduleRequest } from './agent-scheduler.js';
import type { AgentView } from './liveness.js';

export interface DrainCandidate {
  loadbalancerId: string;
  tenantId: string;
}

export interface DrainInput {
  env: string;
  /** The agent being drained. */
  from: string;
  bindings: readonly DrainCandidate[];
  agents: readonly AgentView[];
  /** Affinity hosts per tenant, oldest first (the drained agent may be among them). */
  affinity: ReadonlyMap<string, readonly string[]>;
  agentDownTimeMs: number;
  nowMs: number;
  /** Move everything to this agent instead of choosing. */
  to?: string;
}

export type DrainMove = {
  loadbalancerId: string;
  tenantId: string;
  to: string;
  reason: 'affinity' | 'least-loaded' | 'requested';
};

/**
 * Where each load balancer of a drained agent goes: an active agent that already has affinity
 * with its tenant, else the least-loaded active agent (loads counted as the plan fills them), so
 * a drain spreads load and keeps tenants together. Never the drained agent, never an inactive one.
 */
export function planDrain(input: DrainInput): { moves: DrainMove[]; unplaced: DrainCandidate[] } {
  // Only agents of the drained agent's device group manage its load balancers' devices.
  const drained = input.agents.find((a) => a.host === input.from);
  const group = drained ? groupOf(drained) : undefined;
  const others = input.agents.filter(
    (a) => a.host !== input.from && (group === undefined || groupOf(a) === group),
  );
  const load = new Map(others.map((a) => [a.host, a.loadbalancerCount ?? 0]));
  const moves: DrainMove[] = [];
  const unplaced: DrainCandidate[] = [];
  // Tenants placed by this plan keep together even before their affinity rows exist.
  const placed = new Map<string, string>();
  for (const b of input.bindings) {
    if (input.to) {
      moves.push({ ...b, to: input.to, reason: 'requested' });
      continue;
    }
    const affinityHosts = [
      ...(placed.has(b.tenantId) ? [placed.get(b.tenantId) as string] : []),
      ...(input.affinity.get(b.tenantId) ?? []),
    ];
    const decision = scheduleRequest({
      env: input.env,
      tenantId: b.tenantId,
      loadbalancerId: b.loadbalancerId,
      binding: undefined,
      agents: others.map((a) => ({ ...a, loadbalancerCount: load.get(a.host) ?? 0 })),
      affinityHosts: affinityHosts.filter((h) => h !== input.from),
      agentDownTimeMs: input.agentDownTimeMs,
      nowMs: input.nowMs,
      random: () => 0,
      selection: 'least-loaded',
    });
    if (!('host' in decision)) {
      unplaced.push(b);
      continue;
    }
    load.set(decision.host, (load.get(decision.host) ?? 0) + 1);
    placed.set(b.tenantId, decision.host);
    moves.push({
      ...b,
      to: decision.host,
      reason: decision.kind === 'affinity' ? 'affinity' : 'least-loaded',
    });
  }
  return { moves, unplaced };
}
