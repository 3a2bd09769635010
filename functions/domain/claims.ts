import {
  type HealthMonitorSpec,
  type L7PolicySpec,
  type L7RuleSpec,
  type LbaasRequest,
  type ListenerSpec,
  type LoadBalancerSpec,
  listenerTransport,
  type MemberSpec,
  type PoolSpec,
  type ResourceType,
} from './lbaas-request.js';
import { inRouteDomain } from './networks.js';

/**
 * What must be unique across an environment, whatever the load balancer, claimed in the same
 * transaction that records the request, so two requests can never both hold one and a clash is
 * refused before any agent work, with a reason an operator can read:
 * - object ids: an id maps to one BIG-IP name per environment (`<env>_<id>`), so a pool or listener
 *   id reused by another load balancer would change that one's objects on the device;
 * - addresses: a device keeps virtual-address IPs and IP:port destinations unique per route
 *   domain, across partitions (device-facts.md §2.2, §2.4): a load balancer claims its VIP in its
 *   network's route domain (the same address on two networks is two claims), a listener its port
 *   on that VIP.
 */
export interface Claim {
  /**
   * `id#<env>#<id>`, `vip#<env>#<ip>` (route domain 0; `vip#<env>#<ip>%<rd>` in route domain rd,
   * the device's notation) or `port#<env>#<load balancer>#<port>` (a VIP has one load balancer).
   */
  key: string;
  /** The object holding it. */
  owner: { type: ResourceType; id: string; loadbalancerId: string };
  /** What an operator reads when another object wants it. */
  describe: string;
}

/** The claim a load balancer holds on its VIP address (also how the API finds which addresses are free). */
export function vipClaimKey(env: string, address: string): string {
  return `vip#${env}#${address}`;
}

/** The claims an object holds while it exists. */
export function claimsOf(
  env: string,
  object: { type: ResourceType; id: string; loadbalancerId: string; desired: unknown },
): Claim[] {
  const owner = { type: object.type, id: object.id, loadbalancerId: object.loadbalancerId };
  const out: Claim[] = [];
  // A load balancer's id is already its own table partition; its children need an environment-wide claim.
  if (object.type !== 'loadbalancer')
    out.push({ key: `id#${env}#${object.id}`, owner, describe: `id ${object.id}` });
  if (object.type === 'loadbalancer') {
    const { vip_address: vip, vip_route_domain: rd } = object.desired as LoadBalancerSpec;
    // Route domain 0 keeps the key it had before route domains, so claims already held still match.
    out.push({
      key: vipClaimKey(env, rd ? inRouteDomain(vip, rd) : vip),
      owner,
      describe: rd ? `VIP ${vip} in route domain ${rd}` : `VIP ${vip}`,
    });
  }
  if (object.type === 'listener') {
    const { protocol_port: port, protocol } = object.desired as ListenerSpec;
    // TCP-based listeners keep the key they always had; a UDP one takes the port's UDP side.
    const udp = listenerTransport(protocol) === 'udp';
    out.push({
      key: `port#${env}#${object.loadbalancerId}#${port}${udp ? '/udp' : ''}`,
      owner,
      describe: `${udp ? 'UDP ' : ''}port ${port} of load balancer ${object.loadbalancerId}`,
    });
  }
  return out;
}

/** The claims a create takes (none for updates and deletes: the fields they hold cannot change). */
export function requestClaims(request: LbaasRequest, env: string): Claim[] {
  if (request.operation !== 'create') return [];
  return claimsOf(env, {
    type: request.resource,
    id: request.object.id,
    loadbalancerId: request.loadbalancerId,
    desired: request.object,
  });
}

/**
 * The objects a request points at, which must be objects of the same load balancer: a member's or
 * health monitor's pool, a listener's default pool, a pool's listener, an L7 policy's listener and
 * redirect pool, an L7 rule's policy.
 */
export function requestReferences(
  request: LbaasRequest,
): { type: ResourceType; id: string; field: string }[] {
  if (request.operation === 'delete') return [];
  const fields = (request.operation === 'update' ? request.changes : request.object) as Record<
    string,
    unknown
  >;
  const refs: { type: ResourceType; id: string; field: string }[] = [];
  const add = (type: ResourceType, field: string) => {
    const id = fields[field];
    if (typeof id === 'string' && id) refs.push({ type, id, field });
  };
  if (request.resource === 'member') add('pool', 'pool_id' satisfies keyof MemberSpec);
  if (request.resource === 'healthmonitor') add('pool', 'pool_id' satisfies keyof HealthMonitorSpec);
  if (request.resource === 'listener') add('pool', 'default_pool_id' satisfies keyof ListenerSpec);
  if (request.resource === 'pool') add('listener', 'listener_id' satisfies keyof PoolSpec);
  if (request.resource === 'l7policy') {
    add('listener', 'listener_id' satisfies keyof L7PolicySpec);
    add('pool', 'redirect_pool_id' satisfies keyof L7PolicySpec);
  }
  if (request.resource === 'l7rule') add('l7policy', 'l7policy_id' satisfies keyof L7RuleSpec);
  return refs;
}
