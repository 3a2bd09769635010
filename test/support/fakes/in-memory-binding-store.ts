import type { Binding, BindingPage, BindingStore, TenantAffinity } from '../../../functions/domain/ports.js';
import type { InMemoryAgentRegistry } from './in-memory-agent-registry.js';
import type { InMemoryGroupStore } from './in-memory-group-store.js';

/** Bindings and tenant affinity in memory; `onBind` lets a test interleave a racing writer. */
export class InMemoryBindingStore implements BindingStore {
  readonly bindings = new Map<string, Binding>();
  /** env#tenant → host → { since, loadbalancers } */
  readonly affinity = new Map<string, Map<string, { since: number; loadbalancers: number }>>();
  readonly claims = new Map<string, { host: string; version: number; group?: string }>();
  onBind: ((binding: Binding) => void) | undefined;

  /**
   * With a registry, binds check the agent as the DynamoDB transaction does; with a group store,
   * they count the binding in its group (and respect a load balancer limit) as it does too.
   */
  constructor(
    private readonly registry?: InMemoryAgentRegistry,
    private readonly groups?: InMemoryGroupStore,
  ) {}

  private tenant(env: string, tenantId: string) {
    const key = `${env}#${tenantId}`;
    let hosts = this.affinity.get(key);
    if (!hosts) {
      hosts = new Map();
      this.affinity.set(key, hosts);
    }
    return hosts;
  }

  private count(env: string, tenantId: string, host: string, delta: number, nowMs: number) {
    const hosts = this.tenant(env, tenantId);
    const row = hosts.get(host) ?? { since: nowMs, loadbalancers: 0 };
    row.loadbalancers += delta;
    if (row.loadbalancers <= 0) {
      hosts.delete(host);
      const claim = this.claims.get(`${env}#${tenantId}`);
      if (claim?.host === host) this.claims.delete(`${env}#${tenantId}`);
    } else hosts.set(host, row);
  }

  async getBinding(loadbalancerId: string): Promise<Binding | undefined> {
    const b = this.bindings.get(loadbalancerId);
    return b ? { ...b } : undefined;
  }

  async getTenantAffinity(env: string, tenantId: string): Promise<TenantAffinity> {
    const hosts = [...this.tenant(env, tenantId).entries()]
      .map(([host, r]) => ({ host, since: r.since, loadbalancers: r.loadbalancers }))
      .sort((a, b) => a.since - b.since || a.host.localeCompare(b.host));
    return { hosts, claim: this.claims.get(`${env}#${tenantId}`) };
  }

  async claimTenant(
    env: string,
    tenantId: string,
    host: string,
    expectedVersion: number | undefined,
    _nowMs?: number,
    group?: string,
  ): Promise<boolean> {
    const key = `${env}#${tenantId}`;
    const current = this.claims.get(key);
    if (current?.version !== expectedVersion) return false;
    this.claims.set(key, { host, version: (expectedVersion ?? 0) + 1, ...(group ? { group } : {}) });
    return true;
  }

  async bind(
    binding: Binding,
    options: { agentLiveAfter?: number; maxLoadBalancers?: number; groupEnabled?: boolean } = {},
  ): Promise<
    | { created: true }
    | { created: false; existing: Binding }
    | { created: false; agentUnavailable: true }
    | { created: false; groupRefused: true }
    | { created: false; claimChanged: true }
  > {
    this.onBind?.(binding);
    if (this.registry && options.agentLiveAfter !== undefined) {
      const agent = this.registry.rows.get(`${binding.env}#${binding.host}`);
      if (!agent?.adminStateUp || (agent.heartbeatAt ?? Number.NEGATIVE_INFINITY) <= options.agentLiveAfter)
        return { created: false, agentUnavailable: true };
    }
    const existing = this.bindings.get(binding.loadbalancerId);
    if (existing) return { created: false, existing: { ...existing } };
    const claim = this.claims.get(`${binding.env}#${binding.tenantId}`);
    if (binding.group !== undefined && claim?.group !== undefined && claim.group !== binding.group)
      return { created: false, claimChanged: true };
    if (this.groups && binding.group !== undefined) {
      const row = this.groups.row(binding.env, binding.group);
      if (options.maxLoadBalancers !== undefined && row.loadBalancers >= options.maxLoadBalancers)
        return { created: false, groupRefused: true };
      if (options.groupEnabled && !row.adminStateUp) return { created: false, groupRefused: true };
      row.loadBalancers += 1;
    }
    this.bindings.set(binding.loadbalancerId, { ...binding });
    this.count(binding.env, binding.tenantId, binding.host, 1, binding.boundAt);
    return { created: true };
  }

  async release(loadbalancerId: string, expectedHost?: string): Promise<Binding | undefined> {
    const b = this.bindings.get(loadbalancerId);
    if (!b || (expectedHost !== undefined && b.host !== expectedHost)) return undefined;
    this.bindings.delete(loadbalancerId);
    if (this.groups && b.group !== undefined) this.groups.row(b.env, b.group).loadBalancers -= 1;
    this.count(b.env, b.tenantId, b.host, -1, b.boundAt);
    return b;
  }

  async moveBinding(loadbalancerId: string, from: string, to: string, nowMs: number): Promise<boolean> {
    const b = this.bindings.get(loadbalancerId);
    if (!b || b.host !== from) return false;
    this.count(b.env, b.tenantId, from, -1, nowMs);
    this.count(b.env, b.tenantId, to, 1, nowMs);
    this.bindings.set(loadbalancerId, { ...b, host: to, boundAt: nowMs });
    return true;
  }

  async listOnAgent(
    env: string,
    host: string,
    page: { limit?: number; cursor?: string } = {},
  ): Promise<BindingPage> {
    const all = [...this.bindings.values()]
      .filter((b) => b.env === env && b.host === host)
      .sort((a, b) => a.loadbalancerId.localeCompare(b.loadbalancerId));
    const start = page.cursor ? Number(page.cursor) : 0;
    const limit = page.limit ?? 100;
    const items = all.slice(start, start + limit);
    return { items, cursor: start + limit < all.length ? String(start + limit) : undefined };
  }

  async countOnAgent(env: string, host: string): Promise<number> {
    return [...this.bindings.values()].filter((b) => b.env === env && b.host === host).length;
  }
}
