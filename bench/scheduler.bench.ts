/**
 * Scheduler benchmark: decisions per second and DynamoDB calls per request, for a bound load
 * balancer and for a new one, with 100, 10,000 and 100,000 existing bindings, against AWS's
 * DynamoDB Local and fauxqs. Prints a table and, as its last line, a JSON object. Never fails on time.
 *
 * Each size runs with one device group of three agents; the sizes in --grouped-sizes (default
 * 100,000) run again with ten device groups of three agents each (capacity limits set, so every new
 * load balancer's bind also checks its group's count): the calls per decision must not change.
 *
 *   npm run bench:scheduler                      # sizes 100, 10000, 100000; 10 groups at 100000
 *   npm run bench:scheduler -- --sizes 100,1000 --grouped-sizes 1000  # quicker
 */
import { randomUUID } from 'node:crypto';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../functions/adapters/aws-clients.js';
import { agentKey, tenantKey } from '../functions/adapters/dynamodb-binding-store.js';
import { type LbaasRequest, parseRequest } from '../functions/domain/lbaas-request.js';
import { newResourceRecord, resourceKey } from '../functions/domain/resource-state.js';
import { tableNames } from '../functions/shared/table-schema.js';
import { wireScheduler } from '../functions/wiring/scheduler-wiring.js';
import { createFifoQueue, createTables } from '../local/provision.js';
import { runConcurrently, startBenchServices } from './support/local-services.js';
import { machine, printTable, summarize, writeResult } from './support/stats.js';

const ENV = 'Bench';
const AGENTS_PER_GROUP = 3;
const LBS_PER_TENANT = 4;
const SAMPLE = Number(argument('--sample') ?? 400);
const CONCURRENCY = Number(argument('--concurrency') ?? 8);
const sizes = (argument('--sizes') ?? '100,10000,100000').split(',').map(Number);
const groupedSizes = (argument('--grouped-sizes') ?? '100000').split(',').filter(Boolean).map(Number);
const layouts = [
  ...sizes.map((size) => ({ size, groups: 1 })),
  ...groupedSizes.map((size) => ({ size, groups: 10 })),
];

/** Group names and their agents: `default` with agent-1..3, or g01..g10 with g01-agent-1.. each. */
function layoutOf(groups: number) {
  const names =
    groups === 1
      ? ['default']
      : Array.from({ length: groups }, (_, g) => `g${String(g + 1).padStart(2, '0')}`);
  return names.map((name) => ({
    name,
    hosts: Array.from({ length: AGENTS_PER_GROUP }, (_, a) =>
      groups === 1 ? `agent-${a + 1}` : `${name}-agent-${a + 1}`,
    ),
  }));
}

function argument(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function tenantOf(i: number): string {
  return `${String(Math.floor(i / LBS_PER_TENANT)).padStart(8, '0')}${'0'.repeat(24)}`;
}

/** A stable pool id per sampled load balancer (a UUID derived from the load balancer's). */
function poolOf(lb: string): string {
  return `${lb.slice(0, 24)}${'0'.repeat(12)}`.replace(/^(.{14})./, '$14');
}

function request(body: Record<string, unknown>): LbaasRequest {
  const parsed = parseRequest(JSON.stringify(body));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.request;
}

const services = await startBenchServices();
const { dynamodb, sqs, counter } = services;
const db = createDocumentClient(dynamodb);
const rows: Record<string, string | number>[] = [];
const results: Record<string, unknown>[] = [];

try {
  for (const { size, groups: groupCount } of layouts) {
    const groups = layoutOf(groupCount);
    const HOSTS = groups.flatMap((g) => g.hosts);
    const groupOfHost = new Map(groups.flatMap((g) => g.hosts.map((h) => [h, g.name] as const)));
    const tables = tableNames(`bench${size}-${randomUUID().slice(0, 6)}`);
    await createTables(dynamodb, tables);
    // The scheduler's own graph; its service is driven directly (no request queue in between).
    const { scheduler, registry } = wireScheduler(
      {
        env: ENV,
        requestQueueUrl: 'http://127.0.0.1/000000000000/unused.fifo',
        tables,
        agentDownTimeMs: 75_000,
        agentCacheMs: 2_000,
        maxAttempts: 5,
        retry: { baseSeconds: 1, maxSeconds: 1 },
        selection: 'random',
        idempotencyTtlSeconds: 3_600,
        // Limits far above the load: every new load balancer's bind checks its group's count.
        groups: groups.map((g) => ({ name: g.name, limits: { maxLoadBalancers: 10_000_000 } })),
      },
      services,
    );

    const queues: Record<string, string> = {};
    for (const host of HOSTS) {
      queues[host] = (
        await createFifoQueue(sqs, `${host}-${size}-${randomUUID().slice(0, 6)}`, {
          maxReceiveCount: 5,
          visibilityTimeoutSeconds: 30,
        })
      ).url;
      await registry.heartbeat({
        env: ENV,
        host,
        agentId: host,
        queueUrl: queues[host] as string,
        nowMs: Date.now(),
        started: true,
        alive: true,
        devices: {},
        configuration: {},
        group: groupOfHost.get(host) as string,
      });
    }
    // A tenant lives in one group (tenant index modulo groups), on one of its agents.
    const hostOf = (i: number) => {
      const tenant = Math.floor(i / LBS_PER_TENANT);
      const group = groups[tenant % groups.length] as (typeof groups)[number];
      return group.hosts[Math.floor(tenant / groups.length) % group.hosts.length] as string;
    };

    // Seed `size` bindings (4 load balancers per tenant) with their affinity rows.
    const seedStart = performance.now();
    const lbIds = Array.from({ length: size }, () => randomUUID());
    const writes: Record<string, unknown>[][] = [];
    const bindings = lbIds.map((id, i) => {
      const host = hostOf(i);
      return {
        PutRequest: {
          Item: {
            loadbalancerId: id,
            env: ENV,
            host,
            tenantId: tenantOf(i),
            boundAt: 1,
            agentKey: agentKey(ENV, host),
            group: groupOfHost.get(host),
          },
        },
        table: tables.bindings,
      };
    });
    const affinity = new Map<string, Record<string, unknown>>();
    const perGroup = new Map<string, number>();
    lbIds.forEach((_, i) => {
      const host = hostOf(i);
      const group = groupOfHost.get(host) as string;
      perGroup.set(group, (perGroup.get(group) ?? 0) + 1);
      const key = tenantKey(ENV, tenantOf(i));
      const row = affinity.get(key) ?? { tenantKey: key, host, since: 1, loadbalancers: 0 };
      row.loadbalancers = Number(row.loadbalancers) + 1;
      affinity.set(key, row);
    });
    const all = [
      ...bindings,
      ...[...affinity.values()].map((Item) => ({ PutRequest: { Item }, table: tables.affinity })),
      // Each group's load balancer count, as the bind transactions keep it.
      ...groups.map((g) => ({
        PutRequest: { Item: { env: ENV, group: g.name, loadBalancers: perGroup.get(g.name) ?? 0 } },
        table: tables.groups,
      })),
    ];
    for (let i = 0; i < all.length; i += 25) writes.push(all.slice(i, i + 25));
    await runConcurrently(writes, 16, async (batch) => {
      const byTable: Record<string, { PutRequest: { Item: Record<string, unknown> } }[]> = {};
      for (const w of batch as { PutRequest: { Item: Record<string, unknown> }; table: string }[]) {
        const list = byTable[w.table] ?? [];
        list.push({ PutRequest: w.PutRequest });
        byTable[w.table] = list;
      }
      let pending: Record<string, unknown> | undefined = byTable;
      while (pending && Object.keys(pending).length > 0) {
        const out = await db.send(new BatchWriteCommand({ RequestItems: pending as never }));
        pending = out.UnprocessedItems as Record<string, unknown> | undefined;
      }
    });
    const seedSeconds = (performance.now() - seedStart) / 1000;

    // Root records for the sampled bound load balancers (the full request path records a child under them).
    const sample = Array.from({ length: SAMPLE }, (_, k) => Math.floor((k * size) / SAMPLE) % size);
    for (const i of sample) {
      const lb = lbIds[i] as string;
      // An ACTIVE record as the scheduler recorded it once an agent applied it.
      const seeded = (
        resource: 'loadbalancer' | 'pool',
        object: { id: string } & Record<string, unknown>,
      ) => ({
        PutRequest: {
          Item: {
            ...newResourceRecord(
              { loadbalancerId: lb, tenantId: tenantOf(i), resource, requestId: 'seed', object },
              ENV,
              1,
            ),
            key: resourceKey(resource, object.id),
            provisioningStatus: 'ACTIVE',
            operatingStatus: 'ONLINE',
          },
        },
      });
      await db.send(
        new BatchWriteCommand({
          RequestItems: {
            [tables.resources]: [
              seeded('loadbalancer', {
                id: lb,
                vip_address: '10.0.0.1',
                name: '',
                description: '',
                admin_state_up: true,
              }),
              // The pool the sampled requests add members to (a member must name a pool of its load balancer).
              seeded('pool', {
                id: poolOf(lb),
                protocol: 'HTTP',
                lb_algorithm: 'ROUND_ROBIN',
                admin_state_up: true,
              }),
            ],
          },
        }),
      );
    }

    const scenario = async (
      label: string,
      items: LbaasRequest[],
      run: (r: LbaasRequest) => Promise<unknown>,
    ) => {
      counter.reset();
      const start = performance.now();
      const latencies = await runConcurrently(items, CONCURRENCY, run);
      const seconds = (performance.now() - start) / 1000;
      const stats = summarize(latencies);
      const dynamoCalls = counter.total('dynamodb.') / items.length;
      const sqsCalls = counter.total('sqs.') / items.length;
      const row = {
        bindings: size,
        groups: `${groups.length} × ${AGENTS_PER_GROUP}`,
        scenario: label,
        requests: items.length,
        'per second': Math.round(items.length / seconds),
        'p50 ms': stats.p50,
        'p95 ms': stats.p95,
        'DynamoDB calls/req': Math.round(dynamoCalls * 100) / 100,
        'SQS calls/req': Math.round(sqsCalls * 100) / 100,
      };
      rows.push(row);
      results.push({ ...row, latencyMs: stats, calls: counter.snapshot() });
    };

    const boundChild = (i: number) =>
      request({
        version: 1,
        requestId: randomUUID(),
        operation: 'create',
        resource: 'member',
        tenantId: tenantOf(i),
        loadbalancerId: lbIds[i],
        object: {
          id: randomUUID(),
          pool_id: poolOf(lbIds[i] as string),
          address: '10.0.0.5',
          protocol_port: 80,
        },
      });
    let vips = 0;
    const newLb = (tenant: string) => {
      const id = randomUUID();
      vips += 1; // each load balancer its own VIP (VIPs are claimed per environment)
      return request({
        version: 1,
        requestId: randomUUID(),
        operation: 'create',
        resource: 'loadbalancer',
        tenantId: tenant,
        loadbalancerId: id,
        object: {
          id,
          vip_address: `10.${100 + Math.floor(vips / 62_500)}.${Math.floor(vips / 250) % 250}.${(vips % 250) + 1}`,
        },
      });
    };

    // Warm-up (JIT, connections), not reported.
    await runConcurrently(sample.map(boundChild), CONCURRENCY, (r) => scheduler.decide(r));
    await scenario('decide: bound LB', sample.map(boundChild), (r) => scheduler.decide(r));
    await scenario(
      'decide: new LB, known tenant',
      sample.map((i) => newLb(tenantOf(i))),
      (r) => scheduler.decide(r),
    );
    await scenario(
      'decide: new LB, new tenant',
      sample.map(() => newLb(randomUUID().replaceAll('-', ''))),
      (r) => scheduler.decide(r),
    );
    await scenario('request: child of bound LB', sample.map(boundChild), (r) => scheduler.handle(r));
    await scenario(
      'request: new LB',
      sample.map(() => newLb(randomUUID().replaceAll('-', ''))),
      (r) => scheduler.handle(r),
    );
    console.error(`seeded ${size} bindings in ${groups.length} group(s) in ${seedSeconds.toFixed(1)} s`);
  }
} finally {
  await services.stop();
}

printTable(rows);
console.log(
  "\nThe request's guard is written in its record's transaction: no idempotency call of its own.\n" +
    "The agents list and the groups' usage are cached for 2 s each, so they cost one Query per 2 s per scheduler\n" +
    "copy, not one per request; a new load balancer's group count is checked inside its bind transaction.",
);
const summary = {
  benchmark: 'scheduler',
  machine: machine(),
  concurrency: CONCURRENCY,
  sample: SAMPLE,
  results,
};
writeResult('scheduler', summary);
console.log(JSON.stringify(summary));
