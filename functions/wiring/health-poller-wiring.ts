import { type AwsClients, createDocumentClient } from '../adapters/aws-clients.js';
import { DynamoDbAgentRegistry } from '../adapters/dynamodb-agent-registry.js';
import { DynamoDbBindingStore } from '../adapters/dynamodb-binding-store.js';
import { DynamoDbGroupStore } from '../adapters/dynamodb-group-store.js';
import { DynamoDbHealthStore } from '../adapters/dynamodb-health-store.js';
import { DynamoDbResourceStore } from '../adapters/dynamodb-resource-store.js';
import { DEFAULT_GROUP } from '../domain/agent-scheduler.js';
import { createHealthPollerHandler } from '../handlers/health-poller-handler.js';
import { HealthPoller } from '../services/health-poller.js';
import type { HealthPollerConfig } from '../shared/config.js';
import { createTelemetry, type Telemetry } from '../shared/telemetry.js';
import { type DeviceOverrides, deviceNetworks, wireDeviceCluster } from './device-cluster-wiring.js';

export interface HealthPollerOverrides extends DeviceOverrides {
  telemetry?: Telemetry;
  sleep?: (ms: number) => Promise<void>;
}

/** The cluster's status poller: its own device clients (read-only), the tables it reads and writes. */
export function wireHealthPoller(
  config: HealthPollerConfig,
  clients: Pick<AwsClients, 'dynamodb'>,
  overrides: HealthPollerOverrides = {},
) {
  const clock = overrides.clock ?? Date.now;
  const db = createDocumentClient(clients.dynamodb);
  const telemetry = overrides.telemetry ?? createTelemetry('health-poller', config.env);
  const cluster = wireDeviceCluster(config, overrides);
  const group = config.group ?? DEFAULT_GROUP;
  const health = new DynamoDbHealthStore(db, config.tables);
  const poller = new HealthPoller({
    env: config.env,
    group: {
      name: group,
      limits: config.groups?.find((g) => g.name === group)?.limits ?? {},
      store: new DynamoDbGroupStore(db, config.tables.groups),
      agentDownTimeMs: config.agentDownTimeMs,
    },
    cluster,
    registry: new DynamoDbAgentRegistry(db, config.tables.agents),
    // Listing bindings is all it does with them: no affinity table (and no grant on it).
    bindings: new DynamoDbBindingStore(db, { bindings: config.tables.bindings, affinity: '' }),
    // It only reads trees: no claims table.
    resources: new DynamoDbResourceStore(db, { resources: config.tables.resources, claims: '' }),
    health,
    clock,
    networks: deviceNetworks(config),
  });
  const handler = createHealthPollerHandler(poller, config, telemetry, overrides.sleep, clock);
  return { handler, poller, cluster, health, telemetry };
}
