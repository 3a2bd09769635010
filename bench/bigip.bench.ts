/**
 * BIG-IP benchmark: iControl REST calls and time per request for the sequence "create load
 * balancer, listener, pool, 10 members one by one, health monitor, re-apply the unchanged load
 * balancer, update one member, delete all", through the real agent code against the BIG-IP
 * simulator (DynamoDB Local for state), under the device timing model of
 * docs/reference/device-facts.md §6 and under 0 ms, side by side. Then: the calls to add
 * one member to a load balancer that already has 1, 10, 100 members, and the calls a segmented
 * network (route domain, VLAN, self IPs, SNAT pool: docs/tenant-networks.md) adds to the first load
 * balancer on it, to the next ones, and to their deletes. Prints tables and, as its last line, a
 * JSON object. Never fails on time.
 *
 *   npm run bench:bigip                     # both timing models
 *   npm run bench:bigip -- --timing real    # one of them (zero | real)
 */
import { randomUUID } from 'node:crypto';
import { parseRequest } from '../functions/domain/lbaas-request.js';
import type { NetworkDefinition } from '../functions/domain/networks.js';
import { applyTargetOf } from '../functions/services/load-balancer-applier.js';
import { BigIpSimulator } from '../local/bigip-simulator/bigip-simulator.js';
import {
  callCost,
  describeTiming,
  TIMING_MODELS,
  type TimingModel,
} from '../local/bigip-simulator/timing-model.js';
import { benchAgent } from './support/bench-agent.js';
import { startBenchServices } from './support/local-services.js';
import { machine, printTable, writeResult } from './support/stats.js';
import { chosenTimings } from './support/timing-args.js';

const chosen = chosenTimings();
/** A segmented network on VLAN 100 (route domain 100), with a self IP for the one unit, a floating one and a SNAT pool. */
const NETWORK: NetworkDefinition = {
  id: '64646464-0000-4000-8000-000000000064',
  name: 'bench-net',
  subnets: [{ id: '64646464-0000-4000-8000-000000000065', name: 'bench-subnet', cidr: '10.100.0.0/24' }],
  segmentation: { vlan: 100 },
  snat: { pool: ['10.100.0.240'] },
  selfIps: { default: { units: ['10.100.0.251'], floating: '10.100.0.250' } },
};
const ENV = 'Bench';
const services = await startBenchServices();

interface Row {
  request: string;
  calls: number;
  reads: number;
  writes: number;
  ms: number;
  /** What the device itself needs for the writes made: serial write, commit and sync time under the model. */
  deviceMs: number;
  dynamodb: number;
  /** Of which writes (PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems). */
  dynamodbWrites: number;
}

const WRITES = /\.(PutItem|UpdateItem|DeleteItem|BatchWriteItem|TransactWriteItems)$/;

/** Runs the standard sequence (and, with `growth`, the add-one-member series) under one timing model. */
async function run(timing: TimingModel, growth: boolean) {
  const sim = new BigIpSimulator({ timing });
  const baseUrl = await sim.listen();
  // The agent worker's own graph; only its applier is driven (no queue in between).
  const { applier, resources, cluster } = await benchAgent(services, {
    env: ENV,
    baseUrl,
    tablePrefix: 'bigip',
    networks: [NETWORK],
  });
  const tenantId = randomUUID().replaceAll('-', '');

  const measure = async (label: string, target: Parameters<typeof applier.apply>[0]): Promise<Row> => {
    const before = sim.calls.length;
    services.counter.reset();
    const started = performance.now();
    const result = await applier.apply(target);
    const ms = performance.now() - started;
    if (result.outcome !== 'applied') throw new Error(`${label}: ${JSON.stringify(result)}`);
    const calls = sim.calls.slice(before);
    const deviceMs = calls
      .filter((c) => c.method !== 'GET')
      .map((c) => {
        const commit = /^\/mgmt\/tm\/transaction\/\d+$/.test(c.path) && c.method === 'PATCH';
        const enlisted = c.transactionId !== undefined;
        const commands = commit
          ? calls.filter((x) => x.transactionId === c.path.split('/').pop()).length
          : undefined;
        return callCost(timing, { method: c.method, path: c.path, enlisted, commitCommands: commands });
      })
      .filter((cost) => cost.serial)
      .reduce((sum, cost) => sum + cost.ms, 0);
    return {
      request: label,
      calls: calls.length,
      reads: calls.filter((c) => c.method === 'GET').length,
      writes: calls.filter((c) => c.method !== 'GET').length,
      ms: Math.round(ms * 10) / 10,
      deviceMs,
      dynamodb: services.counter.total('dynamodb.'),
      dynamodbWrites: Object.entries(services.counter.snapshot())
        .filter(([name]) => WRITES.test(name))
        .reduce((n, [, v]) => n + v, 0),
    };
  };
  const step = async (body: Record<string, unknown>) => {
    const parsed = parseRequest(JSON.stringify({ version: 1, requestId: randomUUID(), tenantId, ...body }));
    if (!parsed.ok) throw new Error(parsed.reason);
    const r = parsed.request;
    const recorded = await resources.recordRequest(r, ENV, Date.now());
    if (!recorded.recorded) throw new Error(`request not recorded: ${JSON.stringify(recorded)}`);
    return measure(`${r.operation} ${r.resource}`, applyTargetOf(r));
  };

  const sequence: Row[] = [];
  const lb = randomUUID();
  const listener = randomUUID();
  const pool = randomUUID();
  const members = Array.from({ length: 10 }, () => randomUUID());
  try {
    const create = (resource: string, object: Record<string, unknown>) =>
      step({ operation: 'create', resource, loadbalancerId: lb, object });
    sequence.push(await create('loadbalancer', { id: lb, vip_address: '10.0.0.10' }));
    sequence.push(await create('listener', { id: listener, protocol: 'HTTP', protocol_port: 80 }));
    sequence.push(
      await create('pool', {
        id: pool,
        protocol: 'HTTP',
        lb_algorithm: 'ROUND_ROBIN',
        listener_id: listener,
      }),
    );
    for (const [i, id] of members.entries())
      sequence.push(
        await create('member', { id, pool_id: pool, address: `10.0.1.${i + 1}`, protocol_port: 8080 }),
      );
    sequence.push(
      await create('healthmonitor', {
        id: randomUUID(),
        pool_id: pool,
        type: 'HTTP',
        delay: 5,
        timeout: 3,
        max_retries: 3,
        url_path: '/health',
      }),
    );
    // What the last-applied records add to each resource's item (last-applied.ts), largest per type.
    const lastAppliedBytes: Record<string, number> = {};
    for (const r of await resources.loadRecords(lb)) {
      const bytes = Buffer.byteLength(JSON.stringify(r.lastApplied ?? {}));
      lastAppliedBytes[r.type] = Math.max(lastAppliedBytes[r.type] ?? 0, bytes);
    }
    // The whole load balancer, unchanged, applied again: a converged agent only reads.
    const reapply = await measure('re-apply unchanged load balancer', {
      requestId: randomUUID(),
      tenantId,
      loadbalancerId: lb,
      resource: 'loadbalancer',
      objectId: lb,
      operation: 'sync',
    });
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

    // Growth: calls to add one member to a load balancer that already has N members (timing-independent).
    const added: { existing: number; calls: number; reads: number; writes: number }[] = [];
    for (const n of growth ? [1, 10, 100] : []) {
      const id = randomUUID();
      const poolId = randomUUID();
      const on = (resource: string, object: Record<string, unknown>) =>
        step({ operation: 'create', resource, loadbalancerId: id, object });
      await on('loadbalancer', { id, vip_address: `10.1.${n}.1` });
      await on('pool', { id: poolId, protocol: 'TCP', lb_algorithm: 'ROUND_ROBIN' });
      for (let i = 0; i < n; i++)
        await on('member', {
          id: randomUUID(),
          pool_id: poolId,
          address: `10.2.${Math.floor(i / 250)}.${(i % 250) + 1}`,
          protocol_port: 80,
        });
      const row = await on('member', {
        id: randomUUID(),
        pool_id: poolId,
        address: '10.3.0.1',
        protocol_port: 80,
      });
      added.push({ existing: n, calls: row.calls, reads: row.reads, writes: row.writes });
    }
    const network = growth ? await networkCalls(step) : [];
    const left = ['net/route-domain', 'net/vlan', 'net/self', 'ltm/snatpool'].filter((c) => sim.dump()[c]);
    if (left.length > 0)
      throw new Error(`network objects left after the network scenario: ${left.join(', ')}`);
    return { sequence, reapply, added, network, lastAppliedBytes, callsByPath: sim.callsByPath() };
  } finally {
    await cluster.close();
    await sim.close();
  }
}

/**
 * What a segmented network adds: each request on the network beside the same request in route
 * domain 0 (which creates nothing in /Common), on one unit. The first load balancer pays for the
 * route domain, VLAN, self IPs and SNAT pool; the next ones find them in place (0 calls more); a
 * delete that leaves the network asks the device what still uses it; the last one removes it.
 */
async function networkCalls(step: (body: Record<string, unknown>) => Promise<Row>) {
  const rows: { request: string; flat: number; network: number; added: number }[] = [];
  const lb = (rd: boolean, i: number) => {
    const id = randomUUID();
    const pool = randomUUID();
    const on = (operation: string, resource: string, object: Record<string, unknown>) =>
      step({ operation, resource, loadbalancerId: id, object });
    const network = rd
      ? { vip_subnet_id: NETWORK.subnets[0]?.id, vip_network_id: NETWORK.id, vip_route_domain: 100 }
      : {};
    return {
      create: () => on('create', 'loadbalancer', { id, vip_address: `10.100.0.${10 + i}`, ...network }),
      pool: () => on('create', 'pool', { id: pool, protocol: 'TCP', lb_algorithm: 'ROUND_ROBIN' }),
      member: () =>
        on('create', 'member', {
          id: randomUUID(),
          pool_id: pool,
          address: `10.100.0.${100 + i}`,
          protocol_port: 80,
          ...(rd ? { subnet_id: NETWORK.subnets[0]?.id } : {}),
        }),
      remove: () => on('delete', 'loadbalancer', { id }),
    };
  };
  const compare = async (request: string, flat: () => Promise<Row>, network: () => Promise<Row>) => {
    const f = await flat();
    const n = await network();
    rows.push({ request, flat: f.calls, network: n.calls, added: n.calls - f.calls });
  };
  const flat = [lb(false, 0), lb(false, 1), lb(false, 2), lb(false, 3)];
  const [f1, f2] = flat as [ReturnType<typeof lb>, ReturnType<typeof lb>];
  const on1 = lb(true, 0);
  const on2 = lb(true, 1);
  await compare('create load balancer: the first on the network', f1.create, on1.create);
  await compare('create load balancer: the next on the network', f2.create, on2.create);
  for (const [f, n] of [
    [f1, on1],
    [f2, on2],
  ] as const) {
    await f.pool();
    await n.pool();
  }
  await compare('create member on the network (in place)', f1.member, on1.member);
  await compare('delete load balancer: the network stays (another uses it)', f1.remove, on1.remove);
  await compare('delete load balancer: the last on the network', f2.remove, on2.remove);
  return rows;
}

try {
  const runs: Record<string, Awaited<ReturnType<typeof run>>> = {};
  for (const name of chosen) runs[name] = await run(TIMING_MODELS[name], name === chosen[0]);
  const first = runs[chosen[0] as string] as Awaited<ReturnType<typeof run>>;
  const upstream = 45 + 17 * 10 + (10 * 11) / 2;
  const totals = Object.fromEntries(
    Object.entries(runs).map(([name, r]) => [
      name,
      {
        calls: r.sequence.reduce((s, x) => s + x.calls, 0),
        ms: Math.round(r.sequence.reduce((s, x) => s + x.ms, 0)),
        deviceLowerBoundMs: r.sequence.reduce((s, x) => s + x.deviceMs, 0),
        reapplyWrites: r.reapply.writes,
        reapplyCalls: r.reapply.calls,
        dynamodb: r.sequence.reduce((s, x) => s + x.dynamodb, 0),
        dynamodbWrites: r.sequence.reduce((s, x) => s + x.dynamodbWrites, 0),
      },
    ]),
  );
  printTable(
    first.sequence.map((row, i) => ({
      request: row.request,
      'REST calls': row.calls,
      GET: row.reads,
      writes: row.writes,
      ...Object.fromEntries(
        Object.entries(runs).flatMap(([name, r]) => [
          [`ms (${name})`, r.sequence[i]?.ms ?? ''],
          [`device floor ms (${name})`, r.sequence[i]?.deviceMs ?? ''],
        ]),
      ),
      'DynamoDB calls': row.dynamodb,
      'of which writes': row.dynamodbWrites,
    })),
  );
  console.log();
  for (const [name, t] of Object.entries(totals)) {
    console.log(
      `${name}: ${t.calls} REST calls in ${t.ms} ms for ${first.sequence.length} requests; the device's own floor for their writes ${t.deviceLowerBoundMs} ms; re-applying the unchanged load balancer: ${t.reapplyCalls} calls, ${t.reapplyWrites} writes (target 0)`,
    );
    console.log(`   timing model "${name}": ${describeTiming(TIMING_MODELS[name as 'zero' | 'real'])}`);
  }
  console.log(`(upstream agent ≈ ${upstream} REST calls per device for the same sequence)`);
  console.log(
    `last-applied records per resource item, largest, bytes of JSON: ${JSON.stringify(first.lastAppliedBytes)}\n`,
  );
  printTable(
    first.added.map((g) => ({
      'members already on the LB': g.existing,
      'REST calls to add one': g.calls,
      GET: g.reads,
      writes: g.writes,
    })),
  );
  console.log();
  printTable(
    first.network.map((n) => ({
      request: n.request,
      'REST calls in route domain 0': n.flat,
      'on a segmented network': n.network,
      'added by the network': n.added,
    })),
  );
  const summary = {
    benchmark: 'bigip',
    machine: machine(),
    timing: Object.fromEntries(chosen.map((n) => [n, TIMING_MODELS[n]])),
    totals,
    requests: first.sequence.length,
    upstreamEstimate: upstream,
    sequence: Object.fromEntries(Object.entries(runs).map(([n, r]) => [n, r.sequence])),
    reapply: Object.fromEntries(Object.entries(runs).map(([n, r]) => [n, r.reapply])),
    addOneMember: first.added,
    network: first.network,
    lastAppliedBytes: first.lastAppliedBytes,
    callsByPath: first.callsByPath,
  };
  writeResult(chosen.length === 1 ? `bigip-${chosen[0]}` : 'bigip', summary);
  console.log(JSON.stringify(summary));
} finally {
  await services.stop();
}
