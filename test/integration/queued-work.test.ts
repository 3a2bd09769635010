import { randomUUID } from 'node:crypto';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { SqsMessageVisibility } from '../../functions/adapters/sqs-message-visibility.js';
import { SqsQueueTaker } from '../../functions/adapters/sqs-queue-taker.js';
import { BigIpError, OutOfTimeError } from '../../functions/domain/errors.js';
import type { WriteTimes } from '../../functions/domain/invocation-time.js';
import type { QueueTaker } from '../../functions/domain/ports.js';
import { createAgentWorkerHandler } from '../../functions/handlers/agent-worker-handler.js';
import type {
  ApplyResult,
  ApplyTarget,
  LoadBalancerApplier,
} from '../../functions/services/load-balancer-applier.js';
import type { AgentConfig } from '../../functions/shared/config.js';
import { createTelemetry } from '../../functions/shared/telemetry.js';
import { sleep } from '../../functions/shared/timers.js';
import { freshQueue, localClients, receiveRecords } from '../support/local-aws.js';
import { captureMetrics } from '../support/scheduler-harness.js';

const { sqs } = localClients();
const TENANT = '3f2a9c0d7e6b4d1a8c5e9f0a1b2c3d4e';

/** A member create forwarded to agent a1, for its own load balancer (its own message group). */
function forwarded(loadbalancerId: string) {
  return JSON.stringify({
    request: {
      version: 1,
      requestId: randomUUID(),
      operation: 'create',
      resource: 'member',
      tenantId: TENANT,
      loadbalancerId,
      object: { id: randomUUID(), pool_id: randomUUID(), address: '10.0.0.5', protocol_port: 80 },
    },
    scheduling: { kind: 'bound', host: 'a1', scheduledAt: Date.now(), env: 'it' },
  });
}

async function send(url: string, loadbalancerId: string) {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: url,
      MessageBody: forwarded(loadbalancerId),
      MessageGroupId: loadbalancerId,
      MessageDeduplicationId: randomUUID(),
    }),
  );
}

/** The worker's handler on `queue`, with `applier` in place of the device work. */
function worker(
  queue: { url: string; arn: string },
  applier: LoadBalancerApplier,
  options: {
    busy: boolean;
    retrySeconds?: number;
    taker?: QueueTaker<SQSRecord>;
    markError?: (...args: unknown[]) => Promise<void>;
    clock?: () => number;
  },
) {
  const seconds = options.retrySeconds ?? 1;
  return createAgentWorkerHandler({
    config: {
      env: 'it',
      host: 'a1',
      agentQueueUrl: queue.url,
      maxAttempts: 3,
      retry: { baseSeconds: seconds, maxSeconds: seconds },
      inFlightHoldMs: 20_000,
    } as AgentConfig,
    applier,
    resources: { markError: options.markError ?? (async () => undefined) } as never,
    visibility: new SqsMessageVisibility(sqs, queue.url),
    telemetry: createTelemetry('agent', 'it', 'a1'),
    calls: [],
    clock: options.clock ?? Date.now,
    random: () => 0.5,
    queuedWork: {
      taker: options.taker ?? new SqsQueueTaker(sqs, queue.url, queue.arn),
      busy: () => options.busy,
      sleep,
    },
  });
}

/** A Lambda context with a minute left. */
function minuteLeft(): Context {
  const deadline = Date.now() + 60_000;
  return { getRemainingTimeInMillis: () => deadline - Date.now() } as Context;
}

const applied = (): ApplyResult => ({
  outcome: 'applied',
  commands: 1,
  atomic: false,
  skipped: [],
  statuses: 1,
  device: 'bigip1',
});

/**
 * An applier whose invocation's own change waits (as for its sync) until every other load balancer
 * was applied, at most 10 s; `failing` is refused with a transient error. `seen`: the others applied.
 */
function ownWaitsForOthers(own: string, others: readonly string[], failing?: string) {
  const seen: string[] = [];
  let othersDone: () => void = () => undefined;
  const allOthers = new Promise<void>((r) => {
    othersDone = r;
  });
  const applier = {
    async applyAll(changes: readonly (readonly ApplyTarget[])[]) {
      return Promise.allSettled(
        changes.map(async (change) => {
          const lb = change[0]?.loadbalancerId as string;
          if (lb === own) {
            await Promise.race([allOthers, sleep(10_000)]);
            return applied();
          }
          seen.push(lb);
          if (others.every((o) => seen.includes(o))) othersDone();
          if (lb === failing) throw new BigIpError('device busy', { device: 'bigip1', transient: true });
          return applied();
        }),
      );
    },
  } as unknown as LoadBalancerApplier;
  return { applier, seen };
}

describe('a worker takes its queue’s next messages while its change waits on a busy group (fauxqs)', () => {
  it('applies them in the same invocation, deletes what it handled, and leaves a failed one to its back-off', async () => {
    const queue = await freshQueue(sqs, 'taker', { visibilityTimeoutSeconds: 60 });
    const own = randomUUID();
    const others = Array.from({ length: 5 }, () => randomUUID());
    const failing = others[2] as string;
    // The event source's batch: one message, received as Lambda's poller would.
    await send(queue.url, own);
    const [first] = await receiveRecords(sqs, queue, 1);
    const event = { Records: [first as SQSRecord] };
    // Then five more arrive, each for another load balancer.
    for (const lb of others) await send(queue.url, lb);

    // The applier: the invocation's own change waits (for its sync) until the others were applied.
    const { applier, seen } = ownWaitsForOthers(own, others, failing);
    // Its back-off is longer than the invocation: the failed message is not taken again inside it.
    const { result: response, metrics } = await captureMetrics(() =>
      worker(queue, applier, { busy: true, retrySeconds: 3 })(event, minuteLeft()),
    );
    // Operators see how many it took (one metric per invocation).
    expect(metrics.filter((m) => m.name === 'MessagesTaken').map((m) => m.value)).toEqual([5]);

    // Its own record is done (Lambda deletes it); the five were taken and applied in this invocation.
    expect(response.batchItemFailures).toEqual([]);
    expect([...seen].sort()).toEqual([...others].sort());
    // Nothing visible now: four deleted, the failed one waits out its three-second back-off, and the
    // invocation's own record stays in flight for Lambda to delete.
    expect(await receiveRecords(sqs, queue, 0)).toEqual([]);
    const again = await receiveRecords(sqs, queue, 10);
    expect(again.map((m) => JSON.parse(m.body).request.loadbalancerId)).toEqual([failing]);
    expect(again[0]?.attributes.ApproximateReceiveCount).toBe('2');
  });

  it('takes nothing from the queue while the group is not busy', async () => {
    const queue = await freshQueue(sqs, 'quiet', { visibilityTimeoutSeconds: 60 });
    const own = randomUUID();
    const other = randomUUID();
    await send(queue.url, own);
    const [first] = await receiveRecords(sqs, queue, 1);
    await send(queue.url, other);
    const seen: string[] = [];
    const applier = {
      async applyAll(changes: readonly (readonly ApplyTarget[])[]) {
        await sleep(600);
        return changes.map((c) => {
          seen.push(c[0]?.loadbalancerId as string);
          return { status: 'fulfilled', value: applied() } as const;
        });
      },
    } as unknown as LoadBalancerApplier;
    await worker(queue, applier, { busy: false })({ Records: [first as SQSRecord] }, minuteLeft());
    expect(seen).toEqual([own]);
    const left = await receiveRecords(sqs, queue, 1);
    expect(left.map((m) => JSON.parse(m.body).request.loadbalancerId)).toEqual([other]);
  });

  it('a look at the queue that fails is logged and tried again: the message is still taken in', async () => {
    const queue = await freshQueue(sqs, 'retry-look', { visibilityTimeoutSeconds: 60 });
    const own = randomUUID();
    const other = randomUUID();
    await send(queue.url, own);
    const [first] = await receiveRecords(sqs, queue, 1);
    await send(queue.url, other);
    const real = new SqsQueueTaker(sqs, queue.url, queue.arn);
    let looks = 0;
    const flaky: QueueTaker<SQSRecord> = {
      take: (...args) => {
        looks += 1;
        return looks === 1 ? Promise.reject(new Error('throttled')) : real.take(...args);
      },
      acknowledge: (records) => real.acknowledge(records),
    };
    const { applier, seen } = ownWaitsForOthers(own, [other]);
    await worker(queue, applier, { busy: true, taker: flaky })(
      { Records: [first as SQSRecord] },
      minuteLeft(),
    );
    expect(looks).toBeGreaterThanOrEqual(2);
    expect(seen).toEqual([other]);
    expect(await receiveRecords(sqs, queue, 0)).toEqual([]);
  });
});

describe('a worker invocation’s time (fauxqs)', () => {
  it('hands its changes three quarters of what Lambda gave it to send in and nine tenths to confirm in; a change cut there comes back at once, not in ERROR', async () => {
    const queue = await freshQueue(sqs, 'cut', { visibilityTimeoutSeconds: 60 });
    const lb = randomUUID();
    await send(queue.url, lb);
    const [record] = await receiveRecords(sqs, queue, 1);
    const handed: WriteTimes[] = [];
    const applier = {
      async applyAll(changes: readonly (readonly ApplyTarget[])[], options: WriteTimes = {}) {
        handed.push(options);
        return changes.map(() => ({
          status: 'rejected',
          reason: new OutOfTimeError('stopped at the invocation’s sending time'),
        }));
      },
    } as unknown as LoadBalancerApplier;
    const marked: unknown[] = [];
    // A minute left at 1,000,000 ms: sending until three quarters of it, confirming until nine tenths.
    const { result: response, metrics } = await captureMetrics(() =>
      worker(queue, applier, {
        busy: false,
        clock: () => 1_000_000,
        markError: async (...args) => {
          marked.push(args);
        },
      })({ Records: [record as SQSRecord] }, { getRemainingTimeInMillis: () => 60_000 } as Context),
    );
    expect(handed).toEqual([{ sendUntil: 1_045_000, confirmUntil: 1_054_000 }]);
    // Retried: the record failed (back at once, below), nothing put in ERROR.
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record?.messageId }]);
    expect(marked).toEqual([]);
    expect(metrics.filter((m) => m.name === 'Applies').map((m) => m.dimensions.Outcome)).toEqual([
      'out-of-time',
    ]);
    // Back at once, not after a back-off: the cut was progress, the next attempt resumes it.
    const again = await receiveRecords(sqs, queue, 0);
    expect(again.map((m) => m.messageId)).toEqual([record?.messageId]);
    expect(again[0]?.attributes.ApproximateReceiveCount).toBe('2');
  });

  it('a direct call without Lambda’s context has no sending time, and takes nothing from the queue', async () => {
    const queue = await freshQueue(sqs, 'no-context', { visibilityTimeoutSeconds: 60 });
    const own = randomUUID();
    await send(queue.url, own);
    const [first] = await receiveRecords(sqs, queue, 1);
    await send(queue.url, randomUUID());
    const handed: (WriteTimes | undefined)[] = [];
    const applier = {
      async applyAll(changes: readonly (readonly ApplyTarget[])[], options?: WriteTimes) {
        handed.push(options);
        await sleep(300);
        return changes.map(() => ({ status: 'fulfilled', value: applied() }) as const);
      },
    } as unknown as LoadBalancerApplier;
    const handler = worker(queue, applier, { busy: true }) as (event: {
      Records: SQSRecord[];
    }) => Promise<unknown>;
    await handler({ Records: [first as SQSRecord] });
    expect(handed).toEqual([{}]);
    expect(await receiveRecords(sqs, queue, 1)).toHaveLength(1);
  });
});
