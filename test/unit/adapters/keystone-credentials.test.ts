import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretsManagerKeystoneCredentials } from '../../../functions/adapters/keystone-credentials.js';
import { type LocalSecretsManager, startLocalSecretsManager } from '../../support/local-secrets-manager.js';

// The API's Keystone service account, read through the SDK (Powertools' getSecret) from Secrets
// Manager on loopback: what the secret holds is handed on, optional domains only when set, and a
// secret without the required fields is refused naming the secret and never showing its value.

describe('the Keystone service account from Secrets Manager', () => {
  let sm: LocalSecretsManager;
  const saved = process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
  beforeAll(async () => {
    sm = await startLocalSecretsManager({ region: 'us-east-1', accountId: '123456789012' });
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = sm.endpoint;
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
    else process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = saved;
    await sm.close();
  });

  it('reads username, password and project, with the domains only when the secret names them', async () => {
    sm.create(
      'keystone/plain',
      JSON.stringify({ username: 'octavia', password: 'pw1', projectName: 'service' }),
    );
    expect(await new SecretsManagerKeystoneCredentials('keystone/plain').get()).toEqual({
      username: 'octavia',
      password: 'pw1',
      projectName: 'service',
    });
    sm.create(
      'keystone/domains',
      JSON.stringify({
        username: 'octavia',
        password: 'pw2',
        projectName: 'service',
        userDomainName: 'Users',
        projectDomainName: 'Projects',
      }),
    );
    expect(await new SecretsManagerKeystoneCredentials('keystone/domains').get()).toEqual({
      username: 'octavia',
      password: 'pw2',
      projectName: 'service',
      userDomainName: 'Users',
      projectDomainName: 'Projects',
    });
    expect(sm.calls.some((c) => c.operation === 'GetSecretValue')).toBe(true);
  });

  it('refuses a secret missing a required field, naming the secret and not its contents', async () => {
    sm.create('keystone/partial', JSON.stringify({ username: 'octavia', password: 'hunter2' }));
    const error = await new SecretsManagerKeystoneCredentials('keystone/partial')
      .get()
      .catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(
      'secret keystone/partial must hold {"username", "password", "projectName"}',
    );
    expect((error as Error).message).not.toContain('hunter2');
  });
});
