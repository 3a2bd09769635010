import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Telemetry } from '../shared/telemetry.js';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** The Lambda shape of a queue consumer: Powertools logger context and metrics flushing around the raw handler. */
export function wrapQueueHandler(raw: SqsHandler, telemetry: Telemetry) {
  return middy(raw)
    .use(injectLambdaContext(telemetry.logger))
    .use(logMetrics(telemetry.metrics, { captureColdStartMetric: true }));
}

/** The Lambda shape of a scheduled function: logger context; it flushes its own metrics between rounds. */
export function wrapScheduledHandler<T, E = unknown>(
  raw: (event: E, context: Context) => Promise<T>,
  telemetry: Telemetry,
) {
  return middy(raw).use(injectLambdaContext(telemetry.logger));
}
