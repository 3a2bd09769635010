import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type AwsClients, createDocumentClient } from '../adapters/aws-clients.js';
import { SecretsManagerCertificates } from '../adapters/certificate-stores.js';
import { DynamoDbAgentRegistry } from '../adapters/dynamodb-agent-registry.js';
import { DynamoDbBindingStore } from '../adapters/dynamodb-binding-store.js';
import { DynamoDbPartitionLease } from '../adapters/dynamodb-partition-lease.js';
import { DynamoDbResourceStore } from '../adapters/dynamodb-resource-store.js';
import { DynamoDbSyncLedger } from '../adapters/dynamodb-sync-ledger.js';
import { DEFAULT_GROUP } from '../domain/agent-scheduler.js';
import type { CertificateStore } from '../domain/ports.js';
import { createReconcilerHandler } from '../handlers/reconciler-handler.js';
import { Reconciler } from '../services/reconciler.js';
import { TakeoverSurvey } from '../services/takeover-survey.js';
import type { ReconcilerConfig } from '../shared/config.js';
import { createTelemetry, type Telemetry } from '../shared/telemetry.js';
import { type DeviceOverrides, deviceNetworks, wirePartitionWriter } from './device-cluster-wiring.js';

const RUN_LEASE_MS = 15 * 60_000;

export interface ReconcilerOverrides extends DeviceOverrides {
  telemetry?: Telemetry;
  /** How long to wait for a partition an agent is writing (default 5 s; then the load balancer waits for the next run). */
  leaseWaitMs?: number;
  /** Where certificates are read (the local stand-in); Secrets Manager otherwise. */
  certificates?: CertificateStore;
}

/** The environment's reconciler: its own device clients, a writer in the config-sync ledger like an agent. */
export function wireReconciler(
  config: ReconcilerConfig,
  clients: Pick<AwsClients, 'dynamodb'>,
  overrides: ReconcilerOverrides = {},
) {
  const clock = overrides.clock ?? Date.now;
  const db = createDocumentClient(clients.dynamodb);
  const telemetry = overrides.telemetry ?? createTelemetry('reconciler', config.env);
  const certificates =
    overrides.certificates ?? new SecretsManagerCertificates(new SecretsManagerClient({ maxAttempts: 3 }));
  const owner = `reconciler#${Math.random().toString(36).slice(2)}`;
  const { cluster, sync, writer, networks } = wirePartitionWriter(config, {
    ...overrides,
    env: config.env,
    // Partition leases, shared with the agents.
    lease: new DynamoDbPartitionLease(db, config.tables.leases, {
      ttlMs: config.leaseMs,
      waitMs: overrides.leaseWaitMs ?? 5_000,
      clock,
    }),
    ledger: new DynamoDbSyncLedger(db, config.tables.leases),
    owner,
    newOwner: () => owner,
  });
  const reconciler = new Reconciler({
    env: config.env,
    group: config.group ?? DEFAULT_GROUP,
    cluster,
    registry: new DynamoDbAgentRegistry(db, config.tables.agents),
    // Listing bindings is all it does with them: no affinity table (and no grant on it).
    bindings: new DynamoDbBindingStore(db, { bindings: config.tables.bindings, affinity: '' }),
    // Statuses only: no claims table.
    resources: new DynamoDbResourceStore(db, { resources: config.tables.resources, claims: '' }),
    writer,
    sync,
    // A run lasts at most the function's 15 minutes; a run that died frees the cluster after that.
    runLease: new DynamoDbPartitionLease(db, config.tables.leases, { ttlMs: RUN_LEASE_MS, waitMs: 0, clock }),
    owner,
    clock,
    certificates,
    translation: {
      ...(config.trafficGroup ? { trafficGroup: config.trafficGroup } : {}),
      networks: deviceNetworks(config),
    },
    ...(networks ? { networks } : {}),
  });
  // The takeover's dry run reads the same devices and records (docs/takeover.md).
  const takeover = new TakeoverSurvey({
    env: config.env,
    group: config.group ?? DEFAULT_GROUP,
    trafficGroup: config.trafficGroup,
    cluster,
    resources: new DynamoDbResourceStore(db, { resources: config.tables.resources, claims: '' }),
    catalog: deviceNetworks(config),
    unitNames: config.devices.map((d) => d.name),
    certificates,
  });
  const handler = createReconcilerHandler(reconciler, config, telemetry, takeover);
  return { handler, reconciler, cluster, telemetry, networks, takeover };
}
