/** What the scheduler needs to know about one agent of an environment. */
export interface AgentView {
  host: string;
  adminStateUp: boolean;
  /** Last heartbeat, epoch milliseconds; undefined if the agent never reported. */
  heartbeatAt: number | undefined;
  /** Load balancers bound to it (best effort), used by the least-loaded policy. */
  loadbalancerCount?: number;
  /** Its device group (the devices it manages); `default` when the configuration names none. */
  group?: string;
}

/**
 * Alive = the last heartbeat is younger than `agentDownTimeMs` (a heartbeat exactly
 * `agentDownTimeMs` old is already dead). A heartbeat from the future (clock skew) counts as fresh.
 */
export function isAlive(
  agent: Pick<AgentView, 'heartbeatAt'>,
  agentDownTimeMs: number,
  nowMs: number,
): boolean {
  if (agent.heartbeatAt === undefined) return false;
  return nowMs - agent.heartbeatAt < agentDownTimeMs;
}

/** Active = the operator's admin_state_up is true and the agent is alive. Only active agents get work. */
export function isActive(agent: AgentView, agentDownTimeMs: number, nowMs: number): boolean {
  return agent.adminStateUp && isAlive(agent, agentDownTimeMs, nowMs);
}

/** Heartbeat age in milliseconds, or undefined if the agent never reported. */
export function heartbeatAgeMs(agent: Pick<AgentView, 'heartbeatAt'>, nowMs: number): number | undefined {
  return agent.heartbeatAt === undefined ? undefined : Math.max(0, nowMs - agent.heartbeatAt);
}
