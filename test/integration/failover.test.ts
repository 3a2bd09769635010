import { afterEach, describe, expect, it } from 'vitest';
import { lbIds, requests } from '../support/factories.js';
import { captureMetrics } from '../support/scheduler-harness.js';
import { systemHarness } from '../support/system-harness.js';

type System = Awaited<ReturnType<typeof systemHarness>>;
const systems: System[] = [];
afterEach(async () => {
  for (const s of systems.splice(0)) await s.close();
});

describe('failover end to end: three agents, a controllable clock, the simulator', () => {
  it('serves a dead agent’s load balancers elsewhere within agentDownTime, keeps the bindings, and goes back when it returns', async () => {
    let r = 0;
    const s = await systemHarness({ random: () => [0.1, 0.5, 0.9][r++ % 3] as number });
    systems.push(s);
    // Tenant A has load balancers on agent-1 and (through a disable) on agent-2; tenant B only on agent-1.
    const tenantA = lbIds().tenantId;
    const a1 = lbIds({ tenantId: tenantA });
    const b1 = lbIds();
    await s.registry.setAdminState('Test', 'agent-2', false);
    await s.registry.setAdminState('Test', 'agent-3', false);
    await s.submitAndSettle(
      requests.createLoadbalancer(a1),
      requests.createLoadbalancer(b1, { vip_address: '10.0.0.20' }),
    );
    await s.registry.setAdminState('Test', 'agent-1', false);
    await s.registry.setAdminState('Test', 'agent-2', true);
    const a2 = lbIds({ tenantId: tenantA });
    await s.submitAndSettle(requests.createLoadbalancer(a2, { vip_address: '10.0.0.30' }));
    await s.registry.setAdminState('Test', 'agent-1', true);
    await s.registry.setAdminState('Test', 'agent-3', true);
    expect((await s.bindings.getBinding(a1.loadbalancerId))?.host).toBe('agent-1');
    expect((await s.bindings.getBinding(b1.loadbalancerId))?.host).toBe('agent-1');
    expect((await s.bindings.getBinding(a2.loadbalancerId))?.host).toBe('agent-2');

    // agent-1 dies: no heartbeats, no worker. 30 s later it is still within agentDownTime.
    s.stop('agent-1');
    s.advance(30_000);
    await s.beatRunning();
    await s.submitAndSettle(requests.createListener(a1, { protocol_port: 81 }));
    expect(await s.agentQueueDepth('agent-1')).toBe(1); // waits for agent-1: not yet declared dead

    // 75 s after its last heartbeat it is dead: new requests for its load balancers go elsewhere.
    s.advance(45_000);
    await s.beatRunning();
    const listenerA = requests.createListener(a1, { protocol_port: 8080 });
    const listenerB = requests.createListener(b1, { protocol_port: 8080 });
    const { metrics } = await captureMetrics(() => s.submitAndSettle(listenerA, listenerB));
    const failovers = metrics.filter(
      (m) => m.name === 'SchedulerDecisions' && m.dimensions.Decision === 'failover',
    );
    expect(failovers).toHaveLength(2);
    const statusOf = async (ids: { loadbalancerId: string }, id: string) =>
      (await s.resources.loadRecords(ids.loadbalancerId)).find((x) => x.id === id)?.provisioningStatus;
    expect(await statusOf(a1, listenerA.object.id as string)).toBe('ACTIVE');
    expect(await statusOf(b1, listenerB.object.id as string)).toBe('ACTIVE');
    // Tenant A went to agent-2 (affinity); tenant B to the agent rendezvous hashing gives it.
    const applied = (host: string) => s.agent(host).calls.length;
    expect(applied('agent-2')).toBeGreaterThan(0);
    expect((await s.bindings.getBinding(a1.loadbalancerId))?.host).toBe('agent-1');
    expect((await s.bindings.getBinding(b1.loadbalancerId))?.host).toBe('agent-1');

    // agent-1 comes back: it applies what waited in its queue, and gets its load balancers' requests again.
    s.start('agent-1');
    await s.beatRunning();
    await s.settle();
    const back = requests.createPool(a1);
    const again = await captureMetrics(() => s.submitAndSettle(back));
    expect(again.metrics).toContainEqual(
      expect.objectContaining({ name: 'SchedulerDecisions', dimensions: { Decision: 'bound' } }),
    );
    const records = await s.resources.loadRecords(a1.loadbalancerId);
    expect(records.every((x) => x.provisioningStatus === 'ACTIVE')).toBe(true);
    expect(records.filter((x) => x.type === 'listener')).toHaveLength(2);
  });

  it('moves requests stranded on a dead agent’s queue to the agent failover picks, in order', async () => {
    const s = await systemHarness({ random: () => 0 });
    systems.push(s);
    const ids = lbIds();
    await s.submitAndSettle(requests.createLoadbalancer(ids));
    const host = (await s.bindings.getBinding(ids.loadbalancerId))?.host as string;
    s.stop(host);
    // Forwarded before anyone noticed: three requests wait in the dead agent's queue.
    const pool = requests.createPool(ids);
    const members = [1, 2].map((i) =>
      requests.createMember(ids, pool.object.id as string, { address: `10.7.0.${i}` }),
    );
    await s.submitAndSettle(pool, ...members);
    expect(await s.agentQueueDepth(host)).toBe(3);
    expect(await s.reclaim()).toEqual({ moved: 0, byAgent: {} }); // still alive: nothing to reclaim

    s.advance(80_000);
    await s.beatRunning();
    const { result, metrics } = await captureMetrics(() => s.reclaim());
    expect(result).toEqual({ moved: 3, byAgent: { [host]: 3 } });
    expect(await s.agentQueueDepth(host)).toBe(0);
    await s.settle();
    const records = await s.resources.loadRecords(ids.loadbalancerId);
    expect(records.map((r) => `${r.type}:${r.provisioningStatus}`).sort()).toEqual([
      'loadbalancer:ACTIVE',
      'member:ACTIVE',
      'member:ACTIVE',
      'pool:ACTIVE',
    ]);
    expect((await s.bindings.getBinding(ids.loadbalancerId))?.host).toBe(host);
    expect(metrics).toEqual([]);
  });

  it('holds requests while no agent is active and serves them when one returns', async () => {
    const s = await systemHarness({ maxAttempts: 10 });
    systems.push(s);
    const ids = lbIds();
    for (const host of ['agent-1', 'agent-2', 'agent-3']) s.stop(host);
    s.advance(80_000);
    await s.submit(requests.createLoadbalancer(ids));
    await s.scheduler.pollOnce(0);
    expect((await s.resources.loadRecords(ids.loadbalancerId))[0]?.provisioningStatus).toBe('PENDING_CREATE');
    s.start('agent-3');
    await s.beatRunning();
    await s.settle();
    expect((await s.resources.loadRecords(ids.loadbalancerId))[0]?.provisioningStatus).toBe('ACTIVE');
    expect((await s.bindings.getBinding(ids.loadbalancerId))?.host).toBe('agent-3');
  });
});
