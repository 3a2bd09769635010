import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { type ClientTarget, LbaasClient } from '../../../cli/lbaas-client.js';
import { tableNames } from '../../../functions/shared/table-schema.js';

const lambda = mockClient(LambdaClient);
afterEach(() => lambda.reset());

const target: ClientTarget = {
  env: 'Project',
  requestQueueUrl: 'https://sqs.invalid/q',
  requestDlqUrl: 'https://sqs.invalid/d',
  agentQueues: {},
  tables: tableNames('lbaas'),
  agentDownTimeSeconds: 75,
  reconcilerFunctions: { default: 'lbaas-Project-Reconciler' },
  region: 'us-east-1',
};
const client = () =>
  new LbaasClient(target, {
    dynamodb: new DynamoDBClient({ region: 'us-east-1' }),
    sqs: new SQSClient({ region: 'us-east-1' }),
  });
const encode = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe('lbaas sync against AWS: the reconciler function', () => {
  it('invokes it with the scope and returns its report', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: encode({ outcome: 'skipped', reason: 'device not ready' }) as never,
    });
    const report = await client().sync({ dryRun: true, removeOrphans: false, loadbalancerId: 'lb1' });
    expect(report).toEqual({ outcome: 'skipped', reason: 'device not ready' });
    const sent = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(sent?.FunctionName).toBe('lbaas-Project-Reconciler');
    expect(JSON.parse(new TextDecoder().decode(sent?.Payload as Uint8Array))).toEqual({
      dryRun: true,
      orphans: 'report',
      loadbalancerId: 'lb1',
    });
  });

  it('says so when the function failed (a timeout, a crash)', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: encode({ errorMessage: 'Task timed out after 900.00 seconds' }) as never,
    });
    await expect(client().sync({ dryRun: false, removeOrphans: false })).rejects.toThrow(
      /the reconciler failed: .*Task timed out/,
    );
  });

  it('refuses when the stack predates the reconciler', async () => {
    const { reconcilerFunctions: _f, ...old } = target;
    const c = new LbaasClient(old, {
      dynamodb: new DynamoDBClient({ region: 'us-east-1' }),
      sqs: new SQSClient({ region: 'us-east-1' }),
    });
    await expect(c.sync({ dryRun: true, removeOrphans: false })).rejects.toThrow(/no reconciler function/);
  });

  it('invokes the named device group’s reconciler, and wants a group named when there are several', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: encode({ outcome: 'skipped', reason: 'device not ready' }) as never,
    });
    const c = new LbaasClient(
      {
        ...target,
        reconcilerFunctions: { g1: 'lbaas-Project-Reconciler-g1', g2: 'lbaas-Project-Reconciler-g2' },
      },
      { dynamodb: new DynamoDBClient({ region: 'us-east-1' }), sqs: new SQSClient({ region: 'us-east-1' }) },
    );
    await c.sync({ dryRun: true, removeOrphans: false, group: 'g2' });
    expect(lambda.commandCalls(InvokeCommand)[0]?.args[0].input.FunctionName).toBe(
      'lbaas-Project-Reconciler-g2',
    );
    await expect(c.sync({ dryRun: true, removeOrphans: false })).rejects.toThrow(
      /has device groups g1, g2: name one/,
    );
    await expect(c.sync({ dryRun: true, removeOrphans: false, group: 'g3' })).rejects.toThrow(
      /no reconciler function for device group g3/,
    );
  });
});

describe('lbaas takeover --dry-run against AWS: the reconciler function', () => {
  it('invokes it with the takeover invocation and returns its report', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: encode({ outcome: 'refused', reason: 'takeover.agentPrefix: letters and digits' }) as never,
    });
    const report = await client().takeoverDryRun({ agentPrefix: 'Project' });
    expect(report).toEqual({ outcome: 'refused', reason: 'takeover.agentPrefix: letters and digits' });
    const sent = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(sent?.FunctionName).toBe('lbaas-Project-Reconciler');
    expect(JSON.parse(new TextDecoder().decode(sent?.Payload as Uint8Array))).toEqual({
      takeover: { dryRun: true, agentPrefix: 'Project' },
    });
  });
});
