import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { SqsMessageVisibility } from '../../functions/adapters/sqs-message-visibility.js';
import { holdInFlight } from '../../functions/handlers/in-flight-hold.js';
import { localClients, queueWithOneMessage, receiveRecords } from '../support/local-aws.js';

const { sqs } = localClients();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('in-flight hold against fauxqs (queue visibility 60 s)', () => {
  it('a live worker keeps its message invisible past the hold; a dead one lets it back within the hold', async () => {
    const queue = await queueWithOneMessage(sqs, 'hold', { visibilityTimeoutSeconds: 60 }, 'm');
    const [first] = await receiveRecords(sqs, queue, 1);
    expect(first?.body).toBe('m');
    const hold = holdInFlight([first as SQSRecord], {
      visibility: new SqsMessageVisibility(sqs, queue.url),
      holdMs: 1000,
      onError: (e) => {
        throw e;
      },
    });
    // Alive: renewed every ~333 ms, so 2.5 hold-lengths later it is still in flight.
    await sleep(2500);
    expect(await receiveRecords(sqs, queue, 0)).toEqual([]);
    // Dies without settling the message: no more renewals, no delete.
    await hold.stop();
    const started = Date.now();
    let again: SQSRecord[] = [];
    while (again.length === 0 && Date.now() - started < 10_000) again = await receiveRecords(sqs, queue, 1);
    // Back within seconds, not the queue's 60 s visibility timeout.
    expect(again.map((r) => r.body)).toEqual(['m']);
  });
});
