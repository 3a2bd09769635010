import { randomUUID } from 'node:crypto';
import { isPending } from '../../functions/domain/resource-state.js';
import type { LocalStack } from '../../local/local-stack.js';

/** A load balancer of its own tenant: an HTTP listener, one monitored pool and `members` members (one batch). */
export function loadBalancerRequests(n: number, members: number): Record<string, unknown>[] {
  const base = { tenantId: randomUUID().replaceAll('-', ''), loadbalancerId: randomUUID() };
  const [listener, pool] = [randomUUID(), randomUUID()];
  const msg = (resource: string, object: Record<string, unknown>, operation = 'create') => ({
    ...base,
    operation,
    resource,
    object,
  });
  return [
    msg('loadbalancer', {
      id: base.loadbalancerId,
      vip_address: `10.${100 + Math.floor(n / 250)}.${n % 250}.1`,
    }),
    msg('listener', { id: listener, protocol: 'HTTP', protocol_port: 80 }),
    msg('pool', { id: pool, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN', listener_id: listener }),
    msg('healthmonitor', {
      id: randomUUID(),
      pool_id: pool,
      type: 'HTTP',
      delay: 5,
      timeout: 3,
      max_retries: 3,
    }),
    msg(
      'member',
      {
        pool_id: pool,
        members: Array.from({ length: members }, (_, i) => ({
          id: randomUUID(),
          address: `10.${50 + Math.floor(i / 62_500)}.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`,
          protocol_port: 8080,
        })),
      },
      'batch_update',
    ),
  ];
}

/** Submits `lbs` such load balancers and waits until nothing of them is pending. */
export async function buildFleet(stack: LocalStack, lbs: number, members: number): Promise<string[]> {
  const built = Array.from({ length: lbs }, (_, n) => loadBalancerRequests(n, members));
  await stack.client.submitMany(built.flat());
  const ids = built.map((b) => String(b[0]?.loadbalancerId));
  const deadline = Date.now() + 10 * 60_000;
  for (const lb of ids) {
    for (;;) {
      const records = await stack.client.records(lb);
      if (records.length > 0 && !records.some((r) => isPending(r.provisioningStatus))) break;
      if (Date.now() > deadline) throw new Error(`load balancer ${lb} did not settle`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return ids;
}
