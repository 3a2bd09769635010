import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type GroupView,
  type ScheduleInput,
  scheduleRequest,
} from '../../../functions/domain/agent-scheduler.js';
import { capacityScore, fullBecause } from '../../../functions/domain/capacity.js';
import type { AgentView } from '../../../functions/domain/liveness.js';

const NOW = 1_800_000_000_000;
const DOWN = 75_000;

function agent(host: string, group: string, overrides: Partial<AgentView> = {}): AgentView {
  return { host, group, adminStateUp: true, heartbeatAt: NOW - 1_000, ...overrides };
}
const dead = { heartbeatAt: NOW - DOWN };

const AGENTS = [agent('a1', 'g1'), agent('a2', 'g1'), agent('b1', 'g2'), agent('b2', 'g2')];
const open = (name: string, score = 0): GroupView => ({ name, score, adminStateUp: true });

function input(overrides: Partial<ScheduleInput> = {}): ScheduleInput {
  return {
    env: 'Project',
    tenantId: 't1',
    loadbalancerId: 'lb1',
    binding: undefined,
    agents: AGENTS,
    affinityHosts: [],
    agentDownTimeMs: DOWN,
    nowMs: NOW,
    random: () => 0,
    groups: [open('g1'), open('g2')],
    placesLoadBalancer: true,
    ...overrides,
  };
}

describe('capacityScore', () => {
  it('is the highest usage / limit over the limits set, 0 with none', () => {
    const usage = { loadBalancers: 50, listeners: 30, members: 900, connections: 10 };
    expect(capacityScore(usage, {})).toBe(0);
    expect(capacityScore(usage, { maxLoadBalancers: 100 })).toBe(0.5);
    expect(capacityScore(usage, { maxLoadBalancers: 100, maxMembers: 1000 })).toBe(0.9);
    expect(capacityScore(usage, { maxConnections: 5 })).toBe(2);
    // A limit on a metric nobody measured yet counts it as 0.
    expect(capacityScore(usage, { maxThroughputMbps: 100 })).toBe(0);
    expect(fullBecause(usage, { maxLoadBalancers: 50 })).toBe('loadBalancers 50 of 50');
    expect(fullBecause(usage, { maxLoadBalancers: 51 })).toBeUndefined();
  });
});

describe('scheduleRequest with device groups', () => {
  it('fails a bound load balancer over inside the bound agent’s group only', () => {
    const agents = [agent('a1', 'g1', dead), agent('a2', 'g1'), agent('b1', 'g2'), agent('b2', 'g2')];
    // Even an affinity row naming another group's agent is not followed.
    const d = scheduleRequest(input({ agents, binding: { host: 'a1' }, affinityHosts: ['b1', 'a2'] }));
    expect(d).toEqual({ kind: 'failover', host: 'a2', group: 'g1' });
  });

  it('waits (no-active-agent) rather than hand a bound load balancer to another group', () => {
    const agents = [agent('a1', 'g1', dead), agent('a2', 'g1', dead), agent('b1', 'g2')];
    const d = scheduleRequest(input({ agents, binding: { host: 'a1' } }));
    expect(d.kind).toBe('no-active-agent');
    expect(d).toMatchObject({ reason: expect.stringContaining('device group g1') });
  });

  it('keeps a tenant in its group: affinity agent first, else an active agent of that group', () => {
    expect(scheduleRequest(input({ affinityHosts: ['a2'] }))).toEqual({
      kind: 'affinity',
      host: 'a2',
      group: 'g1',
    });
    const agents = [agent('a1', 'g1'), agent('a2', 'g1', dead), agent('b1', 'g2'), agent('b2', 'g2')];
    // g2 has the lower score, but the tenant lives on g1.
    const d = scheduleRequest(
      input({ agents, affinityHosts: ['a2'], groups: [open('g1', 0.9), open('g2')] }),
    );
    expect(d).toEqual({ kind: 'random', host: 'a1', group: 'g1' });
  });

  it('follows the group of a tenant’s claim when no affinity row shows it yet', () => {
    const d = scheduleRequest(input({ tenantGroup: 'g2', groups: [open('g1'), open('g2', 0.5)] }));
    expect(d).toMatchObject({ host: 'b1', group: 'g2' });
  });

  it('places a new tenant on the enabled group with the lowest score below 1', () => {
    expect(scheduleRequest(input({ groups: [open('g1', 0.5), open('g2', 0.2)] }))).toMatchObject({
      kind: 'random',
      group: 'g2',
    });
    const disabled = { ...open('g2', 0.1), adminStateUp: false };
    expect(scheduleRequest(input({ groups: [open('g1', 0.5), disabled] }))).toMatchObject({ group: 'g1' });
    expect(scheduleRequest(input({ groups: [open('g1', 0.99), open('g2', 1)] }))).toMatchObject({
      group: 'g1',
    });
  });

  it('breaks a tie between groups at random and skips a group with no active agent', () => {
    expect(scheduleRequest(input({ random: () => 0 }))).toMatchObject({ group: 'g1' });
    expect(scheduleRequest(input({ random: () => 0.99 }))).toMatchObject({ group: 'g2' });
    const agents = [agent('a1', 'g1'), agent('b1', 'g2', dead)];
    expect(scheduleRequest(input({ agents, groups: [open('g1', 0.7), open('g2', 0)] }))).toMatchObject({
      host: 'a1',
      group: 'g1',
    });
  });

  it('refuses a new load balancer of a tenant whose group is full, naming the group and why', () => {
    const full: GroupView = { ...open('g1', 1), fullBecause: 'loadBalancers 2 of 2' };
    const d = scheduleRequest(input({ affinityHosts: ['a1'], groups: [full, open('g2')] }));
    expect(d).toEqual({
      kind: 'at-capacity',
      scope: 'group',
      group: 'g1',
      reason: 'device group g1 of environment Project is at capacity (loadBalancers 2 of 2)',
    });
    // Anything else for an unbound load balancer of that tenant (its delete) is still placed.
    expect(
      scheduleRequest(
        input({ affinityHosts: ['a1'], groups: [full, open('g2')], placesLoadBalancer: false }),
      ),
    ).toMatchObject({ kind: 'affinity', host: 'a1', group: 'g1' });
  });

  it('says the environment is at capacity when no group takes a new tenant', () => {
    const d = scheduleRequest(input({ groups: [open('g1', 1), { ...open('g2'), adminStateUp: false }] }));
    expect(d).toMatchObject({ kind: 'at-capacity', scope: 'environment' });
    expect(d).toMatchObject({ reason: expect.stringMatching(/^environment Project is at capacity/) });
  });
});

// Property tests: any mix of agents in three groups, bindings, affinity and group states.
const groupNames = ['g1', 'g2', 'g3'] as const;
const hostArb = fc.constantFrom('h1', 'h2', 'h3', 'h4', 'h5', 'h6');
const agentArb = fc.record({
  host: hostArb,
  group: fc.constantFrom(...groupNames),
  adminStateUp: fc.boolean(),
  heartbeatAt: fc.option(fc.integer({ min: NOW - 200_000, max: NOW + 10_000 }), { nil: undefined }),
});
const groupArb = fc.tuple(
  ...groupNames.map((name) =>
    fc.record({
      name: fc.constant(name),
      score: fc.constantFrom(0, 0.3, 0.8, 1, 1.5),
      adminStateUp: fc.boolean(),
    }),
  ),
);
const caseArb = fc.record({
  agents: fc.uniqueArray(agentArb, { selector: (a) => a.host, maxLength: 6 }),
  binding: fc.option(fc.record({ host: hostArb }), { nil: undefined }),
  affinityHosts: fc.uniqueArray(hostArb, { maxLength: 4 }),
  groups: groupArb,
  placesLoadBalancer: fc.boolean(),
  random: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
});

const isActiveAgent = (a: AgentView) =>
  a.adminStateUp && a.heartbeatAt !== undefined && NOW - a.heartbeatAt < DOWN;

describe('scheduleRequest with device groups: properties', () => {
  it('never picks a dead agent, and the decision names the chosen agent’s group', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const d = scheduleRequest(input({ ...c, random: () => c.random }));
        if (!('host' in d)) return true;
        const chosen = c.agents.find((a) => a.host === d.host);
        return chosen !== undefined && isActiveAgent(chosen) && chosen.group === d.group;
      }),
    );
  });

  it('never leaves the bound agent’s group', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const bound = c.agents.find((a) => a.host === c.binding?.host);
        fc.pre(bound !== undefined);
        const d = scheduleRequest(input({ ...c, random: () => c.random }));
        return !('host' in d) || d.group === bound.group;
      }),
    );
  });

  it('keeps a tenant in one group: its affinity agents’ group, or a refusal', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        fc.pre(c.binding === undefined);
        const first = c.affinityHosts.map((h) => c.agents.find((a) => a.host === h)).find(Boolean);
        fc.pre(first !== undefined);
        const d = scheduleRequest(input({ ...c, random: () => c.random }));
        if ('host' in d) return d.group === first.group;
        if (d.kind === 'at-capacity') return d.scope === 'group' && d.group === first.group;
        return true;
      }),
    );
  });

  it('places a new tenant only on an enabled group below capacity, and refuses only when none is', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        fc.pre(c.binding === undefined && c.placesLoadBalancer);
        const d = scheduleRequest(input({ ...c, affinityHosts: [], random: () => c.random }));
        const openGroups = c.groups.filter((g) => g.adminStateUp && g.score < 1);
        if ('host' in d) return openGroups.some((g) => g.name === d.group);
        if (d.kind === 'at-capacity') return openGroups.length === 0;
        return true;
      }),
    );
  });
});

describe('scheduleRequest with allowed groups (Octavia flavors and availability zones)', () => {
  it('places a new tenant only in an allowed group, even when another has more room', () => {
    const d = scheduleRequest(input({ groups: [open('g1', 0), open('g2', 0.9)], allowedGroups: ['g2'] }));
    expect(d).toMatchObject({ kind: 'random', group: 'g2', newTenant: true });
    expect(['b1', 'b2']).toContain((d as { host: string }).host);
  });

  it('refuses rather than leaving the allowed groups: all full, or the tenant living in another group', () => {
    const full = scheduleRequest(input({ groups: [open('g1', 0), open('g2', 1)], allowedGroups: ['g2'] }));
    expect(full).toMatchObject({ kind: 'at-capacity', scope: 'environment' });
    expect((full as { reason: string }).reason).toContain('flavor or availability zone allows (g2)');
    const elsewhere = scheduleRequest(input({ affinityHosts: ['a1'], allowedGroups: ['g2'] }));
    expect(elsewhere).toMatchObject({ kind: 'at-capacity', scope: 'group', group: 'g1' });
    expect((elsewhere as { reason: string }).reason).toContain(
      "project's load balancers are in device group g1",
    );
    // The tenant's own group allowed: placed there as ever.
    expect(scheduleRequest(input({ affinityHosts: ['a1'], allowedGroups: ['g1', 'g2'] }))).toEqual({
      kind: 'affinity',
      host: 'a1',
      group: 'g1',
    });
  });

  it('never moves a bound load balancer: its failover stays in its group whatever is allowed', () => {
    const agents = [agent('a1', 'g1', dead), agent('a2', 'g1'), agent('b1', 'g2'), agent('b2', 'g2')];
    const d = scheduleRequest(input({ agents, binding: { host: 'a1' }, allowedGroups: ['g1'] }));
    expect(d).toEqual({ kind: 'failover', host: 'a2', group: 'g1' });
  });

  it('never picks a group outside the allowed ones (property)', () => {
    fc.assert(
      fc.property(
        fc.subarray(['g1', 'g2'], { minLength: 1 }),
        fc.double({ min: 0, max: 1.5, noNaN: true }),
        fc.double({ min: 0, max: 1.5, noNaN: true }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        (allowed, s1, s2, r) => {
          const d = scheduleRequest(
            input({ groups: [open('g1', s1), open('g2', s2)], allowedGroups: allowed, random: () => r }),
          );
          if ('group' in d && d.group !== undefined && 'host' in d) expect(allowed).toContain(d.group);
        },
      ),
    );
  });
});
