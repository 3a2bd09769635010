import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import type { BigIpCredentials, CredentialsProvider } from '../domain/ports.js';

/**
 * Device credentials from Secrets Manager (`{"username": …, "password": …}`), cached for a few
 * minutes so a warm function does not read the secret per call. Never logged.
 */
export class SecretsManagerCredentials implements CredentialsProvider {
  constructor(
    private readonly secretId: string,
    private readonly maxAgeSeconds = 300,
  ) {}

  async get(): Promise<BigIpCredentials> {
    const value = (await getSecret(this.secretId, { maxAge: this.maxAgeSeconds, transform: 'json' })) as
      | Partial<BigIpCredentials>
      | undefined;
    if (!value?.username || !value.password) {
      throw new Error(`secret ${this.secretId} must hold {"username": …, "password": …}`);
    }
    return {
      username: value.username,
      password: value.password,
      ...(value.loginProviderName ? { loginProviderName: value.loginProviderName } : {}),
    };
  }
}

/** Fixed credentials (the local stack and tests). */
export class StaticCredentials implements CredentialsProvider {
  constructor(private readonly credentials: BigIpCredentials) {}

  async get(): Promise<BigIpCredentials> {
    return this.credentials;
  }
}
