import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createSqsClient } from '../../functions/adapters/aws-clients.js';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb-local.js';
import { type SqsLocal, startSqsLocal } from '../../local/sqs-local.js';
import { CallCounter } from './call-counter.js';

/** Starts the local DynamoDB and SQS for a benchmark and gives it counted clients. */
export async function startBenchServices() {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const [dynamodbLocal, sqsLocal]: [DynamoDbLocal, SqsLocal] = await Promise.all([
    startDynamoDbLocal(),
    startSqsLocal(),
  ]);
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_ENDPOINT_URL_DYNAMODB: dynamodbLocal.endpoint,
    AWS_ENDPOINT_URL_SQS: sqsLocal.endpoint,
  });
  const counter = new CallCounter();
  const dynamodb = new DynamoDBClient({});
  const sqs = createSqsClient();
  counter.attach(dynamodb, 'dynamodb');
  counter.attach(sqs, 'sqs');
  return {
    dynamodb,
    sqs,
    counter,
    async stop() {
      dynamodb.destroy();
      sqs.destroy();
      await Promise.all([sqsLocal.stop(), dynamodbLocal.stop()]);
    },
  };
}

/** Runs `fn` over `items` with at most `concurrency` in flight; returns per-item latencies (ms). */
export async function runConcurrently<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<unknown>,
): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      const start = performance.now();
      await fn(item);
      latencies.push(performance.now() - start);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return latencies;
}
