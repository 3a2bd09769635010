import { describe, expect, it } from 'vitest';
import type { ForwardedRequest } from '../../../functions/domain/lbaas-request.js';
import { StrandedRequestReclaimer } from '../../../functions/services/stranded-request-reclaimer.js';
import { lbIds, requests } from '../../support/factories.js';
import { InMemoryAgentRegistry } from '../../support/fakes/in-memory-agent-registry.js';
import { InMemoryBindingStore } from '../../support/fakes/in-memory-binding-store.js';
import { InMemoryQueues } from '../../support/fakes/recording-queues.js';
import { manualClock, parsed } from '../../support/service-fixtures.js';

const ENV = 'Unit';
const DOWN = 75_000;

function fixture(options: { maxPerAgent?: number; agentQueues?: Record<string, string> } = {}) {
  const clock = manualClock();
  const registry = new InMemoryAgentRegistry();
  for (const host of ['a1', 'a2', 'a3']) registry.put({ env: ENV, host, heartbeatAt: clock.now() });
  const bindings = new InMemoryBindingStore();
  const queues = new InMemoryQueues();
  const reclaimer = new StrandedRequestReclaimer({
    env: ENV,
    registry,
    bindings,
    inbox: queues,
    queue: queues,
    agentDownTimeMs: DOWN,
    clock: clock.now,
    ...options,
  });
  /** Puts a request for a load balancer bound to `host` in that agent's queue, as the scheduler would. */
  const strand = async (host: string, ids = lbIds()) => {
    await bindings.bind({
      loadbalancerId: ids.loadbalancerId,
      env: ENV,
      host,
      tenantId: ids.tenantId,
      boundAt: 1,
    });
    const message: ForwardedRequest = {
      request: parsed(requests.createListener(ids)),
      scheduling: { kind: 'bound', host, scheduledAt: 1, env: ENV },
    };
    queues.enqueue(`queue://${host}`, JSON.stringify(message));
    return { ids, message };
  };
  const kill = (host: string) => registry.put({ env: ENV, host, heartbeatAt: clock.now() - DOWN - 1 });
  return { clock, registry, bindings, queues, reclaimer, strand, kill };
}

describe('StrandedRequestReclaimer over in-memory ports', () => {
  it('moves a dead agent’s requests to the failover agent, whole and re-addressed, in order', async () => {
    const f = fixture();
    const ids = lbIds();
    const first = await f.strand('a1', ids);
    const second = await f.strand('a1', lbIds({ tenantId: ids.tenantId }));
    await f.bindings.bind({
      loadbalancerId: 'other',
      env: ENV,
      host: 'a2',
      tenantId: ids.tenantId,
      boundAt: 2,
    });
    f.kill('a1');
    const report = await f.reclaimer.sweep();
    expect(report).toEqual({ moved: 2, byAgent: { a1: 2 } });
    expect(f.queues.count('queue://a1')).toBe(0);
    // The tenant's affinity agent takes them; the request travels unchanged.
    expect(f.queues.forwarded.map((x) => [x.queueUrl, x.message.request.requestId])).toEqual([
      ['queue://a2', first.message.request.requestId],
      ['queue://a2', second.message.request.requestId],
    ]);
    expect(f.queues.forwarded[0]?.message.request).toEqual(first.message.request);
    expect(f.queues.forwarded[0]?.message.scheduling).toEqual({
      kind: 'failover',
      host: 'a2',
      scheduledAt: f.clock.now(),
      env: ENV,
    });
  });

  it('leaves live agents’ queues alone', async () => {
    const f = fixture();
    await f.strand('a1');
    expect(await f.reclaimer.sweep()).toEqual({ moved: 0, byAgent: {} });
    expect(f.queues.count('queue://a1')).toBe(1);
  });

  it('releases the messages again when no active agent can take them', async () => {
    const f = fixture();
    await f.strand('a1');
    for (const host of ['a1', 'a2', 'a3']) f.kill(host);
    expect((await f.reclaimer.sweep()).moved).toBe(0);
    expect(await f.queues.receive('queue://a1', { max: 10 })).toHaveLength(1); // visible again
  });

  it('leaves a message it cannot parse for its owner and its dead-letter queue', async () => {
    const f = fixture();
    f.queues.enqueue('queue://a1', '{"not":"a forwarded request"}');
    f.kill('a1');
    expect((await f.reclaimer.sweep()).moved).toBe(0);
    expect(f.queues.count('queue://a1')).toBe(1);
    expect(f.queues.forwarded).toHaveLength(0);
  });

  it('bounds one sweep’s work per dead agent', async () => {
    const f = fixture({ maxPerAgent: 10 });
    for (let i = 0; i < 25; i++) await f.strand('a1');
    f.kill('a1');
    expect((await f.reclaimer.sweep()).moved).toBe(10);
    expect(f.queues.count('queue://a1')).toBe(15);
  });

  it('also moves the requests left in the queue of an agent that no longer exists', async () => {
    const f = fixture({
      agentQueues: { a1: 'queue://a1', a2: 'queue://a2', a3: 'queue://a3', gone: 'queue://gone' },
    });
    const ids = lbIds();
    await f.bindings.bind({
      loadbalancerId: ids.loadbalancerId,
      env: ENV,
      host: 'a2',
      tenantId: ids.tenantId,
      boundAt: 1,
    });
    const message: ForwardedRequest = {
      request: parsed(requests.createListener(ids)),
      scheduling: { kind: 'bound', host: 'gone', scheduledAt: 1, env: ENV },
    };
    f.queues.enqueue('queue://gone', JSON.stringify(message)); // its agent was deleted with --force
    expect(await f.reclaimer.sweep()).toEqual({ moved: 1, byAgent: { gone: 1 } });
    expect(f.queues.forwarded.map((x) => x.queueUrl)).toEqual(['queue://a2']);
    expect(f.queues.count('queue://gone')).toBe(0);
  });
});
