import type { LoadBalancerSpec } from '../domain/lbaas-request.js';
import {
  findNetwork,
  findSubnet,
  loadBalancerOfPort,
  type NetworkCatalog,
  type NetworkDefinition,
  neutronNetwork,
  neutronSubnet,
  neutronVipPort,
  type ResolvedSubnet,
} from '../domain/networks.js';
import { OctaviaFault } from '../domain/octavia-faults.js';
import type { QueryParams } from '../domain/octavia-listing.js';
import { type Caller, isAllowed, type PolicyMode } from '../domain/octavia-policy.js';
import type { LoadBalancerTree } from '../domain/resource-state.js';
import type { ApiResult } from './octavia-api.js';

/**
 * The Neutron reads real clients make around a load balancer: the `openstack` client resolves
 * `--vip-subnet-id`, `--vip-network-id` and a member's `--subnet-id` with `GET /v2.0/subnets?id=`
 * (or `?name=`) and networks the same way, and Terraform reads `GET /v2.0/ports/{vip_port_id}`.
 * Answered from the environment's network configuration and the load balancers' VIPs, in
 * Neutron's shapes; nothing here writes.
 */
export class NeutronReads {
  constructor(
    private readonly deps: {
      networks: NetworkCatalog;
      policy: PolicyMode;
      loadTree: (loadbalancerId: string) => Promise<LoadBalancerTree | undefined>;
    },
  ) {}

  subnets(caller: Caller, params: QueryParams): ApiResult {
    const project = caller.projectId ?? '';
    const ids = params.id;
    let subnets: ResolvedSubnet[] = this.configuredSubnets();
    // No-op networks: any id asked for by id is a subnet (as Octavia's no-op network driver answers).
    if (ids && this.deps.networks.noopCidr)
      subnets = ids.map((id) => findSubnet(this.deps.networks, id) as ResolvedSubnet);
    const rows = subnets
      .map((s) => neutronSubnet(s, project) as Record<string, unknown>)
      .filter((row) => matchesAll(row, params));
    return { status: 200, body: { subnets: rows } };
  }

  subnet(caller: Caller, id: string): ApiResult {
    const s = findSubnet(this.deps.networks, id);
    if (!s) throw neutronNotFound('Subnet', id);
    return { status: 200, body: { subnet: neutronSubnet(s, caller.projectId ?? '') } };
  }

  networks(caller: Caller, params: QueryParams): ApiResult {
    const project = caller.projectId ?? '';
    let networks: NetworkDefinition[] = [...this.deps.networks.networks];
    if (params.id && this.deps.networks.noopCidr)
      networks = params.id.map((id) => findNetwork(this.deps.networks, id) as NetworkDefinition);
    const rows = networks
      .map((n) => neutronNetwork(n, project) as Record<string, unknown>)
      .filter((row) => matchesAll(row, params));
    return { status: 200, body: { networks: rows } };
  }

  network(caller: Caller, id: string): ApiResult {
    const n = findNetwork(this.deps.networks, id);
    if (!n) throw neutronNotFound('Network', id);
    return { status: 200, body: { network: neutronNetwork(n, caller.projectId ?? '') } };
  }

  async ports(caller: Caller, params: QueryParams): Promise<ApiResult> {
    const rows: Record<string, unknown>[] = [];
    for (const id of params.id ?? []) {
      const port = await this.vipPort(caller, id);
      if (port && matchesAll(port, params)) rows.push(port);
    }
    return { status: 200, body: { ports: rows } };
  }

  async port(caller: Caller, id: string): Promise<ApiResult> {
    const port = await this.vipPort(caller, id);
    if (!port) throw neutronNotFound('Port', id);
    return { status: 200, body: { port } };
  }

  /** A load balancer's VIP port, if the caller may see that load balancer. */
  private async vipPort(caller: Caller, portId: string): Promise<Record<string, unknown> | undefined> {
    if (!/^[0-9a-fA-F-]{36}$/.test(portId)) return undefined;
    const tree = await this.deps.loadTree(loadBalancerOfPort(portId));
    if (!tree) return undefined;
    const lb = tree.root.desired as LoadBalancerSpec;
    if ((lb.vip_port_id ?? '').toLowerCase() !== portId.toLowerCase()) return undefined;
    if (!isAllowed(this.deps.policy, 'read', caller, tree.root.tenantId)) return undefined;
    return neutronVipPort({
      id: tree.root.id,
      name: lb.name,
      projectId: tree.root.tenantId,
      address: lb.vip_address,
      subnetId: lb.vip_subnet_id,
      networkId: lb.vip_network_id,
      adminStateUp: lb.admin_state_up,
      appliedAt: tree.root.appliedAt,
      provisioningStatus: tree.root.provisioningStatus,
    });
  }

  private configuredSubnets(): ResolvedSubnet[] {
    return this.deps.networks.networks.flatMap((n) =>
      n.subnets.map((s) => findSubnet(this.deps.networks, s.id) as ResolvedSubnet),
    );
  }
}

/** Neutron's list filters: each given field must equal one of its values (fields= is ignored). */
function matchesAll(row: Record<string, unknown>, params: QueryParams): boolean {
  for (const [key, values] of Object.entries(params)) {
    if (key === 'fields' || key === 'limit' || key === 'marker' || key === 'sort_key' || key === 'sort_dir')
      continue;
    if (!(key in row)) continue;
    if (!values.some((v) => String(row[key]) === v)) return false;
  }
  return true;
}

/** Neutron's 404 body is its own shape; the handler sends `NeutronError` for these. */
function neutronNotFound(kind: string, id: string): OctaviaFault {
  return new OctaviaFault(404, `${kind} ${id} could not be found.`);
}
