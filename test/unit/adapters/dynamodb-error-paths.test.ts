import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../../functions/adapters/aws-clients.js';
import { DynamoDbAgentRegistry } from '../../../functions/adapters/dynamodb-agent-registry.js';
import { DynamoDbBindingStore } from '../../../functions/adapters/dynamodb-binding-store.js';
import { ContentionError, HostNameConflictError, isRetryable } from '../../../functions/domain/errors.js';

const dynamo = mockClient(DynamoDBClient);
const db = createDocumentClient(new DynamoDBClient({}));
const binding = { loadbalancerId: 'lb', env: 'E', host: 'h1', tenantId: 't', boundAt: 1 };

function canceled(codes: string[]) {
  return new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
}

describe('DynamoDB adapters on error paths', () => {
  afterEach(() => dynamo.reset());

  it('turns a transaction conflict on bind into a retryable contention error', async () => {
    const ddbDoc = mockClient(db);
    ddbDoc.on(TransactWriteCommand).rejects(canceled(['None', 'TransactionConflict']));
    const store = new DynamoDbBindingStore(db, { bindings: 'b', affinity: 'a' });
    const error = await store.bind(binding).catch((e) => e);
    expect(error).toBeInstanceOf(ContentionError);
    expect(isRetryable(error)).toBe(true);
    ddbDoc.restore();
  });

  it('returns the winner when the binding already exists', async () => {
    const ddbDoc = mockClient(db);
    ddbDoc.on(TransactWriteCommand).rejects(canceled(['ConditionalCheckFailed', 'None']));
    ddbDoc.on(GetCommand).resolves({ Item: { ...binding, host: 'h2' } });
    const store = new DynamoDbBindingStore(db, { bindings: 'b', affinity: 'a' });
    expect(await store.bind(binding)).toEqual({ created: false, existing: { ...binding, host: 'h2' } });
    ddbDoc.restore();
  });

  it('lets throttling propagate so the message is retried', async () => {
    const ddbDoc = mockClient(db);
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    ddbDoc.on(GetCommand).rejects(throttled);
    const store = new DynamoDbBindingStore(db, { bindings: 'b', affinity: 'a' });
    const error = await store.getBinding('lb').catch((e) => e);
    expect(error.name).toBe('ThrottlingException');
    expect(isRetryable(error)).toBe(true);
    ddbDoc.restore();
  });

  it('refuses a heartbeat for a host name owned by another agent identity', async () => {
    const ddbDoc = mockClient(db);
    ddbDoc
      .on(UpdateCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'failed', $metadata: {} }));
    ddbDoc.on(GetCommand).resolves({ Item: { env: 'E', host: 'h1', agentId: 'first' } });
    const registry = new DynamoDbAgentRegistry(db, 'agents');
    const error = await registry
      .heartbeat({
        env: 'E',
        host: 'h1',
        agentId: 'second',
        queueUrl: 'q',
        nowMs: 1,
        started: true,
        alive: true,
        devices: {},
        configuration: {},
      })
      .catch((e) => e);
    expect(error).toBeInstanceOf(HostNameConflictError);
    expect(error.message).toBe(
      'host name h1 in environment E already belongs to agent first; agent second was refused',
    );
    ddbDoc.restore();
  });
});
