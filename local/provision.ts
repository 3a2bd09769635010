import {
  type AttributeDefinition,
  CreateTableCommand,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { TABLES, type TableId, type TableNames, type TableSchema } from '../functions/shared/table-schema.js';

/** Creates the project's tables (same keys and indexes as the CDK stack) on a DynamoDB endpoint. */
export async function createTables(db: DynamoDBClient, names: TableNames): Promise<void> {
  await Promise.all(
    (Object.entries(TABLES) as [TableId, TableSchema][]).map(([id, schema]) =>
      createTable(db, names[id], schema),
    ),
  );
}

async function createTable(db: DynamoDBClient, name: string, schema: TableSchema): Promise<void> {
  const attributes = new Set<string>([schema.partitionKey]);
  const key: KeySchemaElement[] = [{ AttributeName: schema.partitionKey, KeyType: 'HASH' }];
  if (schema.sortKey) {
    attributes.add(schema.sortKey);
    key.push({ AttributeName: schema.sortKey, KeyType: 'RANGE' });
  }
  const indexes: GlobalSecondaryIndex[] = (schema.indexes ?? []).map((index) => {
    attributes.add(index.partitionKey);
    const schemaKey: KeySchemaElement[] = [{ AttributeName: index.partitionKey, KeyType: 'HASH' }];
    if (index.sortKey) {
      attributes.add(index.sortKey);
      schemaKey.push({ AttributeName: index.sortKey, KeyType: 'RANGE' });
    }
    return { IndexName: index.name, KeySchema: schemaKey, Projection: { ProjectionType: 'ALL' } };
  });
  const definitions: AttributeDefinition[] = [...attributes].map((a) => ({
    AttributeName: a,
    AttributeType: 'S',
  }));
  try {
    await db.send(
      new CreateTableCommand({
        TableName: name,
        KeySchema: key,
        AttributeDefinitions: definitions,
        BillingMode: 'PAY_PER_REQUEST',
        ...(indexes.length ? { GlobalSecondaryIndexes: indexes } : {}),
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  await waitUntilTableExists({ client: db, maxWaitTime: 30, minDelay: 1 }, { TableName: name });
  if (schema.ttlAttribute) {
    await db
      .send(
        new UpdateTimeToLiveCommand({
          TableName: name,
          TimeToLiveSpecification: { AttributeName: schema.ttlAttribute, Enabled: true },
        }),
      )
      .catch(() => undefined); // already enabled
  }
}

export interface FifoQueuePair {
  url: string;
  arn: string;
  dlqUrl: string;
  dlqArn: string;
}

/** Creates a FIFO queue with its FIFO dead-letter queue and redrive policy (as the CDK stack does). */
export async function createFifoQueue(
  sqs: SQSClient,
  name: string,
  options: { maxReceiveCount: number; visibilityTimeoutSeconds: number },
): Promise<FifoQueuePair> {
  const base = name.replace(/\.fifo$/, '');
  const dlq = await sqs.send(
    new CreateQueueCommand({ QueueName: `${base}-dlq.fifo`, Attributes: { FifoQueue: 'true' } }),
  );
  const dlqUrl = dlq.QueueUrl as string;
  const dlqArn = await queueArn(sqs, dlqUrl);
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${base}.fifo`,
      Attributes: {
        FifoQueue: 'true',
        VisibilityTimeout: String(options.visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn,
          maxReceiveCount: options.maxReceiveCount,
        }),
      },
    }),
  );
  const url = queue.QueueUrl as string;
  return { url, arn: await queueArn(sqs, url), dlqUrl, dlqArn };
}

export async function queueArn(sqs: SQSClient, url: string): Promise<string> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return out.Attributes?.QueueArn as string;
}
