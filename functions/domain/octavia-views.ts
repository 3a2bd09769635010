import { orderedPolicies, policyPositions } from './l7-policies.js';
import type {
  HealthMonitorSpec,
  L7PolicySpec,
  L7RuleSpec,
  ListenerSpec,
  LoadBalancerSpec,
  MemberSpec,
  PoolSpec,
  ResourceType,
} from './lbaas-request.js';
import { vipPortId } from './networks.js';
import { PROVIDER } from './octavia-faults.js';
import type { LoadBalancerTree, ResourceRecord } from './resource-state.js';

/**
 * How each object is shown through the Octavia v2 API: the fields Octavia returns (as the
 * reference Octavia answers them; docs/octavia-api.md, "Answers"), filled from the
 * recorded object, its statuses and its load balancer's tree. Fields this system does not
 * implement are shown with Octavia's defaults (a request that sets them otherwise is refused
 * with 501 before anything is recorded).
 */

export type OctaviaObject = Record<string, unknown>;

/** The JSON keys of each resource: one object, a list, and the path segment. */
export const ROOT_TAGS: Record<ResourceType, { one: string; many: string }> = {
  loadbalancer: { one: 'loadbalancer', many: 'loadbalancers' },
  listener: { one: 'listener', many: 'listeners' },
  pool: { one: 'pool', many: 'pools' },
  member: { one: 'member', many: 'members' },
  healthmonitor: { one: 'healthmonitor', many: 'healthmonitors' },
  l7policy: { one: 'l7policy', many: 'l7policies' },
  l7rule: { one: 'rule', many: 'rules' },
};

/** Octavia's timestamps: ISO 8601 without a zone (UTC), as its API prints them. */
export function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '');
}

const ids = (records: readonly ResourceRecord[]) => records.map((r) => ({ id: r.id }));

/** The fields every object shows: its id, statuses, project, times, tags and admin state. */
function common(record: ResourceRecord) {
  const d = record.desired as { tags?: string[]; admin_state_up: boolean };
  return {
    id: record.id,
    provisioning_status: record.provisioningStatus,
    operating_status: record.operatingStatus,
    project_id: record.tenantId,
    tenant_id: record.tenantId,
    created_at: timestamp(record.createdAt),
    updated_at: timestamp(record.updatedAt),
    tags: d.tags ?? [],
    admin_state_up: d.admin_state_up,
  };
}

/** A pool's health monitor, if it has one. */
function monitorOf(tree: LoadBalancerTree, pool: ResourceRecord): ResourceRecord | undefined {
  return tree.healthmonitors.find((h) => (h.desired as HealthMonitorSpec).pool_id === pool.id);
}

function membersOf(tree: LoadBalancerTree, pool: ResourceRecord): ResourceRecord[] {
  return tree.members.filter((m) => (m.desired as MemberSpec).pool_id === pool.id);
}

/** The address a member shows: the one written on the device when it differs from the one asked for. */
function memberAddress(d: MemberSpec): string {
  return d.written_address ?? d.address;
}

/**
 * TLS tuning as applied: the object's own versions and cipher string, or null where it set none (the
 * parent profile's apply). ALPN is not translated (501), so it is always null.
 */
const tuning = (d: {
  tls_versions?: string[] | null | undefined;
  tls_ciphers?: string | null | undefined;
}) => ({
  tls_ciphers: d.tls_ciphers ?? null,
  tls_versions: d.tls_versions ?? null,
  alpn_protocols: null,
});

/** The listener whose default pool a pool is (its own `default_pool_id`, or the pool's `listener_id`). */
export function defaultPoolOf(tree: LoadBalancerTree, listener: ResourceRecord): string | null {
  const spec = listener.desired as ListenerSpec;
  if (spec.default_pool_id) return spec.default_pool_id;
  return tree.pools.find((p) => (p.desired as PoolSpec).listener_id === listener.id)?.id ?? null;
}

/** A listener's pools: its default pool and the pools its L7 policies redirect to (Octavia's `Listener.pools`). */
function poolsOfListener(tree: LoadBalancerTree, listener: ResourceRecord): ResourceRecord[] {
  const wanted = new Set<string>();
  const def = defaultPoolOf(tree, listener);
  if (def) wanted.add(def);
  for (const p of tree.l7policies) {
    const spec = p.desired as L7PolicySpec;
    if (spec.listener_id === listener.id && spec.action === 'REDIRECT_TO_POOL' && spec.redirect_pool_id)
      wanted.add(spec.redirect_pool_id);
  }
  return tree.pools.filter((p) => wanted.has(p.id));
}

function listenersOfPool(tree: LoadBalancerTree, pool: ResourceRecord): ResourceRecord[] {
  return tree.listeners.filter((l) => defaultPoolOf(tree, l) === pool.id);
}

export function loadBalancerView(tree: LoadBalancerTree): OctaviaObject {
  const r = tree.root;
  const d = r.desired as LoadBalancerSpec;
  return {
    ...common(r),
    name: d.name,
    description: d.description,
    vip_address: d.vip_address,
    vip_port_id: d.vip_port_id ?? vipPortId(r.id),
    vip_subnet_id: d.vip_subnet_id ?? null,
    vip_network_id: d.vip_network_id ?? null,
    additional_vips: [],
    listeners: ids(tree.listeners),
    pools: ids(tree.pools),
    provider: PROVIDER,
    flavor_id: d.flavor_id ?? null,
    vip_qos_policy_id: null,
    availability_zone: d.availability_zone ?? null,
  };
}

export function listenerView(tree: LoadBalancerTree, r: ResourceRecord): OctaviaObject {
  const d = r.desired as ListenerSpec;
  const policies = orderedPolicies(
    tree.l7policies.filter((p) => (p.desired as L7PolicySpec).listener_id === r.id),
  );
  return {
    ...common(r),
    name: d.name,
    description: d.description,
    protocol: d.protocol,
    protocol_port: d.protocol_port,
    connection_limit: d.connection_limit,
    default_tls_container_ref: d.default_tls_container_ref,
    sni_container_refs: d.sni_container_refs,
    default_pool_id: defaultPoolOf(tree, r),
    l7policies: ids(policies),
    insert_headers: d.insert_headers,
    loadbalancers: [{ id: tree.root.id }],
    // What the device applies (docs/octavia-api.md): the listener's own idle timeout on both sides,
    // else null (the built-in profile's own timeout); no BIG-IP setting is a connect or inspect timeout.
    timeout_client_data: d.idle_timeout_ms ?? null,
    timeout_member_connect: null,
    timeout_member_data: d.idle_timeout_ms ?? null,
    timeout_tcp_inspect: null,
    client_ca_tls_container_ref: d.client_ca_tls_container_ref ?? null,
    client_authentication: d.client_authentication ?? 'NONE',
    client_crl_container_ref: null,
    // Octavia shows no list as null.
    allowed_cidrs: d.allowed_cidrs && d.allowed_cidrs.length > 0 ? d.allowed_cidrs : null,
    ...tuning(d),
  };
}

export function poolView(tree: LoadBalancerTree, r: ResourceRecord): OctaviaObject {
  const d = r.desired as PoolSpec;
  const monitor = monitorOf(tree, r);
  const sp = d.session_persistence;
  return {
    ...common(r),
    name: d.name,
    description: d.description,
    protocol: d.protocol,
    lb_algorithm: d.lb_algorithm,
    session_persistence: sp
      ? {
          type: sp.type,
          cookie_name: sp.cookie_name ?? null,
          persistence_timeout: sp.persistence_timeout ?? null,
          persistence_granularity: sp.persistence_granularity ?? null,
        }
      : null,
    loadbalancers: [{ id: tree.root.id }],
    listeners: ids(listenersOfPool(tree, r)),
    healthmonitor_id: monitor?.id ?? null,
    members: ids(membersOf(tree, r)),
    tls_container_ref: d.tls_container_ref ?? null,
    ca_tls_container_ref: d.ca_tls_container_ref ?? null,
    crl_container_ref: null,
    tls_enabled: d.tls_enabled === true,
    ...tuning(d),
  };
}

export function memberView(r: ResourceRecord): OctaviaObject {
  const d = r.desired as MemberSpec;
  return {
    ...common(r),
    name: d.name,
    address: memberAddress(d),
    protocol_port: d.protocol_port,
    weight: d.weight,
    backup: d.backup ?? false,
    subnet_id: d.subnet_id ?? null,
    monitor_address: d.monitor_address ?? null,
    monitor_port: d.monitor_port ?? null,
    pool_id: d.pool_id,
  };
}

export function healthMonitorView(r: ResourceRecord): OctaviaObject {
  const d = r.desired as HealthMonitorSpec;
  const http = d.type === 'HTTP' || d.type === 'HTTPS';
  return {
    ...common(r),
    name: d.name,
    type: d.type,
    delay: d.delay,
    timeout: d.timeout,
    max_retries: d.max_retries,
    max_retries_down: d.max_retries_down,
    // Octavia shows the HTTP fields only for HTTP(S) monitors.
    http_method: http ? d.http_method : null,
    url_path: http ? d.url_path : null,
    expected_codes: http ? d.expected_codes : null,
    pools: [{ id: d.pool_id }],
    // Stored monitors from before these fields existed have neither.
    http_version: d.http_version ?? null,
    domain_name: d.domain_name ?? null,
  };
}

export function l7PolicyView(tree: LoadBalancerTree, r: ResourceRecord): OctaviaObject {
  const d = r.desired as L7PolicySpec;
  const rules = tree.l7rules.filter((x) => (x.desired as L7RuleSpec).l7policy_id === r.id);
  const positions = policyPositions(allOf(tree), d.listener_id);
  return {
    ...common(r),
    name: d.name,
    description: d.description,
    action: d.action,
    listener_id: d.listener_id,
    redirect_pool_id: d.redirect_pool_id,
    redirect_url: d.redirect_url,
    redirect_prefix: d.redirect_prefix,
    redirect_http_code: d.redirect_http_code,
    position: positions.get(r.id) ?? d.position,
    rules: ids(rules),
  };
}

export function l7RuleView(r: ResourceRecord): OctaviaObject {
  const d = r.desired as L7RuleSpec;
  return {
    ...common(r),
    type: d.type,
    compare_type: d.compare_type,
    key: d.key,
    value: d.value,
    invert: d.invert,
    l7policy_id: d.l7policy_id,
  };
}

function allOf(tree: LoadBalancerTree): ResourceRecord[] {
  return [
    tree.root,
    ...tree.listeners,
    ...tree.pools,
    ...tree.members,
    ...tree.healthmonitors,
    ...tree.l7policies,
    ...tree.l7rules,
  ];
}

/** Fields a view carries that Octavia does not show on that resource (used to find parents). */
const HIDDEN: Partial<Record<ResourceType, string[]>> = {
  member: ['pool_id'],
  l7rule: ['l7policy_id'],
};

/** The view of any object of a tree, Octavia's fields only. */
export function viewOf(tree: LoadBalancerTree, record: ResourceRecord): OctaviaObject {
  const view = internalView(tree, record);
  for (const key of HIDDEN[record.type] ?? []) delete view[key];
  return view;
}

/** A view with the parent ids kept (for filtering members by pool, rules by policy). */
export function internalView(tree: LoadBalancerTree, record: ResourceRecord): OctaviaObject {
  switch (record.type) {
    case 'loadbalancer':
      return loadBalancerView(tree);
    case 'listener':
      return listenerView(tree, record);
    case 'pool':
      return poolView(tree, record);
    case 'member':
      return memberView(record);
    case 'healthmonitor':
      return healthMonitorView(record);
    case 'l7policy':
      return l7PolicyView(tree, record);
    case 'l7rule':
      return l7RuleView(record);
  }
}

export function hiddenFields(type: ResourceType): readonly string[] {
  return HIDDEN[type] ?? [];
}

/** Octavia's status tree (`GET /loadbalancers/{id}/status`): the load balancer, its listeners, their pools. */
export function statusTree(tree: LoadBalancerTree) {
  const status = (r: ResourceRecord) => ({
    id: r.id,
    name: (r.desired as { name?: string }).name ?? '',
    operating_status: r.operatingStatus,
    provisioning_status: r.provisioningStatus,
  });
  const poolStatus = (pool: ResourceRecord) => {
    const monitor = monitorOf(tree, pool);
    return {
      ...status(pool),
      ...(monitor
        ? { health_monitor: { ...status(monitor), type: (monitor.desired as HealthMonitorSpec).type } }
        : {}),
      members: membersOf(tree, pool).map((m) => {
        const d = m.desired as MemberSpec;
        return { ...status(m), address: memberAddress(d), protocol_port: d.protocol_port };
      }),
    };
  };
  return {
    statuses: {
      loadbalancer: {
        ...status(tree.root),
        listeners: tree.listeners.map((l) => ({
          ...status(l),
          pools: poolsOfListener(tree, l).map(poolStatus),
        })),
      },
    },
  };
}
