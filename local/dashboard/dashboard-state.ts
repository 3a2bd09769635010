import { randomUUID } from 'node:crypto';
import type { ResourceRecord } from '../../functions/domain/resource-state.js';
import type { LocalStack } from '../local-stack.js';

/** At most this many load balancers on the page (the newest bindings of each agent first). */
const MAX_LOADBALANCERS = 24;

/** Each bound load balancer with its status tree (provisioning and health) and statistics. */
async function loadBalancers(stack: LocalStack, hosts: string[]) {
  const bound = (
    await Promise.all(
      hosts.map(async (host) =>
        (
          await stack.client.operations.listOnAgent(stack.env, host, { limit: MAX_LOADBALANCERS })
        ).items.map((b) => ({ id: b.loadbalancerId, agent: host, tenantId: b.tenantId, boundAt: b.boundAt })),
      ),
    )
  )
    .flat()
    .sort((a, b) => b.boundAt - a.boundAt)
    .slice(0, MAX_LOADBALANCERS);
  // The agent that served its latest request: its bound agent, or during an outage a failover agent.
  const latest = new Map<string, { host: string; decision: string }>();
  for (const r of stack.recent)
    if (r.decision !== 'refused') latest.set(r.loadbalancerId, { host: r.host, decision: r.decision });
  const out = await Promise.all(
    bound.map(async (b) => {
      const [tree, stats] = await Promise.all([stack.client.status(b.id), stack.client.stats(b.id)]);
      const last = latest.get(b.id);
      const servedBy = last && last.host !== b.agent ? last.host : null;
      return tree ? { ...b, tree, stats: stats?.stats ?? null, servedBy } : undefined;
    }),
  );
  return out.filter((x) => x !== undefined);
}

/** Everything the local dashboard shows, in one JSON document. */
export async function dashboardState(stack: LocalStack) {
  const [agents, queues, groups] = await Promise.all([
    stack.client.operations.agents(stack.env),
    stack.client.queueDepths(),
    stack.client.groups(),
  ]);
  const lastPoll = stack.healthReports.at(-1);
  const recent = stack.recent.slice(-15).reverse();
  const byLb = new Map<string, ResourceRecord[]>();
  await Promise.all(
    [...new Set(recent.filter((r) => r.decision !== 'refused').map((r) => r.loadbalancerId))].map(
      async (lb) => byLb.set(lb, await stack.client.records(lb)),
    ),
  );
  const statusOf = (lb: string, resource: string, id: string | undefined) => {
    const records = byLb.get(lb) ?? [];
    const r = records.find((x) => x.type === resource && (!id || x.id === id));
    return r ? r.provisioningStatus : 'DELETED';
  };
  return {
    env: stack.env,
    now: Date.now(),
    agentDownTimeSeconds: stack.agentDownTimeMs / 1000,
    heartbeatIntervalSeconds: stack.heartbeatIntervalMs / 1000,
    groups: groups.map((g) => ({
      name: g.name,
      enabled: g.enabled,
      score: g.score,
      agentsAlive: g.agentsAlive,
      hosts: g.hosts,
      usage:
        g.ratios.length > 0
          ? g.ratios.map((r) => `${r.metric} ${Math.round(r.used * 100) / 100}/${r.limit}`).join(', ')
          : `loadBalancers ${g.usage.loadBalancers}, listeners ${g.usage.listeners}, members ${g.usage.members} (no limits)`,
    })),
    agents: agents.map((a) => ({
      host: a.host,
      group: a.group ?? null,
      running: stack.agents.find((x) => x.host === a.host)?.running ?? false,
      alive: a.alive,
      active: a.active,
      adminStateUp: a.adminStateUp,
      heartbeatAgeSeconds: a.heartbeatAgeSeconds ?? null,
      loadbalancers: a.loadbalancerCount ?? 0,
      devices: Object.fromEntries(
        Object.entries(a.devices ?? {}).map(([name, d]) => [
          name,
          d.reachable ? String(d.failoverState) : 'UNREACHABLE',
        ]),
      ),
    })),
    queues,
    decisions: stack.decisions,
    loadbalancers: await loadBalancers(
      stack,
      agents.map((a) => a.host),
    ),
    reconciliation: reconciliationView(stack),
    health: {
      intervalSeconds: stack.healthIntervalMs / 1000,
      last: lastPoll
        ? lastPoll.outcome === 'polled'
          ? { outcome: 'polled', unit: lastPoll.unit, changes: lastPoll.statusesWritten }
          : { outcome: 'skipped', reason: lastPoll.reason }
        : null,
    },
    recent: recent.map((r) => ({
      ...r,
      status:
        r.decision === 'refused'
          ? 'REFUSED'
          : statusOf(
              r.loadbalancerId,
              r.resource,
              r.resource === 'loadbalancer' ? r.loadbalancerId : undefined,
            ),
    })),
    devices: stack.devices.map((d, i) => ({
      name: stack.endpoints.devices[i]?.name ?? d.hostname,
      url: stack.endpoints.devices[i]?.url,
      failoverState: d.failoverState,
      syncStatus: d.peer ? (d.changesPending ? 'Changes Pending' : 'In Sync') : 'Standalone',
      partitions: d.partitions().length,
      calls: d.calls.length,
    })),
  };
}

/** A small load balancer for one new tenant: what the dashboard's demo button submits. */
export function demoRequests(vipOctet: number): Record<string, unknown>[] {
  const tenantId = randomUUID().replaceAll('-', '');
  const lb = randomUUID();
  const listener = randomUUID();
  const pool = randomUUID();
  const base = { tenantId, loadbalancerId: lb };
  return [
    {
      ...base,
      operation: 'create',
      resource: 'loadbalancer',
      object: { id: lb, name: 'demo', vip_address: `10.100.0.${vipOctet}` },
    },
    {
      ...base,
      operation: 'create',
      resource: 'listener',
      object: { id: listener, protocol: 'HTTP', protocol_port: 80 },
    },
    {
      ...base,
      operation: 'create',
      resource: 'pool',
      object: { id: pool, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN', listener_id: listener },
    },
    ...[1, 2].map((i) => ({
      ...base,
      operation: 'create',
      resource: 'member',
      object: { id: randomUUID(), pool_id: pool, address: `10.200.${vipOctet}.${i}`, protocol_port: 8080 },
    })),
    {
      ...base,
      operation: 'create',
      resource: 'healthmonitor',
      object: {
        id: randomUUID(),
        pool_id: pool,
        type: 'HTTP',
        delay: 5,
        timeout: 3,
        max_retries: 3,
        url_path: '/health',
      },
    },
  ];
}

/** The reconciler's last run, in a line an operator reads, and its progress while one runs. */
function reconciliationView(stack: LocalStack) {
  const { last, progress } = stack.reconciliation;
  const r = last?.report;
  let summary = 'not run yet';
  if (r?.outcome === 'skipped') summary = `skipped: ${r.reason}`;
  else if (r) {
    const n = (o: string) => r.loadbalancers.filter((l) => l.outcome === o).length;
    summary = `${r.outcome === 'aborted' ? `stopped (${r.reason}); ` : ''}${r.loadbalancers.length} load balancer(s): ${n('in-sync')} in sync, ${n('repaired')} repaired, ${n('restored')} restored, ${n('failed')} failed; ${r.orphans.reduce((k, o) => k + o.objects.length, 0)} orphan(s) found`;
  }
  return { at: last?.at ?? null, summary, progress: progress ?? null };
}
