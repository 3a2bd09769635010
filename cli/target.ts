import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { FileCertificates, SecretsManagerCertificates } from '../functions/adapters/certificate-stores.js';
import { DEFAULT_GROUP } from '../functions/domain/agent-scheduler.js';
import type { CertificateStore } from '../functions/domain/ports.js';
import { groupSummaries, loadConfig } from '../lib/config/lbaas-config.js';
import { environmentStackName, OUTPUTS } from '../lib/config/stack-outputs.js';
import type { ClientTarget } from './lbaas-client.js';

/** Written by `npm start`; LBAAS_LOCAL_STATE points elsewhere (tests, several stacks). */
export const LOCAL_STATE_FILE = process.env.LBAAS_LOCAL_STATE ?? '.local/stack.json';

export interface TargetOptions {
  env?: string;
  config?: string;
  stack?: string;
  local?: boolean;
}

export interface ResolvedTarget {
  target: ClientTarget;
  clients: { dynamodb: DynamoDBClient; sqs: SQSClient };
  /** Where `lbaas cert import` keeps certificates: Secrets Manager, or the local stack's stand-in. */
  certificates: CertificateStore;
  where: string;
}

/**
 * Where the CLI talks to: the local stack (`npm start` writes .local/stack.json), or an AWS
 * stack's outputs, with credentials and region from the standard AWS environment.
 */
export async function resolveTarget(options: TargetOptions): Promise<ResolvedTarget> {
  const wantLocal = options.local ?? (!options.stack && existsSync(LOCAL_STATE_FILE));
  if (wantLocal) {
    if (!existsSync(LOCAL_STATE_FILE))
      throw new Error(`no local stack: ${LOCAL_STATE_FILE} not found (run npm start)`);
    const state = JSON.parse(readFileSync(LOCAL_STATE_FILE, 'utf8')) as {
      endpoints: { dynamodb: string; sqs: string };
      target: ClientTarget;
      certificateDir?: string;
    };
    if (options.env && options.env !== state.target.env) {
      throw new Error(`the local stack runs environment ${state.target.env}, not ${options.env}`);
    }
    const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
    return {
      target: state.target,
      clients: {
        dynamodb: new DynamoDBClient({
          endpoint: state.endpoints.dynamodb,
          region: 'us-east-1',
          credentials,
        }),
        sqs: new SQSClient({
          endpoint: state.endpoints.sqs,
          region: 'us-east-1',
          credentials,
          useQueueUrlAsEndpoint: false,
        }),
      },
      certificates: new FileCertificates(
        state.certificateDir ?? join(dirname(resolve(LOCAL_STATE_FILE)), 'certificates'),
      ),
      where: `local stack (${state.endpoints.sqs})`,
    };
  }
  const config = loadConfig(options.config ?? 'lbaas.config.json');
  const env = options.env ?? config.environments[0]?.prefix;
  if (!env) throw new Error('no environment: pass --env');
  const name = options.stack ?? environmentStackName(config, env);
  const region = config.region ? { region: config.region } : {};
  const cfn = new CloudFormationClient(region);
  const described = await cfn.send(new DescribeStacksCommand({ StackName: name }));
  const outputs = Object.fromEntries(
    (described.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]),
  );
  const need = (key: string) => {
    const value = outputs[key];
    if (!value) throw new Error(`stack ${name} has no output ${key} (deployed with this version?)`);
    return value;
  };
  const prefix = need(OUTPUTS.agentQueuePrefix);
  const hosts = need(OUTPUTS.agentHosts).split(',').filter(Boolean);
  return {
    target: {
      env,
      requestQueueUrl: need(OUTPUTS.requestQueueUrl),
      requestDlqUrl: need(OUTPUTS.requestDlqUrl),
      agentQueues: Object.fromEntries(
        hosts.map((h: string) => [h, { url: `${prefix}${h}.fifo`, dlqUrl: `${prefix}${h}-dlq.fifo` }]),
      ),
      tables: JSON.parse(need(OUTPUTS.tables)),
      agentDownTimeSeconds: Number(need(OUTPUTS.agentDownTimeSeconds)),
      ...(outputs[OUTPUTS.reconcilerFunction]
        ? { reconcilerFunctions: reconcilerFunctions(outputs[OUTPUTS.reconcilerFunction] as string) }
        : {}),
      groups: groupSummaries(config.environments.find((e) => e.prefix === env)),
      ...(config.region ? { region: config.region } : {}),
    },
    clients: { dynamodb: new DynamoDBClient(region), sqs: new SQSClient(region) },
    certificates: new SecretsManagerCertificates(new SecretsManagerClient(region)),
    where: `stack ${name}`,
  };
}

/** One reconciler per device group (a JSON map); stacks from before groups name one function. */
function reconcilerFunctions(value: string): Record<string, string> {
  return value.startsWith('{') ? (JSON.parse(value) as Record<string, string>) : { [DEFAULT_GROUP]: value };
}
