import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { NoActiveAgentError, RejectedRequestError } from '../../../functions/domain/errors.js';
import {
  failRecord,
  processFifoGroupsConcurrently,
} from '../../../functions/handlers/queue-record-handling.js';
import { lambdaContext, sqsEvent, sqsRecord } from '../../support/factories.js';

function options(maxAttempts = 3) {
  return {
    maxAttempts,
    retry: { baseSeconds: 2, maxSeconds: 60 },
    random: () => 0.9999,
    visibility: { delay: vi.fn(async () => undefined) },
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'T' }),
    onFinalFailure: vi.fn(async () => undefined),
  };
}

describe('failRecord', () => {
  it('delays a retryable failure by the back-off for its attempt and rethrows', async () => {
    const o = options();
    const error = new NoActiveAgentError('none');
    await expect(failRecord(sqsRecord('{}', { receiveCount: 2 }), error, o)).rejects.toBe(error);
    expect(o.visibility.delay).toHaveBeenCalledWith(expect.any(String), 4);
    expect(o.onFinalFailure).not.toHaveBeenCalled();
  });

  it('records the final failure and releases the message to the dead-letter queue on the last attempt', async () => {
    const o = options(3);
    const error = new NoActiveAgentError('none');
    await expect(failRecord(sqsRecord('{}', { receiveCount: 3 }), error, o)).rejects.toBe(error);
    expect(o.onFinalFailure).toHaveBeenCalledWith(error);
    expect(o.visibility.delay).toHaveBeenCalledWith(expect.any(String), 0);
  });

  it('treats a permanent error as final at once', async () => {
    const o = options(10);
    const error = new RejectedRequestError('conflict', 'no');
    await expect(failRecord(sqsRecord('{}'), error, o)).rejects.toBe(error);
    expect(o.onFinalFailure).toHaveBeenCalledOnce();
  });

  it('still fails the record when recording the failure itself fails', async () => {
    const o = options(1);
    o.onFinalFailure.mockRejectedValueOnce(new Error('dynamodb down'));
    o.visibility.delay.mockRejectedValueOnce(new Error('sqs down'));
    const error = new Error('boom');
    await expect(failRecord(sqsRecord('{}'), error, o)).rejects.toBe(error);
  });
});

describe('processFifoGroupsConcurrently', () => {
  const records = () => [
    sqsRecord('a1', { groupId: 'A', messageId: 'a1' }),
    sqsRecord('b1', { groupId: 'B', messageId: 'b1' }),
    sqsRecord('a2', { groupId: 'A', messageId: 'a2' }),
    sqsRecord('a3', { groupId: 'A', messageId: 'a3' }),
    sqsRecord('b2', { groupId: 'B', messageId: 'b2' }),
  ];

  it('handles each group in order and the groups side by side', async () => {
    const events: string[] = [];
    const handle = async (r: SQSRecord) => {
      events.push(`start ${r.body}`);
      // Each record waits a turn: were the groups handled one after the other, b1 could not start before a1 ended.
      await new Promise((resolve) => setTimeout(resolve, 5));
      events.push(`end ${r.body}`);
    };
    const response = await processFifoGroupsConcurrently(sqsEvent(records()), handle, lambdaContext());
    expect(response.batchItemFailures).toEqual([]);
    expect(events.indexOf('start b1')).toBeLessThan(events.indexOf('end a1'));
    const order = (group: string) => events.filter((e) => e.startsWith(`start ${group}`));
    expect(order('a')).toEqual(['start a1', 'start a2', 'start a3']);
    expect(order('b')).toEqual(['start b1', 'start b2']);
    // Within a group one at a time: a record starts only after the one before it ended.
    expect(events.indexOf('start a2')).toBeGreaterThan(events.indexOf('end a1'));
  });

  it('fails the rest of a group after a failed record, and no other group', async () => {
    const seen: string[] = [];
    const handle = async (r: SQSRecord) => {
      seen.push(r.body);
      if (r.body === 'a2') throw new Error('boom');
    };
    const response = await processFifoGroupsConcurrently(sqsEvent(records()), handle, lambdaContext());
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['a2', 'a3']);
    expect(seen).not.toContain('a3');
    expect(seen).toEqual(expect.arrayContaining(['a1', 'b1', 'b2']));
  });
});
