import type { ResourceType } from '../domain/lbaas-request.js';
import { parseJson } from '../domain/octavia-bodies.js';
import { faults, OctaviaFault } from '../domain/octavia-faults.js';
import type { QueryParams } from '../domain/octavia-listing.js';
import type { Caller } from '../domain/octavia-policy.js';
import type { NeutronReads } from '../services/neutron-reads.js';
import type { ApiResult, OctaviaApi } from '../services/octavia-api.js';
import { type OctaviaSettings, SETTINGS_COLLECTIONS } from '../services/octavia-settings.js';
import type { Telemetry } from '../shared/telemetry.js';

/** An HTTP request as both front ends (API Gateway, the local server) hand it over. */
export interface HttpRequest {
  method: string;
  /** The path without the query, starting with `/`. */
  path: string;
  query: QueryParams;
  /** Header names lower-case. */
  headers: Record<string, string | undefined>;
  body: string | undefined;
  /** Scheme, host and stage of the API (for version links and `*_links`). */
  baseUrl: string;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface ApiHandlerDeps {
  api: OctaviaApi;
  /** Quotas, flavors and availability zones (left out: they answer 501). */
  settings?: OctaviaSettings;
  neutron: NeutronReads;
  telemetry: Telemetry;
  newRequestId: () => string;
}

/** The collection segments of the v2 API and their resource types. */
const COLLECTIONS: Record<string, ResourceType> = {
  loadbalancers: 'loadbalancer',
  listeners: 'listener',
  pools: 'pool',
  healthmonitors: 'healthmonitor',
  l7policies: 'l7policy',
};

/** Octavia resources this provider does not implement at all (answered 501; empty lists where reading is harmless). */
const UNIMPLEMENTED: Record<string, string> = {
  flavors: 'flavors',
  flavorprofiles: 'flavor profiles',
  availabilityzones: 'availability zones',
  availabilityzoneprofiles: 'availability zone profiles',
  quotas: 'quotas',
  amphorae: 'amphorae (the devices are BIG-IPs, managed with `lbaas agents` and `lbaas groups`)',
};

/**
 * The Octavia v2 API's HTTP front: routes (`/`, `/v2[.0]/lbaas/...`, the Neutron reads under
 * `/v2.0/{subnets,networks,ports}`), hands each call to the service with the caller the
 * authentication found, and turns faults into Octavia's error bodies. The same function serves
 * API Gateway events (functions/lambda/api.ts) and the local server (local/octavia-api-server.ts).
 */
export function createApiHandler(deps: ApiHandlerDeps) {
  const { api, neutron, telemetry, settings } = deps;
  const { logger } = telemetry;

  return async (req: HttpRequest, caller: Caller | undefined): Promise<HttpResponse> => {
    const requestId = `req-${deps.newRequestId()}`;
    const neutronPath = /^\/v2\.0\/(subnets|networks|ports)(\/|$)/.test(req.path);
    try {
      const result = await route(req, caller);
      return respond(result.status, result.body, requestId);
    } catch (error) {
      if (error instanceof OctaviaFault) {
        if (error.status >= 500)
          logger.error('API call failed', {
            method: req.method,
            path: req.path,
            status: error.status,
            reason: error.message,
            ...(error.cause instanceof Error ? { error: error.cause } : {}),
          });
        const body = neutronPath
          ? {
              NeutronError: {
                type: error.status === 404 ? 'NotFound' : 'BadRequest',
                message: error.message,
                detail: '',
              },
            }
          : error.body();
        return respond(error.status, body, requestId);
      }
      logger.error('API call failed unexpectedly', {
        method: req.method,
        path: req.path,
        error: error as Error,
      });
      return respond(500, new OctaviaFault(500, 'An unknown exception occurred.').body(), requestId);
    }
  };

  async function route(req: HttpRequest, caller: Caller | undefined): Promise<ApiResult> {
    const parts = req.path.split('/').filter(Boolean);
    const method = req.method.toUpperCase();
    if (parts.length === 0 || (parts.length === 1 && /^v2(\.0)?$/.test(parts[0] as string))) {
      if (method !== 'GET') throw faults.methodNotAllowed();
      return api.versions(req.baseUrl);
    }
    if (!caller) throw faults.unauthorized();
    const [version, area, ...rest] = parts;
    if (version !== 'v2' && version !== 'v2.0') throw notFound();
    if (area === 'subnets' || area === 'networks' || area === 'ports')
      return neutronRoute(method, area, rest, req, caller);
    if (area === 'octavia' && rest[0] === 'amphorae')
      throw faults.unsupportedAction(UNIMPLEMENTED.amphorae as string);
    if (area !== 'lbaas') throw notFound();
    const [collection, id, sub, subId, ...extra] = rest;
    if (!collection) throw notFound();
    const url = `${req.baseUrl}${req.path}`;
    const cascade = /^(1|t|true|on|y|yes)$/i.test(req.query.cascade?.at(-1) ?? 'false');

    if (collection === 'providers') {
      if (method !== 'GET') throw faults.methodNotAllowed();
      if (!id) return api.providers(caller, req.query);
      if (sub === 'flavor_capabilities') return api.providerCapabilities(caller, id, 'flavor', req.query);
      if (sub === 'availability_zone_capabilities')
        return api.providerCapabilities(caller, id, 'availability_zone', req.query);
      throw notFound();
    }
    if (settings && collection === 'quotas') {
      if (extra.length > 0 || subId) throw notFound();
      if (!id) {
        if (method === 'GET') return settings.quotaList(caller, req.query);
        throw faults.methodNotAllowed();
      }
      // `/quotas/defaults` and `/quotas/{project}/default` (Octavia answers both).
      if (id === 'defaults' && !sub && method === 'GET') return settings.quotaDefaults(caller, undefined);
      if (sub === 'default' && method === 'GET') return settings.quotaDefaults(caller, id);
      if (sub) throw notFound();
      if (method === 'GET') return settings.quotaShow(caller, id);
      if (method === 'PUT') return settings.quotaUpdate(caller, id, parseJson(req.body));
      if (method === 'DELETE') return settings.quotaReset(caller, id);
      throw faults.methodNotAllowed();
    }
    const settingsKind = settings ? SETTINGS_COLLECTIONS[collection] : undefined;
    if (settings && settingsKind) {
      if (sub) throw notFound();
      if (!id) {
        if (method === 'GET') return settings.list(settingsKind, caller, req.query, url);
        if (method === 'POST') return settings.create(settingsKind, caller, parseJson(req.body));
        throw faults.methodNotAllowed();
      }
      if (method === 'GET') return settings.show(settingsKind, caller, id, req.query);
      if (method === 'PUT') return settings.update(settingsKind, caller, id, parseJson(req.body));
      if (method === 'DELETE') return settings.remove(settingsKind, caller, id);
      throw faults.methodNotAllowed();
    }
    if (collection in UNIMPLEMENTED) {
      if (method === 'GET' && !id && (collection === 'flavors' || collection === 'availabilityzones'))
        return { status: 200, body: { [collection]: [], [`${collection}_links`]: [] } };
      throw faults.unsupportedAction(UNIMPLEMENTED[collection] as string);
    }
    const type = COLLECTIONS[collection];
    if (!type) throw notFound();
    if (extra.length > 0) throw notFound();

    if (!id) {
      if (method === 'GET') return api.list(type, caller, req.query, url);
      if (method === 'POST') return api.create(type, caller, req.body);
      throw faults.methodNotAllowed();
    }
    if (!sub) {
      if (method === 'GET') return api.show(type, caller, id, req.query);
      if (method === 'PUT') return api.update(type, caller, id, req.body);
      if (method === 'DELETE') return api.remove(type, caller, id, { cascade });
      throw faults.methodNotAllowed();
    }
    if (type === 'loadbalancer' && !subId) {
      if ((sub === 'status' || sub === 'statuses') && method === 'GET') return api.status(caller, id);
      if (sub === 'stats' && method === 'GET') return api.stats(caller, 'loadbalancer', id);
      if (sub === 'failover' && method === 'PUT') return api.failover(caller, id);
    }
    if (type === 'listener' && sub === 'stats' && !subId && method === 'GET')
      return api.stats(caller, 'listener', id);
    const child: ResourceType | undefined =
      type === 'pool' && sub === 'members'
        ? 'member'
        : type === 'l7policy' && sub === 'rules'
          ? 'l7rule'
          : undefined;
    if (!child) throw notFound();
    if (!subId) {
      if (method === 'GET') return api.list(child, caller, req.query, url, id);
      if (method === 'POST') return api.create(child, caller, req.body, id);
      if (method === 'PUT' && child === 'member') {
        const additive = /^(1|t|true|on|y|yes)$/i.test(req.query.additive_only?.at(-1) ?? 'false');
        return api.batchMembers(caller, id, req.body, additive);
      }
      throw faults.methodNotAllowed();
    }
    if (method === 'GET') return api.show(child, caller, subId, req.query, id);
    if (method === 'PUT') return api.update(child, caller, subId, req.body, id);
    if (method === 'DELETE') return api.remove(child, caller, subId, { parentId: id });
    throw faults.methodNotAllowed();
  }

  async function neutronRoute(
    method: string,
    area: 'subnets' | 'networks' | 'ports',
    rest: string[],
    req: HttpRequest,
    caller: Caller,
  ): Promise<ApiResult> {
    if (method !== 'GET') throw faults.unsupportedAction(`Neutron ${area} other than reading them`);
    const [id, ...extra] = rest;
    if (extra.length > 0) throw notFound();
    if (area === 'subnets') return id ? neutron.subnet(caller, id) : neutron.subnets(caller, req.query);
    if (area === 'networks') return id ? neutron.network(caller, id) : neutron.networks(caller, req.query);
    return id ? neutron.port(caller, id) : neutron.ports(caller, req.query);
  }
}

function notFound(): OctaviaFault {
  return new OctaviaFault(404, 'The resource could not be found.');
}

function respond(status: number, body: unknown, requestId: string): HttpResponse {
  const headers: Record<string, string> = { 'x-openstack-request-id': requestId };
  if (body === undefined || status === 204) return { status, headers, body: '' };
  headers['content-type'] = 'application/json';
  return { status, headers, body: JSON.stringify(body) };
}

/** Query parameters as Octavia reads them: every value of a repeated key, in order. */
export function queryParams(pairs: Iterable<[string, string]>): QueryParams {
  const out: QueryParams = {};
  for (const [k, v] of pairs) {
    out[k] ??= [];
    out[k].push(v);
  }
  return out;
}
