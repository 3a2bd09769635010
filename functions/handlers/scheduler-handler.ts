import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { SQSRecord } from 'aws-lambda';
import { NoActiveAgentError, RejectedRequestError, type RejectionCategory } from '../domain/errors.js';
import {
  isMemberBatch,
  type LbaasRequest,
  parseRequest,
  RECORDED_ATTRIBUTE,
  type RejectionContext,
} from '../domain/lbaas-request.js';
import type { MessageVisibility, Refusal, RefusalLog, ResourceStore } from '../domain/ports.js';
import { failedRequestTargets } from '../domain/resource-state.js';
import type { RequestScheduler, ScheduleOutcome } from '../services/request-scheduler.js';
import type { SchedulerConfig } from '../shared/config.js';
import { METRICS } from '../shared/metric-names.js';
import { emitMetric, type Telemetry } from '../shared/telemetry.js';
import type { SqsHandler } from './lambda-shape.js';
import {
  failRecord,
  markRequestFailed,
  processFifoGroupsConcurrently,
  receiveCount,
} from './queue-record-handling.js';

export interface SchedulerHandlerDeps {
  config: SchedulerConfig;
  scheduler: RequestScheduler;
  resources: ResourceStore;
  visibility: MessageVisibility;
  idempotency: BasePersistenceLayer;
  telemetry: Telemetry;
  clock: () => number;
  random: () => number;
  /** Where a refusal waits for its sender (kept as long as the request's idempotency record). */
  refusals?: RefusalLog;
  /** Told about every refusal (the local stack's log and console). */
  onRefused?: (refusal: Refusal) => void;
}

/**
 * The scheduler's SQS batch handler (the "driver"). Each record: validate; reject bad input for
 * good (status, log, metric, acknowledged); schedule valid requests once per request id; retry
 * what cannot be scheduled yet with back-off until the dead-letter queue takes it.
 */
export function createSchedulerHandler(deps: SchedulerHandlerDeps): SqsHandler {
  const { config, scheduler, resources, telemetry, clock } = deps;
  const { logger, metrics } = telemetry;
  const idempotencyConfig = new IdempotencyConfig({
    // Per tenant: another tenant reusing a request id is a different request, never a duplicate.
    eventKeyJmesPath: '[request.tenantId, request.requestId]',
    expiresAfterSeconds: config.idempotencyTtlSeconds,
    // Runs only when Powertools answers from a stored result: this delivery is a duplicate.
    responseHook: (response) => ({ ...(response as object), duplicate: true }),
  });
  const scheduleOnce = makeIdempotent(
    async (input: {
      request: LbaasRequest;
      submittedAt?: number;
      recorded?: boolean;
    }): Promise<ScheduleOutcome & { duplicate?: boolean }> =>
      scheduler.handle(input.request, input.submittedAt, { recorded: input.recorded === true }),
    { persistenceStore: deps.idempotency, config: idempotencyConfig, keyPrefix: `${config.env}-scheduler` },
  );

  const rejectRecord = async (
    category: RejectionCategory,
    reason: string,
    ctx: RejectionContext & { operation?: string },
  ) => {
    logger.warn('request rejected', { category, reason, ...ctx });
    emitMetric(metrics, METRICS.rejected.name, 1, { Reason: category });
    // The sender learns of it by its request id (the CLI's --wait reads it with one read).
    const { requestId, tenantId, ...about } = ctx;
    if (requestId && tenantId) {
      const refusal: Refusal = {
        env: config.env,
        tenantId,
        requestId,
        category,
        reason,
        refusedAt: clock(),
        ...about,
      };
      await deps.refusals?.record(refusal, clock() + config.idempotencyTtlSeconds * 1000);
      deps.onRefused?.(refusal);
    }
    // Only a malformed change to a known object of this tenant (or its load balancer refused for
    // want of capacity) marks that object; a conflict or a foreign tenant's id must never touch
    // somebody else's object.
    const marks =
      category === 'invalid-message' ||
      category === 'immutable-field' ||
      category === 'group-at-capacity' ||
      category === 'environment-at-capacity';
    if (marks && ctx.loadbalancerId && ctx.resource && ctx.objectId && ctx.tenantId) {
      const { loadbalancerId, tenantId, resource, objectId: id } = ctx;
      // A refusal for capacity comes after the request put its load balancer in PENDING_UPDATE:
      // that load balancer is placed nowhere, so it is in ERROR too (as after a final failure).
      const capacity = category === 'group-at-capacity' || category === 'environment-at-capacity';
      const targets = capacity
        ? failedRequestTargets({ loadbalancerId, tenantId, resource, object: { id } }, config.env)
        : [{ loadbalancerId, tenantId, type: resource, id, env: config.env }];
      const why = `request ${ctx.requestId ?? '(no id)'} rejected: ${reason}`;
      for (const target of targets) await resources.markError(target, why, clock());
    }
  };

  const handleRecord = async (record: SQSRecord) => {
    const parsed = parseRequest(record.body);
    if (!parsed.ok) {
      await rejectRecord('invalid-message', parsed.reason, parsed.context);
      return;
    }
    const request = parsed.request;
    const ctx = {
      requestId: request.requestId,
      operation: request.operation,
      resource: request.resource,
      loadbalancerId: request.loadbalancerId,
      attempt: receiveCount(record),
    };
    try {
      const sent = Number(record.attributes?.SentTimestamp);
      // The Octavia API records before it sends and says so in a message attribute (checked against the record).
      const recorded = record.messageAttributes?.[RECORDED_ATTRIBUTE]?.stringValue === 'true';
      const outcome = await scheduleOnce({
        request,
        ...(sent > 0 ? { submittedAt: sent } : {}),
        ...(recorded ? { recorded } : {}),
      });
      if (outcome.duplicate) {
        logger.info('duplicate request: already scheduled, nothing done', ctx);
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
    } catch (error) {
      if (error instanceof RejectedRequestError) {
        await rejectRecord(error.category, error.message, {
          requestId: request.requestId,
          tenantId: request.tenantId,
          loadbalancerId: request.loadbalancerId,
          operation: request.operation,
          // A refused member batch is reported on its pool (nothing of it was written).
          resource: isMemberBatch(request) ? 'pool' : request.resource,
          objectId: request.object.id,
        });
        return;
      }
      if (error instanceof NoActiveAgentError) emitMetric(metrics, METRICS.noActiveAgent.name);
      await failRecord(record, error, {
        maxAttempts: config.maxAttempts,
        retry: config.retry,
        random: deps.random,
        visibility: deps.visibility,
        logger: logger.createChild({ persistentKeys: ctx }),
        metrics,
        onFinalFailure: (e) =>
          markRequestFailed(resources, request, config.env, (e as Error).message ?? String(e), clock()),
      });
    }
  };

  return async (event, context) => {
    idempotencyConfig.registerLambdaContext(context);
    emitMetric(metrics, METRICS.messages.name, event.Records.length);
    // FIFO per load balancer: each group in order (a failed record fails the rest of its group), the
    // groups side by side, so a burst of many load balancers reaches the agents' queues at once and
    // their first batches are full (found by the hundred-tenant benchmark: forwarded one by one,
    // the first worker invocations took one request each and held it through a config-sync).
    return processFifoGroupsConcurrently(event, handleRecord, context);
  };
}
