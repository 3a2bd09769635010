import { z } from 'zod';
import { FORWARDED_DECISIONS } from './agent-scheduler.js';
import { canonicalIp } from './ip-address.js';
import { regexProblem } from './l7-regex.js';
import { isNetmask } from './persistence-profiles.js';
import { PEER_CERT_MODE, tlsCiphersSpec, tlsVersionsSpec } from './tls-options.js';

/**
 * The public contract of "SQS message submission": one versioned JSON message per LBaaS v2
 * operation, object fields named as in Neutron LBaaS v2. Parsing is strict about everything that
 * can reach a BIG-IP (ids, addresses, free text) and lenient about extra read-only Neutron fields.
 */

export const RESOURCES = [
  'loadbalancer',
  'listener',
  'pool',
  'member',
  'healthmonitor',
  'l7policy',
  'l7rule',
] as const;
export const OPERATIONS = ['create', 'update', 'delete'] as const;
/** Octavia's `PUT /v2/lbaas/pools/{pool_id}/members`: a pool's whole member list in one request. */
export const BATCH_OPERATION = 'batch_update';
export type ResourceType = (typeof RESOURCES)[number];
export type Operation = (typeof OPERATIONS)[number];

/** The most members one batch may list (Octavia sets no limit; a message must stay under SQS's 256 KiB). */
export const MAX_BATCH_MEMBERS = 1_000;

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const TENANT_RE =
  /^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;
const REQUEST_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}$/;
// Free text ends up in BIG-IP `description` fields: BIG-IP refuses `<` `>`, and control characters (C0, DEL, C1) break logs.
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const UNSAFE_TEXT_RE = /[\u0000-\u001f\u007f-\u009f<>]/;
const URL_PATH_RE = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%?]*$/;
const EXPECTED_CODES_RE = /^[1-5]\d{2}(?:-[1-5]\d{2})?(?:,[1-5]\d{2}(?:-[1-5]\d{2})?)*$/;
const COOKIE_NAME_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/;
/** An HTTP header or cookie name (RFC 9110 token). */
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,255}$/;
/**
 * A redirect target. It becomes an LTM policy action's `location`, which BIG-IP evaluates as Tcl when
 * it starts with `tcl:` (REDIRECT_PREFIX is sent that way), so nothing Tcl could substitute or
 * group may pass: no `[ ] $ { } \ "`, no `;`, no whitespace (peer-features.md §1.4).
 */
const REDIRECT_URL_RE =
  /^https?:\/\/[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::\d{1,5})?(?:\/[A-Za-z0-9\-._~!&'()*+,=:@/%?]*)?$/;
/** An L7 rule's value: printable ASCII without quotes, backslashes or `< >` (the device refuses tag-like content). */
const RULE_VALUE_RE = /^[\x21\x23-\x3b\x3d\x3f-\x5b\x5d-\x7e]{1,255}$/;
/** Octavia's default position: append. */
export const MAX_POLICY_POSITION = 2_147_483_647;
/** Octavia's limit of rules per L7 policy. */
export const MAX_RULES_PER_POLICY = 50;
/** The most allowed CIDRs one listener takes (Octavia sets none; each is a test in the listener's iRule). */
export const MAX_ALLOWED_CIDRS = 128;
/** A CIDR in the form the API records (canonical address, prefix without leading zeros). */
const CIDR_RE =
  /^(?:\d{1,3}(?:\.\d{1,3}){3}\/(?:\d|[12]\d|3[0-2])|[0-9a-f:]{2,39}\/(?:\d|[1-9]\d|1[01]\d|12[0-8]))$/;

const uuid = z
  .string()
  .regex(UUID_RE, { error: 'must be a UUID' })
  .transform((s) => s.toLowerCase());
const tenantId = z
  .string()
  .regex(TENANT_RE, { error: 'must be a project id (32 hex digits or a UUID)' })
  .transform((s) => s.toLowerCase());
const text = z
  .string()
  .max(255, { error: 'must be at most 255 characters' })
  .refine((s) => !UNSAFE_TEXT_RE.test(s), { error: 'must not contain control characters, < or >' });
const ipAddress = z
  .union([z.ipv4(), z.ipv6()], { error: 'must be an IPv4 or IPv6 address' })
  .transform((s) => canonicalIp(s));
/**
 * A whole number in [min, max]. One message for every way to miss (not a number, a fraction, out
 * of range) that names the range: a custom type message alone would hide zod's range messages.
 */
function wholeNumber(min: number, max: number, note = '') {
  const error = `must be a whole number from ${min}${note} to ${max}`;
  return z.int({ error }).min(min, { error }).max(max, { error });
}
const port = wholeNumber(1, 65535);
/** Octavia's tags (API 2.5): labels for the owner's own filtering, never sent to a device. */
const tags = z
  .array(text, { error: 'must be a list of strings' })
  .max(256, { error: 'must list at most 256 tags' })
  .optional();

export const loadBalancerSpec = z.object({
  id: uuid,
  name: text.default(''),
  description: text.default(''),
  vip_address: ipAddress,
  vip_subnet_id: uuid.optional(),
  vip_port_id: uuid.optional(),
  /** The network of the VIP subnet (Octavia's API reports it; the device does not need it). */
  vip_network_id: uuid.optional(),
  /**
   * The route domain of the VIP's network (functions/domain/network-checks.ts): set by whoever
   * records the load balancer, from the environment's networks; a sender's own value is replaced.
   * Absent: route domain 0.
   */
  vip_route_domain: z.int().min(1).max(65534).optional(),
  admin_state_up: z.boolean().default(true),
  tags,
  /** The Octavia flavor and availability zone it was created with (shown back; placement uses device_groups). */
  // Neutron LBaaS payloads carry an empty flavor_id: the same as none.
  flavor_id: z.preprocess((v) => (v === '' || v === null ? undefined : v), uuid.optional()),
  availability_zone: text.optional(),
  /** The device groups it may be placed in (its flavor's and zone's); left out: any. Never changes after the create. */
  device_groups: z
    .array(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: 'must be device group names' }))
    .min(1, { error: 'must name at least one device group' })
    .max(20)
    .optional(),
});

/**
 * A certificate reference: the name of a Secrets Manager secret (what `lbaas cert import` prints),
 * `lbaas/<env>/<project>/<name>`; the scheduler checks it is the request's environment and project.
 */
/** Where a project's certificates live: `lbaas/<env>/<project>/`; no tenant may name another's. */
export function certificateNamespace(env: string, tenantId: string): string {
  return `lbaas/${env}/${tenantId}/`;
}

export const certificateRef = z
  .string()
  .regex(/^lbaas\/[A-Za-z0-9_-]{1,16}\/[0-9a-f-]{32,36}\/[A-Za-z0-9_.-]{1,128}$/, {
    error:
      'must be a certificate reference lbaas/<environment>/<project>/<name> (lbaas cert import prints it)',
  });

export const listenerSpec = z
  .object({
    id: uuid,
    name: text.default(''),
    description: text.default(''),
    protocol: z.enum(['HTTP', 'HTTPS', 'TCP', 'TERMINATED_HTTPS', 'UDP'], {
      error: 'must be HTTP, HTTPS (pass-through), TCP, TERMINATED_HTTPS or UDP',
    }),
    protocol_port: port,
    connection_limit: wholeNumber(-1, 10_000_000, ' (no limit)').default(-1),
    admin_state_up: z.boolean().default(true),
    default_pool_id: uuid.nullable().default(null),
    default_tls_container_ref: certificateRef.nullable().default(null),
    sni_container_refs: z
      .array(certificateRef)
      .max(32, { error: 'must list at most 32 certificates' })
      .default([]),
    /**
     * Octavia's allowed_cidrs: only clients in one of them reach the listener (its iRule refuses the
     * others). Absent on a listener that never had any; an empty list once they were removed.
     */
    allowed_cidrs: z
      .array(
        z
          .string()
          .regex(CIDR_RE, { error: 'must be a CIDR in canonical form' })
          .refine((c) => canonicalIp(c.split('/')[0] as string) === c.split('/')[0], {
            error: 'must be a CIDR in canonical form',
          }),
      )
      .max(MAX_ALLOWED_CIDRS, { error: `must list at most ${MAX_ALLOWED_CIDRS} CIDRs` })
      .optional(),
    /**
     * Octavia's timeout_client_data and timeout_member_data (ms), which a BIG-IP TCP profile keeps as
     * one idle timeout in whole seconds: the listener's own TCP profile. Absent on a listener that never
     * set them; null once they were reset (the built-in profile's own timeout applies again).
     */
    idle_timeout_ms: wholeNumber(0, 31_536_000)
      .refine((ms) => ms % 1000 === 0, { error: 'must be whole seconds (a multiple of 1000 ms)' })
      .nullable()
      .optional(),
    /**
     * TERMINATED_HTTPS tuning (tls-options.ts): the versions and cipher string its client-ssl profiles
     * take; absent, the parent profile's (/Common/clientssl) apply.
     */
    tls_versions: tlsVersionsSpec.nullable().optional(),
    tls_ciphers: tlsCiphersSpec.nullable().optional(),
    /** Client certificates (TERMINATED_HTTPS): checked against the CA certificate `client_ca_tls_container_ref`. */
    client_authentication: z
      .enum(Object.keys(PEER_CERT_MODE) as ['NONE', 'OPTIONAL', 'MANDATORY'])
      .optional(),
    client_ca_tls_container_ref: certificateRef.nullable().optional(),
    /** Octavia's insert_headers, the X-Forwarded-* family ("true"/"false", as Octavia takes them). */
    insert_headers: z
      .strictObject(
        {
          'X-Forwarded-For': z.enum(['true', 'false']).optional(),
          'X-Forwarded-Port': z.enum(['true', 'false']).optional(),
          'X-Forwarded-Proto': z.enum(['true', 'false']).optional(),
        },
        {
          error:
            'supported headers are X-Forwarded-For, X-Forwarded-Port and X-Forwarded-Proto ("true" or "false")',
        },
      )
      .default({}),
    tags,
  })
  .superRefine((l, ctx) => {
    const tls = l.protocol === 'TERMINATED_HTTPS';
    if (tls && !l.default_tls_container_ref)
      ctx.addIssue({
        code: 'custom',
        message: 'a TERMINATED_HTTPS listener needs default_tls_container_ref',
        path: ['default_tls_container_ref'],
      });
    if (!tls && (l.default_tls_container_ref || l.sni_container_refs.length > 0))
      ctx.addIssue({
        code: 'custom',
        message: `certificates are for TERMINATED_HTTPS listeners, not ${l.protocol}`,
        path: ['default_tls_container_ref'],
      });
    if (typeof l.idle_timeout_ms === 'number' && l.protocol === 'UDP')
      ctx.addIssue({
        code: 'custom',
        message: 'an idle timeout is for TCP-based listeners (a UDP listener keeps its UDP profile’s)',
        path: ['idle_timeout_ms'],
      });
    if (Object.values(l.insert_headers).includes('true') && l.protocol !== 'HTTP' && !tls)
      ctx.addIssue({
        code: 'custom',
        message: `insert_headers needs an HTTP or TERMINATED_HTTPS listener, not ${l.protocol}`,
        path: ['insert_headers'],
      });
    const tuned = ['tls_versions', 'tls_ciphers', 'client_ca_tls_container_ref'] as const;
    for (const field of tuned)
      if (!tls && l[field] !== undefined && l[field] !== null)
        ctx.addIssue({
          code: 'custom',
          message: `is for TERMINATED_HTTPS listeners, not ${l.protocol}`,
          path: [field],
        });
    if ((l.client_authentication ?? 'NONE') !== 'NONE' && !l.client_ca_tls_container_ref)
      ctx.addIssue({
        code: 'custom',
        message: `client_authentication ${l.client_authentication} needs client_ca_tls_container_ref`,
        path: ['client_authentication'],
      });
    const all = [l.default_tls_container_ref, ...l.sni_container_refs].filter(Boolean);
    if (new Set(all).size !== all.length)
      ctx.addIssue({ code: 'custom', message: 'lists a certificate twice', path: ['sni_container_refs'] });
  });

export const sessionPersistenceSpec = z
  .object({
    type: z.enum(['SOURCE_IP', 'HTTP_COOKIE', 'APP_COOKIE']),
    cookie_name: z.string().regex(COOKIE_NAME_RE, { error: 'must be a cookie name token' }).nullish(),
    /**
     * A UDP pool's SOURCE_IP persistence tuned (Octavia's persistence_timeout, seconds, and
     * persistence_granularity, the mask clients are grouped under): the pool's own source-address
     * persistence profile (persistence-profiles.ts).
     */
    persistence_timeout: wholeNumber(0, 31_536_000).nullish(),
    persistence_granularity: z
      .string()
      .refine((m) => isNetmask(m), { error: 'must be an IPv4 or IPv6 netmask such as 255.255.255.0' })
      .nullish(),
  })
  .refine((p) => p.type !== 'APP_COOKIE' || !!p.cookie_name, {
    error: 'APP_COOKIE persistence needs a cookie_name',
    path: ['cookie_name'],
  })
  .refine(
    (p) => p.type === 'SOURCE_IP' || (p.persistence_timeout == null && p.persistence_granularity == null),
    {
      error: 'persistence_timeout and persistence_granularity are for SOURCE_IP persistence',
      path: ['persistence_timeout'],
    },
  );

export const poolSpec = z
  .object({
    id: uuid,
    name: text.default(''),
    description: text.default(''),
    protocol: z.enum(['HTTP', 'HTTPS', 'TCP', 'UDP', 'PROXY', 'PROXYV2']),
    lb_algorithm: z.enum(['ROUND_ROBIN', 'LEAST_CONNECTIONS', 'SOURCE_IP', 'SOURCE_IP_PORT']),
    session_persistence: sessionPersistenceSpec.nullable().default(null),
    admin_state_up: z.boolean().default(true),
    listener_id: uuid.nullable().default(null),
    /**
     * TLS towards the members (a server-ssl profile the pool owns, server-ssl-translation.ts): the client
     * certificate it presents, the CA certificate members are verified against, versions and ciphers.
     */
    tls_enabled: z.boolean().optional(),
    tls_container_ref: certificateRef.nullable().optional(),
    ca_tls_container_ref: certificateRef.nullable().optional(),
    tls_versions: tlsVersionsSpec.nullable().optional(),
    tls_ciphers: tlsCiphersSpec.nullable().optional(),
    tags,
  })
  .refine(
    (p) =>
      p.protocol === 'UDP' ||
      (p.session_persistence?.persistence_timeout == null &&
        p.session_persistence?.persistence_granularity == null),
    {
      error: 'persistence_timeout and persistence_granularity are only for UDP pools',
      path: ['session_persistence'],
    },
  );

export const memberSpec = z.object({
  id: uuid,
  name: text.default(''),
  pool_id: uuid,
  address: ipAddress,
  /**
   * The address as its sender wrote it, when that is not the canonical form kept in `address`
   * (`2001:db8:0:0:0:0:0:1`): shown back as written, as Octavia does; never used for matching or sent to a device.
   */
  written_address: z.union([z.ipv4(), z.ipv6()], { error: 'must be an IPv4 or IPv6 address' }).optional(),
  protocol_port: port,
  weight: wholeNumber(0, 256).default(1),
  admin_state_up: z.boolean().default(true),
  subnet_id: uuid.optional(),
  /** A backup member takes traffic only when no other member of its pool is up (BIG-IP priority groups). */
  backup: z.boolean().optional(),
  /**
   * Where the pool's monitor checks this member instead of its own address and port (Octavia's
   * alternate monitor target): a monitor of the member's own, aimed there. Kept as written (shown
   * back so); its canonical form goes to the device.
   */
  monitor_address: z
    .union([z.ipv4(), z.ipv6()], { error: 'must be an IPv4 or IPv6 address' })
    .nullable()
    .optional(),
  monitor_port: port.nullable().optional(),
  tags,
});

/**
 * A health monitor. A timeout above the delay is accepted, as Octavia accepts it: the device's
 * timeout is derived from both (monitorTiming in bigip-translation.ts).
 */
/** A host name as Octavia accepts one for a monitor's Host header (labels of letters, digits, - and _). */
const DOMAIN_NAME_RE = /^(?=.{1,253}\.?$)(?:(?!-|[^.]+_)[A-Za-z0-9-_]{1,63}(?<!-)(?:\.|$))+$/;

/**
 * Why an HTTP monitor's version and Host name do not hold together, or undefined: a Host name needs
 * the version named, and 1.1 (Octavia's rule; an HTTP/1.0 request has no Host header to carry it).
 */
export function monitorHostProblem(
  httpVersion: number | null | undefined,
  domainName: string | null | undefined,
): string | undefined {
  if (!domainName) return undefined;
  if (httpVersion == null) return "'http_version' must be specified when 'domain_name' is provided";
  return httpVersion < 1.1
    ? `http_version ${httpVersion.toFixed(1)} cannot carry domain_name: use 1.1`
    : undefined;
}

export const healthMonitorSpec = z
  .object({
    id: uuid,
    name: text.default(''),
    pool_id: uuid,
    type: z.enum(['PING', 'TCP', 'HTTP', 'HTTPS', 'UDP-CONNECT', 'TLS-HELLO']),
    delay: wholeNumber(1, 3600),
    timeout: wholeNumber(1, 3600),
    max_retries: wholeNumber(1, 10),
    max_retries_down: wholeNumber(1, 10).default(3),
    http_method: z
      .enum(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'TRACE', 'OPTIONS', 'CONNECT', 'PATCH'])
      .default('GET'),
    url_path: z
      .string()
      .max(255)
      .regex(URL_PATH_RE, { error: 'must be an absolute URL path without spaces' })
      .default('/'),
    expected_codes: z
      .string()
      .regex(EXPECTED_CODES_RE, { error: 'must be codes or ranges such as 200, 200,202 or 200-204' })
      .default('200'),
    /** The HTTP version of an HTTP(S) monitor's request (JSON has no 1.0: it arrives as 1); null sends 1.0. */
    http_version: z
      .union([z.literal(1), z.literal(1.1)], { error: 'must be 1.0 or 1.1' })
      .nullable()
      .default(null),
    /** Sent as the request's Host header (HTTP/1.1 only). */
    domain_name: z
      .string()
      .max(255)
      .regex(DOMAIN_NAME_RE, {
        error: 'must be a host name (letters, digits, - and _ in dot-separated labels)',
      })
      .nullable()
      .default(null),
    admin_state_up: z.boolean().default(true),
    tags,
  })
  .superRefine((hm, ctx) => {
    const problem = monitorHostProblem(hm.http_version, hm.domain_name);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['domain_name'] });
  });

export const L7_ACTIONS = ['REDIRECT_TO_POOL', 'REDIRECT_TO_URL', 'REDIRECT_PREFIX', 'REJECT'] as const;
export const REDIRECT_CODES = [301, 302, 303, 307, 308] as const;

/** What each action needs (Octavia refuses a policy without it). */
const ACTION_FIELD = {
  REDIRECT_TO_POOL: 'redirect_pool_id',
  REDIRECT_TO_URL: 'redirect_url',
  REDIRECT_PREFIX: 'redirect_prefix',
  REJECT: undefined,
} as const;

const redirectUrl = z.string().max(255).regex(REDIRECT_URL_RE, {
  error: 'must be an http or https URL without spaces, quotes, backslashes, [ ] { } $ or ;',
});

export const l7PolicySpec = z
  .object({
    id: uuid,
    name: text.default(''),
    description: text.default(''),
    listener_id: uuid,
    action: z.enum(L7_ACTIONS, {
      error: 'must be REDIRECT_TO_POOL, REDIRECT_TO_URL, REDIRECT_PREFIX or REJECT',
    }),
    position: wholeNumber(1, MAX_POLICY_POSITION).default(MAX_POLICY_POSITION),
    redirect_pool_id: uuid.nullable().default(null),
    redirect_url: redirectUrl.nullable().default(null),
    redirect_prefix: redirectUrl.nullable().default(null),
    redirect_http_code: z
      .union(
        REDIRECT_CODES.map((c) => z.literal(c)),
        { error: 'must be 301, 302, 303, 307 or 308' },
      )
      .nullable()
      .default(null),
    admin_state_up: z.boolean().default(true),
    tags,
  })
  .superRefine((p, ctx) => {
    const needs = ACTION_FIELD[p.action];
    if (needs && !p[needs])
      ctx.addIssue({ code: 'custom', message: `${p.action} needs ${needs}`, path: [needs] });
  });

export const l7RuleSpec = z
  .object({
    id: uuid,
    l7policy_id: uuid,
    type: z.enum(['HOST_NAME', 'PATH', 'FILE_TYPE', 'HEADER', 'COOKIE'], {
      error: 'must be HOST_NAME, PATH, FILE_TYPE, HEADER or COOKIE',
    }),
    compare_type: z.enum(['EQUAL_TO', 'STARTS_WITH', 'ENDS_WITH', 'CONTAINS', 'REGEX'], {
      error: 'must be EQUAL_TO, STARTS_WITH, ENDS_WITH, CONTAINS or REGEX',
    }),
    key: z.string().regex(TOKEN_RE, { error: 'must be a header or cookie name' }).nullable().default(null),
    // Checked by compare type below: a REGEX may hold backslashes and quotes (it reaches the device
    // only through an iRule's escaped literal), the other values go into LTM policy conditions.
    value: z.string().regex(/^[\x21-\x7e]{1,255}$/, {
      error: 'must be 1-255 printable characters without spaces',
    }),
    invert: z.boolean().default(false),
    admin_state_up: z.boolean().default(true),
    tags,
  })
  .superRefine((r, ctx) => {
    if ((r.type === 'HEADER' || r.type === 'COOKIE') && !r.key)
      ctx.addIssue({ code: 'custom', message: `a ${r.type} rule needs a key`, path: ['key'] });
    // A REGEX runs as Tcl `regexp` in the listener's iRule: only the syntax it shares with the
    // others who read it (l7-regex.ts).
    const problem = r.compare_type === 'REGEX' ? regexProblem(r.value) : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['value'] });
    if (r.compare_type !== 'REGEX' && !RULE_VALUE_RE.test(r.value))
      ctx.addIssue({
        code: 'custom',
        message: 'must be 1-255 printable characters without spaces, quotes, backslashes, < or >',
        path: ['value'],
      });
    if (r.type === 'PATH' && r.compare_type !== 'REGEX' && !r.value.startsWith('/'))
      ctx.addIssue({ code: 'custom', message: 'a PATH value must start with /', path: ['value'] });
  });

/**
 * The transport a listener's port is taken on: a UDP listener and a TCP-based one may share a port
 * (Octavia allows it; a BIG-IP keeps virtual servers unique by address, port and protocol:
 * device-facts.md §2.2).
 */
export function listenerTransport(protocol: string): 'udp' | 'tcp' {
  return protocol === 'UDP' ? 'udp' : 'tcp';
}

export type LoadBalancerSpec = z.output<typeof loadBalancerSpec>;
export type ListenerSpec = z.output<typeof listenerSpec>;
export type PoolSpec = z.output<typeof poolSpec>;
export type MemberSpec = z.output<typeof memberSpec>;
export type HealthMonitorSpec = z.output<typeof healthMonitorSpec>;
export type SessionPersistenceSpec = z.output<typeof sessionPersistenceSpec>;
/**
 * An L7 policy as recorded: `rank` is where it sits among its listener's policies (a fraction-like
 * key the scheduler assigns, so inserting at a position moves nobody else's record; see
 * l7-policy-order.ts). Producers cannot set it: the schema drops it.
 */
export type L7PolicySpec = z.output<typeof l7PolicySpec> & { rank?: string };
export type L7RuleSpec = z.output<typeof l7RuleSpec>;

export type ObjectSpec = {
  loadbalancer: LoadBalancerSpec;
  listener: ListenerSpec;
  pool: PoolSpec;
  member: MemberSpec;
  healthmonitor: HealthMonitorSpec;
  l7policy: L7PolicySpec;
  l7rule: L7RuleSpec;
};

const CREATE_SCHEMAS = {
  loadbalancer: loadBalancerSpec,
  listener: listenerSpec,
  pool: poolSpec,
  member: memberSpec,
  healthmonitor: healthMonitorSpec,
  l7policy: l7PolicySpec,
  l7rule: l7RuleSpec,
} as const;

/** Fields an update may change (Neutron's API); any other field in an update must equal the stored value. */
export const MUTABLE_FIELDS: { [R in ResourceType]: readonly (keyof ObjectSpec[R])[] } = {
  loadbalancer: ['name', 'description', 'admin_state_up', 'tags'],
  listener: [
    'name',
    'description',
    'connection_limit',
    'admin_state_up',
    'default_pool_id',
    'default_tls_container_ref',
    'sni_container_refs',
    'insert_headers',
    'allowed_cidrs',
    'idle_timeout_ms',
    'tls_versions',
    'tls_ciphers',
    'client_authentication',
    'client_ca_tls_container_ref',
    'tags',
  ],
  pool: [
    'name',
    'description',
    'lb_algorithm',
    'session_persistence',
    'admin_state_up',
    'tls_enabled',
    'tls_container_ref',
    'ca_tls_container_ref',
    'tls_versions',
    'tls_ciphers',
    'tags',
  ],
  member: ['name', 'weight', 'admin_state_up', 'backup', 'monitor_address', 'monitor_port', 'tags'],
  healthmonitor: [
    'name',
    'delay',
    'timeout',
    'max_retries',
    'max_retries_down',
    'http_method',
    'url_path',
    'expected_codes',
    'http_version',
    'domain_name',
    'admin_state_up',
    'tags',
  ],
  l7policy: [
    'name',
    'description',
    'action',
    'position',
    'redirect_pool_id',
    'redirect_url',
    'redirect_prefix',
    'redirect_http_code',
    'admin_state_up',
    'tags',
  ],
  l7rule: ['type', 'compare_type', 'key', 'value', 'invert', 'admin_state_up', 'tags'],
};

/** Read-only Neutron fields producers often copy into objects; accepted and dropped. */
const NEUTRON_NOISE = [
  'provisioning_status',
  'operating_status',
  'tenant_id',
  'project_id',
  'loadbalancer_id',
  'loadbalancers',
  'listeners',
  'pools',
  'members',
  'healthmonitor_id',
  'rules',
  'l7policies',
  'created_at',
  'updated_at',
  'provider',
];

const envelope = z.strictObject({
  version: z.literal(1, { error: 'must be 1' }),
  requestId: z.string().regex(REQUEST_ID_RE, { error: 'must be 1-80 letters, digits, _ . : or -' }),
  operation: z.enum([...OPERATIONS, BATCH_OPERATION], {
    error: 'must be create, update, delete or batch_update',
  }),
  resource: z.enum(RESOURCES, {
    error: 'must be loadbalancer, listener, pool, member, healthmonitor, l7policy or l7rule',
  }),
  tenantId,
  loadbalancerId: uuid,
  object: z.record(z.string(), z.unknown(), { error: 'must be a JSON object' }),
});

const memberBatch = z.strictObject({
  pool_id: uuid,
  members: z
    .array(z.record(z.string(), z.unknown(), { error: 'must be a JSON object' }), { error: 'must be a list' })
    .max(MAX_BATCH_MEMBERS, { error: `must list at most ${MAX_BATCH_MEMBERS} members` }),
  additive_only: z.boolean().default(false),
});

// A type literal, not an interface: a request is then assignable to the forwarded message's loose shape.
type RequestBase<O extends Operation, R extends ResourceType> = {
  version: 1;
  requestId: string;
  operation: O;
  resource: R;
  tenantId: string;
  loadbalancerId: string;
};

export type CreateRequest<R extends ResourceType = ResourceType> = RequestBase<'create', R> & {
  object: ObjectSpec[R];
};
export type UpdateRequest<R extends ResourceType = ResourceType> = RequestBase<'update', R> & {
  object: { id: string } & Partial<ObjectSpec[R]>;
  /** The fields the update changes; the rest of `object` must match what is stored. */
  changes: Record<string, unknown>;
  /** Immutable fields the producer repeated, checked against the stored object. */
  unchanged: Record<string, unknown>;
};
export type DeleteRequest<R extends ResourceType = ResourceType> = RequestBase<'delete', R> & {
  object: { id: string };
};
/** A request for one object. */
export type ObjectRequest = CreateRequest | UpdateRequest | DeleteRequest;

/**
 * A pool's member list (Octavia's batch member update): listed members are created or updated,
 * members of the pool that are not listed are deleted unless `additive_only` (Octavia API 2.11).
 * `object.id` is the pool's id, so everything that names a request's object names the pool.
 */
export type MemberBatchRequest = Omit<RequestBase<'create', 'member'>, 'operation'> & {
  operation: typeof BATCH_OPERATION;
  object: { id: string; pool_id: string; members: MemberSpec[]; additive_only: boolean };
};

export type LbaasRequest = ObjectRequest | MemberBatchRequest;

export function isMemberBatch(request: { operation: string }): request is MemberBatchRequest {
  return request.operation === BATCH_OPERATION;
}

/** What could be read safely from a message that failed validation, to record the rejection on. */
export interface RejectionContext {
  requestId?: string;
  tenantId?: string;
  loadbalancerId?: string;
  operation?: string;
  resource?: ResourceType;
  objectId?: string;
}

export type ParseResult =
  | { ok: true; request: LbaasRequest }
  | { ok: false; reason: string; context: RejectionContext };

/** Maximum message body we even try to parse: SQS's 256 KiB (one request is a few hundred bytes; a member batch more). */
export const MAX_MESSAGE_BYTES = 256 * 1024;

/**
 * Parses and validates one message body. Never throws: a bad message yields a reason an operator
 * can read and whatever identifiers were themselves valid.
 */
export function parseRequest(body: string): ParseResult {
  if (Buffer.byteLength(body, 'utf8') > MAX_MESSAGE_BYTES) {
    return { ok: false, reason: `message is larger than ${MAX_MESSAGE_BYTES} bytes`, context: {} };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (error) {
    return { ok: false, reason: `message is not valid JSON: ${(error as Error).message}`, context: {} };
  }
  const context = rejectionContext(raw);
  const env = envelope.safeParse(raw);
  if (!env.success) return { ok: false, reason: formatIssues(env.error.issues), context };
  const { object, ...head } = env.data;

  const consistency = checkConsistency(head.resource, head.tenantId, head.loadbalancerId, object);
  if (consistency) return { ok: false, reason: consistency, context };
  if (head.operation === BATCH_OPERATION)
    return parseMemberBatch({ ...head, operation: head.operation }, object, context);

  const cleaned = Object.fromEntries(Object.entries(object).filter(([k]) => !NEUTRON_NOISE.includes(k)));
  if (head.operation === 'delete') {
    const id = uuid.safeParse(object.id);
    if (!id.success) return { ok: false, reason: formatIssues(id.error.issues, ['object', 'id']), context };
    return { ok: true, request: { ...head, operation: 'delete', object: { id: id.data } } };
  }
  if (head.operation === 'create') {
    const parsed = CREATE_SCHEMAS[head.resource].safeParse(cleaned);
    if (!parsed.success) return { ok: false, reason: formatIssues(parsed.error.issues, ['object']), context };
    return { ok: true, request: { ...head, operation: 'create', object: parsed.data } as CreateRequest };
  }
  return parseUpdate({ ...head, operation: head.operation }, cleaned, context);
}

function parseMemberBatch(
  head: Omit<z.output<typeof envelope>, 'object'> & { operation: typeof BATCH_OPERATION },
  object: Record<string, unknown>,
  context: RejectionContext,
): ParseResult {
  if (head.resource !== 'member') {
    return { ok: false, reason: 'batch_update is an operation on members (a pool’s member list)', context };
  }
  const batch = memberBatch.safeParse(object);
  if (!batch.success) return { ok: false, reason: formatIssues(batch.error.issues, ['object']), context };
  const poolId = batch.data.pool_id;
  const members: MemberSpec[] = [];
  const ids = new Set<string>();
  const endpoints = new Set<string>();
  for (const [i, raw] of batch.data.members.entries()) {
    const cleaned = Object.fromEntries(Object.entries(raw).filter(([k]) => !NEUTRON_NOISE.includes(k)));
    if (cleaned.pool_id !== undefined && String(cleaned.pool_id).toLowerCase() !== poolId) {
      return { ok: false, reason: `object.members.${i}.pool_id: must be the batch's pool_id`, context };
    }
    const member = memberSpec.safeParse({ ...cleaned, pool_id: poolId });
    if (!member.success)
      return { ok: false, reason: formatIssues(member.error.issues, ['object', 'members', i]), context };
    if (ids.has(member.data.id))
      return {
        ok: false,
        reason: `object.members.${i}.id: member ${member.data.id} is listed twice`,
        context,
      };
    // A pool holds one member per address and port (its BIG-IP name is ip:port).
    const endpoint = `${member.data.address}:${member.data.protocol_port}`;
    if (endpoints.has(endpoint))
      return { ok: false, reason: `object.members.${i}: ${endpoint} is listed twice`, context };
    ids.add(member.data.id);
    endpoints.add(endpoint);
    members.push(member.data);
  }
  return {
    ok: true,
    request: {
      ...head,
      resource: 'member',
      object: { id: poolId, pool_id: poolId, members, additive_only: batch.data.additive_only },
    },
  };
}

function parseUpdate(
  head: Omit<z.output<typeof envelope>, 'object'> & { operation: Operation },
  object: Record<string, unknown>,
  context: RejectionContext,
): ParseResult {
  // Partial of the create schema: field-level rules still apply to every field that is present.
  const shape = CREATE_SCHEMAS[head.resource].shape as Record<string, z.ZodType>;
  const partialShape: Record<string, z.ZodType> = {};
  for (const [key, schema] of Object.entries(shape)) {
    partialShape[key] = key === 'id' ? schema : unwrapDefault(schema).optional();
  }
  const parsed = z.object(partialShape).safeParse(object);
  if (!parsed.success) return { ok: false, reason: formatIssues(parsed.error.issues, ['object']), context };
  const data = parsed.data as Record<string, unknown> & { id: string };
  const mutable = MUTABLE_FIELDS[head.resource] as readonly string[];
  const changes: Record<string, unknown> = {};
  const unchanged: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    if (key === 'id' || value === undefined) continue;
    if (mutable.includes(key)) changes[key] = value;
    else unchanged[key] = value;
  }
  if (Object.keys(changes).length === 0) {
    return {
      ok: false,
      reason: `update changes nothing: give at least one of ${mutable.join(', ')}`,
      context,
    };
  }
  return {
    ok: true,
    request: { ...head, operation: 'update', object: data, changes, unchanged } as UpdateRequest,
  };
}

function unwrapDefault(schema: z.ZodType): z.ZodType {
  return schema instanceof z.ZodDefault ? (schema.unwrap() as z.ZodType) : schema;
}

function checkConsistency(
  resource: ResourceType,
  tenant: string,
  loadbalancerId: string,
  object: Record<string, unknown>,
): string | undefined {
  const lower = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v);
  if (resource === 'loadbalancer' && object.id !== undefined && lower(object.id) !== loadbalancerId) {
    return 'object.id must equal loadbalancerId for a loadbalancer request';
  }
  if (object.loadbalancer_id !== undefined && lower(object.loadbalancer_id) !== loadbalancerId) {
    return 'object.loadbalancer_id does not match loadbalancerId';
  }
  for (const field of ['tenant_id', 'project_id']) {
    if (object[field] !== undefined && lower(object[field]) !== tenant) {
      return `object.${field} does not match tenantId`;
    }
  }
  return undefined;
}

function rejectionContext(raw: unknown): RejectionContext {
  if (typeof raw !== 'object' || raw === null) return {};
  const r = raw as Record<string, unknown>;
  const out: RejectionContext = {};
  const rid = typeof r.requestId === 'string' && REQUEST_ID_RE.test(r.requestId) ? r.requestId : undefined;
  if (rid) out.requestId = rid;
  const t = tenantId.safeParse(r.tenantId);
  if (t.success) out.tenantId = t.data;
  const lb = uuid.safeParse(r.loadbalancerId);
  if (lb.success) out.loadbalancerId = lb.data;
  if (typeof r.resource === 'string' && (RESOURCES as readonly string[]).includes(r.resource)) {
    out.resource = r.resource as ResourceType;
  }
  const obj = r.object as Record<string, unknown> | undefined;
  const id = uuid.safeParse(obj?.id);
  if (id.success) out.objectId = id.data;
  return out;
}

/** Zod issues as one line an operator can read (the first five, paths prefixed). */
export function formatIssues(issues: readonly z.core.$ZodIssue[], prefix: (string | number)[] = []): string {
  // One line per distinct complaint (a huge number fails both the safe-integer and the range check).
  const lines = [
    ...new Set(
      issues.map((issue) => {
        const path = [...prefix, ...issue.path.map(String)].join('.');
        return path ? `${path}: ${issue.message}` : issue.message;
      }),
    ),
  ];
  const parts = lines.slice(0, 5);
  const more = lines.length > 5 ? ` (and ${lines.length - 5} more)` : '';
  return `invalid request: ${parts.join('; ')}${more}`;
}

const forwardedSchema = z.object({
  // Loose: the request travels whole (an update's changes included), the agent checks only the ids.
  request: z.looseObject({
    version: z.literal(1),
    requestId: z.string().regex(REQUEST_ID_RE),
    operation: z.enum([...OPERATIONS, BATCH_OPERATION]),
    resource: z.enum(RESOURCES),
    tenantId,
    loadbalancerId: uuid,
    object: z.looseObject({ id: uuid }),
  }),
  scheduling: z.object({
    kind: z.enum(FORWARDED_DECISIONS),
    host: z.string().min(1).max(128),
    scheduledAt: z.number(),
    env: z.string().min(1).max(16),
    submittedAt: z.number().optional(),
  }),
});

/** A request message as producers put it on the queue (the JSON parseRequest reads). */
export type RequestEnvelope = {
  version: 1;
  requestId: string;
  operation: string;
  resource: string;
  tenantId: string;
  loadbalancerId: string;
  object: Record<string, unknown>;
};

/**
 * The SQS message attribute a producer that recorded its request itself sets to "true" (the
 * Octavia API): the scheduler then checks the record holds the request and does not record it
 * again. The body stays the request message every producer sends.
 */
export const RECORDED_ATTRIBUTE = 'recorded';

/**
 * The de-duplication id of a request on the FIFO queues (and, as a pair, its idempotency key): a
 * request id is unique per tenant only, so another tenant reusing one must never be taken for a
 * duplicate and dropped.
 */
export function deduplicationId(request: { tenantId: string; requestId: string }): string {
  return `${request.tenantId.toLowerCase()}:${request.requestId}`;
}

/**
 * The key of a request's guard (the idempotency table): written in the transaction that records the
 * request, so a request id of a tenant in an environment is recorded once; a redelivery finds it and
 * is never recorded again (never overwrites a newer request's desired state). Its own prefix: no
 * Powertools key (`<env>-…`) and no refusal (`refusal#…`) starts so.
 */
export function requestGuardKey(env: string, request: { tenantId: string; requestId: string }): string {
  return `request#${env}#${request.tenantId}#${request.requestId}`;
}

/**
 * A request as forwarded to an agent: the original plus the scheduler's decision. The one type of
 * the agent queues' messages, for the scheduler and reclaimer that send them and the worker that
 * parses them.
 */
export type ForwardedRequest = z.output<typeof forwardedSchema>;
export type Scheduling = ForwardedRequest['scheduling'];

/**
 * The request as it travels to an agent: whole, except a member batch, which travels as its pool
 * (the agent reads every member from the resources table; a thousand of them stay out of the queue).
 */
export function forwardable(request: LbaasRequest): ForwardedRequest['request'] {
  if (!isMemberBatch(request)) return request;
  const { object, ...head } = request;
  return { ...head, object: { id: object.pool_id } };
}

/**
 * Parses a request as the scheduler forwarded it to an agent. The agent re-checks the ids
 * (defence in depth: they become BIG-IP names) but needs nothing else from the message: it reads
 * the desired state from the resources table.
 */
export function parseForwarded(
  body: string,
): { ok: true; message: ForwardedRequest } | { ok: false; reason: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (error) {
    return { ok: false, reason: `forwarded message is not valid JSON: ${(error as Error).message}` };
  }
  const parsed = forwardedSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, reason: formatIssues(parsed.error.issues) };
  return { ok: true, message: parsed.data };
}
