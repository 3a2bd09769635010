import { z } from 'zod';
import { check, rootObject } from '../domain/octavia-bodies.js';
import { faults, OctaviaFault, PROVIDER } from '../domain/octavia-faults.js';
import {
  allowedGroups,
  checkProvider,
  type FlavorData,
  flavorCapabilities,
  type GroupInfo,
  validateFlavorData,
  validateZoneData,
  type ZoneData,
  zoneCapabilities,
} from '../domain/octavia-flavors.js';
import { listViews, parseListQuery, type QueryParams, selectFields } from '../domain/octavia-listing.js';
import { authorize, type Caller, isAllowed, type PolicyMode } from '../domain/octavia-policy.js';
import {
  effectiveLimits,
  parseQuotaUpdate,
  type QuotaLimits,
  quotaListEntry,
  quotaView,
} from '../domain/octavia-quotas.js';
import type { OctaviaObject } from '../domain/octavia-views.js';
import type { ApiObject, ApiObjectKind, ApiObjectStore, ObjectCatalog } from '../domain/ports.js';
import type { ApiResult } from './octavia-api.js';

export interface OctaviaSettingsDeps {
  env: string;
  policy: PolicyMode;
  store: ApiObjectStore;
  catalog: ObjectCatalog;
  /** The environment's device groups (what flavors and availability zones place into). */
  groups: readonly GroupInfo[];
  /** The configured default quotas (a resource left out is unlimited). */
  defaultQuotas: QuotaLimits;
  newId: () => string;
}

/** Where a new load balancer may go, and what its flavor and zone are (for its record). */
export interface Placement {
  flavorId?: string;
  availabilityZone?: string;
  /** The device groups allowed (undefined: any). */
  groups?: string[];
}

const NIL_UUID = '00000000-0000-0000-0000-000000000000';
const uuid = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/, {
    error: 'Invalid UUID',
  })
  .transform((s) => s.toLowerCase());
const str = (max = 255) => z.string().max(max, { error: `must be at most ${max} characters` });

const KINDS = {
  flavorprofile: {
    root: 'flavorprofile',
    many: 'flavorprofiles',
    // Octavia's own spelling of each list's links key.
    links: 'flavorprofile_links',
    display: 'Flavor profile',
    argument: 'flavor_profile_.flavorprofile',
    post: z.strictObject({ name: str(), provider_name: str(), flavor_data: str(4096) }),
    put: z.strictObject({
      name: str().nullish(),
      provider_name: str().nullish(),
      flavor_data: str(4096).nullish(),
    }),
    attributes: ['id', 'name', 'provider_name', 'flavor_data'],
  },
  flavor: {
    root: 'flavor',
    many: 'flavors',
    links: 'flavors_links',
    display: 'Flavor',
    argument: 'flavor_.flavor',
    post: z.strictObject({
      name: str(),
      description: str().nullish(),
      enabled: z.boolean().nullish(),
      flavor_profile_id: uuid,
    }),
    put: z.strictObject({
      name: str().nullish(),
      description: str().nullish(),
      enabled: z.boolean().nullish(),
    }),
    attributes: ['id', 'name', 'description', 'enabled', 'flavor_profile_id'],
  },
  availabilityzoneprofile: {
    root: 'availability_zone_profile',
    many: 'availability_zone_profiles',
    links: 'availability_zone_profile_links',
    display: 'Availability Zone Profile',
    argument: 'availability_zone_profile_.availability_zone_profile',
    post: z.strictObject({ name: str(), provider_name: str(), availability_zone_data: str(4096) }),
    put: z.strictObject({
      name: str().nullish(),
      provider_name: str().nullish(),
      availability_zone_data: str(4096).nullish(),
    }),
    attributes: ['id', 'name', 'provider_name', 'availability_zone_data'],
  },
  availabilityzone: {
    root: 'availability_zone',
    many: 'availability_zones',
    links: 'availability_zones_links',
    display: 'Availability Zone',
    argument: 'availability_zone_.availability_zone',
    post: z.strictObject({
      name: str(),
      description: str().nullish(),
      enabled: z.boolean().nullish(),
      availability_zone_profile_id: uuid,
    }),
    put: z.strictObject({ description: str().nullish(), enabled: z.boolean().nullish() }),
    attributes: ['name', 'description', 'enabled', 'availability_zone_profile_id'],
  },
} as const;

type Kind = keyof typeof KINDS;

/** Who may: profiles and provider capabilities are admin-only; flavors and zones are read by anyone with a load-balancer role, written by admins. */
const READ_RULE: Record<Kind, 'admin' | 'read'> = {
  flavorprofile: 'admin',
  flavor: 'read',
  availabilityzoneprofile: 'admin',
  availabilityzone: 'read',
};

/**
 * Octavia's quotas, flavors, flavor profiles, availability zones and their profiles, and the
 * provider's capabilities, kept in the apiObjects table. Flavors and zones are placement (see
 * octavia-flavors.ts); quotas are enforced where requests are recorded (OctaviaApi).
 */
export class OctaviaSettings {
  constructor(private readonly deps: OctaviaSettingsDeps) {}

  // ---- provider capabilities ----

  capabilities(
    caller: Caller,
    provider: string,
    kind: 'flavor' | 'availability_zone',
    params: QueryParams,
  ): ApiResult {
    authorize(this.deps.policy, 'admin', caller);
    if (provider !== PROVIDER) throw new OctaviaFault(501, `Provider '${provider}' was not found.`);
    const all: OctaviaObject[] =
      kind === 'flavor' ? flavorCapabilities(this.deps.groups) : zoneCapabilities();
    const fields = params.fields?.flatMap((f) => f.split(','));
    const byName = params.name;
    const byDescription = params.description;
    const shown = all
      .filter((c) => !byName || byName.includes(String(c.name)))
      .filter((c) => !byDescription || byDescription.includes(String(c.description)))
      .map((c) => selectFields(c, fields));
    return { status: 200, body: { [`${kind}_capabilities`]: shown } };
  }

  // ---- quotas ----

  async quotaList(caller: Caller, params: QueryParams): Promise<ApiResult> {
    const { policy } = this.deps;
    const requested = params.project_id?.at(-1) ?? params.tenant_id?.at(-1);
    const global = isAllowed(policy, 'read-global', caller) || isAllowed(policy, 'write-quota', caller);
    if (!global) {
      const project = requested ?? caller.projectId;
      if (project === undefined) throw faults.forbidden();
      authorize(policy, 'read', caller, project);
    }
    const scope = global ? requested : (requested ?? caller.projectId);
    const quotas = (await this.deps.store.list(this.deps.env, 'quota'))
      .filter((q) => scope === undefined || q.id === scope)
      .map((q) => quotaListEntry(q.id, q.data as QuotaLimits));
    return { status: 200, body: { quotas, quotas_links: [] } };
  }

  async quotaShow(caller: Caller, projectId: string): Promise<ApiResult> {
    authorize(this.deps.policy, 'read', caller, projectId);
    return { status: 200, body: { quota: quotaView(await this.limitsOf(projectId)) } };
  }

  quotaDefaults(caller: Caller, projectId: string | undefined): ApiResult {
    authorize(this.deps.policy, 'read', caller, projectId ?? caller.projectId);
    return { status: 200, body: { quota: quotaView(effectiveLimits(undefined, this.deps.defaultQuotas)) } };
  }

  async quotaUpdate(caller: Caller, projectId: string, raw: Record<string, unknown>): Promise<ApiResult> {
    authorize(this.deps.policy, 'write-quota', caller, projectId);
    const { set, reset } = parseQuotaUpdate(raw);
    for (let attempt = 1; ; attempt++) {
      const current = await this.deps.store.get(this.deps.env, 'quota', projectId);
      const next: QuotaLimits = { ...((current?.data ?? {}) as QuotaLimits), ...set };
      for (const type of reset) delete next[type];
      if (await this.deps.store.put(this.deps.env, 'quota', projectId, next, current?.version)) break;
      if (attempt >= 4) throw faults.conflict('The quota changed while it was written; try again.');
    }
    return { status: 202, body: { quota: quotaView(await this.limitsOf(projectId)) } };
  }

  async quotaReset(caller: Caller, projectId: string): Promise<ApiResult> {
    authorize(this.deps.policy, 'write-quota', caller, projectId);
    await this.deps.store.remove(this.deps.env, 'quota', projectId);
    return { status: 202 };
  }

  /** A project's limits: its own, else the defaults (-1: unlimited). */
  async limitsOf(projectId: string): Promise<Required<QuotaLimits>> {
    const own = await this.deps.store.get(this.deps.env, 'quota', projectId);
    return effectiveLimits(own?.data as QuotaLimits | undefined, this.deps.defaultQuotas);
  }

  // ---- flavors, availability zones and their profiles ----

  async list(kind: Kind, caller: Caller, params: QueryParams, url: string): Promise<ApiResult> {
    authorize(this.deps.policy, READ_RULE[kind], caller, caller.projectId);
    const spec = KINDS[kind];
    const query = parseListQuery(undefined, params, spec.attributes);
    const views = (await this.deps.store.list(this.deps.env, kind)).map((o) => this.view(kind, o));
    const out = listViews(views, query, params, url);
    return { status: 200, body: { [spec.many]: out.items, [spec.links]: out.links } };
  }

  async show(kind: Kind, caller: Caller, id: string, params: QueryParams): Promise<ApiResult> {
    authorize(this.deps.policy, READ_RULE[kind], caller, caller.projectId);
    const found = await this.find(kind, id);
    const fields = params.fields?.flatMap((f) => f.split(','));
    return { status: 200, body: { [KINDS[kind].root]: selectFields(this.view(kind, found), fields) } };
  }

  async create(kind: Kind, caller: Caller, raw: Record<string, unknown>): Promise<ApiResult> {
    authorize(this.deps.policy, 'admin', caller);
    const spec = KINDS[kind];
    const body = check(
      spec.post as z.ZodType<Record<string, unknown>>,
      rootObject(raw, spec.root),
      spec.argument,
    );
    const { env, store, groups } = this.deps;
    let id: string;
    let data: Record<string, unknown>;
    switch (kind) {
      case 'flavorprofile':
        checkProvider(body.provider_name);
        validateFlavorData(body.flavor_data, groups);
        id = this.deps.newId();
        data = { name: body.name, provider_name: body.provider_name, flavor_data: body.flavor_data };
        break;
      case 'availabilityzoneprofile':
        checkProvider(body.provider_name);
        validateZoneData(body.availability_zone_data, groups);
        id = this.deps.newId();
        data = {
          name: body.name,
          provider_name: body.provider_name,
          availability_zone_data: body.availability_zone_data,
        };
        break;
      case 'flavor': {
        if (!(await store.get(env, 'flavorprofile', String(body.flavor_profile_id))))
          throw new OctaviaFault(
            400,
            `${String(body.flavor_profile_id)} is not a valid option for flavor_profile_id`,
          );
        if ((await store.list(env, 'flavor')).some((f) => f.data.name === body.name))
          throw faults.conflict(`A flavor of ${String(body.name)} already exists.`);
        id = this.deps.newId();
        data = {
          name: body.name,
          description: body.description ?? '',
          enabled: body.enabled ?? true,
          flavor_profile_id: body.flavor_profile_id,
        };
        break;
      }
      case 'availabilityzone': {
        if (!(await store.get(env, 'availabilityzoneprofile', String(body.availability_zone_profile_id))))
          throw new OctaviaFault(
            400,
            `${String(body.availability_zone_profile_id)} is not a valid option for availability_zone_profile_id`,
          );
        id = String(body.name);
        data = {
          description: body.description ?? '',
          enabled: body.enabled ?? true,
          availability_zone_profile_id: body.availability_zone_profile_id,
        };
        break;
      }
    }
    if (!(await store.put(env, kind, id, data)))
      throw kind === 'availabilityzone'
        ? faults.conflict(`A availability zone of ${id} already exists.`)
        : faults.conflict('Already an entity with that specified id.');
    const created = (await store.get(env, kind, id)) as ApiObject;
    return { status: 201, body: { [spec.root]: this.view(kind, created) } };
  }

  async update(kind: Kind, caller: Caller, id: string, raw: Record<string, unknown>): Promise<ApiResult> {
    authorize(this.deps.policy, 'admin', caller);
    const spec = KINDS[kind];
    const body = check(
      spec.put as z.ZodType<Record<string, unknown>>,
      rootObject(raw, spec.root),
      spec.argument,
    );
    const { env, store, groups } = this.deps;
    for (const [field, value] of Object.entries(body))
      if (value === null && (field === 'name' || field.endsWith('_data') || field === 'provider_name'))
        throw new OctaviaFault(400, `None is not a valid option for ${field}`);
    for (let attempt = 1; ; attempt++) {
      const current = await this.find(kind, id);
      const changes = Object.fromEntries(
        Object.entries(body).filter(([, v]) => v !== undefined && v !== null),
      );
      if (kind === 'flavorprofile' || kind === 'availabilityzoneprofile') {
        const dataField = kind === 'flavorprofile' ? 'flavor_data' : 'availability_zone_data';
        if (changes.provider_name !== undefined) checkProvider(changes.provider_name);
        if (changes[dataField] !== undefined) {
          if (kind === 'flavorprofile') validateFlavorData(changes[dataField], groups);
          else validateZoneData(changes[dataField], groups);
        }
        // A profile in use keeps its data and provider (what placed load balancers stays true).
        if (changes[dataField] !== undefined || changes.provider_name !== undefined) {
          const users = kind === 'flavorprofile' ? 'flavor' : 'availabilityzone';
          const key = kind === 'flavorprofile' ? 'flavor_profile_id' : 'availability_zone_profile_id';
          if ((await store.list(env, users)).some((u) => u.data[key] === current.id))
            throw faults.conflict(`${spec.display} ${current.id} is in use and cannot be modified.`);
        }
      }
      if (kind === 'flavor' && typeof changes.name === 'string' && changes.name !== current.data.name)
        if ((await store.list(env, 'flavor')).some((f) => f.data.name === changes.name))
          throw faults.conflict(`A flavor of ${String(changes.name)} already exists.`);
      if (await store.put(env, kind, current.id, { ...current.data, ...changes }, current.version)) break;
      if (attempt >= 4)
        throw faults.conflict(`${spec.display} ${id} changed while it was written; try again.`);
    }
    return { status: 200, body: { [spec.root]: this.view(kind, await this.find(kind, id)) } };
  }

  async remove(kind: Kind, caller: Caller, id: string): Promise<ApiResult> {
    authorize(this.deps.policy, 'admin', caller);
    const { env, store, catalog } = this.deps;
    const current = await this.find(kind, id);
    const display = KINDS[kind].display;
    const inUse = () => faults.conflict(`${display} ${current.id} is in use and cannot be modified.`);
    if (
      kind === 'flavorprofile' &&
      (await store.list(env, 'flavor')).some((f) => f.data.flavor_profile_id === current.id)
    )
      throw inUse();
    if (
      kind === 'availabilityzoneprofile' &&
      (await store.list(env, 'availabilityzone')).some(
        (z) => z.data.availability_zone_profile_id === current.id,
      )
    )
      throw inUse();
    if (kind === 'flavor' || kind === 'availabilityzone') {
      const field = kind === 'flavor' ? 'flavor_id' : 'availability_zone';
      const lbs = await catalog.listAll(env, 'loadbalancer');
      if (lbs.some((lb) => (lb.desired as Record<string, unknown>)[field] === current.id)) throw inUse();
    }
    if (!(await store.remove(env, kind, current.id, current.version)))
      throw faults.conflict(`${display} ${id} changed while it was deleted; try again.`);
    return { status: 204 };
  }

  /**
   * Where a new load balancer may be placed: its flavor's and its availability zone's groups
   * (Octavia's 400 for an unknown one, "not allowed in this deployment" for a disabled one), and
   * Octavia's 400 when no group is left that both allow.
   */
  async placementOf(
    flavorId: string | null | undefined,
    zoneName: string | null | undefined,
  ): Promise<Placement> {
    const { env, store, groups } = this.deps;
    let flavorData: FlavorData | undefined;
    let zoneData: ZoneData | undefined;
    const out: Placement = {};
    if (flavorId) {
      const flavor = await store.get(env, 'flavor', flavorId.toLowerCase());
      if (!flavor) throw faults.validation('Invalid flavor_id.');
      if (flavor.data.enabled === false)
        throw new OctaviaFault(400, `The selected flavor is not allowed in this deployment: ${flavor.id}`);
      const profile = await store.get(env, 'flavorprofile', String(flavor.data.flavor_profile_id));
      flavorData = profile ? validateFlavorData(profile.data.flavor_data, groups) : {};
      out.flavorId = flavor.id;
    }
    if (zoneName) {
      const zone = await store.get(env, 'availabilityzone', zoneName);
      if (!zone) throw faults.validation('Invalid availability zone.');
      if (zone.data.enabled === false)
        throw new OctaviaFault(
          400,
          `The selected availability_zone is not allowed in this deployment: ${zone.id}`,
        );
      const profile = await store.get(
        env,
        'availabilityzoneprofile',
        String(zone.data.availability_zone_profile_id),
      );
      zoneData = profile ? validateZoneData(profile.data.availability_zone_data, groups) : undefined;
      out.availabilityZone = zone.id;
    }
    const allowed = allowedGroups(groups, flavorData, zoneData);
    if (allowed !== undefined) {
      if (allowed.length === 0)
        throw faults.validation(
          `No device group of this deployment serves the flavor ${flavorId ?? '(none)'} in availability zone ${zoneName ?? '(none)'}.`,
        );
      out.groups = allowed;
    }
    return out;
  }

  private async find(kind: Kind, rawId: string): Promise<ApiObject> {
    const id = kind === 'availabilityzone' ? rawId : rawId.toLowerCase();
    const found =
      id === NIL_UUID ? undefined : await this.deps.store.get(this.deps.env, kind as ApiObjectKind, id);
    if (!found) throw new OctaviaFault(404, `${KINDS[kind].display} ${rawId} not found.`);
    return found;
  }

  private view(kind: Kind, o: ApiObject): OctaviaObject {
    return kind === 'availabilityzone' ? { name: o.id, ...o.data } : { id: o.id, ...o.data };
  }
}

export type SettingsKind = Kind;
export const SETTINGS_COLLECTIONS: Record<string, Kind> = {
  flavorprofiles: 'flavorprofile',
  flavors: 'flavor',
  availabilityzoneprofiles: 'availabilityzoneprofile',
  availabilityzones: 'availabilityzone',
};
