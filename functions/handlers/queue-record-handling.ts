import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { isRetryable, OutOfTimeError } from '../domain/errors.js';
import type { MessageVisibility, ResourceStore } from '../domain/ports.js';
import { failedRequestTargets } from '../domain/resource-state.js';
import { isFinalAttempt, retryDelaySeconds } from '../domain/retry-policy.js';
import { METRICS } from '../shared/metric-names.js';
import { emitMetric } from '../shared/telemetry.js';

/** What handling one record came to: done (acknowledged), or failed (SQS brings it back; the dead-letter queue after the last attempt). */
export type RecordResult = 'done' | 'failed';

/** Why a record could not be handled now, and whether trying again may help. */
export interface RecordFailure {
  reason: string;
  retryable: boolean;
  /** The error behind it, when there is one (logged). */
  error?: unknown;
  /** Tried again at once, not after the back-off: the failure was progress cut short, not trouble. */
  again?: boolean;
}

/** A thrown error as a record failure (unknown errors are retried). */
export function failureOf(error: unknown): RecordFailure {
  return {
    reason: error instanceof Error ? error.message : String(error),
    retryable: isRetryable(error),
    error,
    // A change stopped at its invocation's sending or confirming time resumes in the next one, with nothing to wait for.
    ...(error instanceof OutOfTimeError ? { again: true } : {}),
  };
}

/** How a queue consumer treats a record it could not handle. */
export interface RetryOptions {
  maxAttempts: number;
  retry: { baseSeconds: number; maxSeconds: number };
  random: () => number;
  visibility: Pick<MessageVisibility, 'delay'>;
  logger: Logger;
  metrics: Metrics;
  /** Called once on the delivery SQS will not repeat, before the message goes to the dead-letter queue. */
  onFinalFailure: (reason: string) => Promise<void>;
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
 * A record that failed: SQS brings it back after an exponential back-off or, on its last allowed
 * delivery (or at once when retrying cannot help), the failure is recorded (ERROR status, metric)
 * and the message goes to the dead-letter queue. The record is reported failed either way.
 */
export async function failRecord(
  record: SQSRecord,
  failure: RecordFailure,
  options: RetryOptions,
): Promise<'failed'> {
  const attempt = receiveCount(record);
  const context = {
    messageId: record.messageId,
    attempt,
    maxAttempts: options.maxAttempts,
    reason: failure.reason,
    ...(failure.error !== undefined ? { error: failure.error } : {}),
  };
  if (!failure.retryable || isFinalAttempt(attempt, options.maxAttempts)) {
    options.logger.error('giving up on message; it goes to the dead-letter queue', context);
    emitMetric(options.metrics, METRICS.exhausted.name);
    await options
      .onFinalFailure(failure.reason)
      .catch((e) => options.logger.error('could not record the final failure', { ...context, error: e }));
    // Visible again at once: the next receive moves it to the dead-letter queue without waiting out the timeout.
    await options.visibility
      .delay(record.receiptHandle, 0)
      .catch((e) => options.logger.warn('could not release the message', { ...context, error: e }));
  } else {
    const seconds = failure.again ? 0 : retryDelaySeconds(attempt, options.retry, options.random);
    options.logger.warn('message will be retried', { ...context, retryInSeconds: seconds });
    await options.visibility
      .delay(record.receiptHandle, seconds)
      .catch((e) => options.logger.warn('could not delay the retry', { ...context, error: e }));
  }
  return 'failed';
}

/** A FIFO record's message group (one load balancer's requests). */
function messageGroupOf(record: SQSRecord): string {
  return record.attributes?.MessageGroupId ?? '';
}

/** The record and the later records of its message group in the batch, in order. */
export function restOfGroup(records: readonly SQSRecord[], record: SQSRecord): SQSRecord[] {
  const group = messageGroupOf(record);
  return records.slice(records.indexOf(record)).filter((r) => messageGroupOf(r) === group);
}

/**
 * A record handled but for a last part that may wait (the scheduler's forward): `finish` is called
 * once every group's records were handled, all in the same turn, so what they send meets in one
 * batch; its result is the record's.
 */
export interface Deferred {
  finish: () => Promise<RecordResult>;
}

/**
 * The one place per-record results become a partial-batch response, in FIFO order: a record that
 * failed is reported, and so is every later record of its message group, which is not handled at
 * all (`handle` is not called for it), as SQS FIFO consumers must. A handler that throws has failed.
 * Records are handled one at a time per message group, the groups side by side: order only binds
 * within a group (one load balancer), so a batch of ten load balancers' requests need not wait for
 * each other (found by the hundred-tenant benchmark: forwarded one by one, the first worker
 * invocations took one request each and held it through a config-sync).
 *
 * A record may leave a `Deferred` last part: the group goes on to its next record, and every
 * deferred part of the batch starts after the last record was handled, in record order. A deferred
 * part that fails fails its record and every later one of its group, though those were handled:
 * they come back behind it (what they did must bear doing again; the scheduler's guard and the
 * agent queue's de-duplication make it so).
 *
 * The records left unhandled (or failed behind an earlier failure of their group) are handed to
 * `releaseUnhandled` (made visible again at once): they then wait behind the failed record of their
 * group, which SQS delivers first once its back-off ends, instead of keeping the group locked for
 * their whole visibility timeout (or in-flight hold) after it (found once the local SQS delivered
 * several messages of a group per batch, as SQS does).
 */
export async function processFifoBatch(
  records: readonly SQSRecord[],
  handle: (record: SQSRecord) => Promise<RecordResult | Deferred>,
  releaseUnhandled?: (records: SQSRecord[]) => Promise<void>,
): Promise<SQSBatchResponse> {
  const messageGroups = new Map<string, SQSRecord[]>();
  for (const record of records) {
    const key = messageGroupOf(record);
    messageGroups.set(key, [...(messageGroups.get(key) ?? []), record]);
  }
  // Per group: the index of its first failed record (absent: none failed).
  const firstFailed = new Map<SQSRecord[], number>();
  const fail = (inOrder: SQSRecord[], i: number) =>
    firstFailed.set(inOrder, Math.min(i, firstFailed.get(inOrder) ?? i));
  const deferred: { inOrder: SQSRecord[]; i: number; part: Deferred }[] = [];
  await Promise.all(
    [...messageGroups.values()].map(async (inOrder) => {
      for (const [i, record] of inOrder.entries()) {
        const result = await handle(record).catch((): RecordResult => 'failed');
        if (result === 'done') continue;
        if (result !== 'failed') {
          deferred.push({ inOrder, i, part: result });
          continue;
        }
        fail(inOrder, i);
        return;
      }
    }),
  );
  // Every deferred part in one turn, in record order (each group's own order kept).
  const finished = deferred.map(({ part }) => part.finish().catch((): RecordResult => 'failed'));
  (await Promise.all(finished)).forEach((result, k) => {
    const { inOrder, i } = deferred[k] as (typeof deferred)[number];
    if (result === 'failed') fail(inOrder, i);
  });
  const failed = new Set<string>();
  const unhandled: SQSRecord[] = [];
  for (const [inOrder, i] of firstFailed) {
    for (const rest of inOrder.slice(i)) failed.add(rest.messageId);
    unhandled.push(...inOrder.slice(i + 1));
  }
  // Best effort: one that stays hidden comes back after its visibility timeout, as before.
  if (unhandled.length > 0 && releaseUnhandled) await releaseUnhandled(unhandled).catch(() => undefined);
  return {
    batchItemFailures: records
      .filter((r) => failed.has(r.messageId))
      .map((r) => ({ itemIdentifier: r.messageId })),
  };
}
