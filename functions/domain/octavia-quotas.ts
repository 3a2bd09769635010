import { isMemberBatch, type LbaasRequest, RESOURCES, type ResourceType } from './lbaas-request.js';
import { DISPLAY_NAMES, faults, OctaviaFault } from './octavia-faults.js';

/**
 * Octavia's quotas (`/v2/lbaas/quotas`): per project and resource, a limit (-1 unlimited, 0 none)
 * or the environment's default. What a project uses is counted by the resources table itself (a
 * counter per project and resource, changed in the same transaction as the records), so a limit
 * is enforced race-free: the write that would pass it is refused whole.
 */

/** Octavia's quota names, in its order, and the resource each counts. */
export const QUOTA_NAMES: readonly [string, ResourceType][] = [
  ['load_balancer', 'loadbalancer'],
  ['listener', 'listener'],
  ['pool', 'pool'],
  ['health_monitor', 'healthmonitor'],
  ['member', 'member'],
  ['l7policy', 'l7policy'],
  ['l7rule', 'l7rule'],
];

/** The names Octavia deprecated in Rocky but still takes (and shows in listings). */
const ALIASES: Record<string, string> = { loadbalancer: 'load_balancer', healthmonitor: 'health_monitor' };

/** Octavia's MIN_QUOTA and MAX_QUOTA. */
export const MIN_QUOTA = -1;
export const MAX_QUOTA = 2_000_000_000;

/** Limits by resource; a resource left out has no limit of its own (the default applies). */
export type QuotaLimits = Partial<Record<ResourceType, number>>;

/** How many objects of each type a write adds to its project. */
export type UsageChange = Partial<Record<ResourceType, number>>;

/**
 * The quota part of a recording: the limits to hold (a resource left out or -1 is unlimited) and,
 * when the write counts for more than its own request (the first write of an API call counts the
 * whole call), what it adds.
 */
export interface QuotaCheck {
  limits: QuotaLimits;
  add?: UsageChange;
}

/** A project's limits: its own where set, else the defaults. */
export function effectiveLimits(own: QuotaLimits | undefined, defaults: QuotaLimits): Required<QuotaLimits> {
  const out = {} as Required<QuotaLimits>;
  for (const type of RESOURCES) out[type] = own?.[type] ?? defaults[type] ?? -1;
  return out;
}

/** Octavia's quota body (`{"quota": {...}}` on PUT, the object in answers): every name, limits resolved. */
export function quotaView(limits: Required<QuotaLimits>): Record<string, number> {
  return Object.fromEntries(QUOTA_NAMES.map(([name, type]) => [name, limits[type]]));
}

/** A listing's entry: the project and its own limits (unset ones null), with the deprecated names too, as Octavia lists them. */
export function quotaListEntry(projectId: string, own: QuotaLimits): Record<string, unknown> {
  const out: Record<string, unknown> = { project_id: projectId };
  for (const [name, type] of QUOTA_NAMES) out[name] = own[type] ?? null;
  out.loadbalancer = out.load_balancer;
  out.healthmonitor = out.health_monitor;
  return out;
}

/**
 * A quota PUT's body: `{"quota": {name: int|null}}`; names Octavia takes (its deprecated ones too),
 * each from -1 to 2,000,000,000; null resets that one to the default. Octavia's 400 otherwise.
 */
export function parseQuotaUpdate(body: unknown): { set: QuotaLimits; reset: ResourceType[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw faults.badRequest('Invalid input: the body must be a JSON object.');
  const quota = (body as Record<string, unknown>).quota;
  if (typeof quota !== 'object' || quota === null || Array.isArray(quota))
    throw faults.badRequest('Missing argument: "quota"');
  const set: QuotaLimits = {};
  const reset: ResourceType[] = [];
  for (const [rawName, value] of Object.entries(quota as Record<string, unknown>)) {
    const name = ALIASES[rawName] ?? rawName;
    const type = QUOTA_NAMES.find(([n]) => n === name)?.[1];
    if (!type) throw faults.unknownAttribute('quota', rawName);
    if (value === null) {
      reset.push(type);
      continue;
    }
    const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n))
      throw faults.invalidInput(rawName, value, "Value should be 'integer' type");
    if (n < MIN_QUOTA)
      throw faults.invalidInput(rawName, value, `Value should be greater or equal to ${MIN_QUOTA}`);
    if (n > MAX_QUOTA)
      throw faults.invalidInput(rawName, value, `Value should be lower or equal to ${MAX_QUOTA}`);
    set[type] = n;
  }
  return { set, reset };
}

/** What recording these requests adds to their project, by type (creates only; a batch's creates are the store's to count). */
export function usageOf(requests: readonly LbaasRequest[]): UsageChange {
  const out: UsageChange = {};
  for (const r of requests)
    if (!isMemberBatch(r) && r.operation === 'create') out[r.resource] = (out[r.resource] ?? 0) + 1;
  return out;
}

/** Resources whose limit adding `add` to `used` would pass, in Octavia's order. */
export function overLimit(used: UsageChange, add: UsageChange, limits: QuotaLimits): ResourceType[] {
  return QUOTA_NAMES.map(([, type]) => type).filter((type) => {
    const limit = limits[type];
    const n = add[type] ?? 0;
    return n > 0 && limit !== undefined && limit >= 0 && (used[type] ?? 0) + n > limit;
  });
}

/** Octavia's 403 when a quota is met. */
export function quotaFault(types: readonly ResourceType[]): OctaviaFault {
  return new OctaviaFault(
    403,
    `Quota has been met for resources: ${types.map((t) => DISPLAY_NAMES[t]).join(', ')}`,
  );
}

/** The reason a refused recording carries (the API turns it into Octavia's 403). */
export function quotaReason(types: readonly ResourceType[]): string {
  return quotaFault(types).message;
}
