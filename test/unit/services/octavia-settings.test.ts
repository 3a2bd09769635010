// biome-ignore-all lint/suspicious/noExplicitAny: these tests read the API's JSON answers, as a client would
import { describe, expect, it } from 'vitest';
import type { LbaasRequest, RequestEnvelope } from '../../../functions/domain/lbaas-request.js';
import type { Caller } from '../../../functions/domain/octavia-policy.js';
import { createApiHandler, type HttpRequest } from '../../../functions/handlers/octavia-api-handler.js';
import { NeutronReads } from '../../../functions/services/neutron-reads.js';
import { OctaviaApi } from '../../../functions/services/octavia-api.js';
import { OctaviaSettings } from '../../../functions/services/octavia-settings.js';
import { createTelemetry } from '../../../functions/shared/telemetry.js';
import { uuid } from '../../support/factories.js';
import { InMemoryApiObjectStore } from '../../support/fakes/in-memory-api-object-store.js';
import { InMemoryResourceStore } from '../../support/fakes/in-memory-resource-store.js';
import { StoreCatalog } from '../../support/fakes/store-catalog.js';

/**
 * Octavia's quotas, flavors, availability zones and their profiles over in-memory ports, through
 * the HTTP handler: the answers Octavia's api-ref and code give (codes, bodies, faultstrings), the
 * policy (admin-only profiles, the quota admin), and what they do to a new load balancer (403 at a
 * quota, placement restricted to the groups a flavor or zone names).
 */

const SUBNET = '22222222-2222-4222-8222-222222222222';
const PROJECT = '0123456789abcdef0123456789abcdef';
const OTHER = 'fedcba9876543210fedcba9876543210';
const admin: Caller = { projectId: PROJECT, roles: ['admin'] };
const member: Caller = { projectId: PROJECT, roles: ['load-balancer_member'] };
const observer: Caller = { projectId: PROJECT, roles: ['load-balancer_observer'] };
const quotaAdmin: Caller = { projectId: OTHER, roles: ['load-balancer_quota_admin'] };
const outsider: Caller = { projectId: OTHER, roles: ['load-balancer_member'] };

type Json = Record<string, any>;

function setup(defaults: Record<string, number> = {}) {
  const store = new InMemoryResourceStore();
  const objects = new InMemoryApiObjectStore();
  const sent: RequestEnvelope[] = [];
  const placed: LbaasRequest[] = [];
  const networks = {
    networks: [{ id: uuid(), name: 'n', subnets: [{ id: SUBNET, name: 's', cidr: '10.0.0.0/16' }] }],
  };
  const catalog = new StoreCatalog(store);
  const settings = new OctaviaSettings({
    env: 'Test',
    policy: 'advanced',
    store: objects,
    catalog,
    groups: [
      { name: 'pair-a', units: 2 },
      { name: 'pair-b', units: 2 },
      { name: 'single', units: 1 },
    ],
    defaultQuotas: defaults,
    newId: uuid,
  });
  const api = new OctaviaApi({
    env: 'Test',
    policy: 'advanced',
    networks,
    resources: store,
    catalog,
    settings,
    statistics: { loadStatistics: async () => [] },
    queue: { send: async (messages) => void sent.push(...messages) },
    placement: {
      place: async (request) => {
        placed.push(request);
        return { kind: 'placed', release: async () => {} };
      },
    },
    clock: () => 1_700_000_000_000,
    random: () => 0.5,
    newId: uuid,
  });
  const neutron = new NeutronReads({ networks, policy: 'advanced', loadTree: (id) => api.loadTree(id) });
  const handler = createApiHandler({
    api,
    settings,
    neutron,
    telemetry: createTelemetry('octavia-api', 'Test'),
    newRequestId: uuid,
  });
  const call = async (method: string, path: string, body?: unknown, caller: Caller = admin, query = {}) => {
    const req: HttpRequest = {
      method,
      path: `/v2/lbaas${path}`,
      query: Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [String(v)]])),
      headers: {},
      body: body === undefined ? undefined : JSON.stringify(body),
      baseUrl: 'http://api.test',
    };
    const res = await handler(req, caller);
    return { status: res.status, body: (res.body ? JSON.parse(res.body) : undefined) as Json };
  };
  return { call, store, objects, sent, placed };
}

const lbBody = (extra: Json = {}): Json => ({
  loadbalancer: { vip_subnet_id: SUBNET, project_id: PROJECT, ...extra },
});

describe('Octavia quotas', () => {
  it('shows the configured defaults (-1 for what is not configured) under every path Octavia answers', async () => {
    const { call } = setup({ loadbalancer: 5, member: 100 });
    const expected = {
      quota: {
        load_balancer: 5,
        listener: -1,
        pool: -1,
        health_monitor: -1,
        member: 100,
        l7policy: -1,
        l7rule: -1,
      },
    };
    expect(await call('GET', '/quotas/defaults')).toEqual({ status: 200, body: expected });
    expect(await call('GET', `/quotas/${PROJECT}/default`)).toEqual({ status: 200, body: expected });
    expect(await call('GET', `/quotas/${PROJECT}`)).toEqual({ status: 200, body: expected });
    expect(await call('GET', '/quotas')).toEqual({ status: 200, body: { quotas: [], quotas_links: [] } });
  });

  it('sets, merges (deprecated names too) and resets a project’s quota; lists only projects with their own', async () => {
    const { call } = setup({ listener: 7 });
    const put = await call('PUT', `/quotas/${PROJECT}`, { quota: { loadbalancer: 2, pool: '3' } });
    expect(put.status).toBe(202);
    expect(put.body.quota).toMatchObject({ load_balancer: 2, pool: 3, listener: 7, member: -1 });
    await call('PUT', `/quotas/${PROJECT}`, { quota: { health_monitor: 0, pool: null } });
    expect((await call('GET', `/quotas/${PROJECT}`)).body.quota).toMatchObject({
      load_balancer: 2,
      pool: -1,
      health_monitor: 0,
    });
    const list = await call('GET', '/quotas');
    expect(list.body.quotas).toEqual([
      {
        project_id: PROJECT,
        load_balancer: 2,
        loadbalancer: 2,
        listener: null,
        pool: null,
        health_monitor: 0,
        healthmonitor: 0,
        member: null,
        l7policy: null,
        l7rule: null,
      },
    ]);
    expect(await call('DELETE', `/quotas/${PROJECT}`)).toEqual({ status: 202, body: undefined });
    expect((await call('GET', `/quotas/${PROJECT}`)).body.quota.load_balancer).toBe(-1);
  });

  it('refuses bad quota bodies with Octavia’s 400', async () => {
    const { call } = setup();
    expect((await call('PUT', `/quotas/${PROJECT}`, { quota: { load_balancer: -2 } })).status).toBe(400);
    expect(
      (await call('PUT', `/quotas/${PROJECT}`, { quota: { load_balancer: 2_000_000_001 } })).status,
    ).toBe(400);
    expect((await call('PUT', `/quotas/${PROJECT}`, { quota: { load_balancer: 1.5 } })).status).toBe(400);
    expect((await call('PUT', `/quotas/${PROJECT}`, { quota: { amphora: 1 } })).body.faultstring).toBe(
      'Unknown attribute for argument quota: amphora',
    );
    expect((await call('PUT', `/quotas/${PROJECT}`, { quotas: {} })).status).toBe(400);
  });

  it('lets quota admins and admins write quotas, project readers read their own, and nobody else', async () => {
    const { call } = setup();
    expect((await call('PUT', `/quotas/${PROJECT}`, { quota: { pool: 1 } }, member)).status).toBe(403);
    expect((await call('PUT', `/quotas/${PROJECT}`, { quota: { pool: 1 } }, quotaAdmin)).status).toBe(202);
    expect((await call('DELETE', `/quotas/${PROJECT}`, undefined, observer)).status).toBe(403);
    expect((await call('GET', `/quotas/${PROJECT}`, undefined, observer)).status).toBe(200);
    expect((await call('GET', `/quotas/${PROJECT}`, undefined, outsider)).status).toBe(403);
    expect((await call('GET', '/quotas', undefined, quotaAdmin)).body.quotas).toHaveLength(1);
    expect((await call('GET', '/quotas', undefined, outsider)).body.quotas).toHaveLength(0);
  });

  it('refuses a create at its quota with Octavia’s 403, before placing or queueing anything; a delete gives room back', async () => {
    const { call, placed, sent, store } = setup();
    await call('PUT', `/quotas/${PROJECT}`, { quota: { load_balancer: 1 } });
    const first = await call('POST', '/loadbalancers', lbBody());
    expect(first.status).toBe(201);
    placed.length = 0;
    sent.length = 0;
    const second = await call('POST', '/loadbalancers', lbBody());
    expect(second).toEqual({
      status: 403,
      body: {
        faultcode: 'Client',
        faultstring: 'Quota has been met for resources: Load Balancer',
        debuginfo: null,
      },
    });
    expect(placed).toEqual([]);
    expect(sent).toEqual([]);
    // The agent removes the deleted record: the project has room again.
    const root = (await store.loadRecords(first.body.loadbalancer.id))[0];
    await store.recordOutcomes([{ kind: 'deleted', record: root! }], 1);
    expect((await call('POST', '/loadbalancers', lbBody())).status).toBe(201);
  });

  it('refuses a single-call tree whole when any of its resources is over quota, naming the resources', async () => {
    const { call, store, sent } = setup({ member: 2 });
    const tree = lbBody({
      listeners: [{ protocol: 'HTTP', protocol_port: 80, default_pool: { name: 'p' } }],
      pools: [
        {
          name: 'p',
          protocol: 'HTTP',
          lb_algorithm: 'ROUND_ROBIN',
          members: [
            { address: '10.0.1.1', protocol_port: 80 },
            { address: '10.0.1.2', protocol_port: 80 },
            { address: '10.0.1.3', protocol_port: 80 },
          ],
        },
      ],
    });
    const refused = await call('POST', '/loadbalancers', tree);
    expect(refused.status).toBe(403);
    expect(refused.body.faultstring).toBe('Quota has been met for resources: Member');
    expect(store.records.size).toBe(0);
    expect(sent).toEqual([]);
    tree.loadbalancer.pools[0].members.pop();
    expect((await call('POST', '/loadbalancers', tree)).status).toBe(201);
    expect(await store.loadUsage('Test', PROJECT)).toEqual({
      loadbalancer: 1,
      listener: 1,
      pool: 1,
      member: 2,
    });
  });

  it('counts a member batch’s new members against the member quota', async () => {
    const { call, store } = setup({ member: 2 });
    const lb = (await call('POST', '/loadbalancers', lbBody())).body.loadbalancer.id;
    for (const r of store.records.values()) r.provisioningStatus = 'ACTIVE';
    const pool = await call('POST', '/pools', {
      pool: { loadbalancer_id: lb, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN' },
    });
    for (const r of store.records.values()) r.provisioningStatus = 'ACTIVE';
    const members = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ address: `10.0.3.${i + 1}`, protocol_port: 80 }));
    const over = await call('PUT', `/pools/${pool.body.pool.id}/members`, { members: members(3) });
    expect(over.status).toBe(403);
    expect(over.body.faultstring).toBe('Quota has been met for resources: Member');
    expect((await call('PUT', `/pools/${pool.body.pool.id}/members`, { members: members(2) })).status).toBe(
      202,
    );
  });
});

describe('Octavia flavors and availability zones', () => {
  const profile = (data: Json) => ({
    flavorprofile: { name: 'fp', provider_name: 'bigip', flavor_data: JSON.stringify(data) },
  });

  it('advertises the capabilities it applies (admins only), filterable by name', async () => {
    const { call } = setup();
    const caps = await call('GET', '/providers/bigip/flavor_capabilities');
    expect(caps.body.flavor_capabilities.map((c: Json) => c.name)).toEqual([
      'device_group',
      'loadbalancer_topology',
    ]);
    expect(caps.body.flavor_capabilities[0].description).toContain('pair-a, pair-b, single');
    expect(
      (
        await call('GET', '/providers/bigip/flavor_capabilities', undefined, admin, {
          fields: 'name',
          name: 'device_group',
        })
      ).body,
    ).toEqual({ flavor_capabilities: [{ name: 'device_group' }] });
    expect((await call('GET', '/providers/bigip/availability_zone_capabilities')).body).toEqual({
      availability_zone_capabilities: [
        { name: 'device_groups', description: expect.stringContaining('device groups') },
      ],
    });
    expect((await call('GET', '/providers/bigip/flavor_capabilities', undefined, member)).status).toBe(403);
  });

  it('validates flavor data against the capabilities: 501 for what is not supported, 400 for what is not JSON', async () => {
    const { call } = setup();
    expect((await call('POST', '/flavorprofiles', profile({ device_group: 'pair-a' }))).status).toBe(201);
    expect((await call('POST', '/flavorprofiles', profile({ loadbalancer_topology: 'SINGLE' }))).status).toBe(
      201,
    );
    const unknown = await call('POST', '/flavorprofiles', profile({ compute_flavor: 'x' }));
    expect(unknown.status).toBe(501);
    expect(unknown.body.faultstring).toMatch(
      /^Provider 'bigip' does not support a requested option: .*compute_flavor/,
    );
    expect((await call('POST', '/flavorprofiles', profile({ device_group: 'nowhere' }))).status).toBe(501);
    expect((await call('POST', '/flavorprofiles', profile({ loadbalancer_topology: 'TRIPLE' }))).status).toBe(
      501,
    );
    const notJson = await call('POST', '/flavorprofiles', {
      flavorprofile: { name: 'x', provider_name: 'bigip', flavor_data: '{' },
    });
    expect(notJson).toMatchObject({
      status: 400,
      body: { faultstring: '{ is not a valid option for flavor_data' },
    });
    expect(
      (
        await call('POST', '/flavorprofiles', {
          flavorprofile: { name: 'x', provider_name: 'amphora', flavor_data: '{}' },
        })
      ).body.faultstring,
    ).toBe("Provider 'amphora' is not enabled.");
    expect((await call('POST', '/flavorprofiles', profile({}), member)).status).toBe(403);
    expect((await call('GET', '/flavorprofiles', undefined, member)).status).toBe(403);
  });

  it('keeps flavors as Octavia does: 201 with defaults, unique names, readable by members, in-use profiles 409', async () => {
    const { call } = setup();
    const fp = (await call('POST', '/flavorprofiles', profile({ device_group: 'pair-b' }))).body
      .flavorprofile;
    const created = await call('POST', '/flavors', { flavor: { name: 'gold', flavor_profile_id: fp.id } });
    expect(created.status).toBe(201);
    expect(created.body.flavor).toEqual({
      id: expect.any(String),
      name: 'gold',
      description: '',
      enabled: true,
      flavor_profile_id: fp.id,
    });
    expect(
      (await call('POST', '/flavors', { flavor: { name: 'gold', flavor_profile_id: fp.id } })).status,
    ).toBe(409);
    expect(
      (await call('POST', '/flavors', { flavor: { name: 'x', flavor_profile_id: uuid() } })).status,
    ).toBe(400);
    expect((await call('GET', '/flavors', undefined, member)).body).toEqual({
      flavors: [created.body.flavor],
      flavors_links: [],
    });
    // Octavia spells the profiles' links key in the singular.
    expect(Object.keys((await call('GET', '/flavorprofiles')).body)).toEqual([
      'flavorprofiles',
      'flavorprofile_links',
    ]);
    expect(Object.keys((await call('GET', '/availabilityzoneprofiles')).body)).toEqual([
      'availability_zone_profiles',
      'availability_zone_profile_links',
    ]);
    expect((await call('GET', `/flavors/${created.body.flavor.id}`, undefined, observer)).status).toBe(200);
    expect((await call('DELETE', `/flavorprofiles/${fp.id}`)).status).toBe(409);
    expect(
      (
        await call('PUT', `/flavorprofiles/${fp.id}`, {
          flavorprofile: { flavor_data: '{"device_group": "pair-a"}' },
        })
      ).status,
    ).toBe(409);
    expect(
      (await call('PUT', `/flavorprofiles/${fp.id}`, { flavorprofile: { name: 'renamed' } })).body
        .flavorprofile.name,
    ).toBe('renamed');
    expect(
      (await call('PUT', `/flavors/${created.body.flavor.id}`, { flavor: { enabled: false } })).body.flavor
        .enabled,
    ).toBe(false);
    expect((await call('DELETE', `/flavors/${created.body.flavor.id}`, undefined, member)).status).toBe(403);
    expect((await call('DELETE', `/flavors/${created.body.flavor.id}`)).status).toBe(204);
    expect((await call('GET', `/flavors/${created.body.flavor.id}`)).status).toBe(404);
    expect((await call('DELETE', `/flavorprofiles/${fp.id}`)).status).toBe(204);
  });

  it('places a load balancer in its flavor’s group and its zone’s groups; unknown 400, disabled 400, in use 409', async () => {
    const { call, placed } = setup();
    const fp = (await call('POST', '/flavorprofiles', profile({ loadbalancer_topology: 'ACTIVE_STANDBY' })))
      .body.flavorprofile;
    const flavor = (await call('POST', '/flavors', { flavor: { name: 'ha', flavor_profile_id: fp.id } })).body
      .flavor;
    const azp = (
      await call('POST', '/availabilityzoneprofiles', {
        availability_zone_profile: {
          name: 'east',
          provider_name: 'bigip',
          availability_zone_data: JSON.stringify({ device_groups: ['pair-b', 'single'] }),
        },
      })
    ).body.availability_zone_profile;
    const zone = await call('POST', '/availabilityzones', {
      availability_zone: { name: 'east-1', availability_zone_profile_id: azp.id },
    });
    expect(zone).toEqual({
      status: 201,
      body: {
        availability_zone: {
          name: 'east-1',
          description: '',
          enabled: true,
          availability_zone_profile_id: azp.id,
        },
      },
    });

    const lb = await call(
      'POST',
      '/loadbalancers',
      lbBody({ flavor_id: flavor.id, availability_zone: 'east-1' }),
    );
    expect(lb.status).toBe(201);
    expect(lb.body.loadbalancer).toMatchObject({ flavor_id: flavor.id, availability_zone: 'east-1' });
    // HA pairs (the flavor) in the zone's groups: pair-b alone.
    expect((placed.at(-1) as LbaasRequest).object).toHaveProperty('device_groups', ['pair-b']);

    expect((await call('POST', '/loadbalancers', lbBody({ flavor_id: uuid() }))).body.faultstring).toBe(
      'Validation failure: Invalid flavor_id.',
    );
    expect(
      (await call('POST', '/loadbalancers', lbBody({ availability_zone: 'west' }))).body.faultstring,
    ).toBe('Validation failure: Invalid availability zone.');
    await call('PUT', `/flavors/${flavor.id}`, { flavor: { enabled: false } });
    expect((await call('POST', '/loadbalancers', lbBody({ flavor_id: flavor.id }))).body).toMatchObject({
      faultstring: `The selected flavor is not allowed in this deployment: ${flavor.id}`,
    });
    await call('PUT', '/availabilityzones/east-1', { availability_zone: { enabled: false } });
    expect((await call('POST', '/loadbalancers', lbBody({ availability_zone: 'east-1' }))).status).toBe(400);
    // In use by a load balancer: 409, as Octavia's foreign key answers.
    expect((await call('DELETE', `/flavors/${flavor.id}`)).body.faultstring).toBe(
      `Flavor ${flavor.id} is in use and cannot be modified.`,
    );
    expect((await call('DELETE', '/availabilityzones/east-1')).status).toBe(409);
    expect((await call('DELETE', `/availabilityzoneprofiles/${azp.id}`)).status).toBe(409);
  });

  it('refuses a flavor and zone that share no group (400) and zone data it does not apply (501)', async () => {
    const { call } = setup();
    const fp = (await call('POST', '/flavorprofiles', profile({ loadbalancer_topology: 'SINGLE' }))).body
      .flavorprofile;
    const flavor = (await call('POST', '/flavors', { flavor: { name: 's', flavor_profile_id: fp.id } })).body
      .flavor;
    const azp = (
      await call('POST', '/availabilityzoneprofiles', {
        availability_zone_profile: {
          name: 'p',
          provider_name: 'bigip',
          availability_zone_data: JSON.stringify({ device_groups: ['pair-a'] }),
        },
      })
    ).body.availability_zone_profile;
    await call('POST', '/availabilityzones', {
      availability_zone: { name: 'a', availability_zone_profile_id: azp.id },
    });
    const none = await call(
      'POST',
      '/loadbalancers',
      lbBody({ flavor_id: flavor.id, availability_zone: 'a' }),
    );
    expect(none.status).toBe(400);
    const compute = await call('POST', '/availabilityzoneprofiles', {
      availability_zone_profile: {
        name: 'c',
        provider_name: 'bigip',
        availability_zone_data: JSON.stringify({ compute_zone: 'nova', management_network: uuid() }),
      },
    });
    expect(compute.status).toBe(501);
    expect(compute.body.faultstring).toMatch(/compute_zone/);
  });
});
