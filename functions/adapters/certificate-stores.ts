import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { LbaasError } from '../domain/errors.js';
import type { CertificateBundle, CertificateStore } from '../domain/ports.js';
import type { CertificateMaterial } from '../domain/tls-translation.js';
import { materialFrom } from './certificate-material.js';

/**
 * TERMINATED_HTTPS certificates in AWS Secrets Manager, one secret per certificate named by its
 * reference (`lbaas/<env>/<project>/<name>`), holding the bundle as JSON. Agents may read only their
 * environment's secrets (IAM, environment-stack.ts). Read per apply, never cached: an update of the
 * listener picks up a rotated secret.
 */
export class SecretsManagerCertificates implements CertificateStore {
  constructor(private readonly client: SecretsManagerClient) {}

  async read(ref: string): Promise<CertificateMaterial> {
    let text: string | undefined;
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: ref }));
      text = out.SecretString;
    } catch (error) {
      const name = (error as Error).name;
      throw new LbaasError(`certificate ${ref}: Secrets Manager answered ${name}`, {}, { cause: error });
    }
    return materialFrom(ref, parseJson(ref, text));
  }

  async put(ref: string, bundle: CertificateBundle): Promise<void> {
    materialFrom(ref, bundle);
    const SecretString = JSON.stringify(bundle);
    try {
      await this.client.send(
        new CreateSecretCommand({ Name: ref, SecretString, Description: 'bigip-lbaas certificate' }),
      );
    } catch (error) {
      if (!(error instanceof ResourceExistsException)) throw error;
      await this.client.send(new PutSecretValueCommand({ SecretId: ref, SecretString }));
    }
  }
}

/**
 * The local stand-in behind the same port: one file per certificate (mode 0600) in the sandbox's
 * state directory, so `lbaas cert import` and the local agents share them as they would a secret.
 */
export class FileCertificates implements CertificateStore {
  constructor(readonly directory: string) {}

  private path(ref: string): string {
    return join(this.directory, `${ref.replaceAll('/', '__')}.json`);
  }

  async read(ref: string): Promise<CertificateMaterial> {
    let text: string;
    try {
      text = await readFile(this.path(ref), 'utf8');
    } catch {
      throw new LbaasError(`certificate ${ref}: no such certificate (import it with lbaas cert import)`);
    }
    return materialFrom(ref, parseJson(ref, text));
  }

  async put(ref: string, bundle: CertificateBundle): Promise<void> {
    materialFrom(ref, bundle);
    await mkdir(this.directory, { recursive: true, mode: 0o700 });
    // Written whole then renamed: a reader never sees half a bundle.
    const temporary = `${this.path(ref)}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(bundle), { mode: 0o600 });
    await chmod(temporary, 0o600);
    await rename(temporary, this.path(ref));
  }
}

function parseJson(ref: string, text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? '');
  } catch {
    throw new LbaasError(`certificate ${ref}: the secret is not JSON`);
  }
}
