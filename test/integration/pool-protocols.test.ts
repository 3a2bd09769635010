import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proxyV2Rule } from '../../functions/domain/proxy-protocol.js';
import { apiHarness, TEST_SUBNET } from '../support/api-harness.js';
import { lbIds, requests } from '../support/factories.js';
import { systemsClosedAfterEach } from '../support/system-harness.js';

const system = systemsClosedAfterEach();

describe('PROXYV2 pools and TRACE/CONNECT monitors on the simulated BIG-IP', () => {
  it('puts a PROXYV2 pool’s version 2 iRule on the device before its virtual runs it, a TRACE monitor’s request as written, and removes the iRule after the pool', async () => {
    const s = await system();
    const ids = lbIds();
    const lb = requests.createLoadbalancer(ids, { vip_address: '10.0.0.10' });
    const listener = requests.createListener(ids, { protocol: 'HTTP', protocol_port: 80 });
    const pool = requests.createPool(ids, { protocol: 'PROXYV2', listener_id: listener.object.id });
    const member = requests.createMember(ids, pool.object.id as string, {
      address: '10.0.1.5',
      protocol_port: 8080,
    });
    const hm = requests.createHealthMonitor(ids, pool.object.id as string, {
      http_method: 'TRACE',
      url_path: '/trace',
    });
    await s.submitAndSettle(lb, listener, pool, member, hm);
    expect(
      (await s.resources.loadRecords(ids.loadbalancerId)).map((r) => `${r.type}:${r.provisioningStatus}`),
    ).toEqual(expect.arrayContaining(['pool:ACTIVE', 'healthmonitor:ACTIVE', 'listener:ACTIVE']));
    const p = `Test_${ids.tenantId}`;
    const rule = `/${p}/Test_${pool.object.id}_proxy`;
    const dump = s.sim.dump();
    // The simulated device parsed and stored the iRule exactly as the translation wrote it.
    expect(dump['ltm/rule']).toEqual([
      expect.objectContaining({ fullPath: rule, apiAnonymous: proxyV2Rule(`/${p}/Test_${pool.object.id}`) }),
    ]);
    expect(dump['ltm/virtual']).toEqual([
      expect.objectContaining({
        rules: [rule],
        profiles: [
          expect.objectContaining({ name: '/Common/http' }),
          expect.objectContaining({ name: '/Common/tcp' }),
        ],
      }),
    ]);
    expect(dump['ltm/monitor/http']).toEqual([
      expect.objectContaining({ send: String.raw`TRACE /trace HTTP/1.0\r\n\r\n` }),
    ]);

    await s.submitAndSettle(requests.delete('pool', ids, pool.object.id as string));
    const after = s.sim.dump();
    expect(after['ltm/rule']).toBeUndefined();
    expect(after['ltm/virtual']).toEqual([
      expect.objectContaining({
        rules: [],
        profiles: expect.arrayContaining([expect.objectContaining({ name: '/Common/oneconnect' })]),
      }),
    ]);
  });
});

describe('PROXYV2 pools and TRACE/CONNECT monitors through the Octavia API', () => {
  let h: Awaited<ReturnType<typeof apiHarness>>;
  beforeAll(async () => {
    h = await apiHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('takes them where Octavia does (PROXYV2 behind TCP and HTTP listeners, never UDP) and shows them back', async () => {
    const lb = (
      await h.call('POST', '/v2/lbaas/loadbalancers', { loadbalancer: { vip_subnet_id: TEST_SUBNET } })
    ).body.loadbalancer as { id: string };
    await h.settle(lb.id);
    const listener = async (protocol: string, port: number) => {
      const res = await h.call('POST', '/v2/lbaas/listeners', {
        listener: { loadbalancer_id: lb.id, protocol, protocol_port: port },
      });
      await h.settle(lb.id);
      return (res.body.listener as { id: string }).id;
    };
    const udp = await listener('UDP', 53);
    const http = await listener('HTTP', 80);
    const pool = (body: Record<string, unknown>) =>
      h.call('POST', '/v2/lbaas/pools', {
        pool: { lb_algorithm: 'ROUND_ROBIN', protocol: 'PROXYV2', ...body },
      });
    expect((await pool({ listener_id: udp })).status).toBe(400);
    const created = await pool({ listener_id: http });
    expect(created.status).toBe(201);
    expect(created.body.pool).toMatchObject({ protocol: 'PROXYV2' });
    const poolId = (created.body.pool as { id: string }).id;
    await h.settle(lb.id);
    for (const method of ['CONNECT', 'TRACE']) {
      const res = await h.call('POST', '/v2/lbaas/healthmonitors', {
        healthmonitor: {
          pool_id: poolId,
          type: 'HTTP',
          delay: 5,
          timeout: 3,
          max_retries: 3,
          http_method: method,
        },
      });
      expect(res.status, method).toBe(201);
      expect(res.body.healthmonitor).toMatchObject({ http_method: method });
      await h.settle(lb.id);
      const id = (res.body.healthmonitor as { id: string }).id;
      expect((await h.call('DELETE', `/v2/lbaas/healthmonitors/${id}`)).status).toBe(204);
      await h.settle(lb.id);
    }
  });
});
