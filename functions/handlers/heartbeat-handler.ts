import { createDocumentClient } from '../adapters/aws-clients.js';
import type { BigIpCluster } from '../adapters/bigip-cluster.js';
import { DynamoDbAgentRegistry } from '../adapters/dynamodb-agent-registry.js';
import { DynamoDbBindingStore } from '../adapters/dynamodb-binding-store.js';
import { AgentOperations } from '../services/agent-operations.js';
import { type BeatReport, HeartbeatService } from '../services/heartbeat-service.js';
import type { HeartbeatConfig } from '../shared/config.js';
import type { Telemetry } from '../shared/telemetry.js';
import type { AwsClients } from './lambda-shape.js';

/**
 * The scheduled heartbeat. EventBridge schedules fire at most once a minute, so one invocation
 * beats `beatsPerInvocation` times, `heartbeatInterval` apart (2 × 30 s by default): the function
 * sleeps between beats, which costs about 31 s of a 128 MB ARM function per minute per agent.
 */
export function createHeartbeatHandler(
  service: HeartbeatService,
  config: Pick<HeartbeatConfig, 'beatsPerInvocation' | 'heartbeatIntervalMs'>,
  telemetry: Telemetry,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  clock: () => number = Date.now,
) {
  return async (): Promise<{ beats: BeatReport[] }> => {
    const beats: BeatReport[] = [];
    const start = clock();
    for (let i = 0; i < config.beatsPerInvocation; i++) {
      if (i > 0) await sleep(Math.max(0, start + i * config.heartbeatIntervalMs - clock()));
      try {
        beats.push(await service.beat());
      } catch (error) {
        telemetry.logger.error('heartbeat failed', { error });
        if (i === config.beatsPerInvocation - 1 && beats.length === 0) throw error;
      } finally {
        // Flush per beat: the invocation sleeps between beats.
        if (telemetry.metrics.hasStoredMetrics()) telemetry.metrics.publishStoredMetrics();
      }
    }
    return { beats };
  };
}

export function heartbeatService(
  config: HeartbeatConfig,
  clients: Pick<AwsClients, 'dynamodb'>,
  telemetry: Telemetry,
  cluster: BigIpCluster,
  clock: () => number = Date.now,
): HeartbeatService {
  const db = createDocumentClient(clients.dynamodb);
  const registry = new DynamoDbAgentRegistry(db, config.tables.agents);
  return new HeartbeatService({
    env: config.env,
    host: config.host,
    agentId: config.agentId,
    queueUrl: config.agentQueueUrl,
    registry,
    cluster,
    operations: new AgentOperations({
      registry,
      bindings: new DynamoDbBindingStore(db, config.tables),
      agentDownTimeMs: config.agentDownTimeMs,
      clock,
    }),
    rebindAfterMs: config.rebindAfterMs,
    clock,
    logger: telemetry.logger,
    metrics: telemetry.metrics,
  });
}
