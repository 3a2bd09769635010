import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient, createSqsClient } from '../../functions/adapters/aws-clients.js';
import { BigIpRestClient } from '../../functions/adapters/bigip-rest-client.js';
import { SecretsManagerCertificates } from '../../functions/adapters/certificate-stores.js';
import { StaticCredentials } from '../../functions/adapters/device-credentials.js';
import { DynamoDbAgentRegistry } from '../../functions/adapters/dynamodb-agent-registry.js';
import { DynamoDbBindingStore } from '../../functions/adapters/dynamodb-binding-store.js';
import { DynamoDbResourceStore } from '../../functions/adapters/dynamodb-resource-store.js';
import { ENV_VARS } from '../../functions/shared/config.js';
import { tableNames } from '../../functions/shared/table-schema.js';
import { freePort } from '../../local/free-port.js';
import { type BundleEnvironment, type BundleWorld, prepareBundles } from '../support/bundle-fixture.js';
import { type BundleProcess, startBundle } from '../support/bundle-host.js';
import { referencedId, type TemplateFunction } from '../support/cloud-assembly.js';
import { lbIds, requests } from '../support/factories.js';
import { matches } from '../support/iam-policy.js';
import { type Keystone, keystoneMissing, startKeystone } from '../support/keystone.js';
import {
  apiGatewayProxyEvent,
  drainQueue,
  EVENT_SHAPES,
  methodArn,
  scheduledEvent,
  tokenAuthorizerEvent,
} from '../support/lambda-events.js';
import type { Trigger } from '../support/local-deployment.js';
import { eventually } from '../support/local-stack-fixture.js';

/**
 * The artifact that deploys is the artifact under test: `cdk synth` builds the bundles, each runs in
 * its own process with the environment its template gives it (resolved onto the local stand-ins),
 * driven by events shaped as AWS delivers them, and every AWS call it makes must be granted to its
 * function's role in the template. See docs/testing.md.
 */
const scratch = mkdtempSync(join(tmpdir(), 'lbaas-bundles-'));
const fixture = (file: string) =>
  readFileSync(join(import.meta.dirname, '..', 'fixtures', 'tls', file), 'utf8');
let world: BundleWorld;
const bundles = new Map<TemplateFunction, BundleProcess>();
const admin = {
  db: createDocumentClient(new DynamoDBClient({})),
  sqs: createSqsClient(),
};

/**
 * The Keystone the API's authorizer validates tokens with: Debian's, started on loopback, with the
 * API's service account (role `service`, as keystonemiddleware's account has) and a project member;
 * without it, a loopback port nothing listens on, where the authorizer must fail closed.
 */
const keystoneAbsent = keystoneMissing();
let keystone: Keystone | undefined;
const accounts = {
  service: { username: 'lbaas-api', password: randomBytes(12).toString('base64url'), projectName: 'service' },
  member: {
    username: 'bundles-member',
    password: randomBytes(12).toString('base64url'),
    project: 'bundles-tenant',
  },
};
let keystoneUrl: string;
let memberProjectId: string | undefined;
const API_STEPS = keystoneAbsent
  ? `the API bundle creates a load balancer (version discovery, POST, GET, the request through the scheduler and a worker to ACTIVE); no Keystone here (${keystoneAbsent}): the authorizer bundle, pointed at a loopback port that refuses, fails closed`
  : 'the API bundle creates a load balancer (version discovery, POST, GET, the request through the scheduler and a worker to ACTIVE) for the caller the authorizer bundle let in: a real Keystone’s token is allowed, a bad one denied';

beforeAll(async () => {
  const started = keystoneAbsent ? undefined : startKeystone();
  try {
    world = await prepareBundles({
      outdir: scratch,
      dynamodbEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB as string,
      sqsEndpoint: process.env.AWS_ENDPOINT_URL_SQS as string,
    });
  } finally {
    keystone = await started;
  }
  if (keystone) {
    keystoneUrl = keystone.url;
    const service = await keystone.ensureProject(accounts.service.projectName);
    const api = await keystone.ensureUser(accounts.service.username, accounts.service.password, service);
    await keystone.grant(api, service, ['service']);
    memberProjectId = await keystone.ensureProject(accounts.member.project);
    const member = await keystone.ensureUser(
      accounts.member.username,
      accounts.member.password,
      memberProjectId,
    );
    await keystone.grant(member, memberProjectId, ['load-balancer_member']);
    // The operator's step after a deploy: the API's Keystone account into its secret.
    const secrets = new SecretsManagerClient({
      region: world.deployment.region,
      endpoint: world.deployment.secrets.endpoint,
      credentials: { accessKeyId: 'operator', secretAccessKey: 'operator' },
    });
    for (const e of world.config.environments) {
      if (!e.api) continue;
      await secrets.send(
        new PutSecretValueCommand({
          SecretId: e.api.keystoneSecretName,
          SecretString: JSON.stringify(accounts.service),
        }),
      );
    }
    secrets.destroy();
  } else {
    keystoneUrl = `http://127.0.0.1:${await freePort()}/v3`;
  }
  console.info(
    `bundles: cdk synth ${(world.synthMs / 1000).toFixed(1)} s; ${world.functions.length} functions run under Node ${world.node.version}; ${keystone ? 'the authorizer validates against a real Keystone' : `no Keystone (${keystoneAbsent})`}`,
  );
}, 300_000);

afterAll(async () => {
  await Promise.all([...bundles.values()].map((b) => b.stop()));
  await keystone?.stop();
  await world?.close();
  admin.sqs.destroy();
  rmSync(scratch, { recursive: true, force: true });
});

const bundleOf = (fn: TemplateFunction) => {
  const bundle = bundles.get(fn);
  if (!bundle) throw new Error(`${fn.logicalId} is not running`);
  return bundle;
};

async function invokeScheduled(fn: TemplateFunction) {
  const trigger = world.deployment.triggersOf(fn).find((t) => t.kind === 'schedule');
  if (trigger?.kind !== 'schedule') throw new Error(`${fn.logicalId} has no schedule`);
  return bundleOf(fn).invoke(scheduledEvent(world.deployment, trigger));
}

describe('the deployed bundles (cdk.out) on the local stand-ins', () => {
  it('synthesizes a bundle for every function, each with a trigger whose event shape the test delivers', () => {
    expect(world.functions.length).toBeGreaterThanOrEqual(world.environments.length * 6);
    for (const fn of world.functions) {
      const triggers = world.deployment.triggersOf(fn);
      expect(triggers.length, `${fn.stack}/${fn.logicalId} has no trigger`).toBeGreaterThan(0);
      for (const trigger of triggers) {
        expect(
          Object.keys(EVENT_SHAPES),
          `${fn.logicalId}: no event shape for ${JSON.stringify(trigger)}`,
        ).toContain(trigger.kind);
      }
    }
  });

  it('loads every bundle with the environment its template gives it (each configuration reader runs at cold start)', async () => {
    for (const fn of world.functions) {
      const env = world.deployment.environmentOf(fn);
      // Keystone is outside AWS: the authorizer's URL (https, as the configuration demands) is the
      // configured one, and the one change is where it points: the loopback Keystone (plain HTTP).
      if (fn.service === 'api-authorizer') {
        const configured = world.config.environments.find((e) => env[ENV_VARS.environment] === e.prefix)?.api;
        expect(env[ENV_VARS.keystoneUrl]).toBe(configured?.keystoneUrl);
        env[ENV_VARS.keystoneUrl] = keystoneUrl;
      }
      const bundle = await startBundle({
        name: `${fn.stack}/${fn.logicalId}`,
        assetDir: fn.assetDir,
        env,
        timeoutSeconds: fn.timeoutSeconds,
        functionArn: world.deployment.functionArn(fn),
        node: world.node.path,
      });
      bundles.set(fn, bundle);
    }
    expect(bundles.size).toBe(world.functions.length);
  }, 120_000);

  // Both environments at once: most of each run is the heartbeat's and the reclaimer's sleep between rounds.
  describe.concurrent('each environment', () => {
    // The sample configuration's environment has the Octavia API; the direct one has none.
    it.each([
      ['Project', `; ${API_STEPS}`, true],
      ['Direct', '', false],
    ] as const)(
      '%s: a load balancer tree goes from the request queue through the scheduler and worker bundles to ACTIVE on the device; heartbeats, the reclaimer, the status poller and the reconciler run%s',
      async (prefix, _steps, api) => {
        const env = world.environments.find((e) => e.prefix === prefix) as BundleEnvironment;
        await runEnvironment(env, api);
      },
      240_000,
    );
  });

  it('reads every variable the template sets (a renamed or unread variable fails here, not at deploy)', () => {
    // NODE_OPTIONS is read by Node itself, before any code runs.
    const byNode = new Set(['NODE_OPTIONS']);
    const unread = [...bundles].flatMap(([fn, bundle]) =>
      Object.keys(fn.environment)
        .filter((name) => !byNode.has(name) && !bundle.read.has(name))
        .map((name) => `${fn.service} (${fn.stack}/${fn.logicalId}): ${name}`),
    );
    expect(unread).toEqual([]);
  });

  it('grants every call a bundle made to its function’s role in the template (tables, indexes, queues, secrets, device routes)', () => {
    const calls = world.deployment.calls();
    const ungranted = world.deployment.ungranted().map((c) => `${c.role}: ${c.action} on ${c.resource}`);
    expect([...new Set(ungranted)]).toEqual([]);
    // Not vacuous: every function called AWS, and every kind of resource was reached.
    for (const fn of world.functions) {
      const role = `${fn.stack}/${referencedId(fn.role)}`;
      expect(calls.filter((c) => c.role === role).length, `${fn.logicalId} made no AWS call`).toBeGreaterThan(
        0,
      );
    }
    const seen = new Set(calls.map((c) => c.action));
    for (const action of [
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'dynamodb:PutItem',
      'sqs:SendMessage',
      'sqs:ReceiveMessage',
      'sqs:DeleteMessage',
      'sqs:ChangeMessageVisibility',
      'secretsmanager:GetSecretValue',
      'execute-api:Invoke',
    ]) {
      expect(seen, action).toContain(action);
    }
    expect(
      calls.some((c) => c.resource.includes('/index/')),
      'an index was queried',
    ).toBe(true);
    expect(world.deployment.deviceApis.flatMap((a) => a.refused)).toEqual([]);
  });

  it('prints no device password, private key or AWS secret key in any function’s logs', () => {
    const secrets = [
      ...world.environments.map((e) => e.deviceAccount.password),
      ...world.functions.map((fn) => world.deployment.credentialsOf(fn).secretAccessKey),
      // The API's Keystone account and the tokens the authorizer was given.
      ...(keystone ? [accounts.service.password, ...tokensGiven] : tokensGiven),
    ];
    // Not vacuous: what the functions printed was captured (their JSON logs and EMF metric lines;
    // a worker that got no message prints nothing).
    const json = [...bundles.values()].flatMap((b) => b.output).filter((line) => line.startsWith('{"'));
    expect(json.length).toBeGreaterThan(world.functions.length);
    for (const [fn, bundle] of bundles) {
      const output = bundle.output.join('\n');
      expect(output).not.toMatch(/PRIVATE KEY/);
      for (const secret of secrets)
        expect(output.includes(secret), `${fn.logicalId} logged a secret`).toBe(false);
    }
  });
});

/** Every token handed to the authorizer bundle (none may appear in any function's output). */
const tokensGiven: string[] = [];

async function runEnvironment(env: BundleEnvironment, withApi: boolean) {
  const { deployment } = world;
  const of = (service: string) => env.functions.filter((f) => f.service === service);
  const only = (service: string) => {
    const [fn, ...more] = of(service);
    if (!fn || more.length > 0) throw new Error(`${env.prefix}: expected one ${service} function`);
    return fn;
  };
  const tables = tableNames(world.config.name);
  const resources = new DynamoDbResourceStore(admin.db, tables);
  const registry = new DynamoDbAgentRegistry(admin.db, tables.agents);
  const bindings = new DynamoDbBindingStore(admin.db, tables);
  const workers = of('agent-worker');
  const hostOf = (fn: TemplateFunction) => deployment.environmentOf(fn).LBAAS_AGENT_HOST as string;
  const drainWorkers = async (skip?: string) => {
    for (const fn of workers) {
      if (hostOf(fn) === skip) continue;
      const { failures } = await drainQueue(deployment, fn, bundleOf(fn));
      expect(failures, hostOf(fn)).toEqual([]);
    }
  };
  const scheduler = only('scheduler');
  const schedulerTrigger = deployment.triggersOf(scheduler).find((t) => t.kind === 'sqs');
  const requestQueue = deployment.queue(env.stack, (schedulerTrigger as { queue: string }).queue);
  const submit = async (...messages: ReturnType<typeof requests.createPool>[]) => {
    for (const m of messages) {
      await admin.sqs.send(
        new SendMessageCommand({
          QueueUrl: requestQueue.url,
          MessageBody: JSON.stringify(m),
          MessageGroupId: m.loadbalancerId,
          MessageDeduplicationId: `${m.tenantId}-${m.requestId}`,
        }),
      );
    }
    const { events, failures } = await drainQueue(deployment, scheduler, bundleOf(scheduler));
    expect(failures).toEqual([]);
    // Delivered as Lambda's event source does: the FIFO attributes of each message.
    const records = events.flatMap((e) => e.Records);
    expect(records).toHaveLength(messages.length);
    for (const r of records) {
      expect(r.attributes).toMatchObject({ MessageGroupId: messages[0]?.loadbalancerId });
      expect(r.attributes.MessageDeduplicationId).toBeTruthy();
      expect(r.eventSourceARN).toBe(requestQueue.arn);
    }
  };

  // Heartbeats: each agent's bundle beats through its own path (the second beat comes a configured interval later).
  const beats = of('heartbeat').map((fn) => invokeScheduled(fn));
  const hosts = workers.map(hostOf);
  await eventually(
    async () => {
      const agents = await registry.listAgents(env.prefix);
      return hosts.every((h) => agents.some((a) => a.host === h && a.heartbeatAt !== undefined));
    },
    `${env.prefix}: every agent's first heartbeat`,
    60_000,
  );

  // A TERMINATED_HTTPS tree, its certificate imported as `lbaas cert import` does.
  const ids = lbIds();
  const ref = `lbaas/${env.prefix}/${ids.tenantId}/www`;
  const secretsClient = new SecretsManagerClient({
    region: deployment.region,
    endpoint: deployment.secrets.endpoint,
    credentials: { accessKeyId: 'operator', secretAccessKey: 'operator' },
  });
  await new SecretsManagerCertificates(secretsClient).put(ref, {
    certificate: fixture('www.example.com.pem'),
    private_key: fixture('www.example.com.key'),
    intermediates: fixture('sites-ca.pem'),
  });
  secretsClient.destroy();
  const pool = requests.createPool(ids);
  const poolId = pool.object.id as string;
  const member = requests.createMember(ids, poolId, { address: '10.0.1.5', protocol_port: 8080 });
  const listener = requests.createListener(ids, {
    protocol: 'TERMINATED_HTTPS',
    protocol_port: 443,
    default_pool_id: poolId,
    default_tls_container_ref: ref,
  });
  await submit(
    requests.createLoadbalancer(ids),
    pool,
    member,
    requests.createHealthMonitor(ids, poolId),
    listener,
  );
  await drainWorkers();
  const records = await resources.loadRecords(ids.loadbalancerId);
  expect(records.map((r) => `${r.type}:${r.provisioningStatus}`).sort()).toEqual(
    ['healthmonitor', 'listener', 'loadbalancer', 'member', 'pool'].map((t) => `${t}:ACTIVE`),
  );
  const active = env.pair?.active ?? (env.devices[0] as BundleEnvironment['devices'][number]);
  const partition = `${env.prefix}_${ids.tenantId}`;
  expect(active.partitions()).toContain(partition);
  const onDevice = (collection: string) =>
    ((active.dump()[collection] ?? []) as { fullPath: string }[]).map((o) => o.fullPath);
  expect(onDevice('ltm/virtual')).toContain(`/${partition}/${env.prefix}_${listener.object.id}`);
  expect(onDevice('ltm/profile/client-ssl').some((p) => p.startsWith(`/${partition}/`))).toBe(true);

  // The Octavia API: its bundle and its authorizer's, driven as API Gateway drives them.
  expect(of('api'), `${env.prefix}: the API's functions`).toHaveLength(withApi ? 1 : 0);
  expect(of('api-authorizer')).toHaveLength(withApi ? 1 : 0);
  if (withApi) await runApi(env, { scheduler, drainWorkers, active });

  // Both beats of each heartbeat invocation.
  for (const [i, result] of (await Promise.all(beats)).entries()) {
    expect(result.ok, JSON.stringify(result.error)).toBe(true);
    const expected = Number(
      deployment.environmentOf(of('heartbeat')[i] as TemplateFunction).LBAAS_BEATS_PER_INVOCATION,
    );
    const reports = (result.value as { beats: { alive: boolean }[] }).beats;
    expect(reports).toHaveLength(expected);
    expect(reports.every((b) => b.alive)).toBe(true);
  }

  // The reclaimer: the bound agent stops beating with a request on its queue; the request moves to a live agent.
  const bound = (await bindings.getBinding(ids.loadbalancerId))?.host as string;
  expect(hosts).toContain(bound);
  await submit(requests.update('member', ids, { id: member.object.id, pool_id: poolId, weight: 7 }));
  const agentDownTimeSeconds = Number(deployment.environmentOf(scheduler).LBAAS_AGENT_DOWN_TIME_SECONDS);
  await admin.db.send(
    new UpdateCommand({
      TableName: tables.agents,
      Key: { env: env.prefix, host: bound },
      UpdateExpression: 'SET heartbeatAt = :then',
      ExpressionAttributeValues: { ':then': Date.now() - 2 * agentDownTimeSeconds * 1000 },
    }),
  );
  const reclaiming = invokeScheduled(only('reclaimer'));
  await eventually(
    async () => {
      await drainWorkers(bound);
      const updated = (await resources.loadRecords(ids.loadbalancerId)).find(
        (r) => r.id === member.object.id,
      );
      return (
        updated?.provisioningStatus === 'ACTIVE' && (updated.desired as { weight?: number }).weight === 7
      );
    },
    `${env.prefix}: the stranded member update applied by another agent`,
    60_000,
  );

  // The status poller reads the active unit.
  const polled = await invokeScheduled(only('health-poller'));
  expect(polled.ok, JSON.stringify(polled.error)).toBe(true);
  const [poll] = (polled.value as { polls: { outcome: string; loadbalancers?: number }[] }).polls;
  expect(poll).toMatchObject({ outcome: 'polled' });
  expect(poll?.loadbalancers).toBeGreaterThanOrEqual(1);
  // Its capacity score uses the group's limits from the configuration: one load balancer of the group's maximum.
  const limit = world.config.environments.find((e) => e.prefix === env.prefix)?.groups[0]?.capacity
    .maxLoadBalancers;
  expect((poll as { capacity?: { score: number } }).capacity?.score).toBe(limit ? 1 / limit : 0);

  // The reconciler repairs drift: the member removed behind the system's back comes back.
  const device = new BigIpRestClient(
    {
      name: 'operator',
      baseUrl: env.deviceUrls[env.devices.indexOf(active)] as string,
      ...(env.caBundle ? { caBundle: env.caBundle } : {}),
    },
    new StaticCredentials(env.deviceAccount),
  );
  const memberPath = `/mgmt/tm/ltm/pool/~${partition}~${env.prefix}_${poolId}/members/~Common~10.0.1.5:8080`;
  await device.request('DELETE', memberPath);
  const reconciled = await invokeScheduled(only('reconciler'));
  expect(reconciled.ok, JSON.stringify(reconciled.error)).toBe(true);
  const report = reconciled.value as {
    outcome: string;
    loadbalancers: { loadbalancerId: string; outcome: string }[];
  };
  expect(report.outcome).toBe('done');
  expect(report.loadbalancers.find((l) => l.loadbalancerId === ids.loadbalancerId)?.outcome).toBe('repaired');
  expect((await device.request('GET', memberPath)).status).toBe(200);
  await device.close();

  const reclaimed = await reclaiming;
  expect(reclaimed.ok, JSON.stringify(reclaimed.error)).toBe(true);
  const sweeps = (reclaimed.value as { sweeps: { moved: number; byAgent: Record<string, number> }[] }).sweeps;
  expect(sweeps[0]).toEqual({ moved: 1, byAgent: { [bound]: 1 } });
}

/**
 * The Octavia API in an environment: version discovery through the public root method; a token
 * through the authorizer bundle (a real Keystone's allowed and a bad one denied, or, with no
 * Keystone here, a refusing endpoint denied); with the caller it let in, a load balancer created
 * on the configured subnet and read back, its request taken off the request queue by the scheduler
 * bundle and applied by a worker bundle, and read back ACTIVE.
 */
async function runApi(
  env: BundleEnvironment,
  run: {
    scheduler: TemplateFunction;
    drainWorkers: () => Promise<void>;
    active: BundleEnvironment['devices'][number];
  },
) {
  const { deployment } = world;
  const [apiFn] = env.functions.filter((f) => f.service === 'api') as [TemplateFunction];
  const [authorizerFn] = env.functions.filter((f) => f.service === 'api-authorizer') as [TemplateFunction];
  type Proxy = Extract<Trigger, { kind: 'api-gateway-proxy' }>;
  const proxies = deployment.triggersOf(apiFn).filter((t): t is Proxy => t.kind === 'api-gateway-proxy');
  const root = proxies.find((t) => t.resourcePath === '/' && t.httpMethod === 'GET') as Proxy;
  const proxy = proxies.find((t) => t.resourcePath === '/{proxy+}' && t.httpMethod === 'ANY') as Proxy;
  expect(root, 'GET / reaches the API function').toBeDefined();
  expect(root.authorizer, 'version discovery is public').toBeUndefined();
  expect(proxy, 'ANY /{proxy+} reaches the API function').toBeDefined();
  const authorizer = deployment.triggersOf(authorizerFn).find((t) => t.kind === 'api-gateway-authorizer');
  if (authorizer?.kind !== 'api-gateway-authorizer')
    throw new Error('the authorizer function is no authorizer');
  expect(proxy.authorizer, 'every other method is behind the Keystone authorizer').toBe(
    authorizer.authorizer,
  );
  expect(authorizer).toMatchObject({ type: 'TOKEN', identitySource: 'method.request.header.X-Auth-Token' });

  const apiId = deployment.resolver.resolveString({ Ref: proxy.restApi }, proxy.stack);
  type Caller = { principalId: string; context: Record<string, string> };
  const call = async (trigger: Proxy, method: string, path: string, body?: unknown, caller?: Caller) => {
    const result = await bundleOf(apiFn).invoke(
      apiGatewayProxyEvent(deployment, trigger, {
        method,
        path,
        ...(body === undefined ? {} : { body }),
        ...(caller ? { authorizer: caller } : {}),
      }),
    );
    expect(result.ok, JSON.stringify(result.error)).toBe(true);
    const response = result.value as { statusCode: number; body: string };
    return { status: response.statusCode, body: JSON.parse(response.body) as Record<string, unknown> };
  };

  // Version discovery, public: links on API Gateway's own domain, under the stage clients call.
  const versions = await call(root, 'GET', '/');
  expect(versions.status).toBe(200);
  const current = (versions.body.versions as { status: string; links: { href: string }[] }[]).find(
    (v) => v.status === 'CURRENT',
  );
  expect(current?.links[0]?.href).toBe(
    `https://${apiId}.execute-api.${deployment.region}.amazonaws.com/${proxy.stage}/v2`,
  );

  const createPath = '/v2/lbaas/loadbalancers';
  const authorize = async (token: string, method: string, path: string) => {
    tokensGiven.push(token);
    return bundleOf(authorizerFn).invoke(
      tokenAuthorizerEvent(deployment, authorizer, { token, stage: proxy.stage, method, path }),
    );
  };
  let caller: Caller;
  let projectId: string;
  if (keystone) {
    const token = await keystone.token(
      accounts.member.username,
      accounts.member.password,
      accounts.member.project,
    );
    const allowed = await authorize(token, 'POST', createPath);
    expect(allowed.ok, JSON.stringify(allowed.error)).toBe(true);
    const answer = allowed.value as {
      principalId: string;
      policyDocument: { Statement: { Effect: string; Action: string; Resource: string }[] };
      context: Record<string, string>;
    };
    // API Gateway caches the answer for the token: it must allow any method and path of the stage.
    const [statement, ...others] = answer.policyDocument.Statement;
    expect(others).toEqual([]);
    expect(statement).toMatchObject({ Effect: 'Allow', Action: 'execute-api:Invoke' });
    for (const [method, path] of [
      ['POST', createPath],
      ['GET', `${createPath}/${randomUUID()}`],
      ['DELETE', `${createPath}/${randomUUID()}`],
    ] as const)
      expect(
        matches(
          statement?.Resource as string,
          methodArn(deployment, proxy, proxy.stage, method, path),
          false,
        ),
      ).toBe(true);
    // The caller as Keystone knows it (its admin API, not the authorizer, says which project and roles).
    expect(answer.context.projectId).toBe(memberProjectId);
    expect(answer.context.roles?.split(',')).toContain('load-balancer_member');
    expect(answer.context.system).toBe('false');
    const denied = await authorize(`${token.slice(0, -4)}AAAA`, 'POST', createPath);
    expect(denied.ok).toBe(false);
    // API Gateway answers 401 to exactly this error.
    expect(denied.error?.message).toBe('Unauthorized');
    caller = { principalId: answer.principalId, context: answer.context };
    projectId = memberProjectId as string;
  } else {
    const refused = await authorize(randomBytes(24).toString('base64url'), 'POST', createPath);
    // No policy, no context: API Gateway lets nothing through (fails closed).
    expect(refused.ok, 'the authorizer allowed a token it could not validate').toBe(false);
    expect(refused.value).toBeUndefined();
    // The context the authorizer gives a project's member (functions/handlers/api-gateway.ts).
    projectId = randomBytes(16).toString('hex');
    caller = {
      principalId: randomBytes(16).toString('hex'),
      context: {
        projectId,
        roles: 'load-balancer_member',
        userId: randomBytes(16).toString('hex'),
        system: 'false',
      },
    };
  }

  // A load balancer on the environment's configured subnet.
  const subnet = world.config.environments.find((e) => e.prefix === env.prefix)?.networks[0]?.subnets[0];
  if (!subnet) throw new Error(`${env.prefix}: no configured subnet`);
  const created = await call(
    proxy,
    'POST',
    createPath,
    { loadbalancer: { name: 'via-api', vip_subnet_id: subnet.id } },
    caller,
  );
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const lb = created.body.loadbalancer as Record<string, string>;
  expect(lb).toMatchObject({
    name: 'via-api',
    project_id: projectId,
    vip_subnet_id: subnet.id,
    provisioning_status: 'PENDING_CREATE',
  });
  expect(inCidr(lb.vip_address as string, subnet.cidr), `${lb.vip_address} in ${subnet.cidr}`).toBe(true);
  const id = lb.id as string;
  const read = await call(proxy, 'GET', `${createPath}/${id}`, undefined, caller);
  expect(read.status).toBe(200);
  expect(read.body.loadbalancer).toMatchObject({ id, vip_address: lb.vip_address });

  // Its request is on the environment's request queue: the scheduler bundle takes it off and forwards it.
  const { events, failures } = await drainQueue(deployment, run.scheduler, bundleOf(run.scheduler));
  expect(failures).toEqual([]);
  const queued = events.flatMap((e) => e.Records).map((r) => JSON.parse(r.body) as Record<string, unknown>);
  expect(queued.map((m) => [m.resource, m.operation, m.loadbalancerId, m.tenantId])).toEqual([
    ['loadbalancer', 'create', id, projectId],
  ]);
  await run.drainWorkers();
  const done = await call(proxy, 'GET', `${createPath}/${id}`, undefined, caller);
  expect(done.body.loadbalancer).toMatchObject({ id, provisioning_status: 'ACTIVE' });
  expect(run.active.partitions()).toContain(`${env.prefix}_${projectId}`);
}

/** Whether an IPv4 address lies in a CIDR block. */
function inCidr(address: string, cidr: string) {
  const toInt = (a: string) => a.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  const [base, bits] = cidr.split('/') as [string, string];
  const size = 2 ** (32 - Number(bits));
  return Math.floor(toInt(address) / size) === Math.floor(toInt(base) / size);
}
