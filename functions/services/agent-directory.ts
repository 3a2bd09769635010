import type { AgentRecord, AgentRegistry } from '../domain/ports.js';

/**
 * The agents of one environment, cached for a few seconds: every decision needs them, they change
 * only with heartbeats and operator commands, and liveness is recomputed against the clock anyway.
 */
export class AgentDirectory {
  private readonly cache = new Map<string, { at: number; agents: AgentRecord[] }>();

  constructor(
    private readonly registry: AgentRegistry,
    private readonly ttlMs: number,
    private readonly clock: () => number,
  ) {}

  /** Drops the cached list (a bind found an agent gone, disabled or dead: read the truth next time). */
  invalidate(env: string): void {
    this.cache.delete(env);
  }

  async list(env: string): Promise<AgentRecord[]> {
    const now = this.clock();
    const hit = this.cache.get(env);
    if (hit && now - hit.at < this.ttlMs && now >= hit.at) return hit.agents;
    const agents = await this.registry.listAgents(env);
    this.cache.set(env, { at: now, agents });
    return agents;
  }
}
