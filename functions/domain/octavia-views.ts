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
 * How each object is shown through the Octavia v2 API: the fields Octavia returns (its
 * `octavia/api/v2/types/*.py` responses, as the reference Octavia answers them), filled from the
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

/** Octavia's listener timeouts (ms) and the values shown for options this provider leaves at their default. */
export const LISTENER_DEFAULTS = {
  timeout_client_data: 50_000,
  timeout_member_connect: 5_000,
  timeout_member_data: 50_000,
  timeout_tcp_inspect: 0,
} as const;

/** Octavia's timestamps: ISO 8601 without a zone (UTC), as its API prints them. */
export function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '');
}

const ids = (records: readonly ResourceRecord[]) => records.map((r) => ({ id: r.id }));

function common(record: ResourceRecord) {
  return {
    id: record.id,
    provisioning_status: record.provisioningStatus,
    operating_status: record.operatingStatus,
    project_id: record.tenantId,
    tenant_id: record.tenantId,
    created_at: timestamp(record.createdAt),
    updated_at: timestamp(record.updatedAt),
    tags: (record.desired as { tags?: string[] }).tags ?? [],
  };
}

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
    id: r.id,
    name: d.name,
    description: d.description,
    provisioning_status: r.provisioningStatus,
    operating_status: r.operatingStatus,
    admin_state_up: d.admin_state_up,
    project_id: r.tenantId,
    created_at: timestamp(r.createdAt),
    updated_at: timestamp(r.updatedAt),
    vip_address: d.vip_address,
    vip_port_id: d.vip_port_id ?? vipPortId(r.id),
    vip_subnet_id: d.vip_subnet_id ?? null,
    vip_network_id: d.vip_network_id ?? null,
    additional_vips: [],
    listeners: ids(tree.listeners),
    pools: ids(tree.pools),
    provider: PROVIDER,
    flavor_id: null,
    vip_qos_policy_id: null,
    tags: d.tags ?? [],
    availability_zone: null,
    tenant_id: r.tenantId,
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
    admin_state_up: d.admin_state_up,
    protocol: d.protocol,
    protocol_port: d.protocol_port,
    connection_limit: d.connection_limit,
    default_tls_container_ref: d.default_tls_container_ref,
    sni_container_refs: d.sni_container_refs,
    default_pool_id: defaultPoolOf(tree, r),
    l7policies: ids(policies),
    insert_headers: d.insert_headers,
    loadbalancers: [{ id: tree.root.id }],
    ...LISTENER_DEFAULTS,
    client_ca_tls_container_ref: null,
    client_authentication: 'NONE',
    client_crl_container_ref: null,
    allowed_cidrs: null,
    tls_ciphers: null,
    tls_versions: null,
    alpn_protocols: null,
  };
}

export function poolView(tree: LoadBalancerTree, r: ResourceRecord): OctaviaObject {
  const d = r.desired as PoolSpec;
  const monitor = tree.healthmonitors.find((h) => (h.desired as HealthMonitorSpec).pool_id === r.id);
  const members = tree.members.filter((m) => (m.desired as MemberSpec).pool_id === r.id);
  const sp = d.session_persistence;
  return {
    ...common(r),
    name: d.name,
    description: d.description,
    admin_state_up: d.admin_state_up,
    protocol: d.protocol,
    lb_algorithm: d.lb_algorithm,
    session_persistence: sp
      ? {
          type: sp.type,
          cookie_name: sp.cookie_name ?? null,
          persistence_timeout: null,
          persistence_granularity: null,
        }
      : null,
    loadbalancers: [{ id: tree.root.id }],
    listeners: ids(listenersOfPool(tree, r)),
    healthmonitor_id: monitor?.id ?? null,
    members: ids(members),
    tls_container_ref: null,
    ca_tls_container_ref: null,
    crl_container_ref: null,
    tls_enabled: false,
    tls_ciphers: null,
    tls_versions: null,
    alpn_protocols: null,
  };
}

export function memberView(r: ResourceRecord): OctaviaObject {
  const d = r.desired as MemberSpec;
  return {
    ...common(r),
    name: d.name,
    admin_state_up: d.admin_state_up,
    address: d.written_address ?? d.address,
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
    admin_state_up: d.admin_state_up,
    pools: [{ id: d.pool_id }],
    http_version: null,
    domain_name: null,
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
    admin_state_up: d.admin_state_up,
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
    admin_state_up: d.admin_state_up,
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
    const monitor = tree.healthmonitors.find((h) => (h.desired as HealthMonitorSpec).pool_id === pool.id);
    return {
      ...status(pool),
      ...(monitor
        ? { health_monitor: { ...status(monitor), type: (monitor.desired as HealthMonitorSpec).type } }
        : {}),
      members: tree.members
        .filter((m) => (m.desired as MemberSpec).pool_id === pool.id)
        .map((m) => ({
          ...status(m),
          address: (m.desired as MemberSpec).written_address ?? (m.desired as MemberSpec).address,
          protocol_port: (m.desired as MemberSpec).protocol_port,
        })),
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
