/**
 * Reconcile benchmark: what the reconciler costs, against the local stack's simulated HA pair,
 * under both timing models (device-facts.md §6), for 100 load balancers × 10 members:
 *
 *   1. verifying an unchanged environment (target: reads only, no device write, no DynamoDB write,
 *      calls independent of the members except per pool);
 *   2. restoring everything onto a replaced, empty active unit (and syncing the peer).
 *
 * Side by side, computed from the scenario alone: F5's agent's full re-apply, ≈ 19 + N calls per
 * load balancer per device (upstream-agent.md §5.4), with its time as those calls one after the other at
 * the model's GET time (a lower bound: its writes take longer). Prints tables and, as its last
 * line, a JSON object. Never fails on time.
 *
 *   npm run bench:reconcile
 */
import { randomUUID } from 'node:crypto';
import { StaticCredentials } from '../functions/adapters/device-credentials.js';
import type { ReconcileReport } from '../functions/services/reconciler.js';
import { wireReconciler } from '../functions/wiring/reconciler-wiring.js';
import { describeTiming, TIMING_MODELS } from '../local/bigip-simulator/timing-model.js';
import { startLocalStack } from '../local/local-stack.js';
import { buildFleet } from './support/fleet.js';
import { startBenchServices } from './support/local-services.js';
import { machine, printTable, writeResult } from './support/stats.js';

const LBS = 100;
const MEMBERS = 10;
const services = await startBenchServices();
const WRITES = /\.(PutItem|UpdateItem|DeleteItem|BatchWriteItem|TransactWriteItems)$/;

const results = [];
for (const model of ['zero', 'real'] as const) {
  const stack = await startLocalStack({
    services: {
      dynamodbEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB as string,
      sqsEndpoint: process.env.AWS_ENDPOINT_URL_SQS as string,
    },
    namePrefix: `rc${randomUUID().slice(0, 6)}`,
    stateFile: false,
    dataPlane: false,
    healthIntervalMs: 2 ** 30,
    workerConcurrency: 5,
  });
  await buildFleet(stack, LBS, MEMBERS);
  const timing = TIMING_MODELS[model];
  for (const d of stack.devices) d.timing = timing;

  const calls: { method: string; path: string }[] = [];
  const { reconciler, cluster } = wireReconciler(
    {
      env: stack.env,
      tables: stack.tables,
      drift: 'repair',
      orphans: 'report',
      leaseMs: 60_000,
      ...stack.deviceAccess,
      restTimeoutMs: 60_000,
    },
    { dynamodb: services.dynamodb },
    {
      credentials: new StaticCredentials({ username: 'admin', password: 'admin' }),
      onCall: (c) => calls.push({ method: c.method, path: c.path }),
    },
  );
  const measure = async (run: () => Promise<ReconcileReport>) => {
    calls.length = 0;
    services.counter.reset();
    const syncsBefore = stack.pair?.active.sync ? countSyncs(stack) : 0;
    const started = performance.now();
    const report = await run();
    const seconds = Math.round(performance.now() - started) / 1000;
    if (report.outcome !== 'done')
      throw new Error(`run ${report.outcome}: ${'reason' in report ? report.reason : ''}`);
    const ddb = Object.entries(services.counter.snapshot());
    return {
      seconds,
      restCalls: calls.length,
      restReads: calls.filter((c) => c.method === 'GET').length,
      restWrites: calls.filter((c) => c.method !== 'GET' && !c.path.includes('/authn/')).length,
      dynamodbWrites: ddb.filter(([k]) => WRITES.test(k)).reduce((n, [, v]) => n + v, 0),
      configSyncs: countSyncs(stack) - syncsBefore,
      outcomes: Object.fromEntries(
        ['in-sync', 'repaired', 'restored', 'failed', 'skipped'].map((o) => [
          o,
          report.loadbalancers.filter((l) => l.outcome === o).length,
        ]),
      ),
    };
  };

  await cluster.close(); // cold: the login belongs to the run
  const verify = await measure(() => reconciler.run({ dryRun: false, orphans: 'report' }));
  const before = stack.pair?.active.dump();
  (stack.pair?.active ?? stack.devices[0])?.replaceWithEmptyUnit();
  const restore = await measure(() => reconciler.run({ dryRun: false, orphans: 'report' }));
  const same = JSON.stringify(sortedDump(stack.pair?.active.dump())) === JSON.stringify(sortedDump(before));
  await cluster.close();
  await stack.stop();

  const upstreamPerDevice = LBS * (19 + MEMBERS);
  results.push({
    timing: model,
    loadbalancers: LBS,
    members: LBS * MEMBERS,
    verify,
    restore: { ...restore, configurationRestoredExactly: same },
    upstreamCallsPerDevice: upstreamPerDevice,
    upstreamCallsBothUnits: upstreamPerDevice * 2,
    upstreamSecondsLowerBound: (upstreamPerDevice * 2 * timing.readMs) / 1000,
  });
}

function countSyncs(stack: Awaited<ReturnType<typeof startLocalStack>>): number {
  return stack.devices.reduce(
    (n, d) => n + d.calls.filter((c) => c.method === 'POST' && c.path === '/mgmt/tm/cm').length,
    0,
  );
}

function sortedDump(dump: Record<string, unknown[]> | undefined) {
  if (!dump) return undefined;
  const canon = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canon)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([k, x]) => [k, canon(x)]),
          )
        : v;
  return Object.fromEntries(
    Object.entries(dump).map(([k, v]) => [k, v.map((o) => JSON.stringify(canon(o))).sort()]),
  );
}

console.log(`\nTiming model "real": ${describeTiming(TIMING_MODELS.real)}\n`);
printTable(
  results.flatMap((r) => [
    {
      run: `verify, unchanged (${r.loadbalancers} × ${r.members / r.loadbalancers})`,
      timing: r.timing,
      seconds: r.verify.seconds,
      'REST calls (reads / writes)': `${r.verify.restCalls} (${r.verify.restReads} / ${r.verify.restWrites})`,
      'config-syncs': r.verify.configSyncs,
      'DynamoDB writes': r.verify.dynamodbWrites,
      result: `${r.verify.outcomes['in-sync']} in sync`,
      'upstream re-apply calls (s ≥)': `${r.upstreamCallsBothUnits} (${r.upstreamSecondsLowerBound})`,
    },
    {
      run: 'restore onto an empty active unit',
      timing: r.timing,
      seconds: r.restore.seconds,
      'REST calls (reads / writes)': `${r.restore.restCalls} (${r.restore.restReads} / ${r.restore.restWrites})`,
      'config-syncs': r.restore.configSyncs,
      'DynamoDB writes': r.restore.dynamodbWrites,
      result: `${r.restore.outcomes.restored} restored${r.restore.configurationRestoredExactly ? ', identical' : ', DIFFERENT'}`,
      'upstream re-apply calls (s ≥)': `${r.upstreamCallsBothUnits} (${r.upstreamSecondsLowerBound})`,
    },
  ]),
);
await services.stop();
const result = { benchmark: 'reconcile', machine: machine(), timing: TIMING_MODELS, results };
writeResult('reconcile', result);
console.log(JSON.stringify(result));
process.exit(0);
