import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import { createSqsClient } from '../adapters/aws-clients.js';
import { readReclaimerConfig } from '../shared/config.js';
import { createTelemetry } from '../shared/telemetry.js';
import { createReclaimerHandler, reclaimer } from './reclaimer-handler.js';

// Cold start: configuration validated once, clients created once.
const config = readReclaimerConfig();
const telemetry = createTelemetry('reclaimer', config.env);
const clients = { dynamodb: new DynamoDBClient({ maxAttempts: 4 }), sqs: createSqsClient() };

export const handler = middy(createReclaimerHandler(reclaimer(config, clients), config, telemetry)).use(
  injectLambdaContext(telemetry.logger),
);
