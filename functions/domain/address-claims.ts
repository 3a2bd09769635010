import type { ListenerSpec, LoadBalancerSpec, ResourceType } from './lbaas-request.js';

/**
 * Addresses are unique on a device whatever the partition (bigip-real-device.md §2.2: a virtual
 * address IP across partitions, a virtual's IP:port across them too), and route domains do not
 * isolate tenants yet. So a load balancer claims its VIP in its environment, and a listener claims
 * its port on that VIP, in the same transaction that records the request: two requests can never
 * both hold one, and a clash is refused before any agent work, with a reason an operator can read.
 */
export interface AddressClaim {
  /** The claimed address: `vip#<env>#<ip>` or `port#<env>#<load balancer>#<port>` (a VIP has one load balancer). */
  key: string;
  /** The object holding it. */
  owner: { type: ResourceType; id: string; loadbalancerId: string };
  /** What an operator reads when another object wants it. */
  describe: string;
}

/** The claim an object holds while it exists (none for other object types). */
export function claimOf(
  env: string,
  object: { type: ResourceType; id: string; loadbalancerId: string; desired: unknown },
): AddressClaim | undefined {
  const owner = { type: object.type, id: object.id, loadbalancerId: object.loadbalancerId };
  if (object.type === 'loadbalancer') {
    const vip = (object.desired as LoadBalancerSpec).vip_address;
    return { key: `vip#${env}#${vip}`, owner, describe: `VIP ${vip}` };
  }
  if (object.type === 'listener') {
    const port = (object.desired as ListenerSpec).protocol_port;
    return {
      key: `port#${env}#${object.loadbalancerId}#${port}`,
      owner,
      describe: `port ${port} of load balancer ${object.loadbalancerId}`,
    };
  }
  return undefined;
}
