// biome-ignore-all lint/suspicious/noExplicitAny: these tests read the API's JSON answers, as a client would
import { beforeEach, describe, expect, it } from 'vitest';
import type { RequestEnvelope } from '../../../functions/domain/lbaas-request.js';
import type { Caller } from '../../../functions/domain/octavia-policy.js';
import type { ResourceRecord } from '../../../functions/domain/resource-state.js';
import { createApiHandler, type HttpRequest } from '../../../functions/handlers/octavia-api-handler.js';
import { NeutronReads } from '../../../functions/services/neutron-reads.js';
import { OctaviaApi } from '../../../functions/services/octavia-api.js';
import { createTelemetry } from '../../../functions/shared/telemetry.js';
import { uuid } from '../../support/factories.js';
import { InMemoryResourceStore } from '../../support/fakes/in-memory-resource-store.js';
import { StoreCatalog } from '../../support/fakes/store-catalog.js';

/**
 * The Octavia v2 API end to end over in-memory ports: the HTTP handler, the service and the
 * domain rules, each answer checked against what Octavia's api-ref documents for the call
 * (status codes, the object's fields and defaults, faultstrings).
 */

const NETWORK = '11111111-1111-4111-8111-111111111111';
const SUBNET = '22222222-2222-4222-8222-222222222222';
const SUBNET6 = '33333333-3333-4333-8333-333333333333';
const PROJECT = '0123456789abcdef0123456789abcdef';
const OTHER = 'fedcba9876543210fedcba9876543210';
const admin: Caller = { noauth: true, projectId: PROJECT, roles: [] };
const member: Caller = { projectId: PROJECT, roles: ['load-balancer_member'] };
const outsider: Caller = { projectId: OTHER, roles: ['load-balancer_member'] };
const BASE = 'http://api.test';

type Json = Record<string, any>;

function setup(policy: 'noauth' | 'advanced' = 'noauth') {
  const store = new InMemoryResourceStore();
  const sent: RequestEnvelope[] = [];
  let now = 1_700_000_000_000;
  const networks = {
    networks: [
      {
        id: NETWORK,
        name: 'public',
        subnets: [
          { id: SUBNET, name: 'v4', cidr: '10.0.0.0/24' },
          { id: SUBNET6, name: 'v6', cidr: '2001:db8::/64' },
        ],
      },
    ],
  };
  const api = new OctaviaApi({
    env: 'Test',
    policy,
    networks,
    resources: store,
    catalog: new StoreCatalog(store),
    statistics: {
      loadStatistics: async () => [
        { listenerId: 'none', bytesIn: 1, bytesOut: 1, activeConnections: 1, totalConnections: 1 } as never,
      ],
    },
    queue: { send: async (messages) => void sent.push(...messages) },
    placement: { place: async () => ({ kind: 'placed', release: async () => {} }) },
    // Each call a second later: objects created one after another are ordered by created_at.
    clock: () => (now += 1000),
    random: () => 0,
    newId: uuid,
  });
  const neutron = new NeutronReads({ networks, policy, loadTree: (id) => api.loadTree(id) });
  const handler = createApiHandler({
    api,
    neutron,
    telemetry: createTelemetry('octavia-api', 'Test'),
    newRequestId: uuid,
  });
  const call = async (
    method: string,
    path: string,
    body?: unknown,
    query: Record<string, string | string[]> = {},
    caller: Caller | null = admin,
  ) => {
    const req: HttpRequest = {
      method,
      path,
      query: Object.fromEntries(Object.entries(query).map(([k, v]) => [k, Array.isArray(v) ? v : [v]])),
      headers: {},
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      baseUrl: BASE,
    };
    const res = await handler(req, caller ?? undefined);
    return {
      status: res.status,
      headers: res.headers,
      json: (res.body ? JSON.parse(res.body) : undefined) as Json,
    };
  };
  /** What an agent would report once everything is applied. */
  const activate = () => {
    for (const r of store.records.values()) {
      r.provisioningStatus = 'ACTIVE';
      r.operatingStatus = 'ONLINE';
    }
  };
  return { api, store, sent, call, activate };
}

type Harness = ReturnType<typeof setup>;

async function loadBalancer(h: Harness, extra: Json = {}): Promise<Json> {
  const res = await h.call('POST', '/v2/lbaas/loadbalancers', {
    loadbalancer: { vip_subnet_id: SUBNET, ...extra },
  });
  expect(res.status).toBe(201);
  h.activate();
  return res.json.loadbalancer;
}

async function create(h: Harness, path: string, root: string, body: Json): Promise<Json> {
  const res = await h.call('POST', path, { [root]: body });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  h.activate();
  return res.json[root === 'rule' ? 'rule' : root];
}

/** A load balancer with an HTTP listener, its default pool, a member, a monitor, a policy and a rule. */
async function fullTree(h: Harness) {
  const lb = await loadBalancer(h, { name: 'web' });
  const listener = await create(h, '/v2/lbaas/listeners', 'listener', {
    loadbalancer_id: lb.id,
    protocol: 'HTTP',
    protocol_port: 80,
    name: 'http',
  });
  const pool = await create(h, '/v2/lbaas/pools', 'pool', {
    listener_id: listener.id,
    protocol: 'HTTP',
    lb_algorithm: 'ROUND_ROBIN',
    name: 'web-pool',
  });
  const m = await create(h, `/v2/lbaas/pools/${pool.id}/members`, 'member', {
    address: '10.0.1.5',
    protocol_port: 8080,
  });
  const hm = await create(h, '/v2/lbaas/healthmonitors', 'healthmonitor', {
    pool_id: pool.id,
    type: 'HTTP',
    delay: 5,
    timeout: 3,
    max_retries: 2,
  });
  const policy = await create(h, '/v2/lbaas/l7policies', 'l7policy', {
    listener_id: listener.id,
    action: 'REDIRECT_TO_URL',
    redirect_url: 'https://example.com/',
  });
  const rule = await create(h, `/v2/lbaas/l7policies/${policy.id}/rules`, 'rule', {
    type: 'PATH',
    compare_type: 'STARTS_WITH',
    value: '/old',
  });
  return { lb, listener, pool, member: m, hm, policy, rule };
}

describe('the Octavia v2 API over in-memory ports', () => {
  let h: Harness;
  beforeEach(() => {
    h = setup();
  });

  describe('creates answer 201 with the object and Octavia’s defaults for what was not given', () => {
    it('a load balancer: its VIP in the subnet, PENDING_CREATE, the provider, no children', async () => {
      const res = await h.call('POST', '/v2/lbaas/loadbalancers', {
        loadbalancer: { vip_subnet_id: SUBNET, name: 'lb1', tags: ['a'] },
      });
      expect(res.status).toBe(201);
      expect(res.json.loadbalancer).toMatchObject({
        name: 'lb1',
        description: '',
        admin_state_up: true,
        provisioning_status: 'PENDING_CREATE',
        operating_status: 'OFFLINE',
        project_id: PROJECT,
        vip_subnet_id: SUBNET,
        vip_network_id: NETWORK,
        provider: 'bigip',
        listeners: [],
        pools: [],
        tags: ['a'],
        flavor_id: null,
        availability_zone: null,
      });
      expect(res.json.loadbalancer.vip_address).toMatch(/^10\.0\.0\.\d+$/);
      expect(res.headers['x-openstack-request-id']).toMatch(/^req-/);
    });

    it('a load balancer on a network takes the network’s IPv4 subnet; an IPv6 address takes the IPv6 subnet', async () => {
      const v4 = await h.call('POST', '/v2/lbaas/loadbalancers', {
        loadbalancer: { vip_network_id: NETWORK },
      });
      expect(v4.json.loadbalancer).toMatchObject({ vip_subnet_id: SUBNET, vip_network_id: NETWORK });
      const v6 = await h.call('POST', '/v2/lbaas/loadbalancers', {
        loadbalancer: { vip_network_id: NETWORK, vip_address: '2001:db8::10' },
      });
      expect(v6.json.loadbalancer).toMatchObject({ vip_subnet_id: SUBNET6, vip_address: '2001:db8::10' });
    });

    it('a fully populated load balancer is answered with its listeners and pools in full', async () => {
      const res = await h.call('POST', '/v2/lbaas/loadbalancers', {
        loadbalancer: {
          vip_subnet_id: SUBNET,
          listeners: [
            {
              name: 'l1',
              protocol: 'HTTP',
              protocol_port: 80,
              default_pool: { name: 'p1' },
              l7policies: [{ action: 'REDIRECT_TO_POOL', redirect_pool: { name: 'p2' } }],
            },
          ],
          pools: [
            {
              name: 'p1',
              protocol: 'HTTP',
              lb_algorithm: 'ROUND_ROBIN',
              members: [{ address: '10.0.1.5', protocol_port: 80 }],
              healthmonitor: { type: 'PING', delay: 1, timeout: 1, max_retries: 1 },
            },
            { name: 'p2', protocol: 'HTTP', lb_algorithm: 'LEAST_CONNECTIONS' },
          ],
        },
      });
      expect(res.status).toBe(201);
      const lb = res.json.loadbalancer;
      expect(lb.listeners).toHaveLength(1);
      expect(lb.pools.map((p: Json) => p.name).sort()).toEqual(['p1', 'p2']);
      const p1 = lb.pools.find((p: Json) => p.name === 'p1');
      expect(lb.listeners[0]).toMatchObject({ name: 'l1', default_pool_id: p1.id });
      expect(lb.listeners[0].l7policies).toHaveLength(1);
      expect(p1.members).toHaveLength(1);
      expect(p1.healthmonitor_id).toEqual(expect.any(String));
    });

    it('each child resource, with the defaults of the api-ref', async () => {
      const t = await fullTree(h);
      expect(t.listener).toMatchObject({
        protocol: 'HTTP',
        protocol_port: 80,
        connection_limit: -1,
        admin_state_up: true,
        default_pool_id: null,
        default_tls_container_ref: null,
        sni_container_refs: [],
        insert_headers: {},
        loadbalancers: [{ id: t.lb.id }],
        timeout_client_data: 50000,
        timeout_member_connect: 5000,
        timeout_member_data: 50000,
        timeout_tcp_inspect: 0,
        provisioning_status: 'PENDING_CREATE',
      });
      expect(t.pool).toMatchObject({
        protocol: 'HTTP',
        lb_algorithm: 'ROUND_ROBIN',
        session_persistence: null,
        listeners: [{ id: t.listener.id }],
        loadbalancers: [{ id: t.lb.id }],
        healthmonitor_id: null,
        members: [],
        tls_enabled: false,
      });
      expect(t.member).toMatchObject({
        address: '10.0.1.5',
        protocol_port: 8080,
        weight: 1,
        backup: false,
        admin_state_up: true,
        subnet_id: null,
        monitor_address: null,
        monitor_port: null,
      });
      // Octavia shows no pool_id on a member (it is in the URL).
      expect(t.member).not.toHaveProperty('pool_id');
      expect(t.hm).toMatchObject({
        type: 'HTTP',
        delay: 5,
        timeout: 3,
        max_retries: 2,
        max_retries_down: 3,
        http_method: 'GET',
        url_path: '/',
        expected_codes: '200',
        pools: [{ id: t.pool.id }],
      });
      expect(t.policy).toMatchObject({
        action: 'REDIRECT_TO_URL',
        redirect_url: 'https://example.com/',
        redirect_pool_id: null,
        redirect_prefix: null,
        listener_id: t.listener.id,
        position: 1,
        rules: [],
      });
      expect(t.rule).toMatchObject({
        type: 'PATH',
        compare_type: 'STARTS_WITH',
        value: '/old',
        key: null,
        invert: false,
        admin_state_up: true,
      });
      expect(t.rule).not.toHaveProperty('l7policy_id');
      // What was queued: one create message per object, in order.
      expect(h.sent.map((m) => `${m.operation} ${m.resource}`)).toEqual([
        'create loadbalancer',
        'create listener',
        'create pool',
        'update listener',
        'create member',
        'create healthmonitor',
        'create l7policy',
        'create l7rule',
      ]);
    });

    it('a pool on a load balancer only, with APP_COOKIE persistence, and a TCP monitor without HTTP fields', async () => {
      const lb = await loadBalancer(h);
      const pool = await create(h, '/v2/lbaas/pools', 'pool', {
        loadbalancer_id: lb.id,
        protocol: 'TCP',
        lb_algorithm: 'SOURCE_IP',
        session_persistence: { type: 'APP_COOKIE', cookie_name: 'sid' },
      });
      expect(pool).toMatchObject({
        listeners: [],
        session_persistence: {
          type: 'APP_COOKIE',
          cookie_name: 'sid',
          persistence_timeout: null,
          persistence_granularity: null,
        },
      });
      const hm = await create(h, '/v2/lbaas/healthmonitors', 'healthmonitor', {
        pool_id: pool.id,
        type: 'TCP',
        delay: 5,
        timeout: 3,
        max_retries: 2,
      });
      expect(hm).toMatchObject({ type: 'TCP', http_method: null, url_path: null, expected_codes: null });
    });

    it('a TERMINATED_HTTPS listener keeps its certificate refs and insert_headers as "true"/"false"', async () => {
      const lb = await loadBalancer(h);
      const ref = `lbaas/Test/${PROJECT}/web-cert`;
      const listener = await create(h, '/v2/lbaas/listeners', 'listener', {
        loadbalancer_id: lb.id,
        protocol: 'TERMINATED_HTTPS',
        protocol_port: 443,
        default_tls_container_ref: ref,
        insert_headers: { 'X-Forwarded-For': 'True', 'X-Forwarded-Port': 'false' },
      });
      expect(listener).toMatchObject({
        default_tls_container_ref: ref,
        insert_headers: { 'X-Forwarded-For': 'true', 'X-Forwarded-Port': 'false' },
      });
    });
  });

  describe('reads', () => {
    it('shows each object, with fields= keeping only the fields named', async () => {
      const t = await fullTree(h);
      const show = async (path: string, key: string, id: string) => {
        const res = await h.call('GET', path);
        expect(res.status).toBe(200);
        expect(res.json[key].id).toBe(id);
        expect(res.json[key].provisioning_status).toBe('ACTIVE');
        return res.json[key];
      };
      await show(`/v2/lbaas/loadbalancers/${t.lb.id}`, 'loadbalancer', t.lb.id);
      const listener = await show(`/v2/lbaas/listeners/${t.listener.id}`, 'listener', t.listener.id);
      expect(listener.default_pool_id).toBe(t.pool.id);
      expect(listener.l7policies).toEqual([{ id: t.policy.id }]);
      const pool = await show(`/v2/lbaas/pools/${t.pool.id}`, 'pool', t.pool.id);
      expect(pool).toMatchObject({ healthmonitor_id: t.hm.id, members: [{ id: t.member.id }] });
      await show(`/v2/lbaas/pools/${t.pool.id}/members/${t.member.id}`, 'member', t.member.id);
      await show(`/v2/lbaas/healthmonitors/${t.hm.id}`, 'healthmonitor', t.hm.id);
      const policy = await show(`/v2/lbaas/l7policies/${t.policy.id}`, 'l7policy', t.policy.id);
      expect(policy.rules).toEqual([{ id: t.rule.id }]);
      await show(`/v2/lbaas/l7policies/${t.policy.id}/rules/${t.rule.id}`, 'rule', t.rule.id);
      // The v2.0 prefix is the same API.
      await show(`/v2.0/lbaas/pools/${t.pool.id}`, 'pool', t.pool.id);

      const some = await h.call('GET', `/v2/lbaas/loadbalancers/${t.lb.id}`, undefined, {
        fields: ['id,name', 'vip_address'],
      });
      expect(Object.keys(some.json.loadbalancer).sort()).toEqual(['id', 'name', 'vip_address']);
    });

    it('answers 404 with Octavia’s words for an absent object, a malformed id, or a child under another parent', async () => {
      const t = await fullTree(h);
      const missing = uuid();
      expect(await h.call('GET', `/v2/lbaas/listeners/${missing}`)).toMatchObject({
        status: 404,
        json: { faultcode: 'Client', faultstring: `Listener ${missing} not found.`, debuginfo: null },
      });
      expect((await h.call('GET', '/v2/lbaas/pools/not-a-uuid')).json.faultstring).toBe(
        'Pool not-a-uuid not found.',
      );
      // A pool id is not a listener id.
      expect((await h.call('GET', `/v2/lbaas/listeners/${t.pool.id}`)).status).toBe(404);
      const other = await create(h, '/v2/lbaas/pools', 'pool', {
        loadbalancer_id: t.lb.id,
        protocol: 'HTTP',
        lb_algorithm: 'ROUND_ROBIN',
      });
      expect(await h.call('GET', `/v2/lbaas/pools/${other.id}/members/${t.member.id}`)).toMatchObject({
        status: 404,
        json: { faultstring: `Member ${t.member.id} not found.` },
      });
      expect((await h.call('GET', `/v2/lbaas/l7policies/${t.policy.id}/rules/${uuid()}`)).status).toBe(404);
    });

    it('the status tree: the load balancer, its listeners, their pools with members and monitor', async () => {
      const t = await fullTree(h);
      const res = await h.call('GET', `/v2/lbaas/loadbalancers/${t.lb.id}/status`);
      expect(res.status).toBe(200);
      expect(res.json).toEqual({
        statuses: {
          loadbalancer: {
            id: t.lb.id,
            name: 'web',
            operating_status: 'ONLINE',
            provisioning_status: 'ACTIVE',
            listeners: [
              {
                id: t.listener.id,
                name: 'http',
                operating_status: 'ONLINE',
                provisioning_status: 'ACTIVE',
                pools: [
                  {
                    id: t.pool.id,
                    name: 'web-pool',
                    operating_status: 'ONLINE',
                    provisioning_status: 'ACTIVE',
                    health_monitor: {
                      id: t.hm.id,
                      name: '',
                      type: 'HTTP',
                      operating_status: 'ONLINE',
                      provisioning_status: 'ACTIVE',
                    },
                    members: [
                      {
                        id: t.member.id,
                        name: '',
                        operating_status: 'ONLINE',
                        provisioning_status: 'ACTIVE',
                        address: '10.0.1.5',
                        protocol_port: 8080,
                      },
                    ],
                  },
                ],
              },
            ],
          },
        },
      });
      // "statuses" is the same call.
      expect((await h.call('GET', `/v2/lbaas/loadbalancers/${t.lb.id}/statuses`)).json).toEqual(res.json);
    });

    it('statistics of a load balancer and of a listener count only their own listeners (zero here)', async () => {
      const t = await fullTree(h);
      const zero = {
        bytes_in: 0,
        bytes_out: 0,
        active_connections: 0,
        total_connections: 0,
        request_errors: 0,
      };
      expect(await h.call('GET', `/v2/lbaas/loadbalancers/${t.lb.id}/stats`)).toMatchObject({
        status: 200,
        json: { stats: zero },
      });
      expect(await h.call('GET', `/v2/lbaas/listeners/${t.listener.id}/stats`)).toMatchObject({
        status: 200,
        json: { stats: zero },
      });
    });

    it('providers: this one, with fields=; capabilities of an unknown provider are a 501', async () => {
      expect(await h.call('GET', '/v2/lbaas/providers')).toMatchObject({
        status: 200,
        json: { providers: [{ name: 'bigip', description: expect.any(String) }] },
      });
      expect((await h.call('GET', '/v2/lbaas/providers', undefined, { fields: 'name' })).json).toEqual({
        providers: [{ name: 'bigip' }],
      });
      expect(await h.call('GET', '/v2/lbaas/providers/amphora/flavor_capabilities')).toMatchObject({
        status: 501,
        json: { faultcode: 'Server', faultstring: "Provider 'amphora' was not found." },
      });
      expect((await h.call('GET', '/v2/lbaas/providers/bigip/availability_zone_capabilities')).status).toBe(
        501,
      );
      expect((await h.call('GET', '/v2/lbaas/providers/bigip/other')).status).toBe(404);
      expect((await h.call('POST', '/v2/lbaas/providers', {})).status).toBe(405);
    });
  });

  describe('lists', () => {
    async function threeLoadBalancers() {
      const a = await loadBalancer(h, { name: 'b', tags: ['red', 'blue'] });
      const b = await loadBalancer(h, { name: 'a', tags: ['red'], admin_state_up: false });
      const c = await loadBalancer(h, { name: 'c', description: 'third' });
      return [a, b, c] as Json[];
    }
    const names = (res: { json: Json }) => (res.json.loadbalancers as Json[]).map((l) => l.name);

    it('in creation order by default, paged with limit and marker, with next and previous links', async () => {
      const [a, b, c] = await threeLoadBalancers();
      expect(names(await h.call('GET', '/v2/lbaas/loadbalancers'))).toEqual(['b', 'a', 'c']);
      const first = await h.call('GET', '/v2/lbaas/loadbalancers', undefined, { limit: '2' });
      expect(names(first)).toEqual(['b', 'a']);
      expect(first.json.loadbalancers_links).toEqual([
        { href: `${BASE}/v2/lbaas/loadbalancers?limit=2&marker=${b?.id}`, rel: 'next' },
      ]);
      const second = await h.call('GET', '/v2/lbaas/loadbalancers', undefined, { limit: '2', marker: b?.id });
      expect(names(second)).toEqual(['c']);
      expect(second.json.loadbalancers_links).toEqual([
        {
          href: `${BASE}/v2/lbaas/loadbalancers?limit=2&marker=${c?.id}&page_reverse=True`,
          rel: 'previous',
        },
      ]);
      // Backwards from the last: the objects before it.
      const back = await h.call('GET', '/v2/lbaas/loadbalancers', undefined, {
        limit: '5',
        marker: c?.id,
        page_reverse: 'True',
      });
      expect(names(back)).toEqual(['b', 'a']);
      expect(a?.id).toBeDefined();
      // A marker that is no object of the list is Octavia's 400.
      const bad = uuid();
      expect(await h.call('GET', '/v2/lbaas/loadbalancers', undefined, { marker: bad })).toMatchObject({
        status: 400,
        json: { faultstring: `Supplied pagination marker '${bad}' is not valid.` },
      });
      expect(
        (await h.call('GET', '/v2/lbaas/loadbalancers', undefined, { marker: bad, sort: 'name' })).status,
      ).toBe(400);
    });

    it('sorted by sort=key:dir or sort_key/sort_dir, filtered on attributes and tags, fields kept', async () => {
      await threeLoadBalancers();
      expect(names(await h.call('GET', '/v2/lbaas/loadbalancers', undefined, { sort: 'name:desc' }))).toEqual(
        ['c', 'b', 'a'],
      );
      expect(
        names(
          await h.call('GET', '/v2/lbaas/loadbalancers', undefined, { sort_key: 'name', sort_dir: 'asc' }),
        ),
      ).toEqual(['a', 'b', 'c']);
      expect(
        names(await h.call('GET', '/v2/lbaas/loadbalancers', undefined, { sort: 'admin_state_up,name' })),
      ).toEqual(['a', 'b', 'c']);
      expect(names(await h.call('GET', '/v2/lbaas/loadbalancers', undefined, { name: 'c' }))).toEqual(['c']);
      expect(names(await h.call('GET', '/v2/lbaas/loadbalancers', undefined, { name: ['a', 'c'] }))).toEqual([
        'a',
        'c',
      ]);
      expect(
        names(await h.call('GET', '/v2/lbaas/loadbalancers', undefined, { admin_state_up: 'False' })),
      ).toEqual(['a']);
      expect(names(await h.call('GET', '/v2/lbaas/loadbalancers', undefined, { tags: 'red,blue' }))).toEqual([
        'b',
      ]);
      expect(
        names(await h.call('GET', '/v2/lbaas/loadbalancers', undefined, { 'tags-any': 'blue,green' })),
      ).toEqual(['b']);
      expect(
        names(await h.call('GET', '/v2/lbaas/loadbalancers', undefined, { 'not-tags': 'red,blue' })),
      ).toEqual(['a', 'c']);
      expect(
        names(await h.call('GET', '/v2/lbaas/loadbalancers', undefined, { 'not-tags-any': 'red' })),
      ).toEqual(['c']);
      const fields = await h.call('GET', '/v2/lbaas/loadbalancers', undefined, {
        fields: 'name',
        sort: 'name',
      });
      expect(fields.json.loadbalancers).toEqual([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
      // An admin names a project: that project's objects only.
      expect(names(await h.call('GET', '/v2/lbaas/loadbalancers', undefined, { project_id: OTHER }))).toEqual(
        [],
      );
    });

    it('refuses what Octavia refuses with its 400s: an unknown sort key or direction, a bad limit, an unknown filter', async () => {
      await threeLoadBalancers();
      const fault = async (query: Record<string, string>) =>
        (await h.call('GET', '/v2/lbaas/loadbalancers', undefined, query)).json;
      expect(await fault({ sort: 'nope:asc' })).toMatchObject({
        faultstring: "Supplied sort key 'nope' is not valid.",
      });
      expect(await fault({ sort: 'name:up' })).toMatchObject({
        faultstring: "Supplied sort direction 'up' is not valid.",
      });
      expect(await fault({ sort: 'name:asc:x' })).toMatchObject({
        faultstring: "Supplied sort key 'name:asc:x' is not valid.",
      });
      expect(await fault({ limit: 'ten' })).toMatchObject({
        faultstring: "Supplied pagination limit 'ten' is not valid.",
      });
      expect(await fault({ colour: 'red' })).toMatchObject({
        faultstring: 'One or more arguments are either duplicate or invalid',
      });
      // limit=infinite and a limit under 1 are everything.
      expect(
        names(await h.call('GET', '/v2/lbaas/loadbalancers', undefined, { limit: 'infinite' })),
      ).toHaveLength(3);
      expect(names(await h.call('GET', '/v2/lbaas/loadbalancers', undefined, { limit: '0' }))).toHaveLength(
        3,
      );
    });

    it('listeners, pools, monitors and policies: of one load balancer, by parent id, without their hidden parents', async () => {
      const t = await fullTree(h);
      const second = await fullTree(h);
      const ids = (res: { json: Json }, key: string) => (res.json[key] as Json[]).map((o) => o.id);
      expect(
        ids(await h.call('GET', '/v2/lbaas/listeners', undefined, { loadbalancer_id: t.lb.id }), 'listeners'),
      ).toEqual([t.listener.id]);
      expect(
        ids(
          await h.call('GET', '/v2/lbaas/listeners', undefined, { loadbalancer_id: [t.lb.id, second.lb.id] }),
          'listeners',
        ),
      ).toEqual([t.listener.id, second.listener.id]);
      expect(
        ids(await h.call('GET', '/v2/lbaas/pools', undefined, { listener_id: second.listener.id }), 'pools'),
      ).toEqual([second.pool.id]);
      expect(
        ids(await h.call('GET', '/v2/lbaas/pools', undefined, { healthmonitor_id: t.hm.id }), 'pools'),
      ).toEqual([t.pool.id]);
      expect(
        ids(
          await h.call('GET', '/v2/lbaas/healthmonitors', undefined, { pool_id: t.pool.id }),
          'healthmonitors',
        ),
      ).toEqual([t.hm.id]);
      expect(
        ids(
          await h.call('GET', '/v2/lbaas/l7policies', undefined, { listener_id: t.listener.id }),
          'l7policies',
        ),
      ).toEqual([t.policy.id]);
      expect(ids(await h.call('GET', '/v2/lbaas/l7policies'), 'l7policies')).toEqual([
        t.policy.id,
        second.policy.id,
      ]);
      // A load balancer that does not exist has no listeners.
      expect(
        ids(await h.call('GET', '/v2/lbaas/listeners', undefined, { loadbalancer_id: uuid() }), 'listeners'),
      ).toEqual([]);
      // Members of a pool and rules of a policy, filtered and with fields.
      const members = await h.call('GET', `/v2/lbaas/pools/${t.pool.id}/members`, undefined, {
        protocol_port: '8080',
        fields: 'id,address',
      });
      expect(members.json).toEqual({
        members: [{ id: t.member.id, address: '10.0.1.5' }],
        members_links: [],
      });
      expect(
        (await h.call('GET', `/v2/lbaas/pools/${t.pool.id}/members`, undefined, { weight: '7' })).json
          .members,
      ).toEqual([]);
      const rules = await h.call('GET', `/v2/lbaas/l7policies/${t.policy.id}/rules`);
      expect(rules.json.rules.map((r: Json) => r.id)).toEqual([t.rule.id]);
      expect(rules.json.rules[0]).not.toHaveProperty('l7policy_id');
      expect((await h.call('GET', `/v2/lbaas/pools/${uuid()}/members`)).status).toBe(404);
    });
  });

  describe('updates answer 200 with the object PENDING_UPDATE and queue one update', () => {
    it('each resource type takes the fields the api-ref lets it change', async () => {
      const t = await fullTree(h);
      h.sent.length = 0;
      const put = async (path: string, root: string, body: Json) => {
        const res = await h.call('PUT', path, { [root]: body });
        expect(res.status, JSON.stringify(res.json)).toBe(200);
        expect(res.json[root].provisioning_status).toBe('PENDING_UPDATE');
        h.activate();
        return res.json[root];
      };
      expect(
        await put(`/v2/lbaas/loadbalancers/${t.lb.id}`, 'loadbalancer', {
          name: 'renamed',
          description: null,
          admin_state_up: false,
          tags: ['x'],
        }),
      ).toMatchObject({ name: 'renamed', description: '', admin_state_up: false, tags: ['x'] });
      expect(
        await put(`/v2/lbaas/listeners/${t.listener.id}`, 'listener', {
          connection_limit: 100,
          insert_headers: { 'X-Forwarded-Proto': 'yes' },
          default_pool_id: null,
        }),
      ).toMatchObject({
        connection_limit: 100,
        insert_headers: { 'X-Forwarded-Proto': 'true' },
        default_pool_id: null,
      });
      expect(
        await put(`/v2/lbaas/listeners/${t.listener.id}`, 'listener', {
          connection_limit: null,
          default_pool_id: t.pool.id,
          insert_headers: null,
        }),
      ).toMatchObject({ connection_limit: -1, default_pool_id: t.pool.id, insert_headers: {} });
      expect(
        await put(`/v2/lbaas/pools/${t.pool.id}`, 'pool', {
          lb_algorithm: 'LEAST_CONNECTIONS',
          session_persistence: { type: 'HTTP_COOKIE' },
        }),
      ).toMatchObject({
        lb_algorithm: 'LEAST_CONNECTIONS',
        session_persistence: { type: 'HTTP_COOKIE', cookie_name: null },
      });
      expect(await put(`/v2/lbaas/pools/${t.pool.id}`, 'pool', { session_persistence: null })).toMatchObject({
        session_persistence: null,
      });
      expect(
        await put(`/v2/lbaas/pools/${t.pool.id}/members/${t.member.id}`, 'member', {
          weight: 10,
          backup: true,
          name: 'm',
        }),
      ).toMatchObject({ weight: 10, backup: true, name: 'm' });
      expect(
        await put(`/v2/lbaas/pools/${t.pool.id}/members/${t.member.id}`, 'member', { weight: null }),
      ).toMatchObject({ weight: 1 });
      expect(
        await put(`/v2/lbaas/healthmonitors/${t.hm.id}`, 'healthmonitor', {
          delay: 9,
          url_path: '/health',
          expected_codes: '200, 202',
          http_method: 'HEAD',
          max_retries_down: 5,
        }),
      ).toMatchObject({
        delay: 9,
        url_path: '/health',
        expected_codes: '200,202',
        http_method: 'HEAD',
        max_retries_down: 5,
      });
      expect(
        await put(`/v2/lbaas/healthmonitors/${t.hm.id}`, 'healthmonitor', {
          url_path: null,
          expected_codes: null,
          http_method: null,
          max_retries_down: null,
        }),
      ).toMatchObject({ url_path: '/', expected_codes: '200', http_method: 'GET', max_retries_down: 3 });
      expect(
        await put(`/v2/lbaas/l7policies/${t.policy.id}`, 'l7policy', {
          action: 'REDIRECT_TO_POOL',
          redirect_pool_id: t.pool.id,
          redirect_url: null,
        }),
      ).toMatchObject({ action: 'REDIRECT_TO_POOL', redirect_pool_id: t.pool.id, redirect_url: null });
      expect(
        await put(`/v2/lbaas/l7policies/${t.policy.id}`, 'l7policy', {
          action: 'REDIRECT_PREFIX',
          redirect_prefix: 'https://example.org',
          redirect_pool_id: null,
          redirect_http_code: 308,
        }),
      ).toMatchObject({
        action: 'REDIRECT_PREFIX',
        redirect_prefix: 'https://example.org',
        redirect_http_code: 308,
      });
      expect(
        await put(`/v2/lbaas/l7policies/${t.policy.id}/rules/${t.rule.id}`, 'rule', {
          type: 'HEADER',
          key: 'X-Test',
          compare_type: 'EQUAL_TO',
          value: 'v',
          invert: true,
        }),
      ).toMatchObject({ type: 'HEADER', key: 'X-Test', compare_type: 'EQUAL_TO', value: 'v', invert: true });
      expect(h.sent.map((m) => `${m.operation} ${m.resource}`)).toEqual([
        'update loadbalancer',
        'update listener',
        'update listener',
        'update pool',
        'update pool',
        'update member',
        'update member',
        'update healthmonitor',
        'update healthmonitor',
        'update l7policy',
        'update l7policy',
        'update l7rule',
      ]);
    });

    it('an update that names nothing is still an update (Octavia applies the object again)', async () => {
      const t = await fullTree(h);
      h.sent.length = 0;
      const res = await h.call('PUT', `/v2/lbaas/pools/${t.pool.id}`, { pool: {} });
      expect(res.status).toBe(200);
      expect(h.sent).toHaveLength(1);
      expect(h.sent[0]).toMatchObject({ operation: 'update', resource: 'pool', object: { id: t.pool.id } });
    });

    it('refuses an update while the load balancer is not ACTIVE (409 immutable), and a change the type forbids (400)', async () => {
      const t = await fullTree(h);
      for (const r of h.store.records.values())
        if (r.type === 'loadbalancer') r.provisioningStatus = 'PENDING_UPDATE';
      expect(
        await h.call('PUT', `/v2/lbaas/listeners/${t.listener.id}`, { listener: { name: 'x' } }),
      ).toMatchObject({
        status: 409,
        json: { faultstring: `Load Balancer ${t.lb.id} is immutable and cannot be updated.` },
      });
      h.activate();
      expect(
        await h.call('PUT', `/v2/lbaas/listeners/${t.listener.id}`, {
          listener: { default_tls_container_ref: 'https://barbican.test/v1/containers/x' },
        }),
      ).toMatchObject({
        status: 400,
        json: {
          faultstring:
            'Validation failure: Certificate container references are not allowed on HTTP protocol listeners.',
        },
      });
      const tcpLb = await loadBalancer(h);
      const tcp = await create(h, '/v2/lbaas/listeners', 'listener', {
        loadbalancer_id: tcpLb.id,
        protocol: 'TCP',
        protocol_port: 22,
      });
      expect(
        await h.call('PUT', `/v2/lbaas/listeners/${tcp.id}`, {
          listener: { insert_headers: { 'X-Forwarded-For': 'true' } },
        }),
      ).toMatchObject({
        status: 400,
        json: { faultstring: 'insert-headers is not a valid option for a TCP protocol listener.' },
      });
      expect(
        await h.call('PUT', `/v2/lbaas/listeners/${t.listener.id}`, {
          listener: { default_pool_id: uuid() },
        }),
      ).toMatchObject({ status: 404 });
      expect(
        await h.call('PUT', `/v2/lbaas/listeners/${t.listener.id}`, {
          listener: { allowed_cidrs: ['2001:db8::/64'] },
        }),
      ).toMatchObject({
        status: 400,
        json: {
          faultstring: expect.stringMatching(
            /^Validation failure: CIDR 2001:db8::\/64 IP version incompatible/,
          ),
        },
      });
      expect(
        await h.call('PUT', `/v2/lbaas/pools/${t.pool.id}`, {
          pool: { session_persistence: { cookie_name: 'x' } },
        }),
      ).toMatchObject({
        status: 400,
        json: { faultstring: 'Validation failure: session_persistence needs a type' },
      });
      expect(
        await h.call('PUT', `/v2/lbaas/pools/${t.pool.id}`, {
          pool: { session_persistence: { type: 'APP_COOKIE' } },
        }),
      ).toMatchObject({
        status: 400,
        json: {
          faultstring:
            'Validation failure: Field "cookie_name" must be specified when using the "APP_COOKIE" session persistence type.',
        },
      });
      expect(
        await h.call('PUT', `/v2/lbaas/l7policies/${t.policy.id}`, {
          l7policy: { action: 'REDIRECT_TO_POOL' },
        }),
      ).toMatchObject({
        status: 400,
        json: {
          faultstring: 'Invalid L7 Policy arguments: redirect_pool_id or redirect_pool must not be None',
        },
      });
      expect(
        await h.call('PUT', `/v2/lbaas/l7policies/${t.policy.id}`, {
          l7policy: { action: 'REDIRECT_PREFIX' },
        }),
      ).toMatchObject({
        status: 400,
        json: { faultstring: 'Invalid L7 Policy arguments: redirect_prefix must not be None' },
      });
      expect(
        await h.call('PUT', `/v2/lbaas/l7policies/${t.policy.id}`, {
          l7policy: { action: 'REDIRECT_TO_URL', redirect_url: null },
        }),
      ).toMatchObject({
        status: 400,
        json: { faultstring: 'Invalid L7 Policy arguments: redirect_url must not be None' },
      });
      expect(
        await h.call('PUT', `/v2/lbaas/l7policies/${t.policy.id}`, {
          l7policy: { redirect_pool_id: uuid() },
        }),
      ).toMatchObject({ status: 404 });
      // A PING monitor has no HTTP fields to change.
      const ping = await loadBalancer(h);
      const pingPool = await create(h, '/v2/lbaas/pools', 'pool', {
        loadbalancer_id: ping.id,
        protocol: 'TCP',
        lb_algorithm: 'ROUND_ROBIN',
      });
      const pingHm = await create(h, '/v2/lbaas/healthmonitors', 'healthmonitor', {
        pool_id: pingPool.id,
        type: 'PING',
        delay: 1,
        timeout: 1,
        max_retries: 1,
      });
      expect(
        await h.call('PUT', `/v2/lbaas/healthmonitors/${pingHm.id}`, { healthmonitor: { url_path: '/x' } }),
      ).toMatchObject({
        status: 400,
        json: { faultstring: 'url_path is not a valid option for health monitors of type PING' },
      });
    });
  });

  describe('deletes answer 204 and leave the object PENDING_DELETE', () => {
    it('each child, then the load balancer with cascade', async () => {
      const t = await fullTree(h);
      h.sent.length = 0;
      const del = async (path: string, query: Record<string, string> = {}) => {
        const res = await h.call('DELETE', path, undefined, query);
        expect(res.status, JSON.stringify(res.json)).toBe(204);
        expect(res.json).toBeUndefined();
        h.activate();
      };
      await del(`/v2/lbaas/l7policies/${t.policy.id}/rules/${t.rule.id}`);
      await del(`/v2/lbaas/l7policies/${t.policy.id}`);
      await del(`/v2/lbaas/healthmonitors/${t.hm.id}`);
      await del(`/v2/lbaas/pools/${t.pool.id}/members/${t.member.id}`);
      await del(`/v2/lbaas/pools/${t.pool.id}`);
      await del(`/v2/lbaas/listeners/${t.listener.id}`);
      expect(await h.call('DELETE', `/v2/lbaas/loadbalancers/${t.lb.id}`)).toMatchObject({
        status: 400,
        json: { faultstring: `Validation failure: Cannot delete Load Balancer ${t.lb.id} - it has children` },
      });
      await del(`/v2/lbaas/loadbalancers/${t.lb.id}`, { cascade: 'true' });
      expect(h.sent.map((m) => `${m.operation} ${m.resource}`)).toEqual([
        'delete l7rule',
        'delete l7policy',
        'delete healthmonitor',
        'delete member',
        // The listener using the pool as its default lets go of it first.
        'update listener',
        'delete pool',
        'delete listener',
        'delete loadbalancer',
      ]);
      expect(
        (await h.call('GET', `/v2/lbaas/loadbalancers/${t.lb.id}`)).json.loadbalancer.provisioning_status,
      ).toBe('ACTIVE');
    });

    it('a load balancer in ERROR can still be deleted; one pending cannot (409)', async () => {
      const lb = await loadBalancer(h);
      for (const r of h.store.records.values()) r.provisioningStatus = 'PENDING_UPDATE';
      expect(await h.call('DELETE', `/v2/lbaas/loadbalancers/${lb.id}`)).toMatchObject({
        status: 409,
        json: { faultstring: `Load Balancer ${lb.id} is immutable and cannot be updated.` },
      });
      for (const r of h.store.records.values()) r.provisioningStatus = 'ERROR';
      expect((await h.call('DELETE', `/v2/lbaas/loadbalancers/${lb.id}`)).status).toBe(204);
    });
  });

  describe('failover and the member batch answer 202', () => {
    it('failover applies the load balancer again; refused while it is pending', async () => {
      const lb = await loadBalancer(h);
      h.sent.length = 0;
      expect(await h.call('PUT', `/v2/lbaas/loadbalancers/${lb.id}/failover`)).toMatchObject({ status: 202 });
      expect(h.sent).toEqual([expect.objectContaining({ operation: 'update', resource: 'loadbalancer' })]);
      expect(await h.call('PUT', `/v2/lbaas/loadbalancers/${lb.id}/failover`)).toMatchObject({
        status: 409,
        json: { faultstring: `Invalid state PENDING_UPDATE of loadbalancer resource ${lb.id}` },
      });
    });

    it('a batch replaces the pool’s members (or adds with additive_only), matching on address and port', async () => {
      const t = await fullTree(h);
      h.sent.length = 0;
      const batch = await h.call('PUT', `/v2/lbaas/pools/${t.pool.id}/members`, {
        members: [
          { address: '10.0.1.5', protocol_port: 8080, weight: 3 },
          { address: '10.0.1.6', protocol_port: 8080 },
        ],
      });
      expect(batch).toMatchObject({ status: 202 });
      const sent = h.sent[0] as RequestEnvelope & { object: Json };
      expect(sent).toMatchObject({ operation: 'batch_update', resource: 'member' });
      expect(sent.object.additive_only).toBe(false);
      expect(sent.object.members.map((m: Json) => m.address)).toEqual(['10.0.1.5', '10.0.1.6']);
      expect(sent.object.members[0].id).toBe(t.member.id);
      h.activate();
      await h.call('PUT', `/v2/lbaas/pools/${t.pool.id}/members`, { members: [] }, { additive_only: 'true' });
      expect((h.sent[1] as RequestEnvelope & { object: Json }).object.additive_only).toBe(true);
      h.activate();
      expect(
        await h.call('PUT', `/v2/lbaas/pools/${t.pool.id}/members`, {
          members: [
            { address: '10.0.1.9', protocol_port: 80 },
            { address: '10.0.1.9', protocol_port: 80 },
          ],
        }),
      ).toMatchObject({
        status: 400,
        json: { faultstring: 'Member 10.0.1.9:80 is listed twice in the batch.' },
      });
      expect(
        await h.call('PUT', `/v2/lbaas/pools/${t.pool.id}/members`, {
          members: [{ address: '10.0.1.9', protocol_port: 80, subnet_id: uuid() }],
        }),
      ).toMatchObject({
        status: 400,
        json: { faultstring: expect.stringMatching(/^Subnet .* not found\.$/) },
      });
      // An alternate monitor port is carried to the device (a monitor of the member's own).
      expect(
        (
          await h.call('PUT', `/v2/lbaas/pools/${t.pool.id}/members`, {
            members: [{ address: '10.0.1.9', protocol_port: 80, monitor_port: 81 }],
          })
        ).status,
      ).toBe(202);
      const withMonitor = h.sent.at(-1) as RequestEnvelope & { object: Json };
      expect(withMonitor.object.members[0]).toMatchObject({ address: '10.0.1.9', monitor_port: 81 });
    });
  });

  describe('bad input is a 400 naming what is wrong, and nothing is recorded', () => {
    it('bodies', async () => {
      const lb = await loadBalancer(h);
      const before = h.store.records.size;
      const post = (path: string, body: unknown) => h.call('POST', path, body);
      const cases: [string, unknown, string][] = [
        ['/v2/lbaas/listeners', '', 'The request body is missing.'],
        ['/v2/lbaas/listeners', '{', 'The request body is not valid JSON.'],
        ['/v2/lbaas/listeners', '[1]', 'The request body must be a JSON object.'],
        ['/v2/lbaas/listeners', { listener: {}, extra: 1 }, 'Unknown argument: "extra"'],
        ['/v2/lbaas/listeners', { listener: 3 }, 'Missing argument: "listener"'],
        [
          '/v2/lbaas/listeners',
          { listener: { loadbalancer_id: lb.id, protocol: 'HTTP', protocol_port: 80, colour: 'red' } },
          'Unknown attribute for argument listener_.listener: colour',
        ],
        [
          '/v2/lbaas/listeners',
          { listener: { loadbalancer_id: lb.id, protocol: 'HTTP' } },
          "Invalid input for field/attribute protocol_port. Value: 'None'. Mandatory field missing.",
        ],
        [
          '/v2/lbaas/listeners',
          { listener: { loadbalancer_id: lb.id, protocol: 'HTTP', protocol_port: 70000 } },
          "Invalid input for field/attribute protocol_port. Value: '70000'. must be at most 65535",
        ],
        [
          '/v2/lbaas/listeners',
          {
            listener: {
              loadbalancer_id: lb.id,
              protocol: 'HTTP',
              protocol_port: 80,
              sni_container_refs: 'x',
            },
          },
          "Invalid input for field/attribute sni_container_refs. Value: 'x'. Invalid input: expected array, received string",
        ],
        [
          '/v2/lbaas/listeners',
          {
            listener: {
              loadbalancer_id: lb.id,
              protocol: 'HTTP',
              protocol_port: 80,
              insert_headers: { 'X-Forwarded-For': 'maybe' },
            },
          },
          'maybe is not a valid option for insert_headers X-Forwarded-For',
        ],
        [
          '/v2/lbaas/listeners',
          { listener: { loadbalancer_id: lb.id, protocol: 'TERMINATED_HTTPS', protocol_port: 443 } },
          'Validation failure: An SNI or default certificate container reference must be provided for TERMINATED_HTTPS protocol listeners.',
        ],
        [
          '/v2/lbaas/listeners',
          {
            listener: {
              loadbalancer_id: lb.id,
              protocol: 'TCP',
              protocol_port: 443,
              sni_container_refs: ['a'],
            },
          },
          'Validation failure: Certificate container references are not allowed on TCP protocol listeners.',
        ],
        [
          '/v2/lbaas/listeners',
          {
            listener: {
              loadbalancer_id: lb.id,
              protocol: 'HTTPS',
              protocol_port: 443,
              insert_headers: { 'X-Forwarded-For': 'true' },
            },
          },
          'insert-headers is not a valid option for a HTTPS protocol listener.',
        ],
        [
          '/v2/lbaas/listeners',
          {
            listener: {
              loadbalancer_id: lb.id,
              protocol: 'HTTP',
              protocol_port: 80,
              allowed_cidrs: ['::/0'],
            },
          },
          `Validation failure: CIDR ::/0 IP version incompatible with VIP ${lb.vip_address} IP version.`,
        ],
        [
          '/v2/lbaas/pools',
          { pool: { protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN' } },
          'Validation failure: loadbalancer_id or listener_id must be specified.',
        ],
        [
          '/v2/lbaas/pools',
          {
            pool: {
              loadbalancer_id: lb.id,
              protocol: 'HTTP',
              lb_algorithm: 'ROUND_ROBIN',
              session_persistence: { type: 'SOURCE_IP', cookie_name: 'c' },
            },
          },
          'Validation failure: Field "cookie_name" can only be specified when using the "APP_COOKIE" session persistence type.',
        ],
        [
          '/v2/lbaas/pools',
          {
            pool: {
              loadbalancer_id: lb.id,
              protocol: 'HTTP',
              lb_algorithm: 'ROUND_ROBIN',
              session_persistence: { type: 'SOURCE_IP', persistence_timeout: 5 },
            },
          },
          'Validation failure: persistence_timeout and persistence_granularity are only for UDP pools.',
        ],
        [
          '/v2/lbaas/pools',
          {
            pool: {
              loadbalancer_id: lb.id,
              protocol: 'HTTP',
              lb_algorithm: 'ROUND_ROBIN',
              session_persistence: { type: 'SOURCE_IP', persistence_granularity: '255.255.255.0' },
            },
          },
          'Validation failure: persistence_timeout and persistence_granularity are only for UDP pools.',
        ],
        [
          '/v2/lbaas/pools',
          {
            pool: {
              loadbalancer_id: lb.id,
              protocol: 'HTTP',
              lb_algorithm: 'ROUND_ROBIN',
              members: [
                { address: '10.0.1.1', protocol_port: 80 },
                { address: '10.0.1.1', protocol_port: 80 },
              ],
            },
          },
          'Another member on this pool is already using ip 10.0.1.1 on protocol_port 80',
        ],
        [
          '/v2/lbaas/l7policies',
          { l7policy: { listener_id: uuid(), action: 'REJECT' } },
          'Listener', // completed below: a 404
        ],
      ];
      for (const [path, body, faultstring] of cases.slice(0, -1)) {
        const res = await post(path, body);
        expect(res.json.faultstring, JSON.stringify(body)).toBe(faultstring);
        expect([400, 409]).toContain(res.status);
      }
      const missing = cases.at(-1) as [string, Json, string];
      expect((await post(missing[0], missing[1])).status).toBe(404);
      expect(h.store.records.size).toBe(before);
    });

    it('a VIP that cannot be: a subnet or network not configured, an address outside the subnet, no VIP at all, a port in use', async () => {
      const post = (loadbalancer: Json) => h.call('POST', '/v2/lbaas/loadbalancers', { loadbalancer });
      const subnet = uuid();
      expect((await post({ vip_subnet_id: subnet })).json.faultstring).toBe(`Subnet ${subnet} not found.`);
      const network = uuid();
      expect((await post({ vip_network_id: network })).json.faultstring).toBe(
        `Network ${network} not found.`,
      );
      expect((await post({})).json.faultstring).toBe(
        'Validation failure: VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.',
      );
      expect((await post({ vip_subnet_id: SUBNET, vip_address: '10.9.9.9' })).json.faultstring).toBe(
        `VIP address 10.9.9.9 is not in subnet ${SUBNET} (10.0.0.0/24).`,
      );
      expect((await post({ vip_network_id: NETWORK, vip_address: '192.0.2.1' })).json.faultstring).toBe(
        'Validation failure: Supplied network does not contain a subnet for VIP address specified.',
      );
      const port = uuid();
      expect((await post({ vip_port_id: port })).json.faultstring).toBe(`Port ${port} not found.`);
      const lb = await loadBalancer(h);
      expect(await post({ vip_port_id: lb.vip_port_id })).toMatchObject({
        status: 409,
        json: { faultstring: `Port ${lb.vip_port_id} is already in use by load balancer ${lb.id}.` },
      });
      expect(await post({ vip_subnet_id: SUBNET, vip_address: lb.vip_address })).toMatchObject({
        status: 409,
      });
      // What the provider does not implement is a 501 naming it; another provider is not enabled (400).
      expect(await post({ vip_subnet_id: SUBNET, flavor_id: uuid() })).toMatchObject({
        status: 501,
        json: { faultstring: "Provider 'bigip' does not support a requested option: flavor_id (flavors)" },
      });
      expect(await post({ vip_subnet_id: SUBNET, provider: 'amphora' })).toMatchObject({
        status: 400,
        json: { faultstring: "Provider 'amphora' is not enabled." },
      });
    });

    it('a graph create’s pools must be named, unique and defined; its listeners on distinct ports', async () => {
      const post = (loadbalancer: Json) =>
        h.call('POST', '/v2/lbaas/loadbalancers', {
          loadbalancer: { vip_subnet_id: SUBNET, ...loadbalancer },
        });
      const pool = { protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN' };
      expect(
        (
          await post({
            pools: [
              { ...pool, name: 'p' },
              { ...pool, name: 'p' },
            ],
          })
        ).json.faultstring,
      ).toBe('Validation failure: Pool names must be unique when creating a fully populated loadbalancer.');
      expect((await post({ pools: [pool] })).json.faultstring).toBe(
        'Validation failure: Pools must be named when creating a fully populated loadbalancer.',
      );
      expect((await post({ pools: [{ name: 'p', protocol: 'HTTP' }] })).json.faultstring).toBe(
        "Validation failure: Pool definition for 'p' missing required attribute: lb_algorithm",
      );
      expect(
        (
          await post({
            listeners: [
              { protocol: 'HTTP', protocol_port: 80 },
              { protocol: 'TCP', protocol_port: 80 },
            ],
          })
        ).json,
      ).toMatchObject({
        faultstring:
          'Another Listener on this Load Balancer is already using protocol TCP and protocol_port 80',
      });
      expect(
        (
          await post({
            pools: [{ ...pool, name: 'p', protocol: 'TCP' }],
            listeners: [{ protocol: 'HTTP', protocol_port: 80, default_pool: { name: 'p' } }],
          })
        ).json.faultstring,
      ).toBe("Validation failure: The pool protocol 'TCP' is invalid while the listener protocol is 'HTTP'.");
      expect(
        (
          await post({
            listeners: [
              {
                protocol: 'HTTP',
                protocol_port: 80,
                l7policies: [{ action: 'REDIRECT_TO_POOL' }],
              },
            ],
          })
        ).json.faultstring,
      ).toBe('Invalid L7 Policy arguments: redirect_pool_id or redirect_pool must not be None');
      expect(h.store.records.size).toBe(0);
    });

    it('policies and rules: the redirect each action needs, and one redirect only', async () => {
      const t = await fullTree(h);
      const post = (l7policy: Json) =>
        h.call('POST', '/v2/lbaas/l7policies', { l7policy: { listener_id: t.listener.id, ...l7policy } });
      expect((await post({ action: 'REDIRECT_TO_URL' })).json.faultstring).toBe(
        'Invalid L7 Policy arguments: redirect_url must not be None',
      );
      expect((await post({ action: 'REDIRECT_PREFIX' })).json.faultstring).toBe(
        'Invalid L7 Policy arguments: redirect_prefix must not be None',
      );
      expect(
        (
          await post({
            action: 'REDIRECT_TO_POOL',
            redirect_pool_id: t.pool.id,
            redirect_url: 'http://x.test/',
          })
        ).json.faultstring,
      ).toBe(
        'Invalid L7 Policy arguments: Cannot specify redirect_pool_id and redirect_url or redirect_prefix at the same time',
      );
      const pool = uuid();
      expect(await post({ action: 'REDIRECT_TO_POOL', redirect_pool_id: pool })).toMatchObject({
        status: 404,
        json: { faultstring: `Pool ${pool} not found.` },
      });
      // With its rules in the same call, at the position asked for.
      const res = await post({
        action: 'REJECT',
        position: 1,
        rules: [{ type: 'HOST_NAME', compare_type: 'EQUAL_TO', value: 'www.example.com' }],
      });
      expect(res.status).toBe(201);
      expect(res.json.l7policy).toMatchObject({ position: 1, rules: [{ id: expect.any(String) }] });
      h.activate();
      expect(
        await h.call('POST', `/v2/lbaas/l7policies/${t.policy.id}/rules`, {
          rule: { type: 'PATH', compare_type: 'REGEX', value: '^/x' },
        }),
      ).toMatchObject({ status: 501, json: { faultstring: expect.stringMatching(/compare_type REGEX/) } });
    });

    it('a second default pool, a second monitor, a duplicate member, a listener on a taken port: 409', async () => {
      const t = await fullTree(h);
      expect(
        await h.call('POST', '/v2/lbaas/pools', {
          pool: { listener_id: t.listener.id, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN' },
        }),
      ).toMatchObject({ status: 409, json: { faultstring: 'This listener already has a default pool' } });
      expect(
        await h.call('POST', '/v2/lbaas/healthmonitors', {
          healthmonitor: { pool_id: t.pool.id, type: 'PING', delay: 1, timeout: 1, max_retries: 1 },
        }),
      ).toMatchObject({ status: 409, json: { faultstring: 'This pool already has a health monitor' } });
      expect(
        await h.call('POST', `/v2/lbaas/pools/${t.pool.id}/members`, {
          member: { address: '10.0.1.5', protocol_port: 8080 },
        }),
      ).toMatchObject({
        status: 409,
        json: {
          faultstring: 'Another member on this pool is already using ip 10.0.1.5 on protocol_port 8080',
        },
      });
      expect(
        await h.call('POST', '/v2/lbaas/listeners', {
          listener: { loadbalancer_id: t.lb.id, protocol: 'TCP', protocol_port: 80 },
        }),
      ).toMatchObject({
        status: 409,
        json: {
          faultstring:
            'Another Listener on this Load Balancer is already using protocol HTTP and protocol_port 80',
        },
      });
      expect(
        await h.call('POST', '/v2/lbaas/pools', {
          pool: {
            listener_id: t.listener.id,
            loadbalancer_id: uuid(),
            protocol: 'HTTP',
            lb_algorithm: 'ROUND_ROBIN',
          },
        }),
      ).toMatchObject({
        status: 400,
        json: {
          faultstring: expect.stringMatching(/^Validation failure: Listener .* is not on load balancer/),
        },
      });
    });

    it('a write on a pool that is not ACTIVE names the pool (409)', async () => {
      const t = await fullTree(h);
      for (const r of h.store.records.values())
        if (r.type === 'pool') r.provisioningStatus = 'PENDING_UPDATE';
      expect(
        await h.call('POST', `/v2/lbaas/pools/${t.pool.id}/members`, {
          member: { address: '10.0.1.7', protocol_port: 1 },
        }),
      ).toMatchObject({
        status: 409,
        json: { faultstring: `Pool ${t.pool.id} is immutable and cannot be updated.` },
      });
    });
  });

  describe('the HTTP front', () => {
    it('version discovery at / and /v2 without authentication; GET only', async () => {
      const root = await h.call('GET', '/', undefined, {}, null);
      expect(root.status).toBe(200);
      const versions = root.json.versions as Json[];
      expect(versions.at(-1)).toMatchObject({ id: 'v2.26', status: 'CURRENT' });
      expect(versions[0]).toMatchObject({
        id: 'v2.0',
        status: 'SUPPORTED',
        links: [{ href: `${BASE}/v2`, rel: 'self' }],
      });
      expect((await h.call('GET', '/v2', undefined, {}, null)).status).toBe(200);
      expect(await h.call('POST', '/', {}, {}, null)).toMatchObject({
        status: 405,
        json: { faultstring: 'The method is not allowed for the requested URL.' },
      });
    });

    it('401 without a caller, 404 for paths that are no resource, 405 for methods a path does not take', async () => {
      expect(await h.call('GET', '/v2/lbaas/loadbalancers', undefined, {}, null)).toMatchObject({
        status: 401,
        json: { faultstring: 'The request you have made requires authentication.' },
      });
      const lb = await loadBalancer(h);
      for (const path of [
        '/v3/lbaas/loadbalancers',
        '/v2/compute/servers',
        '/v2/lbaas',
        '/v2/lbaas/widgets',
        `/v2/lbaas/loadbalancers/${lb.id}/nothing`,
        `/v2/lbaas/loadbalancers/${lb.id}/status/x/y`,
        `/v2/lbaas/listeners/${uuid()}/members`,
        '/v2.0/subnets/a/b',
      ])
        expect(await h.call('GET', path), path).toMatchObject({ status: 404 });
      expect((await h.call('GET', '/v3/lbaas/loadbalancers')).json.faultstring).toBe(
        'The resource could not be found.',
      );
      for (const [method, path] of [
        ['DELETE', '/v2/lbaas/loadbalancers'],
        ['POST', `/v2/lbaas/loadbalancers/${lb.id}`],
        ['DELETE', `/v2/lbaas/pools/${uuid()}/members`],
        ['POST', `/v2/lbaas/pools/${uuid()}/members/${uuid()}`],
      ] as const)
        expect((await h.call(method, path, {})).status, `${method} ${path}`).toBe(405);
    });

    it('what this provider does not implement is a 501; the flavor and availability zone lists are empty', async () => {
      expect(await h.call('GET', '/v2/lbaas/flavors')).toMatchObject({
        status: 200,
        json: { flavors: [], flavors_links: [] },
      });
      expect((await h.call('GET', '/v2/lbaas/availabilityzones')).json).toEqual({
        availabilityzones: [],
        availabilityzones_links: [],
      });
      expect(await h.call('POST', '/v2/lbaas/flavors', {})).toMatchObject({
        status: 501,
        json: { faultstring: "Provider 'bigip' does not support a requested action: flavors" },
      });
      expect((await h.call('GET', '/v2/lbaas/quotas')).status).toBe(501);
      expect((await h.call('GET', '/v2/octavia/amphorae')).json.faultstring).toMatch(/amphorae/);
    });

    it('Neutron reads: subnets, networks and the VIP port; writes are a 501; errors in Neutron’s shape', async () => {
      const lb = await loadBalancer(h);
      expect((await h.call('GET', '/v2.0/subnets', undefined, { id: SUBNET })).json.subnets).toEqual([
        expect.objectContaining({ id: SUBNET, cidr: '10.0.0.0/24', network_id: NETWORK }),
      ]);
      expect((await h.call('GET', `/v2.0/subnets/${SUBNET}`)).json.subnet).toMatchObject({ id: SUBNET });
      expect((await h.call('GET', '/v2.0/networks')).json.networks).toEqual([
        expect.objectContaining({ id: NETWORK, subnets: [SUBNET, SUBNET6] }),
      ]);
      expect((await h.call('GET', `/v2.0/networks/${NETWORK}`)).json.network).toMatchObject({ id: NETWORK });
      expect((await h.call('GET', `/v2.0/ports/${lb.vip_port_id}`)).json.port).toMatchObject({
        id: lb.vip_port_id,
        fixed_ips: [{ subnet_id: SUBNET, ip_address: lb.vip_address }],
      });
      expect((await h.call('GET', '/v2.0/ports')).status).toBe(200);
      const missing = await h.call('GET', `/v2.0/subnets/${uuid()}`);
      expect(missing).toMatchObject({ status: 404, json: { NeutronError: { type: 'NotFound' } } });
      expect(await h.call('POST', '/v2.0/networks', {})).toMatchObject({
        status: 501,
        json: { NeutronError: { type: 'BadRequest', message: expect.stringMatching(/Neutron networks/) } },
      });
    });

    it('an error that is no fault of Octavia’s is a 500 saying so, without the error’s text', async () => {
      h.api.list = async () => {
        throw new Error('secret detail');
      };
      expect(await h.call('GET', '/v2/lbaas/pools')).toMatchObject({
        status: 500,
        json: { faultcode: 'Server', faultstring: 'An unknown exception occurred.', debuginfo: null },
      });
    });
  });

  describe('policy (the advanced roles)', () => {
    it('a member of another project gets 403 for the object and an empty list; a member may not fail over (admin only)', async () => {
      const a = setup('advanced');
      const lb = (
        await a.call(
          'POST',
          '/v2/lbaas/loadbalancers',
          { loadbalancer: { vip_subnet_id: SUBNET } },
          {},
          member,
        )
      ).json.loadbalancer;
      a.activate();
      expect((await a.call('GET', `/v2/lbaas/loadbalancers/${lb.id}`, undefined, {}, outsider)).status).toBe(
        403,
      );
      expect(
        (await a.call('GET', '/v2/lbaas/loadbalancers', undefined, {}, outsider)).json.loadbalancers,
      ).toEqual([]);
      expect(
        (await a.call('GET', '/v2/lbaas/loadbalancers', undefined, {}, member)).json.loadbalancers,
      ).toHaveLength(1);
      expect(
        (await a.call('GET', '/v2/lbaas/listeners', undefined, { loadbalancer_id: lb.id }, outsider)).json
          .listeners,
      ).toEqual([]);
      expect(
        await a.call('PUT', `/v2/lbaas/loadbalancers/${lb.id}/failover`, undefined, {}, member),
      ).toMatchObject({
        status: 403,
        json: { faultstring: 'Policy does not allow this request to be performed.' },
      });
      expect(
        (
          await a.call(
            'PUT',
            `/v2/lbaas/loadbalancers/${lb.id}`,
            { loadbalancer: { name: 'x' } },
            {},
            outsider,
          )
        ).status,
      ).toBe(403);
      expect(
        (await a.call('GET', '/v2/lbaas/loadbalancers', undefined, { project_id: PROJECT }, outsider)).status,
      ).toBe(403);
      // A marker of another project's object is no marker of this list.
      expect(
        (await a.call('GET', '/v2/lbaas/loadbalancers', undefined, { marker: lb.id }, outsider)).json
          .faultstring,
      ).toBe(`Supplied pagination marker '${lb.id}' is not valid.`);
    });
  });

  it('a record that changed in ERROR is not left pending: records of the later steps of one call are marked failed', async () => {
    const t = await fullTree(h);
    const record = h.store.recordRequest.bind(h.store);
    let n = 0;
    let failAt = 1;
    h.store.recordRequest = async (...args) => {
      n += 1;
      if (n === failAt) throw new Error('table unavailable');
      return record(...args);
    };
    // The store fails on a call's first record: nothing was recorded, a 500 that does not show the error.
    const before = h.store.records.size;
    expect(
      await h.call('POST', '/v2/lbaas/listeners', {
        listener: { loadbalancer_id: t.lb.id, protocol: 'HTTP', protocol_port: 82 },
      }),
    ).toMatchObject({ status: 500, json: { faultstring: 'An unknown exception occurred.' } });
    expect(h.store.records.size).toBe(before);
    // Then on the second request of a two-request plan (a pool on a listener: the pool, then the listener).
    failAt = 4;
    const listener = await h.call('POST', '/v2/lbaas/listeners', {
      listener: { loadbalancer_id: t.lb.id, protocol: 'HTTP', protocol_port: 81 },
    });
    expect(listener.status).toBe(201);
    h.activate();
    const res = await h.call('POST', '/v2/lbaas/pools', {
      pool: { listener_id: listener.json.listener.id, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN' },
    });
    // The caller gets Octavia's generic 500 (the store's words stay in the log and the objects' reason).
    expect(res).toMatchObject({ status: 500, json: { faultstring: 'An unknown exception occurred.' } });
    const pool = [...h.store.records.values()].find(
      (r): r is ResourceRecord => r.type === 'pool' && r.id !== t.pool.id,
    );
    expect(pool).toMatchObject({
      provisioningStatus: 'ERROR',
      statusReason: expect.stringMatching(
        /the rest of its API call could not be recorded: table unavailable/,
      ),
    });
  });
});
