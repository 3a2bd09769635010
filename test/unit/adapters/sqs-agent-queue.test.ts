import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { SqsAgentQueue } from '../../../functions/adapters/sqs-agent-queue.js';
import { ForwardRefusedError, isRetryable } from '../../../functions/domain/errors.js';
import { type ForwardedRequest, forwardable } from '../../../functions/domain/lbaas-request.js';
import { lbIds, requests } from '../../support/factories.js';
import { parsed } from '../../support/service-fixtures.js';

const sqs = mockClient(SQSClient);
const URL = 'https://sqs.example/123/a1.fifo';

const message = (name: string, body: Record<string, unknown> = {}): ForwardedRequest => {
  const ids = lbIds();
  return {
    request: forwardable(
      parsed(requests.update('loadbalancer', ids, { id: ids.loadbalancerId, name, ...body })),
    ),
    scheduling: { kind: 'bound', host: 'a1', scheduledAt: 1, env: 'Unit' },
  };
};

describe('SqsAgentQueue', () => {
  afterEach(() => sqs.reset());

  it('sends forwards asked for side by side as one batch, and one alone as one message', async () => {
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
      Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: `m${e.Id}` })),
      Failed: [],
    }));
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm' });
    const queue = new SqsAgentQueue(new SQSClient({ region: 'us-east-1' }));
    const side = ['a', 'b', 'c'].map((n) => message(n));
    await Promise.all(side.map((m) => queue.forward(URL, m)));
    await queue.forward(URL, message('alone'));
    const batches = sqs.commandCalls(SendMessageBatchCommand);
    expect(batches).toHaveLength(1);
    expect(batches[0]?.args[0].input.Entries?.map((e) => e.MessageGroupId)).toEqual(
      side.map((m) => m.request.loadbalancerId),
    );
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(1);
  });

  it('splits more than ten into batches of ten', async () => {
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
      Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: `m${e.Id}` })),
      Failed: [],
    }));
    const queue = new SqsAgentQueue(new SQSClient({ region: 'us-east-1' }));
    await Promise.all(Array.from({ length: 23 }, (_, i) => queue.forward(URL, message(`n${i}`))));
    expect(sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries?.length)).toEqual([
      10, 10, 3,
    ]);
  });

  it('fails only the caller whose entry SQS did not take, with a retryable error', async () => {
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
      Successful: input.Entries.filter((e) => e.Id !== '1').map((e) => ({ Id: e.Id, MessageId: 'm' })),
      Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false, Message: 'try again' }],
    }));
    const queue = new SqsAgentQueue(new SQSClient({ region: 'us-east-1' }));
    const settled = await Promise.allSettled(['a', 'b', 'c'].map((n) => queue.forward(URL, message(n))));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const reason = (settled[1] as PromiseRejectedResult).reason;
    expect(reason).toBeInstanceOf(ForwardRefusedError);
    expect(reason.message).toContain('InternalError');
    expect(isRetryable(reason)).toBe(true);
  });

  it('sends nothing more of a load balancer whose forward failed in an earlier batch (FIFO order), and goes on with the others', async () => {
    const ids = lbIds();
    const ofOne = (name: string): ForwardedRequest => ({
      request: forwardable(parsed(requests.update('loadbalancer', ids, { id: ids.loadbalancerId, name }))),
      scheduling: { kind: 'bound', host: 'a1', scheduledAt: 1, env: 'Unit' },
    });
    // The first batch: entry 0 (the load balancer's first request) not taken, the rest taken.
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
      Successful: input.Entries.filter((e) => e.Id !== '0').map((e) => ({ Id: e.Id, MessageId: 'm' })),
      Failed: [{ Id: '0', Code: 'InternalError', SenderFault: false, Message: 'try again' }],
    }));
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm' });
    const queue = new SqsAgentQueue(new SQSClient({ region: 'us-east-1' }));
    // Ten of the load balancer's (batch one), then its eleventh and another load balancer's (batch two).
    const mine = Array.from({ length: 11 }, (_, i) => ofOne(`n${i}`));
    const other = message('other');
    const settled = await Promise.allSettled([...mine, other].map((m) => queue.forward(URL, m)));
    expect(settled[0]?.status).toBe('rejected');
    expect(settled[10]?.status).toBe('rejected');
    expect(settled[11]?.status).toBe('fulfilled');
    // The second send carries the other load balancer's request only.
    const sent = sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input.MessageGroupId);
    expect(sent).toEqual([other.request.loadbalancerId]);
  });

  it('fails every caller of a batch whose send failed', async () => {
    sqs.on(SendMessageBatchCommand).rejects(new Error('connection reset'));
    const queue = new SqsAgentQueue(new SQSClient({ region: 'us-east-1' }));
    const settled = await Promise.allSettled(['a', 'b'].map((n) => queue.forward(URL, message(n))));
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
  });
});
