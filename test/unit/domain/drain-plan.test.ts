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
