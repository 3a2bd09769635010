import { type AwsClients, createDocumentClient } from '../adapters/aws-clients.js';
import { DynamoDbAgentRegistry } from '../adapters/dynamodb-agent-registry.js';
import { DynamoDbBindingStore } from '../adapters/dynamodb-binding-store.js';
import { SqsAgentQueue } from '../adapters/sqs-agent-queue.js';
import { SqsQueueInbox } from '../adapters/sqs-queue-inbox.js';
import { createReclaimerHandler } from '../handlers/reclaimer-handler.js';
import { StrandedRequestReclaimer } from '../services/stranded-request-reclaimer.js';
import type { ReclaimerConfig } from '../shared/config.js';
import { createTelemetry, type Telemetry } from '../shared/telemetry.js';

export interface ReclaimerOverrides {
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
  telemetry?: Telemetry;
}

/** The environment's reclaimer: agents and bindings tables, the agents' queues. */
export function wireReclaimer(
  config: ReclaimerConfig,
  clients: AwsClients,
  overrides: ReclaimerOverrides = {},
) {
  const db = createDocumentClient(clients.dynamodb);
  const telemetry = overrides.telemetry ?? createTelemetry('reclaimer', config.env);
  const reclaimer = new StrandedRequestReclaimer({
    env: config.env,
    registry: new DynamoDbAgentRegistry(db, config.tables.agents),
    bindings: new DynamoDbBindingStore(db, config.tables),
    inbox: new SqsQueueInbox(clients.sqs),
    queue: new SqsAgentQueue(clients.sqs),
    agentDownTimeMs: config.agentDownTimeMs,
    clock: overrides.clock ?? Date.now,
    agentQueues: config.agentQueues,
  });
  const handler = createReclaimerHandler(reclaimer, config, telemetry, overrides.sleep);
  return { handler, reclaimer, telemetry };
}
