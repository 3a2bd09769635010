import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { isRetryable } from '../domain/errors.js';
import type { MessageVisibility, ResourceStore } from '../domain/ports.js';
import { failedRequestTargets } from '../domain/resource-state.js';
import { isFinalAttempt, retryDelaySeconds } from '../domain/retry-policy.js';
import { METRICS } from '../shared/metric-names.js';
import { emitMetric } from '../shared/telemetry.js';

/** How a queue consumer treats a record whose processing failed. */
export interface RetryOptions {
  maxAttempts: number;
  retry: { baseSeconds: number; maxSeconds: number };
  random: () => number;
  visibility: Pick<MessageVisibility, 'delay'>;
  logger: Logger;
  metrics: Metrics;
  /** Called once on the delivery SQS will not repeat, before the message goes to the dead-letter queue. */
  onFinalFailure: (error: unknown) => Promise<void>;
}

/** Puts a request that will never be applied in ERROR with the reason (its object, and its load balancer). */
export async function markRequestFailed(
  resources: Pick<ResourceStore, 'markError'>,
  request: Parameters<typeof failedRequestTargets>[0],
  env: string,
  reason: string,
  nowMs: number,
): Promise<void> {
  for (const target of failedRequestTargets(request, env)) await resources.markError(target, reason, nowMs);
}

export function receiveCount(record: SQSRecord): number {
  const n = Number(record.attributes?.ApproximateReceiveCount ?? '1');
  return Number.isFinite(n) && n > 0 ? n : 1;
}

/**
 * Fails a record so that SQS brings it back after an exponential back-off, or, on its last
 * allowed delivery, records the failure (ERROR status, metric) and lets it go to the
 * dead-letter queue. Always rethrows: the batch reports this record as failed.
 */
export async function failRecord(record: SQSRecord, error: unknown, options: RetryOptions): Promise<never> {
  const attempt = receiveCount(record);
  const context = { messageId: record.messageId, attempt, maxAttempts: options.maxAttempts };
  if (!isRetryable(error) || isFinalAttempt(attempt, options.maxAttempts)) {
    options.logger.error('giving up on message; it goes to the dead-letter queue', { ...context, error });
    emitMetric(options.metrics, METRICS.exhausted.name);
    await options
      .onFinalFailure(error)
      .catch((e) => options.logger.error('could not record the final failure', { ...context, error: e }));
    // Visible again at once: the next receive moves it to the dead-letter queue without waiting out the timeout.
    await options.visibility
      .delay(record.receiptHandle, 0)
      .catch((e) => options.logger.warn('could not release the message', { ...context, error: e }));
  } else {
    const seconds = retryDelaySeconds(attempt, options.retry, options.random);
    options.logger.warn('message will be retried', { ...context, retryInSeconds: seconds, error });
    await options.visibility
      .delay(record.receiptHandle, seconds)
      .catch((e) => options.logger.warn('could not delay the retry', { ...context, error: e }));
  }
  throw error;
}

/**
 * A FIFO batch handled one message group at a time per group, the groups side by side: order only
 * binds within a group (one load balancer), so a batch of ten load balancers' requests need not
 * wait for each other (Powertools' FIFO processor works a whole batch in order). A failed record
 * fails the rest of its group, as `skipGroupOnError` does, and no other group's.
 */
export async function processFifoGroupsConcurrently(
  event: SQSEvent,
  handleRecord: (record: SQSRecord) => Promise<unknown>,
  context: Context,
): Promise<SQSBatchResponse> {
  const groups = new Map<string, SQSRecord[]>();
  for (const record of event.Records) {
    const group = record.attributes?.MessageGroupId ?? '';
    const records = groups.get(group);
    if (records) records.push(record);
    else groups.set(group, [record]);
  }
  const responses = await Promise.all(
    [...groups.values()].map((records) =>
      processPartialResponse({ Records: records }, handleRecord, new SqsFifoPartialProcessorAsync(), {
        context,
        skipGroupOnError: true,
        throwOnFullBatchFailure: false,
      }),
    ),
  );
  return { batchItemFailures: responses.flatMap((r) => r.batchItemFailures) };
}
