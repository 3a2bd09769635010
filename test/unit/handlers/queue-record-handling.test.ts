import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { LeaseBusyError, OutOfTimeError, RejectedRequestError } from '../../../functions/domain/errors.js';
import {
  type Deferred,
  failRecord,
  failureOf,
  processFifoBatch,
  type RecordResult,
} from '../../../functions/handlers/queue-record-handling.js';
import { sqsRecord } from '../../support/factories.js';

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
  it('delays a retryable failure by the back-off for its attempt and reports the record failed', async () => {
    const o = options();
    const failure = { reason: 'no active agent', retryable: true };
    expect(await failRecord(sqsRecord('{}', { receiveCount: 2 }), failure, o)).toBe('failed');
    expect(o.visibility.delay).toHaveBeenCalledWith(expect.any(String), 4);
    expect(o.onFinalFailure).not.toHaveBeenCalled();
  });

  it('lets a change cut at its invocation’s sending time come back at once (it resumes), still counting the attempt', async () => {
    const o = options(3);
    const cut = failureOf(new OutOfTimeError('stopped at the invocation’s sending time'));
    expect(await failRecord(sqsRecord('{}', { receiveCount: 2 }), cut, o)).toBe('failed');
    expect(o.visibility.delay).toHaveBeenCalledWith(expect.any(String), 0);
    expect(o.onFinalFailure).not.toHaveBeenCalled();
    // Its last delivery is still its last: the dead-letter queue, with the reason.
    expect(await failRecord(sqsRecord('{}', { receiveCount: 3 }), cut, o)).toBe('failed');
    expect(o.onFinalFailure).toHaveBeenCalledWith('stopped at the invocation’s sending time');
  });

  it('records the final failure and releases the message to the dead-letter queue on the last attempt', async () => {
    const o = options(3);
    const failure = { reason: 'no active agent', retryable: true };
    expect(await failRecord(sqsRecord('{}', { receiveCount: 3 }), failure, o)).toBe('failed');
    expect(o.onFinalFailure).toHaveBeenCalledWith('no active agent');
    expect(o.visibility.delay).toHaveBeenCalledWith(expect.any(String), 0);
  });

  it('treats a permanent failure as final at once', async () => {
    const o = options(10);
    expect(await failRecord(sqsRecord('{}'), failureOf(new RejectedRequestError('conflict', 'no')), o)).toBe(
      'failed',
    );
    expect(o.onFinalFailure).toHaveBeenCalledWith('no');
  });

  it('still fails the record when recording the failure itself fails', async () => {
    const o = options(1);
    o.onFinalFailure.mockRejectedValueOnce(new Error('dynamodb down'));
    o.visibility.delay.mockRejectedValueOnce(new Error('sqs down'));
    expect(await failRecord(sqsRecord('{}'), failureOf(new Error('boom')), o)).toBe('failed');
  });
});

describe('failureOf', () => {
  it('retries what may pass (unknown errors too) and not what cannot', () => {
    expect(failureOf(new LeaseBusyError('held'))).toMatchObject({ reason: 'held', retryable: true });
    expect(failureOf(new Error('boom'))).toMatchObject({ reason: 'boom', retryable: true });
    expect(failureOf(new RejectedRequestError('conflict', 'no'))).toMatchObject({ retryable: false });
  });
});

describe('processFifoBatch: per-record results as one partial-batch response', () => {
  const records = () => [
    sqsRecord('a1', { groupId: 'A', messageId: 'a1' }),
    sqsRecord('b1', { groupId: 'B', messageId: 'b1' }),
    sqsRecord('a2', { groupId: 'A', messageId: 'a2' }),
    sqsRecord('a3', { groupId: 'A', messageId: 'a3' }),
    sqsRecord('b2', { groupId: 'B', messageId: 'b2' }),
  ];

  it('handles each group in order and the groups side by side', async () => {
    const events: string[] = [];
    const handle = async (r: SQSRecord): Promise<RecordResult> => {
      events.push(`start ${r.body}`);
      // Each record waits a turn: were the groups handled one after the other, b1 could not start before a1 ended.
      await new Promise((resolve) => setImmediate(resolve));
      events.push(`end ${r.body}`);
      return 'done';
    };
    const response = await processFifoBatch(records(), handle);
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
    const handle = async (r: SQSRecord): Promise<RecordResult> => {
      seen.push(r.body);
      return r.body === 'a2' ? 'failed' : 'done';
    };
    const response = await processFifoBatch(records(), handle);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['a2', 'a3']);
    expect(seen).not.toContain('a3');
    expect(seen).toEqual(expect.arrayContaining(['a1', 'b1', 'b2']));
  });

  it('hands the records it left unhandled to be released, so they wait behind the failed one and not their timeout', async () => {
    const released: string[][] = [];
    const handle = async (r: SQSRecord): Promise<RecordResult> => (r.body === 'a1' ? 'failed' : 'done');
    const response = await processFifoBatch(records(), handle, async (unhandled) => {
      released.push(unhandled.map((r) => r.body));
    });
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['a1', 'a2', 'a3']);
    // The failed record keeps its own back-off; the rest of its group only, in order, in one call.
    expect(released).toEqual([['a2', 'a3']]);
    const none: string[][] = [];
    await processFifoBatch(
      records(),
      async () => 'done',
      async (u) => {
        none.push(u.map((r) => r.body));
      },
    );
    expect(none).toEqual([]);
  });

  it('starts every deferred last part after every record was handled, together and in record order', async () => {
    const events: string[] = [];
    const handle = async (r: SQSRecord): Promise<RecordResult | Deferred> => {
      events.push(`handle ${r.body}`);
      await new Promise((resolve) => setImmediate(resolve));
      return {
        finish: async () => {
          events.push(`finish ${r.body}`);
          return 'done';
        },
      };
    };
    const response = await processFifoBatch(records(), handle);
    expect(response.batchItemFailures).toEqual([]);
    const finishes = events.filter((e) => e.startsWith('finish'));
    // None before the last record was handled; within a group in its order.
    expect(events.slice(0, 5).every((e) => e.startsWith('handle'))).toBe(true);
    expect(finishes.filter((e) => e.includes('a'))).toEqual(['finish a1', 'finish a2', 'finish a3']);
    expect(finishes.filter((e) => e.includes('b'))).toEqual(['finish b1', 'finish b2']);
  });

  it('fails a record whose deferred part failed and every later one of its group, handled or not, and releases those', async () => {
    const released: string[][] = [];
    const finished: string[] = [];
    const handle = async (r: SQSRecord): Promise<RecordResult | Deferred> => ({
      finish: async () => {
        finished.push(r.body);
        if (r.body === 'a2') throw new Error('the send failed');
        return 'done';
      },
    });
    const response = await processFifoBatch(records(), handle, async (unhandled) => {
      released.push(unhandled.map((r) => r.body));
    });
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['a2', 'a3']);
    // a3 was handled and its part finished too: it comes back behind a2 all the same.
    expect(finished.sort()).toEqual(['a1', 'a2', 'a3', 'b1', 'b2']);
    expect(released).toEqual([['a3']]);
  });

  it('fails a group from its earliest failure, a deferred part or a record handled after it', async () => {
    const handle = async (r: SQSRecord): Promise<RecordResult | Deferred> => {
      if (r.body === 'a3') return 'failed';
      return { finish: async () => (r.body === 'a1' ? 'failed' : 'done') };
    };
    const response = await processFifoBatch(records(), handle);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['a1', 'a2', 'a3']);
  });

  it('takes a handler that throws as a failed record', async () => {
    const handle = async (r: SQSRecord): Promise<RecordResult> => {
      if (r.body === 'b1') throw new Error('boom');
      return 'done';
    };
    const response = await processFifoBatch(records(), handle);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['b1', 'b2']);
  });
});
