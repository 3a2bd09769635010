import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { createDocumentClient, createSqsClient } from '../../functions/adapters/aws-clients.js';
import { lambdaRecordOf } from '../../functions/adapters/sqs-queue-taker.js';
import { type TableNames, tableNames } from '../../functions/shared/table-schema.js';
import { createFifoQueue, createTables, type FifoQueuePair } from '../../local/provision.js';

/** Clients for the stand-ins started by the global setup (endpoints come from the environment). */
export function localClients() {
  const dynamodb = new DynamoDBClient({});
  const sqs: SQSClient = createSqsClient();
  return { dynamodb, sqs, db: createDocumentClient(dynamodb) };
}

/** A fresh set of the project's tables with unique names, so test files never see each other's data. */
export async function freshTables(dynamodb: DynamoDBClient): Promise<TableNames> {
  const names = tableNames(`t${randomUUID().slice(0, 8)}`);
  await createTables(dynamodb, names);
  return names;
}

export async function freshQueue(
  sqs: SQSClient,
  label: string,
  options: { maxReceiveCount?: number; visibilityTimeoutSeconds?: number } = {},
): Promise<FifoQueuePair> {
  return createFifoQueue(sqs, `${label}-${randomUUID().slice(0, 8)}`, {
    maxReceiveCount: options.maxReceiveCount ?? 3,
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 30,
  });
}

/** A fresh queue (freshQueue) holding one message of group `g`. */
export async function queueWithOneMessage(
  sqs: SQSClient,
  label: string,
  options: { visibilityTimeoutSeconds: number },
  body = '{}',
): Promise<FifoQueuePair> {
  const queue = await freshQueue(sqs, label, options);
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queue.url,
      MessageBody: body,
      MessageGroupId: 'g',
      MessageDeduplicationId: randomUUID(),
    }),
  );
  return queue;
}

/** Up to ten messages of `queue`, shaped as Lambda's event source hands them to a function. */
export async function receiveRecords(
  sqs: SQSClient,
  queue: { url: string; arn?: string },
  waitSeconds: number,
): Promise<SQSRecord[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queue.url,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: waitSeconds,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
  );
  return (out.Messages ?? []).map((m) => lambdaRecordOf(m, queue.arn ?? ''));
}
