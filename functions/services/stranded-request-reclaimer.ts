import { scheduleRequest } from '../domain/agent-scheduler.js';
import { parseForwarded } from '../domain/lbaas-request.js';
import { isAlive } from '../domain/liveness.js';
import type { AgentQueue, AgentRecord, AgentRegistry, BindingStore, QueueInbox } from '../domain/ports.js';

export interface ReclaimerDeps {
  env: string;
  registry: AgentRegistry;
  bindings: BindingStore;
  inbox: QueueInbox;
  queue: AgentQueue;
  agentDownTimeMs: number;
  clock: () => number;
  /**
   * Every agent queue of the environment by host, registered or not: an agent deleted (even with
   * --force) may leave requests in its queue, and they must be moved too.
   */
  agentQueues?: Record<string, string>;
  /** Messages moved per dead agent per sweep (bounds one invocation's work). */
  maxPerAgent?: number;
}

export interface SweepReport {
  moved: number;
  byAgent: Record<string, number>;
}

/** How long a message taken off a dead agent's queue stays hidden while it is moved. */
const MOVE_VISIBILITY_SECONDS = 30;

/**
 * Requests forwarded to an agent just before it died sit in its queue until it returns. A sweep
 * moves them, oldest first and group by group (so per-load-balancer order holds), to the agent
 * the scheduler's failover rule picks, with the same de-duplication id. Upstream, the new owner
 * of a dead agent's load balancers got no message at all.
 */
export class StrandedRequestReclaimer {
  constructor(private readonly deps: ReclaimerDeps) {}

  async sweep(): Promise<SweepReport> {
    const { env, registry, agentDownTimeMs, clock } = this.deps;
    const agents = (await registry.listAgents(env)).filter((a) => a.queueUrl !== undefined);
    const report: SweepReport = { moved: 0, byAgent: {} };
    const stranded = agents
      .filter((a) => !isAlive(a, agentDownTimeMs, clock()))
      .map((a) => ({ host: a.host, queueUrl: a.queueUrl as string }));
    // Queues of agents that are no longer registered (deleted) count as dead agents' queues.
    for (const [host, queueUrl] of Object.entries(this.deps.agentQueues ?? {})) {
      if (!agents.some((a) => a.host === host)) stranded.push({ host, queueUrl });
    }
    for (const dead of stranded) {
      const moved = await this.drainQueue(dead.host, dead.queueUrl, agents);
      if (moved > 0) report.byAgent[dead.host] = moved;
      report.moved += moved;
    }
    return report;
  }

  private async drainQueue(deadHost: string, queueUrl: string, agents: readonly AgentRecord[]) {
    const { inbox, queue, env, bindings, clock, agentDownTimeMs } = this.deps;
    const limit = this.deps.maxPerAgent ?? 200;
    let moved = 0;
    while (moved < limit) {
      const messages = await inbox.receive(queueUrl, { max: 10, visibilitySeconds: MOVE_VISIBILITY_SECONDS });
      if (messages.length === 0) break;
      for (const [i, m] of messages.entries()) {
        const parsed = parseForwarded(m.body);
        if (!parsed.ok) continue; // left for the owner (and, failing, its dead-letter queue)
        const forwarded = parsed.message;
        const { request } = forwarded;
        const [binding, affinity] = await Promise.all([
          bindings.getBinding(request.loadbalancerId),
          bindings.getTenantAffinity(env, request.tenantId),
        ]);
        const decision = scheduleRequest({
          env,
          tenantId: request.tenantId,
          loadbalancerId: request.loadbalancerId,
          binding: { host: binding?.host ?? deadHost },
          agents,
          affinityHosts: affinity.hosts.map((h) => h.host),
          agentDownTimeMs,
          nowMs: clock(),
          random: () => 0,
        });
        const target = 'host' in decision ? agents.find((a) => a.host === decision.host) : undefined;
        if (!target?.queueUrl || target.host === deadHost) {
          // Nobody can take it now (or its agent came back): release the rest of the batch too.
          for (const rest of messages.slice(i)) await inbox.release(queueUrl, rest.receiptHandle);
          return moved;
        }
        // The message as the scheduler wrote it, re-addressed: only the scheduling part changes.
        await queue.forward(target.queueUrl, {
          ...forwarded,
          scheduling: { ...forwarded.scheduling, kind: 'failover', host: target.host, scheduledAt: clock() },
        });
        await inbox.remove(queueUrl, m.receiptHandle);
        moved += 1;
      }
    }
    return moved;
  }
}
