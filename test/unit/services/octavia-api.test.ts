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
  options: {
    placement?: LoadBalancerPlacement;
    queue?: RequestQueue;
    networks?: NetworkCatalog;
    /** Waits for changes; `whileWaiting` runs at each sleep (the agents' work in between). */
    settle?: { withinMs: number; whileWaiting: (sleeps: number) => void };
  } = {},
) {
  const store = new InMemoryResourceStore();
  let now = 1_000_000;
  const sleeps: number[] = [];
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
    clock: () => now,
    random: () => 0,
    newId: uuid,
    ...(options.settle
      ? {
          settle: {
            withinMs: options.settle.withinMs,
            pollMs: 100,
            sleep: async (ms: number) => {
              now += ms;
              sleeps.push(ms);
              options.settle?.whileWaiting(sleeps.length);
            },
          },
        }
      : {}),
  });
  return { api, store, sent, released, sleeps };
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

  describe('a write waiting for its change (settle)', () => {
    const applyAll = (store: InMemoryResourceStore) => {
      for (const r of store.records.values()) r.provisioningStatus = 'ACTIVE';
    };

    it('answers the object as the agents left it once they applied it, polling until then', async () => {
      let store!: InMemoryResourceStore;
      const s = setup({
        settle: { withinMs: 3_000, whileWaiting: (n) => n === 3 && applyAll(store) },
      });
      store = s.store;
      const res = await createLb(s.api);
      expect(res.status).toBe(201);
      expect(
        (res.body as { loadbalancer: { provisioning_status: string } }).loadbalancer.provisioning_status,
      ).toBe('ACTIVE');
      // Three polls of 100 ms each: the third found it applied, and nothing more was waited.
      expect(s.sleeps).toEqual([100, 100, 100]);
    });

    it('answers PENDING_* as recorded when the change takes longer than the wait, having waited no longer', async () => {
      const s = setup({ settle: { withinMs: 1_050, whileWaiting: () => undefined } });
      const res = await createLb(s.api);
      expect(
        (res.body as { loadbalancer: { provisioning_status: string } }).loadbalancer.provisioning_status,
      ).toBe('PENDING_CREATE');
      expect(s.sleeps.reduce((a, b) => a + b, 0)).toBe(1_050);
      expect(s.sleeps.at(-1)).toBe(50);
    });

    it('waits for a child change through its load balancer, and a delete until the object is gone', async () => {
      let store!: InMemoryResourceStore;
      let agents: (sleeps: number) => void = () => undefined;
      const s = setup({ settle: { withinMs: 3_000, whileWaiting: (n) => agents(n) } });
      store = s.store;
      agents = (n) => n === 1 && applyAll(store);
      const lb = ((await createLb(s.api)).body as { loadbalancer: { id: string } }).loadbalancer.id;
      s.sleeps.length = 0;
      agents = (n) => n === 3 && applyAll(store);
      const created = await s.api.create(
        'listener',
        admin,
        JSON.stringify({ listener: { loadbalancer_id: lb, protocol: 'TCP', protocol_port: 22 } }),
      );
      const listener = (created.body as { listener: { provisioning_status: string } }).listener;
      expect(listener.provisioning_status).toBe('ACTIVE');
      expect(s.sleeps).toHaveLength(3);
      // The agents remove a deleted load balancer's records: the answer comes once they are gone.
      s.sleeps.length = 0;
      agents = (n) => n === 2 && store.records.clear();
      const res = await s.api.remove('loadbalancer', admin, lb, { cascade: true });
      expect(res.status).toBe(204);
      expect(s.sleeps).toHaveLength(2);
    });

    it('does not wait at all without the setting (Octavia answers at once)', async () => {
      const s = setup();
      const res = await createLb(s.api);
      expect(
        (res.body as { loadbalancer: { provisioning_status: string } }).loadbalancer.provisioning_status,
      ).toBe('PENDING_CREATE');
      expect(s.sleeps).toEqual([]);
    });
  });
});
