import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import type { KeystoneCredentialsSource, KeystoneServiceCredentials } from '../domain/ports.js';

/**
 * The API's Keystone service account from Secrets Manager (`{"username", "password",
 * "projectName", "userDomainName"?, "projectDomainName"?}`), cached for a few minutes. Never logged.
 */
export class SecretsManagerKeystoneCredentials implements KeystoneCredentialsSource {
  constructor(
    private readonly secretId: string,
    private readonly maxAgeSeconds = 300,
  ) {}

  async get(): Promise<KeystoneServiceCredentials> {
    const value = (await getSecret(this.secretId, { maxAge: this.maxAgeSeconds, transform: 'json' })) as
      | Partial<KeystoneServiceCredentials>
      | undefined;
    if (!value?.username || !value.password || !value.projectName)
      throw new Error(`secret ${this.secretId} must hold {"username", "password", "projectName"}`);
    return {
      username: value.username,
      password: value.password,
      projectName: value.projectName,
      ...(value.userDomainName ? { userDomainName: value.userDomainName } : {}),
      ...(value.projectDomainName ? { projectDomainName: value.projectDomainName } : {}),
    };
  }
}
