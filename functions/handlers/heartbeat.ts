import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import { buildCluster } from '../adapters/bigip-environment.js';
import { SecretsManagerCredentials } from '../adapters/device-credentials.js';
import { readHeartbeatConfig } from '../shared/config.js';
import { createTelemetry } from '../shared/telemetry.js';
import { createHeartbeatHandler, heartbeatService } from './heartbeat-handler.js';

// Cold start: configuration validated once; device clients (and their tokens) kept warm.
const config = readHeartbeatConfig();
// The heartbeat's metrics carry the Agent dimension explicitly (it also reports other agents' ages).
const telemetry = createTelemetry('heartbeat', config.env);
telemetry.logger.appendPersistentKeys({ agent: config.host });
const cluster = buildCluster(config, new SecretsManagerCredentials(config.deviceSecretId));
const service = heartbeatService(
  config,
  { dynamodb: new DynamoDBClient({ maxAttempts: 4 }) },
  telemetry,
  cluster,
);

// Metrics are flushed after each beat by the handler itself (it sleeps between beats).
export const handler = middy(createHeartbeatHandler(service, config, telemetry)).use(
  injectLambdaContext(telemetry.logger),
);
