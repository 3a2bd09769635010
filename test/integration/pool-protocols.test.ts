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

describe('a UDP pool’s tuned SOURCE_IP persistence on the simulated BIG-IP', () => {
  it('creates the pool’s own source-address profile before the virtual names it, follows a change, and removes it after the virtual lets go', async () => {
    const s = await system();
    const ids = lbIds();
    const lb = requests.createLoadbalancer(ids, { vip_address: '10.0.0.10' });
    const listener = requests.createListener(ids, { protocol: 'UDP', protocol_port: 53 });
    const pool = requests.createPool(ids, {
      protocol: 'UDP',
      listener_id: listener.object.id,
      session_persistence: {
        type: 'SOURCE_IP',
        persistence_timeout: 60,
        persistence_granularity: '255.255.255.0',
      },
    });
    await s.submitAndSettle(lb, listener, pool);
    const p = `Test_${ids.tenantId}`;
    const profile = `/${p}/Test_${pool.object.id}_source_addr`;
    expect(
      (await s.resources.loadRecords(ids.loadbalancerId)).every((r) => r.provisioningStatus === 'ACTIVE'),
    ).toBe(true);
    const owned = () =>
      (s.sim.dump()['ltm/persistence/source-addr'] as { fullPath: string }[] | undefined)?.filter(
        (o) => o.fullPath !== '/Common/source_addr',
      );
    expect(owned()).toEqual([
      expect.objectContaining({
        fullPath: profile,
        defaultsFrom: '/Common/source_addr',
        timeout: '60',
        mask: '255.255.255.0',
      }),
    ]);
    expect(s.sim.dump()['ltm/virtual']).toEqual([
      expect.objectContaining({ persist: [expect.objectContaining({ name: profile })] }),
    ]);

    // Someone changes the profile by hand, and a reconcile finds the drift and puts it back.
    const { reconciler } = s.reconciler();
    expect((await reconciler.run({ dryRun: true, orphans: 'report' })) as unknown).toMatchObject({
      loadbalancers: [{ outcome: 'in-sync' }],
    });
    s.sim.store.patch('ltm/persistence/source-addr', profile, { timeout: '999' });
    const repaired = await reconciler.run({ dryRun: false, orphans: 'report' });
    expect(repaired).toMatchObject({
      loadbalancers: [
        {
          drift: [{ action: 'change', kind: 'persistence-source-addr', path: profile, fields: ['timeout'] }],
        },
      ],
    });
    expect(owned()).toEqual([expect.objectContaining({ fullPath: profile, timeout: '60' })]);

    // Only the mask now: the timeout goes back to the built-in profile's 180 s.
    await s.submitAndSettle(
      requests.update('pool', ids, {
        id: pool.object.id,
        session_persistence: { type: 'SOURCE_IP', persistence_granularity: '255.255.0.0' },
      }),
    );
    expect(owned()).toEqual([
      expect.objectContaining({ fullPath: profile, timeout: '180', mask: '255.255.0.0' }),
    ]);

    // Untuned: the virtual names the built-in profile again, and ours is gone.
    await s.submitAndSettle(
      requests.update('pool', ids, { id: pool.object.id, session_persistence: { type: 'SOURCE_IP' } }),
    );
    expect(owned() ?? []).toEqual([]);
    expect(s.sim.dump()['ltm/virtual']).toEqual([
      expect.objectContaining({ persist: [expect.objectContaining({ name: '/Common/source_addr' })] }),
    ]);
    expect(
      (await s.resources.loadRecords(ids.loadbalancerId)).every((r) => r.provisioningStatus === 'ACTIVE'),
    ).toBe(true);
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

  it('takes persistence_timeout and persistence_granularity on UDP pools’ SOURCE_IP persistence only, and shows them back', async () => {
    const lb = (
      await h.call('POST', '/v2/lbaas/loadbalancers', { loadbalancer: { vip_subnet_id: TEST_SUBNET } })
    ).body.loadbalancer as { id: string };
    await h.settle(lb.id);
    const pool = (protocol: string, session_persistence: Record<string, unknown>) =>
      h.call('POST', '/v2/lbaas/pools', {
        pool: { loadbalancer_id: lb.id, lb_algorithm: 'ROUND_ROBIN', protocol, session_persistence },
      });
    const tuned = { type: 'SOURCE_IP', persistence_timeout: 120, persistence_granularity: '255.255.255.0' };
    expect((await pool('TCP', tuned)).status).toBe(400);
    expect((await pool('UDP', { ...tuned, persistence_granularity: '255.0.255.0' })).status).toBe(400);
    expect((await pool('UDP', { ...tuned, persistence_timeout: -1 })).status).toBe(400);
    const created = await pool('UDP', tuned);
    expect(created.status).toBe(201);
    expect(created.body.pool).toMatchObject({ session_persistence: { ...tuned, cookie_name: null } });
    const id = (created.body.pool as { id: string }).id;
    await h.settle(lb.id);
    const shown = await h.call('GET', `/v2/lbaas/pools/${id}`);
    expect(shown.body.pool).toMatchObject({ session_persistence: tuned });
    const untuned = await h.call('PUT', `/v2/lbaas/pools/${id}`, {
      pool: { session_persistence: { type: 'SOURCE_IP' } },
    });
    expect(untuned.status).toBe(200);
    expect(untuned.body.pool).toMatchObject({
      session_persistence: { type: 'SOURCE_IP', persistence_timeout: null, persistence_granularity: null },
    });
  });
});
