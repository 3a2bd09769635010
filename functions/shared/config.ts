import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { DEFAULT_GROUP, type SelectionPolicy } from '../domain/agent-scheduler.js';
import type { GroupDefinition } from '../domain/capacity.js';
import type { NetworkDefinition } from '../domain/networks.js';
import type { BigIpEndpoint } from '../domain/ports.js';
import { CLUSTER_NAME_RE, envSetting, quotaDefaults, rules } from './config-rules.js';
import type { TableId, TableNames } from './table-schema.js';

/**
 * The only reader of process.env. Each function validates its variables once, at cold start, and
 * fails loudly naming the variable. The CDK stack sets the same names from these constants, so a
 * grant and the variable that carries the resource's name never drift apart.
 */
export const ENV_VARS = {
  environment: 'LBAAS_ENVIRONMENT',
  requestQueueUrl: 'LBAAS_REQUEST_QUEUE_URL',
  agentQueueUrl: 'LBAAS_AGENT_QUEUE_URL',
  agentHost: 'LBAAS_AGENT_HOST',
  agentId: 'LBAAS_AGENT_ID',
  agentDownTimeSeconds: 'LBAAS_AGENT_DOWN_TIME_SECONDS',
  agentCacheSeconds: 'LBAAS_AGENT_CACHE_SECONDS',
  maxAttempts: 'LBAAS_MAX_ATTEMPTS',
  retryBaseSeconds: 'LBAAS_RETRY_BASE_SECONDS',
  retryMaxSeconds: 'LBAAS_RETRY_MAX_SECONDS',
  selection: 'LBAAS_SELECTION',
  idempotencyTtlSeconds: 'LBAAS_IDEMPOTENCY_TTL_SECONDS',
  devices: 'LBAAS_DEVICES',
  heartbeatIntervalSeconds: 'LBAAS_HEARTBEAT_INTERVAL_SECONDS',
  beatsPerInvocation: 'LBAAS_BEATS_PER_INVOCATION',
  leaseSeconds: 'LBAAS_LEASE_SECONDS',
  rebindAfterSeconds: 'LBAAS_REBIND_AFTER_SECONDS',
  deviceSecretId: 'LBAAS_DEVICE_SECRET_ID',
  /** A PEM file shipped inside the function's package (an environment variable would pass Lambda's 4 KB limit). */
  caBundleFile: 'LBAAS_CA_BUNDLE_FILE',
  deviceGroup: 'LBAAS_DEVICE_GROUP',
  trafficGroup: 'LBAAS_TRAFFIC_GROUP',
  clusterName: 'LBAAS_CLUSTER_NAME',
  agentQueues: 'LBAAS_AGENT_QUEUES',
  restTimeoutSeconds: 'LBAAS_REST_TIMEOUT_SECONDS',
  healthIntervalSeconds: 'LBAAS_HEALTH_INTERVAL_SECONDS',
  reconcileDrift: 'LBAAS_RECONCILE_DRIFT',
  reconcileOrphans: 'LBAAS_RECONCILE_ORPHANS',
  /** The device group an agent-side function belongs to (its devices are that group's). */
  group: 'LBAAS_GROUP',
  /** The scheduler's view of every device group: [{"name", "limits"}]. */
  groups: 'LBAAS_GROUPS',
  /** The Octavia API: its policy mode, the environment's networks, and the Keystone it validates tokens with. */
  apiPolicy: 'LBAAS_API_POLICY',
  networks: 'LBAAS_NETWORKS',
  /** The Octavia API's default quotas (JSON, Octavia's quota names). */
  apiQuotas: 'LBAAS_API_QUOTAS',
  keystoneUrl: 'LBAAS_KEYSTONE_URL',
  keystoneSecretId: 'LBAAS_KEYSTONE_SECRET_ID',
  tokenCacheSeconds: 'LBAAS_TOKEN_CACHE_SECONDS',
  settleSeconds: 'LBAAS_API_SETTLE_SECONDS',
} as const;

export const TABLE_ENV_VARS: Record<TableId, string> = {
  agents: 'LBAAS_TABLE_AGENTS',
  bindings: 'LBAAS_TABLE_BINDINGS',
  affinity: 'LBAAS_TABLE_AFFINITY',
  resources: 'LBAAS_TABLE_RESOURCES',
  leases: 'LBAAS_TABLE_LEASES',
  idempotency: 'LBAAS_TABLE_IDEMPOTENCY',
  claims: 'LBAAS_TABLE_CLAIMS',
  statistics: 'LBAAS_TABLE_STATISTICS',
  groups: 'LBAAS_TABLE_GROUPS',
  apiObjects: 'LBAAS_TABLE_API_OBJECTS',
};

type Env = Record<string, string | undefined>;

const name = z.string().min(1);

/**
 * The tables each function uses: the stack grants exactly these (and sets their variables), and
 * each function reads exactly these, so a grant and a reader can never disagree.
 */
export const FUNCTION_TABLES = {
  scheduler: ['agents', 'bindings', 'affinity', 'resources', 'idempotency', 'claims', 'groups'],
  agent: ['agents', 'bindings', 'affinity', 'resources', 'leases', 'claims', 'groups', 'statistics'],
  heartbeat: ['agents', 'bindings', 'affinity'],
  reclaimer: ['agents', 'bindings', 'affinity'],
  health: ['agents', 'bindings', 'resources', 'statistics', 'groups'],
  reconciler: ['agents', 'bindings', 'resources', 'leases'],
  // The Octavia API records requests (resources, claims, and each request's guard in idempotency) and places new
  // load balancers (agents, bindings, affinity, groups); its quotas, flavors and availability zones are its own (apiObjects).
  api: [
    'agents',
    'bindings',
    'affinity',
    'resources',
    'claims',
    'idempotency',
    'statistics',
    'groups',
    'apiObjects',
  ],
  authorizer: [],
} as const satisfies Record<string, readonly TableId[]>;

export type FunctionKind = keyof typeof FUNCTION_TABLES;
export type TablesOf<F extends FunctionKind> = Pick<TableNames, (typeof FUNCTION_TABLES)[F][number]>;

function tablesFrom<F extends FunctionKind>(env: Env, fn: F): TablesOf<F> {
  const out: Partial<TableNames> = {};
  for (const id of FUNCTION_TABLES[fn]) out[id] = read(env, TABLE_ENV_VARS[id], name);
  return out as TablesOf<F>;
}

function read<T>(env: Env, variable: string, schema: z.ZodType<T>): T {
  const result = schema.safeParse(env[variable]);
  if (!result.success) {
    const why = result.error.issues.map((i) => i.message).join('; ');
    throw new Error(`configuration: ${variable} is missing or invalid (${why})`);
  }
  return result.data;
}

/** One reader per variable several functions share, so a rule is written once. */
const field = {
  env: (env: Env) => read(env, ENV_VARS.environment, rules.envPrefix),
  host: (env: Env) => read(env, ENV_VARS.agentHost, rules.host),
  agentQueueUrl: (env: Env) => read(env, ENV_VARS.agentQueueUrl, z.url()),
  agentDownTimeMs: (env: Env) =>
    read(env, ENV_VARS.agentDownTimeSeconds, envSetting('agentDownTimeSeconds')) * 1000,
  heartbeatIntervalMs: (env: Env) =>
    read(env, ENV_VARS.heartbeatIntervalSeconds, envSetting('heartbeatIntervalSeconds')) * 1000,
  beatsPerInvocation: (env: Env) =>
    read(env, ENV_VARS.beatsPerInvocation, envSetting('beatsPerInvocation').pipe(z.int())),
  maxAttempts: (env: Env) => read(env, ENV_VARS.maxAttempts, envSetting('maxAttempts').pipe(z.int())),
  retry: (env: Env) => ({
    baseSeconds: read(env, ENV_VARS.retryBaseSeconds, envSetting('retryBaseSeconds')),
    maxSeconds: read(env, ENV_VARS.retryMaxSeconds, envSetting('retryMaxSeconds')),
  }),
};

export interface SchedulerConfig {
  env: string;
  /** The environment's device groups and their limits (left out: every group open, nothing counted). */
  groups?: GroupDefinition[];
  requestQueueUrl: string;
  tables: TablesOf<'scheduler'>;
  agentDownTimeMs: number;
  agentCacheMs: number;
  maxAttempts: number;
  retry: { baseSeconds: number; maxSeconds: number };
  selection: SelectionPolicy;
  idempotencyTtlSeconds: number;
  /** The environment's networks: a request's subnets and addresses are checked against them (none: no checks). */
  networks?: NetworkDefinition[];
}

export function readSchedulerConfig(env: Env = process.env): SchedulerConfig {
  return {
    env: field.env(env),
    requestQueueUrl: read(env, ENV_VARS.requestQueueUrl, z.url()),
    tables: tablesFrom(env, 'scheduler'),
    agentDownTimeMs: field.agentDownTimeMs(env),
    agentCacheMs: read(env, ENV_VARS.agentCacheSeconds, envSetting('agentCacheSeconds')) * 1000,
    maxAttempts: field.maxAttempts(env),
    retry: field.retry(env),
    selection: read(env, ENV_VARS.selection, rules.selection.default('random')),
    idempotencyTtlSeconds: read(env, ENV_VARS.idempotencyTtlSeconds, envSetting('idempotencyTtlSeconds')),
    ...(env[ENV_VARS.groups] ? { groups: read(env, ENV_VARS.groups, json(groupsSchema)) } : {}),
    networks: read(env, ENV_VARS.networks, json(rules.networks).default([])),
  };
}

/** The environment's device groups and their limits (the scheduler's and the status pollers' view). */
const groupsSchema: z.ZodType<GroupDefinition[]> = z
  .array(
    z.strictObject({
      name: rules.name,
      limits: rules.capacityLimits,
      units: z.int().min(1).max(8).optional(),
    }),
  )
  .min(1);

const endpointSchema = z.strictObject({
  name: rules.name,
  baseUrl: z.url({ protocol: /^https?$/ }),
  signing: z.strictObject({ region: z.string().min(1), service: z.string().optional() }).optional(),
});

/** What every agent-side function (worker, heartbeat) needs to reach its environment's devices. */
export interface DeviceAccessConfig {
  devices: BigIpEndpoint[];
  deviceSecretId: string;
  caBundle: string | undefined;
  deviceGroup: string | undefined;
  trafficGroup: string | undefined;
  clusterName: string;
  restTimeoutMs: number;
  /** The device group these devices are (`default` when left out, as in configurations without groups). */
  group?: string;
  /** The environment's networks: the agents put the segmented ones on the devices (none: route domain 0 only). */
  networks?: NetworkDefinition[];
  /**
   * Only the local stack's conformance run (Octavia's no-op network driver): any other subnet id
   * stands for a subnet of this CIDR, written in its load balancer's route domain, as the API takes it.
   */
  noopNetworkCidr?: string;
}

/** The CA bundle file, relative to the function's package root (LAMBDA_TASK_ROOT) unless absolute. */
function readCaBundle(env: Env): string | undefined {
  const file = env[ENV_VARS.caBundleFile];
  if (!file) return undefined;
  const path = isAbsolute(file) ? file : join(env.LAMBDA_TASK_ROOT ?? process.cwd(), file);
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(
      `configuration: ${ENV_VARS.caBundleFile} names ${path}, which cannot be read (${(error as Error).message})`,
    );
  }
}

/** A variable holding JSON, validated by `schema` once parsed. */
function json<T>(schema: z.ZodType<T>) {
  return z
    .string()
    .transform((s, ctx) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

function readDeviceAccess(env: Env): DeviceAccessConfig {
  const devices = read(env, ENV_VARS.devices, json(z.array(endpointSchema).min(1)));
  const caBundle = readCaBundle(env);
  return {
    devices: devices.map((d) => ({
      name: d.name,
      baseUrl: d.baseUrl,
      ...(d.signing
        ? {
            signing: {
              region: d.signing.region,
              ...(d.signing.service ? { service: d.signing.service } : {}),
            },
          }
        : {}),
      ...(caBundle ? { caBundle } : {}),
    })),
    deviceSecretId: read(env, ENV_VARS.deviceSecretId, name),
    caBundle: caBundle || undefined,
    deviceGroup: env[ENV_VARS.deviceGroup] || undefined,
    trafficGroup: env[ENV_VARS.trafficGroup] || undefined,
    clusterName: read(env, ENV_VARS.clusterName, z.string().regex(CLUSTER_NAME_RE).default('cluster')),
    restTimeoutMs: read(env, ENV_VARS.restTimeoutSeconds, envSetting('restTimeoutSeconds')) * 1000,
    group: read(env, ENV_VARS.group, rules.name.default(DEFAULT_GROUP)),
    networks: read(env, ENV_VARS.networks, json(rules.networks).default([])),
  };
}

export interface AgentConfig extends DeviceAccessConfig {
  env: string;
  host: string;
  agentQueueUrl: string;
  tables: TablesOf<'agent'>;
  maxAttempts: number;
  retry: { baseSeconds: number; maxSeconds: number };
  leaseMs: number;
  /** How long a message the worker holds stays invisible between renewals (see in-flight-hold). */
  inFlightHoldMs: number;
}

/**
 * A third of agentDownTime, at least a second: a message held by a worker that died is visible
 * again well before its agent is declared dead, so the reclaimer's next sweep moves it.
 */
export function inFlightHoldMsFor(agentDownTimeMs: number): number {
  return Math.max(1000, Math.round(agentDownTimeMs / 3));
}

export function readAgentConfig(env: Env = process.env): AgentConfig {
  return {
    env: field.env(env),
    host: field.host(env),
    agentQueueUrl: field.agentQueueUrl(env),
    tables: tablesFrom(env, 'agent'),
    maxAttempts: field.maxAttempts(env),
    retry: field.retry(env),
    leaseMs: read(env, ENV_VARS.leaseSeconds, envSetting('leaseSeconds')) * 1000,
    inFlightHoldMs: inFlightHoldMsFor(field.agentDownTimeMs(env)),
    ...readDeviceAccess(env),
  };
}

export interface ReclaimerConfig {
  env: string;
  tables: TablesOf<'reclaimer'>;
  agentDownTimeMs: number;
  intervalMs: number;
  sweepsPerInvocation: number;
  /** Every agent queue of the environment by host (so a deleted agent's queue is swept too). */
  agentQueues: Record<string, string>;
}

export function readReclaimerConfig(env: Env = process.env): ReclaimerConfig {
  return {
    env: field.env(env),
    tables: tablesFrom(env, 'reclaimer'),
    agentDownTimeMs: field.agentDownTimeMs(env),
    intervalMs: field.heartbeatIntervalMs(env),
    sweepsPerInvocation: field.beatsPerInvocation(env),
    agentQueues: env[ENV_VARS.agentQueues]
      ? read(env, ENV_VARS.agentQueues, json(z.record(rules.host, z.url())))
      : {},
  };
}

export interface HeartbeatConfig extends DeviceAccessConfig {
  env: string;
  host: string;
  agentId: string;
  agentQueueUrl: string;
  tables: TablesOf<'heartbeat'>;
  agentDownTimeMs: number;
  heartbeatIntervalMs: number;
  beatsPerInvocation: number;
  /** Drain agents dead longer than this (opt-in); undefined = bindings always wait for their agent. */
  rebindAfterMs: number | undefined;
}

export function readHeartbeatConfig(env: Env = process.env): HeartbeatConfig {
  return {
    env: field.env(env),
    host: field.host(env),
    agentId: read(env, ENV_VARS.agentId, rules.agentId),
    agentQueueUrl: field.agentQueueUrl(env),
    tables: tablesFrom(env, 'heartbeat'),
    agentDownTimeMs: field.agentDownTimeMs(env),
    heartbeatIntervalMs: field.heartbeatIntervalMs(env),
    beatsPerInvocation: field.beatsPerInvocation(env),
    rebindAfterMs: env[ENV_VARS.rebindAfterSeconds]
      ? read(env, ENV_VARS.rebindAfterSeconds, z.coerce.number().positive()) * 1000
      : undefined,
    ...readDeviceAccess(env),
  };
}

export interface HealthPollerConfig extends DeviceAccessConfig {
  env: string;
  tables: TablesOf<'health'>;
  /** Agents older than this are not counted alive in their group's usage. */
  agentDownTimeMs: number;
  /** The environment's groups and limits (its own group's limits give its capacity score). */
  groups?: GroupDefinition[];
  /** Time between polls of the cluster (at least 30 s). */
  intervalMs: number;
  /** Polls per scheduled invocation (EventBridge fires at most once a minute). */
  pollsPerInvocation: number;
}

/** A minute's schedule holds as many polls as fit: 2 at 30 s, 1 from 60 s (then the schedule itself is the interval). */
export function pollsPerMinute(intervalMs: number): number {
  return Math.max(1, Math.floor(60_000 / intervalMs));
}

export function readHealthPollerConfig(env: Env = process.env): HealthPollerConfig {
  const intervalMs = read(env, ENV_VARS.healthIntervalSeconds, envSetting('healthIntervalSeconds')) * 1000;
  return {
    env: field.env(env),
    tables: tablesFrom(env, 'health'),
    agentDownTimeMs: field.agentDownTimeMs(env),
    ...(env[ENV_VARS.groups] ? { groups: read(env, ENV_VARS.groups, json(groupsSchema)) } : {}),
    intervalMs,
    pollsPerInvocation: pollsPerMinute(intervalMs),
    ...readDeviceAccess(env),
  };
}

export interface ReconcilerConfig extends DeviceAccessConfig {
  env: string;
  tables: TablesOf<'reconciler'>;
  /** What a scheduled run does with drift: repair it, or only report it. */
  drift: 'repair' | 'report';
  /** What a scheduled run does with orphans: report them (the default), or remove them. */
  orphans: 'report' | 'remove';
  leaseMs: number;
}

export function readReconcilerConfig(env: Env = process.env): ReconcilerConfig {
  return {
    env: field.env(env),
    tables: tablesFrom(env, 'reconciler'),
    drift: read(env, ENV_VARS.reconcileDrift, rules.reconcileDrift.default('repair')),
    orphans: read(env, ENV_VARS.reconcileOrphans, rules.reconcileOrphans.default('report')),
    leaseMs: read(env, ENV_VARS.leaseSeconds, envSetting('leaseSeconds')) * 1000,
    ...readDeviceAccess(env),
  };
}

export interface ApiConfig {
  env: string;
  requestQueueUrl: string;
  tables: TablesOf<'api'>;
  /** Octavia's policy mode for this environment. */
  policy: (typeof rules.apiPolicy)['_zod']['output'];
  networks: NetworkDefinition[];
  agentDownTimeMs: number;
  agentCacheMs: number;
  selection: SelectionPolicy;
  groups?: GroupDefinition[];
  /** Default quotas per project by Octavia's quota names (-1 unlimited). */
  quotas?: z.output<typeof quotaDefaults>;
  /** How long a write's answer may wait for its change to be applied (absent: answer at once). */
  settleMs?: number;
}

export function readApiConfig(env: Env = process.env): ApiConfig {
  return {
    env: field.env(env),
    requestQueueUrl: read(env, ENV_VARS.requestQueueUrl, z.url()),
    tables: tablesFrom(env, 'api'),
    policy: read(env, ENV_VARS.apiPolicy, rules.apiPolicy.default('advanced')),
    networks: read(env, ENV_VARS.networks, json(rules.networks).default([])),
    agentDownTimeMs: field.agentDownTimeMs(env),
    agentCacheMs: read(env, ENV_VARS.agentCacheSeconds, envSetting('agentCacheSeconds')) * 1000,
    selection: read(env, ENV_VARS.selection, rules.selection.default('random')),
    ...(env[ENV_VARS.groups] ? { groups: read(env, ENV_VARS.groups, json(groupsSchema)) } : {}),
    quotas: env[ENV_VARS.apiQuotas]
      ? read(env, ENV_VARS.apiQuotas, json(quotaDefaults))
      : quotaDefaults.parse(undefined),
    settleMs: read(env, ENV_VARS.settleSeconds, envSetting('settleSeconds')) * 1000,
  };
}

/** The API authorizer's Keystone: where, with which service account (a Secrets Manager secret), cached how long. */
export interface AuthorizerConfig {
  env: string;
  keystoneUrl: string;
  keystoneSecretId: string;
  tokenCacheMs: number;
}

export function readAuthorizerConfig(env: Env = process.env): AuthorizerConfig {
  return {
    env: field.env(env),
    keystoneUrl: read(env, ENV_VARS.keystoneUrl, z.url({ protocol: /^https?$/ })),
    keystoneSecretId: read(env, ENV_VARS.keystoneSecretId, name),
    tokenCacheMs: read(env, ENV_VARS.tokenCacheSeconds, envSetting('tokenCacheSeconds')) * 1000,
  };
}
