import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createSqsClient } from '../adapters/aws-clients.js';
import { buildCluster } from '../adapters/bigip-environment.js';
import type { RestCall } from '../adapters/bigip-rest-client.js';
import { SecretsManagerCredentials } from '../adapters/device-credentials.js';
import { readAgentConfig } from '../shared/config.js';
import { createTelemetry } from '../shared/telemetry.js';
import { agentWorkerDeps, createAgentWorkerHandler } from './agent-worker-handler.js';
import { wrapQueueHandler } from './lambda-shape.js';

// Cold start: configuration validated once; SDK clients, device clients and their tokens live
// for the life of the container.
const config = readAgentConfig();
const telemetry = createTelemetry('agent', config.env, config.host);
const calls: RestCall[] = [];
const cluster = buildCluster(config, new SecretsManagerCredentials(config.deviceSecretId), {
  onCall: (call) => calls.push(call),
});
const clients = { dynamodb: new DynamoDBClient({ maxAttempts: 4 }), sqs: createSqsClient() };

export const handler = wrapQueueHandler(
  createAgentWorkerHandler(agentWorkerDeps(config, clients, telemetry, cluster, calls)),
  telemetry,
);
