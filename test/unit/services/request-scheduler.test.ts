import { describe, expect, it } from 'vitest';
import { ContentionError } from '../../../functions/domain/errors.js';
import type { NetworkCatalog } from '../../../functions/domain/networks.js';
import { AgentDirectory } from '../../../functions/services/agent-directory.js';
import { AgentOperations } from '../../../functions/services/agent-operations.js';
import { RequestScheduler } from '../../../functions/services/request-scheduler.js';
import { lbIds, requests, uuid } from '../../support/factories.js';
import { InMemoryAgentRegistry } from '../../support/fakes/in-memory-agent-registry.js';
import { InMemoryBindingStore } from '../../support/fakes/in-memory-binding-store.js';
import { InMemoryGroupStore } from '../../support/fakes/in-memory-group-store.js';
import { InMemoryResourceStore } from '../../support/fakes/in-memory-resource-store.js';
import { InMemoryQueues } from '../../support/fakes/recording-queues.js';
import { overlappingCatalog, SUBNET_A, SUBNET_B } from '../../support/network-fixtures.js';
import { forwarded, manualClock, parsed } from '../../support/service-fixtures.js';

const ENV = 'Unit';
const DOWN = 75_000;

function fixture(
  options: {
    hosts?: string[];
    random?: () => number;
    selection?: 'random' | 'least-loaded';
    cacheMs?: number;
    networks?: NetworkCatalog;
    bindingCacheMs?: number;
  } = {},
) {
  const clock = manualClock();
  const registry = new InMemoryAgentRegistry();
  for (const host of options.hosts ?? ['a1', 'a2', 'a3'])
    registry.put({ env: ENV, host, heartbeatAt: clock.now() });
  const bindings = new InMemoryBindingStore(registry);
  const resources = new InMemoryResourceStore();
  const queues = new InMemoryQueues();
  const directory = new AgentDirectory(registry, options.cacheMs ?? 0, clock.now);
  const scheduler = new RequestScheduler({
    env: ENV,
    agentDownTimeMs: DOWN,
    selection: options.selection ?? 'random',
    resources,
    bindings,
    registry,
    directory,
    queue: queues,
    clock: clock.now,
    random: options.random ?? (() => 0),
    ...(options.networks ? { networks: options.networks } : {}),
    ...(options.bindingCacheMs !== undefined ? { bindingCacheMs: options.bindingCacheMs } : {}),
  });
  const operations = new AgentOperations({ registry, bindings, agentDownTimeMs: DOWN, clock: clock.now });
  return { clock, registry, bindings, resources, queues, scheduler, directory, operations };
}

describe('RequestScheduler (record → decide → forward) over in-memory ports', () => {
  it('records PENDING_CREATE, binds a new load balancer and forwards it to that agent', async () => {
    // Prepare
    const f = fixture({ random: () => 0.5 });
    const ids = lbIds();
    const request = parsed(requests.createLoadbalancer(ids));
    // Act
    const outcome = await f.scheduler.handle(request, 123);
    // Assess
    expect(outcome).toEqual({
      kind: 'forwarded',
      decision: { kind: 'random', host: 'a2', group: 'default', newTenant: true },
      bound: true,
    });
    expect(f.resources.get(ids.loadbalancerId, 'loadbalancer', ids.loadbalancerId)?.provisioningStatus).toBe(
      'PENDING_CREATE',
    );
    expect(await f.bindings.getBinding(ids.loadbalancerId)).toMatchObject({
      host: 'a2',
      tenantId: ids.tenantId,
    });
    expect(f.queues.forwarded).toEqual([
      {
        queueUrl: 'queue://a2',
        message: {
          request: expect.objectContaining({ requestId: request.requestId }),
          scheduling: { kind: 'random', host: 'a2', scheduledAt: f.clock.now(), env: ENV, submittedAt: 123 },
        },
      },
    ]);
    expect((await f.registry.getAgent(ENV, 'a2'))?.loadbalancerCount).toBe(1);
  });

  it('sends children to the bound agent, and a tenant’s next load balancer to its affinity agent', async () => {
    const f = fixture({ random: () => 0.9 });
    const ids = lbIds();
    await f.scheduler.handle(parsed(requests.createLoadbalancer(ids)));
    const child = await f.scheduler.handle(parsed(requests.createListener(ids)));
    const second = await f.scheduler.handle(
      parsed(requests.createLoadbalancer({ ...ids, loadbalancerId: lbIds().loadbalancerId })),
    );
    expect(forwarded(child).decision).toEqual({ kind: 'bound', host: 'a3', group: 'default' });
    expect(forwarded(second).decision).toEqual({ kind: 'affinity', host: 'a3', group: 'default' });
  });

  it('remembers a binding for a burst: its agent’s next requests read none, anything but that agent reads it again', async () => {
    const f = fixture({ cacheMs: 2_000, bindingCacheMs: 2_000 });
    const reads: string[] = [];
    const getBinding = f.bindings.getBinding.bind(f.bindings);
    f.bindings.getBinding = (id) => {
      reads.push(id);
      return getBinding(id);
    };
    const ids = lbIds();
    await f.scheduler.handle(parsed(requests.createLoadbalancer(ids))); // bound to a1 here: read once, unbound
    const listener = await f.scheduler.handle(parsed(requests.createListener(ids)));
    expect(forwarded(listener).decision).toMatchObject({ kind: 'bound', host: 'a1' });
    expect(reads).toHaveLength(1);
    // Remembered no longer than the agent list: read again after it.
    f.clock.advance(2_000);
    await f.scheduler.handle(parsed(requests.createPool(ids)));
    expect(reads).toHaveLength(2);
    // An operator moved it (a drain disables a1 first): once the list shows a1 inactive, the move is read.
    await f.bindings.moveBinding(ids.loadbalancerId, 'a1', 'a2', f.clock.now());
    await f.operations.setAdminState(ENV, 'a1', false);
    f.directory.invalidate(ENV);
    const after = await f.scheduler.handle(parsed(requests.createPool(ids, { name: 'second' })));
    expect(forwarded(after).decision).toMatchObject({ kind: 'bound', host: 'a2' });
    expect(reads).toHaveLength(3);
  });

  it('reports a least-loaded pick as least-loaded', async () => {
    const f = fixture({ selection: 'least-loaded' });
    await f.registry.adjustLoadbalancerCount(ENV, 'a1', 4);
    const outcome = await f.scheduler.handle(parsed(requests.createLoadbalancer(lbIds())));
    expect(forwarded(outcome).decision).toEqual({
      kind: 'least-loaded',
      host: 'a2',
      group: 'default',
      newTenant: true,
    });
  });

  it('fails over to an affinity agent when the bound agent is dead, keeping the binding', async () => {
    const f = fixture();
    const ids = lbIds();
    await f.scheduler.handle(parsed(requests.createLoadbalancer(ids))); // a1
    f.clock.advance(DOWN + 1);
    f.registry.put({ env: ENV, host: 'a2', heartbeatAt: f.clock.now() });
    const outcome = await f.scheduler.handle(parsed(requests.createListener(ids)));
    expect(forwarded(outcome).decision).toMatchObject({ kind: 'failover', host: 'a2' });
    expect((await f.bindings.getBinding(ids.loadbalancerId))?.host).toBe('a1');
  });

  it('follows the winner when another scheduler binds the load balancer first', async () => {
    const f = fixture({ random: () => 0 });
    const ids = lbIds();
    // A racing scheduler binds the same load balancer to a3 just before this one writes.
    f.bindings.onBind = (b) => {
      f.bindings.onBind = undefined;
      f.bindings.bindings.set(b.loadbalancerId, { ...b, host: 'a3' });
    };
    const outcome = await f.scheduler.handle(parsed(requests.createLoadbalancer(ids)));
    expect(outcome).toEqual({
      kind: 'forwarded',
      decision: { kind: 'bound', host: 'a3', group: 'default' },
      bound: false,
    });
    expect(f.queues.forwarded[0]?.queueUrl).toBe('queue://a3');
  });

  it('gives up with a retryable ContentionError when the binding never settles', async () => {
    const f = fixture();
    f.bindings.claimTenant = async () => false; // every claim lost
    const error = await f.scheduler.handle(parsed(requests.createLoadbalancer(lbIds()))).catch((e) => e);
    expect(error).toBeInstanceOf(ContentionError);
    expect(error.retryable).toBe(true);
    expect(f.queues.forwarded).toHaveLength(0);
  });

  it('forwards nothing and answers waiting (retried later) when every agent is dead or disabled', async () => {
    const f = fixture({ hosts: ['a1', 'a2'] });
    f.clock.advance(DOWN + 1);
    f.registry.put({ env: ENV, host: 'a2', heartbeatAt: f.clock.now(), adminStateUp: false });
    const outcome = await f.scheduler.handle(parsed(requests.createLoadbalancer(lbIds())));
    expect(outcome).toEqual({
      kind: 'waiting',
      reason: expect.stringContaining('no active agent in environment Unit'),
    });
    expect(f.queues.forwarded).toHaveLength(0);
  });

  it('refuses a load balancer bound in another environment', async () => {
    const f = fixture();
    const ids = lbIds();
    await f.scheduler.handle(parsed(requests.createLoadbalancer(ids)));
    const bound = f.bindings.bindings.get(ids.loadbalancerId);
    if (bound) bound.env = 'Other';
    const placement = await f.scheduler.decide(parsed(requests.createListener(ids)));
    expect(placement).toMatchObject({ kind: 'refused', refusal: { category: 'environment-mismatch' } });
  });

  it('never forwards to an agent that never reported a queue', async () => {
    const f = fixture({ hosts: ['a1'] });
    f.registry.put({ env: ENV, host: 'a0', heartbeatAt: f.clock.now(), queueUrl: undefined });
    const outcome = await f.scheduler.handle(parsed(requests.createLoadbalancer(lbIds())));
    expect(forwarded(outcome).decision.host).toBe('a1');
  });

  it('never binds to an agent deleted or disabled since its cached agent list was read', async () => {
    const f = fixture({ random: () => 0.5, cacheMs: 60_000 });
    await f.directory.list(ENV); // the cache now holds a1, a2, a3
    await f.registry.deleteAgent(ENV, 'a2'); // random 0.5 would pick a2
    const first = await f.scheduler.handle(parsed(requests.createLoadbalancer(lbIds())));
    expect(forwarded(first).decision.host).not.toBe('a2');
    await f.registry.setAdminState(ENV, 'a3', false);
    await f.directory.list(ENV);
    const second = await f.scheduler.handle(parsed(requests.createLoadbalancer(lbIds())));
    expect(forwarded(second).decision.host).toBe('a1');
    expect([...f.bindings.bindings.values()].map((b) => b.host)).not.toContain('a2');
  });

  it('after a drain returns nothing is bound to the drained agent, even for schedulers with a stale list', async () => {
    const f = fixture({ cacheMs: 60_000 });
    const tenant = lbIds();
    for (let i = 0; i < 3; i++)
      await f.scheduler.handle(parsed(requests.createLoadbalancer(lbIds({ tenantId: tenant.tenantId }))));
    await f.directory.list(ENV); // stale from here on: a1 looks enabled
    const report = await f.operations.drain(ENV, 'a1');
    expect(report.moved).toHaveLength(3);
    // The tenant's next load balancers: affinity no longer points at a1, and a1 is disabled.
    for (let i = 0; i < 3; i++)
      await f.scheduler.handle(parsed(requests.createLoadbalancer(lbIds({ tenantId: tenant.tenantId }))));
    expect((await f.bindings.listOnAgent(ENV, 'a1')).items).toEqual([]);
    // The tenant stays on one agent.
    expect(new Set([...f.bindings.bindings.values()].map((b) => b.host)).size).toBe(1);
    expect((await f.registry.getAgent(ENV, 'a1'))?.adminStateUp).toBe(false);
  });
});

describe("RequestScheduler and the environment's networks", () => {
  it('takes one VIP address on two networks (two route domains) and refuses it twice on one', async () => {
    const f = fixture({ networks: overlappingCatalog });
    const onA = await f.scheduler.handle(
      parsed(requests.createLoadbalancer(lbIds(), { vip_address: '10.0.0.10', vip_subnet_id: SUBNET_A })),
    );
    const onB = await f.scheduler.handle(
      parsed(requests.createLoadbalancer(lbIds(), { vip_address: '10.0.0.10', vip_subnet_id: SUBNET_B })),
    );
    expect([onA.kind, onB.kind]).toEqual(['forwarded', 'forwarded']);
    expect([...f.resources.claims.keys()].filter((k) => k.startsWith('vip#')).sort()).toEqual([
      `vip#${ENV}#10.0.0.10%2`,
      `vip#${ENV}#10.0.0.10%3`,
    ]);
    const again = await f.scheduler.handle(
      parsed(requests.createLoadbalancer(lbIds(), { vip_address: '10.0.0.10', vip_subnet_id: SUBNET_A })),
    );
    expect(again).toMatchObject({ kind: 'refused', refusal: { category: 'conflict' } });
    expect(again.kind === 'refused' && again.refusal.reason).toMatch(/VIP 10\.0\.0\.10 in route domain 2/);
  });

  it('refuses a member outside its subnet, and an unknown subnet, with the reason and records nothing', async () => {
    const f = fixture({ networks: overlappingCatalog });
    const ids = lbIds();
    await f.scheduler.handle(
      parsed(requests.createLoadbalancer(ids, { vip_address: '10.0.0.10', vip_subnet_id: SUBNET_A })),
    );
    const pool = parsed(requests.createPool(ids));
    await f.scheduler.handle(pool);
    const before = f.resources.records.size;
    const outside = await f.scheduler.handle(
      parsed(requests.createMember(ids, pool.object.id, { address: '172.16.0.5', subnet_id: SUBNET_A })),
    );
    expect(outside).toMatchObject({
      kind: 'refused',
      refusal: {
        category: 'invalid-message',
        reason: expect.stringContaining('172.16.0.5 is not in subnet'),
      },
    });
    const unknown = await f.scheduler.handle(
      parsed(requests.createMember(ids, pool.object.id, { address: '10.0.0.5', subnet_id: uuid() })),
    );
    expect(unknown).toMatchObject({ kind: 'refused', refusal: { category: 'not-found' } });
    expect(f.resources.records.size).toBe(before);
  });
});

describe('RequestScheduler: a request is recorded once (its guard)', () => {
  /** A load balancer with a pool, both scheduled; returns what later requests need. */
  async function withPool(f: ReturnType<typeof fixture>) {
    const ids = lbIds();
    const pool = parsed(requests.createPool(ids));
    for (const r of [parsed(requests.createLoadbalancer(ids)), pool]) forwarded(await f.scheduler.handle(r));
    return { ids, poolId: pool.object.id as string };
  }

  it('forwards a redelivery its object still holds again, recording nothing', async () => {
    const f = fixture();
    const { ids, poolId } = await withPool(f);
    const update = parsed(requests.update('pool', ids, { id: poolId, name: 'once' }));
    forwarded(await f.scheduler.handle(update));
    const records = structuredClone(await f.resources.loadRecords(ids.loadbalancerId));
    const sent = f.queues.forwarded.length;
    // Act: the same request again (its forward may have been lost).
    const again = await f.scheduler.handle(update);
    expect(again).toMatchObject({ kind: 'forwarded', again: true });
    expect(await f.resources.loadRecords(ids.loadbalancerId)).toEqual(records);
    expect(f.queues.forwarded.slice(sent).map((m) => m.message.request.requestId)).toEqual([
      update.requestId,
    ]);
  });

  it('drops a redelivery a newer request superseded: its desired state stays, nothing is forwarded', async () => {
    const f = fixture();
    const { ids, poolId } = await withPool(f);
    const older = parsed(requests.update('pool', ids, { id: poolId, name: 'older' }));
    const newer = parsed(requests.update('pool', ids, { id: poolId, name: 'newer' }));
    for (const r of [older, newer]) forwarded(await f.scheduler.handle(r));
    const sent = f.queues.forwarded.length;
    expect(await f.scheduler.handle(older)).toEqual({ kind: 'duplicate' });
    expect(f.resources.get(ids.loadbalancerId, 'pool', poolId)).toMatchObject({
      requestId: newer.requestId,
      desired: { name: 'newer' },
    });
    expect(f.queues.forwarded.length).toBe(sent);
  });

  it('never binds a load balancer again for its delete delivered after the delete was carried out', async () => {
    const f = fixture();
    const ids = lbIds();
    forwarded(await f.scheduler.handle(parsed(requests.createLoadbalancer(ids))));
    const remove = parsed(requests.delete('loadbalancer', ids, ids.loadbalancerId));
    forwarded(await f.scheduler.handle(remove));
    // The agent deleted it: its records and its binding are gone.
    f.resources.records.clear();
    await f.bindings.release(ids.loadbalancerId);
    const sent = f.queues.forwarded.length;
    expect(await f.scheduler.handle(remove)).toEqual({ kind: 'duplicate' });
    expect(await f.bindings.getBinding(ids.loadbalancerId)).toBeUndefined();
    expect(f.queues.forwarded.length).toBe(sent);
  });

  it('does not refuse a redelivery for what newer requests changed since it was recorded', async () => {
    const f = fixture();
    const { ids, poolId } = await withPool(f);
    const monitor = parsed(requests.createHealthMonitor(ids, poolId, { http_version: 1.1 }));
    forwarded(await f.scheduler.handle(monitor));
    const named = parsed(
      requests.update('healthmonitor', ids, { id: monitor.object.id, domain_name: 'a.example' }),
    );
    const plain = parsed(
      requests.update('healthmonitor', ids, { id: monitor.object.id, domain_name: null, http_version: 1.0 }),
    );
    for (const r of [named, plain]) forwarded(await f.scheduler.handle(r));
    // Checked against today's records, `named` would be refused (a Host name needs HTTP/1.1).
    expect(await f.scheduler.handle(named)).toEqual({ kind: 'duplicate' });
    expect(f.resources.get(ids.loadbalancerId, 'healthmonitor', monitor.object.id)).toMatchObject({
      provisioningStatus: 'PENDING_UPDATE',
      requestId: plain.requestId,
    });
  });

  it('records a refused request when it comes again and its cause is gone (a refusal leaves no guard)', async () => {
    const f = fixture();
    const ids = lbIds();
    const pool = parsed(requests.createPool(ids));
    expect(await f.scheduler.handle(pool)).toMatchObject({
      kind: 'refused',
      refusal: { category: 'not-found' },
    });
    forwarded(await f.scheduler.handle(parsed(requests.createLoadbalancer(ids))));
    const retried = forwarded(await f.scheduler.handle(pool));
    expect(retried.again).toBeUndefined();
    expect(f.resources.get(ids.loadbalancerId, 'pool', pool.object.id)).toMatchObject({
      provisioningStatus: 'PENDING_CREATE',
      requestId: pool.requestId,
    });
  });
});

describe("RequestScheduler: a load balancer's run recorded in one write", () => {
  async function withPool(f: ReturnType<typeof fixture>) {
    const ids = lbIds();
    const pool = parsed(requests.createPool(ids));
    for (const r of [parsed(requests.createLoadbalancer(ids)), pool]) forwarded(await f.scheduler.handle(r));
    return { ids, poolId: pool.object.id as string };
  }
  const members = (ids: ReturnType<typeof lbIds>, poolId: string, n: number) =>
    Array.from({ length: n }, (_, i) =>
      parsed(requests.createMember(ids, poolId, { address: `10.0.1.${i + 10}` })),
    );
  type Request = ReturnType<typeof parsed>;
  const run = (rs: Request[]) => rs.map((request) => ({ request }));
  const forwardAll = async (outcomes: Awaited<ReturnType<RequestScheduler['prepareRun']>>) =>
    Promise.all(outcomes.map((o) => (o.kind === 'placed' ? o.forward() : o)));

  it('records member creates in one write, places each and forwards them in order', async () => {
    const f = fixture({ bindingCacheMs: 60_000 });
    const { ids, poolId } = await withPool(f);
    const revision = f.resources.get(ids.loadbalancerId, 'loadbalancer', ids.loadbalancerId)
      ?.revision as number;
    const sent = f.queues.forwarded.length;
    const creates = members(ids, poolId, 5);
    // Act
    const outcomes = await f.scheduler.prepareRun(run(creates));
    const done = await forwardAll(outcomes);
    // Assess
    expect(f.resources.mergedWrites).toBe(1);
    expect(done).toEqual(creates.map(() => expect.objectContaining({ kind: 'forwarded', bound: false })));
    for (const m of creates)
      expect(f.resources.get(ids.loadbalancerId, 'member', m.object.id)).toMatchObject({
        provisioningStatus: 'PENDING_CREATE',
        requestId: m.requestId,
      });
    expect(f.resources.get(ids.loadbalancerId, 'loadbalancer', ids.loadbalancerId)?.revision).toBe(
      revision + 5,
    );
    expect(f.queues.forwarded.slice(sent).map((m) => m.message.request.requestId)).toEqual(
      creates.map((m) => m.requestId),
    );
  });

  it('records nothing together when one would be refused: one by one they give what they gave before', async () => {
    const f = fixture();
    const { ids, poolId } = await withPool(f);
    const [first, last] = members(ids, poolId, 2) as [ReturnType<typeof parsed>, ReturnType<typeof parsed>];
    const unknownPool = parsed(requests.createMember(ids, uuid(), { address: '10.0.1.99' }));
    const records = structuredClone(await f.resources.loadRecords(ids.loadbalancerId));
    expect(await f.scheduler.prepareRun(run([first, unknownPool, last]))).toEqual([]);
    expect(await f.resources.loadRecords(ids.loadbalancerId)).toEqual(records);
    expect(f.resources.mergedWrites).toBe(0);
    // The caller's way for the rest: each on its own.
    const one = await Promise.all([first, unknownPool, last].map((r) => f.scheduler.handle(r)));
    expect(one.map((o) => o.kind)).toEqual(['forwarded', 'refused', 'forwarded']);
    expect(one[1]).toMatchObject({
      refusal: {
        category: 'not-found',
        reason: `pool_id ${(unknownPool.object as { pool_id: string }).pool_id} is not a pool of load balancer ${ids.loadbalancerId}`,
      },
    });
  });

  it('finds a merged request again by its guard: its redelivery is forwarded again, recording nothing', async () => {
    const f = fixture();
    const { ids, poolId } = await withPool(f);
    const creates = members(ids, poolId, 3);
    await forwardAll(await f.scheduler.prepareRun(run(creates)));
    const records = structuredClone(await f.resources.loadRecords(ids.loadbalancerId));
    const sent = f.queues.forwarded.length;
    // Act: the run again (its forwards may have been lost).
    expect(await f.scheduler.prepareRun(run(creates))).toEqual([]);
    const again = [];
    for (const r of creates) again.push(await f.scheduler.handle(r));
    // Assess
    expect(again).toEqual(creates.map(() => expect.objectContaining({ kind: 'forwarded', again: true })));
    expect(f.resources.mergedWrites).toBe(1);
    expect(await f.resources.loadRecords(ids.loadbalancerId)).toEqual(records);
    expect(f.queues.forwarded.slice(sent).map((m) => m.message.request.requestId)).toEqual(
      creates.map((m) => m.requestId),
    );
  });

  it('merges only up to a request that needs its records checked, is said to be recorded, or is refused by a check', async () => {
    const f = fixture();
    const { ids, poolId } = await withPool(f);
    const [a, b, c] = members(ids, poolId, 3) as [Request, Request, Request];
    const listener = parsed(requests.createListener(ids));
    forwarded(await f.scheduler.handle(listener));
    const policy = parsed(requests.createL7Policy(ids, listener.object.id));
    // Another project's certificate: refused by its check.
    const certificate = parsed(
      requests.createPool(ids, { tls_container_ref: `lbaas/${ENV}/${uuid()}/cert` }),
    );
    expect(await f.scheduler.prepareRun([{ request: a }, { request: b }, { request: policy }])).toHaveLength(
      2,
    );
    expect(await f.scheduler.prepareRun([{ request: c, recorded: true }, { request: policy }])).toEqual([]);
    expect(await f.scheduler.prepareRun([{ request: c }, { request: certificate }])).toEqual([]);
    expect(f.resources.mergedWrites).toBe(1);
  });

  it('stops after a request that waits: the later ones wait behind it', async () => {
    const f = fixture();
    const { ids, poolId } = await withPool(f);
    f.clock.advance(DOWN + 1);
    const outcomes = await f.scheduler.prepareRun(run(members(ids, poolId, 3)));
    expect(outcomes).toEqual([expect.objectContaining({ kind: 'waiting' })]);
  });
});

describe('RequestScheduler and device groups', () => {
  it('counts the load balancers it places in its cached group scores: new tenants one after another alternate', async () => {
    // Prepare: two groups of 5, one agent each, the group rows cached for a minute.
    const clock = manualClock();
    const registry = new InMemoryAgentRegistry();
    registry.put({ env: ENV, host: 'east-1', heartbeatAt: clock.now(), group: 'east' });
    registry.put({ env: ENV, host: 'west-1', heartbeatAt: clock.now(), group: 'west' });
    const groups = new InMemoryGroupStore();
    const bindings = new InMemoryBindingStore(registry, groups);
    const definitions = ['east', 'west'].map((name) => ({ name, limits: { maxLoadBalancers: 5 } }));
    const scheduler = new RequestScheduler({
      env: ENV,
      agentDownTimeMs: DOWN,
      selection: 'random',
      resources: new InMemoryResourceStore(),
      bindings,
      registry,
      directory: new AgentDirectory(registry, 60_000, clock.now),
      queue: new InMemoryQueues(),
      clock: clock.now,
      // Ties always go to the first group by name: only the counting can send a tenant west.
      random: () => 0,
      groups: { store: groups, definitions, cacheMs: 60_000 },
    });
    // Act: four new tenants, one after another, no time passing.
    const tenants = [1, 2, 3, 4].map(() => lbIds());
    for (const ids of tenants) await scheduler.handle(parsed(requests.createLoadbalancer(ids)));
    // Assert: the lowest score wins each time (0/0 → east, 1/0 → west, 1/1 → east, 2/1 → west),
    // on one read of the group rows.
    const placed = await Promise.all(tenants.map((t) => bindings.getBinding(t.loadbalancerId)));
    expect(placed.map((b) => b?.group)).toEqual(['east', 'west', 'east', 'west']);
    expect(groups.reads).toBe(1);
    expect(groups.row(ENV, 'east').loadBalancers).toBe(2);
  });
});
