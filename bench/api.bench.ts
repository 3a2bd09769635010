/**
 * Octavia API benchmark, on the local stack (DynamoDB Local, fauxqs, simulated BIG-IPs under the
 * `zero` timing model):
 *
 *   1. GET of one object (load balancer, listener, pool, member): DynamoDB reads per call, counted
 *      on the API's own client, and latency p50/p99 over HTTP (a process that has served the
 *      object's load balancer before; a first sighting of a child id costs its claim too, shown);
 *   2. a list page: DynamoDB calls for a page of 20 of a project's 60 load balancers (never a Scan);
 *   3. a full tree (load balancer, listener, pool, 2 members, monitor) to ACTIVE: with the real
 *      client (`openstack … --wait`, six commands, when Debian's client is installed), with the same
 *      six writes over HTTP polled every 50 ms, and in one single-call create.
 *
 * Prints tables and, as its last line, a JSON object (also bench/results/api.json). Never fails on time.
 *
 *   npm run bench:api
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { wireApi } from '../functions/wiring/api-wiring.js';
import { DEFAULT_LOCAL_PROJECT, startLocalStack } from '../local/local-stack.js';
import { startApiServer } from '../local/octavia-api-server.js';
import { CallCounter } from './support/call-counter.js';
import { runConcurrently, startBenchServices } from './support/local-services.js';
import { machine, printTable, summarize, writeResult } from './support/stats.js';

const run = promisify(execFile);
const services = await startBenchServices();
const stack = await startLocalStack({
  services: {
    dynamodbEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB as string,
    sqsEndpoint: process.env.AWS_ENDPOINT_URL_SQS as string,
  },
  namePrefix: `api${randomUUID().slice(0, 6)}`,
  stateFile: false,
  healthIntervalMs: 2 ** 30,
  api: { port: 0 },
});
const api = stack.api?.url as string;
const subnet = stack.environment.networks[0]?.subnets[0]?.id as string;

async function call(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: the benchmark reads Octavia's JSON by path
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, any> };
}

async function untilActive(base: string, lb: string, intervalMs: number): Promise<void> {
  for (;;) {
    const { body } = await call(base, 'GET', `/v2/lbaas/loadbalancers/${lb}`);
    const status = body.loadbalancer?.provisioning_status;
    if (status === 'ACTIVE') return;
    if (status === 'ERROR') throw new Error(`load balancer ${lb} went to ERROR`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

const tree = (name: string, project?: string) => ({
  loadbalancer: {
    name,
    vip_subnet_id: subnet,
    ...(project ? { project_id: project } : {}),
    listeners: [
      { name: `${name}-http`, protocol: 'HTTP', protocol_port: 80, default_pool: { name: `${name}-pool` } },
    ],
    pools: [
      {
        name: `${name}-pool`,
        protocol: 'HTTP',
        lb_algorithm: 'ROUND_ROBIN',
        healthmonitor: { type: 'HTTP', delay: 5, timeout: 3, max_retries: 3 },
        members: [
          { address: '10.0.1.5', protocol_port: 8080 },
          { address: '10.0.1.6', protocol_port: 8080 },
        ],
      },
    ],
  },
});

// ---- 3. a full tree to ACTIVE (first, on a quiet system) ----
const trees: Record<string, number | string> = {};
let started = performance.now();
const single = (await call(api, 'POST', '/v2/lbaas/loadbalancers', tree('single'))).body.loadbalancer
  .id as string;
await untilActive(api, single, 50);
trees.singleCallSeconds = Math.round(performance.now() - started) / 1000;

started = performance.now();
const lb = (
  await call(api, 'POST', '/v2/lbaas/loadbalancers', {
    loadbalancer: { name: 'steps', vip_subnet_id: subnet },
  })
).body.loadbalancer.id as string;
await untilActive(api, lb, 50);
const listener = (
  await call(api, 'POST', '/v2/lbaas/listeners', {
    listener: { loadbalancer_id: lb, protocol: 'HTTP', protocol_port: 80 },
  })
).body.listener.id as string;
await untilActive(api, lb, 50);
const pool = (
  await call(api, 'POST', '/v2/lbaas/pools', {
    pool: { listener_id: listener, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN' },
  })
).body.pool.id as string;
await untilActive(api, lb, 50);
for (const address of ['10.0.2.5', '10.0.2.6']) {
  await call(api, 'POST', `/v2/lbaas/pools/${pool}/members`, { member: { address, protocol_port: 80 } });
  await untilActive(api, lb, 50);
}
await call(api, 'POST', '/v2/lbaas/healthmonitors', {
  healthmonitor: { pool_id: pool, type: 'HTTP', delay: 5, timeout: 3, max_retries: 3 },
});
await untilActive(api, lb, 50);
trees.sixWritesOverHttpSeconds = Math.round(performance.now() - started) / 1000;

if (existsSync('/usr/bin/openstack')) {
  const env = { ...process.env, OS_AUTH_TYPE: 'none', OS_ENDPOINT: api };
  const os = (...args: string[]) => run('/usr/bin/openstack', ['loadbalancer', ...args], { env });
  started = performance.now();
  await os('create', '--vip-subnet-id', subnet, '--name', 'cli', '--wait');
  await os(
    'listener',
    'create',
    '--protocol',
    'HTTP',
    '--protocol-port',
    '80',
    '--name',
    'cli-http',
    'cli',
    '--wait',
  );
  await os(
    'pool',
    'create',
    '--lb-algorithm',
    'ROUND_ROBIN',
    '--protocol',
    'HTTP',
    '--listener',
    'cli-http',
    '--name',
    'cli-pool',
    '--wait',
  );
  await os('member', 'create', '--address', '10.0.3.5', '--protocol-port', '80', 'cli-pool', '--wait');
  await os('member', 'create', '--address', '10.0.3.6', '--protocol-port', '80', 'cli-pool', '--wait');
  await os(
    'healthmonitor',
    'create',
    '--delay',
    '5',
    '--timeout',
    '3',
    '--max-retries',
    '3',
    '--type',
    'HTTP',
    'cli-pool',
    '--wait',
  );
  trees.openstackClientSeconds = Math.round(performance.now() - started) / 1000;
  // The client sleeps 3 s between status polls after each write (octaviaclient's wait_for_active).
  started = performance.now();
  await run('/usr/bin/openstack', ['loadbalancer', 'show', 'cli', '-f', 'value', '-c', 'id'], { env });
  trees.openstackClientStartupSeconds = Math.round(performance.now() - started) / 1000;
} else {
  trees.openstackClientSeconds = 'skipped: the openstack client is not installed';
}

// ---- fleet for reads: 60 load balancers of one project, trees of 6 objects ----
const project = randomUUID().replaceAll('-', '');
await runConcurrently(
  Array.from({ length: 60 }, (_, i) => i),
  4,
  async (i) => {
    const res = await call(api, 'POST', '/v2/lbaas/loadbalancers', tree(`fleet-${i}`, project));
    if (res.status !== 201) throw new Error(`create failed: ${JSON.stringify(res.body)}`);
  },
);
const fleet = (await call(api, 'GET', `/v2/lbaas/loadbalancers?project_id=${project}&limit=1000`)).body
  .loadbalancers as {
  id: string;
}[];
await runConcurrently(fleet, 4, (l) => untilActive(api, l.id, 200));
const children = await Promise.all(
  fleet.map(async (l) => {
    const { body } = await call(api, 'GET', `/v2/lbaas/loadbalancers/${l.id}/status`);
    const ln = body.statuses.loadbalancer.listeners[0];
    return {
      lb: l.id,
      listener: ln.id as string,
      pool: ln.pools[0].id as string,
      member: ln.pools[0].members[0].id as string,
    };
  }),
);

// ---- 1. GET of one object, on a measurement API with its own counted client ----
const counter = new CallCounter();
const measuredClients = { dynamodb: services.dynamodb, sqs: services.sqs };
counter.attach(services.dynamodb, 'measured');
const graph = wireApi(
  {
    env: stack.env,
    requestQueueUrl: stack.requestQueue.url,
    tables: stack.tables,
    policy: 'advanced',
    networks: stack.environment.networks,
    agentDownTimeMs: stack.agentDownTimeMs,
    agentCacheMs: 2_000,
    selection: 'random',
  },
  measuredClients,
  { policy: 'noauth', defaultProject: DEFAULT_LOCAL_PROJECT },
);
const server = await startApiServer({ handler: graph.handler, auth: { mode: 'noauth' }, port: 0 });
const READS = /measured\.(GetItem|Query|Scan|BatchGetItem)$/;
const reads = () => Object.entries(counter.snapshot()).reduce((n, [k, v]) => (READS.test(k) ? n + v : n), 0);
const scans = () => counter.snapshot()['measured.Scan'] ?? 0;

const gets: Record<string, string | number>[] = [];
const pathOf = {
  loadbalancer: (c: (typeof children)[number]) => `/v2/lbaas/loadbalancers/${c.lb}`,
  listener: (c: (typeof children)[number]) => `/v2/lbaas/listeners/${c.listener}`,
  pool: (c: (typeof children)[number]) => `/v2/lbaas/pools/${c.pool}`,
  member: (c: (typeof children)[number]) => `/v2/lbaas/pools/${c.pool}/members/${c.member}`,
};
const result: Record<string, unknown> = { benchmark: 'api', machine: machine(), timing: 'zero', trees };
for (const [type, path] of Object.entries(pathOf)) {
  // First sighting (cold process) of each id: what it costs before the process knows where it lives.
  counter.reset();
  for (const c of children) await call(server.url, 'GET', path(c));
  const cold = reads() / children.length;
  counter.reset();
  const samples = await runConcurrently(
    Array.from({ length: 500 }, (_, i) => children[i % children.length] as (typeof children)[number]),
    4,
    async (c) => {
      const res = await call(server.url, 'GET', path(c));
      if (res.status !== 200) throw new Error(`GET ${path(c)}: ${res.status}`);
    },
  );
  const warm = reads() / samples.length;
  const s = summarize(samples);
  gets.push({
    object: type,
    'reads/GET': warm,
    'reads/GET (first sighting)': cold,
    'p50 ms': s.p50,
    'p99 ms': s.p99,
  });
  result[`get_${type}`] = { readsPerGet: warm, readsFirstSighting: cold, latencyMs: s };
}

// ---- 2. a list page ----
counter.reset();
const page = await call(server.url, 'GET', `/v2/lbaas/loadbalancers?project_id=${project}&limit=20`);
const pageCalls = counter.snapshot();
const pageResult = {
  items: (page.body.loadbalancers as unknown[]).length,
  projectObjects: fleet.length,
  dynamodbCalls: pageCalls,
  scans: scans(),
  next: (page.body.loadbalancers_links as { rel: string }[]).map((l) => l.rel),
};
result.listPage = pageResult;

console.log(
  `\nOctavia API on the local stack (zero timing), ${fleet.length} load balancers of one project\n`,
);
printTable(gets);
console.log(
  `\nA page of ${pageResult.items} of ${pageResult.projectObjects} load balancers: ${JSON.stringify(pageResult.dynamodbCalls)} (scans: ${pageResult.scans})`,
);
console.log('\nA full tree (load balancer, listener, pool, 2 members, monitor) to ACTIVE:');
printTable(Object.entries(trees).map(([k, v]) => ({ measure: k, value: v })));

await server.close();
await stack.stop();
await services.stop();
const path = writeResult('api', result);
console.log(`\n(written to ${path})`);
console.log(JSON.stringify(result));
