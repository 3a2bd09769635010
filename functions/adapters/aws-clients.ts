import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** The SDK clients a function uses; the local stack and tests pass their own (local endpoints). */
export interface AwsClients {
  dynamodb: DynamoDBClient;
  sqs: SQSClient;
}

/**
 * SDK clients, configured once. Endpoints come only from the SDK's standard variables
 * (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SQS`), so the same code talks to AWS or to the
 * local stand-ins.
 */
export function createAwsClients(): AwsClients {
  return { dynamodb: withoutSdkLogLines(new DynamoDBClient({ maxAttempts: 4 })), sqs: createSqsClient() };
}

/**
 * Our clients take no SDK logger, and the SDK's default one discards every line; yet its logger
 * middleware still builds each call's line, input and output deep-copied through the
 * sensitive-field filter: about 1.5 ms of CPU per call that writes or reads a thousand-member tree
 * (bench/README.md, "The SDK's log lines"). Removed, nothing is lost: nothing read those lines.
 * Only for a client created without a `logger`.
 */
export function withoutSdkLogLines<C extends { middlewareStack: { remove(name: string): boolean } }>(
  client: C,
): C {
  client.middlewareStack.remove('loggerMiddleware');
  return client;
}

export function createDocumentClient(
  client = withoutSdkLogLines(new DynamoDBClient({ maxAttempts: 4 })),
): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

export function createSqsClient(): SQSClient {
  // Send to the resolved endpoint rather than the queue URL's host: same-region queues behave the
  // same in AWS, and local stand-ins hand out queue URLs whose host names do not resolve.
  return withoutSdkLogLines(new SQSClient({ useQueueUrlAsEndpoint: false, maxAttempts: 4 }));
}
