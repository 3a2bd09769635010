import { randomUUID } from 'node:crypto';
import type { ResourceRecord } from '../../functions/domain/resource-state.js';
import type { LocalStack } from '../local-stack.js';

/** Everything the local dashboard shows, in one JSON document. */
export async function dashboardState(stack: LocalStack) {
  const [agents, queues] = await Promise.all([
    stack.client.operations.agents(stack.env),
    stack.client.queueDepths(),
  ]);
  const recent = stack.recent.slice(-15).reverse();
  const byLb = new Map<string, ResourceRecord[]>();
  await Promise.all(
    [...new Set(recent.map((r) => r.loadbalancerId))].map(async (lb) =>
      byLb.set(lb, await stack.client.records(lb)),
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
    agents: agents.map((a) => ({
      host: a.host,
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
    recent: recent.map((r) => ({
      ...r,
      status: statusOf(
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
