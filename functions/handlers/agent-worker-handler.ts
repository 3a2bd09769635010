import type { SQSRecord } from 'aws-lambda';
import { BigIpError, OutOfTimeError, RejectedRequestError } from '../domain/errors.js';
import { invocationTimes, type WriteTimes, writeTimesOf } from '../domain/invocation-time.js';
import { parseForwarded } from '../domain/lbaas-request.js';
import type { MessageVisibility, QueueTaker, ResourceStore } from '../domain/ports.js';
import {
  type ApplyResult,
  type ApplyTarget,
  applyTargetOf,
  type LoadBalancerApplier,
} from '../services/load-balancer-applier.js';
import type { AgentConfig } from '../shared/config.js';
import { METRICS } from '../shared/metric-names.js';
import { emitMetric, MetricUnit, type Telemetry } from '../shared/telemetry.js';
import { holdInFlight, holdSeconds, type InFlightHold } from './in-flight-hold.js';
import type { SqsHandler } from './lambda-shape.js';
import {
  failRecord,
  failureOf,
  markRequestFailed,
  processFifoBatch,
  type RecordResult,
} from './queue-record-handling.js';
import { takeQueuedWork } from './queued-work.js';

export interface AgentWorkerDeps {
  config: AgentConfig;
  applier: LoadBalancerApplier;
  resources: ResourceStore;
  visibility: MessageVisibility;
  telemetry: Telemetry;
  /** BIG-IP calls made since the last reset (fed by the REST clients' onCall hook). */
  calls: { ms: number }[];
  clock: () => number;
  random: () => number;
  /**
   * The agent's own queue, read while the invocation's changes wait on a busy device group
   * (queued-work.ts); absent: only the event source's batches.
   */
  queuedWork?: { taker: QueueTaker<SQSRecord>; busy: () => boolean; sleep: (ms: number) => Promise<void> };
}

/**
 * An agent's worker: consumes its FIFO queue and applies the requests to the devices. The requests
 * of one batch for one load balancer are applied as one change, and every load balancer of the
 * batch at once (each tenant under its partition's lease, all sharing the device group's
 * config-syncs); each request still gets its own status, log line and metrics. A device that
 * refuses the change puts the objects in ERROR with its message (acknowledged); transient trouble
 * (busy, resets, lease held) retries with back-off, then ERROR and the dead-letter queue.
 */
export function createAgentWorkerHandler(deps: AgentWorkerDeps): SqsHandler {
  const { config, applier, resources, telemetry, clock } = deps;
  const { logger, metrics } = telemetry;

  /** One record's log line, metrics and, when it must be tried again, its back-off: from its load balancer's settled apply. */
  const report = async (
    record: SQSRecord,
    parsed: ReturnType<typeof parseForwarded>,
    settled: PromiseSettledResult<ApplyResult> | undefined,
    hold: InFlightHold,
  ): Promise<RecordResult> => {
    // A record done stays held until its batch ends (its deletion follows); one that fails is let go
    // first, so no renewal lands after its own back-off.
    if (!parsed.ok || !settled) {
      const reason = parsed.ok ? 'not applied' : parsed.reason;
      logger.warn('forwarded message rejected', { reason, messageId: record.messageId });
      emitMetric(metrics, METRICS.rejected.name, 1, { Reason: 'invalid-message' });
      return 'done';
    }
    const { request, scheduling } = parsed.message;
    const ctx = { ...applyTargetOf(request), decision: scheduling.kind };
    if (settled.status === 'fulfilled') {
      const result = settled.value;
      emitMetric(metrics, METRICS.applies.name, 1, { Outcome: result.outcome });
      if (result.outcome === 'device-error') {
        logger.warn('device refused the change; objects set to ERROR', {
          ...ctx,
          reason: result.reason,
          device: result.device,
        });
      } else {
        logger.info('applied', { ...ctx, ...result });
        // A partition the device would not delete (the tenant's other load balancers, or items we did
        // not create, such as monitor test results that only a root shell can remove) stays: say so.
        const kept =
          result.outcome === 'applied' ? result.skipped.filter((s) => s.startsWith('partition')) : [];
        if (kept.length > 0) logger.warn('partition kept on the device', { ...ctx, kept });
      }
      if (scheduling.submittedAt && result.outcome !== 'gone') {
        emitMetric(
          metrics,
          METRICS.timeToActive.name,
          clock() - scheduling.submittedAt,
          {},
          MetricUnit.Milliseconds,
        );
      }
      return 'done';
    }
    const error = settled.reason;
    if (error instanceof RejectedRequestError) {
      logger.warn('request rejected by the agent', { ...ctx, reason: error.message });
      emitMetric(metrics, METRICS.rejected.name, 1, { Reason: error.category });
      return 'done';
    }
    if (error instanceof BigIpError) emitMetric(metrics, METRICS.bigipErrors.name);
    // A change cut at the invocation's sending or confirming time is counted apart: many say changes outgrow an invocation.
    emitMetric(metrics, METRICS.applies.name, 1, {
      Outcome: error instanceof OutOfTimeError ? 'out-of-time' : 'retry',
    });
    await hold.release(record);
    return failRecord(record, failureOf(error), {
      maxAttempts: config.maxAttempts,
      retry: config.retry,
      random: deps.random,
      visibility: deps.visibility,
      logger: logger.createChild({ persistentKeys: ctx }),
      metrics,
      onFinalFailure: (reason) =>
        markRequestFailed(
          resources,
          request,
          config.env,
          `gave up after ${config.maxAttempts} attempts: ${reason}`,
          clock(),
        ),
    });
  };

  /** A batch applied and reported; its in-flight hold is the caller's to stop once the batch is acknowledged. */
  const runBatch = async (records: SQSRecord[], times: WriteTimes, held = false) => {
    emitMetric(metrics, METRICS.messages.name, records.length);
    const hold = holdInFlight(records, {
      visibility: deps.visibility,
      holdMs: config.inFlightHoldMs,
      onError: (error) => logger.warn('could not renew the in-flight hold', { error }),
      held,
    });
    try {
      // One pass: every load balancer's requests applied at once, then each record reported from its
      // load balancer's result, in FIFO order (a failed record fails the rest of its message group).
      const { parsed, outcomes } = await applyBatch(records, applier, times);
      const response = await processFifoBatch(
        records,
        (record) =>
          report(
            record,
            parsed.get(record.messageId) as ReturnType<typeof parseForwarded>,
            outcomes.get(record.messageId),
            hold,
          ),
        async (unhandled) => {
          for (const record of unhandled) await hold.release(record);
          await deps.visibility.holdAll(
            unhandled.map((r) => r.receiptHandle),
            0,
          );
        },
      );
      return { response, hold };
    } catch (error) {
      await hold.stop();
      throw error;
    }
  };

  return async (event, context) => {
    deps.calls.length = 0;
    const holds: InFlightHold[] = [];
    // Without Lambda's context (a direct call) nothing bounds the invocation: no cut, no taking.
    const remaining = context?.getRemainingTimeInMillis?.();
    const times = remaining === undefined ? undefined : invocationTimes(clock(), remaining);
    const writeTimes = writeTimesOf(times);
    try {
      const own = runBatch(event.Records, writeTimes).then(({ response, hold }) => {
        holds.push(hold);
        return response;
      });
      const queued = deps.queuedWork;
      if (queued && times) {
        const taken = await takeQueuedWork(
          own,
          async (records) => {
            const { response, hold } = await runBatch(records, writeTimes, true);
            // Deleted next, unlike the event source's batch, which Lambda deletes once this returns.
            await hold.stop();
            return new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
          },
          {
            taker: queued.taker,
            busy: queued.busy,
            holdSeconds: holdSeconds(config.inFlightHoldMs),
            waitSeconds: 1,
            pollMs: 200,
            hasTime: () => clock() < times.takeUntil,
            sleep: queued.sleep,
            onError: (error) => logger.warn('could not take queued work', { error }),
          },
        );
        if (taken > 0) emitMetric(metrics, METRICS.messagesTaken.name, taken);
      }
      return await own;
    } finally {
      await Promise.all(holds.map((h) => h.stop()));
      if (deps.calls.length > 0) {
        emitMetric(metrics, METRICS.bigipCalls.name, deps.calls.length);
        const ms = deps.calls.reduce((sum, c) => sum + c.ms, 0) / deps.calls.length;
        emitMetric(metrics, METRICS.bigipLatency.name, Math.round(ms * 10) / 10, {}, MetricUnit.Milliseconds);
      }
    }
  };
}

/**
 * Applies a batch: the records grouped by load balancer in the order received (FIFO keeps a load
 * balancer's requests in order), one change per load balancer, all applied at once. Each record gets its load balancer's result.
 */
async function applyBatch(records: readonly SQSRecord[], applier: LoadBalancerApplier, times: WriteTimes) {
  const parsed = new Map<string, ReturnType<typeof parseForwarded>>();
  const byLoadBalancer = new Map<string, { targets: ApplyTarget[]; messageIds: string[] }>();
  for (const record of records) {
    const message = parseForwarded(record.body);
    parsed.set(record.messageId, message);
    if (!message.ok) continue;
    const target = applyTargetOf(message.message.request);
    const change = byLoadBalancer.get(target.loadbalancerId) ?? { targets: [], messageIds: [] };
    change.targets.push(target);
    change.messageIds.push(record.messageId);
    byLoadBalancer.set(target.loadbalancerId, change);
  }
  const list = [...byLoadBalancer.values()];
  const results = await applier.applyAll(
    list.map((g) => g.targets),
    times,
  );
  const outcomes = new Map<string, PromiseSettledResult<ApplyResult>>();
  list.forEach((g, i) => {
    for (const id of g.messageIds) outcomes.set(id, results[i] as PromiseSettledResult<ApplyResult>);
  });
  return { parsed, outcomes };
}
