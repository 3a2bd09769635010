import type { SQSRecord } from 'aws-lambda';
import { type LbaasRequest, parseRequest, RECORDED_ATTRIBUTE } from '../domain/lbaas-request.js';
import type { MessageVisibility, ResourceStore } from '../domain/ports.js';
import { refusal } from '../domain/refusals.js';
import type {
  Forwarded,
  Placed,
  RequestScheduler,
  RunItem,
  ScheduleOutcome,
} from '../services/request-scheduler.js';
import type { SchedulerConfig } from '../shared/config.js';
import { METRICS } from '../shared/metric-names.js';
import { emitMetric, type Telemetry } from '../shared/telemetry.js';
import type { SqsHandler } from './lambda-shape.js';
import {
  type Deferred,
  failRecord,
  failureOf,
  markRequestFailed,
  processFifoBatch,
  type RecordFailure,
  type RecordResult,
  receiveCount,
  restOfGroup,
} from './queue-record-handling.js';

export interface SchedulerHandlerDeps {
  config: SchedulerConfig;
  scheduler: RequestScheduler;
  resources: ResourceStore;
  visibility: MessageVisibility;
  telemetry: Telemetry;
  clock: () => number;
  random: () => number;
}

/**
 * The scheduler's SQS batch handler (the "driver"). Each record: validate; reject bad input for
 * good (status, log, metric, acknowledged); schedule valid requests (recorded once per request id:
 * the scheduler's rule, `RequestScheduler`); retry what cannot be scheduled yet with back-off until
 * the dead-letter queue takes it.
 */
export function createSchedulerHandler(deps: SchedulerHandlerDeps): SqsHandler {
  const { config, scheduler, resources, telemetry, clock } = deps;
  const { logger, metrics } = telemetry;
  const handleRecord = async (record: SQSRecord, batch: BatchPreparer): Promise<RecordResult | Deferred> => {
    const parsed = batch.parsed(record);
    if (!parsed.ok) {
      const refused = await scheduler.recordRefusal(
        parsed.context,
        refusal('invalid-message', parsed.reason),
      );
      reportRefusal(refused, telemetry);
      return 'done';
    }
    const request = parsed.request;
    const ctx = {
      requestId: request.requestId,
      operation: request.operation,
      resource: request.resource,
      loadbalancerId: request.loadbalancerId,
      attempt: receiveCount(record),
    };
    const retryLater = (failure: RecordFailure) =>
      failRecord(record, failure, {
        maxAttempts: config.maxAttempts,
        retry: config.retry,
        random: deps.random,
        visibility: deps.visibility,
        logger: logger.createChild({ persistentKeys: ctx }),
        metrics,
        onFinalFailure: (reason) => markRequestFailed(resources, request, config.env, reason, clock()),
      });
    let outcome: Prepared;
    try {
      outcome = await batch.prepare(record, request);
    } catch (error) {
      return retryLater(failureOf(error));
    }
    switch (outcome.kind) {
      case 'refused':
        reportRefusal(outcome, telemetry);
        return 'done';
      case 'waiting':
        emitMetric(metrics, METRICS.noActiveAgent.name);
        return retryLater({ reason: outcome.reason, retryable: true });
      case 'duplicate':
        logger.info('duplicate request: recorded before and superseded since, nothing done', ctx);
        emitMetric(metrics, METRICS.duplicates.name);
        return 'done';
      case 'placed': {
        // Recorded and placed: its group's next request is recorded before this one is forwarded
        // (processFifoBatch starts every forward of the batch together; a failed one fails the rest of its group).
        const { forward } = outcome;
        return {
          finish: () =>
            forward().then(
              (forwarded) => {
                reportForwarded(forwarded, ctx);
                return 'done';
              },
              (error: unknown) => retryLater(failureOf(error)),
            ),
        };
      }
    }
  };

  const reportForwarded = (outcome: Forwarded, ctx: Record<string, unknown>): void => {
    if (outcome.again) {
      logger.info('duplicate request: recorded before, forwarded again', ctx);
      emitMetric(metrics, METRICS.duplicates.name);
      return;
    }
    logger.info('request scheduled', {
      ...ctx,
      decision: outcome.decision.kind,
      host: outcome.decision.host,
      group: outcome.decision.group,
    });
    emitMetric(metrics, METRICS.decisions.name, 1, { Decision: outcome.decision.kind });
    if (outcome.decision.kind === 'failover') emitMetric(metrics, METRICS.failovers.name);
  };

  return async (event) => {
    emitMetric(metrics, METRICS.messages.name, event.Records.length);
    // FIFO per load balancer: each group in order (a failed record fails the rest of its group), the
    // groups side by side, so a burst of many load balancers reaches the agents' queues at once and
    // their first batches are full.
    const batch = batchPreparer(event.Records, scheduler);
    return processFifoBatch(
      event.Records,
      (record) => handleRecord(record, batch),
      (unhandled) =>
        deps.visibility.holdAll(
          unhandled.map((r) => r.receiptHandle),
          0,
        ),
    );
  };
}

type Prepared = Exclude<ScheduleOutcome, Forwarded> | Placed;

/** A batch's records parsed once, and prepared by the scheduler one by one or a load balancer's run at a time. */
interface BatchPreparer {
  parsed: (record: SQSRecord) => ReturnType<typeof parseRequest>;
  prepare: (record: SQSRecord, request: LbaasRequest) => Promise<Prepared>;
}

/**
 * A record's consecutive records of its message group (one load balancer) that parse go to the
 * scheduler as a run, once, when the first of them is handled (`prepareRun` records what it can in
 * one write); what the run did not take is prepared one by one. The records are still handled one
 * at a time in order (processFifoBatch), so a failed record fails every later one of its group,
 * recorded or not: they come back, and their guards recognise them.
 */
function batchPreparer(records: readonly SQSRecord[], scheduler: RequestScheduler): BatchPreparer {
  const parsed = new Map(records.map((r) => [r.messageId, parseRequest(r.body)]));
  const item = (record: SQSRecord, request: LbaasRequest): RunItem => {
    const sent = Number(record.attributes?.SentTimestamp);
    // The Octavia API records before it sends and says so in a message attribute (checked against the record).
    const recorded = record.messageAttributes?.[RECORDED_ATTRIBUTE]?.stringValue === 'true';
    return { request, submittedAt: sent > 0 ? sent : undefined, recorded };
  };
  const inRun = new Set<string>();
  const ahead = new Map<string, Prepared>();
  return {
    parsed: (record) => parsed.get(record.messageId) ?? parseRequest(record.body),
    async prepare(record, request) {
      const known = ahead.get(record.messageId);
      if (known) return known;
      if (!inRun.has(record.messageId)) {
        const run: { record: SQSRecord; request: LbaasRequest }[] = [];
        for (const next of restOfGroup(records, record)) {
          const p = parsed.get(next.messageId);
          if (!p?.ok) break;
          run.push({ record: next, request: p.request });
          inRun.add(next.messageId);
        }
        if (run.length > 1) {
          const outcomes = await scheduler.prepareRun(run.map((r) => item(r.record, r.request)));
          for (const [i, o] of outcomes.entries()) ahead.set(run[i]?.record.messageId as string, o);
          if (outcomes[0]) return outcomes[0];
        }
      }
      const { submittedAt, recorded } = item(record, request);
      return scheduler.prepare(request, submittedAt, { recorded: recorded === true });
    },
  };
}

/** A refusal's log line and metric (its objects are already marked by the scheduler). */
function reportRefusal(
  refused: Extract<ScheduleOutcome, { kind: 'refused' }>,
  { logger, metrics }: Telemetry,
): void {
  const { category, reason } = refused.refusal;
  logger.warn('request rejected', { category, reason, ...refused.subject });
  emitMetric(metrics, METRICS.rejected.name, 1, { Reason: category });
}
