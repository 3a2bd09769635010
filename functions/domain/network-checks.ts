import { isMemberBatch, type LbaasRequest, type LoadBalancerSpec, type MemberSpec } from './lbaas-request.js';
import {
  cidrContains,
  findNetwork,
  findSubnet,
  type NetworkCatalog,
  type NetworkDefinition,
  type ResolvedSubnet,
  reservedAddresses,
  routeDomainOf,
} from './networks.js';
import { type Refusal, refusal } from './refusals.js';

/**
 * Where a request's addresses live: a load balancer's VIP and a member belong to a network of the
 * environment (Octavia's `vip_subnet_id` / `vip_network_id`, a member's `subnet_id`; the request
 * message uses the same fields). A request naming a subnet or network the environment does not
 * have, or an address outside the subnet it names, is refused with the reason. A new load
 * balancer's record carries its network and the route domain derived from it, so its VIP claim is
 * per route domain (claims.ts) and never depends on a configuration read later.
 *
 * An environment that configures no networks keeps every address in route domain 0 and checks no
 * subnet id (as before networks existed); a VIP that names no network is in route domain 0.
 */
export function checkNetworks(
  request: LbaasRequest,
  catalog: NetworkCatalog,
): { request: LbaasRequest } | { refusal: Refusal } {
  const modelled = catalog.networks.length > 0 || catalog.noopCidr !== undefined;
  if (isMemberBatch(request))
    return modelled ? checkMembers(request.object.members, catalog, request) : { request };
  if (request.operation !== 'create') return { request };
  if (request.resource === 'loadbalancer') {
    const { vip_route_domain: _sent, ...spec } = request.object as LoadBalancerSpec;
    if (!modelled) return { request: { ...request, object: spec } };
    const placed = placeVip(spec, catalog);
    if ('refusal' in placed) return placed;
    return { request: { ...request, object: placed.spec } };
  }
  if (request.resource !== 'member' || !modelled) return { request };
  return checkMembers([request.object as MemberSpec], catalog, request);
}

function checkMembers(
  members: readonly MemberSpec[],
  catalog: NetworkCatalog,
  request: LbaasRequest,
): { request: LbaasRequest } | { refusal: Refusal } {
  for (const member of members) {
    const why = checkMember(member, catalog);
    if (why) return { refusal: why };
  }
  return { request };
}

function placeVip(
  spec: LoadBalancerSpec,
  catalog: NetworkCatalog,
): { spec: LoadBalancerSpec } | { refusal: Refusal } {
  const address = spec.vip_address;
  let subnet: ResolvedSubnet | undefined;
  if (spec.vip_subnet_id) {
    subnet = findSubnet(catalog, spec.vip_subnet_id);
    if (!subnet)
      return { refusal: unknown(`vip_subnet_id ${spec.vip_subnet_id} is not a subnet of this environment`) };
  }
  let network: NetworkDefinition | undefined;
  if (spec.vip_network_id) {
    network = findNetwork(catalog, spec.vip_network_id);
    if (!network)
      return {
        refusal: unknown(`vip_network_id ${spec.vip_network_id} is not a network of this environment`),
      };
    if (subnet?.configured && subnet.networkId !== network.id)
      return { refusal: outside(`subnet ${subnet.id} is not in network ${network.id}`) };
    if (!subnet) {
      // A no-op network (the conformance run) stands for any network: its one subnet holds any address.
      const noop = !catalog.networks.some((n) => n.id === network?.id);
      const holding = noop ? network.subnets[0] : network.subnets.find((s) => cidrContains(s.cidr, address));
      if (!holding)
        return { refusal: outside(`VIP address ${address} is in no subnet of network ${network.id}`) };
      subnet = findSubnet(catalog, holding.id);
    }
  }
  // Neither named: the devices' default network (route domain 0).
  if (!subnet) return { spec };
  if (isOutside(subnet, address))
    return { refusal: outside(`VIP address ${address} is not in subnet ${subnet.id} (${subnet.cidr})`) };
  const owner = network ?? findNetwork(catalog, subnet.networkId);
  if (owner && reservedAddresses(owner).has(address))
    return { refusal: outside(`VIP address ${address} is a self IP or SNAT address of network ${owner.id}`) };
  const routeDomain = owner?.subnets.some((s) => s.id === subnet.id) ? routeDomainOf(owner) : 0;
  return {
    spec: {
      ...spec,
      vip_subnet_id: subnet.id,
      vip_network_id: owner?.id ?? subnet.networkId,
      ...(routeDomain ? { vip_route_domain: routeDomain } : {}),
    },
  };
}

function checkMember(member: MemberSpec, catalog: NetworkCatalog): Refusal | undefined {
  if (!member.subnet_id) return undefined;
  const subnet = findSubnet(catalog, member.subnet_id);
  if (!subnet)
    return unknown(`member ${member.id}: subnet_id ${member.subnet_id} is not a subnet of this environment`);
  if (isOutside(subnet, member.address))
    return outside(
      `member ${member.id}: address ${member.address} is not in subnet ${subnet.id} (${subnet.cidr})`,
    );
  // A member on a self IP or SNAT address would be the device itself (peer-features.md §1.8).
  const network = subnet.configured ? findNetwork(catalog, subnet.networkId) : undefined;
  if (network && reservedAddresses(network).has(member.address))
    return outside(
      `member ${member.id}: address ${member.address} is a self IP or SNAT address of network ${network.id}`,
    );
  return undefined;
}

const unknown = (reason: string) => refusal('not-found', reason);
const outside = (reason: string) => refusal('invalid-message', reason);

/** Whether an address lies outside its subnet; a no-op network's subnet (the conformance run) holds any address. */
function isOutside(subnet: ResolvedSubnet, address: string): boolean {
  return subnet.configured && !cidrContains(subnet.cidr, address);
}
