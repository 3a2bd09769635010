/**
 * Status benchmark: what one cycle of the status poller costs, against the simulated HA pair, under
 * both timing models (device-facts.md §6), for
 *
 *   1. 100 load balancers × 10 members (100 pools, each with an HTTP monitor);
 *   2. one load balancer with 1,000 members in one pool.
 *
 * For each: REST calls and time of a cycle that finds changes (the first) and of one that finds
 * none; DynamoDB reads and writes of each (target for the quiet cycle: 0 writes). Side by side,
 * computed from the scenario alone: the upstream agent's method (≈4 GETs per member, one after the
 * other: peer-features.md §2.3) and SAP's (2 GETs + 2 per pool, §1.7), with their time under the
 * model. Prints tables and, as its last line, a JSON object. Never fails on time.
 *
 *   npm run bench:status
 */
import { randomUUID } from 'node:crypto';
import { StaticCredentials } from '../functions/adapters/device-credentials.js';
import type { PollReport } from '../functions/services/health-poller.js';
import { wireHealthPoller } from '../functions/wiring/health-poller-wiring.js';
import { describeTiming, TIMING_MODELS } from '../local/bigip-simulator/timing-model.js';
import { type LocalStack, startLocalStack } from '../local/local-stack.js';
import { buildFleet } from './support/fleet.js';
import { startBenchServices } from './support/local-services.js';
import { machine, printTable, writeResult } from './support/stats.js';

const services = await startBenchServices();
/** Monitor states on the active unit: every `every`-th member fails. */
function markHealth(stack: LocalStack, every: number) {
  const device = stack.pair?.active ?? (stack.devices[0] as LocalStack['devices'][number]);
  let i = 0;
  for (const m of device.store.all('ltm/pool/members')) {
    if (!String(m.pool).startsWith(`/${stack.env}_`)) continue;
    device.stats.setMember(`${m.pool}|${m.fullPath}`, i++ % every === 0 ? 'down' : 'up');
  }
}

interface Cycle {
  restCalls: number;
  seconds: number;
  dynamodbReads: number;
  dynamodbWrites: number;
  statusesWritten: number;
}

const WRITES = /\.(PutItem|UpdateItem|DeleteItem|BatchWriteItem|TransactWriteItems)$/;
const READS = /\.(GetItem|Query|Scan|BatchGetItem)$/;

async function scenario(name: string, lbs: number, members: number) {
  const stack = await startLocalStack({
    services: {
      dynamodbEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB as string,
      sqsEndpoint: process.env.AWS_ENDPOINT_URL_SQS as string,
    },
    namePrefix: `st${randomUUID().slice(0, 6)}`,
    stateFile: false,
    dataPlane: false,
    // The benchmark polls by hand.
    healthIntervalMs: 2 ** 30,
    workerConcurrency: 5,
  });
  await buildFleet(stack, lbs, members);
  markHealth(stack, 7);

  let calls = 0;
  const { poller, cluster } = wireHealthPoller(
    {
      env: stack.env,
      tables: stack.tables,
      intervalMs: 60_000,
      pollsPerInvocation: 1,
      agentDownTimeMs: stack.agentDownTimeMs,
      ...stack.deviceAccess,
      restTimeoutMs: 30_000,
    },
    { dynamodb: services.dynamodb },
    { credentials: new StaticCredentials({ username: 'admin', password: 'admin' }), onCall: () => calls++ },
  );
  const cycle = async (): Promise<Cycle & { report: PollReport }> => {
    calls = 0;
    services.counter.reset();
    const started = performance.now();
    const report = await poller.poll();
    const seconds = Math.round(performance.now() - started) / 1000;
    const counts = Object.entries(services.counter.snapshot());
    const sum = (re: RegExp) => counts.filter(([k]) => re.test(k)).reduce((n, [, v]) => n + v, 0);
    return {
      report,
      restCalls: calls,
      seconds,
      dynamodbReads: sum(READS),
      dynamodbWrites: sum(WRITES),
      statusesWritten: report.outcome === 'polled' ? report.statusesWritten : 0,
    };
  };

  const out = [];
  for (const model of ['zero', 'real'] as const) {
    const timing = TIMING_MODELS[model];
    for (const d of stack.devices) d.timing = timing;
    // Another failure pattern for the second model, so its first cycle has changes to write too.
    if (model === 'real') markHealth(stack, 5);
    await cluster.close(); // a cold start: the login is part of the cycle
    const changed = await cycle();
    const quiet = await cycle();
    if (changed.report.outcome !== 'polled' || quiet.report.outcome !== 'polled')
      throw new Error(
        `a poll was skipped: ${JSON.stringify(changed.report)} ${JSON.stringify(quiet.report)}`,
      );
    const pools = lbs;
    const ours = 2 + pools;
    const upstream = 4 * lbs * members;
    const sap = 2 + 2 * pools;
    out.push({
      scenario: name,
      timing: model,
      loadbalancers: lbs,
      members: lbs * members,
      changedCycle: { ...changed, report: undefined },
      quietCycle: { ...quiet, report: undefined },
      statusReadsExpected: ours,
      // The time a method needs under the model: its calls one after the other (upstream), ours 4 at a time.
      upstreamCalls: upstream,
      upstreamSeconds: (upstream * timing.readMs) / 1000,
      sapCalls: sap,
      sapSeconds: ((2 + 2 * pools) * timing.readMs) / 1000,
    });
  }
  await cluster.close();
  await stack.stop();
  return out;
}

const results = [
  ...(await scenario('100 load balancers × 10 members', 100, 10)),
  ...(await scenario('1 load balancer × 1,000 members', 1, 1_000)),
];
console.log(`\nTiming model "real": ${describeTiming(TIMING_MODELS.real)}\n`);
printTable(
  results.map((r) => ({
    scenario: r.scenario,
    timing: r.timing,
    'REST calls (changed / quiet)': `${r.changedCycle.restCalls} / ${r.quietCycle.restCalls}`,
    'cycle (s) (changed / quiet)': `${r.changedCycle.seconds} / ${r.quietCycle.seconds}`,
    'DynamoDB writes (changed / quiet)': `${r.changedCycle.dynamodbWrites} / ${r.quietCycle.dynamodbWrites}`,
    'DynamoDB reads (quiet)': r.quietCycle.dynamodbReads,
    'upstream calls (s)': `${r.upstreamCalls} (${r.upstreamSeconds})`,
    'SAP calls (s)': `${r.sapCalls} (${r.sapSeconds})`,
  })),
);
await services.stop();
const result = { benchmark: 'status', machine: machine(), timing: TIMING_MODELS, results };
writeResult('status', result);
console.log(JSON.stringify(result));
process.exit(0);
