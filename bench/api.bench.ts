/**
 * Octavia API benchmark, on the local stack (DynamoDB Local, fauxqs, simulated BIG-IPs under the
 * `zero` timing model):
 *
 *   1. GET of one object (load balancer, listener, pool, member): DynamoDB reads per call, counted
 *      on the API's own client, and latency p50/p99 over HTTP (a process that has served the
 *      object's load balancer before; a first sighting of a child id costs its claim too, shown);
 *   2. a list page: DynamoDB calls for a page of 20 of a project's 60 load balancers (never a Scan);
 *   3. a full tree (load balancer, listener, pool, 2 members, monitor) to ACTIVE: with the real
 *      client (`openstack … --wait`, six commands, when Debian's client is installed: six processes,
 *      then the same six in one process reading them from its standard input), with the same
 *      six writes over HTTP polled every 50 ms, and in one single-call create;
 *   4. under the `real` timing model (a second stack, an HA pair): a 100-member batch
 *      (`PUT /v2/lbaas/pools/{id}/members`) and what it caused on the devices (configuration
 *      writes, transaction commits, config-syncs, counted on the simulated units), then the time
 *      from submission to ACTIVE (the answer may wait for the change: api.settleSeconds) of a member, a pool and a listener change (20 each, one at a
 *      time, p50/p95), each next to the device's lower bound for that change.
 *
 * Prints tables and, as its last line, a JSON object (also bench/results/api.json). Never fails on time.
 *
 *   npm run bench:api
 */
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { promisify } from 'node:util';
import { wireApi } from '../functions/wiring/api-wiring.js';
import { callCost, describeTiming, TIMING_MODELS } from '../local/bigip-simulator/timing-model.js';
import { DEFAULT_LOCAL_PROJECT, startLocalStack } from '../local/local-stack.js';
import { startApiServer } from '../local/octavia-api-server.js';
import { CallCounter } from './support/call-counter.js';
import { deviceLowerBoundSeconds } from './support/device-bound.js';
import { runConcurrently, startBenchServices } from './support/local-services.js';
import { machine, printTable, summarize, writeResult } from './support/stats.js';

const run = promisify(execFile);

/** Runs commands in one `openstack` process (its interactive mode, fed on standard input); fails on any error. */
async function oneSession(commands: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  const child = spawn('/usr/bin/openstack', [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  child.stdout.resume();
  child.stdin.end(`${commands.join('\n')}\n`);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  // Interactive mode keeps going after a failed command and still exits 0: its error output tells.
  if (code !== 0 || stderr.trim() !== '') throw new Error(`openstack session failed (${code}): ${stderr}`);
}
const loadAverageAtStart = loadavg().map((v) => Math.round(v * 100) / 100);
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
  // The same six commands in one client process: `openstack` with no command reads commands from
  // its standard input (cliff's interactive mode), so Python starts once, as in a script that
  // keeps one session open. What is left is the six changes and the client's own work.
  const session = [
    `loadbalancer create --vip-subnet-id ${subnet} --name cli1 --wait`,
    'loadbalancer listener create --protocol HTTP --protocol-port 80 --name cli1-http cli1 --wait',
    'loadbalancer pool create --lb-algorithm ROUND_ROBIN --protocol HTTP --listener cli1-http --name cli1-pool --wait',
    'loadbalancer member create --address 10.0.3.5 --protocol-port 80 cli1-pool --wait',
    'loadbalancer member create --address 10.0.3.6 --protocol-port 80 cli1-pool --wait',
    'loadbalancer healthmonitor create --delay 5 --timeout 3 --max-retries 3 --type HTTP cli1-pool --wait',
  ];
  started = performance.now();
  await oneSession(session, env);
  trees.openstackClientOneSessionSeconds = Math.round(performance.now() - started) / 1000;
  const status = await call(api, 'GET', '/v2/lbaas/loadbalancers?name=cli1');
  const one = (status.body.loadbalancers as { provisioning_status: string }[])[0];
  if (one?.provisioning_status !== 'ACTIVE')
    throw new Error(`the one-session tree is not ACTIVE: ${JSON.stringify(status.body)}`);
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
const result: Record<string, unknown> = { benchmark: 'api', timing: 'zero', trees };
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

// ---- 4. changes under the `real` timing model: what reaches the device, and 202 → ACTIVE ----
const real = TIMING_MODELS.real;
const realStack = await startLocalStack({
  services: {
    dynamodbEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB as string,
    sqsEndpoint: process.env.AWS_ENDPOINT_URL_SQS as string,
  },
  namePrefix: `apr${randomUUID().slice(0, 6)}`,
  stateFile: false,
  healthIntervalMs: 2 ** 30,
  timing: real,
  workerConcurrency: 5,
  api: { port: 0 },
});
const realApi = realStack.api?.url as string;
const realSubnet = realStack.environment.networks[0]?.subnets[0]?.id as string;

/** The load balancer's status tree, polled every 50 ms until `done` holds for it (ERROR throws). */
// biome-ignore lint/suspicious/noExplicitAny: the benchmark reads Octavia's status tree by path
async function untilStatus(lbId: string, done: (lb: any) => boolean): Promise<void> {
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    const { body } = await call(realApi, 'GET', `/v2/lbaas/loadbalancers/${lbId}/status`);
    const root = body.statuses?.loadbalancer;
    if (JSON.stringify(root ?? {}).includes('"provisioning_status":"ERROR"'))
      throw new Error(`load balancer ${lbId}: an object went to ERROR`);
    if (root?.provisioning_status === 'ACTIVE' && done(root)) return;
    if (Date.now() > deadline) throw new Error(`load balancer ${lbId} did not settle`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What the devices did from here on: configuration writes (by the model's rule), of which commits, and config-syncs. */
function deviceMeter() {
  const from = realStack.devices.map((d) => ({ calls: d.calls.length, syncs: d.sync.requested }));
  return () => {
    const writes: Record<string, number> = {};
    let total = 0;
    let commits = 0;
    let first = Number.POSITIVE_INFINITY;
    let last = 0;
    realStack.devices.forEach((d, i) => {
      for (const c of d.calls.slice(from[i]?.calls ?? 0)) {
        const cost = callCost(real, {
          method: c.method,
          path: c.path,
          enlisted: c.transactionId !== undefined,
          // Any number marks a commit; its size does not matter for the count.
          commitCommands:
            /^\/mgmt\/tm\/transaction\/\d+$/.test(c.path) && c.method === 'PATCH' ? 0 : undefined,
        });
        if (!cost.serial || c.path === '/mgmt/tm/cm') continue;
        total++;
        if (/^\/mgmt\/tm\/transaction\/\d+$/.test(c.path)) commits++;
        first = Math.min(first, c.at);
        last = Math.max(last, c.at + c.ms);
        const shape = `${c.method} ${c.path.replace(/~[^/]+/g, '~…').replace(/\/\d+$/, '/N')}`;
        writes[shape] = (writes[shape] ?? 0) + 1;
      }
    });
    const configSyncs = realStack.devices.reduce(
      (n, d, i) => n + d.sync.requested - (from[i]?.syncs ?? 0),
      0,
    );
    return {
      deviceWrites: total,
      transactionCommits: commits,
      configSyncs,
      writeWindowMs: total > 0 ? Math.round(last - first) : 0,
      writes,
    };
  };
}

const built = (
  await call(realApi, 'POST', '/v2/lbaas/loadbalancers', {
    loadbalancer: {
      name: 'real',
      vip_subnet_id: realSubnet,
      listeners: [
        { name: 'real-http', protocol: 'HTTP', protocol_port: 80, default_pool: { name: 'real-pool' } },
      ],
      pools: [{ name: 'real-pool', protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN' }],
    },
  })
).body.loadbalancer as { id: string; listeners: { id: string }[]; pools: { id: string }[] };
const realLb = built.id;
const realListener = built.listeners[0]?.id as string;
const realPool = built.pools[0]?.id as string;
await untilStatus(realLb, () => true);

// A 100-member batch: one PUT, answered 202; to ACTIVE when every member is.
const N_BATCH = 100;
const measureDevices = deviceMeter();
started = performance.now();
const batchAnswer = await call(realApi, 'PUT', `/v2/lbaas/pools/${realPool}/members`, {
  members: Array.from({ length: N_BATCH }, (_, i) => ({
    address: `10.0.${10 + Math.floor(i / 250)}.${(i % 250) + 1}`,
    protocol_port: 8080,
  })),
});
if (batchAnswer.status !== 202) throw new Error(`member batch: ${batchAnswer.status}`);
const answeredAt = performance.now();
await untilStatus(realLb, (root) => {
  const members = root.listeners[0]?.pools[0]?.members ?? [];
  return (
    members.length === N_BATCH &&
    members.every((m: { provisioning_status: string }) => m.provisioning_status === 'ACTIVE')
  );
});
const batchSeconds = Math.round(performance.now() - started) / 1000;
// ACTIVE is written once the change is confirmed on the pair; a moment more for any late call to be counted.
await new Promise((r) => setTimeout(r, 1_000));
const batch = {
  members: N_BATCH,
  answer: batchAnswer.status,
  answerMs: Math.round(answeredAt - started),
  submitToActiveSeconds: batchSeconds,
  // The fewest calls: the pool's member list in one write, then one sync.
  deviceLowerBoundSeconds: deviceLowerBoundSeconds(real, 1),
  ...measureDevices(),
};
result.memberBatchReal = batch;
const members = (await call(realApi, 'GET', `/v2/lbaas/pools/${realPool}/members`)).body.members as {
  id: string;
}[];

// One change at a time, each waited for: submission → ACTIVE of the object and its load balancer.
const SAMPLES = 20;
async function changes(
  what: string,
  path: string,
  body: (i: number) => Record<string, unknown>,
  tag: 'member' | 'pool' | 'listener',
) {
  const seconds: number[] = [];
  const measure = deviceMeter();
  for (let i = 0; i < SAMPLES; i++) {
    // From the submission: the answer itself may wait for the change (api.settleSeconds).
    const at = performance.now();
    const res = await call(realApi, 'PUT', path, body(i));
    if (res.status !== 200) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
    await untilStatus(realLb, (root) => {
      const listener = root.listeners[0];
      const pool = listener?.pools[0];
      const object =
        tag === 'listener'
          ? listener
          : tag === 'pool'
            ? pool
            : pool?.members.find((m: { id: string }) => m.id === members[0]?.id);
      return object?.provisioning_status === 'ACTIVE';
    });
    seconds.push((performance.now() - at) / 1000);
  }
  const device = measure();
  return {
    change: what,
    samples: SAMPLES,
    submitToActiveSeconds: summarize(seconds),
    // Each change is one configuration write at the fewest calls, then one sync.
    deviceLowerBoundSeconds: deviceLowerBoundSeconds(real, 1),
    deviceWritesPerChange: device.deviceWrites / SAMPLES,
    configSyncsPerChange: device.configSyncs / SAMPLES,
  };
}
const realChanges = [
  await changes(
    'member weight',
    `/v2/lbaas/pools/${realPool}/members/${members[0]?.id}`,
    (i) => ({ member: { weight: 2 + (i % 2) } }),
    'member',
  ),
  await changes(
    'pool lb_algorithm',
    `/v2/lbaas/pools/${realPool}`,
    (i) => ({ pool: { lb_algorithm: i % 2 === 0 ? 'LEAST_CONNECTIONS' : 'ROUND_ROBIN' } }),
    'pool',
  ),
  await changes(
    'listener connection_limit',
    `/v2/lbaas/listeners/${realListener}`,
    (i) => ({ listener: { connection_limit: 1000 + (i % 2) * 1000 } }),
    'listener',
  ),
];
result.changesReal = realChanges;
result.timingReal = real;
await realStack.stop();

console.log(`\nUnder the \`real\` timing model (${describeTiming(real)}), an HA pair:\n`);
console.log(
  `A ${N_BATCH}-member batch: answered ${batch.answer} in ${batch.answerMs} ms, ACTIVE ${batch.submitToActiveSeconds} s after the submission (device lower bound ${batch.deviceLowerBoundSeconds} s); on the devices ${batch.deviceWrites} configuration writes (${batch.transactionCommits} transaction commits) within ${batch.writeWindowMs} ms, ${batch.configSyncs} config-sync: ${JSON.stringify(batch.writes)}\n`,
);
printTable(
  realChanges.map((c) => ({
    change: c.change,
    samples: c.samples,
    'submit → ACTIVE p50 / p95 (s)': `${c.submitToActiveSeconds.p50} / ${c.submitToActiveSeconds.p95}`,
    'device lower bound (s)': c.deviceLowerBoundSeconds,
    'device writes / change': c.deviceWritesPerChange,
    'config-syncs / change': c.configSyncsPerChange,
  })),
);

await services.stop();
result.machine = { ...machine(), loadAverageAtStart };
const path = writeResult('api', result);
console.log(`\n(written to ${path})`);
console.log(JSON.stringify(result));
