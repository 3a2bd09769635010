import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerCertificates } from '../../functions/adapters/certificate-stores.js';
import { type LbaasConfig, parseConfig } from '../../lib/config/lbaas-config.js';
import { environmentStackName } from '../../lib/config/stack-outputs.js';
import { BigIpPair } from '../../local/bigip-simulator/bigip-pair.js';
import { BigIpSimulator } from '../../local/bigip-simulator/bigip-simulator.js';
import { lambdaNode } from './bundle-host.js';
import { type AssemblyStack, readAssembly, synthesize, type TemplateFunction } from './cloud-assembly.js';
import { deployLocally, type LocalDeployment } from './local-deployment.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TLS = join(ROOT, 'test', 'fixtures', 'tls');

export interface BundleEnvironment {
  prefix: string;
  stack: string;
  /** The simulated units, in the configuration's order, and their URLs. */
  devices: BigIpSimulator[];
  deviceUrls: string[];
  pair: BigIpPair | undefined;
  /** The devices' account, put into the environment's secret as an operator would after deploying. */
  deviceAccount: { username: string; password: string };
  /** What the test itself uses to reach the devices (the CA of the direct environment's units). */
  caBundle: string | undefined;
  functions: TemplateFunction[];
}

export interface BundleWorld {
  outdir: string;
  config: LbaasConfig;
  stacks: AssemblyStack[];
  functions: TemplateFunction[];
  deployment: LocalDeployment;
  environments: BundleEnvironment[];
  node: { path: string; version: string };
  synthMs: number;
  close(): Promise<void>;
}

/**
 * The configuration the bundles are built from: the sample (`lbaas.config.json`: vpc-link, an HA
 * pair, three agents) and a second environment in direct mode whose devices' CA bundle is a file
 * copied into the agent functions' packages, with two agents (so a dead one's requests can move).
 */
function bundleConfig(
  sample: Record<string, unknown>,
  directPort: number,
  change?: (config: Record<string, unknown>) => void,
) {
  const config = structuredClone(sample) as { environments: Record<string, unknown>[] };
  config.environments.push({
    prefix: 'Direct',
    agentDownTimeSeconds: 75,
    heartbeatIntervalSeconds: 30,
    maxAttempts: 8,
    devices: {
      access: 'direct',
      vpcId: 'vpc-0a1b2c3d4e5f60718',
      subnetIds: ['subnet-0a1b2c3d4e5f60744'],
      credentialsSecretName: 'bigip-lbaas/Direct/devices',
      caBundleFile: join(TLS, 'ca.pem'),
      units: [{ name: 'bigip-d', managementAddress: '127.0.0.1', port: directPort }],
    },
    agents: [{ host: 'direct-1' }, { host: 'direct-2' }],
    // Limits reach the scheduler and the status poller (its capacity score and alarm).
    capacity: { maxLoadBalancers: 10 },
  });
  change?.(config as Record<string, unknown>);
  return config;
}

/**
 * Builds the world the bundle tests and the bundle benchmark run in: simulated devices, the app
 * synthesized by `cdk synth` (bundles included), and the assembly "deployed" onto the local
 * stand-ins (`deployLocally`), with each environment's device secret holding the devices' account.
 */
export async function prepareBundles(options: {
  outdir: string;
  dynamodbEndpoint: string;
  sqsEndpoint: string;
  /** Changes the configuration before synth (the benchmark's one-beat-per-invocation variant). */
  change?: (config: Record<string, unknown>) => void;
}): Promise<BundleWorld> {
  const node = lambdaNode();
  const sample = JSON.parse(readFileSync(join(ROOT, 'lbaas.config.json'), 'utf8')) as Record<string, unknown>;
  const password = () => randomBytes(12).toString('base64url');
  // The devices first: the direct environment's configuration names its unit's port.
  const accounts = {
    pair: { username: 'lbaas', password: password() },
    direct: { username: 'lbaas', password: password() },
  };
  const pair = BigIpPair.create({ users: { [accounts.pair.username]: accounts.pair.password } });
  const direct = new BigIpSimulator({
    hostname: 'bigip-d.example.test',
    users: { [accounts.direct.username]: accounts.direct.password },
    tls: {
      key: readFileSync(join(TLS, 'device.key'), 'utf8'),
      cert: readFileSync(join(TLS, 'device.pem'), 'utf8'),
    },
  });
  const [urlA, urlB, directUrl] = (await Promise.all([
    pair.a.listen(),
    pair.b.listen(),
    direct.listen(),
  ])) as string[];
  const raw = bundleConfig(sample, Number(new URL(directUrl as string).port), options.change);
  const configPath = join(options.outdir, 'bundles.config.json');
  writeFileSync(configPath, JSON.stringify(raw, null, 2));
  const config = parseConfig(raw);

  const started = performance.now();
  const assemblyDir = join(options.outdir, 'cdk.out');
  synthesize(configPath, assemblyDir);
  const synthMs = performance.now() - started;
  const { stacks, functions } = readAssembly(assemblyDir);

  const simsOf = (prefix: string) => (prefix === 'Direct' ? [direct] : [pair.a, pair.b]);
  const urls = new Map<BigIpSimulator, string>([
    [pair.a, urlA as string],
    [pair.b, urlB as string],
    [direct, directUrl as string],
  ]);
  // The NLB's targets (management address:port) reach the simulated units of their environment.
  const devices = new Map<string, string>();
  for (const e of config.environments) {
    e.groups[0]?.devices.units.forEach((u, i) => {
      const sim = simsOf(e.prefix)[i];
      if (sim) devices.set(`${u.managementAddress}:${u.port}`, urls.get(sim) as string);
    });
  }
  const deployment = await deployLocally({
    stacks,
    functions,
    dynamodbEndpoint: options.dynamodbEndpoint,
    sqsEndpoint: options.sqsEndpoint,
    devices,
    region: config.region ?? 'us-east-1',
  });

  // The operator's step after a deploy: the devices' account into each environment's secret.
  const admin = operatorSecrets(deployment);
  const environments: BundleEnvironment[] = [];
  for (const e of config.environments) {
    const sims = simsOf(e.prefix);
    const account = e.prefix === 'Direct' ? accounts.direct : accounts.pair;
    await admin.send(
      new PutSecretValueCommand({
        SecretId: e.groups[0]?.devices.credentialsSecretName,
        SecretString: JSON.stringify(account),
      }),
    );
    const stack = environmentStackName(config, e.prefix);
    environments.push({
      prefix: e.prefix,
      stack,
      devices: sims,
      deviceUrls: sims.map((sim) => urls.get(sim) as string),
      pair: e.prefix === 'Direct' ? undefined : pair,
      deviceAccount: account,
      caBundle: e.prefix === 'Direct' ? readFileSync(join(TLS, 'ca.pem'), 'utf8') : undefined,
      functions: functions.filter((f) => f.stack === stack),
    });
  }
  admin.destroy();

  return {
    outdir: options.outdir,
    config,
    stacks,
    functions,
    deployment,
    environments,
    node,
    synthMs,
    async close() {
      await deployment.close();
      await Promise.all([pair.a.close(), pair.b.close(), direct.close()]);
    },
  };
}

/** A Secrets Manager client on the deployment's stand-in, with the operator's own credentials. */
export function operatorSecrets(deployment: LocalDeployment): SecretsManagerClient {
  return new SecretsManagerClient({
    region: deployment.region,
    endpoint: deployment.secrets.endpoint,
    credentials: { accessKeyId: 'operator', secretAccessKey: 'operator' },
  });
}

/**
 * Imports the site certificate (test/fixtures/tls: www.example.com, its key, the sites CA as its
 * chain) under `ref`, as `lbaas cert import` does: what a TERMINATED_HTTPS listener refers to.
 */
export async function importSiteCertificate(deployment: LocalDeployment, ref: string): Promise<void> {
  const tls = (file: string) => readFileSync(join(TLS, file), 'utf8');
  const secrets = operatorSecrets(deployment);
  try {
    await new SecretsManagerCertificates(secrets).put(ref, {
      certificate: tls('www.example.com.pem'),
      private_key: tls('www.example.com.key'),
      intermediates: tls('sites-ca.pem'),
    });
  } finally {
    secrets.destroy();
  }
}
