import { z } from 'zod';
import type { CapacityLimits } from '../domain/capacity.js';
import { cidrContains, routeDomainOf } from '../domain/networks.js';

/**
 * Configuration rules and defaults, defined once: the CDK schema of lbaas.config.json validates
 * them at synth time, and each function validates the same rules again on the environment
 * variables the stack derived from them, at cold start.
 */

export const ENV_PREFIX_RE = /^[A-Za-z][A-Za-z0-9]{0,15}$/;
export const HOST_RE = /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/;
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
export const AGENT_ID_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
export const CLUSTER_NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;
export const TRAFFIC_GROUP_RE = /^\/Common\/[A-Za-z0-9_.-]+$/;

export const SELECTION_POLICIES = ['random', 'least-loaded'] as const;

/** Octavia's policy modes (functions/domain/octavia-policy.ts); `noauth` only on the local stack. */
export const API_POLICIES = [
  'advanced',
  'keystone_default_roles',
  'keystone_default_roles_scoped',
  'owner_or_admin',
] as const;

const NETWORK_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CIDR_RE = /^(?:\d{1,3}(?:\.\d{1,3}){3}\/\d{1,2}|[0-9a-fA-F:]+\/\d{1,3})$/;

const ipAddress = z.union([z.ipv4(), z.ipv6()], { error: 'must be an IPv4 or IPv6 address' });

/**
 * How a network reaches the devices (functions/domain/networks.ts): a VLAN tag, or an existing
 * VLAN or tunnel in /Common named by the operator (never created or removed by us).
 */
const segmentation = z.union(
  [
    z.strictObject({ vlan: z.int().min(1).max(4094) }),
    z.strictObject({
      existing: z.string().regex(/^\/Common\/[A-Za-z_][A-Za-z0-9_.-]{0,62}$/, {
        error: 'must name a VLAN or tunnel in /Common, such as /Common/external',
      }),
    }),
  ],
  { error: 'must be {"vlan": <tag 1-4094>} or {"existing": "/Common/<vlan or tunnel>"}' },
);

/**
 * An environment's networks as the Octavia API offers them for VIPs and members (ids, names,
 * subnets and CIDRs), and, when segmented, as the devices isolate them: a route domain derived from
 * the segmentation (the VLAN tag unless `routeDomain` says otherwise; an existing VLAN or tunnel
 * needs `routeDomain`), self IPs per device group, SNAT.
 */
const networks = z
  .array(
    z.strictObject({
      id: z.string().regex(NETWORK_ID_RE, { error: 'must be a lower-case UUID' }),
      name: z.string().min(1).max(255),
      subnets: z
        .array(
          z.strictObject({
            id: z.string().regex(NETWORK_ID_RE, { error: 'must be a lower-case UUID' }),
            name: z.string().min(1).max(255),
            cidr: z.string().regex(CIDR_RE, { error: 'must be a CIDR such as 10.0.0.0/24' }),
          }),
        )
        .min(1),
      segmentation: segmentation.optional(),
      /** A route domain id (1-65534; 0 is the devices' default, the unsegmented networks'). */
      routeDomain: z.int().min(1).max(65534).optional(),
      snat: z
        .union([z.literal('automap'), z.strictObject({ pool: z.array(ipAddress).min(1).max(64) })], {
          error: 'must be "automap" or {"pool": [addresses]}',
        })
        .optional(),
      selfIps: z
        .record(
          z.string().regex(NAME_RE, { error: 'must be a device group name' }),
          z.strictObject({ units: z.array(ipAddress).min(1).max(2), floating: ipAddress }),
        )
        .optional(),
    }),
  )
  .superRefine((list, ctx) => {
    const ids = new Set<string>();
    const routeDomains = new Map<number, string>();
    for (const [i, n] of list.entries()) {
      for (const id of [n.id, ...n.subnets.map((s) => s.id)]) {
        if (ids.has(id)) ctx.addIssue({ code: 'custom', path: [i], message: `id ${id} is used twice` });
        ids.add(id);
      }
      const issue = (path: (string | number)[], message: string) =>
        ctx.addIssue({ code: 'custom', path: [i, ...path], message });
      if (!n.segmentation) {
        for (const field of ['routeDomain', 'snat', 'selfIps'] as const)
          if (n[field] !== undefined)
            issue([field], 'needs segmentation (an unsegmented network is route domain 0)');
        continue;
      }
      if ('existing' in n.segmentation && n.routeDomain === undefined)
        issue(['routeDomain'], 'is required with an existing VLAN or tunnel (a name gives no id)');
      const rd = routeDomainOf(n);
      const other = routeDomains.get(rd);
      if (other) issue(['routeDomain'], `route domain ${rd} is also network ${other}'s`);
      routeDomains.set(rd, n.id);
      const inSubnets = (address: string) => n.subnets.some((s) => cidrContains(s.cidr, address));
      const addresses: [string, (string | number)[]][] = [
        ...Object.entries(n.selfIps ?? {}).flatMap(([group, s]) => [
          ...s.units.map((a, u): [string, (string | number)[]] => [a, ['selfIps', group, 'units', u]]),
          [s.floating, ['selfIps', group, 'floating']] as [string, (string | number)[]],
        ]),
        ...(typeof n.snat === 'object' ? n.snat.pool : []).map((a, k): [string, (string | number)[]] => [
          a,
          ['snat', 'pool', k],
        ]),
      ];
      const seen = new Set<string>();
      for (const [address, path] of addresses) {
        if (!inSubnets(address)) issue(path, `${address} is not in any subnet of the network`);
        if (seen.has(address)) issue(path, `${address} is used twice`);
        seen.add(address);
      }
    }
  });

export const rules = {
  envPrefix: z.string().regex(ENV_PREFIX_RE, {
    error:
      'must start with a letter and hold letters and digits only, at most 16 (it prefixes BIG-IP partition names)',
  }),
  host: z.string().regex(HOST_RE, { error: 'must be a host name: letters, digits, . and -' }),
  name: z.string().regex(NAME_RE, { error: 'must be letters, digits, _ . - (at most 63)' }),
  agentId: z.string().regex(AGENT_ID_RE, { error: 'must be letters, digits, _ . : - (at most 128)' }),
  selection: z.enum(SELECTION_POLICIES),
  apiPolicy: z.enum(API_POLICIES),
  networks,
  reconcileDrift: z.enum(['repair', 'report']),
  reconcileOrphans: z.enum(['report', 'remove']),
  /** A device group's capacity limits; a limit left out does not count toward its score (and is absent). */
  capacityLimits: z
    .strictObject({
      maxLoadBalancers: z.int().min(1).optional(),
      maxListeners: z.int().min(1).optional(),
      maxMembers: z.int().min(1).optional(),
      maxConnections: z.int().min(1).optional(),
      maxThroughputMbps: z.number().positive().optional(),
    })
    .transform(
      (limits): CapacityLimits =>
        Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)) as CapacityLimits,
    ),
};

/** One Octavia default quota: -1 unlimited, 0 none, up to Octavia's 2,000,000,000. */
const quota = z.int().min(-1).max(2_000_000_000).default(-1);

/**
 * The Octavia API's default quotas per project (Octavia's `[quotas] default_*_quota`), by
 * Octavia's quota names; each left out is unlimited (-1), as in Octavia.
 */
export const quotaDefaults = z
  .strictObject({
    load_balancer: quota,
    listener: quota,
    pool: quota,
    health_monitor: quota,
    member: quota,
    l7policy: quota,
    l7rule: quota,
  })
  .default({
    load_balancer: -1,
    listener: -1,
    pool: -1,
    health_monitor: -1,
    member: -1,
    l7policy: -1,
    l7rule: -1,
  });

/** Numeric settings: the range the configuration accepts and the default when it is left out. */
export const SETTINGS = {
  agentDownTimeSeconds: { min: 10, max: 3600, default: 75 },
  heartbeatIntervalSeconds: { min: 5, max: 60, default: 30 },
  maxAttempts: { min: 2, max: 100, default: 8 },
  retryBaseSeconds: { min: 1, max: 300, default: 2 },
  retryMaxSeconds: { min: 1, max: 43_200, default: 120 },
  beatsPerInvocation: { min: 1, max: 12, default: 2 },
  agentCacheSeconds: { min: 0, max: 60, default: 2 },
  idempotencyTtlSeconds: { min: 60, max: 2_592_000, default: 86_400 },
  leaseSeconds: { min: 5, max: 900, default: 60 },
  restTimeoutSeconds: { min: 1, max: 120, default: 20 },
  /** Device status polls: never below 30 s, as overlapping scrapes overload device CPUs (SAP, peer-features.md §1.7). */
  healthIntervalSeconds: { min: 30, max: 3600, default: 60 },
  /** How often the reconciler compares every partition with the desired state. */
  reconcileIntervalMinutes: { min: 5, max: 1440, default: 15 },
  /** How long the API trusts a validated Keystone token (never longer than the token itself). */
  tokenCacheSeconds: { min: 0, max: 3600, default: 300 },
  /** How long the API's answer to a write may wait for the change to be applied (0: answer at once). */
  settleSeconds: { min: 0, max: 20, default: 3 },
} as const;

export type SettingName = keyof typeof SETTINGS;

/** A whole-number setting in lbaas.config.json. */
export function intSetting(name: SettingName) {
  const s = SETTINGS[name];
  return z.int().min(s.min).max(s.max).default(s.default);
}

/** The same setting as an environment variable (a string; fractions allowed for scaled test clocks). */
export function envSetting(name: SettingName) {
  const s = SETTINGS[name];
  return z.coerce.number().min(s.min).max(s.max).default(s.default);
}
