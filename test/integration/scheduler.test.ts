import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { DynamoDbRefusalLog } from '../../functions/adapters/dynamodb-refusal-log.js';
import { RequestScheduler } from '../../functions/services/request-scheduler.js';
import { EventSourcePoller } from '../../local/event-source-poller.js';
import { lbIds, requests, uuid } from '../support/factories.js';
import { captureMetrics, drainQueue, schedulerHarness } from '../support/scheduler-harness.js';
import { forwarded, parsed } from '../support/service-fixtures.js';

describe('scheduler pipeline against DynamoDB Local and fauxqs', () => {
  it('records a new load balancer as PENDING_CREATE, binds it, and forwards it to the chosen agent in its message group', async () => {
    // Prepare
    const h = await schedulerHarness({ random: () => 0 });
    const ids = lbIds();
    const create = requests.createLoadbalancer(ids);
    // Act
    const { result, metrics } = await captureMetrics(() => h.deliver([create]));
    // Assess
    expect(result.failures).toEqual([]);
    const [root] = await h.resources.loadRecords(ids.loadbalancerId);
    expect(root).toMatchObject({
      type: 'loadbalancer',
      provisioningStatus: 'PENDING_CREATE',
      tenantId: ids.tenantId,
      env: 'Test',
    });
    expect(await h.bindings.getBinding(ids.loadbalancerId)).toMatchObject({
      host: 'agent-1',
      tenantId: ids.tenantId,
    });
    const forwarded = await h.drainAgent('agent-1');
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]).toMatchObject({
      groupId: ids.loadbalancerId,
      dedupId: `${ids.tenantId}:${create.requestId}`,
    });
    expect(forwarded[0]?.body).toMatchObject({
      request: { requestId: create.requestId },
      scheduling: {
        kind: 'random',
        host: 'agent-1',
        submittedAt: Number(result.records[0]?.attributes.SentTimestamp),
      },
    });
    expect(metrics).toContainEqual(
      expect.objectContaining({ name: 'SchedulerDecisions', dimensions: { Decision: 'random' } }),
    );
    expect((await h.registry.getAgent('Test', 'agent-1'))?.loadbalancerCount).toBe(1);
  });

  it('sends a child request to the bound agent and marks the load balancer PENDING_UPDATE', async () => {
    const h = await schedulerHarness({ random: () => 0.5 });
    const ids = lbIds();
    await h.deliver([requests.createLoadbalancer(ids)]);
    const pool = requests.createPool(ids);
    const { result, metrics } = await captureMetrics(() => h.deliver([pool]));
    expect(result.failures).toEqual([]);
    const records = await h.resources.loadRecords(ids.loadbalancerId);
    expect(records.find((r) => r.type === 'pool')).toMatchObject({
      provisioningStatus: 'PENDING_CREATE',
      id: pool.object.id,
    });
    expect(records.find((r) => r.type === 'loadbalancer')).toMatchObject({
      provisioningStatus: 'PENDING_UPDATE',
    });
    expect(metrics).toContainEqual(
      expect.objectContaining({ name: 'SchedulerDecisions', dimensions: { Decision: 'bound' } }),
    );
    expect(
      (await h.drainAgent('agent-2')).map((m) => (m.body.request as { requestId: string }).requestId),
    ).toHaveLength(2);
  });

  it("binds a tenant's next load balancer to the agent it already has affinity with", async () => {
    let r = 0;
    const sequence = [0, 0.99];
    const h = await schedulerHarness({ random: () => sequence[r++ % 2] as number });
    const tenant = lbIds().tenantId;
    const first = lbIds({ tenantId: tenant });
    const second = lbIds({ tenantId: tenant });
    await h.deliver([requests.createLoadbalancer(first)]);
    const { metrics } = await captureMetrics(() => h.deliver([requests.createLoadbalancer(second)]));
    expect((await h.bindings.getBinding(second.loadbalancerId))?.host).toBe('agent-1');
    expect(metrics).toContainEqual(expect.objectContaining({ dimensions: { Decision: 'affinity' } }));
    const affinity = await h.bindings.getTenantAffinity('Test', tenant);
    expect(affinity.hosts).toEqual([expect.objectContaining({ host: 'agent-1', loadbalancers: 2 })]);
  });

  it('forwards a duplicate delivery once and changes no state the second time', async () => {
    const h = await schedulerHarness();
    const ids = lbIds();
    const pool = requests.createPool(ids);
    await h.deliver([requests.createLoadbalancer(ids), pool]);
    const member = requests.createMember(ids, pool.object.id as string);
    await h.deliver([member]);
    const before = await h.resources.loadRecords(ids.loadbalancerId);
    const { metrics, result } = await captureMetrics(() => h.deliver([member]));
    expect(result.failures).toEqual([]);
    expect(await h.resources.loadRecords(ids.loadbalancerId)).toEqual(before);
    expect(metrics.map((m) => m.name)).toEqual(['DuplicateRequests']);
    const host = (await h.bindings.getBinding(ids.loadbalancerId))?.host as string;
    const forwarded = await h.drainAgent(host);
    expect(
      forwarded.filter((m) => (m.body.request as { requestId: string }).requestId === member.requestId),
    ).toHaveLength(1);
  });

  it('drops a duplicate delivered after a newer request of the same object: the newer desired state stays', async () => {
    const h = await schedulerHarness();
    const ids = lbIds();
    const pool = requests.createPool(ids);
    const poolId = pool.object.id as string;
    const older = requests.update('pool', ids, { id: poolId, name: 'older' });
    const newer = requests.update('pool', ids, { id: poolId, name: 'newer' });
    await h.deliver([requests.createLoadbalancer(ids), pool]);
    for (const r of [older, newer]) expect((await h.deliver([r])).failures).toEqual([]);
    const before = await h.resources.loadRecords(ids.loadbalancerId);
    // The older request again, long after the agent queue's de-duplication window.
    h.advance(10 * 60_000);
    const { metrics, result } = await captureMetrics(() => h.deliver([older]));
    expect(result.failures).toEqual([]);
    expect(metrics.map((m) => m.name)).toEqual(['DuplicateRequests']);
    expect(await h.resources.loadRecords(ids.loadbalancerId)).toEqual(before);
    expect(before.find((r) => r.id === poolId)).toMatchObject({
      requestId: newer.requestId,
      desired: { name: 'newer' },
    });
  });

  /** Counts the DynamoDB transactions and SQS sends the harness's clients make while `act` runs. */
  async function counting<T>(h: Awaited<ReturnType<typeof schedulerHarness>>, act: () => Promise<T>) {
    const calls: string[] = [];
    const count = { step: 'initialize' as const, name: 'countCalls' };
    const counter =
      (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
      async (args: unknown) => {
        const name = context.commandName ?? '';
        if (name.startsWith('TransactWrite') || name.startsWith('SendMessage')) calls.push(name);
        return next(args);
      };
    h.clients.db.middlewareStack.add(counter as never, count);
    h.clients.sqs.middlewareStack.add(counter as never, count);
    try {
      return { calls, result: await act() };
    } finally {
      h.clients.db.middlewareStack.remove('countCalls');
      h.clients.sqs.middlewareStack.remove('countCalls');
    }
  }

  /** A load balancer with a pool, scheduled, and its agent's queue drained. */
  async function withPool(h: Awaited<ReturnType<typeof schedulerHarness>>) {
    const ids = lbIds();
    const pool = requests.createPool(ids);
    await h.deliver([requests.createLoadbalancer(ids), pool]);
    const host = (await h.bindings.getBinding(ids.loadbalancerId))?.host as string;
    await h.drainAgent(host);
    return { ids, poolId: pool.object.id as string, host };
  }
  const requestIds = (messages: { body: Record<string, unknown> }[]) =>
    messages.map((m) => (m.body.request as { requestId: string }).requestId);

  it("records a load balancer's burst in one transaction, then forwards it in one send, in order", async () => {
    const h = await schedulerHarness();
    const { ids, poolId, host } = await withPool(h);
    const root = async () =>
      (await h.resources.loadRecords(ids.loadbalancerId)).find((r) => r.type === 'loadbalancer');
    const revision = (await root())?.revision as number;
    const members = Array.from({ length: 8 }, (_, i) =>
      requests.createMember(ids, poolId, { address: `10.0.3.${i + 1}` }),
    );
    const { calls, result } = await counting(h, () => captureMetrics(() => h.deliver(members)));
    expect(result.result.failures).toEqual([]);
    expect(calls).toEqual(['TransactWriteItemsCommand', 'SendMessageBatchCommand']);
    expect(requestIds(await h.drainAgent(host))).toEqual(members.map((m) => m.requestId));
    const records = await h.resources.loadRecords(ids.loadbalancerId);
    expect(
      records.filter((r) => r.type === 'member' && r.provisioningStatus === 'PENDING_CREATE'),
    ).toHaveLength(members.length);
    expect(await root()).toMatchObject({ provisioningStatus: 'PENDING_UPDATE', revision: revision + 8 });
    for (const m of members) expect(await h.resources.isGuarded('Test', parsed(m), h.clock())).toBe(true);
  });

  it('recognises a merged request by its guard when its batch comes again: forwarded again, nothing recorded', async () => {
    const h = await schedulerHarness();
    const { ids, poolId, host } = await withPool(h);
    const members = Array.from({ length: 4 }, (_, i) =>
      requests.createMember(ids, poolId, { address: `10.0.4.${i + 1}` }),
    );
    const first = await counting(h, () => h.deliver(members));
    expect(first.calls.filter((c) => c.startsWith('TransactWrite'))).toHaveLength(1);
    await h.drainAgent(host);
    const before = await h.resources.loadRecords(ids.loadbalancerId);
    // Act: the same batch again (its forwards may have been lost).
    const { calls, result } = await counting(h, () => captureMetrics(() => h.deliver(members)));
    // Assess: each request's own transaction finds its guard, and all are sent again in one batch
    // (the agent queue drops them within its de-duplication window).
    expect(result.result.failures).toEqual([]);
    expect(calls).toEqual([
      'TransactWriteItemsCommand',
      ...members.map(() => 'TransactWriteItemsCommand'),
      'SendMessageBatchCommand',
    ]);
    expect(await h.resources.loadRecords(ids.loadbalancerId)).toEqual(before);
    expect(result.metrics.map((m) => m.name)).toEqual(members.map(() => 'DuplicateRequests'));
  });

  it('records a run holding a request that is refused one by one, with the one-by-one results', async () => {
    const h = await schedulerHarness();
    const { ids, poolId, host } = await withPool(h);
    const good = requests.createMember(ids, poolId, { address: '10.0.5.1' });
    const unknownPool = requests.createMember(ids, uuid(), { address: '10.0.5.2' });
    const last = requests.createMember(ids, poolId, { address: '10.0.5.3' });
    const { calls, result } = await counting(h, () =>
      captureMetrics(() => h.deliver([good, unknownPool, last])),
    );
    expect(result.result.failures).toEqual([]);
    // The merged transaction, cancelled by the missing pool, then each request's own.
    expect(calls.filter((c) => c.startsWith('TransactWrite'))).toHaveLength(4);
    expect(result.metrics).toContainEqual(
      expect.objectContaining({ name: 'RejectedRequests', dimensions: { Reason: 'not-found' } }),
    );
    const members = (await h.resources.loadRecords(ids.loadbalancerId)).filter((r) => r.type === 'member');
    expect(members.map((r) => r.id).sort()).toEqual([good.object.id, last.object.id].sort());
    expect(requestIds(await h.drainAgent(host))).toEqual([good.requestId, last.requestId]);
    expect(await h.resources.isGuarded('Test', parsed(unknownPool), h.clock())).toBe(false);
  });

  it('lets racing schedulers agree on one agent for one unbound load balancer', async () => {
    const h = await schedulerHarness();
    const ids = lbIds();
    const schedulers = Array.from({ length: 12 }, (_, i) => {
      const deps = (
        h.deps.scheduler as unknown as { deps: ConstructorParameters<typeof RequestScheduler>[0] }
      ).deps;
      return new RequestScheduler({ ...deps, random: () => (i % 3) / 3 + 0.01 });
    });
    const request = { ...requests.createListener(ids), operation: 'create' } as never;
    const decisions = (await Promise.all(schedulers.map((s) => s.decide(request)))).map(forwarded);
    const hosts = new Set(decisions.map((d) => d.decision.host));
    expect(hosts.size).toBe(1);
    expect(decisions.filter((d) => d.bound)).toHaveLength(1);
    const affinity = await h.bindings.getTenantAffinity('Test', ids.tenantId);
    expect(affinity.hosts).toEqual([expect.objectContaining({ host: [...hosts][0], loadbalancers: 1 })]);
  });

  it('puts concurrent first load balancers of a new tenant on one agent', async () => {
    const h = await schedulerHarness();
    const tenant = lbIds().tenantId;
    const lbs = Array.from({ length: 10 }, () => lbIds({ tenantId: tenant }));
    const deps = (h.deps.scheduler as unknown as { deps: ConstructorParameters<typeof RequestScheduler>[0] })
      .deps;
    const results = await Promise.all(
      lbs.map((ids, i) =>
        new RequestScheduler({ ...deps, random: () => (i % 3) / 3 + 0.01 }).decide({
          ...requests.createLoadbalancer(ids),
        } as never),
      ),
    );
    expect(new Set(results.map((r) => forwarded(r).decision.host)).size).toBe(1);
    const affinity = await h.bindings.getTenantAffinity('Test', tenant);
    expect(affinity.hosts).toHaveLength(1);
    expect(affinity.hosts[0]?.loadbalancers).toBe(10);
  });

  it('rejects poison and hostile messages with a reason, acknowledges them and forwards nothing', async () => {
    const h = await schedulerHarness();
    const ids = lbIds();
    const bodies = [
      'not json at all',
      '{"version":1}',
      JSON.stringify({ ...requests.createLoadbalancer(ids), operation: 'explode' }),
      JSON.stringify({ ...requests.createLoadbalancer(ids), loadbalancerId: '../../mgmt/tm/sys' }),
      JSON.stringify(requests.createLoadbalancer(ids, { name: '<script>alert(1)</script>' })),
      JSON.stringify(requests.createMember(ids, uuid(), { address: '10.0.0.1/../../x' })),
      JSON.stringify({ ...requests.createLoadbalancer(ids), tenantId: 'tenant~evil' }),
      'x'.repeat(70_000),
    ];
    const { result, metrics } = await captureMetrics(() => h.deliver(bodies));
    expect(result.failures).toEqual([]);
    const rejected = metrics.filter((m) => m.name === 'RejectedRequests');
    expect(rejected).toHaveLength(bodies.length);
    expect(rejected.every((m) => m.dimensions.Reason === 'invalid-message')).toBe(true);
    expect(await h.resources.loadRecords(ids.loadbalancerId)).toEqual([]);
    for (const host of Object.keys(h.agentQueues)) expect(await h.drainAgent(host)).toEqual([]);
  });

  it('marks a known object ERROR with the reason when an update to it is invalid', async () => {
    const h = await schedulerHarness();
    const ids = lbIds();
    const pool = requests.createPool(ids);
    await h.deliver([requests.createLoadbalancer(ids), pool]);
    const member = requests.createMember(ids, pool.object.id as string);
    await h.deliver([member]);
    const bad = requests.update('member', ids, { id: member.object.id, weight: 9000 });
    const { result } = await captureMetrics(() => h.deliver([bad]));
    expect(result.failures).toEqual([]);
    const stored = (await h.resources.loadRecords(ids.loadbalancerId)).find((r) => r.type === 'member');
    expect(stored?.provisioningStatus).toBe('ERROR');
    expect(stored?.statusReason).toContain('object.weight');
  });

  it('refuses an update that would change an immutable field and says which', async () => {
    const h = await schedulerHarness();
    const ids = lbIds();
    const pool = requests.createPool(ids);
    await h.deliver([requests.createLoadbalancer(ids), pool]);
    const member = requests.createMember(ids, pool.object.id as string, { address: '10.0.1.5' });
    await h.deliver([member]);
    const bad = requests.update('member', ids, { id: member.object.id, weight: 5, address: '10.0.1.6' });
    const { metrics } = await captureMetrics(() => h.deliver([bad]));
    expect(metrics).toContainEqual(
      expect.objectContaining({ name: 'RejectedRequests', dimensions: { Reason: 'immutable-field' } }),
    );
    const stored = (await h.resources.loadRecords(ids.loadbalancerId)).find((r) => r.type === 'member');
    expect(stored?.statusReason).toContain(
      'update cannot change address (stored "10.0.1.5", given "10.0.1.6")',
    );
    expect(stored?.desired).toMatchObject({ weight: 1 });
  });

  it("rejects a request whose tenant does not own the load balancer and leaves the owner's objects alone", async () => {
    const h = await schedulerHarness();
    const owner = lbIds();
    await h.deliver([requests.createLoadbalancer(owner)]);
    const before = await h.resources.loadRecords(owner.loadbalancerId);
    const intruder = { ...owner, tenantId: lbIds().tenantId };
    const { metrics, result } = await captureMetrics(() =>
      h.deliver([
        requests.createListener(intruder),
        requests.update('loadbalancer', intruder, { id: owner.loadbalancerId, admin_state_up: false }),
      ]),
    );
    expect(result.failures).toEqual([]);
    expect(metrics.filter((m) => m.dimensions.Reason === 'tenant-mismatch')).toHaveLength(2);
    expect(await h.resources.loadRecords(owner.loadbalancerId)).toEqual(before);
  });

  it('rejects children of unknown load balancers and duplicate creates', async () => {
    const h = await schedulerHarness();
    const ids = lbIds();
    const create = requests.createLoadbalancer(ids);
    await h.deliver([create]);
    const { metrics } = await captureMetrics(() =>
      h.deliver([
        requests.createPool(lbIds()),
        { ...create, requestId: uuid() },
        requests.delete('member', ids, uuid()),
      ]),
    );
    // Two load balancers' groups, handled side by side: the reasons, in no order between groups.
    expect(metrics.map((m) => m.dimensions.Reason).sort()).toEqual(['conflict', 'not-found', 'not-found']);
  });

  it('retries with back-off while no agent is active, then marks the objects ERROR on the last attempt', async () => {
    const h = await schedulerHarness({ maxAttempts: 3 });
    const ids = lbIds();
    h.advance(80_000); // every agent's heartbeat is now older than agentDownTime
    const create = requests.createLoadbalancer(ids);
    const first = await captureMetrics(() => h.deliver([create], { receiveCount: 1 }));
    expect(first.result.failures).toHaveLength(1);
    expect(first.metrics.map((m) => m.name)).toEqual(['NoActiveAgent']);
    expect((await h.resources.loadRecords(ids.loadbalancerId))[0]?.provisioningStatus).toBe('PENDING_CREATE');

    const last = await captureMetrics(() => h.deliver([create], { receiveCount: 3 }));
    expect(last.result.failures).toHaveLength(1);
    expect(last.metrics.map((m) => m.name)).toEqual(['NoActiveAgent', 'RequestsExhausted']);
    const [root] = await h.resources.loadRecords(ids.loadbalancerId);
    expect(root?.provisioningStatus).toBe('ERROR');
    expect(root?.statusReason).toBe(
      'no active agent in environment Test: none of the 3 agents of environment Test is active',
    );
    expect(await h.bindings.getBinding(ids.loadbalancerId)).toBeUndefined();
  });

  it('ends a request that cannot be scheduled in the dead-letter queue, through the real queue and event source', async () => {
    const h = await schedulerHarness({ maxAttempts: 2 });
    h.advance(80_000);
    const ids = lbIds();
    const create = requests.createLoadbalancer(ids);
    await h.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: h.requestQueue.url,
        MessageBody: JSON.stringify(create),
        MessageGroupId: ids.loadbalancerId,
        MessageDeduplicationId: create.requestId,
      }),
    );
    const poller = new EventSourcePoller({
      sqs: h.clients.sqs,
      queueUrl: h.requestQueue.url,
      queueArn: h.requestQueue.arn,
      handler: h.handler,
      functionName: 'scheduler',
    });
    // Two deliveries (back-off 1 s each), then SQS moves it to the dead-letter queue.
    const deadline = Date.now() + 15_000;
    let dead: Awaited<ReturnType<typeof drainQueue>> = [];
    while (Date.now() < deadline && dead.length === 0) {
      await poller.pollOnce(1);
      const attrs = await h.clients.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: h.requestQueue.dlqUrl,
          AttributeNames: ['ApproximateNumberOfMessages'],
        }),
      );
      if (Number(attrs.Attributes?.ApproximateNumberOfMessages) > 0)
        dead = await drainQueue(h.clients.sqs, h.requestQueue.dlqUrl);
    }
    expect(poller.invocations).toBe(2);
    expect(dead).toHaveLength(1);
    expect(dead[0]?.body).toMatchObject({ requestId: create.requestId });
    const [root] = await h.resources.loadRecords(ids.loadbalancerId);
    expect(root?.provisioningStatus).toBe('ERROR');
    expect(root?.statusReason).toContain('no active agent in environment Test');
  });

  it('serves a load balancer whose bound agent is dead through an agent with tenant affinity, keeping the binding', async () => {
    const h = await schedulerHarness({ random: () => 0 });
    const tenant = lbIds().tenantId;
    const a = lbIds({ tenantId: tenant });
    await h.deliver([requests.createLoadbalancer(a)]); // agent-1
    // agent-2 gains affinity with the tenant through a second binding made while agent-1 was down
    await h.registry.setAdminState('Test', 'agent-1', false);
    const b = lbIds({ tenantId: tenant });
    await h.deliver([requests.createLoadbalancer(b)]);
    expect((await h.bindings.getBinding(b.loadbalancerId))?.host).toBe('agent-2');
    await h.drainAgent('agent-2');

    const { metrics } = await captureMetrics(() => h.deliver([requests.createListener(a)]));
    expect(metrics).toContainEqual(expect.objectContaining({ dimensions: { Decision: 'failover' } }));
    expect((await h.drainAgent('agent-2')).map((m) => (m.body.scheduling as { kind: string }).kind)).toEqual([
      'failover',
    ]);
    expect((await h.bindings.getBinding(a.loadbalancerId))?.host).toBe('agent-1');

    await h.registry.setAdminState('Test', 'agent-1', true);
    const back = await captureMetrics(() => h.deliver([requests.createPool(a)]));
    expect(back.metrics).toContainEqual(expect.objectContaining({ dimensions: { Decision: 'bound' } }));
  });
});

describe('request ids are per tenant', () => {
  it('never lets another tenant reusing a request id take a load balancer over, even after the idempotency window', async () => {
    const h = await schedulerHarness();
    const owner = lbIds();
    const create = requests.createLoadbalancer(owner);
    await h.deliver([create]);
    const before = await h.resources.loadRecords(owner.loadbalancerId);
    // Tenant U re-sends T's request id for T's load balancer, under its own tenant id.
    const hijack = { ...create, tenantId: lbIds().tenantId };
    const { metrics } = await captureMetrics(() => h.deliver([hijack]));
    expect(metrics).toContainEqual(
      expect.objectContaining({ name: 'RejectedRequests', dimensions: { Reason: 'tenant-mismatch' } }),
    );
    expect(await h.resources.loadRecords(owner.loadbalancerId)).toEqual(before);
  });

  it('processes another tenant’s valid request that happens to reuse a request id, instead of dropping it', async () => {
    const h = await schedulerHarness();
    const [t, u] = [lbIds(), lbIds()];
    const first = requests.createLoadbalancer(t);
    await h.deliver([first]);
    const second = { ...requests.createLoadbalancer(u), requestId: first.requestId };
    const { metrics } = await captureMetrics(() => h.deliver([second]));
    expect(metrics.map((m) => m.name)).not.toContain('DuplicateRequests');
    expect((await h.resources.loadRecords(u.loadbalancerId)).map((r) => r.provisioningStatus)).toEqual([
      'PENDING_CREATE',
    ]);
    // Both reached an agent queue: their de-duplication ids differ.
    const forwarded = (
      await Promise.all(Object.keys(h.agentQueues).map((host) => h.drainAgent(host)))
    ).flat();
    expect(forwarded.map((f) => f.dedupId).sort()).toEqual(
      [`${t.tenantId}:${first.requestId}`, `${u.tenantId}:${first.requestId}`].sort(),
    );
  });
});

describe('binding checks its agent in the same transaction (DynamoDB Local)', () => {
  it('refuses a bind to an agent that is deleted, disabled or dead, and binds to one that is alive', async () => {
    const h = await schedulerHarness();
    const bind = (host: string, lb = lbIds()) =>
      h.bindings.bind(
        { loadbalancerId: lb.loadbalancerId, env: h.env, host, tenantId: lb.tenantId, boundAt: h.clock() },
        { agentLiveAfter: h.clock() - 75_000 },
      );
    await h.registry.deleteAgent(h.env, 'agent-1');
    expect(await bind('agent-1')).toEqual({ created: false, agentUnavailable: true });
    await h.registry.setAdminState(h.env, 'agent-2', false);
    expect(await bind('agent-2')).toEqual({ created: false, agentUnavailable: true });
    h.advance(80_000);
    await h.beat('agent-2'); // agent-3's heartbeat is now too old
    expect(await bind('agent-3')).toEqual({ created: false, agentUnavailable: true });
    await h.registry.setAdminState(h.env, 'agent-2', true);
    expect(await bind('agent-2')).toEqual({ created: true });
  });
});

describe('a refusal waits for its sender (DynamoDB Local)', () => {
  it('keeps each refused request by its id, and the last refusal of an object, as long as the idempotency record', async () => {
    const h = await schedulerHarness();
    const owner = lbIds();
    await h.deliver([requests.createLoadbalancer(owner, { vip_address: '10.77.0.1' })]);
    const [a, b] = [lbIds(), lbIds()];
    const first = requests.createLoadbalancer(a, { vip_address: '10.77.0.1' });
    // Another request for the same object, refused in the same batch: neither overwrites the other.
    const again = { ...first, requestId: `${first.requestId}-again` };
    const other = requests.createLoadbalancer(b, { vip_address: '10.77.0.1' });
    const refusedAt = h.clock();
    await h.deliver([first, again, other]);

    const log = new DynamoDbRefusalLog(h.clients.db, h.tables.idempotency);
    const asked = [first, again, other].map((r) => ({ tenantId: r.tenantId, requestId: r.requestId }));
    const found = await log.forRequests(h.env, asked, h.clock());
    const why = (lb: string) =>
      `load balancer ${lb} cannot be created: VIP 10.77.0.1 is already used by loadbalancer ${owner.loadbalancerId} in environment ${h.env}`;
    expect(found.sort((x, y) => x.requestId.localeCompare(y.requestId))).toEqual(
      [
        { request: first, lb: a.loadbalancerId },
        { request: again, lb: a.loadbalancerId },
        { request: other, lb: b.loadbalancerId },
      ]
        .map(({ request, lb }) => ({
          env: h.env,
          tenantId: request.tenantId,
          requestId: request.requestId,
          loadbalancerId: lb,
          operation: 'create',
          resource: 'loadbalancer',
          objectId: lb,
          category: 'conflict',
          reason: why(lb),
          refusedAt,
        }))
        .sort((x, y) => x.requestId.localeCompare(y.requestId)),
    );
    // A request of another tenant with the same id is another request.
    expect(
      await log.forRequests(h.env, [{ tenantId: lbIds().tenantId, requestId: first.requestId }], h.clock()),
    ).toEqual([]);
    expect(await log.forRequests('Other', asked, h.clock())).toEqual([]);
    expect((await log.lastForObject(h.env, b.loadbalancerId, h.clock()))?.requestId).toBe(other.requestId);
    // Accepted requests leave nothing there.
    expect(await log.forRequests(h.env, [{ tenantId: owner.tenantId, requestId: 'x' }], h.clock())).toEqual(
      [],
    );
    expect(await log.lastForObject(h.env, owner.loadbalancerId, h.clock())).toBeUndefined();

    // As long as the request's idempotency record: gone when that time is up, whether or not
    // DynamoDB's TTL has deleted the item yet.
    const ttlMs = h.config.idempotencyTtlSeconds * 1000;
    expect(await log.forRequests(h.env, asked, refusedAt + ttlMs - 1000)).toHaveLength(3);
    expect(await log.forRequests(h.env, asked, refusedAt + ttlMs + 1000)).toEqual([]);
    expect(await log.lastForObject(h.env, b.loadbalancerId, refusedAt + ttlMs + 1000)).toBeUndefined();
  });
});
