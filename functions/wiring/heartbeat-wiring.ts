import type { AwsClients } from '../adapters/aws-clients.js';
import { DEFAULT_GROUP } from '../domain/agent-scheduler.js';
import { createHeartbeatHandler } from '../handlers/heartbeat-handler.js';
import { HeartbeatService } from '../services/heartbeat-service.js';
import type { HeartbeatConfig } from '../shared/config.js';
import { createTelemetry, type Telemetry } from '../shared/telemetry.js';
import { type DeviceOverrides, wireDeviceCluster } from './device-cluster-wiring.js';
import { wireAgentOperations } from './operator-wiring.js';

export interface HeartbeatOverrides extends DeviceOverrides {
  telemetry?: Telemetry;
  sleep?: (ms: number) => Promise<void>;
  /** How long one unit may take to answer a beat (default: a third of the interval). */
  unitBudgetMs?: number;
}

/** One agent's heartbeat: its own device clients (its own path), the registry, the rebind policy. */
export function wireHeartbeat(
  config: HeartbeatConfig,
  clients: Pick<AwsClients, 'dynamodb'>,
  overrides: HeartbeatOverrides = {},
) {
  const clock = overrides.clock ?? Date.now;
  // The heartbeat's metrics carry the Agent dimension explicitly (it also reports other agents' ages).
  const telemetry = overrides.telemetry ?? createTelemetry('heartbeat', config.env);
  telemetry.logger.appendPersistentKeys({ agent: config.host });
  const cluster = wireDeviceCluster(config, overrides);
  const { registry, operations } = wireAgentOperations(config, clients, { clock });
  const service = new HeartbeatService({
    env: config.env,
    host: config.host,
    agentId: config.agentId,
    queueUrl: config.agentQueueUrl,
    registry,
    cluster,
    operations,
    rebindAfterMs: config.rebindAfterMs,
    clock,
    group: config.group ?? DEFAULT_GROUP,
    // A unit gets a third of the interval: a hung one is reported, and the beat stays within its interval.
    unitBudgetMs: overrides.unitBudgetMs ?? Math.max(1_000, Math.floor(config.heartbeatIntervalMs / 3)),
  });
  const handler = createHeartbeatHandler(service, config, telemetry, overrides.sleep, clock);
  return { handler, service, cluster, registry, telemetry };
}
