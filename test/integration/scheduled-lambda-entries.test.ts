import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, describe, expect, it } from 'vitest';
import { ENV_VARS, TABLE_ENV_VARS } from '../../functions/shared/config.js';
import { BigIpSimulator } from '../../local/bigip-simulator/bigip-simulator.js';
import { lambdaContext } from '../support/factories.js';
import { schedulerHarness } from '../support/scheduler-harness.js';

const secrets = mockClient(SecretsManagerClient);
afterAll(() => secrets.restore());

describe('scheduled Lambda entry points (heartbeat, reclaimer)', () => {
  it('heartbeat: reads its configuration once, takes credentials from the secret, and beats', async () => {
    const h = await schedulerHarness({ env: 'Sched', hosts: ['agent-9'] });
    const sim = new BigIpSimulator({ users: { lbaas: 'pw' } });
    const baseUrl = await sim.listen();
    secrets
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ username: 'lbaas', password: 'pw' }) });
    Object.assign(process.env, {
      [ENV_VARS.environment]: 'Sched',
      [ENV_VARS.agentHost]: 'agent-9',
      [ENV_VARS.agentId]: 'id-agent-9',
      [ENV_VARS.agentQueueUrl]: h.agentQueues['agent-9']?.url,
      [ENV_VARS.devices]: JSON.stringify([{ name: 'bigip1', baseUrl }]),
      [ENV_VARS.deviceSecretId]: 'bigip-secret',
      [ENV_VARS.beatsPerInvocation]: '1',
    });
    for (const [id, variable] of Object.entries(TABLE_ENV_VARS))
      process.env[variable] = h.tables[id as keyof typeof h.tables];
    const { handler } = await import('../../functions/lambda/heartbeat.js');
    const result = await handler({}, lambdaContext());
    expect(result.beats).toEqual([expect.objectContaining({ alive: true })]);
    expect((await h.registry.getAgent('Sched', 'agent-9'))?.devices?.bigip1).toMatchObject({
      failoverState: 'ACTIVE',
    });
    await sim.close();
  });

  it('reclaimer: sweeps the environment once per configured beat', async () => {
    const h = await schedulerHarness({ env: 'Sched2' });
    Object.assign(process.env, { [ENV_VARS.environment]: 'Sched2', [ENV_VARS.beatsPerInvocation]: '1' });
    for (const [id, variable] of Object.entries(TABLE_ENV_VARS))
      process.env[variable] = h.tables[id as keyof typeof h.tables];
    const { handler } = await import('../../functions/lambda/reclaimer.js');
    expect(await handler({}, lambdaContext())).toEqual({ sweeps: [{ moved: 0, byAgent: {} }] });
  });
});
