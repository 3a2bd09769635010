import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { programTools } from '../../local/bigip-simulator/monitor-probes.js';
import { freePort } from '../../local/free-port.js';
import type { LocalStack } from '../../local/local-stack.js';
import { type LbIds, lbIds, requests } from '../support/factories.js';
import { backend, curl, headerEcho, httpsGet, request } from '../support/http-backends.js';
import { eventually, testStack } from '../support/local-stack-fixture.js';

let stack: LocalStack;
const stops: (() => Promise<void>)[] = [];
beforeAll(async () => {
  stack = await testStack({ healthIntervalMs: 500 });
});
afterAll(async () => {
  for (const s of stops) await s();
  await stack?.stop();
});

/** Submits requests and waits until each one took effect on the load balancer. */
async function deploy(ids: LbIds, messages: Parameters<LocalStack['client']['submitMany']>[0]) {
  const submitted = await stack.client.submitMany(messages);
  await stack.client.wait(ids.loadbalancerId, { requests: submitted, timeoutMs: 30_000 });
}

/** A member that is a server on this machine's loopback. */
const loopbackMember = (ids: LbIds, poolId: string, port: number) =>
  requests.createMember(ids, poolId, { address: '127.0.0.1', protocol_port: port });

/** The operating status recorded for one of a load balancer's members. */
const memberStatusOf = async (ids: LbIds, member: { object: Record<string, unknown> } | undefined) =>
  (await stack.client.records(ids.loadbalancerId)).find((r) => r.id === member?.object.id)?.operatingStatus;

describe('the sandbox balances real traffic and reports real health (the sandbox walkthrough of docs/operator-guide.md)', () => {
  it('alternates between two servers, marks a stopped one ERROR and the pool DEGRADED, sends all traffic to the other, and counts it', async () => {
    const [one, two] = [await backend('one'), await backend('two')];
    stops.push(one.stop, two.stop);
    const vip = '127.0.0.3';
    const port = await freePort();
    const ids = lbIds();
    const listener = requests.createListener(ids, { protocol: 'HTTP', protocol_port: port });
    const pool = requests.createPool(ids, { listener_id: listener.object.id, lb_algorithm: 'ROUND_ROBIN' });
    const poolId = pool.object.id as string;
    const members = [one, two].map((b) => loopbackMember(ids, poolId, b.port));
    const monitor = requests.createHealthMonitor(ids, poolId, {
      type: 'HTTP',
      delay: 1,
      timeout: 1,
      max_retries: 1,
      url_path: '/',
      expected_codes: '200',
    });
    await deploy(ids, [
      requests.createLoadbalancer(ids, { vip_address: vip }),
      listener,
      pool,
      ...members,
      monitor,
    ]);

    const memberStatus = (i: number) => memberStatusOf(ids, members[i]);
    await eventually(
      async () => (await memberStatus(0)) === 'ONLINE' && (await memberStatus(1)) === 'ONLINE',
      'both members ONLINE',
    );
    // Both answer, in turn.
    const answers = await eventually(async () => {
      const a = [await curl(vip, port), await curl(vip, port)];
      return [...a].sort().join() === 'one,two' ? a : undefined;
    }, 'round robin over both servers');
    expect(answers).toHaveLength(2);

    await one.stop();
    await eventually(async () => (await memberStatus(0)) === 'ERROR', 'the stopped server ERROR', 30_000);
    const tree = await stack.client.status(ids.loadbalancerId);
    type Node = NonNullable<typeof tree>;
    const find = (n: Node, type: string): Node | undefined =>
      n.type === type ? n : n.children.map((c) => find(c, type)).find(Boolean);
    expect(tree && find(tree, 'pool')?.operatingStatus).toBe('DEGRADED');
    expect(tree && find(tree, 'listener')?.operatingStatus).toBe('DEGRADED');
    expect(tree?.operatingStatus).toBe('DEGRADED');
    for (let i = 0; i < 4; i++) expect(await curl(vip, port)).toBe('two');

    const stats = await eventually(async () => {
      await stack.pollHealth();
      const s = await stack.client.stats(ids.loadbalancerId);
      return s && s.stats.total_connections >= 6 ? s : undefined;
    }, 'statistics counted');
    expect(stats.stats.bytes_in).toBeGreaterThan(0);
    expect(stats.stats.bytes_out).toBeGreaterThan(stats.stats.bytes_in);
    expect(stats.listeners.map((l) => l.listenerId)).toEqual([listener.object.id]);
  }, 120_000);

  it('routes, redirects and rejects HTTP requests by L7 policy, first match first', async () => {
    const [web, api] = [await backend('web'), await backend('api')];
    stops.push(web.stop, api.stop);
    const vip = '127.0.0.4';
    const port = await freePort();
    const ids = lbIds();
    const webPool = requests.createPool(ids, { name: 'web' });
    const apiPool = requests.createPool(ids, { name: 'api' });
    const listener = requests.createListener(ids, {
      protocol_port: port,
      default_pool_id: webPool.object.id,
    });
    const toApi = requests.createL7Policy(ids, listener.object.id as string, {
      action: 'REDIRECT_TO_POOL',
      redirect_pool_id: apiPool.object.id,
    });
    const moved = requests.createL7Policy(ids, listener.object.id as string, {
      action: 'REDIRECT_PREFIX',
      redirect_prefix: 'https://new.example.com',
      redirect_http_code: 301,
    });
    const blocked = requests.createL7Policy(ids, listener.object.id as string, {
      action: 'REJECT',
      position: 1,
    });
    await deploy(ids, [
      requests.createLoadbalancer(ids, { vip_address: vip }),
      webPool,
      apiPool,
      listener,
      loopbackMember(ids, webPool.object.id as string, web.port),
      loopbackMember(ids, apiPool.object.id as string, api.port),
      toApi,
      requests.createL7Rule(ids, toApi.object.id as string, {
        type: 'PATH',
        compare_type: 'STARTS_WITH',
        value: '/api',
      }),
      moved,
      requests.createL7Rule(ids, moved.object.id as string, {
        type: 'HOST_NAME',
        compare_type: 'EQUAL_TO',
        value: 'old.example.com',
      }),
      blocked,
      requests.createL7Rule(ids, blocked.object.id as string, {
        type: 'HEADER',
        key: 'X-Block',
        compare_type: 'EQUAL_TO',
        value: 'yes',
      }),
    ]);
    const records = await stack.client.records(ids.loadbalancerId);
    expect(records.every((r) => r.provisioningStatus === 'ACTIVE')).toBe(true);

    await eventually(async () => (await curl(vip, port)) === 'web', 'the default pool answers');
    expect(await request(vip, port, '/api/v1/items')).toMatchObject({ status: 200, body: 'api' });
    // Paths compare with case, as in Octavia; host names without (below).
    expect(await request(vip, port, '/API/v1/items')).toMatchObject({ status: 200, body: 'web' });
    expect(await request(vip, port, '/shop')).toMatchObject({ status: 200, body: 'web' });
    expect(await request(vip, port, '/shop?x=1', { host: 'OLD.example.com' })).toMatchObject({
      status: 301,
      location: 'https://new.example.com/shop?x=1',
    });
    // REJECT comes first (position 1) and resets the connection, as F5's agent did.
    expect(await request(vip, port, '/api/v1/items', { 'x-block': 'yes' })).toBe('ECONNRESET');
  });

  it('routes by REGEX L7 rules (the listener’s iRule, in Octavia’s order) and refuses clients outside allowed_cidrs', async () => {
    const [web, api, img] = [await backend('web'), await backend('api'), await backend('img')];
    stops.push(web.stop, api.stop, img.stop);
    const vip = '127.0.0.8';
    const port = await freePort();
    const ids = lbIds();
    const pools = ['web', 'api', 'img'].map((name) => requests.createPool(ids, { name }));
    const [webPool, apiPool, imgPool] = pools as [(typeof pools)[0], (typeof pools)[0], (typeof pools)[0]];
    const listener = requests.createListener(ids, {
      protocol_port: port,
      default_pool_id: webPool.object.id,
      // Only clients from 127.0.0.0/30 (127.0.0.1-3): the sandbox's clients pick their loopback address.
      allowed_cidrs: ['127.0.0.0/30'],
    });
    const lid = listener.object.id as string;
    const toApi = requests.createL7Policy(ids, lid, {
      action: 'REDIRECT_TO_POOL',
      redirect_pool_id: apiPool.object.id,
    });
    const toImg = requests.createL7Policy(ids, lid, {
      action: 'REDIRECT_TO_POOL',
      redirect_pool_id: imgPool.object.id,
    });
    const blocked = requests.createL7Policy(ids, lid, { action: 'REJECT', position: 1 });
    await deploy(ids, [
      requests.createLoadbalancer(ids, { vip_address: vip }),
      ...pools,
      listener,
      loopbackMember(ids, webPool.object.id as string, web.port),
      loopbackMember(ids, apiPool.object.id as string, api.port),
      loopbackMember(ids, imgPool.object.id as string, img.port),
      toApi,
      // A REGEX and a plain rule in one policy: both must match.
      requests.createL7Rule(ids, toApi.object.id as string, {
        type: 'PATH',
        compare_type: 'REGEX',
        value: '^/api/v[0-9]+/',
      }),
      requests.createL7Rule(ids, toApi.object.id as string, {
        type: 'HOST_NAME',
        compare_type: 'ENDS_WITH',
        value: '.example.com',
      }),
      toImg,
      requests.createL7Rule(ids, toImg.object.id as string, {
        type: 'PATH',
        compare_type: 'REGEX',
        value: '\\.(png|jpe?g)$',
      }),
      blocked,
      requests.createL7Rule(ids, blocked.object.id as string, {
        type: 'HEADER',
        key: 'X-Block',
        compare_type: 'REGEX',
        value: '^(yes|1)$',
      }),
    ]);
    const records = await stack.client.records(ids.loadbalancerId);
    expect(records.every((r) => r.provisioningStatus === 'ACTIVE')).toBe(true);

    const get = (path: string, headers: Record<string, string> = {}, from = '127.0.0.1') =>
      request(vip, port, path, { host: 'shop.example.com', ...headers }, from);
    await eventually(async () => (await get('/')) !== 'ECONNREFUSED', 'the listener answers');
    expect(await get('/api/v2/items')).toMatchObject({ status: 200, body: 'api' });
    expect(await get('/api/vX/items')).toMatchObject({ status: 200, body: 'web' });
    expect(await get('/api/v2/items', { host: 'shop.example.org' })).toMatchObject({
      status: 200,
      body: 'web',
    });
    expect(await get('/logo.jpeg')).toMatchObject({ status: 200, body: 'img' });
    expect(await get('/logo.jpegs')).toMatchObject({ status: 200, body: 'web' });
    // The REJECT policy is first (position 1): it takes even an image request.
    expect(await get('/logo.png', { 'x-block': '1' })).toBe('ECONNRESET');
    // allowed_cidrs: 127.0.0.3 is inside 127.0.0.0/30, 127.0.0.5 is not: reset when accepted.
    expect(await get('/api/v2/items', {}, '127.0.0.3')).toMatchObject({ status: 200, body: 'api' });
    expect(await get('/api/v2/items', {}, '127.0.0.5')).toBe('ECONNRESET');
    // Opening the listener to everyone takes its CIDR iRule away.
    await deploy(ids, [requests.update('listener', ids, { id: lid, allowed_cidrs: [] })]);
    await eventually(async () => {
      const r = await get('/', {}, '127.0.0.5');
      return typeof r === 'object' && r.body === 'web';
    }, 'a client outside the old list is let in');
  });

  it('resets a connection left idle for the listener’s idle timeout (timeout_client_data/member_data)', async () => {
    const web = await backend('web');
    stops.push(web.stop);
    const vip = '127.0.0.9';
    const port = await freePort();
    const ids = lbIds();
    const listener = requests.createListener(ids, {
      protocol: 'TCP',
      protocol_port: port,
      idle_timeout_ms: 1000,
    });
    const pool = requests.createPool(ids, { protocol: 'TCP', listener_id: listener.object.id });
    await deploy(ids, [
      requests.createLoadbalancer(ids, { vip_address: vip }),
      listener,
      pool,
      loopbackMember(ids, pool.object.id as string, web.port),
    ]);
    await eventually(async () => (await curl(vip, port)) === 'web', 'the listener answers');
    // Idle: connected, nothing sent. The member (a Node server) would wait a minute for a request,
    // longer than this test may run: only the listener's 1 s idle timeout ends it in time.
    const idle = net.connect({ host: vip, port });
    const ended = await new Promise<string>((resolve) => {
      idle.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      idle.on('close', () => resolve('closed'));
    });
    expect(['ECONNRESET', 'closed']).toContain(ended);
  });

  it('terminates TLS with the certificate SNI asks for, verified against its CA, and routes by L7 policy behind it', async () => {
    const [web, api] = [await backend('web'), await backend('api')];
    stops.push(web.stop, api.stop);
    const tlsFixture = (f: string) =>
      readFileSync(join(import.meta.dirname, '..', 'fixtures', 'tls', f), 'utf8');
    const ids = lbIds();
    const ref = (site: string) => `lbaas/${stack.env}/${ids.tenantId}/${site}`;
    for (const site of ['www', 'a', 'b'])
      await stack.certificates.put(ref(site), {
        certificate: tlsFixture(`${site}.example.com.pem`),
        private_key: tlsFixture(`${site}.example.com.key`),
      });
    const vip = '127.0.0.5';
    const port = await freePort();
    const webPool = requests.createPool(ids, { name: 'web' });
    const apiPool = requests.createPool(ids, { name: 'api' });
    const listener = requests.createListener(ids, {
      protocol: 'TERMINATED_HTTPS',
      protocol_port: port,
      default_pool_id: webPool.object.id,
      default_tls_container_ref: ref('www'),
      sni_container_refs: [ref('a'), ref('b')],
    });
    const toApi = requests.createL7Policy(ids, listener.object.id as string, {
      action: 'REDIRECT_TO_POOL',
      redirect_pool_id: apiPool.object.id,
    });
    await deploy(ids, [
      requests.createLoadbalancer(ids, { vip_address: vip }),
      webPool,
      apiPool,
      loopbackMember(ids, webPool.object.id as string, web.port),
      loopbackMember(ids, apiPool.object.id as string, api.port),
      listener,
      toApi,
      requests.createL7Rule(ids, toApi.object.id as string, {
        type: 'PATH',
        compare_type: 'STARTS_WITH',
        value: '/api',
      }),
    ]);
    expect(
      (await stack.client.records(ids.loadbalancerId)).every((r) => r.provisioningStatus === 'ACTIVE'),
    ).toBe(true);

    const ca = tlsFixture('sites-ca.pem');
    const get = (path: string, servername?: string) =>
      httpsGet(vip, port, path, { ca, ...(servername ? { servername } : {}) });
    await eventually(async () => typeof (await get('/')) === 'object', 'the TLS listener answers');
    expect(await get('/', 'a.example.com')).toEqual({ cn: 'a.example.com', body: 'web' });
    expect(await get('/api/x', 'b.example.com')).toEqual({ cn: 'b.example.com', body: 'api' });
    // No server name, or one no SNI certificate serves: the default certificate.
    expect(await get('/')).toEqual({ cn: 'www.example.com', body: 'web' });
    expect(await get('/', 'other.example.com')).toEqual({ cn: 'www.example.com', body: 'web' });
  });

  it('inserts X-Forwarded-For, -Port and -Proto on an HTTP listener (Octavia insert_headers)', async () => {
    const echo = await headerEcho();
    stops.push(echo.stop);
    const vip = '127.0.0.6';
    const port = await freePort();
    const ids = lbIds();
    const pool = requests.createPool(ids);
    const listener = requests.createListener(ids, {
      protocol_port: port,
      default_pool_id: pool.object.id,
      insert_headers: { 'X-Forwarded-For': 'true', 'X-Forwarded-Port': 'true', 'X-Forwarded-Proto': 'true' },
    });
    await deploy(ids, [
      requests.createLoadbalancer(ids, { vip_address: vip }),
      pool,
      loopbackMember(ids, pool.object.id as string, echo.port),
      listener,
    ]);
    const answer = await eventually(async () => {
      const r = await request(vip, port, '/');
      return typeof r === 'object' && r.status === 200 ? r : undefined;
    }, 'the listener answers');
    expect(JSON.parse(answer.body)).toEqual({
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-port': String(port),
      'x-forwarded-proto': 'http',
    });
  });

  it.skipIf(!programTools())(
    'checks members with a TLS-HELLO monitor: a TLS server ONLINE, a plain TCP one ERROR (needs sh, openssl, timeout)',
    async () => {
      const tlsFixture = (f: string) =>
        readFileSync(join(import.meta.dirname, '..', 'fixtures', 'tls', f), 'utf8');
      const secure = tls.createServer(
        { key: tlsFixture('a.example.com.key'), cert: tlsFixture('a.example.com.pem') },
        (socket) => socket.end(),
      );
      const plain = net.createServer((socket) => socket.destroy());
      for (const server of [secure, plain]) {
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
        stops.push(() => new Promise<void>((r) => server.close(() => r())));
      }
      const ports = [secure, plain].map((s) => (s.address() as net.AddressInfo).port);
      const ids = lbIds();
      const pool = requests.createPool(ids, { protocol: 'HTTPS', lb_algorithm: 'ROUND_ROBIN' });
      const poolId = pool.object.id as string;
      const members = ports.map((port) => loopbackMember(ids, poolId, port));
      const monitor = requests.createHealthMonitor(ids, poolId, {
        type: 'TLS-HELLO',
        delay: 1,
        timeout: 1,
        max_retries: 1,
      });
      for (const f of ['http_method', 'url_path', 'expected_codes']) delete monitor.object[f];
      await deploy(ids, [
        requests.createLoadbalancer(ids, { vip_address: '127.0.0.18' }),
        pool,
        ...members,
        monitor,
      ]);
      const memberStatus = (i: number) => memberStatusOf(ids, members[i]);
      await eventually(
        async () => (await memberStatus(0)) === 'ONLINE' && (await memberStatus(1)) === 'ERROR',
        'the TLS member ONLINE, the plain one ERROR',
        30_000,
      );
    },
  );
});
