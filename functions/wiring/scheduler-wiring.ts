import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type AwsClients, createDocumentClient } from '../adapters/aws-clients.js';
import { DynamoDbAgentRegistry } from '../adapters/dynamodb-agent-registry.js';
import { DynamoDbBindingStore } from '../adapters/dynamodb-binding-store.js';
import { DynamoDbGroupStore } from '../adapters/dynamodb-group-store.js';
import { DynamoDbRefusalLog } from '../adapters/dynamodb-refusal-log.js';
import { DynamoDbResourceStore } from '../adapters/dynamodb-resource-store.js';
import { SqsAgentQueue } from '../adapters/sqs-agent-queue.js';
import { SqsMessageVisibility } from '../adapters/sqs-message-visibility.js';
import type { NetworkCatalog } from '../domain/networks.js';
import { createSchedulerHandler, type SchedulerHandlerDeps } from '../handlers/scheduler-handler.js';
import { AgentDirectory } from '../services/agent-directory.js';
import { RequestScheduler, type RequestSchedulerDeps } from '../services/request-scheduler.js';
import type { SchedulerConfig } from '../shared/config.js';
import { createTelemetry, type Telemetry } from '../shared/telemetry.js';

export interface SchedulerOverrides {
  clock?: () => number;
  random?: () => number;
  telemetry?: Telemetry;
  /** Told about every forwarded request (the local dashboard's activity feed). */
  onScheduled?: RequestSchedulerDeps['onScheduled'];
  /** Told about every refused request (the local stack's log and console). */
  onRefused?: RequestSchedulerDeps['onRefused'];
  /** The networks, when not the configuration's (the local stack's no-op networks). */
  networks?: NetworkCatalog;
}

/** What placing a request needs from a function's configuration (the scheduler's and the API's). */
export type PlacementConfig = Pick<
  SchedulerConfig,
  'env' | 'agentDownTimeMs' | 'agentCacheMs' | 'selection' | 'groups'
> & {
  // idempotency: each request's guard, written with its record.
  tables: Pick<
    SchedulerConfig['tables'],
    'agents' | 'bindings' | 'affinity' | 'resources' | 'claims' | 'groups' | 'idempotency'
  >;
  /** How long a request's guard lasts (absent: the store's 24 hours). */
  idempotencyTtlSeconds?: number;
};

/**
 * The request scheduler and the stores it places with, built once for the scheduler function and
 * the Octavia API (which places a new load balancer before it answers): `extras` are what only one
 * of them adds (the clock, randomness, the scheduler's refusal log, binding cache and callbacks).
 */
export function buildRequestScheduler(
  config: PlacementConfig,
  db: DynamoDBDocumentClient,
  clients: Pick<AwsClients, 'sqs'>,
  extras: Pick<RequestSchedulerDeps, 'clock' | 'random'> &
    Partial<
      Pick<RequestSchedulerDeps, 'bindingCacheMs' | 'onScheduled' | 'refusalLog' | 'onRefused' | 'networks'>
    >,
) {
  const registry = new DynamoDbAgentRegistry(db, config.tables.agents);
  const bindings = new DynamoDbBindingStore(db, config.tables);
  const resources = new DynamoDbResourceStore(db, config.tables, config.idempotencyTtlSeconds);
  const scheduler = new RequestScheduler({
    env: config.env,
    agentDownTimeMs: config.agentDownTimeMs,
    selection: config.selection,
    resources,
    bindings,
    registry,
    directory: new AgentDirectory(registry, config.agentCacheMs, extras.clock),
    queue: new SqsAgentQueue(clients.sqs),
    ...extras,
    ...(config.groups
      ? {
          groups: {
            store: new DynamoDbGroupStore(db, config.tables.groups),
            definitions: config.groups,
            cacheMs: config.agentCacheMs,
          },
        }
      : {}),
  });
  return { scheduler, registry, bindings, resources };
}

/**
 * The scheduler's object graph, built in one place for the Lambda entry, the local stack, the
 * test harnesses and the benchmarks: configuration + SDK clients → adapters → service → handler.
 */
export function wireScheduler(
  config: SchedulerConfig,
  clients: AwsClients,
  overrides: SchedulerOverrides = {},
) {
  const clock = overrides.clock ?? Date.now;
  const random = overrides.random ?? Math.random;
  const telemetry = overrides.telemetry ?? createTelemetry('scheduler', config.env);
  const db = createDocumentClient(clients.dynamodb);
  const { scheduler, registry, bindings, resources } = buildRequestScheduler(config, db, clients, {
    clock,
    random,
    bindingCacheMs: config.agentCacheMs,
    ...(overrides.onScheduled ? { onScheduled: overrides.onScheduled } : {}),
    refusalLog: {
      log: new DynamoDbRefusalLog(db, config.tables.idempotency),
      keepMs: config.idempotencyTtlSeconds * 1000,
    },
    ...(overrides.onRefused ? { onRefused: overrides.onRefused } : {}),
    networks: overrides.networks ?? { networks: config.networks ?? [] },
  });
  const deps: SchedulerHandlerDeps = {
    config,
    scheduler,
    resources,
    visibility: new SqsMessageVisibility(clients.sqs, config.requestQueueUrl),
    telemetry,
    clock,
    random,
  };
  return { handler: createSchedulerHandler(deps), deps, scheduler, registry, bindings, resources, telemetry };
}
