/**
 * Soak: a rate of LBaaS requests across many tenants and three agents through the local stack,
 * with faults (an agent killed mid-run, 503 storms, token expiry, resets after commit, a device
 * failover, every message delivered twice, DynamoDB throttling). Reports throughput, submit→ACTIVE
 * percentiles, calls per request and cost per million requests; checks nothing is lost or stuck
 * and the devices equal the desired state. Writes bench/results/soak-<form>.json.
 *
 *   npm run soak                                   # long form: 20 req/s for 5 minutes, faults on,
 *                                                  # the reconciler every 30 s removing orphans
 *   npx tsx bench/soak.ts --rate 10 --duration 20  # short form (no reconciler unless asked)
 *   --reconcile-every <s>  run the reconciler that often; --remove-orphans  with orphan removal on
 *   --sync-ms <ms>  config-syncs take that long (instant otherwise): at 200 ms or more busy groups'
 *                   syncs are held and waiting workers take their queues' next messages
 */
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    long: { type: 'boolean', default: false },
    rate: { type: 'string' },
    duration: { type: 'string' },
    tenants: { type: 'string', default: '25' },
    'no-faults': { type: 'boolean', default: false },
    'reconcile-every': { type: 'string' },
    'remove-orphans': { type: 'boolean' },
    'sync-ms': { type: 'string' },
  },
});
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const { runSoak } = await import('./support/soak-run.js');
const { costPerMillion } = await import('./support/cost-model.js');
const { machine, printTable, writeResult } = await import('./support/stats.js');

const rate = Number(values.rate ?? (values.long ? 20 : 10));
const duration = Number(values.duration ?? (values.long ? 300 : 20));
// The long form runs the reconciler with orphan removal on, its interval shortened (15 min in AWS).
const reconcileEvery = Number(values['reconcile-every'] ?? (values.long ? 30 : 0));
const removeOrphans = values['remove-orphans'] ?? values.long;
const report = await runSoak({
  rate,
  durationSeconds: duration,
  tenants: Number(values.tenants),
  faults: !values['no-faults'],
  ...(values['sync-ms'] ? { syncMs: Number(values['sync-ms']) } : {}),
  ...(reconcileEvery > 0
    ? {
        reconcileIntervalMs: reconcileEvery * 1000,
        reconcileOrphans: removeOrphans ? ('remove' as const) : ('report' as const),
      }
    : {}),
  log: (line) => console.error(line),
});
const cost = costPerMillion(report.perRequest);
printTable([
  { measure: 'requests (distinct)', value: report.submitted },
  { measure: 'duplicate deliveries sent', value: report.duplicatesSent },
  { measure: 'throughput (requests/s, submit to settled)', value: report.throughputPerSecond },
  {
    measure: 'submit → ACTIVE p50 / p95 / p99 (ms)',
    value: `${report.latencyMs.p50} / ${report.latencyMs.p95} / ${report.latencyMs.p99}`,
  },
  {
    measure: 'DynamoDB / SQS / BIG-IP calls per request',
    value: `${report.perRequest.dynamodb} / ${report.perRequest.sqs} / ${report.perRequest.bigip}`,
  },
  {
    measure: 'ACTIVE / ERROR / deleted / dead-lettered',
    value: `${report.outcome.active} / ${report.outcome.error} / ${report.outcome.deleted} / ${report.outcome.deadLettered}`,
  },
  { measure: 'lost / stuck PENDING', value: `${report.outcome.lost} / ${report.outcome.stuck}` },
  { measure: 'device configurations differing from desired', value: report.deviceMismatches.length },
  {
    measure: 'the same on the standby unit',
    value: report.standbyMismatches === undefined ? 'no pair' : report.standbyMismatches.length,
  },
  {
    measure: 'reconciler runs (skipped) / repaired / orphans removed / live objects removed',
    value: `${report.reconcile.runs} (${report.reconcile.skipped}) / ${report.reconcile.repaired} / ${report.reconcile.orphansRemoved} / ${report.reconcile.liveObjectsRemoved.length}`,
  },
  { measure: 'messages workers took from their own queues', value: report.takenByWorkers },
  { measure: 'invocations that reached their function timeout', value: report.invocationsPastTimeout },
  { measure: 'cost per million requests (USD, list prices)', value: cost.total.toFixed(2) },
]);
if (Object.keys(report.errorReasons).length) console.log('\nERROR reasons:', report.errorReasons);
if (report.deviceMismatches.length) console.log('\ndevice mismatches:', report.deviceMismatches);
if (report.standbyMismatches?.length) console.log('\nstandby mismatches:', report.standbyMismatches);
if (report.errorsAccounted.length)
  console.log('\nERRORs and dead letters, accounted for:', report.errorsAccounted);
if (report.lostRequests.length) console.log('\nlost:', report.lostRequests);
if (report.stuckObjects.length) console.log('\nstuck:', report.stuckObjects);
if (report.reconcile.liveObjectsRemoved.length)
  console.log('\nlive objects the reconciler removed:', report.reconcile.liveObjectsRemoved);
console.log('\nfaults:', report.faultsInjected.join('; ') || 'none');
console.log('cost model:', cost.assumptions.join(' '));
const form = `${values.long ? 'long' : 'short'}${values['no-faults'] ? '-no-faults' : ''}${values['sync-ms'] ? `-sync-${values['sync-ms']}ms` : ''}`;
const result = {
  benchmark: 'soak',
  form,
  command: `npx tsx bench/soak.ts ${process.argv.slice(2).join(' ')}`.trim(),
  machine: machine(),
  ...report,
  costPerMillionUsd: cost,
};
writeResult(`soak-${form}`, result);
console.log(JSON.stringify(result));
if (
  report.outcome.lost +
    report.outcome.stuck +
    report.deviceMismatches.length +
    (report.standbyMismatches?.length ?? 0) +
    report.reconcile.liveObjectsRemoved.length >
  0
)
  process.exitCode = 1;
