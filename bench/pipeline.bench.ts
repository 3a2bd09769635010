/**
 * Pipeline benchmark: what the system itself costs per request, stage by stage (producer → request
 * queue → scheduler → agent queue → worker → device → config-sync → statuses), on the whole local
 * stack (scheduler, three agents with five worker invocations each as in AWS, an HA pair):
 *
 *   quiet    one member create on a quiet load balancer, `--samples` times (default 20), each
 *            waited for and followed by a pause longer than the scheduler's agent cache;
 *   members  1,000 single-member creates on one load balancer, submitted at once;
 *   tenants  100 tenants making one change each (a member create) at once;
 *   sequence the standard sequence of bench:bigip (sixteen requests, from a load balancer's create
 *            to its delete), each waited for before the next is sent, as a client that waits for
 *            ACTIVE after every step does (Octavia's tempest plugin, Terraform).
 *
 * For each: the AWS calls per request and stage (DynamoDB reads, writes, transactions and their
 * items; SQS sends, receives, deletes, visibility changes), which do not depend on the machine;
 * each stage's time per request; the time until every request was finished next to the device's
 * own lower bound under the timing model; REST calls and config-syncs; and the machine's load
 * average before and after, since times taken on a loaded machine do not compare.
 * Prints tables and, as its last line, a JSON object. Never fails on time.
 *
 *   npm run bench:pipeline                                          # both models, every scenario
 *   npm run bench:pipeline -- --timing real --scenario members --runs 3
 *   npm run bench:pipeline -- --out pipeline-loaded                 # bench/results/pipeline-loaded.json
 *   npm run bench:pipeline -- --apply-wait-ms 0                     # applies not paced behind a burst (A/B)
 *   npm run bench:pipeline -- --worker-concurrency 10               # each agent's worker invocations (A/B; 5 as in AWS)
 *   npm run bench:pipeline -- --scenario sequence --traces /tmp/t.json  # every request's path, for profiling
 *
 * The results file (`bench/results/pipeline.json` unless `--out` names another) is written only
 * for a run of both models and every scenario, or whenever `--out` is given, with its Markdown
 * report beside it (`pipeline.md`); `--render NAME` writes the report of a kept results file again.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { APPLY_CADENCE } from '../functions/domain/apply-cadence.js';
import { isPending } from '../functions/domain/resource-state.js';
import { tableNames } from '../functions/shared/table-schema.js';
import { type MetricEvent, metricEvents } from '../functions/shared/telemetry.js';
import { describeTiming, TIMING_MODELS, type TimingModel } from '../local/bigip-simulator/timing-model.js';
import { inFunction } from '../local/function-scope.js';
import { type LocalStack, startLocalStack } from '../local/local-stack.js';
import { benchTenant, httpPoolTree, standardSequence, vipSequence } from './support/load-balancer-trees.js';
import { startBenchServices } from './support/local-services.js';
import { type PipelineResult, type PipelineRun, renderPipelineReport } from './support/pipeline-report.js';
import {
  addCosts,
  perRequest,
  STAGES,
  type Stage,
  type StageCost,
  StageCounter,
} from './support/stage-counter.js';
import { StageTimes, summarizeTimes } from './support/stage-times.js';
import { machine, printTable, summarize, writeResult } from './support/stats.js';
import { chosenTimings } from './support/timing-args.js';

const arg = (name: string) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
};
const RESULTS = join(import.meta.dirname, 'results');
/** The Markdown report of a results file, beside it. */
const writeReport = (name: string, result: PipelineResult) =>
  writeFileSync(join(RESULTS, `${name}.md`), renderPipelineReport(result, name));
const RENDER = arg('--render');
if (RENDER) {
  writeReport(RENDER, JSON.parse(readFileSync(join(RESULTS, `${RENDER}.json`), 'utf8')) as PipelineResult);
  console.log(`bench/results/${RENDER}.md written`);
  process.exit(0);
}

const chosen = chosenTimings();
const SCENARIOS = ['quiet', 'members', 'tenants', 'sequence'] as const;
type ScenarioName = (typeof SCENARIOS)[number];
const wanted = new Set((arg('--scenario') ?? SCENARIOS.join(',')).split(','));
for (const w of wanted)
  if (!SCENARIOS.includes(w as ScenarioName))
    throw new Error(`unknown scenario ${w}: one of ${SCENARIOS.join(', ')}`);
const RUNS = Number(arg('--runs') ?? 1);
const SAMPLES = Number(arg('--samples') ?? 20);
const OUT = arg('--out');
/** The most an apply waits for a burst still being recorded (apply-cadence.ts); 0 turns it off, for an A/B in one build. */
const APPLY_WAIT_MS = arg('--apply-wait-ms') === undefined ? undefined : Number(arg('--apply-wait-ms'));
if (APPLY_WAIT_MS !== undefined && !(APPLY_WAIT_MS >= 0))
  throw new Error('--apply-wait-ms: a number of milliseconds, 0 or more');
/** Concurrent invocations of each agent's worker (the environment's `workerConcurrency`, 5 by default), for an A/B. */
const WORKER_CONCURRENCY = Number(arg('--worker-concurrency') ?? 5);
if (!(Number.isInteger(WORKER_CONCURRENCY) && WORKER_CONCURRENCY >= 1))
  throw new Error('--worker-concurrency: a whole number, 1 or more');
/** Where to write every measured request's raw path (stage-times.ts `traces`), for profiling. */
const TRACES = arg('--traces');
const traced: unknown[] = [];
const N_MEMBERS = 1_000;
const N_TENANTS = 100;
/** Longer than the scheduler's agent cache (2 s): each quiet create finds nothing warm. */
const QUIET_PAUSE_MS = 2_500;

const services = await startBenchServices();
const tenant = benchTenant;
const nextVip = vipSequence();
let memberN = 0;
const nextMemberAddress = () => {
  memberN += 1;
  return `10.${50 + Math.floor(memberN / 62_500)}.${Math.floor(memberN / 250) % 250}.${(memberN % 250) + 1}`;
};

type RunResult = PipelineRun;

/** Submit → ACTIVE of each request the agents finished since it started (the worker's TimeToActive). */
function finished() {
  const seconds: number[] = [];
  const started = Date.now();
  const listen = (m: MetricEvent) => {
    if (m.name === 'TimeToActive' && m.value <= Date.now() - started + 50) seconds.push(m.value / 1000);
  };
  metricEvents.on('metric', listen);
  return {
    seconds,
    async all(n: number) {
      const deadline = Date.now() + 15 * 60_000;
      while (seconds.length < n) {
        if (Date.now() > deadline) throw new Error(`only ${seconds.length} of ${n} requests finished`);
        await sleep(50);
      }
      metricEvents.off('metric', listen);
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Until nothing is in either queue (the event sources' deletes counted), and no object is pending. */
async function drained(stack: LocalStack, lbs: readonly string[]) {
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    const depths = await stack.client.queueDepths();
    const busy = Object.entries(depths).some(([q, d]) => !q.endsWith('-dlq') && d.visible + d.inFlight > 0);
    if (!busy) break;
    if (Date.now() > deadline) throw new Error(`queues not drained: ${JSON.stringify(depths)}`);
    await sleep(100);
  }
  for (const lb of lbs) {
    for (;;) {
      const records = await stack.client.records(lb);
      const errors = records.filter((r) => r.provisioningStatus === 'ERROR');
      if (errors.length > 0) throw new Error(`${errors.length} objects in ERROR: ${errors[0]?.statusReason}`);
      if (records.length > 0 && !records.some((r) => isPending(r.provisioningStatus))) break;
      if (Date.now() > deadline) throw new Error(`load balancer ${lb} did not settle`);
      await sleep(100);
    }
  }
}

async function run(timing: TimingModel): Promise<RunResult[]> {
  const prefix = `pipe${randomUUID().slice(0, 6)}`;
  const counter = new StageCounter();
  const times = new StageTimes();
  const stack = await startLocalStack({
    services: {
      dynamodbEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB as string,
      sqsEndpoint: process.env.AWS_ENDPOINT_URL_SQS as string,
    },
    namePrefix: prefix,
    stateFile: false,
    timing,
    workerConcurrency: WORKER_CONCURRENCY,
    ...(APPLY_WAIT_MS !== undefined ? { applyWaitMs: APPLY_WAIT_MS } : {}),
    // Nothing but the requests' own path: no data plane, no status polls during the runs.
    dataPlane: false,
    healthIntervalMs: 2 ** 30,
    onInvocation: times.onInvocation,
    configureClients: (clients) => {
      counter.attach(clients.dynamodb, 'dynamodb');
      counter.attach(clients.sqs, 'sqs');
    },
  });
  counter.nameTables({ ...tableNames(prefix) });
  const { client } = stack;
  const submit = (messages: Record<string, unknown>[]) =>
    inFunction({ fn: 'producer', part: 'invocation' }, () => client.submitMany(messages));
  const lowerBound = (writes: number) => round2((writes * timing.writeMs + timing.syncMs) / 1000);
  const restCalls = () => stack.agents.reduce((n, a) => n + a.calls.length, 0);
  const syncs = () => stack.devices.reduce((n, d) => n + d.sync.requested, 0);

  /** A load balancer with an HTTP listener and a pool, settled, every message of it consumed. */
  const readyPools = async (n: number) => {
    const built = Array.from({ length: n }, () => httpPoolTree(tenant(), nextVip()));
    const setup = finished();
    await submit(built.flatMap((b) => b.messages));
    await setup.all(3 * n);
    await drained(
      stack,
      built.map((b) => b.ids.loadbalancerId),
    );
    return built;
  };
  const memberCreate = (p: { ids: { tenantId: string; loadbalancerId: string }; poolId: string }) => ({
    ...p.ids,
    resource: 'member',
    operation: 'create',
    object: { id: randomUUID(), pool_id: p.poolId, address: nextMemberAddress(), protocol_port: 80 },
  });

  /** Measures `work` (which submits `requests` requests and waits for them) from a clean count. */
  const measure = async (
    scenario: ScenarioName,
    runNo: number,
    lbs: readonly string[],
    requests: number,
    /** The device's own lower bound for these changes under the model, seconds. */
    bound: number,
    work: () => Promise<{ requestIds: string[]; seconds: number; latency: number[] }>,
  ): Promise<RunResult> => {
    const load = { before: round2(loadavg()[0] ?? 0), after: 0 };
    const rest0 = restCalls();
    const sync0 = syncs();
    counter.reset();
    const startedAt = Date.now();
    const { requestIds, seconds, latency } = await work();
    await drained(stack, lbs);
    const wall = (Date.now() - startedAt) / 1000;
    const { stages, detail } = counter.snapshot();
    load.after = round2(loadavg()[0] ?? 0);
    const per = Object.fromEntries(STAGES.map((s) => [s, perRequest(stages[s], requests)])) as Record<
      Stage,
      StageCost
    >;
    const endToEnd = perRequest(
      addCosts(STAGES.filter((s) => s !== 'background').map((s) => stages[s])),
      requests,
    );
    if (TRACES) traced.push({ model: timing.name, scenario, run: runNo, requests: times.traces(requestIds) });
    return {
      scenario,
      run: runNo,
      requests,
      seconds: round2(seconds),
      deviceLowerBoundSeconds: bound,
      ratioToBound: bound > 0 ? round2(seconds / bound) : null,
      requestsPerSecond: round2(requests / seconds),
      latency: summarize(latency),
      restCalls: restCalls() - rest0,
      configSyncs: syncs() - sync0,
      load,
      perRequest: { ...per, endToEnd },
      backgroundPerSecond: round2(stages.background.calls / wall),
      stageSeconds: summarizeTimes(times.of(requestIds)),
      detail: Object.fromEntries(Object.entries(detail).map(([k, v]) => [k, round2(v / requests)])),
    };
  };

  const out: RunResult[] = [];
  try {
    for (let runNo = 1; runNo <= RUNS; runNo++) {
      if (wanted.has('quiet')) {
        const [pool] = await readyPools(1);
        if (!pool) throw new Error('no pool');
        await sleep(QUIET_PAUSE_MS);
        out.push(
          await measure('quiet', runNo, [pool.ids.loadbalancerId], SAMPLES, lowerBound(1), async () => {
            const latency: number[] = [];
            const ids: string[] = [];
            let seconds = 0;
            for (let i = 0; i < SAMPLES; i++) {
              const done = finished();
              const t = performance.now();
              const [sent] = await submit([memberCreate(pool)]);
              await done.all(1);
              seconds += (performance.now() - t) / 1000;
              latency.push(...done.seconds);
              if (sent) ids.push(sent.requestId);
              await drained(stack, [pool.ids.loadbalancerId]);
              await sleep(QUIET_PAUSE_MS);
            }
            // The time of one create (the mean): the bound is one write and one sync.
            return { requestIds: ids, seconds: seconds / SAMPLES, latency };
          }),
        );
      }
      if (wanted.has('members')) {
        const [pool] = await readyPools(1);
        if (!pool) throw new Error('no pool');
        out.push(
          // The fewest calls: the thousand members in one write of the pool's list, then one sync.
          await measure('members', runNo, [pool.ids.loadbalancerId], N_MEMBERS, lowerBound(1), async () => {
            const done = finished();
            const t = performance.now();
            const sent = await submit(Array.from({ length: N_MEMBERS }, () => memberCreate(pool)));
            await done.all(N_MEMBERS);
            return {
              requestIds: sent.map((s) => s.requestId),
              seconds: (performance.now() - t) / 1000,
              latency: done.seconds,
            };
          }),
        );
      }
      if (wanted.has('tenants')) {
        const pools = await readyPools(N_TENANTS);
        out.push(
          // Each tenant's change is its own write (never shared with another tenant's), one sync for all.
          await measure(
            'tenants',
            runNo,
            pools.map((p) => p.ids.loadbalancerId),
            N_TENANTS,
            lowerBound(N_TENANTS),
            async () => {
              const done = finished();
              const t = performance.now();
              const sent = await submit(pools.map(memberCreate));
              await done.all(N_TENANTS);
              return {
                requestIds: sent.map((s) => s.requestId),
                seconds: (performance.now() - t) / 1000,
                latency: done.seconds,
              };
            },
          ),
        );
      }
      if (wanted.has('sequence')) {
        const { ids, messages } = standardSequence(tenant(), nextVip(), () => nextMemberAddress());
        out.push(
          // Every request changes something: at least one write and its own sync (each is waited for).
          await measure(
            'sequence',
            runNo,
            [],
            messages.length,
            round2((messages.length * (timing.writeMs + timing.syncMs)) / 1000),
            async () => {
              const latency: number[] = [];
              const requestIds: string[] = [];
              const t = performance.now();
              for (const step of messages) {
                const done = finished();
                const [sent] = await submit([step]);
                // As a client waits: until the load balancer's statuses say the request is done.
                await client.wait(ids.loadbalancerId, { requests: sent ? [sent] : [], intervalMs: 50 });
                await done.all(1);
                latency.push(...done.seconds);
                if (sent) requestIds.push(sent.requestId);
              }
              return { requestIds, seconds: (performance.now() - t) / 1000, latency };
            },
          ),
        );
      }
    }
  } finally {
    await stack.stop();
  }
  return out;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

function print(results: RunResult[]) {
  printTable(
    results.map((r) => ({
      scenario: r.scenario,
      run: r.run,
      'load before/after': `${r.load.before}/${r.load.after}`,
      requests: r.requests,
      'time (s)': r.seconds,
      'device bound (s)': r.deviceLowerBoundSeconds,
      '× bound': r.ratioToBound ?? '',
      'requests/s': r.requestsPerSecond,
      'submit→ACTIVE p50/p95 (s)': `${r.latency.p50}/${r.latency.p95}`,
      'AWS calls/request': r.perRequest.endToEnd.calls,
      'REST calls': r.restCalls,
      syncs: r.configSyncs,
    })),
  );
  for (const r of results) {
    console.log(
      `\n${r.scenario}, run ${r.run}: per request (background: ${r.backgroundPerSecond} calls/s)\n`,
    );
    const t = r.stageSeconds;
    const timeOf: Partial<Record<Stage | 'endToEnd', string>> = {
      'request queue': `${t.requestQueue.p50}/${t.requestQueue.p95}`,
      scheduler: `${t.scheduler.p50}/${t.scheduler.p95}`,
      'agent queue': `${t.agentQueue.p50}/${t.agentQueue.p95}`,
      worker: `${t.worker.p50}/${t.worker.p95} + device ${t.device.p50}/${t.device.p95} + sync ${t.configSync.p50}/${t.configSync.p95}`,
      statuses: `${t.statuses.p50}/${t.statuses.p95} + rest of batch ${t.batch.p50}/${t.batch.p95}`,
      endToEnd: `${t.total.p50}/${t.total.p95}`,
    };
    printTable(
      [...STAGES, 'endToEnd' as const].map((s) => {
        const c = r.perRequest[s];
        return {
          stage: s,
          'DDB reads (items)': `${c.dynamodb.reads} (${c.dynamodb.readItems})`,
          'DDB writes': c.dynamodb.writes,
          'DDB transactions (items)': `${c.dynamodb.transactions} (${c.dynamodb.transactionItems})`,
          'SQS sends (msgs)': `${c.sqs.sends} (${c.sqs.sentMessages})`,
          'SQS receives (msgs)': `${c.sqs.receives} (${c.sqs.receivedMessages})`,
          'SQS deletes': c.sqs.deletes,
          'SQS visibility': c.sqs.visibility,
          calls: c.calls,
          'time p50/p95 (s)': timeOf[s] ?? '',
        };
      }),
    );
  }
}

const results: Record<string, RunResult[]> = {};
for (const name of chosen) {
  const timing = TIMING_MODELS[name];
  console.log(`\n## timing model "${name}": ${describeTiming(timing)}\n`);
  results[name] = await run(timing);
  print(results[name]);
}
await services.stop();
if (TRACES) writeFileSync(TRACES, JSON.stringify(traced));
const result: PipelineResult = {
  benchmark: 'pipeline',
  machine: machine(),
  timing: Object.fromEntries(chosen.map((n) => [n, TIMING_MODELS[n]])),
  runs: RUNS,
  quietSamples: SAMPLES,
  applyWaitMs: APPLY_WAIT_MS ?? APPLY_CADENCE.maxWaitMs,
  workerConcurrency: WORKER_CONCURRENCY,
  results,
};
if (OUT || (chosen.length === 2 && wanted.size === SCENARIOS.length)) {
  writeResult(OUT ?? 'pipeline', result);
  writeReport(OUT ?? 'pipeline', result);
}
console.log(JSON.stringify(result));
process.exit(0);
