import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
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
import { tableNames } from '../../functions/shared/table-schema.js';
import { type BundleEnvironment, type BundleWorld, prepareBundles } from '../support/bundle-fixture.js';
import { type BundleProcess, startBundle } from '../support/bundle-host.js';
import { referencedId, type TemplateFunction } from '../support/cloud-assembly.js';
import { lbIds, requests } from '../support/factories.js';
import { drainQueue, EVENT_SHAPES, scheduledEvent } from '../support/lambda-events.js';
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

beforeAll(async () => {
  world = await prepareBundles({
    outdir: scratch,
    dynamodbEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB as string,
    sqsEndpoint: process.env.AWS_ENDPOINT_URL_SQS as string,
  });
  console.info(
    `bundles: cdk synth ${(world.synthMs / 1000).toFixed(1)} s; functions run under Node ${world.node.version}`,
  );
}, 240_000);

afterAll(async () => {
  await Promise.all([...bundles.values()].map((b) => b.stop()));
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
      const bundle = await startBundle({
        name: `${fn.stack}/${fn.logicalId}`,
        assetDir: fn.assetDir,
        env: world.deployment.environmentOf(fn),
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
    it.each([
      'Project',
      'Direct',
    ])('%s: a load balancer tree goes from the request queue through the scheduler and worker bundles to ACTIVE on the device; heartbeats, the reclaimer, the status poller and the reconciler run', async (prefix) => {
      const env = world.environments.find((e) => e.prefix === prefix) as BundleEnvironment;
      await runEnvironment(env);
    }, 180_000);
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

async function runEnvironment(env: BundleEnvironment) {
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
