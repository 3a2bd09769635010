import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ScheduleInput, scheduleRequest } from '../../../functions/domain/agent-scheduler.js';
import type { AgentView } from '../../../functions/domain/liveness.js';

const NOW = 1_800_000_000_000;
const DOWN = 75_000;

function agent(host: string, overrides: Partial<AgentView> = {}): AgentView {
  return { host, adminStateUp: true, heartbeatAt: NOW - 1_000, ...overrides };
}

function input(overrides: Partial<ScheduleInput> = {}): ScheduleInput {
  return {
    env: 'Project',
    tenantId: 't1',
    loadbalancerId: 'lb1',
    binding: undefined,
    agents: [agent('a1'), agent('a2'), agent('a3')],
    affinityHosts: [],
    agentDownTimeMs: DOWN,
    nowMs: NOW,
    random: () => 0,
    ...overrides,
  };
}

describe('scheduleRequest: bound load balancers', () => {
  it('uses the bound agent when it is active, without binding again', () => {
    // Prepare
    const request = input({ binding: { host: 'a2' }, affinityHosts: ['a1'] });
    // Act
    const decision = scheduleRequest(request);
    // Assess
    expect(decision).toEqual({ kind: 'bound', host: 'a2', group: 'default' });
  });

  it('fails over to the first active affinity agent when the bound agent is admin down, keeping the binding', () => {
    const decision = scheduleRequest(
      input({
        binding: { host: 'a1' },
        agents: [agent('a1', { adminStateUp: false }), agent('a2'), agent('a3')],
        affinityHosts: ['a1', 'a3', 'a2'],
      }),
    );
    expect(decision).toEqual({ kind: 'failover', host: 'a3', group: 'default' });
  });

  it('treats a heartbeat exactly agentDownTime old as dead', () => {
    const decision = scheduleRequest(
      input({
        binding: { host: 'a1' },
        agents: [agent('a1', { heartbeatAt: NOW - DOWN }), agent('a2')],
        affinityHosts: ['a2'],
      }),
    );
    expect(decision).toEqual({ kind: 'failover', host: 'a2', group: 'default' });
  });

  it('treats a heartbeat one millisecond younger than agentDownTime as alive', () => {
    const decision = scheduleRequest(
      input({ binding: { host: 'a1' }, agents: [agent('a1', { heartbeatAt: NOW - DOWN + 1 }), agent('a2')] }),
    );
    expect(decision).toEqual({ kind: 'bound', host: 'a1', group: 'default' });
  });

  it('treats a heartbeat from the future (clock skew) as alive', () => {
    const decision = scheduleRequest(
      input({ binding: { host: 'a1' }, agents: [agent('a1', { heartbeatAt: NOW + 5_000 })] }),
    );
    expect(decision.kind).toBe('bound');
  });

  it('fails over when the bound agent is no longer registered', () => {
    const decision = scheduleRequest(input({ binding: { host: 'gone' }, affinityHosts: ['a3'] }));
    expect(decision).toEqual({ kind: 'failover', host: 'a3', group: 'default' });
  });

  it('skips inactive affinity agents and takes the oldest active one', () => {
    const decision = scheduleRequest(
      input({
        binding: { host: 'a1' },
        agents: [
          agent('a1', { heartbeatAt: undefined }),
          agent('a2', { heartbeatAt: NOW - 80_000 }),
          agent('a3'),
          agent('a4'),
        ],
        affinityHosts: ['a2', 'a4', 'a3'],
      }),
    );
    expect(decision).toEqual({ kind: 'failover', host: 'a4', group: 'default' });
  });

  it('without an active affinity agent, fails over deterministically per tenant, whatever the order and randomness', () => {
    const agents = [agent('a1', { adminStateUp: false }), agent('a2'), agent('a3'), agent('a4')];
    const first = scheduleRequest(input({ binding: { host: 'a1' }, agents, random: () => 0 }));
    const again = scheduleRequest(
      input({ binding: { host: 'a1' }, agents: [...agents].reverse(), random: () => 0.99 }),
    );
    expect(first.kind).toBe('failover');
    expect(again).toEqual(first);
    expect(first).not.toMatchObject({ host: 'a1' });
  });

  it('spreads failover of different tenants over the active agents', () => {
    const agents = [agent('a1', { adminStateUp: false }), agent('a2'), agent('a3'), agent('a4')];
    const hosts = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const d = scheduleRequest(input({ binding: { host: 'a1' }, agents, tenantId: `tenant-${i}` }));
      if (d.kind === 'failover') hosts.add(d.host);
    }
    expect(hosts).toEqual(new Set(['a2', 'a3', 'a4']));
  });

  it('never hands work to the dead bound agent when no agent is active', () => {
    const decision = scheduleRequest(
      input({
        binding: { host: 'a1' },
        agents: [agent('a1', { heartbeatAt: NOW - 100_000 }), agent('a2', { adminStateUp: false })],
      }),
    );
    expect(decision).toEqual({
      kind: 'no-active-agent',
      reason: 'no active agent in environment Project: none of the 2 agents of environment Project is active',
    });
  });
});

describe('scheduleRequest: new load balancers', () => {
  it('binds to the first active agent with tenant affinity', () => {
    const decision = scheduleRequest(
      input({
        agents: [agent('a1'), agent('a2', { adminStateUp: false }), agent('a3')],
        affinityHosts: ['a2', 'a3', 'a1'],
      }),
    );
    expect(decision).toEqual({ kind: 'affinity', host: 'a3', group: 'default' });
  });

  it('picks a random active agent when no agent has affinity, using the random source', () => {
    const agents = [agent('c'), agent('a'), agent('b'), agent('d', { adminStateUp: false })];
    expect(scheduleRequest(input({ agents, random: () => 0 }))).toEqual({
      kind: 'random',
      host: 'a',
      group: 'default',
      newTenant: true,
    });
    expect(scheduleRequest(input({ agents, random: () => 0.5 }))).toEqual({
      kind: 'random',
      host: 'b',
      group: 'default',
      newTenant: true,
    });
    expect(scheduleRequest(input({ agents, random: () => 0.9999 }))).toEqual({
      kind: 'random',
      host: 'c',
      group: 'default',
      newTenant: true,
    });
  });

  it('clamps a random source that misbehaves', () => {
    expect(scheduleRequest(input({ random: () => 1 }))).toMatchObject({ host: 'a3' });
    expect(scheduleRequest(input({ random: () => -3 }))).toMatchObject({ host: 'a1' });
  });

  it('ignores affinity agents that are inactive and falls back to random', () => {
    const decision = scheduleRequest(
      input({ agents: [agent('a1', { heartbeatAt: NOW - DOWN }), agent('a2')], affinityHosts: ['a1'] }),
    );
    expect(decision).toEqual({ kind: 'random', host: 'a2', group: 'default' });
  });

  it('reports an unknown environment (no agent registered) as no active agent', () => {
    const decision = scheduleRequest(input({ env: 'Nowhere', agents: [] }));
    expect(decision).toEqual({
      kind: 'no-active-agent',
      reason: 'no active agent in environment Nowhere: no agent is registered in environment Nowhere',
    });
  });

  it('with the least-loaded policy picks among the agents with the fewest load balancers', () => {
    const agents = [
      agent('a1', { loadbalancerCount: 5 }),
      agent('a2', { loadbalancerCount: 1 }),
      agent('a3', { loadbalancerCount: 1 }),
      agent('a4', { loadbalancerCount: 0, adminStateUp: false }),
    ];
    expect(scheduleRequest(input({ agents, selection: 'least-loaded', random: () => 0 }))).toEqual({
      kind: 'least-loaded',
      host: 'a2',
      group: 'default',
      newTenant: true,
    });
    expect(scheduleRequest(input({ agents, selection: 'least-loaded', random: () => 0.7 }))).toMatchObject({
      host: 'a3',
    });
  });
});

// Property tests: the invariants hold for any mix of agents, bindings and affinity.
const hostArb = fc.constantFrom('h1', 'h2', 'h3', 'h4', 'h5');
const agentArb = fc.record({
  host: hostArb,
  adminStateUp: fc.boolean(),
  heartbeatAt: fc.option(fc.integer({ min: NOW - 200_000, max: NOW + 10_000 }), { nil: undefined }),
});
const inputArb = fc.record({
  agents: fc.uniqueArray(agentArb, { selector: (a) => a.host, maxLength: 5 }),
  binding: fc.option(fc.record({ host: hostArb }), { nil: undefined }),
  affinityHosts: fc.uniqueArray(hostArb, { maxLength: 5 }),
  tenantId: fc.string({ minLength: 1, maxLength: 8 }),
  random: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
});

const activeSet = (agents: readonly AgentView[]) =>
  new Set(
    agents
      .filter((a) => a.adminStateUp && a.heartbeatAt !== undefined && NOW - a.heartbeatAt < DOWN)
      .map((a) => a.host),
  );

describe('scheduleRequest properties', () => {
  it('never picks an inactive agent, and reports no-active-agent only when none is active', () => {
    fc.assert(
      fc.property(inputArb, (p) => {
        const d = scheduleRequest(input({ ...p, random: () => p.random }));
        const active = activeSet(p.agents);
        if (!('host' in d)) return d.kind === 'no-active-agent' && active.size === 0;
        return active.has(d.host);
      }),
    );
  });

  it('binds exactly when the load balancer is unbound, and keeps an existing binding (bound, failover)', () => {
    fc.assert(
      fc.property(inputArb, (p) => {
        const d = scheduleRequest(input({ ...p, random: () => p.random }));
        if (!('host' in d)) return true;
        // Bound and failover keep the binding; every other decision makes one.
        return (d.kind === 'bound' || d.kind === 'failover') === (p.binding !== undefined);
      }),
    );
  });

  it('respects the binding and tenant affinity', () => {
    fc.assert(
      fc.property(inputArb, (p) => {
        const d = scheduleRequest(input({ ...p, random: () => p.random }));
        const active = activeSet(p.agents);
        if (p.binding && active.has(p.binding.host)) return d.kind === 'bound' && d.host === p.binding.host;
        const firstAffinity = p.affinityHosts.find((h) => h !== p.binding?.host && active.has(h));
        if (firstAffinity) return 'host' in d && d.host === firstAffinity;
        return true;
      }),
    );
  });

  it('makes failover decisions that depend neither on agent order nor on randomness', () => {
    fc.assert(
      fc.property(inputArb, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (p, other) => {
        fc.pre(p.binding !== undefined);
        const a = scheduleRequest(input({ ...p, random: () => p.random }));
        const b = scheduleRequest(input({ ...p, agents: [...p.agents].reverse(), random: () => other }));
        return JSON.stringify(a) === JSON.stringify(b);
      }),
    );
  });
});
