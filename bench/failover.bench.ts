/**
 * Failover benchmark: the time from an agent's death (heartbeat and worker stopped at a random
 * moment of its heartbeat cycle) to the first request for one of its load balancers served
 * (ACTIVE) by another agent, on the local stack with the sample configuration. Also: the time to
 * the first failover decision, and how many requests reached the dead agent's queue before it was
 * declared dead (they are applied when it returns). The upstream driver needs 75 s plus up to 30 s
 * for its next scrub. Prints a table and a JSON last line; never fails on time.
 *
 *   npm run bench:failover                # liveness 10× faster (heartbeat 3 s, agentDownTime 7.5 s)
 *   npm run bench:failover -- --scale 1   # real timings (heartbeat 30 s, agentDownTime 75 s)
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { scale: { type: 'string', default: '10' }, trials: { type: 'string', default: '3' } },
});
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const { startLocalStack } = await import('../local/local-stack.js');
const { machine, printTable, summarize, writeResult } = await import('./support/stats.js');

const scale = Number(values.scale);
const trials = Number(values.trials);
const stack = await startLocalStack({
  timeScale: scale,
  stateFile: false,
  namePrefix: `fo${randomUUID().slice(0, 4)}`,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 300_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

try {
  // Twelve tenants' load balancers, spread over the three agents.
  const lbs: { tenantId: string; loadbalancerId: string; pool: string }[] = [];
  for (let i = 0; i < 12; i++) {
    const tenantId = randomUUID().replaceAll('-', '');
    const loadbalancerId = randomUUID();
    const pool = randomUUID();
    const sent = await stack.client.submitMany([
      {
        operation: 'create',
        resource: 'loadbalancer',
        tenantId,
        loadbalancerId,
        object: { id: loadbalancerId, vip_address: `10.50.${i}.1` },
      },
      {
        operation: 'create',
        resource: 'pool',
        tenantId,
        loadbalancerId,
        object: { id: pool, protocol: 'TCP', lb_algorithm: 'ROUND_ROBIN' },
      },
    ]);
    await stack.client.wait(loadbalancerId, { requests: sent });
    lbs.push({ tenantId, loadbalancerId, pool });
  }

  const rows: Record<string, string | number>[] = [];
  const results: Record<string, number>[] = [];
  for (let trial = 1; trial <= trials; trial++) {
    const hosting = await Promise.all(
      lbs.map(async (lb) => ({
        lb,
        host: (await stack.client.operations.hostingAgent(lb.loadbalancerId))?.binding.host,
      })),
    );
    const victim = hosting.find((h) => h.host)?.host as string;
    const victims = hosting.filter((h) => h.host === victim).map((h) => h.lb);
    // Die at a random point of the heartbeat cycle.
    await sleep(Math.random() * stack.heartbeatIntervalMs);
    const deathAt = Date.now();
    await stack.agent(victim).stop();

    const submitted = new Map<string, { at: number; lb: (typeof lbs)[number]; memberId: string }>();
    let stop = false;
    const producer = (async () => {
      let n = 0;
      while (!stop) {
        const lb = victims[n % victims.length] as (typeof lbs)[number];
        const memberId = randomUUID();
        const s = await stack.client.submit({
          operation: 'create',
          resource: 'member',
          tenantId: lb.tenantId,
          loadbalancerId: lb.loadbalancerId,
          object: {
            id: memberId,
            pool_id: lb.pool,
            address: `10.60.${trial}.${(n % 250) + 1}`,
            protocol_port: 1000 + n,
          },
        });
        submitted.set(s.requestId, { at: Date.now(), lb, memberId });
        n += 1;
        await sleep(100);
      }
    })();
    const first = await until(
      () => stack.recent.find((r) => submitted.has(r.requestId) && r.decision === 'failover'),
      'the first failover decision',
    );
    const detectedAt = first.at;
    const request = submitted.get(first.requestId) as { lb: (typeof lbs)[number]; memberId: string };
    const servedAt = await until(async () => {
      const r = (await stack.client.records(request.lb.loadbalancerId)).find(
        (x) => x.id === request.memberId,
      );
      return r?.provisioningStatus === 'ACTIVE' ? Date.now() : undefined;
    }, 'the failover request to be ACTIVE');
    stop = true;
    await producer;
    const stranded = stack.recent.filter((r) => submitted.has(r.requestId) && r.host === victim).length;
    // With the agent still dead, the reclaimer moves the stranded requests: wait until every request is ACTIVE.
    const allServedAt = await until(async () => {
      for (const [, s] of submitted) {
        const r = (await stack.client.records(s.lb.loadbalancerId)).find((x) => x.id === s.memberId);
        if (r?.provisioningStatus !== 'ACTIVE') return undefined;
      }
      return Date.now();
    }, 'every request of the outage to be ACTIVE');

    // Bring the agent back and let it apply what waited in its queue.
    await stack.agent(victim).start();
    for (const lb of victims) await stack.client.wait(lb.loadbalancerId, { timeoutMs: 120_000, graceMs: 0 });

    const result = {
      trial,
      failoverMs: servedAt - deathAt,
      detectionMs: detectedAt - deathAt,
      strandedRequests: stranded,
      allServedMs: allServedAt - deathAt,
      requestsDuringOutage: submitted.size,
    };
    results.push(result);
    rows.push({
      trial,
      'death → failover decision (s)': (result.detectionMs / 1000).toFixed(2),
      'death → served elsewhere, ACTIVE (s)': (result.failoverMs / 1000).toFixed(2),
      'requests stranded in the dead agent’s queue': stranded,
      'death → all of them ACTIVE, agent still dead (s)': (result.allServedMs / 1000).toFixed(2),
      'requests sent meanwhile': submitted.size,
    });
  }
  printTable(rows);
  const summary = summarize(results.map((r) => r.failoverMs as number));
  console.log(
    `\nheartbeat every ${stack.heartbeatIntervalMs / 1000} s, agentDownTime ${stack.agentDownTimeMs / 1000} s (time scale ${scale}). ` +
      `Expected: agentDownTime minus the time since the last heartbeat at death (0..interval), plus the scheduler's agent-list cache (≤ 2 s) and one apply. ` +
      `Stranded requests are moved by the reclaimer (it sweeps every heartbeat interval); a message a dying worker held comes back within its in-flight hold (agentDownTime / 3). ` +
      `Target for "all of them ACTIVE": ≤ 2 × agentDownTime = ${(2 * stack.agentDownTimeMs) / 1000} s. Upstream: 75 s + up to 30 s (scrub).`,
  );
  const out = {
    benchmark: 'failover',
    machine: machine(),
    timeScale: scale,
    heartbeatIntervalSeconds: stack.heartbeatIntervalMs / 1000,
    agentDownTimeSeconds: stack.agentDownTimeMs / 1000,
    failoverMs: summary,
    trials: results,
    // The reliability target: every request of the outage served within twice agentDownTime.
    allServedWithinTwiceAgentDownTime: results.every(
      (r) => (r.allServedMs as number) <= 2 * stack.agentDownTimeMs,
    ),
    upstreamSeconds: { min: 75, max: 105 },
  };
  writeResult(scale === 1 ? 'failover-real' : `failover-scale-${scale}`, out);
  console.log(JSON.stringify(out));
} finally {
  await stack.stop();
}
