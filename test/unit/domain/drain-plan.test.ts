import { describe, expect, it } from 'vitest';
import { planDrain } from '../../../functions/domain/drain-plan.js';

const now = 1_000_000;
const agent = (
  host: string,
  extra: { adminStateUp?: boolean; heartbeatAt?: number; loadbalancerCount?: number } = {},
) => ({
  host,
  adminStateUp: true,
  heartbeatAt: now,
  loadbalancerCount: 0,
  ...extra,
});

describe('planDrain', () => {
  it('sends each load balancer to an active agent with its tenant, else the least loaded, and keeps new tenants together', () => {
    const plan = planDrain({
      env: 'E',
      from: 'a1',
      bindings: [
        { loadbalancerId: 'lb1', tenantId: 't1' },
        { loadbalancerId: 'lb2', tenantId: 't2' },
        { loadbalancerId: 'lb3', tenantId: 't2' },
        { loadbalancerId: 'lb4', tenantId: 't3' },
      ],
      agents: [
        agent('a1'),
        agent('a2', { loadbalancerCount: 5 }),
        agent('a3', { loadbalancerCount: 1 }),
        agent('a4', { adminStateUp: false }),
      ],
      affinity: new Map([['t1', ['a1', 'a4', 'a2']]]),
      agentDownTimeMs: 75_000,
      nowMs: now,
    });
    expect(plan.moves.map((m) => [m.loadbalancerId, m.to, m.reason])).toEqual([
      ['lb1', 'a2', 'affinity'],
      ['lb2', 'a3', 'least-loaded'],
      ['lb3', 'a3', 'affinity'],
      ['lb4', 'a3', 'least-loaded'],
    ]);
    expect(plan.unplaced).toEqual([]);
  });

  it('places nothing when no other agent is active, and honours an explicit target', () => {
    const bindings = [{ loadbalancerId: 'lb1', tenantId: 't1' }];
    const agents = [agent('a1'), agent('a2', { heartbeatAt: now - 80_000 })];
    const base = {
      env: 'E',
      from: 'a1',
      bindings,
      agents,
      affinity: new Map(),
      agentDownTimeMs: 75_000,
      nowMs: now,
    };
    expect(planDrain(base)).toEqual({ moves: [], unplaced: bindings });
    expect(planDrain({ ...base, to: 'a2' }).moves).toEqual([
      { loadbalancerId: 'lb1', tenantId: 't1', to: 'a2', reason: 'requested' },
    ]);
  });
});

describe('planDrain with device groups', () => {
  it('moves a drained agent’s load balancers only to agents of its own group, and leaves them when none is active', () => {
    const inGroup = (
      host: string,
      group: string,
      extra: { heartbeatAt?: number; loadbalancerCount?: number } = {},
    ) => ({
      ...agent(host, extra),
      group,
    });
    const input = {
      env: 'E',
      from: 'a1',
      bindings: [
        { loadbalancerId: 'lb1', tenantId: 't1' },
        { loadbalancerId: 'lb2', tenantId: 't2' },
      ],
      // The other group's agents are the least loaded and even hold affinity: never used.
      affinity: new Map([['t1', ['b1']]]),
      agentDownTimeMs: 75_000,
      nowMs: now,
    };
    const plan = planDrain({
      ...input,
      agents: [
        inGroup('a1', 'g1'),
        inGroup('a2', 'g1', { loadbalancerCount: 9 }),
        inGroup('b1', 'g2'),
        inGroup('b2', 'g2'),
      ],
    });
    expect(plan.moves.map((m) => [m.loadbalancerId, m.to])).toEqual([
      ['lb1', 'a2'],
      ['lb2', 'a2'],
    ]);
    const stranded = planDrain({
      ...input,
      agents: [inGroup('a1', 'g1'), inGroup('a2', 'g1', { heartbeatAt: now - 80_000 }), inGroup('b1', 'g2')],
    });
    expect(stranded.moves).toEqual([]);
    expect(stranded.unplaced.map((u) => u.loadbalancerId)).toEqual(['lb1', 'lb2']);
  });
});
