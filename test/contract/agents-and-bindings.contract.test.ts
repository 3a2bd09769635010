import { describe, expect, it } from 'vitest';
import { DynamoDbAgentRegistry } from '../../functions/adapters/dynamodb-agent-registry.js';
import { DynamoDbBindingStore } from '../../functions/adapters/dynamodb-binding-store.js';
import { DynamoDbGroupStore } from '../../functions/adapters/dynamodb-group-store.js';
import { HostNameConflictError } from '../../functions/domain/errors.js';
import type {
  AgentRegistry,
  BindingStore,
  GroupStore,
  HeartbeatReport,
} from '../../functions/domain/ports.js';
import { lbIds } from '../support/factories.js';
import { InMemoryAgentRegistry } from '../support/fakes/in-memory-agent-registry.js';
import { InMemoryBindingStore } from '../support/fakes/in-memory-binding-store.js';
import { InMemoryGroupStore } from '../support/fakes/in-memory-group-store.js';
import { freshTables, localClients } from '../support/local-aws.js';

// The same cases against the in-memory agents, bindings and groups tables the unit tests use and
// the DynamoDB adapters they stand in for.

const ENV = 'Contract';

interface Stores {
  registry: AgentRegistry;
  bindings: BindingStore;
  groups: GroupStore;
}

const implementations: [string, () => Promise<Stores>][] = [
  [
    'in-memory',
    async () => {
      const registry = new InMemoryAgentRegistry();
      const groups = new InMemoryGroupStore();
      return { registry, groups, bindings: new InMemoryBindingStore(registry, groups) };
    },
  ],
  [
    'DynamoDB',
    async () => {
      const { db, dynamodb } = localClients();
      const tables = await freshTables(dynamodb);
      return {
        registry: new DynamoDbAgentRegistry(db, tables.agents),
        groups: new DynamoDbGroupStore(db, tables.groups),
        bindings: new DynamoDbBindingStore(db, tables),
      };
    },
  ],
];

const beat = (host: string, nowMs: number, overrides: Partial<HeartbeatReport> = {}): HeartbeatReport => ({
  env: ENV,
  host,
  agentId: `id-${host}`,
  queueUrl: `queue://${host}`,
  nowMs,
  started: true,
  alive: true,
  devices: {},
  configuration: {},
  group: 'g1',
  ...overrides,
});

describe.each(implementations)('AgentRegistry contract: %s', (_name, make) => {
  it('registers on the first beat, refreshes on the next, and refuses another identity for the host name', async () => {
    const { registry } = await make();
    expect(await registry.heartbeat(beat('a1', 1_000))).toEqual({ registered: true });
    expect(await registry.heartbeat(beat('a1', 2_000, { started: false }))).toEqual({ registered: false });
    expect(await registry.getAgent(ENV, 'a1')).toMatchObject({
      agentId: 'id-a1',
      adminStateUp: true,
      heartbeatAt: 2_000,
      startedAt: 1_000,
      queueUrl: 'queue://a1',
      group: 'g1',
    });
    await expect(registry.heartbeat(beat('a1', 3_000, { agentId: 'impostor' }))).rejects.toBeInstanceOf(
      HostNameConflictError,
    );
  });

  it('records device states without liveness when no device was reached, and never touches admin_state_up', async () => {
    const { registry } = await make();
    await registry.heartbeat(beat('a1', 1_000));
    expect(await registry.setAdminState(ENV, 'a1', false)).toBe(true);
    await registry.heartbeat(
      beat('a1', 5_000, {
        alive: false,
        started: false,
        devices: { b1: { reachable: false, checkedAt: 5_000 } },
      }),
    );
    expect(await registry.getAgent(ENV, 'a1')).toMatchObject({
      heartbeatAt: 1_000,
      adminStateUp: false,
      devices: { b1: { reachable: false } },
    });
    expect(await registry.setAdminState(ENV, 'nobody', false)).toBe(false);
  });

  it('lists an environment’s agents, counts their load balancers, and deletes them', async () => {
    const { registry } = await make();
    await registry.heartbeat(beat('a1', 1_000));
    await registry.heartbeat(beat('a2', 1_000));
    await registry.heartbeat(beat('x1', 1_000, { env: 'Other' }));
    await registry.adjustLoadbalancerCount(ENV, 'a1', 2);
    await registry.adjustLoadbalancerCount(ENV, 'a1', -1);
    expect((await registry.listAgents(ENV)).map((a) => [a.host, a.loadbalancerCount ?? 0]).sort()).toEqual([
      ['a1', 1],
      ['a2', 0],
    ]);
    expect(await registry.deleteAgent(ENV, 'a2')).toBe(true);
    expect(await registry.getAgent(ENV, 'a2')).toBeUndefined();
  });
});

describe.each(implementations)('BindingStore contract: %s', (_name, make) => {
  it('binds once (a second bind returns the first), counts affinity and the group, and releases both', async () => {
    const { registry, bindings, groups } = await make();
    await registry.heartbeat(beat('a1', 1_000));
    const ids = lbIds();
    const binding = {
      loadbalancerId: ids.loadbalancerId,
      env: ENV,
      host: 'a1',
      tenantId: ids.tenantId,
      boundAt: 1_000,
      group: 'g1',
    };
    expect(await bindings.bind(binding, { agentLiveAfter: 0 })).toEqual({ created: true });
    expect(await bindings.bind({ ...binding, host: 'a2' })).toEqual({ created: false, existing: binding });
    expect((await bindings.getTenantAffinity(ENV, ids.tenantId)).hosts).toEqual([
      { host: 'a1', since: 1_000, loadbalancers: 1 },
    ]);
    expect(await groups.listGroups(ENV)).toEqual([expect.objectContaining({ name: 'g1', loadBalancers: 1 })]);
    expect(await bindings.release(ids.loadbalancerId, 'a2')).toBeUndefined();
    expect(await bindings.release(ids.loadbalancerId, 'a1')).toEqual(binding);
    expect(await bindings.getBinding(ids.loadbalancerId)).toBeUndefined();
    expect((await bindings.getTenantAffinity(ENV, ids.tenantId)).hosts).toEqual([]);
    expect(await groups.listGroups(ENV)).toEqual([expect.objectContaining({ name: 'g1', loadBalancers: 0 })]);
  });

  it('binds only to an agent that is enabled and beat after the given time', async () => {
    const { registry, bindings } = await make();
    await registry.heartbeat(beat('a1', 1_000));
    const ids = lbIds();
    const binding = {
      loadbalancerId: ids.loadbalancerId,
      env: ENV,
      host: 'a1',
      tenantId: ids.tenantId,
      boundAt: 5_000,
    };
    expect(await bindings.bind(binding, { agentLiveAfter: 2_000 })).toEqual({
      created: false,
      agentUnavailable: true,
    });
    await registry.heartbeat(beat('a1', 3_000));
    await registry.setAdminState(ENV, 'a1', false);
    expect(await bindings.bind(binding, { agentLiveAfter: 2_000 })).toEqual({
      created: false,
      agentUnavailable: true,
    });
    expect(await bindings.bind({ ...binding, host: 'ghost' }, { agentLiveAfter: 0 })).toEqual({
      created: false,
      agentUnavailable: true,
    });
  });

  it('holds a group to its limit and, for a new tenant, to being enabled', async () => {
    const { registry, bindings, groups } = await make();
    await registry.heartbeat(beat('a1', 1_000));
    const bind = (options: { maxLoadBalancers?: number; groupEnabled?: boolean }) => {
      const ids = lbIds();
      return bindings.bind(
        {
          loadbalancerId: ids.loadbalancerId,
          env: ENV,
          host: 'a1',
          tenantId: ids.tenantId,
          boundAt: 1_000,
          group: 'g1',
        },
        options,
      );
    };
    expect(await bind({ maxLoadBalancers: 1 })).toEqual({ created: true });
    expect(await bind({ maxLoadBalancers: 1 })).toEqual({ created: false, groupRefused: true });
    await groups.setAdminState(ENV, 'g1', false);
    expect(await bind({ groupEnabled: true })).toEqual({ created: false, groupRefused: true });
    expect(await bind({})).toEqual({ created: true });
  });

  it('claims a tenant’s first agent once per version, and keeps a tenant inside its claimed group', async () => {
    const { registry, bindings } = await make();
    await registry.heartbeat(beat('a1', 1_000));
    const ids = lbIds();
    expect(await bindings.claimTenant(ENV, ids.tenantId, 'a1', undefined, 1_000, 'g1')).toBe(true);
    expect(await bindings.claimTenant(ENV, ids.tenantId, 'a2', undefined, 1_000, 'g2')).toBe(false);
    const { claim } = await bindings.getTenantAffinity(ENV, ids.tenantId);
    expect(claim).toMatchObject({ host: 'a1', group: 'g1' });
    expect(
      await bindings.bind({
        loadbalancerId: ids.loadbalancerId,
        env: ENV,
        host: 'b1',
        tenantId: ids.tenantId,
        boundAt: 1_000,
        group: 'g2',
      }),
    ).toEqual({ created: false, claimChanged: true });
  });

  it('moves a binding with its affinity only from the agent it is on, and pages an agent’s load balancers', async () => {
    const { bindings } = await make();
    const tenant = lbIds().tenantId;
    const lbs = Array.from({ length: 5 }, () => lbIds({ tenantId: tenant }).loadbalancerId).sort();
    for (const id of lbs)
      await bindings.bind({ loadbalancerId: id, env: ENV, host: 'a1', tenantId: tenant, boundAt: 1_000 });
    expect(await bindings.moveBinding(lbs[0] as string, 'a2', 'a3', 2_000)).toBe(false);
    expect(await bindings.moveBinding(lbs[0] as string, 'a1', 'a2', 2_000)).toBe(true);
    expect(
      (await bindings.getTenantAffinity(ENV, tenant)).hosts.map((h) => [h.host, h.loadbalancers]).sort(),
    ).toEqual([
      ['a1', 4],
      ['a2', 1],
    ]);
    expect(await bindings.countOnAgent(ENV, 'a1')).toBe(4);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await bindings.listOnAgent(ENV, 'a1', { limit: 3, ...(cursor ? { cursor } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((b) => b.loadbalancerId));
      cursor = page.cursor;
    } while (cursor);
    expect(seen.sort()).toEqual(lbs.slice(1));
  });
});

describe.each(implementations)('GroupStore contract: %s', (_name, make) => {
  it('keeps what the status poller measured and the operator’s switch, never the load balancer count', async () => {
    const { groups } = await make();
    await groups.recordUsage(
      ENV,
      'g1',
      { listeners: 3, members: 9, connections: 12, throughputMbps: 1.5 },
      7_000,
    );
    await groups.setAdminState(ENV, 'g1', false);
    expect(await groups.listGroups(ENV)).toEqual([
      expect.objectContaining({
        env: ENV,
        name: 'g1',
        adminStateUp: false,
        loadBalancers: 0,
        listeners: 3,
        members: 9,
        connections: 12,
        throughputMbps: 1.5,
        measuredAt: 7_000,
      }),
    ]);
    expect(await groups.listGroups('Other')).toEqual([]);
  });
});
