import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiHarness, TEST_SUBNET } from '../support/api-harness.js';
import { uuid } from '../support/factories.js';

/**
 * Each refusal the API answers synchronously, with Octavia's code and fault shape, and each time
 * nothing was queued and nothing recorded (the request never reaches an agent, so a client is
 * never told 202 for something that would be refused later).
 */
describe('Octavia API: synchronous refusals queue nothing', () => {
  let h: Awaited<ReturnType<typeof apiHarness>>;
  let lb: string;
  let listener: string;
  let pool: string;
  let vip: string;

  beforeAll(async () => {
    h = await apiHarness();
    const created = await h.call('POST', '/v2/lbaas/loadbalancers', {
      loadbalancer: {
        name: 'base',
        vip_subnet_id: TEST_SUBNET,
        listeners: [{ protocol: 'HTTP', protocol_port: 80, name: 'l80', default_pool: { name: 'p1' } }],
        pools: [
          {
            name: 'p1',
            protocol: 'HTTP',
            lb_algorithm: 'ROUND_ROBIN',
            members: [{ address: '10.0.1.5', protocol_port: 8080 }],
          },
        ],
      },
    });
    expect(created.status).toBe(201);
    const body = created.body.loadbalancer as Record<string, unknown>;
    lb = body.id as string;
    vip = body.vip_address as string;
    listener = (body.listeners as { id: string }[])[0]?.id as string;
    pool = (body.pools as { id: string }[])[0]?.id as string;
    expect(await h.queued()).toHaveLength(4);
    await h.settle(lb);
  });
  afterAll(async () => {
    await h?.stop();
  });

  /** Calls, expects the refusal, and checks the queue got nothing and the tree did not change. */
  async function refused(method: string, path: string, body: unknown, status: number, message?: RegExp) {
    const before = await h.records(lb);
    const res = await h.call(method, path, body);
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body).toEqual({
      faultcode: status >= 500 ? 'Server' : 'Client',
      faultstring: expect.any(String),
      debuginfo: null,
    });
    if (message) expect(res.body.faultstring).toMatch(message);
    expect(await h.queued()).toEqual([]);
    const after = await h.records(lb);
    expect(after.map((r) => [r.id, r.revision, r.provisioningStatus]).sort()).toEqual(
      before.map((r) => [r.id, r.revision, r.provisioningStatus]).sort(),
    );
  }

  it('400: invalid input (an unknown attribute, a bad value, an unknown subnet)', async () => {
    await refused(
      'POST',
      '/v2/lbaas/listeners',
      { listener: { loadbalancer_id: lb, protocol: 'HTTP', protocol_port: 81, bogus: true } },
      400,
      /Unknown attribute/,
    );
    await refused(
      'POST',
      '/v2/lbaas/listeners',
      { listener: { loadbalancer_id: lb, protocol: 'HTTP', protocol_port: 0 } },
      400,
      /protocol_port/,
    );
    await refused(
      'POST',
      `/v2/lbaas/pools/${pool}/members`,
      { member: { address: '10.0.1.9', protocol_port: 80, subnet_id: uuid() } },
      400,
      /Subnet .* not found/,
    );
    await refused(
      'POST',
      '/v2/lbaas/loadbalancers',
      { loadbalancer: { vip_subnet_id: uuid() } },
      400,
      /Subnet .* not found/,
    );
    await refused('POST', '/v2/lbaas/loadbalancers', '{not json', 400);
  });

  it('400: a load balancer with children deleted without cascade', async () => {
    await refused('DELETE', `/v2/lbaas/loadbalancers/${lb}`, undefined, 400, /it has children/);
  });

  it('404: an unknown object, and one named under the wrong parent', async () => {
    await refused('GET', `/v2/lbaas/listeners/${uuid()}`, undefined, 404, /Listener .* not found/);
    await refused(
      'POST',
      '/v2/lbaas/listeners',
      { listener: { loadbalancer_id: uuid(), protocol: 'HTTP', protocol_port: 81 } },
      404,
      /Load Balancer .* not found/,
    );
    const [member] = (await h.records(lb)).filter((r) => r.type === 'member');
    await refused(
      'DELETE',
      `/v2/lbaas/pools/${uuid()}/members/${member?.id}`,
      undefined,
      404,
      /Member .* not found/,
    );
  });

  it('409: a duplicate listener port', async () => {
    await refused(
      'POST',
      '/v2/lbaas/listeners',
      { listener: { loadbalancer_id: lb, protocol: 'TCP', protocol_port: 80 } },
      409,
      /already using protocol HTTP and protocol_port 80/,
    );
  });

  it('409: a duplicate member address and port', async () => {
    await refused(
      'POST',
      `/v2/lbaas/pools/${pool}/members`,
      { member: { address: '10.0.1.5', protocol_port: 8080 } },
      409,
      /already using ip 10\.0\.1\.5 on protocol_port 8080/,
    );
  });

  it('409: a VIP address another load balancer holds, and another load balancer’s VIP port', async () => {
    const lbs = (await h.call('GET', `/v2/lbaas/loadbalancers/${lb}`)).body.loadbalancer as {
      vip_port_id: string;
    };
    const before = (await h.call('GET', '/v2/lbaas/loadbalancers')).body.loadbalancers as unknown[];
    for (const [body, message] of [
      [
        { loadbalancer: { vip_subnet_id: TEST_SUBNET, vip_address: vip } },
        /VIP .* is already used by loadbalancer/,
      ],
      [{ loadbalancer: { vip_subnet_id: TEST_SUBNET, vip_port_id: lbs.vip_port_id } }, /already in use/],
    ] as const) {
      const res = await h.call('POST', '/v2/lbaas/loadbalancers', body);
      expect(res.status).toBe(409);
      expect(res.body.faultstring).toMatch(message);
      expect(await h.queued()).toEqual([]);
    }
    // Nothing recorded either: the same load balancers as before.
    expect((await h.call('GET', '/v2/lbaas/loadbalancers')).body.loadbalancers).toHaveLength(before.length);
  });

  it('409: anything while the load balancer is PENDING_* (Octavia’s immutability rule), and a member while its pool is', async () => {
    expect((await h.call('PUT', `/v2/lbaas/listeners/${listener}`, { listener: { name: 'x' } })).status).toBe(
      200,
    );
    expect(await h.queued()).toHaveLength(1);
    await refused('PUT', `/v2/lbaas/listeners/${listener}`, { listener: { name: 'y' } }, 409, /immutable/);
    await refused(
      'POST',
      `/v2/lbaas/pools/${pool}/members`,
      { member: { address: '10.0.1.6', protocol_port: 80 } },
      409,
      /immutable/,
    );
    await refused('PUT', `/v2/lbaas/pools/${pool}/members`, { members: [] }, 409, /immutable/);
    await refused('DELETE', `/v2/lbaas/loadbalancers/${lb}?cascade=true`, undefined, 409, /immutable/);
    await h.settle(lb);
  });

  it('409: a load balancer the environment has no capacity for (decided before answering)', async () => {
    const full = await apiHarness({
      hosts: ['agent-1'],
      groups: [{ name: 'default', hosts: ['agent-1'], limits: { maxLoadBalancers: 1 } }],
    });
    try {
      expect(
        (await full.call('POST', '/v2/lbaas/loadbalancers', { loadbalancer: { vip_subnet_id: TEST_SUBNET } }))
          .status,
      ).toBe(201);
      expect(await full.queued()).toHaveLength(1);
      const res = await full.call('POST', '/v2/lbaas/loadbalancers', {
        loadbalancer: { vip_subnet_id: TEST_SUBNET },
      });
      expect(res.status).toBe(409);
      expect(res.body.faultstring).toMatch(/capacity|full/i);
      expect(await full.queued()).toEqual([]);
      expect((await full.call('GET', '/v2/lbaas/loadbalancers')).body.loadbalancers).toHaveLength(1);
    } finally {
      await full.stop();
    }
  });

  it('501: an option this provider does not implement, named in the fault', async () => {
    await refused(
      'POST',
      '/v2/lbaas/listeners',
      { listener: { loadbalancer_id: lb, protocol: 'SCTP', protocol_port: 53 } },
      501,
      /does not support a requested option: protocol SCTP/,
    );
    await refused(
      'PUT',
      `/v2/lbaas/listeners/${listener}`,
      { listener: { timeout_client_data: 1000, timeout_member_data: 2000 } },
      501,
      /timeout_client_data different from timeout_member_data/,
    );
    await refused(
      'POST',
      '/v2/lbaas/pools',
      {
        pool: { loadbalancer_id: lb, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN', alpn_protocols: ['h2'] },
      },
      501,
      /alpn_protocols/,
    );
    await refused('GET', '/v2/octavia/amphorae', undefined, 501, /amphorae/);
  });

  it('503: no agent is active to place a new load balancer (nothing recorded, the client may retry)', async () => {
    const empty = await apiHarness({ hosts: [] });
    try {
      const res = await empty.call('POST', '/v2/lbaas/loadbalancers', {
        loadbalancer: { vip_subnet_id: TEST_SUBNET },
      });
      expect(res.status).toBe(503);
      expect(await empty.queued()).toEqual([]);
      expect((await empty.call('GET', '/v2/lbaas/loadbalancers')).body.loadbalancers).toEqual([]);
    } finally {
      await empty.stop();
    }
  });
});
