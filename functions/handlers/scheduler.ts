import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createSqsClient } from '../adapters/aws-clients.js';
import { readSchedulerConfig } from '../shared/config.js';
import { createTelemetry } from '../shared/telemetry.js';
import { wrapQueueHandler } from './lambda-shape.js';
import { createSchedulerHandler, schedulerDeps } from './scheduler-handler.js';

// Cold start: configuration validated once, clients created once.
const config = readSchedulerConfig();
const telemetry = createTelemetry('scheduler', config.env);
const clients = { dynamodb: new DynamoDBClient({ maxAttempts: 4 }), sqs: createSqsClient() };

export const handler = wrapQueueHandler(
  createSchedulerHandler(schedulerDeps(config, clients, telemetry)),
  telemetry,
);
