import { z } from 'zod';
import { OctaviaFault, PROVIDER } from './octavia-faults.js';

/**
 * Octavia's request bodies, checked as Octavia's API checks them (docs/octavia-api.md):
 * every attribute Octavia knows is accepted with its type and range, an unknown attribute is a
 * 400, and a value this provider does not implement (a protocol, an algorithm, TLS options,
 * timeouts other than the defaults...) is a 501 naming it, never silently dropped. What passes is
 * handed on with Octavia's names; mapping onto the request message is the planner's
 * (octavia-requests.ts).
 */

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const uuid = z
  .string()
  .regex(UUID_RE, { error: 'must be a UUID' })
  .transform((s) => s.toLowerCase());
const str = (max = 255) => z.string().max(max, { error: `must be at most ${max} characters` });
const tags = z.array(str(), { error: 'must be a list of strings' });
const ip = z.union([z.ipv4(), z.ipv6()], { error: 'must be an IP address' });
/** An integer, also as a string of digits (Octavia's WSME integers take "80" as 80; the peer suite sends that). */
const int = (min: number, max: number) =>
  z
    .union(
      [
        z.int(),
        z
          .string()
          .regex(/^-?\d+$/)
          .transform(Number),
      ],
      { error: 'must be an integer' },
    )
    .pipe(
      z
        .int()
        .min(min, { error: `must be at least ${min}` })
        .max(max, { error: `must be at most ${max}` }),
    );
const port = int(1, 65535);
const MAX_TIMEOUT = 24 * 24 * 60 * 60 * 1000;
const timeout = int(0, MAX_TIMEOUT);
const cidr = z.union([z.cidrv4(), z.cidrv6()], { error: 'must be a CIDR' });

/** Octavia's enumerations, and the part of each this provider implements. */
const OCTAVIA_ENUMS = {
  listenerProtocol: ['TCP', 'HTTPS', 'HTTP', 'TERMINATED_HTTPS', 'UDP', 'SCTP', 'PROMETHEUS'],
  poolProtocol: ['TCP', 'HTTP', 'HTTPS', 'PROXY', 'PROXYV2', 'UDP', 'SCTP'],
  lbAlgorithm: ['LEAST_CONNECTIONS', 'ROUND_ROBIN', 'SOURCE_IP', 'SOURCE_IP_PORT'],
  sessionPersistence: ['SOURCE_IP', 'HTTP_COOKIE', 'APP_COOKIE'],
  monitorType: ['HTTP', 'HTTPS', 'PING', 'TCP', 'TLS-HELLO', 'UDP-CONNECT', 'SCTP'],
  httpMethod: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'TRACE', 'OPTIONS', 'CONNECT', 'PATCH'],
  l7Action: ['REJECT', 'REDIRECT_TO_URL', 'REDIRECT_TO_POOL', 'REDIRECT_PREFIX'],
  l7RuleType: [
    'HOST_NAME',
    'PATH',
    'FILE_TYPE',
    'HEADER',
    'COOKIE',
    'SSL_CONN_HAS_CERT',
    'SSL_VERIFY_RESULT',
    'SSL_DN_FIELD',
  ],
  compareType: ['REGEX', 'STARTS_WITH', 'ENDS_WITH', 'CONTAINS', 'EQUAL_TO'],
  clientAuthentication: ['NONE', 'OPTIONAL', 'MANDATORY'],
  redirectCode: [301, 302, 303, 307, 308],
} as const;

export const SUPPORTED = {
  listenerProtocol: ['TCP', 'HTTPS', 'HTTP', 'TERMINATED_HTTPS', 'UDP'],
  poolProtocol: ['TCP', 'HTTP', 'HTTPS', 'UDP', 'PROXY', 'PROXYV2'],
  lbAlgorithm: ['LEAST_CONNECTIONS', 'ROUND_ROBIN', 'SOURCE_IP', 'SOURCE_IP_PORT'],
  monitorType: ['HTTP', 'HTTPS', 'PING', 'TCP', 'TLS-HELLO', 'UDP-CONNECT'],
  httpMethod: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'TRACE', 'OPTIONS', 'CONNECT', 'PATCH'],
  l7RuleType: ['HOST_NAME', 'PATH', 'FILE_TYPE', 'HEADER', 'COOKIE'],
  compareType: ['REGEX', 'STARTS_WITH', 'ENDS_WITH', 'CONTAINS', 'EQUAL_TO'],
  insertHeaders: ['X-Forwarded-For', 'X-Forwarded-Port', 'X-Forwarded-Proto'],
} as const;

/** Why each unsupported value is refused (the 501's words; docs/octavia-api.md lists them). */
const WHY = {
  protocol:
    'SCTP and PROMETHEUS listeners (no description of a BIG-IP SCTP virtual server is at hand to build one against; PROMETHEUS is an amphora metrics endpoint)',
  poolProtocol:
    'SCTP pools (no description of a BIG-IP SCTP virtual server, profile or monitor is at hand to build and check one against)',
  monitorType: {
    SCTP: 'no description of the BIG-IP sctp monitor is at hand to build one against',
  } as Record<string, string>,
};

const enumOf = <T extends readonly (string | number)[]>(values: T, what: string) =>
  z.enum(values as unknown as [string, ...string[]], {
    error: `Value should be one of: ${values.join(', ')} (${what})`,
  });

const memberSingle = z.strictObject({
  name: str().nullish(),
  admin_state_up: z.boolean().nullish(),
  address: ip,
  protocol_port: port,
  weight: int(0, 256).nullish(),
  backup: z.boolean().nullish(),
  subnet_id: uuid.nullish(),
  monitor_port: port.nullish(),
  monitor_address: ip.nullish(),
  tags: tags.nullish(),
});
const memberPost = memberSingle.extend({ project_id: str(36).nullish(), tenant_id: str(36).nullish() });
const memberPut = z.strictObject({
  name: str().nullish(),
  admin_state_up: z.boolean().nullish(),
  weight: int(0, 256).nullish(),
  backup: z.boolean().nullish(),
  monitor_port: port.nullish(),
  monitor_address: ip.nullish(),
  tags: tags.nullish(),
});

const monitorFields = {
  name: str().nullish(),
  delay: int(0, Number.MAX_SAFE_INTEGER),
  timeout: int(0, Number.MAX_SAFE_INTEGER),
  max_retries_down: int(1, 10).nullish(),
  max_retries: int(1, 10),
  http_method: enumOf(OCTAVIA_ENUMS.httpMethod, 'http_method').nullish(),
  url_path: z
    .string()
    .regex(/^\/[^\s]*$/, { error: 'must be a URL path' })
    .nullish(),
  expected_codes: z
    .string()
    .regex(/^(\d{3}(\s*,\s*\d{3})*)$|^(\d{3}-\d{3})$/, {
      error: 'must be codes such as 200, 200,202 or 200-204',
    })
    .nullish(),
  admin_state_up: z.boolean().nullish(),
  tags: tags.nullish(),
  http_version: z
    .union([z.literal(1.0), z.literal(1.1)], { error: 'Value should be one of: 1.0, 1.1' })
    .nullish(),
  domain_name: str().nullish(),
};
const monitorSingle = z.strictObject({ ...monitorFields, type: enumOf(OCTAVIA_ENUMS.monitorType, 'type') });
const monitorPost = monitorSingle.extend({
  pool_id: uuid,
  project_id: str(36).nullish(),
  tenant_id: str(36).nullish(),
});
const monitorPut = z.strictObject({
  ...monitorFields,
  delay: monitorFields.delay.nullish(),
  timeout: monitorFields.timeout.nullish(),
  max_retries: monitorFields.max_retries.nullish(),
});

const persistence = z.strictObject({
  type: enumOf(OCTAVIA_ENUMS.sessionPersistence, 'session_persistence.type'),
  cookie_name: z
    .string()
    .max(255)
    .regex(/^[^\s,;\\]+$/, { error: 'must be a cookie name' })
    .nullish(),
  persistence_timeout: int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER).nullish(),
  persistence_granularity: ip.nullish(),
});

const poolTls = {
  tls_container_ref: str().nullish(),
  ca_tls_container_ref: str().nullish(),
  crl_container_ref: str().nullish(),
  tls_enabled: z.boolean().nullish(),
  tls_ciphers: str(2048).nullish(),
  tls_versions: z.array(str(32)).nullish(),
  alpn_protocols: z.array(str()).nullish(),
};
const poolSingle = z.strictObject({
  name: str().nullish(),
  description: str().nullish(),
  admin_state_up: z.boolean().nullish(),
  protocol: enumOf(OCTAVIA_ENUMS.poolProtocol, 'protocol').nullish(),
  lb_algorithm: enumOf(OCTAVIA_ENUMS.lbAlgorithm, 'lb_algorithm').nullish(),
  session_persistence: persistence.nullish(),
  healthmonitor: monitorSingle.nullish(),
  members: z.array(memberSingle).nullish(),
  tags: tags.nullish(),
  ...poolTls,
});
const poolPost = poolSingle.extend({
  protocol: enumOf(OCTAVIA_ENUMS.poolProtocol, 'protocol'),
  lb_algorithm: enumOf(OCTAVIA_ENUMS.lbAlgorithm, 'lb_algorithm'),
  listener_id: uuid.nullish(),
  loadbalancer_id: uuid.nullish(),
  project_id: str(36).nullish(),
  tenant_id: str(36).nullish(),
});
const poolPut = z.strictObject({
  name: str().nullish(),
  description: str().nullish(),
  admin_state_up: z.boolean().nullish(),
  lb_algorithm: enumOf(OCTAVIA_ENUMS.lbAlgorithm, 'lb_algorithm').nullish(),
  session_persistence: persistence.partial().nullish(),
  tags: tags.nullish(),
  ...poolTls,
});

const ruleFields = {
  type: enumOf(OCTAVIA_ENUMS.l7RuleType, 'type'),
  compare_type: enumOf(OCTAVIA_ENUMS.compareType, 'compare_type'),
  key: z
    .string()
    .max(255)
    .regex(/^[^\r\n]*$/)
    .nullish(),
  value: z
    .string()
    .max(255)
    .regex(/^[^\r\n]*$/),
  invert: z.boolean().nullish(),
  admin_state_up: z.boolean().nullish(),
  tags: tags.nullish(),
};
const ruleSingle = z.strictObject(ruleFields);
const rulePost = ruleSingle.extend({ project_id: str(36).nullish(), tenant_id: str(36).nullish() });
const rulePut = z.strictObject({
  ...ruleFields,
  type: ruleFields.type.nullish(),
  compare_type: ruleFields.compare_type.nullish(),
  value: ruleFields.value.nullish(),
});

const url = z.url({ protocol: /^https?$/, error: 'must be an http or https URL' });
const policyFields = {
  name: str().nullish(),
  description: str().nullish(),
  admin_state_up: z.boolean().nullish(),
  action: enumOf(OCTAVIA_ENUMS.l7Action, 'action'),
  redirect_url: url.nullish(),
  redirect_prefix: url.nullish(),
  position: int(1, 2_147_483_647).nullish(),
  tags: tags.nullish(),
  redirect_http_code: z
    .union(
      OCTAVIA_ENUMS.redirectCode.map((c) => z.literal(c)),
      { error: 'Value should be one of: 301, 302, 303, 307, 308' },
    )
    .nullish(),
};
const policySingle = z.strictObject({
  ...policyFields,
  redirect_pool: poolSingle.nullish(),
  rules: z.array(ruleSingle).nullish(),
});
const policyPost = z.strictObject({
  ...policyFields,
  redirect_pool_id: uuid.nullish(),
  listener_id: uuid,
  rules: z.array(ruleSingle).nullish(),
  project_id: str(36).nullish(),
  tenant_id: str(36).nullish(),
});
const policyPut = z.strictObject({
  ...policyFields,
  action: policyFields.action.nullish(),
  redirect_pool_id: uuid.nullish(),
});

const listenerFields = {
  name: str().nullish(),
  description: str().nullish(),
  admin_state_up: z.boolean().nullish(),
  connection_limit: int(-1, Number.MAX_SAFE_INTEGER).nullish(),
  default_tls_container_ref: str().nullish(),
  sni_container_refs: z.array(str()).nullish(),
  default_pool_id: uuid.nullish(),
  insert_headers: z.record(z.string(), str()).nullish(),
  timeout_client_data: timeout.nullish(),
  timeout_member_connect: timeout.nullish(),
  timeout_member_data: timeout.nullish(),
  timeout_tcp_inspect: timeout.nullish(),
  tags: tags.nullish(),
  client_ca_tls_container_ref: str().nullish(),
  client_authentication: enumOf(OCTAVIA_ENUMS.clientAuthentication, 'client_authentication').nullish(),
  client_crl_container_ref: str().nullish(),
  allowed_cidrs: z.array(cidr).nullish(),
  tls_ciphers: str(2048).nullish(),
  tls_versions: z.array(str(32)).nullish(),
  alpn_protocols: z.array(str()).nullish(),
};
const listenerSingle = z.strictObject({
  ...listenerFields,
  protocol: enumOf(OCTAVIA_ENUMS.listenerProtocol, 'protocol'),
  protocol_port: port,
  default_pool: poolSingle.nullish(),
  l7policies: z.array(policySingle).nullish(),
});
const listenerPost = listenerSingle.extend({
  loadbalancer_id: uuid,
  project_id: str(36).nullish(),
  tenant_id: str(36).nullish(),
});
const listenerPut = z.strictObject(listenerFields);

const loadBalancerPost = z.strictObject({
  name: str().nullish(),
  description: str().nullish(),
  admin_state_up: z.boolean().nullish(),
  vip_address: ip.nullish(),
  vip_port_id: uuid.nullish(),
  vip_subnet_id: uuid.nullish(),
  vip_network_id: uuid.nullish(),
  vip_qos_policy_id: uuid.nullish(),
  additional_vips: z.array(z.unknown()).nullish(),
  vip_sg_ids: z.array(z.unknown()).nullish(),
  project_id: str(36).nullish(),
  tenant_id: str(36).nullish(),
  listeners: z.array(listenerSingle).nullish(),
  pools: z.array(poolSingle).nullish(),
  provider: str(64).nullish(),
  tags: tags.nullish(),
  flavor_id: uuid.nullish(),
  availability_zone: str().nullish(),
});
const loadBalancerPut = z.strictObject({
  name: str().nullish(),
  description: str().nullish(),
  vip_qos_policy_id: uuid.nullish(),
  admin_state_up: z.boolean().nullish(),
  tags: tags.nullish(),
});

const memberBatch = z.strictObject({ members: z.array(memberPost) });

export type MemberInput = z.output<typeof memberSingle>;
export type MonitorInput = z.output<typeof monitorSingle>;
export type PoolInput = z.output<typeof poolSingle>;
export type RuleInput = z.output<typeof ruleSingle>;
export type PolicyInput = z.output<typeof policySingle>;
export type ListenerInput = z.output<typeof listenerSingle>;
export type LoadBalancerPost = z.output<typeof loadBalancerPost>;
export type ListenerPost = z.output<typeof listenerPost>;
export type PoolPost = z.output<typeof poolPost>;
export type MemberPost = z.output<typeof memberPost>;
export type MonitorPost = z.output<typeof monitorPost>;
export type PolicyPost = z.output<typeof policyPost>;
export type RulePost = z.output<typeof rulePost>;
export type LoadBalancerPut = z.output<typeof loadBalancerPut>;
export type ListenerPut = z.output<typeof listenerPut>;
export type PoolPut = z.output<typeof poolPut>;
export type MemberPut = z.output<typeof memberPut>;
export type MonitorPut = z.output<typeof monitorPut>;
export type PolicyPut = z.output<typeof policyPut>;
export type RulePut = z.output<typeof rulePut>;

/** Each body: its JSON root key, and how Octavia names the argument in its 400s. */
const BODIES = {
  loadbalancer: {
    root: 'loadbalancer',
    argument: 'load_balancer.loadbalancer',
    post: loadBalancerPost,
    put: loadBalancerPut,
  },
  listener: { root: 'listener', argument: 'listener_.listener', post: listenerPost, put: listenerPut },
  pool: { root: 'pool', argument: 'pool_.pool', post: poolPost, put: poolPut },
  member: { root: 'member', argument: 'member_.member', post: memberPost, put: memberPut },
  healthmonitor: {
    root: 'healthmonitor',
    argument: 'health_monitor_.healthmonitor',
    post: monitorPost,
    put: monitorPut,
  },
  l7policy: { root: 'l7policy', argument: 'l7policy_.l7policy', post: policyPost, put: policyPut },
  l7rule: { root: 'rule', argument: 'rule_.rule', post: rulePost, put: rulePut },
} as const;

type Bodies = typeof BODIES;
export type PostOf<K extends keyof Bodies> = z.output<Bodies[K]['post']>;
export type PutOf<K extends keyof Bodies> = z.output<Bodies[K]['put']>;

/** Parses a JSON request body (a 400 for anything but a JSON object). */
export function parseJson(body: string | undefined): Record<string, unknown> {
  if (!body || body.trim() === '') throw new OctaviaFault(400, 'The request body is missing.');
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    throw new OctaviaFault(400, 'The request body is not valid JSON.');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new OctaviaFault(400, 'The request body must be a JSON object.');
  return raw as Record<string, unknown>;
}

export function check<T>(schema: z.ZodType<T>, raw: unknown, argument: string): T {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0] as z.core.$ZodIssue;
  if (issue.code === 'unrecognized_keys')
    throw new OctaviaFault(
      400,
      `Unknown attribute for argument ${argument}: ${(issue as { keys: string[] }).keys.join(', ')}`,
    );
  const field = issue.path.map(String).join('.') || argument;
  let value: unknown = raw;
  for (const key of issue.path)
    value = (value as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey];
  const shown =
    value === undefined ? 'None' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  const why = value === undefined ? 'Mandatory field missing.' : issue.message;
  throw new OctaviaFault(400, `Invalid input for field/attribute ${field}. Value: '${shown}'. ${why}`);
}

/**
 * The object under a body's root key (`{"listener": {...}}`), validated as Octavia's POST type
 * (types and ranges: 400). What the provider does not implement is checked after authorisation,
 * as Octavia's provider call comes after its policy check (rejectUnsupported: 501).
 */
export function postBody<K extends keyof Bodies>(type: K, body: Record<string, unknown>): PostOf<K> {
  const spec = BODIES[type];
  const inner = rootObject(body, spec.root);
  return check(spec.post as unknown as z.ZodType<PostOf<K>>, inner, spec.argument);
}

/** The object under a body's root key, validated as Octavia's PUT type. */
export function putBody<K extends keyof Bodies>(type: K, body: Record<string, unknown>): PutOf<K> {
  const spec = BODIES[type];
  const inner = rootObject(body, spec.root);
  return check(spec.put as unknown as z.ZodType<PutOf<K>>, inner, spec.argument);
}

/** A batch member update's body (`{"members": [...]}`). */
export function memberBatchBody(body: Record<string, unknown>): MemberPost[] {
  return check(memberBatch, body, 'members_').members;
}

export function rootObject(body: Record<string, unknown>, root: string): Record<string, unknown> {
  const keys = Object.keys(body);
  const extra = keys.filter((k) => k !== root);
  if (extra.length > 0) throw new OctaviaFault(400, `Unknown argument: "${extra.join(', ')}"`);
  const inner = body[root];
  if (typeof inner !== 'object' || inner === null || Array.isArray(inner))
    throw new OctaviaFault(400, `Missing argument: "${root}"`);
  return inner as Record<string, unknown>;
}

export const unsupported = (what: string) =>
  new OctaviaFault(501, `Provider '${PROVIDER}' does not support a requested option: ${what}`);

const set = (v: unknown) => v !== undefined && v !== null;
const nonEmpty = (v: unknown) => Array.isArray(v) && v.length > 0;

/**
 * Refuses with 501 what Octavia accepts and this provider does not implement, naming the option
 * (nested objects of a graph create are checked too).
 */
export function rejectUnsupported(type: keyof Bodies, o: Record<string, unknown>): void {
  const only = <T extends readonly unknown[]>(field: string, allowed: T, why: string) => {
    if (set(o[field]) && !allowed.includes(o[field]))
      throw unsupported(`${field} ${String(o[field])}: ${why}`);
  };
  switch (type) {
    case 'loadbalancer': {
      if (set(o.vip_qos_policy_id)) throw unsupported('vip_qos_policy_id (QoS policies on VIP ports)');
      if (nonEmpty(o.additional_vips)) throw unsupported('additional_vips');
      if (nonEmpty(o.vip_sg_ids)) throw unsupported('vip_sg_ids');
      if (set(o.provider) && o.provider !== PROVIDER)
        throw new OctaviaFault(400, `Provider '${String(o.provider)}' is not enabled.`);
      for (const l of (o.listeners as Record<string, unknown>[] | null | undefined) ?? [])
        rejectUnsupported('listener', l);
      for (const p of (o.pools as Record<string, unknown>[] | null | undefined) ?? [])
        rejectUnsupported('pool', p);
      return;
    }
    case 'listener': {
      only('protocol', SUPPORTED.listenerProtocol, WHY.protocol);
      // No BIG-IP profile setting is either (docs/octavia-api.md): Octavia's defaults are taken, nothing else.
      if (set(o.timeout_member_connect) && o.timeout_member_connect !== 5_000)
        throw unsupported(
          'timeout_member_connect other than 5000 (a BIG-IP TCP profile has no connect timeout: it retransmits SYNs on its own schedule)',
        );
      if (set(o.timeout_tcp_inspect) && o.timeout_tcp_inspect !== 0)
        throw unsupported(
          'timeout_tcp_inspect other than 0 (a BIG-IP virtual server has no wait for more data before it decides)',
        );
      // TLS tuning and client authentication are translated (tls-options.ts); these two are not.
      if (set(o.client_crl_container_ref))
        throw unsupported(
          'client_crl_container_ref (a certificate revocation list is not translated: no CRL file object is written to the device)',
        );
      rejectAlpn(o.alpn_protocols);
      const headers = (o.insert_headers as Record<string, string> | null | undefined) ?? {};
      for (const name of Object.keys(headers))
        if (!(SUPPORTED.insertHeaders as readonly string[]).includes(name))
          throw unsupported(
            `insert_headers ${name} (X-Forwarded-For, X-Forwarded-Port and X-Forwarded-Proto only)`,
          );
      if (o.default_pool) rejectUnsupported('pool', o.default_pool as Record<string, unknown>);
      for (const p of (o.l7policies as Record<string, unknown>[] | null | undefined) ?? [])
        rejectUnsupported('l7policy', p);
      return;
    }
    case 'pool': {
      only('protocol', SUPPORTED.poolProtocol, WHY.poolProtocol);
      // TLS to members is translated (server-ssl-translation.ts), but for these two.
      if (set(o.crl_container_ref))
        throw unsupported(
          'crl_container_ref (a certificate revocation list is not translated: no CRL file object is written to the device)',
        );
      rejectAlpn(o.alpn_protocols);
      if (o.healthmonitor) rejectUnsupported('healthmonitor', o.healthmonitor as Record<string, unknown>);
      for (const m of (o.members as Record<string, unknown>[] | null | undefined) ?? [])
        rejectUnsupported('member', m);
      return;
    }
    case 'member':
      return;
    case 'healthmonitor':
      only('type', SUPPORTED.monitorType, WHY.monitorType[String(o.type)] ?? 'not translated');
      return;
    case 'l7policy':
      if (o.redirect_pool) rejectUnsupported('pool', o.redirect_pool as Record<string, unknown>);
      for (const r of (o.rules as Record<string, unknown>[] | null | undefined) ?? [])
        rejectUnsupported('l7rule', r);
      return;
    case 'l7rule':
      only('type', SUPPORTED.l7RuleType, 'SSL_CONN_HAS_CERT, SSL_VERIFY_RESULT and SSL_DN_FIELD rules');
      return;
  }
}

/** Octavia's ALPN protocol ids: anything else is its 400 before a provider is asked. */
const ALPN_PROTOCOLS = ['h2', 'http/1.1', 'http/1.0'];

/**
 * alpn_protocols: Octavia's 400 for an unknown protocol id, else 501. A BIG-IP client-ssl or
 * server-ssl profile has no list of ALPN protocols to set in this system's device facts (HTTP/2 is
 * negotiated by an HTTP/2 profile, which is not translated).
 */
function rejectAlpn(value: unknown): void {
  if (!set(value)) return;
  if (!Array.isArray(value)) throw new OctaviaFault(400, 'Invalid input for field/attribute alpn_protocols.');
  if (value.length === 0)
    throw new OctaviaFault(
      400,
      'Empty ALPN protocol list. Either specify at least one ALPN protocol or remove this parameter to use the default.',
    );
  for (const v of value)
    if (!ALPN_PROTOCOLS.includes(v as string))
      throw new OctaviaFault(
        400,
        `Invalid input for field/attribute alpn_protocols. Value: '${String(v)}'. Value should be a valid ALPN protocol ID`,
      );
  throw unsupported('alpn_protocols (no ALPN setting of a BIG-IP SSL profile is translated)');
}

const TRUE = /^(1|t|true|on|y|yes)$/i;
const FALSE = /^(0|f|false|off|n|no)$/i;

/** Octavia's insert_headers values, as the device takes them ("true"/"false"). */
export function insertHeaderFlags(headers: Record<string, string>): Record<string, 'true' | 'false'> {
  const out: Record<string, 'true' | 'false'> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (TRUE.test(value)) out[name] = 'true';
    else if (FALSE.test(value)) out[name] = 'false';
    else throw new OctaviaFault(400, `${value} is not a valid option for insert_headers ${name}`);
  }
  return out;
}
