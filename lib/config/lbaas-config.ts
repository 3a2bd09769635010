import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';
import { DEFAULT_GROUP } from '../../functions/domain/agent-scheduler.js';
import type { CapacityLimits } from '../../functions/domain/capacity.js';
import { intSetting, quotaDefaults, rules, TRAFFIC_GROUP_RE } from '../../functions/shared/config-rules.js';

/**
 * The one configuration file (`lbaas.config.json`): environments, their devices and their
 * agents. `cdk synth`, `npm start` and the CLI all read it through this schema, which names the
 * offending field in every error.
 */

const deviceUnit = z.strictObject({
  /** Device name (logs, metrics, leases). */
  name: rules.name,
  /** Management address the Network Load Balancer (or the functions, in direct mode) reaches. */
  managementAddress: z.string().refine((a) => isIP(a) !== 0, { error: 'must be an IP address' }),
  port: z.int().min(1).max(65535).default(443),
});

const agent = z.strictObject({
  /** Unique host name of the agent (its queue, worker and heartbeat are named after it). */
  host: rules.host,
  /** Stable identity; a second agent claiming this host with another id is refused. */
  agentId: rules.agentId.optional(),
  /** Subnets of this agent's own network path (direct mode), typically one availability zone. */
  subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/)).default([]),
});

const devices = z.strictObject({
  /** How agents reach the management addresses. */
  access: z.enum(['vpc-link', 'direct']).default('vpc-link'),
  vpcId: z
    .string()
    .regex(/^vpc-[0-9a-f]{8,17}$/)
    .optional(),
  /** Subnets of the Network Load Balancer (vpc-link) in front of the management ports. */
  subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/)).default([]),
  /** Name of the Secrets Manager secret holding {"username","password"} (created empty if absent). */
  credentialsSecretName: z.string().min(1).max(512),
  /** PEM file (relative to the config) of the CA that signed the devices' certificates. */
  caBundleFile: z.string().min(1).optional(),
  /** Device group to config-sync after each change (manual-sync HA pairs). */
  deviceGroup: rules.name.optional(),
  trafficGroup: z.string().regex(TRAFFIC_GROUP_RE).optional(),
  units: z.array(deviceUnit).min(1).max(8),
});
type Devices = z.output<typeof devices>;

/** A device group: a BIG-IP unit or HA pair, the agents that manage it, and how much it may hold. */
const deviceGroup = z.strictObject({
  name: rules.name,
  devices,
  agents: z.array(agent).min(1).max(50),
  capacity: rules.capacityLimits.default({}),
});

const environment = z
  .strictObject({
    prefix: rules.envPrefix,
    agentDownTimeSeconds: intSetting('agentDownTimeSeconds'),
    heartbeatIntervalSeconds: intSetting('heartbeatIntervalSeconds'),
    /** How often the status poller reads the active unit's health and counters (30 s at least). */
    healthIntervalSeconds: intSetting('healthIntervalSeconds'),
    /** How often the reconciler compares every partition with the desired state. */
    reconcileIntervalMinutes: intSetting('reconcileIntervalMinutes'),
    /** What a scheduled run does with drift (repair by default) and with orphans (report by default). */
    reconcileDrift: rules.reconcileDrift.default('repair'),
    reconcileOrphans: rules.reconcileOrphans.default('report'),
    /** Minutes a load balancer must stay in operating status ERROR before its alarm fires. */
    healthAlarmMinutes: z.int().min(1).max(60).default(5),
    maxAttempts: intSetting('maxAttempts'),
    retryBaseSeconds: intSetting('retryBaseSeconds'),
    retryMaxSeconds: intSetting('retryMaxSeconds'),
    selection: rules.selection.default('random'),
    rebindAfterSeconds: z.int().min(60).optional(),
    /** Concurrency reserved for each heartbeat function, so account-wide throttling cannot stop heartbeats. */
    heartbeatReservedConcurrency: z.int().min(1).max(10).default(2),
    /** Maximum concurrent scheduler invocations (the SQS event source's maximum concurrency). */
    schedulerConcurrency: z.int().min(2).max(1000).default(10),
    /**
     * Maximum concurrent invocations of each agent's worker (its SQS event source). Each holds its
     * batch through the config-sync wait, so this bounds an agent's throughput; every invocation is
     * also a client of the devices, so raise it only as far as they take it.
     */
    workerConcurrency: z.int().min(2).max(50).default(5),
    /** The devices and agents of an environment with one device group (the group is named `default`). */
    devices: devices.optional(),
    agents: z.array(agent).min(1).max(50).optional(),
    /** Capacity limits of that one group. */
    capacity: rules.capacityLimits.optional(),
    /** Several device groups (BIG-IP clusters), each with its own devices, agents and limits. */
    groups: z.array(deviceGroup).min(1).max(20).optional(),
    /** A group whose capacity score passes this raises its alarm (1 = full). */
    capacityAlarmScore: z.number().gt(0).max(1).default(0.8),
    /** The networks and subnets VIPs and members are placed on (the Octavia API resolves and allocates from them). */
    networks: rules.networks.default([]),
    /** The Octavia v2 API (API Gateway + Keystone): deployed when present. */
    api: z
      .strictObject({
        /** Octavia's policy mode (roles as in Octavia's default, Keystone's default roles, or project owner). */
        policy: rules.apiPolicy.default('advanced'),
        /** Keystone's v3 endpoint the authorizer validates tokens against. */
        keystoneUrl: z.url({ protocol: /^https$/, error: 'must be an https URL of Keystone v3' }),
        /** Secrets Manager secret with the API's Keystone service account (created empty if absent). */
        keystoneSecretName: z.string().min(1).max(512),
        /** How long a validated token is trusted (API Gateway's authorizer cache and the authorizer's own). */
        tokenCacheSeconds: intSetting('tokenCacheSeconds'),
        /** How long a write's answer may wait for its change to be applied, so a client's first poll finds it settled (0: answer at once, as Octavia). */
        settleSeconds: intSetting('settleSeconds'),
        /** API Gateway throttling of the stage: steady requests per second and burst. */
        rateLimit: z.number().positive().max(10_000).default(100),
        burstLimit: z.int().min(1).max(5_000).default(200),
        /** Alarm when this share of calls answers 5xx over 5 minutes, or the p99 latency passes this many ms. */
        alarm5xxRate: z.number().gt(0).max(1).default(0.05),
        alarmP99Ms: z.int().min(10).max(29_000).default(4_000),
        /** Default quotas per project, by Octavia's names (-1 unlimited, the default for each left out). */
        quotas: quotaDefaults,
      })
      .optional(),
  })
  .superRefine((e, ctx) => {
    if (e.groups && (e.devices || e.agents || e.capacity)) {
      ctx.addIssue({
        code: 'custom',
        path: ['groups'],
        message: 'use either groups or devices/agents/capacity (one group), not both',
      });
    }
    if (!e.groups && !(e.devices && e.agents)) {
      ctx.addIssue({
        code: 'custom',
        path: [e.devices ? 'agents' : 'devices'],
        message: 'is required (or list device groups under groups)',
      });
    }
    const groups =
      e.groups ??
      (e.devices && e.agents ? [{ name: DEFAULT_GROUP, devices: e.devices, agents: e.agents }] : []);
    const at = (g: number, ...path: (string | number)[]) => (e.groups ? ['groups', g, ...path] : path);
    const hosts = new Set<string>();
    const names = new Set<string>();
    const secrets = new Set<string>();
    groups.forEach((group, g) => {
      if (names.has(group.name))
        ctx.addIssue({ code: 'custom', path: at(g, 'name'), message: `duplicate group name ${group.name}` });
      names.add(group.name);
      if (secrets.has(group.devices.credentialsSecretName))
        ctx.addIssue({
          code: 'custom',
          path: at(g, 'devices', 'credentialsSecretName'),
          message: 'each device group needs its own credentials secret name',
        });
      secrets.add(group.devices.credentialsSecretName);
      // Through the VPC link the agents call API Gateway's public endpoint: a private CA as their
      // only trusted root would make every call fail its TLS check.
      if (group.devices.caBundleFile && group.devices.access !== 'direct')
        ctx.addIssue({
          code: 'custom',
          path: at(g, 'devices', 'caBundleFile'),
          message:
            'applies to access "direct" only (through the VPC link the agents reach API Gateway, whose certificate is public)',
        });
      group.agents.forEach((a, i) => {
        if (hosts.has(a.host)) {
          ctx.addIssue({
            code: 'custom',
            path: at(g, 'agents', i, 'host'),
            message: `duplicate host name ${a.host} (host names are unique in an environment, across groups)`,
          });
        }
        hosts.add(a.host);
      });
      // Both paths live in the devices' VPC: the NLB and VPC link in devices.subnetIds, or the agents in their own subnets.
      if (!group.devices.vpcId) {
        ctx.addIssue({
          code: 'custom',
          path: at(g, 'devices', 'vpcId'),
          message: 'is required (the VPC of the management addresses)',
        });
      }
      if (group.devices.access === 'vpc-link' && group.devices.subnetIds.length === 0) {
        ctx.addIssue({
          code: 'custom',
          path: at(g, 'devices', 'subnetIds'),
          message: 'needs at least one subnet for the load balancer and VPC link',
        });
      }
      if (group.devices.access === 'direct' && group.devices.subnetIds.length === 0) {
        group.agents.forEach((a, i) => {
          if (a.subnetIds.length === 0) {
            ctx.addIssue({
              code: 'custom',
              path: at(g, 'agents', i, 'subnetIds'),
              message: 'needs the agent’s own subnets in direct mode (or set devices.subnetIds)',
            });
          }
        });
      }
    });
    // A network's self IPs name device groups of this environment, one address per unit.
    e.networks.forEach((n, i) => {
      for (const [name, selfIps] of Object.entries(n.selfIps ?? {})) {
        const group = groups.find((g) => g.name === name);
        if (!group)
          ctx.addIssue({
            code: 'custom',
            path: ['networks', i, 'selfIps', name],
            message: `names no device group of this environment (${groups.map((g) => g.name).join(', ')})`,
          });
        else if (selfIps.units.length !== group.devices.units.length)
          ctx.addIssue({
            code: 'custom',
            path: ['networks', i, 'selfIps', name, 'units'],
            message: `needs one address per unit of group ${name} (${group.devices.units.length})`,
          });
      }
    });
    if (e.agentDownTimeSeconds < 2 * e.heartbeatIntervalSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['agentDownTimeSeconds'],
        message:
          'must be at least twice heartbeatIntervalSeconds (one lost heartbeat must not kill an agent)',
      });
    }
  })
  .transform(({ devices: one, agents: oneAgents, capacity, groups: listed, ...rest }) => {
    // One shape for everything downstream: groups, and every agent with its group.
    const groups = (
      listed ?? [
        { name: DEFAULT_GROUP, devices: one as Devices, agents: oneAgents ?? [], capacity: capacity ?? {} },
      ]
    ).map((g) => ({ ...g, capacity: g.capacity ?? {} }));
    return { ...rest, groups, agents: groups.flatMap((g) => g.agents.map((a) => ({ ...a, group: g.name }))) };
  });

export const lbaasConfigSchema = z
  .strictObject({
    $schema: z.string().optional(),
    /** Prefix of the shared DynamoDB tables and of stack names. */
    name: z
      .string()
      .regex(/^[a-z][a-z0-9-]{1,20}$/)
      .default('lbaas'),
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/)
      .optional(),
    account: z
      .string()
      .regex(/^\d{12}$/)
      .optional(),
    /** Where alarms go (an SNS topic is created; this address is subscribed if given). */
    alarmEmail: z.email().optional(),
    environments: z.array(environment).min(1),
  })
  .superRefine((c, ctx) => {
    const prefixes = new Set<string>();
    c.environments.forEach((e, i) => {
      if (prefixes.has(e.prefix)) {
        ctx.addIssue({
          code: 'custom',
          path: ['environments', i, 'prefix'],
          message: `duplicate prefix ${e.prefix}`,
        });
      }
      prefixes.add(e.prefix);
    });
  });

export type LbaasConfig = z.output<typeof lbaasConfigSchema>;
export type EnvironmentConfig = LbaasConfig['environments'][number];
export type AgentDefinition = EnvironmentConfig['agents'][number];
export type DeviceGroupConfig = EnvironmentConfig['groups'][number];

export class ConfigError extends Error {}

/** Validates a parsed configuration; the error lists every problem with its field path. */
export function parseConfig(raw: unknown, source = 'lbaas.config.json'): LbaasConfig {
  const result = lbaasConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  const lines = result.error.issues.map(
    (i) => `  - ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`,
  );
  throw new ConfigError(`${source} is invalid:\n${lines.join('\n')}`);
}

export function loadConfig(path: string): LbaasConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${path}: ${(error as Error).message}`);
  }
  return parseConfig(raw, path);
}

/** Agent identity: configured, or derived from environment and host (stable across deploys). */
export function agentIdOf(env: EnvironmentConfig, a: AgentDefinition): string {
  return a.agentId ?? `${env.prefix}.${a.host}`;
}

/** A device group as the CLI shows it: name, limits, agents, devices. */
export interface GroupSummary {
  name: string;
  limits: CapacityLimits;
  hosts: string[];
  devices: string[];
}

/** What `lbaas groups` shows of each device group's configuration. */
export function groupSummaries(environment: EnvironmentConfig | undefined): GroupSummary[] {
  return (environment?.groups ?? []).map((g) => ({
    name: g.name,
    limits: g.capacity,
    hosts: g.agents.map((a) => a.host),
    devices: g.devices.units.map((u) => u.name),
  }));
}
