/**
 * Device benchmark: the whole local stack (scheduler, three agents with five worker invocations
 * each as in AWS, an HA pair with config-sync) against simulated devices that take as long as the
 * timing model says (device-facts.md §6), side by side with 0 ms:
 *
 *   1. 1,000 members added one request each to one pool: time to all ACTIVE, REST calls;
 *   2. the same 1,000 as one batch member update;
 *   3. 100 tenants making one change each at once: submit → ACTIVE percentiles, config-syncs;
 *   4. the standard sequence of bench:bigip, one request at a time, each waited for;
 *   5. a load balancer of 1,000 members deleted (its cascade delete frees a node per member);
 *   6. one tenant's fifty load balancers (three requests each) at once, all under its one partition.
 *
 * Next to each measured time: the device's own lower bound under the model (the serial write and
 * sync time the changes need at the fewest calls), computed from the scenario, not from our plans.
 * Prints tables and, as its last line, a JSON object. Never fails on time.
 *
 *   npm run bench:device                   # both timing models
 *   npm run bench:device -- --timing real  # one (zero | real)
 *   npm run bench:device -- --timing real --scenario tenants   # some (members,batch,tenants,sequence,teardown,one-tenant)
 *   npm run bench:device -- --scenario teardown --out device-teardown   # bench/results/device-teardown.json
 */
import { randomUUID } from 'node:crypto';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { isPending } from '../functions/domain/resource-state.js';
import { type MetricEvent, metricEvents } from '../functions/shared/telemetry.js';
import { describeTiming, TIMING_MODELS, type TimingModel } from '../local/bigip-simulator/timing-model.js';
import { type LocalStack, startLocalStack } from '../local/local-stack.js';
import { deviceLowerBoundSeconds, writeSlotSeconds } from './support/device-bound.js';
import { benchTenant, httpPoolTree, standardSequence, vipSequence } from './support/load-balancer-trees.js';
import { startBenchServices } from './support/local-services.js';
import { machine, printTable, summarize, writeResult } from './support/stats.js';
import { chosenTimings } from './support/timing-args.js';

const chosen = chosenTimings();
const SCENARIOS = ['members', 'batch', 'tenants', 'sequence', 'teardown', 'one-tenant'] as const;
const scenarioArg = process.argv.indexOf('--scenario');
const wanted = new Set(scenarioArg >= 0 ? (process.argv[scenarioArg + 1] ?? '').split(',') : SCENARIOS);
for (const w of wanted)
  if (!SCENARIOS.includes(w as (typeof SCENARIOS)[number]))
    throw new Error(`unknown scenario ${w}: one of ${SCENARIOS.join(', ')}`);
const outArg = process.argv.indexOf('--out');
/** Where the results go (`bench/results/<name>.json`); without it, only a run of every scenario and model writes `device.json`. */
const OUT = outArg >= 0 ? process.argv[outArg + 1] : undefined;
const waitArg = process.argv.indexOf('--apply-wait-ms');
/** The most an apply waits for a burst still being recorded (apply-cadence.ts); 0 turns it off, for an A/B in one build. */
const APPLY_WAIT_MS = waitArg >= 0 ? Number(process.argv[waitArg + 1]) : undefined;
if (APPLY_WAIT_MS !== undefined && !(APPLY_WAIT_MS >= 0))
  throw new Error('--apply-wait-ms: a number of milliseconds, 0 or more');
const services = await startBenchServices();
const N_MEMBERS = 1_000;
const N_TENANTS = 100;
const N_TENANT_LBS = 50;

const tenant = benchTenant;
const nextVip = vipSequence();
const memberAddress = (i: number) =>
  `10.${50 + Math.floor(i / 62_500)}.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`;

interface Scenario {
  scenario: string;
  requests: number;
  seconds: number;
  /** The device's lower bound under the model for these changes (writes at the fewest calls, then one sync). */
  deviceLowerBoundSeconds: number;
  restCalls: number;
  configSyncs: number;
  overlappingSyncs: number;
  /** How long the busiest unit's one write slot was busy with these changes under the model (what they cost the device). */
  writeSlotSeconds: number;
  /** Worker deliveries that ended in a retry (a lease held, a change cut at its invocation's sending time, a transient error). */
  retries: number;
  /** Invocations that returned after their function timeout: Lambda would have stopped each (local-stack.ts `overruns`). */
  overruns: number;
  latency?: ReturnType<typeof summarize>;
}

/** Submit → ACTIVE of each request the agents finished since it started (the worker's TimeToActive). */
function finished() {
  const seconds: number[] = [];
  const started = Date.now();
  // A request submitted before this point (a retried setup message) is not one of ours.
  const listen = (m: MetricEvent) => {
    if (m.name === 'TimeToActive' && m.value <= Date.now() - started + 50) seconds.push(m.value / 1000);
  };
  metricEvents.on('metric', listen);
  return {
    seconds,
    /** Resolves once `n` requests were finished: every message consumed, not only every status written. */
    async all(n: number) {
      const deadline = Date.now() + 15 * 60_000;
      while (seconds.length < n) {
        if (Date.now() > deadline) throw new Error(`only ${seconds.length} of ${n} requests finished`);
        await new Promise((r) => setTimeout(r, 100));
      }
      metricEvents.off('metric', listen);
    },
  };
}

/** What the agents and devices did between two points. */
function meter(stack: LocalStack, timing: TimingModel) {
  const calls = () => stack.agents.reduce((n, a) => n + a.calls.length, 0);
  const syncs = () => stack.devices.reduce((n, d) => n + d.sync.requested, 0);
  const overlaps = () => stack.devices.reduce((n, d) => n + d.sync.overlapping, 0);
  const deviceCalls = stack.devices.map((d) => d.calls.length);
  let retries = 0;
  metricEvents.on('metric', (m: MetricEvent) => {
    if (m.name === 'Applies' && ['retry', 'out-of-time'].includes(m.dimensions.Outcome ?? ''))
      retries += m.value;
  });
  const start = {
    calls: calls(),
    syncs: syncs(),
    overlaps: overlaps(),
    overruns: stack.overruns,
    at: performance.now(),
  };
  return () => ({
    seconds: Math.round((performance.now() - start.at) / 10) / 100,
    restCalls: calls() - start.calls,
    configSyncs: syncs() - start.syncs,
    overlappingSyncs: overlaps() - start.overlaps,
    // The busiest unit's write slot (the active one: the other gets only its own self IPs).
    writeSlotSeconds: Math.max(
      ...stack.devices.map((d, i) => writeSlotSeconds(timing, d.calls.slice(deviceCalls[i]))),
    ),
    retries,
    overruns: stack.overruns - start.overruns,
  });
}

/** Waits until every record of the load balancers is settled (and, if given, there are `count` of `type`). */
async function settled(stack: LocalStack, lbs: readonly string[], expect?: { type: string; count: number }) {
  const deadline = Date.now() + 15 * 60_000;
  for (const lb of lbs) {
    for (;;) {
      const records = await stack.client.records(lb);
      const enough = !expect || records.filter((r) => r.type === expect.type).length === expect.count;
      if (enough && records.length > 0 && !records.some((r) => isPending(r.provisioningStatus))) {
        const errors = records.filter((r) => r.provisioningStatus === 'ERROR');
        if (errors.length > 0)
          throw new Error(`${errors.length} objects in ERROR: ${errors[0]?.statusReason}`);
        break;
      }
      if (Date.now() > deadline) throw new Error(`load balancer ${lb} did not settle`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/**
 * Waits until no agent queue holds a message, visible or in flight: every invocation has returned
 * (the local event source deletes a batch only after its handler returned and was timed).
 */
async function queuesDrained(stack: LocalStack) {
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    let left = 0;
    for (const queue of Object.values(stack.agentQueues)) {
      const out = await stack.clients.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queue.url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      left +=
        Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
        Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
    }
    if (left === 0) return;
    if (Date.now() > deadline) throw new Error(`${left} messages still in the agent queues`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** One request that puts N_MEMBERS members on a pool (addresses from the `first`-th on). */
function memberBatch(ids: { tenantId: string; loadbalancerId: string }, poolId: string, first: number) {
  return {
    ...ids,
    resource: 'member',
    operation: 'batch_update',
    object: {
      pool_id: poolId,
      members: Array.from({ length: N_MEMBERS }, (_, i) => ({
        id: randomUUID(),
        address: memberAddress(first + i),
        protocol_port: 80,
      })),
    },
  };
}

/** Waits until a deleted load balancer has no record left (an object in ERROR fails the run). */
async function gone(stack: LocalStack, lb: string) {
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    const records = await stack.client.records(lb);
    if (records.length === 0) return;
    const errors = records.filter((r) => r.provisioningStatus === 'ERROR');
    if (errors.length > 0) throw new Error(`${errors.length} objects in ERROR: ${errors[0]?.statusReason}`);
    if (Date.now() > deadline) throw new Error(`load balancer ${lb} was not deleted`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function pick<T extends object, K extends keyof T>(o: T, ...keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, o[k]])) as Pick<T, K>;
}

async function run(timing: TimingModel): Promise<Scenario[]> {
  const stack = await startLocalStack({
    services: {
      dynamodbEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB as string,
      sqsEndpoint: process.env.AWS_ENDPOINT_URL_SQS as string,
    },
    namePrefix: `dev${randomUUID().slice(0, 6)}`,
    stateFile: false,
    timing,
    workerConcurrency: 5,
    ...(APPLY_WAIT_MS !== undefined ? { applyWaitMs: APPLY_WAIT_MS } : {}),
  });
  const { client } = stack;
  const lowerBound = (writes: number) => deviceLowerBoundSeconds(timing, writes);
  const out: Scenario[] = [];
  try {
    const loadBalancerWithPool = async () => {
      const { ids, poolId, messages } = httpPoolTree(tenant(), nextVip());
      await client.submitMany(messages);
      return { ids, poolId };
    };

    /** A load balancer with a pool, built and every message of it consumed, before a scenario starts. */
    const readyPool = async () => {
      const setup = finished();
      const built = await loadBalancerWithPool();
      await setup.all(3);
      await settled(stack, [built.ids.loadbalancerId]);
      return built;
    };

    // 1. A thousand members, one request each.
    if (wanted.has('members')) {
      const { ids, poolId } = await readyPool();
      const done = meter(stack, timing);
      const requests = finished();
      await client.submitMany(
        Array.from({ length: N_MEMBERS }, (_, i) => ({
          ...ids,
          resource: 'member',
          operation: 'create',
          object: { id: randomUUID(), pool_id: poolId, address: memberAddress(i), protocol_port: 80 },
        })),
      );
      await settled(stack, [ids.loadbalancerId], { type: 'member', count: N_MEMBERS });
      const active = done();
      await requests.all(N_MEMBERS);
      // The fewest calls: the thousand members in one write of the pool's list, then one sync.
      out.push({
        scenario: `${N_MEMBERS} members, one request each`,
        requests: N_MEMBERS,
        ...active,
        // Calls and syncs until the last message was consumed.
        ...pick(
          done(),
          'restCalls',
          'configSyncs',
          'overlappingSyncs',
          'writeSlotSeconds',
          'retries',
          'overruns',
        ),
        deviceLowerBoundSeconds: lowerBound(1),
        latency: summarize(requests.seconds),
      });
    }

    // 2. The same thousand as one batch.
    if (wanted.has('batch')) {
      const { ids, poolId } = await readyPool();
      const done = meter(stack, timing);
      const requests = finished();
      await client.submitMany([memberBatch(ids, poolId, 0)]);
      // The worker's own report first (in-process, no read): polling the 1,000-member tree every
      // 200 ms read about 1 MB a poll from the DynamoDB Local the system under test shares. Then
      // the records are read to check every member is ACTIVE, and the time is taken after that.
      await requests.all(1);
      await settled(stack, [ids.loadbalancerId], { type: 'member', count: N_MEMBERS });
      out.push({
        scenario: `${N_MEMBERS} members, one batch`,
        requests: 1,
        ...done(),
        deviceLowerBoundSeconds: lowerBound(1),
      });
    }

    // 3. A hundred tenants, one change each, at once.
    if (wanted.has('tenants')) {
      const setup = finished();
      const setups = [];
      for (let i = 0; i < N_TENANTS; i++) setups.push(await loadBalancerWithPool());
      // Every setup message consumed (not only every status written), so none is left to count below.
      await setup.all(3 * N_TENANTS);
      await settled(
        stack,
        setups.map((s) => s.ids.loadbalancerId),
      );
      const done = meter(stack, timing);
      const requests = finished();
      await client.submitMany(
        setups.map((s, i) => ({
          ...s.ids,
          resource: 'member',
          operation: 'create',
          object: {
            id: randomUUID(),
            pool_id: s.poolId,
            address: memberAddress(5_000 + i),
            protocol_port: 80,
          },
        })),
      );
      await settled(
        stack,
        setups.map((s) => s.ids.loadbalancerId),
        { type: 'member', count: 1 },
      );
      await requests.all(N_TENANTS);
      // Each tenant's change is its own write (a partition's change never rides with another
      // tenant's, so one refusal cannot fail the others), and one sync can cover them all.
      out.push({
        scenario: `${N_TENANTS} tenants, one change each at once`,
        requests: N_TENANTS,
        ...done(),
        deviceLowerBoundSeconds: lowerBound(N_TENANTS),
        latency: summarize(requests.seconds),
      });
    }

    // 4. The standard sequence of bench:bigip, each request waited for.
    if (wanted.has('sequence')) {
      const { ids, messages: steps } = standardSequence(tenant(), nextVip(), (i) => memberAddress(9_000 + i));
      const done = meter(stack, timing);
      for (const step of steps) {
        const [submitted] = await client.submitMany([step]);
        await client.wait(ids.loadbalancerId, {
          requests: submitted ? [submitted] : [],
          intervalMs: 50,
        });
      }
      // Every request changes something: at least one write and its own sync (each is waited for).
      out.push({
        scenario: 'standard sequence, one request at a time',
        requests: steps.length,
        ...done(),
        deviceLowerBoundSeconds: deviceLowerBoundSeconds(timing, steps.length, steps.length),
      });
    }

    // 5. A load balancer of a thousand members deleted: the virtual server, its address, the pool,
    // the folder, and a node per member address, which the device made and nothing else uses.
    if (wanted.has('teardown')) {
      const { ids, poolId } = await readyPool();
      const setup = finished();
      await client.submitMany([memberBatch(ids, poolId, 20_000)]);
      await setup.all(1);
      await settled(stack, [ids.loadbalancerId], { type: 'member', count: N_MEMBERS });
      const done = meter(stack, timing);
      await client.submitMany([
        { ...ids, resource: 'loadbalancer', operation: 'delete', object: { id: ids.loadbalancerId } },
      ]);
      await gone(stack, ids.loadbalancerId);
      const deleted = done();
      // Every attempt's invocation returned (a cut one's retry is already in the time above).
      await queuesDrained(stack);
      // The fewest calls: every delete in one transaction (a node per member and the four objects
      // above), then one sync.
      const commands = N_MEMBERS + 4;
      out.push({
        scenario: `a load balancer of ${N_MEMBERS} members deleted`,
        requests: 1,
        ...deleted,
        ...pick(done(), 'retries', 'overruns'),
        deviceLowerBoundSeconds:
          Math.round((timing.commitBaseMs + timing.commitPerCommandMs * commands + timing.syncMs) / 10) / 100,
      });
    }

    // 6. One tenant's load balancers at once: one partition, so one writer at a time.
    if (wanted.has('one-tenant')) {
      const tenantId = tenant();
      const built = Array.from({ length: N_TENANT_LBS }, () => httpPoolTree(tenantId, nextVip()));
      const done = meter(stack, timing);
      const requests = finished();
      await client.submitMany(built.flatMap((b) => b.messages));
      await requests.all(3 * N_TENANT_LBS);
      await settled(
        stack,
        built.map((b) => b.ids.loadbalancerId),
      );
      // Each load balancer's change is its own write (one refusal cannot fail another), one sync for all.
      out.push({
        scenario: `one tenant's ${N_TENANT_LBS} load balancers at once`,
        requests: 3 * N_TENANT_LBS,
        ...done(),
        deviceLowerBoundSeconds: lowerBound(N_TENANT_LBS),
        latency: summarize(requests.seconds),
      });
    }
  } finally {
    await stack.stop();
  }
  return out;
}

const results: Record<string, Scenario[]> = {};
for (const name of chosen) {
  const timing = TIMING_MODELS[name];
  console.log(`\n## timing model "${name}": ${describeTiming(timing)}\n`);
  results[name] = await run(timing);
  printTable(
    results[name].map((s) => ({
      scenario: s.scenario,
      requests: s.requests,
      'to all ACTIVE (s)': s.seconds,
      'device lower bound (s)': s.deviceLowerBoundSeconds,
      'write slot busy (s)': s.writeSlotSeconds,
      'REST calls': s.restCalls,
      'config-syncs': s.configSyncs,
      'overlapping syncs': s.overlappingSyncs,
      'retried deliveries': s.retries,
      'past the function timeout': s.overruns,
      'p50/p95/p99 (s)': s.latency ? `${s.latency.p50}/${s.latency.p95}/${s.latency.p99}` : '',
    })),
  );
}
await services.stop();
// F5's upstream agent, adding N members one by one to one pool (upstream-agent.md §5.4): calls per device.
const upstream = 45 + 17 * N_MEMBERS + (N_MEMBERS * (N_MEMBERS + 1)) / 2;
console.log(
  `\nUpstream agent, ${N_MEMBERS} members one by one: 45 + 17N + N(N+1)/2 = ${upstream} calls per device.`,
);
const result = {
  benchmark: 'device',
  machine: machine(),
  timing: Object.fromEntries(chosen.map((n) => [n, TIMING_MODELS[n]])),
  upstreamCallsPerDevice: upstream,
  ...(APPLY_WAIT_MS !== undefined ? { applyWaitMs: APPLY_WAIT_MS } : {}),
  results,
};
if (OUT || (chosen.length === 2 && wanted.size === SCENARIOS.length)) writeResult(OUT ?? 'device', result);
console.log(JSON.stringify(result));
process.exit(0);
