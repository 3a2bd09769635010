/**
 * Bundle benchmark: what Lambda bills and what a request waits for after a scale-out, per function,
 * measured on the bundles `cdk synth` builds (the artifact that deploys):
 *
 *   - size: the handler module, the whole package (what the zip holds: module, source map, copied
 *     files) and its deflated size (about the zip's);
 *   - cold start: process start to handler loaded, and the module's import alone (Lambda's init
 *     phase), over several fresh processes;
 *   - first invocation: time inside the handler of a fresh process's first call, and of the calls
 *     after it, on the scenario of the bundles suite (a TERMINATED_HTTPS tree from the request queue
 *     through the scheduler and a worker, a heartbeat, a reclaimer sweep, a status poll, a reconcile).
 *
 * One beat, sweep and poll per invocation (heartbeat interval 60 s), so an invocation's time is its
 * work, not the sleep between rounds. The bundles run under LBAAS_LAMBDA_NODE when set (Lambda's
 * Node major version), else the Node running this. Prints a table and, last, a JSON line; writes
 * bench/results/bundles.json and bench/results/bundles.md. Never fails on time.
 *
 *   npm run bench:bundles
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { type BundleWorld, importSiteCertificate, prepareBundles } from '../test/support/bundle-fixture.js';
import { type BundleProcess, startBundle } from '../test/support/bundle-host.js';
import type { TemplateFunction } from '../test/support/cloud-assembly.js';
import { lbIds, requests } from '../test/support/factories.js';
import { drainQueue, scheduledEvent } from '../test/support/lambda-events.js';
import { startBenchServices } from './support/local-services.js';
import { machine, printTable, summarize, writeResult } from './support/stats.js';

const COLD_STARTS = Number(process.env.BENCH_COLD_STARTS ?? 5);
// Other work on the machine slows cold starts: the load average is recorded beside the figures.
const loadBefore = loadavg()[0] as number;
const services = await startBenchServices();
const scratch = mkdtempSync(join(tmpdir(), 'lbaas-bench-bundles-'));
const world: BundleWorld = await prepareBundles({
  outdir: scratch,
  dynamodbEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB as string,
  sqsEndpoint: process.env.AWS_ENDPOINT_URL_SQS as string,
  change: (config) => {
    for (const e of config.environments as Record<string, unknown>[]) {
      e.heartbeatIntervalSeconds = 60;
      e.agentDownTimeSeconds = 150;
    }
  },
});
const { deployment } = world;
const round = (n: number) => Math.round(n * 10) / 10;

/** Module, package and deflated package bytes of a function's asset directory. */
function sizes(fn: TemplateFunction) {
  const files = readdirSync(fn.assetDir).map((f) => join(fn.assetDir, f));
  const module = files.find((f) => /\/index\.m?js$/.test(f)) as string;
  return {
    moduleBytes: statSync(module).size,
    packageBytes: files.reduce((sum, f) => sum + statSync(f).size, 0),
    deflatedBytes: files.reduce((sum, f) => sum + deflateRawSync(readFileSync(f), { level: 6 }).length, 0),
    files: files.map((f) => f.slice(fn.assetDir.length + 1)).sort(),
  };
}

const start = (fn: TemplateFunction) =>
  startBundle({
    name: `${fn.stack}/${fn.logicalId}`,
    assetDir: fn.assetDir,
    env: deployment.environmentOf(fn),
    timeoutSeconds: fn.timeoutSeconds,
    functionArn: deployment.functionArn(fn),
    node: world.node.path,
  });

// One function per environment and entry point (agents share their bundle and differ only in names).
const kinds = world.environments.flatMap((e) =>
  [...new Map(e.functions.map((fn) => [fn.service, fn])).values()].map((fn) => ({ env: e.prefix, fn })),
);

const cold = new Map<TemplateFunction, { readyMs: number[]; loadMs: number[] }>();
for (const { fn } of kinds) {
  const samples = { readyMs: [] as number[], loadMs: [] as number[] };
  for (let i = 0; i < COLD_STARTS; i++) {
    const bundle = await start(fn);
    samples.readyMs.push(bundle.readyMs);
    samples.loadMs.push(bundle.loadMs);
    await bundle.stop();
  }
  cold.set(fn, samples);
}

/** The bundles suite's scenario on fresh processes, so each function's first invocation is its first. */
async function scenario(envPrefix: string): Promise<Map<TemplateFunction, BundleProcess>> {
  const env = world.environments.find((e) => e.prefix === envPrefix);
  if (!env) throw new Error(`no environment ${envPrefix}`);
  const running = new Map<TemplateFunction, BundleProcess>();
  for (const fn of env.functions) running.set(fn, await start(fn));
  const of = (service: string) => env.functions.filter((f) => f.service === service);
  const scheduled = (fn: TemplateFunction) => {
    const trigger = deployment.triggersOf(fn).find((t) => t.kind === 'schedule');
    if (trigger?.kind !== 'schedule') throw new Error(`${fn.logicalId}: no schedule`);
    return (running.get(fn) as BundleProcess).invoke(scheduledEvent(deployment, trigger));
  };
  await Promise.all(of('heartbeat').map(scheduled));

  const ids = lbIds();
  const ref = `lbaas/${env.prefix}/${ids.tenantId}/www`;
  await importSiteCertificate(deployment, ref);
  const pool = requests.createPool(ids);
  const poolId = pool.object.id as string;
  const [scheduler] = of('scheduler') as [TemplateFunction];
  const trigger = deployment.triggersOf(scheduler).find((t) => t.kind === 'sqs') as { queue: string };
  const queue = deployment.queue(env.stack, trigger.queue);
  for (const m of [
    requests.createLoadbalancer(ids),
    pool,
    requests.createMember(ids, poolId),
    requests.createHealthMonitor(ids, poolId),
    requests.createListener(ids, {
      protocol: 'TERMINATED_HTTPS',
      protocol_port: 443,
      default_pool_id: poolId,
      default_tls_container_ref: ref,
    }),
  ]) {
    await services.sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: JSON.stringify(m),
        MessageGroupId: m.loadbalancerId,
        MessageDeduplicationId: `${m.tenantId}-${m.requestId}`,
      }),
    );
  }
  await drainQueue(deployment, scheduler, running.get(scheduler) as BundleProcess);
  for (const worker of of('agent-worker'))
    await drainQueue(deployment, worker, running.get(worker) as BundleProcess);
  for (const service of ['reclaimer', 'health-poller', 'reconciler']) {
    for (const fn of of(service)) await scheduled(fn);
  }
  return running;
}

const rows: Record<string, string | number>[] = [];
const results: Record<string, unknown>[] = [];
for (const e of world.environments) {
  const running = await scenario(e.prefix);
  for (const { fn } of kinds.filter((k) => k.env === e.prefix)) {
    // The agent that ran the work, for the worker (the others got nothing).
    const same = [...running.entries()].filter(([f]) => f.service === fn.service && f.stack === fn.stack);
    const [, bundle] =
      same.find(([, b]) => b.durations.length > 0) ?? (same[0] as [TemplateFunction, BundleProcess]);
    const size = sizes(fn);
    const samples = cold.get(fn) as { readyMs: number[]; loadMs: number[] };
    const ready = summarize(samples.readyMs);
    const load = summarize(samples.loadMs);
    const [first, ...rest] = bundle.durations;
    const warm = rest.length > 0 ? summarize(rest).p50 : undefined;
    results.push({
      environment: e.prefix,
      function: fn.service,
      memoryMb: fn.memoryMb,
      ...size,
      coldStart: { processToReadyMs: ready, moduleLoadMs: load },
      firstInvocationMs: first === undefined ? null : round(first),
      laterInvocationsMs: rest.map(round),
    });
    rows.push({
      environment: e.prefix,
      function: fn.service,
      'module (KiB)': Math.round(size.moduleBytes / 1024),
      'package (KiB)': Math.round(size.packageBytes / 1024),
      'deflated (KiB)': Math.round(size.deflatedBytes / 1024),
      'process → ready p50 (ms)': ready.p50,
      'module load p50 / max (ms)': `${load.p50} / ${load.max}`,
      'first invocation (ms)': first === undefined ? '–' : round(first),
      'later p50 (ms)': warm === undefined ? '–' : `${warm} (${rest.length})`,
    });
  }
  await Promise.all([...running.values()].map((b) => b.stop()));
}

console.log(
  `\nBundles of cdk synth (${round(world.synthMs / 1000)} s), run under Node ${world.node.version}, ${COLD_STARTS} cold starts each\n`,
);
printTable(rows);
const result = {
  benchmark: 'bundles',
  machine: machine(),
  lambdaNode: world.node.version,
  loadAverage: { before: round(loadBefore), after: round(loadavg()[0] as number) },
  synthSeconds: round(world.synthMs / 1000),
  coldStarts: COLD_STARTS,
  results,
};
writeResult('bundles', result);
writeFigures(rows, result);
await world.close();
await services.stop();
rmSync(scratch, { recursive: true, force: true });
console.log(JSON.stringify(result));
process.exit(0);

/** The figures as a page beside the JSON, so nobody copies them by hand. */
function writeFigures(table: Record<string, string | number>[], r: typeof result) {
  const headers = Object.keys(table[0] ?? {});
  const lines = [
    '# Bundle sizes and cold starts (`npm run bench:bundles`)',
    '',
    `Written by \`bench/bundles.bench.ts\` on ${r.machine.date.slice(0, 10)}: ${r.machine.cpus} vCPU ${r.machine.cpuModel}, load average`,
    `${r.loadAverage.before} before and ${r.loadAverage.after} after (other work on the machine slows cold starts); bundles`,
    `run under Node ${r.lambdaNode} (Lambda runs Node 24 on ARM64; see docs/testing.md); ${r.coldStarts} cold starts per`,
    `function; cdk synth ${r.synthSeconds} s. Raw figures: \`bundles.json\`.`,
    '',
    '"process → ready": a fresh process until the handler is loaded; "module load": the import alone',
    '(Lambda\'s init phase); "first invocation": time in the handler of a fresh process\'s first call in',
    'the bundles suite\'s scenario; "later": the calls after it, and how many. The package is what the',
    'zip holds (module, source map, copied files); "deflated" is about the zip\'s size.',
    '',
    `| ${headers.join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...table.map((row) => `| ${headers.map((h) => String(row[h])).join(' | ')} |`),
    '',
  ];
  writeFileSync(join(import.meta.dirname, 'results', 'bundles.md'), lines.join('\n'));
}
