import { describe, expect, it } from 'vitest';
import { DynamoDbHealthStore } from '../../functions/adapters/dynamodb-health-store.js';
import { DynamoDbResourceStore } from '../../functions/adapters/dynamodb-resource-store.js';
import { SqsAgentQueue } from '../../functions/adapters/sqs-agent-queue.js';
import { SqsQueueInbox } from '../../functions/adapters/sqs-queue-inbox.js';
import { type ForwardedRequest, forwardable } from '../../functions/domain/lbaas-request.js';
import type { AgentQueue, HealthStore, QueueInbox, ResourceStore } from '../../functions/domain/ports.js';
import { lbIds, requests } from '../support/factories.js';
import { InMemoryHealthStore } from '../support/fakes/in-memory-health-store.js';
import { InMemoryResourceStore } from '../support/fakes/in-memory-resource-store.js';
import { InMemoryQueues } from '../support/fakes/recording-queues.js';
import { freshQueue, freshTables, localClients } from '../support/local-aws.js';
import { parsed } from '../support/service-fixtures.js';

// The same cases against the in-memory queues and health store the unit tests use and the SQS and
// DynamoDB adapters they stand in for.

const ENV = 'Contract';

const queues: [string, () => Promise<{ queue: AgentQueue; inbox: QueueInbox; url: string }>][] = [
  [
    'in-memory',
    async () => {
      const q = new InMemoryQueues();
      return { queue: q, inbox: q, url: 'queue://a1' };
    },
  ],
  [
    'SQS',
    async () => {
      const { sqs } = localClients();
      const { url } = await freshQueue(sqs, 'contract');
      return { queue: new SqsAgentQueue(sqs), inbox: new SqsQueueInbox(sqs), url };
    },
  ],
];

const message = (ids: { tenantId: string; loadbalancerId: string }, name: string): ForwardedRequest => ({
  request: forwardable(parsed(requests.update('loadbalancer', ids, { id: ids.loadbalancerId, name }))),
  scheduling: { kind: 'bound', host: 'a1', scheduledAt: 1, env: ENV },
});

describe.each(queues)('AgentQueue and QueueInbox contract: %s', (_name, make) => {
  it('hands a load balancer’s requests out in order, one at a time, and counts what is in the queue', async () => {
    const { queue, inbox, url } = await make();
    const ids = lbIds();
    for (const name of ['one', 'two']) await queue.forward(url, message(ids, name));
    expect(await inbox.depth(url)).toBe(2);
    const names = (ms: { body: string }[]) =>
      ms
        .map((m) => (JSON.parse(m.body) as ForwardedRequest).request.object as { name?: string })
        .map((o) => o.name);
    const first = await inbox.receive(url, { max: 10, visibilitySeconds: 30 });
    expect(names(first)[0]).toBe('one');
    // While the first is in flight, FIFO holds the rest of its group back.
    if (first.length === 1) expect(await inbox.receive(url, { max: 10, visibilitySeconds: 30 })).toEqual([]);
    expect(await inbox.depth(url)).toBe(2);
    await inbox.remove(url, (first[0] as { receiptHandle: string }).receiptHandle);
    if (first.length === 1) {
      const second = await inbox.receive(url, { max: 10, visibilitySeconds: 30 });
      expect(names(second)).toEqual(['two']);
      await inbox.release(url, (second[0] as { receiptHandle: string }).receiptHandle);
    }
    expect(await inbox.depth(url)).toBe(1);
  });

  it('takes forwards asked for side by side, each in its own load balancer’s group', async () => {
    const { queue, inbox, url } = await make();
    const lbs = [lbIds(), lbIds(), lbIds(), lbIds()];
    await Promise.all(lbs.map((ids) => queue.forward(url, message(ids, ids.loadbalancerId))));
    expect(await inbox.depth(url)).toBe(4);
    const all = await inbox.receive(url, { max: 10, visibilitySeconds: 30 });
    expect(
      all.map((m) => {
        const forwarded = JSON.parse(m.body) as ForwardedRequest;
        return [forwarded.request.loadbalancerId, (forwarded.request.object as { name?: string }).name];
      }),
    ).toEqual(expect.arrayContaining(lbs.map((ids) => [ids.loadbalancerId, ids.loadbalancerId])));
    expect(all).toHaveLength(4);
  });

  it('hands different load balancers’ requests out side by side, and again once released', async () => {
    const { queue, inbox, url } = await make();
    const lbs = [lbIds(), lbIds(), lbIds()];
    for (const ids of lbs) await queue.forward(url, message(ids, ids.loadbalancerId));
    const all = await inbox.receive(url, { max: 10, visibilitySeconds: 30 });
    expect(all.map((m) => (JSON.parse(m.body) as ForwardedRequest).request.loadbalancerId).sort()).toEqual(
      lbs.map((ids) => ids.loadbalancerId).sort(),
    );
    for (const m of all) await inbox.release(url, m.receiptHandle);
    expect(await inbox.receive(url, { max: 10, visibilitySeconds: 30 })).toHaveLength(3);
  });
});

const health: [string, () => Promise<{ resources: ResourceStore; health: HealthStore }>][] = [
  [
    'in-memory',
    async () => {
      const resources = new InMemoryResourceStore();
      return { resources, health: new InMemoryHealthStore(resources) };
    },
  ],
  [
    'DynamoDB',
    async () => {
      const { db, dynamodb } = localClients();
      const tables = await freshTables(dynamodb);
      return {
        resources: new DynamoDbResourceStore(db, tables),
        health: new DynamoDbHealthStore(db, tables),
      };
    },
  ],
];

describe.each(health)('HealthStore contract: %s', (_name, make) => {
  it('writes an operating status only on an ACTIVE object still at the revision and status read', async () => {
    const { resources, health: store } = await make();
    const ids = lbIds();
    const pool = requests.createPool(ids);
    await resources.recordRequest(parsed(requests.createLoadbalancer(ids)), ENV, 1);
    await resources.recordRequest(parsed(pool), ENV, 1);
    const pending = await resources.loadRecords(ids.loadbalancerId);
    // Not ACTIVE yet: an apply is on its way.
    expect(
      await store.writeOperatingStatuses(
        pending.map((record) => ({ record, to: 'ONLINE' })),
        2,
      ),
    ).toBe(0);
    await resources.recordOutcomes(
      pending.map((record) => ({ kind: 'active', record, operatingStatus: 'OFFLINE' }) as const),
      3,
    );
    const active = await resources.loadRecords(ids.loadbalancerId);
    expect(
      await store.writeOperatingStatuses(
        active.map((record) => ({ record, to: 'ONLINE' })),
        4,
      ),
    ).toBe(2);
    // Read before that write: its status is no longer what it read.
    expect(
      await store.writeOperatingStatuses(
        active.map((record) => ({ record, to: 'ERROR' })),
        5,
      ),
    ).toBe(0);
    expect((await resources.loadRecords(ids.loadbalancerId)).map((r) => r.operatingStatus)).toEqual([
      'ONLINE',
      'ONLINE',
    ]);
  });

  it('keeps each listener’s statistics by load balancer, and deletes a load balancer’s', async () => {
    const { health: store } = await make();
    const stats = (loadbalancerId: string, listenerId: string, bitsIn: number) => ({
      loadbalancerId,
      listenerId,
      totals: { bitsIn, bitsOut: 0, totConns: 1, slowKilled: 0 },
      activeConnections: 0,
      units: {},
      unit: 'bigip1',
      observedAt: 10,
    });
    await store.saveStatistics([stats('lb1', 'l1', 8), stats('lb1', 'l2', 16), stats('lb2', 'l3', 24)]);
    await store.saveStatistics([stats('lb1', 'l1', 80)]);
    const saved = await store.loadStatistics('lb1');
    expect(saved.map((s) => [s.listenerId, s.totals.bitsIn]).sort()).toEqual([
      ['l1', 80],
      ['l2', 16],
    ]);
    await store.deleteStatistics('lb1');
    expect(await store.loadStatistics('lb1')).toEqual([]);
    expect(await store.loadStatistics('lb2')).toHaveLength(1);
  });
});
