import { describe, expect, it } from 'vitest';
import { wrapQueueHandler } from '../../functions/handlers/lambda-shape.js';
import { createTelemetry } from '../../functions/shared/telemetry.js';
import { sleep } from '../../functions/shared/timers.js';
import { EventSourcePoller } from '../../local/event-source-poller.js';
import { localClients, queueWithOneMessage, receiveRecords } from '../support/local-aws.js';

const { sqs } = localClients();

/** A poller over a fresh queue holding one message, its handler taking `ms` under a `timeoutMs` function timeout. */
async function pollerTaking(ms: number, timeoutMs: number) {
  const queue = await queueWithOneMessage(sqs, 'poller', { visibilityTimeoutSeconds: 2 });
  let overruns = 0;
  const errors: unknown[] = [];
  const poller = new EventSourcePoller({
    sqs,
    queueUrl: queue.url,
    queueArn: queue.arn,
    // The Lambda shape the local stack runs (middy answers just before the timeout).
    handler: wrapQueueHandler(
      async () => {
        await sleep(ms);
        return { batchItemFailures: [] };
      },
      createTelemetry('agent', 'it', 'a1'),
    ),
    functionName: 'poller-test',
    timeoutMs,
    onError: (e) => errors.push(e),
    onOverrun: () => {
      overruns += 1;
    },
  });
  return { queue, poller, errors, overruns: () => overruns };
}

describe('the local event source and a function’s timeout (fauxqs)', () => {
  it('counts an invocation that reached its timeout, and leaves its batch to come back as Lambda would', async () => {
    const p = await pollerTaking(1_500, 300);
    expect(await p.poller.pollOnce(1)).toBe(1);
    expect(p.overruns()).toBe(1);
    expect(p.errors).toEqual([expect.objectContaining({ name: 'TimeoutError' })]);
    // Not deleted: visible again after its visibility timeout.
    expect(await receiveRecords(sqs, p.queue, 5)).toHaveLength(1);
  });

  it('counts nothing for an invocation that ended in time, and deletes its batch', async () => {
    const p = await pollerTaking(10, 5_000);
    expect(await p.poller.pollOnce(1)).toBe(1);
    expect(p.overruns()).toBe(0);
    expect(p.errors).toEqual([]);
    expect(await receiveRecords(sqs, p.queue, 3)).toEqual([]);
  });
});
