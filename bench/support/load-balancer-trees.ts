import { randomUUID } from 'node:crypto';

/** A Keystone-style project id: 32 hex digits. */
export const benchTenant = () => randomUUID().replaceAll('-', '');

/** A fresh source of VIPs (10.200.0.2, …), each unique within the run: VIPs are claimed per environment. */
export function vipSequence(): () => string {
  let n = 0;
  return () => {
    n += 1;
    return `10.${200 + Math.floor(n / 62_500)}.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
  };
}

/**
 * The three requests that build a load balancer with an HTTP listener on port 80 and its default
 * round-robin pool, as a producer sends them: what the device and pipeline benchmarks add members to.
 */
export function httpPoolTree(tenantId: string, vip: string) {
  const ids = { tenantId, loadbalancerId: randomUUID() };
  const listenerId = randomUUID();
  const poolId = randomUUID();
  const messages = [
    {
      ...ids,
      resource: 'loadbalancer',
      operation: 'create',
      object: { id: ids.loadbalancerId, vip_address: vip },
    },
    {
      ...ids,
      resource: 'listener',
      operation: 'create',
      object: { id: listenerId, protocol: 'HTTP', protocol_port: 80 },
    },
    {
      ...ids,
      resource: 'pool',
      operation: 'create',
      object: { id: poolId, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN', listener_id: listenerId },
    },
  ];
  return { ids, poolId, messages };
}

/**
 * The standard sequence of `bench:bigip`, as a producer sends it one request at a time: a load
 * balancer, an HTTP listener, its pool, ten members, a health monitor, a member's weight, and the
 * load balancer's cascade delete (sixteen requests, each changing the device).
 */
export function standardSequence(tenantId: string, vip: string, memberAddress: (i: number) => string) {
  const ids = { tenantId, loadbalancerId: randomUUID() };
  const listenerId = randomUUID();
  const poolId = randomUUID();
  const members = Array.from({ length: 10 }, () => randomUUID());
  const steps: Record<string, unknown>[] = [
    { resource: 'loadbalancer', operation: 'create', object: { id: ids.loadbalancerId, vip_address: vip } },
    {
      resource: 'listener',
      operation: 'create',
      object: { id: listenerId, protocol: 'HTTP', protocol_port: 80 },
    },
    {
      resource: 'pool',
      operation: 'create',
      object: { id: poolId, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN', listener_id: listenerId },
    },
    ...members.map((id, i) => ({
      resource: 'member',
      operation: 'create',
      object: { id, pool_id: poolId, address: memberAddress(i), protocol_port: 8080 },
    })),
    {
      resource: 'healthmonitor',
      operation: 'create',
      object: { id: randomUUID(), pool_id: poolId, type: 'HTTP', delay: 5, timeout: 3, max_retries: 3 },
    },
    { resource: 'member', operation: 'update', object: { id: members[0], weight: 5 } },
    { resource: 'loadbalancer', operation: 'delete', object: { id: ids.loadbalancerId } },
  ];
  return { ids, messages: steps.map((s) => ({ ...ids, ...s })) };
}
