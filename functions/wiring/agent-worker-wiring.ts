import { randomUUID } from 'node:crypto';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type AwsClients, createDocumentClient } from '../adapters/aws-clients.js';
import type { RestCall } from '../adapters/bigip-rest-client.js';
import { SecretsManagerCertificates } from '../adapters/certificate-stores.js';
import { DynamoDbAgentRegistry } from '../adapters/dynamodb-agent-registry.js';
import { DynamoDbBindingStore } from '../adapters/dynamodb-binding-store.js';
import { DynamoDbHealthStore } from '../adapters/dynamodb-health-store.js';
import { DynamoDbPartitionLease } from '../adapters/dynamodb-partition-lease.js';
import { DynamoDbResourceStore } from '../adapters/dynamodb-resource-store.js';
import { DynamoDbSyncLedger } from '../adapters/dynamodb-sync-ledger.js';
import { SqsMessageVisibility } from '../adapters/sqs-message-visibility.js';
import { SqsQueueTaker } from '../adapters/sqs-queue-taker.js';
import { APPLY_CADENCE } from '../domain/apply-cadence.js';
import type { CertificateStore, ResourceStore } from '../domain/ports.js';
import { type AgentWorkerDeps, createAgentWorkerHandler } from '../handlers/agent-worker-handler.js';
import { LoadBalancerApplier } from '../services/load-balancer-applier.js';
import type { AgentConfig } from '../shared/config.js';
import { createTelemetry, type Telemetry } from '../shared/telemetry.js';
import { systemTimers } from '../shared/timers.js';
import { type DeviceOverrides, deviceNetworks, wirePartitionWriter } from './device-cluster-wiring.js';

export interface AgentWorkerOverrides extends DeviceOverrides {
  random?: () => number;
  telemetry?: Telemetry;
  /** How long an apply waits for a partition lease before the message is retried. */
  leaseWaitMs?: number;
  /** Where certificates are read (the local stand-in); Secrets Manager otherwise. */
  certificates?: CertificateStore;
  /** Wraps the worker's resource store (the local stack's conformance run leaves unmeasured statuses alone). */
  resources?: (store: ResourceStore) => ResourceStore;
  /** The most an apply waits for a burst still being recorded (apply-cadence.ts; 0: never). */
  applyWaitMs?: number;
}

/**
 * An agent worker's object graph (one per agent): its device cluster with its own REST clients
 * and tokens, the stores, the partition lease, the applier and the queue handler. The REST calls
 * of the current message are collected in `calls` for the BigIpCalls metrics.
 */
export function wireAgentWorker(
  config: AgentConfig,
  clients: AwsClients,
  overrides: AgentWorkerOverrides = {},
) {
  const clock = overrides.clock ?? Date.now;
  const telemetry = overrides.telemetry ?? createTelemetry('agent', config.env, config.host);
  const calls: RestCall[] = [];
  const db = createDocumentClient(clients.dynamodb);
  const { cluster, sync, writer, networks } = wirePartitionWriter(config, {
    ...overrides,
    env: config.env,
    lease: new DynamoDbPartitionLease(db, config.tables.leases, {
      ttlMs: config.leaseMs,
      waitMs: overrides.leaseWaitMs ?? 5_000,
      clock,
    }),
    ledger: new DynamoDbSyncLedger(db, config.tables.leases),
    owner: `${config.host}#${randomUUID()}`,
    // One lease owner per apply: two invocations of one agent never share a lease.
    newOwner: () => `${config.host}#${randomUUID()}`,
    onCall: (call) => {
      calls.push(call);
      overrides.onCall?.(call);
    },
  });
  const store = new DynamoDbResourceStore(db, config.tables);
  const resources = overrides.resources ? overrides.resources(store) : store;
  const registry = new DynamoDbAgentRegistry(db, config.tables.agents);
  const bindings = new DynamoDbBindingStore(db, config.tables);
  const applier = new LoadBalancerApplier({
    env: config.env,
    host: config.host,
    resources,
    bindings,
    registry,
    writer,
    statistics: new DynamoDbHealthStore(db, config.tables),
    translation: {
      ...(config.trafficGroup ? { trafficGroup: config.trafficGroup } : {}),
      networks: deviceNetworks(config),
    },
    ...(networks ? { networks } : {}),
    cadence: {
      rule: { ...APPLY_CADENCE, maxWaitMs: overrides.applyWaitMs ?? APPLY_CADENCE.maxWaitMs },
      timers: systemTimers,
    },
    certificates:
      overrides.certificates ?? new SecretsManagerCertificates(new SecretsManagerClient({ maxAttempts: 3 })),
    clock,
  });
  const deps: AgentWorkerDeps = {
    config,
    applier,
    resources,
    visibility: new SqsMessageVisibility(clients.sqs, config.agentQueueUrl),
    telemetry,
    calls,
    clock,
    random: overrides.random ?? Math.random,
    queuedWork: {
      taker: new SqsQueueTaker(clients.sqs, config.agentQueueUrl),
      busy: () => sync.isBusy(),
      sleep: systemTimers.sleep,
    },
  };
  return { handler: createAgentWorkerHandler(deps), deps, applier, cluster, calls, resources, telemetry };
}
