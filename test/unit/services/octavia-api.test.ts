import { describe, expect, it } from 'vitest';
import type { RequestEnvelope } from '../../../functions/domain/lbaas-request.js';
import type { NetworkCatalog } from '../../../functions/domain/networks.js';
import type { Caller } from '../../../functions/domain/octavia-policy.js';
import type { RecordGuard, RequestQueue } from '../../../functions/domain/ports.js';
import { refusal } from '../../../functions/domain/refusals.js';
import type { ResourceRecord } from '../../../functions/domain/resource-state.js';
import { type LoadBalancerPlacement, OctaviaApi } from '../../../functions/services/octavia-api.js';
import { uuid } from '../../support/factories.js';
import { InMemoryResourceStore } from '../../support/fakes/in-memory-resource-store.js';
import { StoreCatalog } from '../../support/fakes/store-catalog.js';
import { overlappingCatalog, SUBNET_A, SUBNET_B } from '../../support/network-fixtures.js';

const SUBNET = '22222222-2222-4222-8222-222222222222';
const PROJECT = '0123456789abcdef0123456789abcdef';
const admin: Caller = { noauth: true, projectId: PROJECT, roles: [] };

function setup(
  options: { placement?: LoadBalancerPlacement; queue?: RequestQueue; networks?: NetworkCatalog } = {},
) {
  const store = new InMemoryResourceStore();
  const sent: RequestEnvelope[] = [];
  const released: string[] = [];
  const placement: LoadBalancerPlacement = options.placement ?? {
    place: async (request) => ({
      kind: 'placed',
      release: async () => void released.push(request.loadbalancerId),
    }),
  };
  const api = new OctaviaApi({
    env: 'Test',
    policy: 'noauth',
    networks: options.networks ?? {
      networks: [{ id: uuid(), name: 'n', subnets: [{ id: SUBNET, name: 's', cidr: '10.0.0.0/29' }] }],
    },
    resources: store,
    catalog: new StoreCatalog(store),
    statistics: { loadStatistics: async () => [] },
    queue: options.queue ?? { send: async (messages) => void sent.push(...messages) },
    placement,
    clock: () => 1_000_000,
    random: () => 0,
    newId: uuid,
  });
  return { api, store, sent, released };
}

const createLb = (api: OctaviaApi, extra: Record<string, unknown> = {}) =>
  api.create('loadbalancer', admin, JSON.stringify({ loadbalancer: { vip_subnet_id: SUBNET, ...extra } }));

describe('OctaviaApi (in-memory ports)', () => {
  it('plans a guarded write again when the load balancer changed between its read and its record', async () => {
    const { api, store, sent } = setup();
    const lb = ((await createLb(api)).body as { loadbalancer: { id: string } }).loadbalancer.id;
    for (const r of store.records.values()) r.provisioningStatus = 'ACTIVE';
    sent.length = 0;
    // Another writer records a change right after the API read the tree, once.
    const record = store.recordRequest.bind(store);
    let raced = false;
    store.recordRequest = async (request, env, nowMs, guard?: RecordGuard) => {
      if (guard && !raced) {
        raced = true;
        (store.get(lb, 'loadbalancer', lb) as ResourceRecord).revision += 1;
      }
      return record(request, env, nowMs, guard);
    };
    const res = await api.create(
      'listener',
      admin,
      JSON.stringify({ listener: { loadbalancer_id: lb, protocol: 'TCP', protocol_port: 22 } }),
    );
    expect(raced).toBe(true);
    expect(res.status).toBe(201);
    expect(sent.map((m) => m.resource)).toEqual(['listener']);
  });

  it('refuses a load balancer the placement refuses (capacity) with 409, and records nothing', async () => {
    const { api, store, sent } = setup({
      placement: {
        place: async () => ({
          kind: 'refused',
          refusal: refusal('environment-at-capacity', 'no device group has room for a new load balancer'),
        }),
      },
    });
    await expect(createLb(api)).rejects.toMatchObject({ status: 409, message: /no device group has room/ });
    expect(store.records.size).toBe(0);
    expect(store.claims.size).toBe(0);
    expect(sent).toEqual([]);
  });

  it('answers 503 when no agent can place a load balancer, and records nothing', async () => {
    const { api, store } = setup({
      placement: {
        place: async () => ({ kind: 'waiting', reason: 'no active agent in environment Test' }),
      },
    });
    await expect(createLb(api)).rejects.toMatchObject({ status: 503 });
    expect(store.records.size).toBe(0);
  });

  it('lets go of the placement when the record is refused (a VIP another load balancer holds)', async () => {
    const { api, released } = setup();
    const first = ((await createLb(api)).body as { loadbalancer: { vip_address: string } }).loadbalancer;
    await expect(createLb(api, { vip_address: first.vip_address })).rejects.toMatchObject({ status: 409 });
    expect(released).toHaveLength(1);
  });

  it('puts what it recorded in ERROR, saying why, when the queue refuses the messages (503)', async () => {
    const { api, store } = setup({
      queue: {
        send: async () => {
          throw new Error('queue unavailable');
        },
      },
    });
    const refused = createLb(api);
    await expect(refused).rejects.toMatchObject({
      status: 503,
      message: 'The request was recorded but could not be queued; the objects are in ERROR.',
      // The queue's own words reach the log (the fault's cause), not the caller.
      cause: { message: 'queue unavailable' },
    });
    const [record] = [...store.records.values()];
    expect(record).toMatchObject({
      provisioningStatus: 'ERROR',
      statusReason: expect.stringMatching(/queue unavailable/),
    });
  });

  it('names what it could not put in ERROR when the store fails too after the queue refused (it would stay PENDING)', async () => {
    const { api, store } = setup({
      queue: {
        send: async () => {
          throw new Error('queue unavailable');
        },
      },
    });
    store.markError = async () => {
      throw new Error('table unavailable');
    };
    const error = await createLb(api).then(
      () => undefined,
      (e: Error) => e,
    );
    const [record] = [...store.records.values()];
    expect(record?.provisioningStatus).toBe('PENDING_CREATE');
    expect(error).toMatchObject({
      status: 503,
      message: `The request was recorded but could not be queued; Load Balancer ${record?.id} could not be put in ERROR and may stay PENDING until an operator repairs it.`,
    });
  });

  it('allocates VIPs from the subnet until it is full, then answers 409', async () => {
    const { api } = setup();
    const vips = new Set<string>();
    // A /29: six addresses, of which five usable (network, gateway and broadcast excluded).
    for (let i = 0; i < 5; i++)
      vips.add(
        ((await createLb(api)).body as { loadbalancer: { vip_address: string } }).loadbalancer.vip_address,
      );
    expect([...vips].sort()).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
    await expect(createLb(api)).rejects.toMatchObject({ status: 409, message: /No free address/ });
  });
  it("answers Octavia's 501 for provider capabilities (no flavors or availability zones here), after the admin check", () => {
    const { api } = setup();
    expect(() => api.providerCapabilities(admin, 'bigip', 'flavor')).toThrow(
      expect.objectContaining({
        status: 501,
        message: expect.stringMatching(/requested action: .*flavor metadata/),
      }),
    );
    expect(() => api.providerCapabilities(admin, 'bigip', 'availability_zone')).toThrow(
      expect.objectContaining({ status: 501 }),
    );
  });
});

describe('OctaviaApi and overlapping networks', () => {
  const lbOn = (api: OctaviaApi, subnet: string, extra: Record<string, unknown> = {}) =>
    api.create('loadbalancer', admin, JSON.stringify({ loadbalancer: { vip_subnet_id: subnet, ...extra } }));

  it('gives two networks the same VIP address, refuses it twice on one (409), and never allocates a self IP', async () => {
    const { api, store } = setup({ networks: overlappingCatalog });
    expect((await lbOn(api, SUBNET_A, { vip_address: '10.0.0.10' })).status).toBe(201);
    expect((await lbOn(api, SUBNET_B, { vip_address: '10.0.0.10' })).status).toBe(201);
    await expect(lbOn(api, SUBNET_A, { vip_address: '10.0.0.10' })).rejects.toMatchObject({ status: 409 });
    await expect(lbOn(api, SUBNET_A, { vip_address: '10.0.0.251' })).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('is a self IP or SNAT address'),
    });
    const stored = [...store.records.values()].map(
      (r) => (r.desired as { vip_route_domain?: number }).vip_route_domain,
    );
    expect(stored.sort()).toEqual([2, 3]);
  });

  it('answers 400 with the reason for a member outside its subnet', async () => {
    const { api, store } = setup({ networks: overlappingCatalog });
    const lb = ((await lbOn(api, SUBNET_A)).body as { loadbalancer: { id: string } }).loadbalancer.id;
    for (const r of store.records.values()) r.provisioningStatus = 'ACTIVE';
    const pool = (
      (
        await api.create(
          'pool',
          admin,
          JSON.stringify({ pool: { loadbalancer_id: lb, protocol: 'TCP', lb_algorithm: 'ROUND_ROBIN' } }),
        )
      ).body as { pool: { id: string } }
    ).pool.id;
    for (const r of store.records.values()) r.provisioningStatus = 'ACTIVE';
    await expect(
      api.create(
        'member',
        admin,
        JSON.stringify({ member: { address: '172.16.0.5', protocol_port: 80, subnet_id: SUBNET_A } }),
        pool,
      ),
    ).rejects.toMatchObject({ status: 400, message: expect.stringContaining('172.16.0.5 is not in subnet') });
  });
});
