import { describe, expect, it } from 'vitest';
import { DynamoDbGroupStore } from '../../functions/adapters/dynamodb-group-store.js';
import { RequestScheduler } from '../../functions/services/request-scheduler.js';
import { lbIds, requests } from '../support/factories.js';
import { captureMetrics, schedulerHarness } from '../support/scheduler-harness.js';
import { forwarded } from '../support/service-fixtures.js';

const GROUPS = [
  { name: 'g1', hosts: ['a1', 'a2'] },
  { name: 'g2', hosts: ['b1', 'b2'] },
];
const HOSTS = ['a1', 'a2', 'b1', 'b2'];
const IN = { g1: ['a1', 'a2'], g2: ['b1', 'b2'] } as Record<string, string[]>;

type Deps = ConstructorParameters<typeof RequestScheduler>[0];
const depsOf = (scheduler: unknown) => (scheduler as { deps: Deps }).deps;

/** Delivers each message on its own (concurrently, as many scheduler invocations would) until none fails. */
async function deliverAll(h: Awaited<ReturnType<typeof schedulerHarness>>, bodies: unknown[]) {
  let pending = bodies;
  for (let round = 0; round < 10 && pending.length > 0; round++) {
    const results = await Promise.all(pending.map((b) => h.deliver([b])));
    pending = pending.filter((_, i) => (results[i]?.failures.length ?? 0) > 0);
  }
  expect(pending).toEqual([]);
}

describe('device groups on DynamoDB Local', () => {
  it('puts concurrent first load balancers of a new tenant in one group, counted in that group', async () => {
    // Prepare
    const h = await schedulerHarness({ hosts: HOSTS, groups: GROUPS });
    const tenant = lbIds().tenantId;
    const lbs = Array.from({ length: 12 }, () => lbIds({ tenantId: tenant }));
    const deps = depsOf(h.deps.scheduler);
    // Act: twelve schedulers whose random sources disagree about the group and the agent.
    const results = await Promise.all(
      lbs.map((ids, i) =>
        new RequestScheduler({ ...deps, random: () => (i % 4) / 4 + 0.01 }).decide(
          requests.createLoadbalancer(ids) as never,
        ),
      ),
    );
    // Assess
    const placed = results.map(forwarded);
    const groups = new Set(placed.map((r) => r.decision.group));
    expect(groups.size).toBe(1);
    const group = [...groups][0] as string;
    for (const r of placed) expect(IN[group]).toContain(r.decision.host);
    const rows = await new DynamoDbGroupStore(h.clients.db, h.tables.groups).listGroups('Test');
    expect(rows).toEqual([expect.objectContaining({ name: group, loadBalancers: 12 })]);
    for (const ids of lbs) expect(await h.bindings.getBinding(ids.loadbalancerId)).toMatchObject({ group });
  });

  it('holds each group to its load balancer limit exactly under concurrency, then says the environment is full', async () => {
    const h = await schedulerHarness({
      hosts: HOSTS,
      groups: GROUPS.map((g) => ({ ...g, limits: { maxLoadBalancers: 3 } })),
    });
    // Ten new tenants at once, each with one load balancer.
    const lbs = Array.from({ length: 10 }, () => lbIds());
    const { metrics } = await captureMetrics(() =>
      deliverAll(
        h,
        lbs.map((ids) => requests.createLoadbalancer(ids)),
      ),
    );
    const bound = (await Promise.all(lbs.map((ids) => h.bindings.getBinding(ids.loadbalancerId)))).filter(
      (b) => b !== undefined,
    );
    expect(bound.filter((b) => b.group === 'g1')).toHaveLength(3);
    expect(bound.filter((b) => b.group === 'g2')).toHaveLength(3);
    const rows = await new DynamoDbGroupStore(h.clients.db, h.tables.groups).listGroups('Test');
    expect(rows.map((r) => [r.name, r.loadBalancers])).toEqual([
      ['g1', 3],
      ['g2', 3],
    ]);
    const refused = [];
    for (const ids of lbs) {
      const [root] = await h.resources.loadRecords(ids.loadbalancerId);
      if (root?.provisioningStatus === 'ERROR') refused.push(root);
    }
    expect(refused).toHaveLength(4);
    for (const r of refused)
      expect(r.statusReason).toMatch(
        /rejected: (environment Test|device group g[12] of environment Test) is at capacity/,
      );
    expect(metrics).toContainEqual(
      expect.objectContaining({
        name: 'RejectedRequests',
        dimensions: { Reason: 'environment-at-capacity' },
      }),
    );
  });

  it('refuses a full group’s tenant a new load balancer (never another group), and takes it again once one is deleted', async () => {
    const h = await schedulerHarness({
      hosts: HOSTS,
      groups: [
        { name: 'g1', hosts: ['a1', 'a2'], limits: { maxLoadBalancers: 2 } },
        { name: 'g2', hosts: ['b1', 'b2'], limits: { maxLoadBalancers: 100 } },
      ],
      random: () => 0,
    });
    const tenant = lbIds().tenantId;
    const [first, second, third] = Array.from({ length: 3 }, () => lbIds({ tenantId: tenant }));
    // Both groups are empty: the tie goes to g1 (random 0); the tenant now lives there.
    await h.deliver([requests.createLoadbalancer(first as never)]);
    await h.deliver([requests.createLoadbalancer(second as never)]);
    expect((await h.bindings.getBinding(second?.loadbalancerId as string))?.group).toBe('g1');
    const { result, metrics } = await captureMetrics(() =>
      h.deliver([requests.createLoadbalancer(third as never)]),
    );
    expect(result.failures).toEqual([]);
    const [root] = await h.resources.loadRecords(third?.loadbalancerId as string);
    expect(root).toMatchObject({
      provisioningStatus: 'ERROR',
      statusReason: expect.stringContaining(
        'rejected: device group g1 of environment Test is at capacity (loadBalancers 2 of 2)',
      ),
    });
    expect(await h.bindings.getBinding(third?.loadbalancerId as string)).toBeUndefined();
    expect(metrics).toContainEqual(
      expect.objectContaining({ name: 'RejectedRequests', dimensions: { Reason: 'group-at-capacity' } }),
    );
    // The refused load balancer's next request (its listener) does not build it after all: it
    // would put a third load balancer on g1, so it is refused too, and nothing is bound or counted.
    const listener = requests.createListener(third as never, { protocol_port: 80 });
    await h.deliver([listener]);
    expect(await h.bindings.getBinding(third?.loadbalancerId as string)).toBeUndefined();
    const records = await h.resources.loadRecords(third?.loadbalancerId as string);
    // Both the listener and its load balancer (put in PENDING_UPDATE by the request) end in ERROR.
    for (const type of ['listener', 'loadbalancer'])
      expect(records.find((r) => r.type === type)).toMatchObject({
        provisioningStatus: 'ERROR',
        statusReason: expect.stringContaining('device group g1 of environment Test is at capacity'),
      });
    expect(
      (await new DynamoDbGroupStore(h.clients.db, h.tables.groups).listGroups('Test')).find(
        (r) => r.name === 'g1',
      )?.loadBalancers,
    ).toBe(2);
    // A new tenant still has room on g2.
    const other = lbIds();
    await h.deliver([requests.createLoadbalancer(other)]);
    expect((await h.bindings.getBinding(other.loadbalancerId))?.group).toBe('g2');
    // The agent releases a deleted load balancer's binding: the group's count drops with it.
    await h.bindings.release(first?.loadbalancerId as string);
    const fourth = lbIds({ tenantId: tenant });
    await h.deliver([requests.createLoadbalancer(fourth)]);
    expect((await h.bindings.getBinding(fourth.loadbalancerId))?.group).toBe('g1');
  });

  it('never refuses on its cached view of the groups: a group enabled a moment ago takes the next tenant', async () => {
    const h = await schedulerHarness({
      hosts: HOSTS,
      agentCacheMs: 60_000,
      groups: [
        { name: 'g1', hosts: ['a1', 'a2'], limits: { maxLoadBalancers: 1 } },
        { name: 'g2', hosts: ['b1', 'b2'] },
      ],
    });
    const store = new DynamoDbGroupStore(h.clients.db, h.tables.groups);
    await store.setAdminState('Test', 'g2', false);
    const first = lbIds();
    await h.deliver([requests.createLoadbalancer(first)]);
    expect((await h.bindings.getBinding(first.loadbalancerId))?.group).toBe('g1');
    // g1 full, g2 disabled: refused (the view read for it is now cached for a minute).
    const refused = lbIds();
    await h.deliver([requests.createLoadbalancer(refused)]);
    expect((await h.resources.loadRecords(refused.loadbalancerId))[0]?.statusReason).toContain(
      'environment Test is at capacity',
    );
    // The operator enables g2; the clock has not moved, so the cache would still say disabled.
    await store.setAdminState('Test', 'g2', true);
    const next = lbIds();
    await h.deliver([requests.createLoadbalancer(next)]);
    expect((await h.resources.loadRecords(next.loadbalancerId))[0]?.provisioningStatus).toBe(
      'PENDING_CREATE',
    );
    expect((await h.bindings.getBinding(next.loadbalancerId))?.group).toBe('g2');
  });

  it('sends no new tenant to a group disabled a moment ago, whatever its cached view says', async () => {
    const h = await schedulerHarness({ hosts: HOSTS, agentCacheMs: 60_000, groups: GROUPS, random: () => 0 });
    const store = new DynamoDbGroupStore(h.clients.db, h.tables.groups);
    const first = lbIds();
    await h.deliver([requests.createLoadbalancer(first)]);
    // Both groups empty: the tie goes to g1 (random 0), and the scheduler caches that view.
    expect((await h.bindings.getBinding(first.loadbalancerId))?.group).toBe('g1');
    await store.setAdminState('Test', 'g1', false);
    const next = lbIds();
    await h.deliver([requests.createLoadbalancer(next)]);
    expect((await h.bindings.getBinding(next.loadbalancerId))?.group).toBe('g2');
    // The disabled group's own tenant still grows there.
    const sibling = lbIds({ tenantId: first.tenantId });
    await h.deliver([requests.createLoadbalancer(sibling)]);
    expect((await h.bindings.getBinding(sibling.loadbalancerId))?.group).toBe('g1');
    const rows = await store.listGroups('Test');
    expect(rows.map((r) => [r.name, r.loadBalancers])).toEqual([
      ['g1', 2],
      ['g2', 1],
    ]);
  });

  it('never binds a tenant’s load balancer outside the group its claim names', async () => {
    const h = await schedulerHarness({ hosts: HOSTS, groups: GROUPS });
    const ids = lbIds();
    // Another scheduler claimed the tenant for g2 between this one's decision and its bind.
    expect(await h.bindings.claimTenant('Test', ids.tenantId, 'b1', undefined, h.clock(), 'g2')).toBe(true);
    const binding = { ...ids, env: 'Test', boundAt: h.clock() };
    expect(await h.bindings.bind({ ...binding, host: 'a1', group: 'g1' })).toEqual({
      created: false,
      claimChanged: true,
    });
    expect(await h.bindings.bind({ ...binding, host: 'b1', group: 'g2' })).toEqual({ created: true });
  });

  it('sends no new tenant to a disabled group, while its tenants keep growing there', async () => {
    const h = await schedulerHarness({ hosts: HOSTS, groups: GROUPS, random: () => 0 });
    const existing = lbIds();
    await h.deliver([requests.createLoadbalancer(existing)]);
    expect((await h.bindings.getBinding(existing.loadbalancerId))?.group).toBe('g1');
    await new DynamoDbGroupStore(h.clients.db, h.tables.groups).setAdminState('Test', 'g1', false);
    const newcomers = Array.from({ length: 4 }, () => lbIds());
    for (const ids of newcomers) await h.deliver([requests.createLoadbalancer(ids)]);
    for (const ids of newcomers) expect((await h.bindings.getBinding(ids.loadbalancerId))?.group).toBe('g2');
    const sibling = lbIds({ tenantId: existing.tenantId });
    await h.deliver([requests.createLoadbalancer(sibling)]);
    expect((await h.bindings.getBinding(sibling.loadbalancerId))?.group).toBe('g1');
  });

  it('fails over only inside the bound agent’s group: with its group dead, the request waits', async () => {
    const h = await schedulerHarness({ hosts: HOSTS, groups: GROUPS, random: () => 0 });
    const ids = lbIds();
    await h.deliver([requests.createLoadbalancer(ids)]);
    const binding = await h.bindings.getBinding(ids.loadbalancerId);
    expect(binding).toMatchObject({ host: 'a1', group: 'g1' });
    // a1 dies; only a2 of g1 can take its work.
    h.advance(80_000);
    for (const host of ['a2', 'b1', 'b2']) await h.beat(host);
    const pool = requests.createPool(ids);
    const failover = await h.deps.scheduler.decide(pool as never);
    expect(forwarded(failover).decision).toMatchObject({ kind: 'failover', host: 'a2', group: 'g1' });
    // Now a2 dies too: g2's agents are alive, but never take g1's load balancer.
    h.advance(80_000);
    for (const host of ['b1', 'b2']) await h.beat(host);
    expect(await h.deps.scheduler.decide(pool as never)).toMatchObject({ kind: 'waiting' });
    expect((await h.bindings.getBinding(ids.loadbalancerId))?.host).toBe('a1');
  });
});
