import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it, vi } from 'vitest';
import { NoActiveAgentError, RejectedRequestError } from '../../../functions/domain/errors.js';
import { failRecord } from '../../../functions/handlers/queue-record-handling.js';
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
