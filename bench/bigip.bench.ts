/**
 * BIG-IP benchmark: iControl REST calls and time per request for the sequence "create load
 * balancer, listener, pool, 10 members one by one, health monitor, update one member, delete
 * all", through the real agent code against the BIG-IP simulator (DynamoDB Local for state).
 * Then: the calls to add one member to a load balancer that already has 1, 10, 100 members.
 * Prints tables and, as its last line, a JSON object. Never fails on time.
 *
 *   npm run bench:bigip                    # loopback simulator
 *   npm run bench:bigip -- --latency 20    # with 20 ms per device call (a nearer-to-real device)
 */
import { randomUUID } from 'node:crypto';
import { StaticCredentials } from '../functions/adapters/device-credentials.js';
import { parseRequest } from '../functions/domain/lbaas-request.js';
import { tableNames } from '../functions/shared/table-schema.js';
import { wireAgentWorker } from '../functions/wiring/agent-worker-wiring.js';
import { BigIpSimulator } from '../local/bigip-simulator/bigip-simulator.js';
import { createTables } from '../local/provision.js';
import { startBenchServices } from './support/local-services.js';
import { machine, printTable, writeResult } from './support/stats.js';

const latencyArg = process.argv.indexOf('--latency');
const LATENCY_MS = latencyArg >= 0 ? Number(process.argv[latencyArg + 1]) : 0;
const ENV = 'Bench';

const services = await startBenchServices();
const tables = tableNames(`bigip-${randomUUID().slice(0, 6)}`);
await createTables(services.dynamodb, tables);
const sim = new BigIpSimulator();
const baseUrl = await sim.listen();
if (LATENCY_MS > 0) sim.injectFault({ kind: 'latency', delayMs: LATENCY_MS, times: Infinity });

// The agent worker's own graph; only its applier is driven (no queue in between).
const { applier, resources, cluster } = wireAgentWorker(
  {
    env: ENV,
    host: 'agent-1',
    agentQueueUrl: 'http://127.0.0.1/000000000000/unused.fifo',
    tables,
    maxAttempts: 3,
    retry: { baseSeconds: 1, maxSeconds: 1 },
    leaseMs: 30_000,
    devices: [{ name: 'bigip1', baseUrl }],
    deviceSecretId: 'local',
    caBundle: undefined,
    deviceGroup: undefined,
    trafficGroup: undefined,
    clusterName: 'bench',
    restTimeoutMs: 10_000,
  },
  services,
  { credentials: new StaticCredentials({ username: 'admin', password: 'admin' }) },
);

const tenantId = randomUUID().replaceAll('-', '');
async function step(body: Record<string, unknown>) {
  const parsed = parseRequest(JSON.stringify({ version: 1, requestId: randomUUID(), tenantId, ...body }));
  if (!parsed.ok) throw new Error(parsed.reason);
  const r = parsed.request;
  await resources.recordRequest(r, ENV, Date.now());
  const before = sim.calls.length;
  services.counter.reset();
  const started = performance.now();
  const result = await applier.apply({
    requestId: r.requestId,
    loadbalancerId: r.loadbalancerId,
    resource: r.resource,
    objectId: r.object.id,
    operation: r.operation,
  });
  const ms = performance.now() - started;
  if (result.outcome !== 'applied')
    throw new Error(`${r.operation} ${r.resource}: ${JSON.stringify(result)}`);
  const calls = sim.calls.slice(before);
  return {
    request: `${r.operation} ${r.resource}`,
    calls: calls.length,
    reads: calls.filter((c) => c.method === 'GET').length,
    writes: calls.filter((c) => c.method !== 'GET').length,
    ms: Math.round(ms * 10) / 10,
    dynamodb: services.counter.total('dynamodb.'),
  };
}

type Row = Awaited<ReturnType<typeof step>>;
const sequence: Row[] = [];
const lb = randomUUID();
const listener = randomUUID();
const pool = randomUUID();
const members = Array.from({ length: 10 }, () => randomUUID());
try {
  sequence.push(
    await step({
      operation: 'create',
      resource: 'loadbalancer',
      loadbalancerId: lb,
      object: { id: lb, vip_address: '10.0.0.10' },
    }),
  );
  sequence.push(
    await step({
      operation: 'create',
      resource: 'listener',
      loadbalancerId: lb,
      object: { id: listener, protocol: 'HTTP', protocol_port: 80 },
    }),
  );
  sequence.push(
    await step({
      operation: 'create',
      resource: 'pool',
      loadbalancerId: lb,
      object: { id: pool, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN', listener_id: listener },
    }),
  );
  for (const [i, id] of members.entries()) {
    sequence.push(
      await step({
        operation: 'create',
        resource: 'member',
        loadbalancerId: lb,
        object: { id, pool_id: pool, address: `10.0.1.${i + 1}`, protocol_port: 8080 },
      }),
    );
  }
  sequence.push(
    await step({
      operation: 'create',
      resource: 'healthmonitor',
      loadbalancerId: lb,
      object: {
        id: randomUUID(),
        pool_id: pool,
        type: 'HTTP',
        delay: 5,
        timeout: 3,
        max_retries: 3,
        url_path: '/health',
      },
    }),
  );
  sequence.push(
    await step({
      operation: 'update',
      resource: 'member',
      loadbalancerId: lb,
      object: { id: members[3], admin_state_up: false },
    }),
  );
  sequence.push(
    await step({ operation: 'delete', resource: 'loadbalancer', loadbalancerId: lb, object: { id: lb } }),
  );
  if (Object.keys(sim.dump()).length !== 0) throw new Error('device not empty after the sequence');

  // Growth: calls to add one member to a load balancer that already has N members.
  const growth: { existing: number; calls: number; reads: number; writes: number }[] = [];
  for (const n of [1, 10, 100]) {
    const id = randomUUID();
    const poolId = randomUUID();
    await step({
      operation: 'create',
      resource: 'loadbalancer',
      loadbalancerId: id,
      object: { id, vip_address: `10.1.${n}.1` },
    });
    await step({
      operation: 'create',
      resource: 'pool',
      loadbalancerId: id,
      object: { id: poolId, protocol: 'TCP', lb_algorithm: 'ROUND_ROBIN' },
    });
    for (let i = 0; i < n; i++) {
      await step({
        operation: 'create',
        resource: 'member',
        loadbalancerId: id,
        object: {
          id: randomUUID(),
          pool_id: poolId,
          address: `10.2.${Math.floor(i / 250)}.${(i % 250) + 1}`,
          protocol_port: 80,
        },
      });
    }
    const row = await step({
      operation: 'create',
      resource: 'member',
      loadbalancerId: id,
      object: { id: randomUUID(), pool_id: poolId, address: '10.3.0.1', protocol_port: 80 },
    });
    growth.push({ existing: n, calls: row.calls, reads: row.reads, writes: row.writes });
  }

  const total = sequence.reduce((sum, r) => sum + r.calls, 0);
  const totalMs = sequence.reduce((sum, r) => sum + r.ms, 0);
  const upstream = 45 + 17 * 10 + (10 * 11) / 2;
  printTable(
    sequence.map((r) => ({
      request: r.request,
      'REST calls': r.calls,
      GET: r.reads,
      writes: r.writes,
      ms: r.ms,
      'DynamoDB calls': r.dynamodb,
    })),
  );
  console.log(
    `\ntotal: ${total} REST calls in ${Math.round(totalMs)} ms for ${sequence.length} requests (target ≤ 60; upstream agent ≈ ${upstream} per device)`,
  );
  console.log(
    `(the first request includes the token login; per-call device latency injected: ${LATENCY_MS} ms)\n`,
  );
  printTable(
    growth.map((g) => ({
      'members already on the LB': g.existing,
      'REST calls to add one': g.calls,
      GET: g.reads,
      writes: g.writes,
    })),
  );
  const summary = {
    benchmark: 'bigip',
    machine: machine(),
    injectedLatencyMs: LATENCY_MS,
    totalCalls: total,
    totalMs: Math.round(totalMs),
    requests: sequence.length,
    upstreamEstimate: upstream,
    sequence,
    addOneMember: growth,
    callsByPath: sim.callsByPath(),
  };
  writeResult(LATENCY_MS > 0 ? `bigip-latency-${LATENCY_MS}ms` : 'bigip', summary);
  console.log(JSON.stringify(summary));
} finally {
  await cluster.close();
  await sim.close();
  await services.stop();
}
