import { DeleteMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { SqsQueueTaker } from '../../../functions/adapters/sqs-queue-taker.js';

const sqs = mockClient(SQSClient);
const URL = 'https://sqs.example/123/a1.fifo';
const record = (n: number) => ({ messageId: `m${n}`, receiptHandle: `rh${n}` }) as SQSRecord;

describe('SqsQueueTaker', () => {
  afterEach(() => sqs.reset());

  it('deletes ten at a time, and says which code a refused delete carried (fauxqs accepts any handle; SQS does not)', async () => {
    const batches: number[] = [];
    sqs.on(DeleteMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => {
      batches.push(input.Entries.length);
      return { Successful: input.Entries.map((e) => ({ Id: e.Id })), Failed: [] };
    });
    const taker = new SqsQueueTaker(new SQSClient({ region: 'us-east-1' }), URL);
    await taker.acknowledge(Array.from({ length: 12 }, (_, i) => record(i)));
    expect(batches).toEqual([10, 2]);

    sqs.on(DeleteMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: '0', Code: 'ReceiptHandleIsInvalid', SenderFault: true }],
    });
    await expect(taker.acknowledge([record(1)])).rejects.toThrow('delete refused: ReceiptHandleIsInvalid');
  });
});
