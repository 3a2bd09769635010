import { randomUUID } from 'node:crypto';
import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { createDocumentClient } from '../adapters/aws-clients.js';
import { DynamoDbAgentRegistry } from '../adapters/dynamodb-agent-registry.js';
import { DynamoDbBindingStore } from '../adapters/dynamodb-binding-store.js';
import { DynamoDbResourceStore } from '../adapters/dynamodb-resource-store.js';
import { SqsAgentQueue } from '../adapters/sqs-agent-queue.js';
import { type MessageVisibility, SqsMessageVisibility } from '../adapters/sqs-message-visibility.js';
import { NoActiveAgentError, RejectedRequestError, type RejectionCategory } from '../domain/errors.js';
import { type LbaasRequest, parseRequest, type RejectionContext } from '../domain/lbaas-request.js';
import type { ResourceStore } from '../domain/ports.js';
import { AgentDirectory } from '../services/agent-directory.js';
import { RequestScheduler, type ScheduleOutcome } from '../services/request-scheduler.js';
import type { SchedulerConfig } from '../shared/config.js';
import { METRICS } from '../shared/metric-names.js';
import { emitMetric, type Telemetry } from '../shared/telemetry.js';
import type { AwsClients, SqsHandler } from './lambda-shape.js';
import { failRecord, receiveCount } from './queue-record-handling.js';

export interface SchedulerHandlerDeps {
  config: SchedulerConfig;
  scheduler: RequestScheduler;
  resources: ResourceStore;
  visibility: MessageVisibility;
  idempotency: DynamoDBPersistenceLayer;
  telemetry: Telemetry;
  clock: () => number;
  random: () => number;
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
    eventKeyJmesPath: 'request.requestId',
    expiresAfterSeconds: config.idempotencyTtlSeconds,
  });
  // The nonce comes back changed when Powertools answers from a stored result: a duplicate.
  const scheduleOnce = makeIdempotent(
    async (input: {
      request: LbaasRequest;
      nonce: string;
      submittedAt?: number;
    }): Promise<ScheduleOutcome & { nonce: string }> => ({
      ...(await scheduler.handle(input.request, input.submittedAt)),
      nonce: input.nonce,
    }),
    { persistenceStore: deps.idempotency, config: idempotencyConfig, keyPrefix: `${config.env}-scheduler` },
  );

  const rejectRecord = async (category: RejectionCategory, reason: string, ctx: RejectionContext) => {
    logger.warn('request rejected', { category, reason, ...ctx });
    emitMetric(metrics, METRICS.rejected.name, 1, { Reason: category });
    // Only a malformed change to a known object of this tenant marks that object; a conflict or a
    // foreign tenant's id must never touch somebody else's object.
    const marks = category === 'invalid-message' || category === 'immutable-field';
    if (marks && ctx.loadbalancerId && ctx.resource && ctx.objectId && ctx.tenantId) {
      await resources.markError(
        {
          loadbalancerId: ctx.loadbalancerId,
          type: ctx.resource,
          id: ctx.objectId,
          tenantId: ctx.tenantId,
          env: config.env,
        },
        `request ${ctx.requestId ?? '(no id)'} rejected: ${reason}`,
        clock(),
      );
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
      const nonce = randomUUID();
      const sent = Number(record.attributes?.SentTimestamp);
      const outcome = await scheduleOnce({ request, nonce, ...(sent > 0 ? { submittedAt: sent } : {}) });
      if (outcome.nonce !== nonce) {
        logger.info('duplicate request: already scheduled, nothing done', ctx);
        emitMetric(metrics, METRICS.duplicates.name);
        return;
      }
      logger.info('request scheduled', {
        ...ctx,
        decision: outcome.decision.kind,
        host: outcome.decision.host,
      });
      emitMetric(metrics, METRICS.decisions.name, 1, { Decision: outcome.decision.kind });
      if (outcome.decision.kind === 'failover') emitMetric(metrics, METRICS.failovers.name);
    } catch (error) {
      if (error instanceof RejectedRequestError) {
        await rejectRecord(error.category, error.message, {
          requestId: request.requestId,
          tenantId: request.tenantId,
          loadbalancerId: request.loadbalancerId,
          resource: request.resource,
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
          resources.markRequestFailed(request, config.env, (e as Error).message ?? String(e), clock()),
      });
    }
  };

  return async (event, context) => {
    idempotencyConfig.registerLambdaContext(context);
    emitMetric(metrics, METRICS.messages.name, event.Records.length);
    // FIFO: a failed record fails the rest of its message group (order), other groups go on.
    return processPartialResponse(event, handleRecord, new SqsFifoPartialProcessorAsync(), {
      context,
      skipGroupOnError: true,
      throwOnFullBatchFailure: false,
    });
  };
}

/** Wires the scheduler's adapters from its configuration and SDK clients. */
export function schedulerDeps(
  config: SchedulerConfig,
  clients: AwsClients,
  telemetry: Telemetry,
  overrides: {
    clock?: () => number;
    random?: () => number;
    onScheduled?: ConstructorParameters<typeof RequestScheduler>[0]['onScheduled'];
  } = {},
): SchedulerHandlerDeps {
  const clock = overrides.clock ?? Date.now;
  const random = overrides.random ?? Math.random;
  const db = createDocumentClient(clients.dynamodb);
  const registry = new DynamoDbAgentRegistry(db, config.tables.agents);
  const resources = new DynamoDbResourceStore(db, config.tables.resources);
  const scheduler = new RequestScheduler({
    env: config.env,
    agentDownTimeMs: config.agentDownTimeMs,
    selection: config.selection,
    resources,
    bindings: new DynamoDbBindingStore(db, config.tables),
    registry,
    directory: new AgentDirectory(registry, config.agentCacheMs, clock),
    queue: new SqsAgentQueue(clients.sqs),
    clock,
    random,
    ...(overrides.onScheduled ? { onScheduled: overrides.onScheduled } : {}),
  });
  return {
    config,
    scheduler,
    resources,
    visibility: new SqsMessageVisibility(clients.sqs, config.requestQueueUrl),
    idempotency: new DynamoDBPersistenceLayer({
      tableName: config.tables.idempotency,
      awsSdkV3Client: clients.dynamodb,
    }),
    telemetry,
    clock,
    random,
  };
}
