import { describe, expect, it } from 'vitest';
import { OperatorRefusedError } from '../../../functions/domain/errors.js';
import { AgentDirectory } from '../../../functions/services/agent-directory.js';
import { AgentOperations } from '../../../functions/services/agent-operations.js';
import { RequestScheduler } from '../../../functions/services/request-scheduler.js';
import { lbIds, requests } from '../../support/factories.js';
import { InMemoryAgentRegistry } from '../../support/fakes/in-memory-agent-registry.js';
import { InMemoryBindingStore } from '../../support/fakes/in-memory-binding-store.js';
import { InMemoryResourceStore } from '../../support/fakes/in-memory-resource-store.js';
import { InMemoryQueues } from '../../support/fakes/recording-queues.js';
import { manualClock, parsed } from '../../support/service-fixtures.js';

const ENV = 'Unit';
const DOWN = 75_000;

function fixture() {
  const clock = manualClock();
  const registry = new InMemoryAgentRegistry();
  for (const host of ['a1', 'a2', 'a3']) registry.put({ env: ENV, host, heartbeatAt: clock.now() });
  const bindings = new InMemoryBindingStore();
  const queues = new InMemoryQueues();
  const ops = new AgentOperations({
    registry,
    bindings,
    inbox: queues,
    agentDownTimeMs: DOWN,
    clock: clock.now,
  });
  const bind = async (lb: string, host: string, tenantId: string) => {
    await bindings.bind({ loadbalancerId: lb, env: ENV, host, tenantId, boundAt: clock.now() });
    await registry.adjustLoadbalancerCount(ENV, host, 1);
  };
  return { clock, registry, bindings, queues, ops, bind };
}

describe('AgentOperations over in-memory ports', () => {
  it('lists agents with liveness and heartbeat age, sorted by host', async () => {
    const f = fixture();
    f.clock.advance(80_000);
    f.registry.put({ env: ENV, host: 'a0', heartbeatAt: f.clock.now(), adminStateUp: false });
    const agents = await f.ops.agents(ENV);
    expect(agents.map((a) => [a.host, a.alive, a.active, a.heartbeatAgeSeconds])).toEqual([
      ['a0', true, false, 0],
      ['a1', false, false, 80],
      ['a2', false, false, 80],
      ['a3', false, false, 80],
    ]);
  });

  it('refuses to delete an agent that still hosts load balancers, naming them; --force moves them to a live agent first (#27.2)', async () => {
    const f = fixture();
    await f.bind('lb-1', 'a1', 't1');
    const refused = await f.ops.deleteAgent(ENV, 'a1').catch((e) => e);
    expect(refused).toBeInstanceOf(OperatorRefusedError);
    expect(refused.message).toContain('agent a1 still hosts 1 load balancer(s): lb-1');
    expect(await f.registry.getAgent(ENV, 'a1')).toBeDefined();
    expect(await f.ops.deleteAgent(ENV, 'a1', { force: true })).toEqual({ moved: 1 });
    expect(await f.registry.getAgent(ENV, 'a1')).toBeUndefined();
    // Bound to a live agent: served, never left to look orphaned.
    expect(['a2', 'a3']).toContain((await f.bindings.getBinding('lb-1'))?.host);
  });

  it('refuses a forced delete, naming them, for load balancers no live agent of its group can take (#27.2)', async () => {
    const f = fixture();
    await f.bind('lb-1', 'a1', 't1');
    f.clock.advance(DOWN + 1); // a2 and a3 dead too
    const refused = await f.ops.deleteAgent(ENV, 'a1', { force: true }).catch((e) => e);
    expect(refused).toBeInstanceOf(OperatorRefusedError);
    expect(refused.message).toContain(
      'agent a1 still hosts 1 load balancer(s) no live agent of group default can take: lb-1',
    );
    expect(await f.registry.getAgent(ENV, 'a1')).toBeDefined();
    expect((await f.bindings.getBinding('lb-1'))?.host).toBe('a1');
  });

  it('refuses operations on an unknown agent', async () => {
    const f = fixture();
    await expect(f.ops.setAdminState(ENV, 'nope', false)).rejects.toBeInstanceOf(OperatorRefusedError);
    await expect(f.ops.deleteAgent(ENV, 'nope')).rejects.toBeInstanceOf(OperatorRefusedError);
    await expect(f.ops.drain(ENV, 'nope')).rejects.toBeInstanceOf(OperatorRefusedError);
  });

  it('drains onto tenant affinity first, then the least loaded, keeping counts right', async () => {
    const f = fixture();
    await f.bind('lb-1', 'a1', 't1');
    await f.bind('lb-2', 'a1', 't2');
    await f.bind('lb-3', 'a3', 't1'); // t1 also lives on a3
    await f.bind('lb-4', 'a3', 't3');
    const report = await f.ops.drain(ENV, 'a1');
    expect(report.skipped).toEqual([]);
    expect(Object.fromEntries(report.moved.map((m) => [m.loadbalancerId, m.to]))).toEqual({
      'lb-1': 'a3', // affinity
      'lb-2': 'a2', // least loaded
    });
    expect((await f.bindings.listOnAgent(ENV, 'a1')).items).toEqual([]);
    const counts = Object.fromEntries((await f.ops.agents(ENV)).map((a) => [a.host, a.loadbalancerCount]));
    expect(counts).toEqual({ a1: 0, a2: 1, a3: 3 });
  });

  it('drains to a named agent only if it is another active agent', async () => {
    const f = fixture();
    await f.bind('lb-1', 'a1', 't1');
    await f.registry.setAdminState(ENV, 'a2', false);
    await expect(f.ops.drain(ENV, 'a1', { to: 'a2' })).rejects.toThrow('must be another active agent');
    await expect(f.ops.drain(ENV, 'a1', { to: 'a1' })).rejects.toThrow('must be another active agent');
    expect((await f.ops.drain(ENV, 'a1', { to: 'a3' })).moved).toEqual([
      expect.objectContaining({ to: 'a3' }),
    ]);
  });

  it('refuses to drain to an agent of another device group, naming both groups', async () => {
    const f = fixture();
    f.registry.put({ env: ENV, host: 'b1', heartbeatAt: f.clock.now(), group: 'west' });
    await f.bind('lb-1', 'a1', 't1');
    await expect(f.ops.drain(ENV, 'a1', { to: 'b1' })).rejects.toThrow(
      "cannot drain to b1: it manages device group west, and a1's load balancers live on group default's devices",
    );
    expect((await f.bindings.getBinding('lb-1'))?.host).toBe('a1');
  });

  it('reports what could not move when no agent is active, and does not spin', async () => {
    const f = fixture();
    await f.bind('lb-1', 'a1', 't1');
    f.clock.advance(DOWN + 1);
    const report = await f.ops.drain(ENV, 'a1');
    expect(report).toEqual({
      moved: [],
      skipped: [{ loadbalancerId: 'lb-1', reason: 'no active agent to take it' }],
    });
  });

  it('reports a binding that moved meanwhile as skipped', async () => {
    const f = fixture();
    await f.bind('lb-1', 'a1', 't1');
    const move = f.bindings.moveBinding.bind(f.bindings);
    f.bindings.moveBinding = async (lb, from, to, now) => {
      await move(lb, from, 'a3', now); // a racing drain got there first
      return move(lb, from, to, now);
    };
    const report = await f.ops.drain(ENV, 'a1');
    expect(report.skipped).toEqual([{ loadbalancerId: 'lb-1', reason: 'binding changed meanwhile' }]);
  });

  it('finds the agent hosting a load balancer, alive or not', async () => {
    const f = fixture();
    await f.bind('lb-1', 'a2', 't1');
    f.clock.advance(DOWN + 1);
    const hosting = await f.ops.hostingAgent('lb-1');
    expect(hosting?.binding.host).toBe('a2');
    expect(hosting?.agent).toMatchObject({ host: 'a2', alive: false });
    expect(await f.ops.hostingAgent('lb-unknown')).toBeUndefined();
  });

  it('says who serves a load balancer now: its agent, a failover agent while it is dead, or nobody', async () => {
    const f = fixture();
    await f.bind('lb-1', 'a2', 't1');
    expect((await f.ops.hostingAgent('lb-1'))?.servedBy).toEqual({ host: 'a2', decision: 'bound' });
    // a2 stops beating; a1 and a3 go on. The tenant's affinity agent is a2 itself, so the failover
    // goes to the agent rendezvous hashing gives the tenant among the two alive (either: it is stable).
    f.clock.advance(DOWN + 1);
    for (const host of ['a1', 'a3']) f.registry.put({ env: ENV, host, heartbeatAt: f.clock.now() });
    const during = (await f.ops.hostingAgent('lb-1'))?.servedBy;
    expect(during?.decision).toBe('failover');
    expect(['a1', 'a3']).toContain(during?.host);
    expect((await f.ops.hostingAgent('lb-1'))?.servedBy).toEqual(during);
    // A second load balancer of the tenant bound to a3 gives it affinity there: the failover follows it.
    await f.bind('lb-2', 'a3', 't1');
    expect((await f.ops.hostingAgent('lb-1'))?.servedBy).toEqual({ host: 'a3', decision: 'failover' });
    f.clock.advance(DOWN + 1);
    const none = (await f.ops.hostingAgent('lb-1'))?.servedBy;
    expect(none).toMatchObject({ host: undefined, decision: 'no-active-agent' });
    expect(none && 'reason' in none && none.reason).toMatch(
      /none of the 3 agents of environment Unit is active/,
    );
  });

  it('refuses to delete an agent whose queue still holds requests, unless forced', async () => {
    const f = fixture();
    f.queues.enqueue('queue://a1', '{"request":"waiting"}');
    const refused = await f.ops.deleteAgent(ENV, 'a1').catch((e) => e);
    expect(refused).toBeInstanceOf(OperatorRefusedError);
    expect(refused.message).toContain('agent a1 still has 1 request(s) in its queue');
    expect(await f.registry.getAgent(ENV, 'a1')).toBeDefined();
    await f.ops.deleteAgent(ENV, 'a1', { force: true });
    expect(await f.registry.getAgent(ENV, 'a1')).toBeUndefined();
  });

  it('keeps a tenant on one agent when new load balancers of it race its drain (#27.12)', async () => {
    const f = fixture();
    const tenant = lbIds().tenantId;
    // The tenant lives on a1 (its claim and three load balancers).
    await f.bindings.claimTenant(ENV, tenant, 'a1', undefined, f.clock.now());
    for (const lb of ['lb1', 'lb2', 'lb3']) await f.bind(lb, 'a1', tenant);
    // A scheduler whose random pick for the tenant differs from the drain's least-loaded one.
    const scheduler = new RequestScheduler({
      env: ENV,
      agentDownTimeMs: DOWN,
      selection: 'random',
      resources: new InMemoryResourceStore(),
      bindings: f.bindings,
      registry: f.registry,
      directory: new AgentDirectory(f.registry, 0, f.clock.now),
      queue: new InMemoryQueues(),
      clock: f.clock.now,
      random: () => 0.99,
    });
    // While the drain moves the tenant, a new load balancer of it is scheduled.
    const move = f.bindings.moveBinding.bind(f.bindings);
    let raced = false;
    f.bindings.moveBinding = async (...args) => {
      if (!raced) {
        raced = true;
        const ids = lbIds({ tenantId: tenant });
        const outcome = await scheduler.handle(parsed(requests.createLoadbalancer(ids)));
        expect(outcome.kind).toBe('forwarded');
      }
      return move(...args);
    };
    await f.ops.drain(ENV, 'a1');
    const hosts = new Set(
      [...f.bindings.bindings.values()].filter((b) => b.tenantId === tenant).map((b) => b.host),
    );
    expect([...f.bindings.bindings.values()].filter((b) => b.tenantId === tenant)).toHaveLength(4);
    expect(hosts.size).toBe(1);
    expect(hosts.has('a1')).toBe(false);
  });
});
