import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  createAwsClients,
  createDocumentClient,
  createSqsClient,
} from '../../../functions/adapters/aws-clients.js';

const names = (client: { middlewareStack: { identify(): string[] } }) =>
  client.middlewareStack.identify().map((entry) => entry.split(' ')[0]);

describe('AWS SDK clients', () => {
  it('build no SDK log lines (the default logger discards them; building them deep-copies every call)', () => {
    // Prepare: a client as the SDK makes it has the logger middleware.
    expect(names(new DynamoDBClient({ region: 'us-east-1' }))).toContain('loggerMiddleware');
    // Act
    const { dynamodb, sqs } = createAwsClients();
    // Assess
    expect(names(dynamodb)).not.toContain('loggerMiddleware');
    expect(names(sqs)).not.toContain('loggerMiddleware');
    expect(names(createSqsClient())).not.toContain('loggerMiddleware');
    expect(names(createDocumentClient())).not.toContain('loggerMiddleware');
  });
});
