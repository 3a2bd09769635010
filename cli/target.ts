import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  CloudFormationClient,
  DescribeStacksCommand,
  type DescribeStacksCommandOutput,
} from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { FileCertificates, SecretsManagerCertificates } from '../functions/adapters/certificate-stores.js';
import { DEFAULT_GROUP } from '../functions/domain/agent-scheduler.js';
import type { CertificateStore } from '../functions/domain/ports.js';
import { groupSummaries, loadConfig } from '../lib/config/lbaas-config.js';
import { environmentStackName, OUTPUTS } from '../lib/config/stack-outputs.js';
import type { ClientTarget } from './lbaas-client.js';

export const CONFIG_FILE = 'lbaas.config.json';

/**
 * The project's configuration, found as git finds its repository: in the working directory or the
 * nearest directory above it that has one (so `cd cli && npx lbaas …` works). Undefined if none.
 */
export function findConfig(from: string = process.cwd()): string | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const candidate = join(dir, CONFIG_FILE);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Where `npm start` records the local stack for the CLI: `.local/stack.json` beside the project's
 * configuration (npm runs `start` in the project's root), else in the working directory.
 * LBAAS_LOCAL_STATE points elsewhere (tests, several stacks).
 */
export function localStateFile(from: string = process.cwd()): string {
  if (process.env.LBAAS_LOCAL_STATE) return process.env.LBAAS_LOCAL_STATE;
  const config = findConfig(from);
  return join(config ? dirname(config) : resolve(from), '.local', 'stack.json');
}

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
 * stack's outputs, with credentials and region from the standard AWS environment. Asked for
 * neither, it is the local stack when one is recorded, else AWS; a failure to reach AWS then
 * also says that no local stack is running.
 */
export async function resolveTarget(options: TargetOptions): Promise<ResolvedTarget> {
  const stateFile = localStateFile();
  const implicit = options.local === undefined && !options.stack;
  const wantLocal = options.local ?? (!options.stack && existsSync(stateFile));
  if (wantLocal) {
    if (!existsSync(stateFile)) throw new Error(`no local stack: ${stateFile} not found (run npm start)`);
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as {
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
        state.certificateDir ?? join(dirname(resolve(stateFile)), 'certificates'),
      ),
      where: `local stack (${state.endpoints.sqs})`,
    };
  }
  const noLocal = implicit ? `no local stack is running (${stateFile} not found: run npm start), and ` : '';
  const configPath = options.config ?? findConfig();
  if (!configPath)
    throw new Error(
      `${noLocal}no ${CONFIG_FILE} in ${process.cwd()} or any directory above it to name an AWS environment (pass --config)`,
    );
  const config = loadConfig(configPath);
  const env = options.env ?? config.environments[0]?.prefix;
  if (!env) throw new Error(`no environment in ${configPath}: pass --env`);
  const name = options.stack ?? environmentStackName(config, env);
  const region = config.region ? { region: config.region } : {};
  const cfn = new CloudFormationClient(region);
  // Which AWS environment was meant, in every error about reaching it.
  const aws = `AWS stack ${name} (environment ${env}, region ${config.region ?? 'from the AWS environment'}, ${configPath})`;
  let described: DescribeStacksCommandOutput;
  try {
    described = await cfn.send(new DescribeStacksCommand({ StackName: name }));
  } catch (error) {
    const e = error as Error;
    const fix =
      e.name === 'CredentialsProviderError'
        ? ' (give credentials for its account: AWS_PROFILE, or the AWS_ACCESS_KEY_ID family)'
        : '';
    throw new Error(`${noLocal}${aws} cannot be read: ${e.message.split('\n')[0]}${fix}`, { cause: error });
  } finally {
    cfn.destroy();
  }
  const outputs = Object.fromEntries(
    (described.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]),
  );
  const need = (key: string) => {
    const value = outputs[key];
    if (!value) throw new Error(`${aws} has no output ${key} (deployed with this version?)`);
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
    where: aws,
  };
}

/** One reconciler per device group (a JSON map); stacks from before groups name one function. */
function reconcilerFunctions(value: string): Record<string, string> {
  return value.startsWith('{') ? (JSON.parse(value) as Record<string, string>) : { [DEFAULT_GROUP]: value };
}
