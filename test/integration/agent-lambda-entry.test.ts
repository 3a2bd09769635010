import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, describe, expect, it } from 'vitest';
import { ENV_VARS, readAgentConfig, TABLE_ENV_VARS } from '../../functions/shared/config.js';
import { BigIpSimulator } from '../../local/bigip-simulator/bigip-simulator.js';
import { lambdaContext, lbIds, requests, sqsEvent, sqsRecord } from '../support/factories.js';
import { schedulerHarness } from '../support/scheduler-harness.js';

const secrets = mockClient(SecretsManagerClient);
afterAll(() => secrets.restore());

describe('agent worker Lambda entry point (middy + Powertools, Secrets Manager credentials)', () => {
  it('reads its configuration once, takes device credentials from the secret, and applies a request', async () => {
    // Prepare: scheduler state in DynamoDB Local, a simulated device, the secret (mocked: no Secrets Manager here).
    const h = await schedulerHarness({ env: 'Entry', hosts: ['agent-1'] });
    const sim = new BigIpSimulator({ users: { lbaas: 's3cret' } });
    const baseUrl = await sim.listen();
    secrets
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ username: 'lbaas', password: 's3cret' }) });
    Object.assign(process.env, {
      [ENV_VARS.environment]: 'Entry',
      [ENV_VARS.agentHost]: 'agent-1',
      [ENV_VARS.agentQueueUrl]: h.agentQueues['agent-1']?.url,
      [ENV_VARS.devices]: JSON.stringify([{ name: 'bigip1', baseUrl }]),
      [ENV_VARS.deviceSecretId]: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:bigip',
    });
    for (const [id, variable] of Object.entries(TABLE_ENV_VARS))
      process.env[variable] = h.tables[id as keyof typeof h.tables];
    const ids = lbIds();
    await h.deliver([requests.createLoadbalancer(ids)]);
    const [forwarded] = await h.drainAgent('agent-1');
    const { handler } = await import('../../functions/lambda/agent-worker.js');
    // Act
    const response = await handler(sqsEvent([sqsRecord(forwarded?.body)]), lambdaContext());
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect((await h.resources.loadRecords(ids.loadbalancerId))[0]?.provisioningStatus).toBe('ACTIVE');
    expect(sim.partitions()).toEqual([`Entry_${ids.tenantId}`]);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    await sim.close();
  });

  it('fails loudly on a malformed device list', () => {
    const base: Record<string, string> = {
      [ENV_VARS.environment]: 'Prod',
      [ENV_VARS.agentHost]: 'agent-1',
      [ENV_VARS.agentQueueUrl]: 'https://sqs/q',
      [ENV_VARS.deviceSecretId]: 's',
    };
    for (const variable of Object.values(TABLE_ENV_VARS)) base[variable] = 't';
    expect(() => readAgentConfig({ ...base, [ENV_VARS.devices]: 'nope' })).toThrow(
      /LBAAS_DEVICES is missing or invalid \(not JSON\)/,
    );
    expect(() =>
      readAgentConfig({ ...base, [ENV_VARS.devices]: '[{"name":"a","baseUrl":"ftp://x"}]' }),
    ).toThrow(/LBAAS_DEVICES/);
    expect(
      readAgentConfig({ ...base, [ENV_VARS.devices]: '[{"name":"a","baseUrl":"https://10.0.0.5"}]' }).devices,
    ).toEqual([{ name: 'a', baseUrl: 'https://10.0.0.5' }]);
  });
});
