import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { freshQueue, localClients } from '../support/local-aws.js';

// The local SQS (fauxqs, its FIFO receive matched to SQS by local/fifo-batches.ts) shapes FIFO
// batches as SQS does: as many messages of a group as fit, in order, and nothing more of a group
// while one of its messages is in flight. Expectations come from SQS's documented FIFO delivery.

const { sqs } = localClients();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function send(url: string, messages: [group: string, body: string][]) {
  await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: url,
      Entries: messages.map(([group, body], i) => ({
        Id: String(i),
        MessageBody: body,
        MessageGroupId: group,
        MessageDeduplicationId: body,
      })),
    }),
  );
}

async function receive(url: string, max = 10): Promise<Message[]> {
  const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: max }));
  return out.Messages ?? [];
}

const bodies = (ms: readonly Message[]) => ms.map((m) => m.Body);

describe('FIFO batches of the local SQS', () => {
  it('returns as many messages of one group as fit, in order, then other groups', async () => {
    const queue = await freshQueue(sqs, 'fifo-batch');
    await send(queue.url, [
      ['a', 'a1'],
      ['a', 'a2'],
      ['a', 'a3'],
      ['b', 'b1'],
    ]);
    expect(bodies(await receive(queue.url))).toEqual(['a1', 'a2', 'a3', 'b1']);

    await send(queue.url, [
      ['c', 'c1'],
      ['c', 'c2'],
      ['c', 'c3'],
    ]);
    expect(bodies(await receive(queue.url, 2))).toEqual(['c1', 'c2']);
  });

  it('holds back a group while any of its messages is in flight, and gives them back in order', async () => {
    const queue = await freshQueue(sqs, 'fifo-order');
    await send(queue.url, [
      ['a', 'a1'],
      ['a', 'a2'],
      ['a', 'a3'],
    ]);
    const [a1, a2, a3] = await receive(queue.url);
    await send(queue.url, [['a', 'a4']]);
    expect(await receive(queue.url)).toEqual([]);

    // a1 done; a3 then a2 made visible again (a worker's back-off, out of order): a2, a3, a4 follow.
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: a1?.ReceiptHandle }));
    for (const m of [a3, a2])
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queue.url,
          ReceiptHandle: m?.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
    const again = await receive(queue.url);
    expect(bodies(again)).toEqual(['a2', 'a3', 'a4']);

    // In flight until their visibility lapses: back in order too.
    for (const m of again.slice(0, 2).reverse())
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queue.url,
          ReceiptHandle: m.ReceiptHandle,
          VisibilityTimeout: 1,
        }),
      );
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queue.url,
        ReceiptHandle: again[2]?.ReceiptHandle,
        VisibilityTimeout: 1,
      }),
    );
    await sleep(1_200);
    expect(bodies(await receive(queue.url))).toEqual(['a2', 'a3', 'a4']);
  });

  it('moves a message past its receive count to the dead-letter queue and hands out the next of its group', async () => {
    const queue = await freshQueue(sqs, 'fifo-dlq', { maxReceiveCount: 1 });
    await send(queue.url, [
      ['a', 'a1'],
      ['a', 'a2'],
    ]);
    const [first] = await receive(queue.url, 1);
    expect(first?.Body).toBe('a1');
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queue.url,
        ReceiptHandle: first?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    expect(bodies(await receive(queue.url))).toEqual(['a2']);
    expect(bodies(await receive(queue.dlqUrl))).toEqual(['a1']);
  });
});
