import { readFileSync } from 'node:fs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretsManagerCertificates } from '../../../functions/adapters/certificate-stores.js';
import { type LocalSecretsManager, startLocalSecretsManager } from '../../support/local-secrets-manager.js';

// TERMINATED_HTTPS certificates in Secrets Manager (the loopback stand-in, through the real SDK
// client): a first import creates the secret, a second one (a rotation) puts a new value, a read
// answers the latest; a missing secret or one that is not JSON is refused naming the reference.

const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/tls/${name}`, import.meta.url), 'utf8');

describe('certificates in Secrets Manager', () => {
  let sm: LocalSecretsManager;
  let store: SecretsManagerCertificates;
  beforeAll(async () => {
    sm = await startLocalSecretsManager({ region: 'us-east-1', accountId: '123456789012' });
    store = new SecretsManagerCertificates(new SecretsManagerClient({ endpoint: sm.endpoint }));
  });
  afterAll(async () => sm.close());

  it('creates the secret, puts a new value on a second import, and reads the latest', async () => {
    const ref = 'lbaas/Test/project/web';
    const a = { certificate: fixture('a.example.com.pem'), private_key: fixture('a.example.com.key') };
    const b = { certificate: fixture('b.example.com.pem'), private_key: fixture('b.example.com.key') };
    await store.put(ref, a);
    expect((await store.read(ref)).serverNames).toContain('a.example.com');
    await store.put(ref, b);
    const read = await store.read(ref);
    expect(read.serverNames).toContain('b.example.com');
    expect(read.certificate).toBe(b.certificate);
    expect(sm.calls.map((c) => c.operation).filter((o) => o !== 'GetSecretValue')).toEqual([
      'CreateSecret',
      'CreateSecret',
      'PutSecretValue',
    ]);
  });

  it('refuses a bundle that is no certificate before writing anything', async () => {
    const before = sm.calls.length;
    await expect(
      store.put('lbaas/Test/project/bad', {
        certificate: 'not a pem',
        private_key: fixture('a.example.com.key'),
      }),
    ).rejects.toThrow('certificate lbaas/Test/project/bad: certificate is not a PEM X.509 certificate');
    expect(sm.calls.length).toBe(before);
  });

  it('a missing secret or one that is not JSON: an error naming the reference, never the content', async () => {
    await expect(store.read('lbaas/Test/project/missing')).rejects.toThrow(
      'certificate lbaas/Test/project/missing: Secrets Manager answered ResourceNotFoundException',
    );
    sm.create('lbaas/Test/project/text', 'secret-text-not-json');
    const error = await store.read('lbaas/Test/project/text').catch((e: Error) => e);
    expect((error as Error).message).toBe('certificate lbaas/Test/project/text: the secret is not JSON');
    expect((error as Error).message).not.toContain('secret-text-not-json');
  });
});
