import { canonicalIp } from './ip-address.js';
import type {
  HealthMonitorSpec,
  L7PolicySpec,
  LbaasRequest,
  ListenerSpec,
  MemberSpec,
  PoolSpec,
  RequestEnvelope,
  ResourceType,
} from './lbaas-request.js';
import {
  listenerTransport,
  MAX_ALLOWED_CIDRS,
  MAX_POLICY_POSITION,
  MAX_RULES_PER_POLICY,
  monitorHostProblem,
} from './lbaas-request.js';
import {
  cidrContains,
  findNetwork,
  findSubnet,
  ipVersionOf,
  type NetworkCatalog,
  networkOfSubnet,
  type ResolvedSubnet,
} from './networks.js';
import {
  insertHeaderFlags,
  type ListenerInput,
  type ListenerPost,
  type ListenerPut,
  type LoadBalancerPost,
  type LoadBalancerPut,
  type MemberInput,
  type MemberPost,
  type MemberPut,
  type MonitorInput,
  type MonitorPost,
  type MonitorPut,
  type PolicyInput,
  type PolicyPost,
  type PolicyPut,
  type PoolInput,
  type PoolPost,
  type PoolPut,
  type RuleInput,
  type RulePost,
  type RulePut,
  unsupported,
} from './octavia-bodies.js';
import { DISPLAY_NAMES, faults, OctaviaFault } from './octavia-faults.js';
import { listenerTlsFields, poolTlsFields } from './octavia-tls.js';
import { defaultPoolOf } from './octavia-views.js';
import { isNetmask } from './persistence-profiles.js';
import type { LoadBalancerTree, ProvisioningStatus, ResourceRecord } from './resource-state.js';

/**
 * Octavia's write operations as request messages: what a `POST`, `PUT` or `DELETE` of the v2 API
 * becomes on the environment's request queue (the same messages any producer sends), with the
 * checks Octavia makes against the load balancer's objects before it answers (duplicates,
 * protocol combinations, a pool's one monitor, a listener's one default pool, children of a load
 * balancer deleted without cascade). Pure: the tree is the load balancer's records as just read;
 * ids and request ids come from the caller.
 *
 * Where Octavia keeps one relation in two places, the messages keep it in one: a pool created on
 * a listener is a pool plus that listener's `default_pool_id`, so the association can later be
 * changed or removed through the listener, as Octavia allows.
 */

/** The message shape producers put on the request queue (validated again by parseRequest). */
export type RequestMessage = RequestEnvelope & {
  operation: 'create' | 'update' | 'delete' | 'batch_update';
  resource: ResourceType;
};

export interface PlanContext {
  env: string;
  tenantId: string;
  newId: () => string;
  newRequestId: () => string;
}

/** The statuses the first write of a plan requires (Octavia's immutability rule), checked in its transaction. */
export interface WriteGuard {
  /** The load balancer's revision as read: any request recorded since refuses this one. */
  revision: number;
  statuses: readonly ProvisioningStatus[];
  /** A pool that must be ACTIVE too (member and health monitor writes). */
  pool?: string;
}

export interface WritePlan {
  loadbalancerId: string;
  messages: RequestMessage[];
  /** Absent for a new load balancer (nothing to guard yet). */
  guard?: WriteGuard;
  /** The object the answer shows. */
  subject: { type: ResourceType; id: string };
}

const MUTABLE: readonly ProvisioningStatus[] = ['ACTIVE'];
const DELETABLE: readonly ProvisioningStatus[] = ['ACTIVE', 'ERROR'];

// ---- reading a tree ----

/** An object of the tree by type and id (undefined when absent). */
export function findRecord(
  tree: LoadBalancerTree,
  type: ResourceType,
  id: string,
): ResourceRecord | undefined {
  const all: Record<ResourceType, readonly ResourceRecord[]> = {
    loadbalancer: [tree.root],
    listener: tree.listeners,
    pool: tree.pools,
    member: tree.members,
    healthmonitor: tree.healthmonitors,
    l7policy: tree.l7policies,
    l7rule: tree.l7rules,
  };
  return all[type].find((r) => r.id === id);
}

/** Octavia's immutability rule for a write on this tree (a 409 naming the load balancer, or its pool). */
export function checkMutable(
  tree: LoadBalancerTree,
  statuses: readonly ProvisioningStatus[],
  poolId?: string,
): void {
  if (poolId) {
    const pool = findRecord(tree, 'pool', poolId);
    if (pool && !MUTABLE.includes(pool.provisioningStatus)) throw faults.immutable('pool', poolId);
  }
  if (!statuses.includes(tree.root.provisioningStatus)) throw faults.immutable('loadbalancer', tree.root.id);
}

const guardOf = (
  tree: LoadBalancerTree,
  statuses: readonly ProvisioningStatus[],
  pool?: string,
): WriteGuard => ({
  revision: tree.root.revision,
  statuses,
  ...(pool ? { pool } : {}),
});

// ---- VIPs ----

export interface VipChoice {
  subnet: ResolvedSubnet;
  networkId: string;
  /** The address asked for, if any (else one is allocated from the subnet). */
  address?: string;
  /** A VIP port named by the request (no-op networks only). */
  portId?: string;
}

/**
 * Where a new load balancer's VIP goes (Octavia's `_validate_vip_request_object`): a port, a
 * network (its subnet holding the address, else its first IPv4 subnet) or a subnet, each of which
 * must be configured (any id is accepted with no-op networks).
 */
export function chooseVip(
  body: Pick<LoadBalancerPost, 'vip_port_id' | 'vip_network_id' | 'vip_subnet_id' | 'vip_address'>,
  catalog: NetworkCatalog,
  portInUse: (portId: string) => string | undefined,
): VipChoice {
  const address = body.vip_address ? canonicalIp(body.vip_address) : undefined;
  if (body.vip_port_id) {
    const holder = portInUse(body.vip_port_id);
    if (holder)
      throw faults.conflict(`Port ${body.vip_port_id} is already in use by load balancer ${holder}.`);
    if (!catalog.noopCidr) throw faults.badRequest(`Port ${body.vip_port_id} not found.`);
    const subnet = findSubnet(catalog, body.vip_subnet_id ?? body.vip_port_id) as ResolvedSubnet;
    return {
      subnet,
      networkId: body.vip_network_id ?? subnet.networkId,
      ...(address ? { address } : {}),
      portId: body.vip_port_id,
    };
  }
  if (!body.vip_subnet_id && !body.vip_network_id)
    throw faults.validation('VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.');
  let subnet: ResolvedSubnet | undefined;
  if (body.vip_subnet_id) {
    subnet = findSubnet(catalog, body.vip_subnet_id);
    if (!subnet) throw faults.badRequest(`Subnet ${body.vip_subnet_id} not found.`);
  }
  if (body.vip_network_id) {
    const network = findNetwork(catalog, body.vip_network_id);
    if (!network) throw faults.badRequest(`Network ${body.vip_network_id} not found.`);
    if (subnet?.configured && !network.subnets.some((s) => s.id === subnet?.id))
      throw faults.validation(`Subnet ${subnet.id} is not in network ${network.id}.`);
    if (!subnet) {
      const candidates = network.subnets
        .map((s) => findSubnet(catalog, s.id) as ResolvedSubnet)
        .filter((s) => (address ? cidrContains(s.cidr, address) || !s.configured : true));
      subnet = candidates.find((s) => s.ipVersion === 4) ?? candidates[0];
      if (!subnet)
        throw faults.validation(
          address
            ? 'Supplied network does not contain a subnet for VIP address specified.'
            : 'Supplied network does not contain a subnet.',
        );
    }
  }
  const chosen = subnet as ResolvedSubnet;
  if (address && chosen.configured && !cidrContains(chosen.cidr, address))
    throw faults.badRequest(`VIP address ${address} is not in subnet ${chosen.id} (${chosen.cidr}).`);
  const networkId = body.vip_network_id ?? networkOfSubnet(catalog, chosen.id)?.id ?? chosen.networkId;
  return { subnet: chosen, networkId, ...(address ? { address } : {}) };
}

/** A member's subnet must be one the environment knows (any id with no-op networks). */
export function checkMemberSubnet(catalog: NetworkCatalog, subnetId: string | null | undefined): void {
  if (subnetId && !findSubnet(catalog, subnetId)) throw faults.badRequest(`Subnet ${subnetId} not found.`);
}

// ---- messages ----

function message(
  ctx: PlanContext,
  loadbalancerId: string,
  operation: RequestMessage['operation'],
  resource: ResourceType,
  object: Record<string, unknown>,
): RequestMessage {
  return {
    version: 1,
    requestId: ctx.newRequestId(),
    operation,
    resource,
    tenantId: ctx.tenantId,
    loadbalancerId,
    object: dropUndefined(object),
  };
}

function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

const text = (v: string | null | undefined) => v ?? '';
const flag = (v: boolean | null | undefined, fallback: boolean) => (v === undefined ? fallback : v === true);
const tagsOf = (v: string[] | null | undefined) => (v === undefined ? undefined : (v ?? []));

// Octavia's valid listener → pool protocol pairs (constants.VALID_LISTENER_POOL_PROTOCOL_MAP), for the protocols implemented here.
const POOL_PROTOCOLS_FOR: Record<string, readonly string[]> = {
  TCP: ['HTTP', 'HTTPS', 'TCP', 'PROXY', 'PROXYV2'],
  HTTP: ['HTTP', 'PROXY', 'PROXYV2'],
  HTTPS: ['HTTPS', 'TCP', 'PROXY', 'PROXYV2'],
  TERMINATED_HTTPS: ['HTTP', 'PROXY', 'PROXYV2'],
  UDP: ['UDP'],
};

/** Octavia's health monitor types for a UDP pool, in its order; UDP-CONNECT is for UDP pools only. */
const UDP_POOL_MONITORS = ['UDP-CONNECT', 'SCTP', 'TCP', 'HTTP'];
/** Octavia's `udp_connect_min_interval_health_monitor` default: a UDP-CONNECT probe at most every 3 s. */
const UDP_CONNECT_MIN_DELAY = 3;

function checkMonitorForPool(type: string, poolProtocol: string | undefined): void {
  if (poolProtocol === undefined) return;
  if (poolProtocol === 'UDP' && !UDP_POOL_MONITORS.includes(type))
    throw faults.validation(
      `The associated pool protocol is UDP, so only a ${UDP_POOL_MONITORS.join('/')} health monitor is supported.`,
    );
  if (poolProtocol !== 'UDP' && type === 'UDP-CONNECT')
    throw faults.validation(`The UDP-CONNECT type is only supported for pools of type UDP/SCTP.`);
}

function checkUdpConnectDelay(type: string, delay: number | null | undefined): void {
  if (type === 'UDP-CONNECT' && delay != null && delay < UDP_CONNECT_MIN_DELAY)
    throw faults.validation(
      `The request delay value ${delay} should be larger than ${UDP_CONNECT_MIN_DELAY} for UDP-CONNECT health monitor type.`,
    );
}

/** A listener taking a port on the same transport (a UDP listener and a TCP-based one may share one). */
function samePort(l: { protocol: string; protocol_port: number }, other: ListenerSpec): boolean {
  return (
    other.protocol_port === l.protocol_port &&
    listenerTransport(other.protocol) === listenerTransport(l.protocol)
  );
}

function checkProtocols(listenerProtocol: string, poolProtocol: string): void {
  if (!(POOL_PROTOCOLS_FOR[listenerProtocol] ?? []).includes(poolProtocol))
    throw faults.validation(
      `The pool protocol '${poolProtocol}' is invalid while the listener protocol is '${listenerProtocol}'.`,
    );
}

function sessionPersistence(
  sp: PoolInput['session_persistence'],
  protocol?: string,
): {
  type: string;
  cookie_name?: string | null;
  persistence_timeout?: number;
  persistence_granularity?: string;
} | null {
  if (!sp) return null;
  const tuned =
    (sp.persistence_timeout !== undefined && sp.persistence_timeout !== null) ||
    (sp.persistence_granularity !== undefined && sp.persistence_granularity !== null);
  if (tuned && protocol !== 'UDP')
    throw faults.validation('persistence_timeout and persistence_granularity are only for UDP pools.');
  if (protocol === 'UDP' && sp.type !== 'SOURCE_IP')
    throw faults.validation(
      `Session persistence of type ${sp.type} is not supported for UDP protocol pools.`,
    );
  if (sp.type === 'APP_COOKIE' && !sp.cookie_name)
    throw faults.validation(
      'Field "cookie_name" must be specified when using the "APP_COOKIE" session persistence type.',
    );
  if (sp.type !== 'APP_COOKIE' && sp.cookie_name)
    throw faults.validation(
      `Field "cookie_name" can only be specified when using the "APP_COOKIE" session persistence type.`,
    );
  if (tuned && sp.type !== 'SOURCE_IP')
    throw faults.validation('persistence_timeout and persistence_granularity are for SOURCE_IP persistence.');
  if (sp.persistence_timeout != null && sp.persistence_timeout < 0)
    throw faults.validation('persistence_timeout must be at least 0.');
  if (sp.persistence_granularity != null && !isNetmask(sp.persistence_granularity))
    throw faults.validation(`persistence_granularity ${sp.persistence_granularity} is not a netmask.`);
  if (sp.type === 'APP_COOKIE') return { type: sp.type, cookie_name: sp.cookie_name ?? null };
  // A UDP pool's tuned SOURCE_IP persistence: the pool's own source-address profile (persistence-profiles.ts).
  return {
    type: sp.type,
    ...(sp.persistence_timeout != null ? { persistence_timeout: sp.persistence_timeout } : {}),
    ...(sp.persistence_granularity != null ? { persistence_granularity: sp.persistence_granularity } : {}),
  };
}

function monitorObject(
  id: string,
  poolId: string,
  m: MonitorInput,
  poolProtocol: string | undefined,
): Record<string, unknown> {
  checkMonitorForPool(m.type, poolProtocol);
  checkUdpConnectDelay(m.type, m.delay);
  const http = m.type === 'HTTP' || m.type === 'HTTPS';
  if (!http)
    for (const f of ['http_method', 'url_path', 'expected_codes'] as const)
      if (m[f]) throw faults.badRequest(`${f} is not a valid option for health monitors of type ${m.type}`);
  return {
    id,
    pool_id: poolId,
    name: text(m.name),
    type: m.type,
    delay: m.delay,
    timeout: m.timeout,
    max_retries: m.max_retries,
    max_retries_down: m.max_retries_down ?? 3,
    ...(http
      ? {
          http_method: m.http_method ?? 'GET',
          url_path: m.url_path ?? '/',
          expected_codes: (m.expected_codes ?? '200').replace(/\s+/g, ''),
        }
      : {}),
    ...hostFields(m.http_version ?? null, m.domain_name ?? null),
    admin_state_up: flag(m.admin_state_up, true),
    tags: tagsOf(m.tags),
  };
}

/** A monitor's HTTP version and Host name, kept as given (Octavia stores them for any type), or Octavia's 400. */
function hostFields(httpVersion: number | null, domainName: string | null) {
  const problem = monitorHostProblem(httpVersion, domainName);
  if (problem) throw faults.badRequest(problem);
  return { http_version: httpVersion, domain_name: domainName };
}

function memberObject(id: string, poolId: string, m: MemberInput): Record<string, unknown> {
  return {
    id,
    pool_id: poolId,
    name: text(m.name),
    address: m.address,
    ...(canonicalIp(m.address) !== m.address ? { written_address: m.address } : {}),
    protocol_port: m.protocol_port,
    weight: m.weight ?? 1,
    admin_state_up: flag(m.admin_state_up, true),
    backup: m.backup === true,
    ...(m.subnet_id ? { subnet_id: m.subnet_id } : {}),
    ...(m.monitor_address ? { monitor_address: m.monitor_address } : {}),
    ...(m.monitor_port ? { monitor_port: m.monitor_port } : {}),
    tags: tagsOf(m.tags),
  };
}

function poolObject(id: string, p: PoolInput & { protocol: string; lb_algorithm: string }) {
  return {
    id,
    name: text(p.name),
    description: text(p.description),
    protocol: p.protocol,
    lb_algorithm: p.lb_algorithm,
    session_persistence: sessionPersistence(p.session_persistence, p.protocol),
    admin_state_up: flag(p.admin_state_up, true),
    listener_id: null,
    ...poolTlsFields(p, p.protocol),
    tags: tagsOf(p.tags),
  };
}

function ruleObject(id: string, policyId: string, r: RuleInput): Record<string, unknown> {
  return {
    id,
    l7policy_id: policyId,
    type: r.type,
    compare_type: r.compare_type,
    key: r.key ?? null,
    value: r.value,
    invert: flag(r.invert, false),
    admin_state_up: flag(r.admin_state_up, true),
    tags: tagsOf(r.tags),
  };
}

function policyObject(
  id: string,
  listenerId: string,
  p: Omit<PolicyInput, 'redirect_pool' | 'rules'>,
  redirectPoolId: string | null | undefined,
) {
  if (p.action === 'REDIRECT_TO_POOL' && !redirectPoolId)
    throw faults.badRequest(
      'Invalid L7 Policy arguments: redirect_pool_id or redirect_pool must not be None',
    );
  if (p.action === 'REDIRECT_TO_URL' && !p.redirect_url)
    throw faults.badRequest('Invalid L7 Policy arguments: redirect_url must not be None');
  if (p.action === 'REDIRECT_PREFIX' && !p.redirect_prefix)
    throw faults.badRequest('Invalid L7 Policy arguments: redirect_prefix must not be None');
  if (redirectPoolId && (p.redirect_url || p.redirect_prefix))
    throw faults.badRequest(
      'Invalid L7 Policy arguments: Cannot specify redirect_pool_id and redirect_url or redirect_prefix at the same time',
    );
  return {
    id,
    listener_id: listenerId,
    name: text(p.name),
    description: text(p.description),
    action: p.action,
    position: p.position ?? MAX_POLICY_POSITION,
    redirect_pool_id: p.action === 'REDIRECT_TO_POOL' ? (redirectPoolId ?? null) : null,
    redirect_url: p.action === 'REDIRECT_TO_URL' ? (p.redirect_url ?? null) : null,
    redirect_prefix: p.action === 'REDIRECT_PREFIX' ? (p.redirect_prefix ?? null) : null,
    redirect_http_code: p.redirect_http_code ?? null,
    admin_state_up: flag(p.admin_state_up, true),
    tags: tagsOf(p.tags),
  };
}

/**
 * A listener's allowed_cidrs as recorded: each of the VIP's IP version (Octavia's 400 otherwise),
 * in canonical form (the address compressed and lower-case), duplicates dropped. Null or an empty
 * list allows every client.
 */
export function allowedCidrs(cidrs: readonly string[] | null | undefined, vipAddress: string): string[] {
  const version = ipVersionOf(vipAddress);
  const out: string[] = [];
  for (const c of cidrs ?? []) {
    const [address = '', prefix = ''] = c.split('/');
    if (ipVersionOf(address) !== version)
      throw faults.validation(`CIDR ${c} IP version incompatible with VIP ${vipAddress} IP version.`);
    const canonical = `${canonicalIp(address)}/${Number(prefix)}`;
    if (!out.includes(canonical)) out.push(canonical);
  }
  if (out.length > MAX_ALLOWED_CIDRS)
    throw faults.validation(
      `allowed_cidrs lists ${out.length} CIDRs; at most ${MAX_ALLOWED_CIDRS} are supported.`,
    );
  return out;
}

/**
 * Octavia's timeout_client_data and timeout_member_data as the one idle timeout a listener's TCP
 * profile keeps (whole seconds): undefined when neither is given, null when reset. One given sets
 * both sides; two different values, a fraction of a second or a UDP listener are Octavia's 501.
 */
export function idleTimeout(
  body: { timeout_client_data?: number | null | undefined; timeout_member_data?: number | null | undefined },
  protocol: string,
): number | null | undefined {
  const client = body.timeout_client_data;
  const member = body.timeout_member_data;
  if (client === undefined && member === undefined) return undefined;
  const value = client ?? member;
  if (value === null || value === undefined) return null;
  if (protocol === 'UDP')
    throw unsupported(
      'timeout_client_data and timeout_member_data on a UDP listener (its UDP profile keeps its own)',
    );
  if (client !== undefined && client !== null && member !== undefined && member !== null && client !== member)
    throw unsupported(
      'timeout_client_data different from timeout_member_data (the listener’s BIG-IP TCP profile has one idle timeout for both sides)',
    );
  if (value % 1000 !== 0) throw unsupported(`timeout ${value} ms (a BIG-IP idle timeout is whole seconds)`);
  return value;
}

function listenerObject(
  id: string,
  l: ListenerInput | ListenerPost,
  defaultPoolId: string | null,
  vipAddress: string,
) {
  const tls = l.protocol === 'TERMINATED_HTTPS';
  if (!tls && (l.default_tls_container_ref || (l.sni_container_refs ?? []).length > 0))
    throw faults.validation(
      `Certificate container references are not allowed on ${l.protocol} protocol listeners.`,
    );
  if (tls && !l.default_tls_container_ref && (l.sni_container_refs ?? []).length === 0)
    throw faults.validation(
      'An SNI or default certificate container reference must be provided for TERMINATED_HTTPS protocol listeners.',
    );
  const headers = insertHeaderFlags(l.insert_headers ?? {});
  if (Object.keys(headers).length > 0 && l.protocol !== 'HTTP' && !tls)
    throw faults.badRequest(`insert-headers is not a valid option for a ${l.protocol} protocol listener.`);
  return {
    id,
    name: text(l.name),
    description: text(l.description),
    protocol: l.protocol,
    protocol_port: l.protocol_port,
    connection_limit: l.connection_limit ?? -1,
    admin_state_up: flag(l.admin_state_up, true),
    default_pool_id: defaultPoolId,
    default_tls_container_ref: l.default_tls_container_ref ?? null,
    sni_container_refs: l.sni_container_refs ?? [],
    insert_headers: headers,
    ...(l.allowed_cidrs ? { allowed_cidrs: allowedCidrs(l.allowed_cidrs, vipAddress) } : {}),
    idle_timeout_ms: idleTimeout(l, l.protocol) ?? undefined,
    ...listenerTlsFields(l, l.protocol),
    tags: tagsOf(l.tags),
  };
}

// ---- graph creates (a listener's default pool, a pool's members and monitor, a policy's rules) ----

interface GraphState {
  ctx: PlanContext;
  loadbalancerId: string;
  messages: RequestMessage[];
  /** Pools of this request by name, and their protocols. */
  poolsByName: Map<string, { id: string; protocol: string }>;
  /** The load balancer's VIP address (its listeners' allowed CIDRs must be of its IP version). */
  vipAddress: string;
}

function addPool(g: GraphState, p: PoolInput & { protocol: string; lb_algorithm: string }): string {
  const id = g.ctx.newId();
  g.messages.push(message(g.ctx, g.loadbalancerId, 'create', 'pool', poolObject(id, p)));
  const endpoints = new Set<string>();
  for (const m of p.members ?? []) {
    const endpoint = `${canonicalIp(m.address)}:${m.protocol_port}`;
    if (endpoints.has(endpoint))
      throw faults.conflict(
        `Another member on this pool is already using ip ${m.address} on protocol_port ${m.protocol_port}`,
      );
    endpoints.add(endpoint);
    g.messages.push(message(g.ctx, g.loadbalancerId, 'create', 'member', memberObject(g.ctx.newId(), id, m)));
  }
  if (p.healthmonitor)
    g.messages.push(
      message(
        g.ctx,
        g.loadbalancerId,
        'create',
        'healthmonitor',
        monitorObject(g.ctx.newId(), id, p.healthmonitor, p.protocol),
      ),
    );
  return id;
}

function requirePoolFields(p: PoolInput): PoolInput & { protocol: string; lb_algorithm: string } {
  for (const attr of ['protocol', 'lb_algorithm'] as const)
    if (!p[attr])
      throw faults.validation(`Pool definition for '${p.name ?? ''}' missing required attribute: ${attr}`);
  return p as PoolInput & { protocol: string; lb_algorithm: string };
}

/** A pool named in a graph create: defined there (more than a name) or referenced by name. */
function graphPool(
  g: GraphState,
  p: PoolInput,
  pending: Map<string, PoolInput>,
): { id: string; protocol: string } {
  const name = p.name;
  if (!name) throw faults.validation('Pools must be named when creating a fully populated loadbalancer.');
  const known = g.poolsByName.get(name);
  if (known) return known;
  const full = Object.keys(p).length > 1 ? p : pending.get(name);
  if (!full) throw faults.badRequest(`Pool '${name}' was referenced but no full definition was found.`);
  const complete = requirePoolFields(full);
  const id = addPool(g, complete);
  const entry = { id, protocol: complete.protocol };
  g.poolsByName.set(name, entry);
  return entry;
}

function addPolicies(
  g: GraphState,
  listenerId: string,
  policies: readonly PolicyInput[],
  pending: Map<string, PoolInput>,
) {
  for (const p of policies) {
    const redirect = p.redirect_pool ? graphPool(g, p.redirect_pool, pending).id : undefined;
    const policyId = g.ctx.newId();
    const { redirect_pool: _pool, rules, ...fields } = p;
    g.messages.push(
      message(
        g.ctx,
        g.loadbalancerId,
        'create',
        'l7policy',
        policyObject(policyId, listenerId, fields, redirect),
      ),
    );
    if ((rules ?? []).length > MAX_RULES_PER_POLICY)
      throw faults.conflict(`Too many rules on L7 policy ${policyId}`);
    for (const r of rules ?? [])
      g.messages.push(
        message(g.ctx, g.loadbalancerId, 'create', 'l7rule', ruleObject(g.ctx.newId(), policyId, r)),
      );
  }
}

function addListener(
  g: GraphState,
  l: ListenerInput,
  pending: Map<string, PoolInput>,
  defaultPoolId?: string | null,
): string {
  let poolId = defaultPoolId ?? null;
  if (l.default_pool) {
    const pool = graphPool(g, l.default_pool, pending);
    checkProtocols(l.protocol, pool.protocol);
    poolId = pool.id;
  }
  const id = g.ctx.newId();
  g.messages.push(
    message(g.ctx, g.loadbalancerId, 'create', 'listener', listenerObject(id, l, poolId, g.vipAddress)),
  );
  addPolicies(g, id, l.l7policies ?? [], pending);
  return id;
}

// ---- creates ----

/** A load balancer and, in the same call, its listeners and pools (Octavia's single-call create). */
export function planLoadBalancerCreate(
  ctx: PlanContext,
  body: LoadBalancerPost,
  vip: { address: string; subnetId: string; networkId: string; portId: string },
  loadbalancerId: string,
  placement: { flavorId?: string; availabilityZone?: string; groups?: string[] } = {},
): WritePlan {
  const g: GraphState = {
    ctx,
    loadbalancerId,
    messages: [],
    poolsByName: new Map(),
    vipAddress: vip.address,
  };
  g.messages.push(
    message(ctx, loadbalancerId, 'create', 'loadbalancer', {
      id: loadbalancerId,
      name: text(body.name),
      description: text(body.description),
      vip_address: vip.address,
      vip_subnet_id: vip.subnetId,
      vip_network_id: vip.networkId,
      vip_port_id: vip.portId,
      admin_state_up: flag(body.admin_state_up, true),
      tags: tagsOf(body.tags),
      ...(placement.flavorId ? { flavor_id: placement.flavorId } : {}),
      ...(placement.availabilityZone ? { availability_zone: placement.availabilityZone } : {}),
      ...(placement.groups ? { device_groups: placement.groups } : {}),
    }),
  );
  const pools = body.pools ?? [];
  const names = pools.map((p) => p.name ?? '');
  if (new Set(names).size !== names.length)
    throw faults.validation('Pool names must be unique when creating a fully populated loadbalancer.');
  const pending = new Map(pools.map((p) => [p.name ?? '', p]));
  const ports = new Set<string>();
  for (const l of body.listeners ?? []) {
    const key = `${listenerTransport(l.protocol)}:${l.protocol_port}`;
    if (ports.has(key))
      throw faults.conflict(
        `Another Listener on this Load Balancer is already using protocol ${l.protocol} and protocol_port ${l.protocol_port}`,
      );
    ports.add(key);
  }
  // Pools first (listeners and policies name them), then listeners with their policies.
  for (const p of pools) graphPool(g, p, pending);
  for (const l of body.listeners ?? []) addListener(g, l, pending);
  return { loadbalancerId, messages: g.messages, subject: { type: 'loadbalancer', id: loadbalancerId } };
}

export function planListenerCreate(ctx: PlanContext, tree: LoadBalancerTree, body: ListenerPost): WritePlan {
  const lb = tree.root.id;
  const taken = tree.listeners.find((l) => samePort(body, l.desired as ListenerSpec));
  if (taken)
    throw faults.conflict(
      `Another Listener on this Load Balancer is already using protocol ${(taken.desired as ListenerSpec).protocol} and protocol_port ${body.protocol_port}`,
    );
  if (body.default_pool_id) {
    const pool = findRecord(tree, 'pool', body.default_pool_id);
    if (!pool) throw faults.notFound('pool', body.default_pool_id);
    checkProtocols(body.protocol, (pool.desired as PoolSpec).protocol);
  }
  const g: GraphState = {
    ctx,
    loadbalancerId: lb,
    messages: [],
    poolsByName: new Map(),
    vipAddress: (tree.root.desired as { vip_address: string }).vip_address,
  };
  const { loadbalancer_id: _lb, project_id: _p, tenant_id: _t, ...listener } = body;
  const id = addListener(g, listener, new Map(), body.default_pool_id);
  return {
    loadbalancerId: lb,
    messages: g.messages,
    guard: guardOf(tree, MUTABLE),
    subject: { type: 'listener', id },
  };
}

export function planPoolCreate(ctx: PlanContext, tree: LoadBalancerTree, body: PoolPost): WritePlan {
  const lb = tree.root.id;
  const g: GraphState = {
    ctx,
    loadbalancerId: lb,
    messages: [],
    poolsByName: new Map(),
    vipAddress: (tree.root.desired as { vip_address: string }).vip_address,
  };
  let listener: ResourceRecord | undefined;
  if (body.listener_id) {
    listener = findRecord(tree, 'listener', body.listener_id);
    if (!listener) throw faults.notFound('listener', body.listener_id);
    if (defaultPoolOf(tree, listener)) throw faults.conflict('This listener already has a default pool');
    checkProtocols((listener.desired as ListenerSpec).protocol, body.protocol);
  }
  const id = addPool(g, body);
  if (listener)
    g.messages.push(message(ctx, lb, 'update', 'listener', { id: listener.id, default_pool_id: id }));
  return {
    loadbalancerId: lb,
    messages: g.messages,
    guard: guardOf(tree, MUTABLE),
    subject: { type: 'pool', id },
  };
}

export function planMemberCreate(
  ctx: PlanContext,
  tree: LoadBalancerTree,
  poolId: string,
  body: MemberPost,
): WritePlan {
  const lb = tree.root.id;
  const address = canonicalIp(body.address);
  const dup = tree.members.find(
    (m) =>
      (m.desired as MemberSpec).pool_id === poolId &&
      (m.desired as MemberSpec).address === address &&
      (m.desired as MemberSpec).protocol_port === body.protocol_port,
  );
  if (dup)
    throw faults.conflict(
      `Another member on this pool is already using ip ${body.address} on protocol_port ${body.protocol_port}`,
    );
  const id = ctx.newId();
  return {
    loadbalancerId: lb,
    messages: [message(ctx, lb, 'create', 'member', memberObject(id, poolId, body))],
    guard: guardOf(tree, MUTABLE, poolId),
    subject: { type: 'member', id },
  };
}

export function planMonitorCreate(ctx: PlanContext, tree: LoadBalancerTree, body: MonitorPost): WritePlan {
  const lb = tree.root.id;
  if (tree.healthmonitors.some((h) => (h.desired as HealthMonitorSpec).pool_id === body.pool_id))
    throw faults.conflict('This pool already has a health monitor');
  const id = ctx.newId();
  return {
    loadbalancerId: lb,
    messages: [
      message(
        ctx,
        lb,
        'create',
        'healthmonitor',
        monitorObject(
          id,
          body.pool_id,
          body,
          (findRecord(tree, 'pool', body.pool_id)?.desired as PoolSpec | undefined)?.protocol,
        ),
      ),
    ],
    guard: guardOf(tree, MUTABLE, body.pool_id),
    subject: { type: 'healthmonitor', id },
  };
}

export function planPolicyCreate(ctx: PlanContext, tree: LoadBalancerTree, body: PolicyPost): WritePlan {
  const lb = tree.root.id;
  if (!findRecord(tree, 'listener', body.listener_id)) throw faults.notFound('listener', body.listener_id);
  if (body.redirect_pool_id && !findRecord(tree, 'pool', body.redirect_pool_id))
    throw faults.notFound('pool', body.redirect_pool_id);
  const id = ctx.newId();
  const { rules, redirect_pool_id, listener_id, project_id: _p, tenant_id: _t, ...fields } = body;
  const messages = [
    message(ctx, lb, 'create', 'l7policy', policyObject(id, listener_id, fields, redirect_pool_id)),
  ];
  if ((rules ?? []).length > MAX_RULES_PER_POLICY) throw faults.conflict(`Too many rules on L7 policy ${id}`);
  for (const r of rules ?? [])
    messages.push(message(ctx, lb, 'create', 'l7rule', ruleObject(ctx.newId(), id, r)));
  return { loadbalancerId: lb, messages, guard: guardOf(tree, MUTABLE), subject: { type: 'l7policy', id } };
}

export function planRuleCreate(
  ctx: PlanContext,
  tree: LoadBalancerTree,
  policyId: string,
  body: RulePost,
): WritePlan {
  const lb = tree.root.id;
  const rules = tree.l7rules.filter((r) => (r.desired as { l7policy_id: string }).l7policy_id === policyId);
  if (rules.length >= MAX_RULES_PER_POLICY) throw faults.conflict(`Too many rules on L7 policy ${policyId}`);
  const id = ctx.newId();
  return {
    loadbalancerId: lb,
    messages: [message(ctx, lb, 'create', 'l7rule', ruleObject(id, policyId, body))],
    guard: guardOf(tree, MUTABLE),
    subject: { type: 'l7rule', id },
  };
}

// ---- updates ----

type Changes = Record<string, unknown>;

function updatePlan(
  ctx: PlanContext,
  tree: LoadBalancerTree,
  type: ResourceType,
  id: string,
  changes: Changes,
  guard: WriteGuard,
): WritePlan {
  const record = findRecord(tree, type, id) as ResourceRecord;
  const given = dropUndefined(changes);
  // An update that names nothing is still an update in Octavia (the object goes PENDING_UPDATE and
  // is applied again): it is sent as its name, unchanged.
  if (Object.keys(given).length === 0) given.name = (record.desired as { name?: string }).name ?? '';
  return {
    loadbalancerId: tree.root.id,
    messages: [message(ctx, tree.root.id, 'update', type, { id, ...given })],
    guard,
    subject: { type, id },
  };
}

const nullText = (v: string | null | undefined) => (v === undefined ? undefined : (v ?? ''));

export function planLoadBalancerUpdate(
  ctx: PlanContext,
  tree: LoadBalancerTree,
  body: LoadBalancerPut,
): WritePlan {
  return updatePlan(
    ctx,
    tree,
    'loadbalancer',
    tree.root.id,
    {
      name: nullText(body.name),
      description: nullText(body.description),
      admin_state_up: body.admin_state_up === undefined ? undefined : body.admin_state_up === true,
      tags: tagsOf(body.tags),
    },
    guardOf(tree, MUTABLE),
  );
}

/** Octavia's failover of a load balancer: here, its configuration applied to the devices again. */
export function planFailover(ctx: PlanContext, tree: LoadBalancerTree): WritePlan {
  return updatePlan(ctx, tree, 'loadbalancer', tree.root.id, {}, guardOf(tree, DELETABLE));
}

export function planListenerUpdate(
  ctx: PlanContext,
  tree: LoadBalancerTree,
  id: string,
  body: ListenerPut,
): WritePlan {
  const stored = (findRecord(tree, 'listener', id) as ResourceRecord).desired as ListenerSpec;
  if (body.default_pool_id) {
    const pool = findRecord(tree, 'pool', body.default_pool_id);
    if (!pool) throw faults.notFound('pool', body.default_pool_id);
    checkProtocols(stored.protocol, (pool.desired as PoolSpec).protocol);
  }
  const tls = stored.protocol === 'TERMINATED_HTTPS';
  if (!tls && (body.default_tls_container_ref || (body.sni_container_refs ?? []).length > 0))
    throw faults.validation(
      `Certificate container references are not allowed on ${stored.protocol} protocol listeners.`,
    );
  let headers: Record<string, string> | undefined;
  if (body.insert_headers !== undefined) {
    headers = insertHeaderFlags(body.insert_headers ?? {});
    if (Object.keys(headers).length > 0 && stored.protocol !== 'HTTP' && !tls)
      throw faults.badRequest(
        `insert-headers is not a valid option for a ${stored.protocol} protocol listener.`,
      );
  }
  return updatePlan(
    ctx,
    tree,
    'listener',
    id,
    {
      name: nullText(body.name),
      description: nullText(body.description),
      admin_state_up: body.admin_state_up === undefined ? undefined : body.admin_state_up === true,
      connection_limit: body.connection_limit === undefined ? undefined : (body.connection_limit ?? -1),
      default_pool_id: body.default_pool_id === undefined ? undefined : body.default_pool_id,
      default_tls_container_ref: body.default_tls_container_ref,
      sni_container_refs: body.sni_container_refs === undefined ? undefined : (body.sni_container_refs ?? []),
      insert_headers: headers,
      idle_timeout_ms: idleTimeout(body, stored.protocol),
      ...listenerTlsFields(body, stored.protocol, stored),
      allowed_cidrs:
        body.allowed_cidrs === undefined
          ? undefined
          : allowedCidrs(body.allowed_cidrs, (tree.root.desired as { vip_address: string }).vip_address),
      tags: tagsOf(body.tags),
    },
    guardOf(tree, MUTABLE),
  );
}

export function planPoolUpdate(
  ctx: PlanContext,
  tree: LoadBalancerTree,
  id: string,
  body: PoolPut,
): WritePlan {
  const stored = (findRecord(tree, 'pool', id) as ResourceRecord).desired as PoolSpec;
  let sp: unknown;
  if (body.session_persistence === null) sp = null;
  else if (body.session_persistence !== undefined) {
    // Octavia replaces the persistence; only a missing type is taken from what is stored.
    const given = dropUndefined(body.session_persistence);
    const merged = { ...given, type: given.type ?? stored.session_persistence?.type };
    if (!merged.type) throw faults.validation('session_persistence needs a type');
    sp = sessionPersistence(merged as PoolInput['session_persistence'], stored.protocol);
  }
  return updatePlan(
    ctx,
    tree,
    'pool',
    id,
    {
      name: nullText(body.name),
      description: nullText(body.description),
      admin_state_up: body.admin_state_up === undefined ? undefined : body.admin_state_up === true,
      lb_algorithm: body.lb_algorithm ?? undefined,
      session_persistence: sp,
      ...poolTlsFields(body, stored.protocol, stored.tls_enabled === true),
      tags: tagsOf(body.tags),
    },
    guardOf(tree, MUTABLE),
  );
}

export function planMemberUpdate(
  ctx: PlanContext,
  tree: LoadBalancerTree,
  id: string,
  body: MemberPut,
): WritePlan {
  const poolId = ((findRecord(tree, 'member', id) as ResourceRecord).desired as MemberSpec).pool_id;
  return updatePlan(
    ctx,
    tree,
    'member',
    id,
    {
      name: nullText(body.name),
      admin_state_up: body.admin_state_up === undefined ? undefined : body.admin_state_up === true,
      weight: body.weight === undefined ? undefined : (body.weight ?? 1),
      backup: body.backup === undefined ? undefined : body.backup === true,
      monitor_address: body.monitor_address,
      monitor_port: body.monitor_port,
      tags: tagsOf(body.tags),
    },
    guardOf(tree, MUTABLE, poolId),
  );
}

export function planMonitorUpdate(
  ctx: PlanContext,
  tree: LoadBalancerTree,
  id: string,
  body: MonitorPut,
): WritePlan {
  const stored = (findRecord(tree, 'healthmonitor', id) as ResourceRecord).desired as HealthMonitorSpec;
  checkUdpConnectDelay(stored.type, body.delay);
  const http = stored.type === 'HTTP' || stored.type === 'HTTPS';
  if (!http)
    for (const f of ['http_method', 'url_path', 'expected_codes'] as const)
      if (body[f])
        throw faults.badRequest(`${f} is not a valid option for health monitors of type ${stored.type}`);
  return updatePlan(
    ctx,
    tree,
    'healthmonitor',
    id,
    {
      name: nullText(body.name),
      delay: body.delay ?? undefined,
      timeout: body.timeout ?? undefined,
      max_retries: body.max_retries ?? undefined,
      max_retries_down: body.max_retries_down === undefined ? undefined : (body.max_retries_down ?? 3),
      ...(http
        ? {
            http_method: body.http_method === undefined ? undefined : (body.http_method ?? 'GET'),
            url_path: body.url_path === undefined ? undefined : (body.url_path ?? '/'),
            expected_codes:
              body.expected_codes === undefined
                ? undefined
                : (body.expected_codes ?? '200').replace(/\s+/g, ''),
          }
        : {}),
      ...(body.http_version !== undefined || body.domain_name !== undefined
        ? hostFields(
            body.http_version === undefined ? stored.http_version : body.http_version,
            body.domain_name === undefined ? stored.domain_name : body.domain_name,
          )
        : {}),
      admin_state_up: body.admin_state_up === undefined ? undefined : body.admin_state_up === true,
      tags: tagsOf(body.tags),
    },
    guardOf(tree, MUTABLE, stored.pool_id),
  );
}

export function planPolicyUpdate(
  ctx: PlanContext,
  tree: LoadBalancerTree,
  id: string,
  body: PolicyPut,
): WritePlan {
  if (body.redirect_pool_id && !findRecord(tree, 'pool', body.redirect_pool_id))
    throw faults.notFound('pool', body.redirect_pool_id);
  const stored = (findRecord(tree, 'l7policy', id) as ResourceRecord).desired as L7PolicySpec;
  const action = body.action ?? stored.action;
  if (body.action) {
    const merged = {
      redirect_url: body.redirect_url === undefined ? stored.redirect_url : body.redirect_url,
      redirect_prefix: body.redirect_prefix === undefined ? stored.redirect_prefix : body.redirect_prefix,
    };
    const pool = body.redirect_pool_id === undefined ? stored.redirect_pool_id : body.redirect_pool_id;
    if (action === 'REDIRECT_TO_POOL' && !pool)
      throw faults.badRequest(
        'Invalid L7 Policy arguments: redirect_pool_id or redirect_pool must not be None',
      );
    if (action === 'REDIRECT_TO_URL' && !merged.redirect_url)
      throw faults.badRequest('Invalid L7 Policy arguments: redirect_url must not be None');
    if (action === 'REDIRECT_PREFIX' && !merged.redirect_prefix)
      throw faults.badRequest('Invalid L7 Policy arguments: redirect_prefix must not be None');
  }
  return updatePlan(
    ctx,
    tree,
    'l7policy',
    id,
    {
      name: nullText(body.name),
      description: nullText(body.description),
      admin_state_up: body.admin_state_up === undefined ? undefined : body.admin_state_up === true,
      action: body.action ?? undefined,
      redirect_pool_id: body.redirect_pool_id,
      redirect_url: body.redirect_url,
      redirect_prefix: body.redirect_prefix,
      redirect_http_code: body.redirect_http_code,
      position: body.position ?? undefined,
      tags: tagsOf(body.tags),
    },
    guardOf(tree, MUTABLE),
  );
}

export function planRuleUpdate(
  ctx: PlanContext,
  tree: LoadBalancerTree,
  id: string,
  body: RulePut,
): WritePlan {
  return updatePlan(
    ctx,
    tree,
    'l7rule',
    id,
    {
      type: body.type ?? undefined,
      compare_type: body.compare_type ?? undefined,
      key: body.key,
      value: body.value ?? undefined,
      invert: body.invert === undefined ? undefined : body.invert === true,
      admin_state_up: body.admin_state_up === undefined ? undefined : body.admin_state_up === true,
      tags: tagsOf(body.tags),
    },
    guardOf(tree, MUTABLE),
  );
}

// ---- deletes ----

export function planDelete(
  ctx: PlanContext,
  tree: LoadBalancerTree,
  type: ResourceType,
  id: string,
  options: { cascade?: boolean } = {},
): WritePlan {
  const lb = tree.root.id;
  const del = (resource: ResourceType, objectId: string) =>
    message(ctx, lb, 'delete', resource, { id: objectId });
  if (type === 'loadbalancer') {
    if ((tree.listeners.length > 0 || tree.pools.length > 0) && !options.cascade)
      throw faults.validation(`Cannot delete Load Balancer ${lb} - it has children`);
    return {
      loadbalancerId: lb,
      messages: [del('loadbalancer', lb)],
      guard: guardOf(tree, DELETABLE),
      subject: { type, id },
    };
  }
  const messages: RequestMessage[] = [];
  let pool: string | undefined;
  if (type === 'pool') {
    // Octavia lets go of a deleted pool in the listeners using it as their default pool.
    for (const l of tree.listeners)
      if ((l.desired as ListenerSpec).default_pool_id === id)
        messages.push(message(ctx, lb, 'update', 'listener', { id: l.id, default_pool_id: null }));
  }
  if (type === 'member')
    pool = ((findRecord(tree, 'member', id) as ResourceRecord).desired as MemberSpec).pool_id;
  if (type === 'healthmonitor')
    pool = ((findRecord(tree, 'healthmonitor', id) as ResourceRecord).desired as HealthMonitorSpec).pool_id;
  messages.push(del(type, id));
  return { loadbalancerId: lb, messages, guard: guardOf(tree, MUTABLE, pool), subject: { type, id } };
}

// ---- member batch ----

/**
 * Octavia's batch member update (`PUT /pools/{id}/members`): members are matched on address and
 * port; a listed member that exists keeps its id (and is updated), a new one gets an id, and
 * (unless `additive_only`) the pool's members not listed are deleted. One request message.
 */
export function planMemberBatch(
  ctx: PlanContext,
  tree: LoadBalancerTree,
  poolId: string,
  members: readonly MemberPost[],
  additiveOnly: boolean,
): WritePlan {
  const lb = tree.root.id;
  const existing = new Map(
    tree.members
      .filter(
        (m) => (m.desired as MemberSpec).pool_id === poolId && m.provisioningStatus !== 'PENDING_DELETE',
      )
      .map((m) => [`${(m.desired as MemberSpec).address}:${(m.desired as MemberSpec).protocol_port}`, m]),
  );
  const seen = new Set<string>();
  const listed = members.map((m) => {
    const endpoint = `${canonicalIp(m.address)}:${m.protocol_port}`;
    if (seen.has(endpoint))
      throw faults.badRequest(`Member ${m.address}:${m.protocol_port} is listed twice in the batch.`);
    seen.add(endpoint);
    const current = existing.get(endpoint);
    const { project_id: _p, tenant_id: _t, ...fields } = m;
    return memberObject(current?.id ?? ctx.newId(), poolId, fields);
  });
  return {
    loadbalancerId: lb,
    messages: [
      message(ctx, lb, 'batch_update', 'member', {
        pool_id: poolId,
        members: listed,
        additive_only: additiveOnly,
      }),
    ],
    guard: guardOf(tree, MUTABLE, poolId),
    subject: { type: 'pool', id: poolId },
  };
}

// ---- projection (what the tree will hold once a message is recorded) ----

/**
 * The records after a request is recorded, as the resources table will hold them (new objects
 * PENDING_CREATE, changed ones PENDING_UPDATE, deleted ones PENDING_DELETE): a graph create's later
 * requests are checked against the objects its earlier ones create.
 */
export function projectRecords(
  records: readonly ResourceRecord[],
  request: LbaasRequest,
  env: string,
  nowMs: number,
): ResourceRecord[] {
  const out = records.map((r) => ({ ...r }));
  const touch = (type: ResourceType, id: string, status: ProvisioningStatus, changes: Changes = {}) => {
    const r = out.find((x) => x.type === type && x.id === id);
    if (!r) return;
    r.desired = { ...(r.desired as object), ...changes } as ResourceRecord['desired'];
    r.provisioningStatus = status;
    r.revision += 1;
    r.requestId = request.requestId;
    r.updatedAt = nowMs;
  };
  const create = (type: ResourceType, object: { id: string }) =>
    out.push({
      loadbalancerId: request.loadbalancerId,
      type,
      id: object.id,
      tenantId: request.tenantId,
      env,
      desired: object as ResourceRecord['desired'],
      provisioningStatus: 'PENDING_CREATE',
      operatingStatus: 'OFFLINE',
      revision: 1,
      requestId: request.requestId,
      createdAt: nowMs,
      updatedAt: nowMs,
    });
  if (request.operation === 'batch_update') {
    const batch = request.object;
    const ids = new Set(batch.members.map((m) => m.id));
    for (const m of batch.members) {
      if (out.some((r) => r.type === 'member' && r.id === m.id)) touch('member', m.id, 'PENDING_UPDATE', m);
      else create('member', m);
    }
    if (!batch.additive_only)
      for (const r of out)
        if (r.type === 'member' && (r.desired as MemberSpec).pool_id === batch.pool_id && !ids.has(r.id))
          touch('member', r.id, 'PENDING_DELETE');
    touch('pool', batch.pool_id, 'PENDING_UPDATE');
  } else if (request.operation === 'create') create(request.resource, request.object);
  else if (request.operation === 'update')
    touch(request.resource, request.object.id, 'PENDING_UPDATE', request.changes);
  else touch(request.resource, request.object.id, 'PENDING_DELETE');
  if (request.resource !== 'loadbalancer') touch('loadbalancer', request.loadbalancerId, 'PENDING_UPDATE');
  return out;
}

/** The answer's object when a plan names one that is not in the tree (it cannot happen once recorded). */
export function missing(type: ResourceType, id: string): OctaviaFault {
  return new OctaviaFault(500, `${DISPLAY_NAMES[type]} ${id} was recorded but cannot be read back.`);
}
