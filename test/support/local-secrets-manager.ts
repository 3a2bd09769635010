import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { principalOf, type RecordedCall } from './aws-call-recorder.js';

interface Secret {
  arn: string;
  name: string;
  value: string;
  versionId: string;
  createdAt: number;
}

export interface LocalSecretsManager {
  endpoint: string;
  calls: RecordedCall[];
  /** Creates a secret as CloudFormation would (the ARN has Secrets Manager's six-character suffix). */
  create(name: string, value: string): string;
  close(): Promise<void>;
}

const SUFFIX = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Secrets Manager on loopback, speaking its JSON protocol (`x-amz-json-1.1`, `X-Amz-Target:
 * secretsmanager.<Operation>`) for what the functions and `lbaas cert import` use: CreateSecret,
 * PutSecretValue, GetSecretValue, DescribeSecret; other operations answer as the service does to an
 * unknown one. No npm package provides one, and the project's own stand-ins (static device
 * credentials, a certificate directory) bypass the SDK, so they cannot show what a bundle calls.
 * Each call is recorded with the access key that signed it, as IAM would authorise it.
 */
export async function startLocalSecretsManager(options: {
  region: string;
  accountId: string;
}): Promise<LocalSecretsManager> {
  const secrets = new Map<string, Secret>();
  const calls: RecordedCall[] = [];
  const arnPrefix = `arn:aws:secretsmanager:${options.region}:${options.accountId}:secret:`;
  const find = (id: unknown) =>
    [...secrets.values()].find((s) => s.name === id || s.arn === id || `${arnPrefix}${s.name}` === id);
  const create = (name: string, value: string) => {
    const suffix = Array.from(randomBytes(6), (b) => SUFFIX[b % SUFFIX.length]).join('');
    const secret = {
      arn: `${arnPrefix}${name}-${suffix}`,
      name,
      value,
      versionId: randomUUID(),
      createdAt: Date.now(),
    };
    secrets.set(name, secret);
    return secret.arn;
  };

  type Answer = [number, Record<string, unknown>];
  const notFound: Answer = [
    400,
    { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." },
  ];
  const operations: Record<string, (body: Record<string, unknown>) => Answer> = {
    CreateSecret: (body) => {
      const name = String(body.Name ?? '');
      if (!name) return [400, { __type: 'InvalidParameterException', message: 'Name is required.' }];
      if (secrets.has(name)) {
        return [
          400,
          {
            __type: 'ResourceExistsException',
            message: `The operation failed because the secret ${name} already exists.`,
          },
        ];
      }
      const arn = create(name, String(body.SecretString ?? ''));
      return [200, { ARN: arn, Name: name, VersionId: secrets.get(name)?.versionId }];
    },
    PutSecretValue: (body) => {
      const secret = find(body.SecretId);
      if (!secret) return notFound;
      secret.value = String(body.SecretString ?? '');
      secret.versionId = randomUUID();
      return [
        200,
        { ARN: secret.arn, Name: secret.name, VersionId: secret.versionId, VersionStages: ['AWSCURRENT'] },
      ];
    },
    GetSecretValue: (body) => {
      const secret = find(body.SecretId);
      if (!secret) return notFound;
      return [
        200,
        {
          ARN: secret.arn,
          Name: secret.name,
          VersionId: secret.versionId,
          SecretString: secret.value,
          VersionStages: ['AWSCURRENT'],
          CreatedDate: secret.createdAt / 1000,
        },
      ];
    },
    DescribeSecret: (body) => {
      const secret = find(body.SecretId);
      if (!secret) return notFound;
      return [200, { ARN: secret.arn, Name: secret.name, CreatedDate: secret.createdAt / 1000 }];
    },
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const operation = String(req.headers['x-amz-target'] ?? '').replace(/^secretsmanager\./, '');
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        // An empty object: the operation answers what is missing.
      }
      const handle = operations[operation];
      const resource =
        find(body.SecretId ?? body.Name)?.arn ?? `${arnPrefix}${String(body.SecretId ?? body.Name ?? '')}`;
      const [status, answer]: Answer = handle
        ? handle(body)
        : [
            400,
            { __type: 'InvalidAction', message: `${operation} is not an operation this stand-in answers` },
          ];
      calls.push({
        principal: principalOf(req.headers),
        service: 'secretsmanager',
        operation,
        action: `secretsmanager:${operation}`,
        resource,
        status,
      });
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-requestid': randomUUID(),
      });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    create,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
