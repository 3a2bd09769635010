import { describe, expect, it } from 'vitest';
import { OperatorRefusedError } from '../../functions/domain/errors.js';
import { AgentOperations } from '../../functions/services/agent-operations.js';
import { lbIds, requests } from '../support/factories.js';
import { schedulerHarness } from '../support/scheduler-harness.js';

async function fixture() {
  let r = 0;
  const h = await schedulerHarness({ env: 'Ops', random: () => [0, 0.4, 0.9][r++ % 3] as number });
  const ops = new AgentOperations({
    registry: h.registry,
    bindings: h.bindings,
    agentDownTimeMs: 75_000,
    clock: h.clock,
  });
  return { h, ops };
}

describe('operator operations on agents (DynamoDB Local)', () => {
  it('lists the load balancers bound to an agent page by page, through the index', async () => {
    const { h, ops } = await fixture();
    const tenant = lbIds().tenantId;
    const lbs = Array.from({ length: 23 }, () => lbIds({ tenantId: tenant }));
    await h.deliver(lbs.map((ids) => requests.createLoadbalancer(ids))); // one tenant: all on one agent
    const host = (await h.bindings.getBinding(lbs[0]?.loadbalancerId as string))?.host as string;
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await ops.listOnAgent('Ops', host, { limit: 10, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((b) => b.loadbalancerId));
      cursor = page.cursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual(lbs.map((l) => l.loadbalancerId).sort());
  });

  it('shows the hosting agent of a load balancer even when that agent is dead', async () => {
    const { h, ops } = await fixture();
    const ids = lbIds();
    await h.deliver([requests.createLoadbalancer(ids)]);
    h.advance(100_000);
    const hosting = await ops.hostingAgent(ids.loadbalancerId);
    expect(hosting?.binding.loadbalancerId).toBe(ids.loadbalancerId);
    expect(hosting?.agent).toMatchObject({ alive: false, active: false, heartbeatAgeSeconds: 100 });
    expect(await ops.hostingAgent(lbIds().loadbalancerId)).toBeUndefined();
  });

  it('disables and enables an agent, and refuses unknown agents', async () => {
    const { ops } = await fixture();
    await ops.setAdminState('Ops', 'agent-2', false);
    expect((await ops.agents('Ops')).find((a) => a.host === 'agent-2')).toMatchObject({
      adminStateUp: false,
      alive: true,
      active: false,
    });
    await ops.setAdminState('Ops', 'agent-2', true);
    expect((await ops.agents('Ops')).find((a) => a.host === 'agent-2')?.active).toBe(true);
    await expect(ops.setAdminState('Ops', 'nope', false)).rejects.toBeInstanceOf(OperatorRefusedError);
  });

  it('refuses to delete an agent that hosts load balancers, listing them, unless forced', async () => {
    const { h, ops } = await fixture();
    const tenant = lbIds().tenantId;
    const lbs = [lbIds({ tenantId: tenant }), lbIds({ tenantId: tenant })];
    await h.deliver(lbs.map((ids) => requests.createLoadbalancer(ids)));
    const host = (await h.bindings.getBinding(lbs[0]?.loadbalancerId as string))?.host as string;
    const refusal = await ops.deleteAgent('Ops', host).catch((e) => e);
    expect(refusal).toBeInstanceOf(OperatorRefusedError);
    expect(refusal.message).toContain(`agent ${host} still hosts 2 load balancer(s)`);
    for (const l of lbs) expect(refusal.message).toContain(l.loadbalancerId);
    expect(await h.registry.getAgent('Ops', host)).toBeDefined();

    // Forced: its load balancers move to a live agent first, together (#27.2).
    expect(await ops.deleteAgent('Ops', host, { force: true })).toEqual({ moved: 2 });
    expect(await h.registry.getAgent('Ops', host)).toBeUndefined();
    const now = await Promise.all(lbs.map((l) => h.bindings.getBinding(l.loadbalancerId)));
    expect(new Set(now.map((b) => b?.host)).size).toBe(1);
    expect(now[0]?.host).not.toBe(host);
    expect((await h.bindings.getTenantAffinity('Ops', tenant)).hosts.map((a) => a.host)).toEqual([
      now[0]?.host,
    ]);
    expect(await ops.deleteAgent('Ops', 'agent-x').catch((e) => e.message)).toBe(
      'no agent agent-x in environment Ops',
    );
  });

  it('deletes an idle agent outright', async () => {
    const { ops, h } = await fixture();
    expect(await ops.deleteAgent('Ops', 'agent-3')).toEqual({ moved: 0 });
    expect(await h.registry.getAgent('Ops', 'agent-3')).toBeUndefined();
  });

  it('drains an agent onto the others, tenant affinity first, updating affinity and counts', async () => {
    const { h, ops } = await fixture();
    const t1 = lbIds().tenantId;
    // agent-1 hosts two of t1's load balancers; t1 also has one on agent-3.
    await h.registry.setAdminState('Ops', 'agent-2', false);
    await h.registry.setAdminState('Ops', 'agent-3', false);
    const onOne = [lbIds({ tenantId: t1 }), lbIds({ tenantId: t1 }), lbIds()];
    await h.deliver(onOne.map((ids) => requests.createLoadbalancer(ids)));
    await h.registry.setAdminState('Ops', 'agent-1', false);
    await h.registry.setAdminState('Ops', 'agent-3', true);
    const onThree = lbIds({ tenantId: t1 });
    await h.deliver([requests.createLoadbalancer(onThree)]);
    expect((await h.bindings.getBinding(onThree.loadbalancerId))?.host).toBe('agent-3');
    await h.registry.setAdminState('Ops', 'agent-2', true);

    const report = await ops.drain('Ops', 'agent-1');
    expect(report.skipped).toEqual([]);
    const where = async (ids: { loadbalancerId: string }) =>
      (await h.bindings.getBinding(ids.loadbalancerId))?.host;
    expect(await where(onOne[0] as { loadbalancerId: string })).toBe('agent-3');
    expect(await where(onOne[1] as { loadbalancerId: string })).toBe('agent-3');
    expect(await where(onOne[2] as { loadbalancerId: string })).toBe('agent-2'); // least loaded
    expect((await ops.listOnAgent('Ops', 'agent-1')).items).toEqual([]);
    expect((await h.bindings.getTenantAffinity('Ops', t1)).hosts).toEqual([
      expect.objectContaining({ host: 'agent-3', loadbalancers: 3 }),
    ]);
    const counts = Object.fromEntries((await ops.agents('Ops')).map((a) => [a.host, a.loadbalancerCount]));
    expect(counts).toEqual({ 'agent-1': 0, 'agent-2': 1, 'agent-3': 3 });
  });

  it('drains to a named agent only if it is another active agent', async () => {
    const { h, ops } = await fixture();
    const ids = lbIds();
    await h.deliver([requests.createLoadbalancer(ids)]);
    const from = (await h.bindings.getBinding(ids.loadbalancerId))?.host as string;
    const to = ['agent-1', 'agent-2', 'agent-3'].find((x) => x !== from) as string;
    await expect(ops.drain('Ops', from, { to: from })).rejects.toBeInstanceOf(OperatorRefusedError);
    await h.registry.setAdminState('Ops', to, false);
    await expect(ops.drain('Ops', from, { to })).rejects.toThrow(/must be another active agent/);
    await h.registry.setAdminState('Ops', to, true);
    expect((await ops.drain('Ops', from, { to })).moved).toHaveLength(1);
    expect((await h.bindings.getBinding(ids.loadbalancerId))?.host).toBe(to);
  });

  it('moves each binding once when two drains race', async () => {
    const { h, ops } = await fixture();
    const tenant = lbIds().tenantId;
    const lbs = Array.from({ length: 8 }, () => lbIds({ tenantId: tenant }));
    await h.deliver(lbs.map((ids) => requests.createLoadbalancer(ids)));
    const from = (await h.bindings.getBinding(lbs[0]?.loadbalancerId as string))?.host as string;
    const [a, b] = await Promise.all([ops.drain('Ops', from), ops.drain('Ops', from)]);
    expect((a?.moved.length ?? 0) + (b?.moved.length ?? 0)).toBe(8);
    const affinity = await h.bindings.getTenantAffinity('Ops', tenant);
    expect(affinity.hosts.reduce((n, x) => n + x.loadbalancers, 0)).toBe(8);
  });
});
