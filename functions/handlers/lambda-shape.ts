import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Telemetry } from '../shared/telemetry.js';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface AwsClients {
  dynamodb: DynamoDBClient;
  sqs: SQSClient;
}

/** The Lambda shape: Powertools logger context and metrics flushing around the raw handler. */
export function wrapQueueHandler(raw: SqsHandler, telemetry: Telemetry) {
  return middy(raw)
    .use(injectLambdaContext(telemetry.logger))
    .use(logMetrics(telemetry.metrics, { captureColdStartMetric: true }));
}
