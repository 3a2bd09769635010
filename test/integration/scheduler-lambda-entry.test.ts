import { describe, expect, it } from 'vitest';
import { ENV_VARS, readSchedulerConfig, TABLE_ENV_VARS } from '../../functions/shared/config.js';
import { lambdaContext, lbIds, requests, sqsEvent, sqsRecord } from '../support/factories.js';
import { schedulerHarness } from '../support/scheduler-harness.js';

describe('scheduler Lambda entry point (middy + Powertools)', () => {
  it('reads its configuration from the environment once and schedules a batch', async () => {
    // Prepare: the same tables and queues the harness made, named through environment variables.
    const h = await schedulerHarness({ env: 'Entry' });
    process.env[ENV_VARS.environment] = 'Entry';
    process.env[ENV_VARS.requestQueueUrl] = h.requestQueue.url;
    for (const [id, variable] of Object.entries(TABLE_ENV_VARS)) {
      process.env[variable] = h.tables[id as keyof typeof h.tables];
    }
    const { handler } = await import('../../functions/lambda/scheduler.js');
    const ids = lbIds();
    // Act
    const response = await handler(
      sqsEvent([sqsRecord(requests.createLoadbalancer(ids)), sqsRecord('garbage')]),
      lambdaContext(),
    );
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await h.bindings.getBinding(ids.loadbalancerId)).toBeDefined();
  });

  it('fails loudly at cold start when a variable is missing or malformed', () => {
    expect(() => readSchedulerConfig({})).toThrow(/LBAAS_ENVIRONMENT is missing or invalid/);
    expect(() => readSchedulerConfig({ [ENV_VARS.environment]: 'bad_env!' })).toThrow(/LBAAS_ENVIRONMENT/);
    const base: Record<string, string> = {
      [ENV_VARS.environment]: 'Prod',
      [ENV_VARS.requestQueueUrl]: 'https://sqs/x',
    };
    for (const variable of Object.values(TABLE_ENV_VARS)) base[variable] = 't';
    expect(readSchedulerConfig(base)).toMatchObject({
      env: 'Prod',
      agentDownTimeMs: 75_000,
      maxAttempts: 8,
      selection: 'random',
    });
    expect(() => readSchedulerConfig({ ...base, [ENV_VARS.maxAttempts]: '0' })).toThrow(/LBAAS_MAX_ATTEMPTS/);
  });
});
