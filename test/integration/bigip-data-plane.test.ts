import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { monitorSendString } from '../../functions/domain/bigip-translation.js';
import { BigIpSimulator } from '../../local/bigip-simulator/bigip-simulator.js';
import { freePort } from '../../local/free-port.js';
import { backend, curl as get } from '../support/http-backends.js';

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 8_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A unit with a data plane, a partition, an HTTP monitor (interval 1 s, timeout 2 s) and a pool. */
async function sandbox(pool: Record<string, unknown> = {}, monitorAttrs: Record<string, unknown> = {}) {
  const sim = new BigIpSimulator({ dataPlane: { tickMs: 50 } });
  await sim.listen();
  cleanup.push(() => sim.close());
  const s = sim.store;
  s.create('sys/folder', { name: 'P' });
  s.create('ltm/monitor/http', {
    name: 'mon',
    partition: 'P',
    interval: 1,
    timeout: 2,
    send: 'GET / HTTP/1.0\\r\\n\\r\\n',
    recv: 'HTTP/1\\.(0|1) (200)',
    ...monitorAttrs,
  });
  const p = s.create('ltm/pool', { name: 'pool', partition: 'P', monitor: '/P/mon', ...pool });
  return { sim, pool: p };
}

async function withVirtual(
  sim: BigIpSimulator,
  pool: string,
  extra: Record<string, unknown> = {},
): Promise<{ address: string; port: number }> {
  const port = await freePort();
  sim.store.create('ltm/virtual', {
    name: 'vs',
    partition: 'P',
    destination: `/P/127.0.0.2:${port}`,
    pool,
    ...extra,
  });
  await until(() => sim.dataPlane?.listening.includes(`127.0.0.2:${port}`) ?? false);
  return { address: '127.0.0.2', port };
}

describe('simulated data plane', () => {
  it('probes members with the HTTP monitor, balances round robin, and fails over to the healthy one', async () => {
    const { sim, pool } = await sandbox();
    const [one, two] = [await backend('one'), await backend('two')];
    cleanup.push(one.stop, two.stop);
    for (const b of [one, two])
      sim.store.create('ltm/pool/members', { name: `127.0.0.1:${b.port}`, partition: 'Common' }, pool);
    const key = (b: { port: number }) => `/P/pool|/Common/127.0.0.1:${b.port}`;
    await until(() => sim.stats.member(key(one)) === 'up' && sim.stats.member(key(two)) === 'up');
    const vip = await withVirtual(sim, '/P/pool');

    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await get(vip.address, vip.port));
    expect([...answers].sort()).toEqual(['one', 'one', 'two', 'two']);
    // Round robin: consecutive connections alternate.
    expect(answers.slice(0, 2).sort()).toEqual(['one', 'two']);

    await one.stop();
    await until(() => sim.stats.member(key(one)) === 'down');
    for (let i = 0; i < 3; i++) expect(await get(vip.address, vip.port)).toBe('two');

    const counters = sim.stats.virtual('/P/vs');
    expect(counters.totConns).toBe(7);
    expect(counters.bitsIn).toBeGreaterThan(0);
    expect(counters.bitsOut).toBeGreaterThan(0);
    expect(counters.bitsOut % 8).toBe(0);
    await until(() => sim.stats.virtual('/P/vs').curConns === 0);
  });

  it('checks a member through its own monitor at the monitor’s alias destination, not the member', async () => {
    const { sim, pool } = await sandbox();
    // The member's own port answers 500 (down to the pool's monitor); its alias answers 200.
    const [service, health] = [await backend('service', 500), await backend('health')];
    cleanup.push(service.stop, health.stop);
    sim.store.create('ltm/monitor/http', {
      name: 'alias',
      partition: 'P',
      interval: 1,
      timeout: 2,
      send: 'GET / HTTP/1.0\\r\\n\\r\\n',
      recv: 'HTTP/1\\.(0|1) (200)',
      destination: `127.0.0.1:${health.port}`,
    });
    const member = sim.store.create(
      'ltm/pool/members',
      { name: `127.0.0.1:${service.port}`, partition: 'Common', monitor: '/P/alias' },
      pool,
    );
    const key = `/P/pool|/Common/127.0.0.1:${service.port}`;
    await until(() => sim.stats.member(key) === 'up');
    // A monitor a member names cannot be deleted; back on the pool's monitor, the member is down.
    expect(() => sim.store.delete('ltm/monitor/http', '/P/alias')).toThrow(/01070083/);
    sim.store.patch('ltm/pool/members', `/P/pool|${member.fullPath}`, { monitor: 'default' });
    await until(() => sim.stats.member(key) === 'down');
    sim.store.delete('ltm/monitor/http', '/P/alias');
  });

  it('checks UDP members with a UDP monitor: up while nothing refuses the datagram, down on port unreachable', async () => {
    const sim = new BigIpSimulator({ dataPlane: { tickMs: 50 } });
    await sim.listen();
    cleanup.push(() => sim.close());
    sim.store.create('sys/folder', { name: 'P' });
    sim.store.create('ltm/monitor/udp', { name: 'udp', partition: 'P', interval: 1, timeout: 2 });
    const pool = sim.store.create('ltm/pool', { name: 'pool', partition: 'P', monitor: '/P/udp' });
    const server = dgram.createSocket('udp4');
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = server.address().port;
    sim.store.create('ltm/pool/members', { name: `127.0.0.1:${port}`, partition: 'Common' }, pool);
    const key = `/P/pool|/Common/127.0.0.1:${port}`;
    await until(() => sim.stats.member(key) === 'up');
    // Nothing bound any more: the host answers port unreachable.
    await new Promise<void>((r) => server.close(() => r()));
    cleanup.pop();
    await until(() => sim.stats.member(key) === 'down');
  });

  it('checks a name-based virtual host with the HTTP/1.1 request and Host header the agent writes', async () => {
    // A server that answers 200 only to HTTP/1.1 for app.example.com, as a name-based host does.
    const server = http.createServer((req, res) => {
      res.statusCode = req.httpVersion === '1.1' && req.headers.host === 'app.example.com' ? 200 : 421;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as net.AddressInfo).port;
    const send = (spec: { http_version: 1 | 1.1 | null; domain_name: string | null }) =>
      monitorSendString({ http_method: 'GET', url_path: '/', ...spec });
    const { sim, pool } = await sandbox(
      {},
      { send: send({ http_version: 1.1, domain_name: 'app.example.com' }) },
    );
    sim.store.create('ltm/pool/members', { name: `127.0.0.1:${port}`, partition: 'Common' }, pool);
    const key = `/P/pool|/Common/127.0.0.1:${port}`;
    await until(() => sim.stats.member(key) === 'up');
    // Without the name (Octavia's default request, HTTP/1.0) the same server says 421: down.
    sim.store.patch('ltm/monitor/http', '/P/mon', { send: send({ http_version: null, domain_name: null }) });
    await until(() => sim.stats.member(key) === 'down');
  });

  it('marks a member down when its answer does not match the receive rule', async () => {
    const { sim, pool } = await sandbox();
    const failing = await backend('broken', 500);
    cleanup.push(failing.stop);
    sim.store.create('ltm/pool/members', { name: `127.0.0.1:${failing.port}`, partition: 'Common' }, pool);
    const key = `/P/pool|/Common/127.0.0.1:${failing.port}`;
    await until(() => sim.stats.member(key) === 'checking');
    await until(() => sim.stats.member(key) === 'down');
    // With no member up, a connection is reset, as a BIG-IP does.
    const vip = await withVirtual(sim, '/P/pool');
    expect(await get(vip.address, vip.port)).toBe('ECONNRESET');
  });

  it('reports a member it cannot reach (not on the loopback) down after the monitor’s timeout, as a real monitor would (#27.7)', async () => {
    let now = 1_000_000;
    // Ticks by hand on a clock of its own: what is measured never depends on the machine's speed.
    const sim = new BigIpSimulator({ clock: () => now, dataPlane: { tickMs: 3_600_000 } });
    await sim.listen();
    cleanup.push(() => sim.close());
    sim.store.create('sys/folder', { name: 'P' });
    sim.store.create('ltm/monitor/http', { name: 'mon', partition: 'P', interval: 5, timeout: 16 });
    const pool = sim.store.create('ltm/pool', { name: 'pool', partition: 'P', monitor: '/P/mon' });
    sim.store.create('ltm/pool/members', { name: '10.0.1.5:8080', partition: 'Common' }, pool);
    const key = '/P/pool|/Common/10.0.1.5:8080';
    const tick = async () => {
      sim.dataPlane?.tick();
      await new Promise((r) => setImmediate(r));
    };
    await tick();
    expect(sim.stats.member(key)).toBe('checking');
    for (let s = 5; s < 16; s += 5) {
      now += 5_000;
      await tick();
      expect(sim.stats.member(key)).toBe('checking');
    }
    now += 5_000; // 20 s without an answer: past the monitor's 16 s timeout
    await tick();
    expect(sim.stats.member(key)).toBe('down');
  });

  it('weights members by ratio, keeps a client on its member with source-address persistence, and honours the connection limit', async () => {
    const { sim, pool } = await sandbox({ loadBalancingMode: 'ratio-member' });
    const [one, two] = [await backend('one'), await backend('two')];
    cleanup.push(one.stop, two.stop);
    sim.store.create(
      'ltm/pool/members',
      { name: `127.0.0.1:${one.port}`, partition: 'Common', ratio: 3 },
      pool,
    );
    sim.store.create(
      'ltm/pool/members',
      { name: `127.0.0.1:${two.port}`, partition: 'Common', ratio: 1 },
      pool,
    );
    await until(() =>
      [one, two].every((b) => sim.stats.member(`/P/pool|/Common/127.0.0.1:${b.port}`) === 'up'),
    );
    const vip = await withVirtual(sim, '/P/pool');
    const answers: string[] = [];
    for (let i = 0; i < 8; i++) answers.push(await get(vip.address, vip.port));
    expect(answers.filter((a) => a === 'one')).toHaveLength(6);
    expect(answers.filter((a) => a === 'two')).toHaveLength(2);

    sim.store.patch('ltm/virtual', '/P/vs', { persist: [{ name: '/Common/source_addr' }] });
    const first = await get(vip.address, vip.port);
    for (let i = 0; i < 4; i++) expect(await get(vip.address, vip.port)).toBe(first);

    sim.store.patch('ltm/virtual', '/P/vs', { connectionLimit: 1 });
    const held = net.connect({ host: vip.address, port: vip.port });
    cleanup.push(async () => void held.destroy());
    await until(() => sim.stats.virtual('/P/vs').curConns === 1);
    expect(await get(vip.address, vip.port)).toBe('ECONNRESET');
    held.destroy();
    await until(() => sim.stats.virtual('/P/vs').curConns === 0);
    expect(await get(vip.address, vip.port)).toBe(first);
  });

  it('serves only on the active unit, and stops serving a disabled virtual', async () => {
    const { sim, pool } = await sandbox();
    const one = await backend('one');
    cleanup.push(one.stop);
    sim.store.create('ltm/pool/members', { name: `127.0.0.1:${one.port}`, partition: 'Common' }, pool);
    const vip = await withVirtual(sim, '/P/pool');
    sim.store.patch('ltm/virtual', '/P/vs', { disabled: true });
    await until(() => (sim.dataPlane?.listening ?? []).length === 0);
    sim.store.patch('ltm/virtual', '/P/vs', { enabled: true });
    await until(() => (sim.dataPlane?.listening ?? []).length === 1);
    sim.setFailoverState('standby');
    await until(() => (sim.dataPlane?.listening ?? []).length === 0);
    expect(await get(vip.address, vip.port)).toBe('ECONNREFUSED');
  });

  it('treats gateway ICMP on the loopback as up and TCP as a connect', async () => {
    const sim = new BigIpSimulator({ dataPlane: { tickMs: 50 } });
    await sim.listen();
    cleanup.push(() => sim.close());
    sim.store.create('sys/folder', { name: 'P' });
    sim.store.create('ltm/monitor/gateway-icmp', { name: 'ping', partition: 'P', interval: 1, timeout: 2 });
    sim.store.create('ltm/monitor/tcp', { name: 'tcp', partition: 'P', interval: 1, timeout: 2 });
    const closedPort = await freePort();
    const ping = sim.store.create('ltm/pool', { name: 'ping', partition: 'P', monitor: '/P/ping' });
    const tcp = sim.store.create('ltm/pool', { name: 'tcp', partition: 'P', monitor: '/P/tcp' });
    sim.store.create('ltm/pool/members', { name: `127.0.0.1:${closedPort}`, partition: 'Common' }, ping);
    sim.store.create('ltm/pool/members', { name: `127.0.0.1:${closedPort}`, partition: 'Common' }, tcp);
    await until(() => sim.stats.member(`/P/ping|/Common/127.0.0.1:${closedPort}`) === 'up');
    await until(() => sim.stats.member(`/P/tcp|/Common/127.0.0.1:${closedPort}`) === 'down');
  });

  it('serves one host from an RSA and an ECDSA key pair of one profile, as the client can verify', async () => {
    const { sim, pool } = await sandbox();
    const web = await backend('web');
    cleanup.push(web.stop);
    sim.store.create('ltm/pool/members', { name: `127.0.0.1:${web.port}`, partition: 'Common' }, pool);
    const pem = (f: string) => readFileSync(join(import.meta.dirname, '..', 'fixtures', 'tls', f), 'utf8');
    const file = (collection: 'sys/file/ssl-cert' | 'sys/file/ssl-key', name: string, content: string) =>
      sim.store.insert(collection, `/P/${name}`, sim.store.make(name, 'P', { content }));
    file('sys/file/ssl-cert', 'rsa.crt', pem('a.example.com.pem'));
    file('sys/file/ssl-key', 'rsa.key', pem('a.example.com.key'));
    file('sys/file/ssl-cert', 'ec.crt', pem('a.example.com.ec.pem'));
    file('sys/file/ssl-key', 'ec.key', pem('a.example.com.ec.key'));
    sim.store.create('ltm/profile/client-ssl', {
      name: 'a',
      partition: 'P',
      sniDefault: true,
      certKeyChain: [
        { name: 'rsa', cert: '/P/rsa.crt', key: '/P/rsa.key' },
        { name: 'ec', cert: '/P/ec.crt', key: '/P/ec.key' },
      ],
    });
    const vip = await withVirtual(sim, '/P/pool', { profiles: ['/P/a'] });
    const keyType = (sigalgs: string) =>
      new Promise<string | undefined>((resolve, reject) => {
        const socket = tls.connect(
          {
            host: vip.address,
            port: vip.port,
            servername: 'a.example.com',
            sigalgs,
            rejectUnauthorized: false,
          },
          () => {
            resolve(socket.getPeerX509Certificate()?.publicKey.asymmetricKeyType);
            socket.destroy();
          },
        );
        socket.on('error', reject);
      });
    expect(await keyType('ecdsa_secp256r1_sha256')).toBe('ec');
    expect(await keyType('rsa_pss_rsae_sha256:rsa_pkcs1_sha256')).toBe('rsa');
  });

  it('with peerCertMode require refuses a client without a certificate its caFile verifies, and serves one with (device-facts.md §7.17)', async () => {
    const { sim, pool } = await sandbox();
    const web = await backend('web');
    cleanup.push(web.stop);
    sim.store.create('ltm/pool/members', { name: `127.0.0.1:${web.port}`, partition: 'Common' }, pool);
    const pem = (f: string) => readFileSync(join(import.meta.dirname, '..', 'fixtures', 'tls', f), 'utf8');
    const file = (collection: 'sys/file/ssl-cert' | 'sys/file/ssl-key', name: string, content: string) =>
      sim.store.insert(collection, `/P/${name}`, sim.store.make(name, 'P', { content }));
    file('sys/file/ssl-cert', 'www.crt', pem('www.example.com.pem'));
    file('sys/file/ssl-key', 'www.key', pem('www.example.com.key'));
    file('sys/file/ssl-cert', 'clients_ca.crt', pem('sites-ca.pem'));
    sim.store.create('ltm/profile/client-ssl', {
      name: 'mtls',
      partition: 'P',
      sniDefault: true,
      certKeyChain: [{ name: 'default', cert: '/P/www.crt', key: '/P/www.key' }],
      peerCertMode: 'require',
      caFile: '/P/clients_ca.crt',
    });
    const vip = await withVirtual(sim, '/P/pool', { profiles: ['/P/mtls', '/Common/http', '/Common/tcp'] });
    const request = (client: { cert?: string; key?: string }) =>
      new Promise<string>((resolve, reject) => {
        const socket = tls.connect(
          { host: vip.address, port: vip.port, rejectUnauthorized: false, ...client },
          () => socket.write('GET / HTTP/1.0\r\nHost: x\r\n\r\n'),
        );
        let body = '';
        socket.on('data', (d: Buffer) => {
          body += d.toString();
        });
        socket.on('end', () => resolve(body));
        socket.on('error', reject);
      });
    // TLS 1.3 reports the refusal after the handshake: either way no answer from the backend comes back.
    await expect(request({})).rejects.toThrow(/certificate|alert|ECONNRESET|socket/i);
    const withCert = { cert: pem('a.example.com.pem'), key: pem('a.example.com.key') };
    // Once the monitor has the member up, the client with a certificate is served.
    await until(async () => (await request(withCert).catch(() => '')).includes('web'));
    await expect(request({})).rejects.toThrow(/certificate|alert|ECONNRESET|socket/i);
  });

  it('re-encrypts to a TLS member with a server-ssl profile: its client certificate, and the member verified by caFile (device-facts.md §7.17)', async () => {
    const { sim, pool } = await sandbox({ monitor: '' });
    const pem = (f: string) => readFileSync(join(import.meta.dirname, '..', 'fixtures', 'tls', f), 'utf8');
    // A member speaking TLS only, asking for a client certificate signed by the sites' CA.
    const member = tls.createServer(
      {
        cert: `${pem('b.example.com.pem')}\n${pem('sites-ca.pem')}`,
        key: pem('b.example.com.key'),
        ca: pem('sites-ca.pem'),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (socket) => {
        const who = socket.getPeerX509Certificate()?.subject.replace(/\n/g, ' ') ?? 'nobody';
        socket.end(`HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\ntls member, client ${who}`);
      },
    );
    const open = new Set<net.Socket>();
    member.on('connection', (socket: net.Socket) => {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
    });
    await new Promise<void>((r) => member.listen(0, '127.0.0.1', r));
    cleanup.push(() => {
      for (const socket of open) socket.destroy();
      return new Promise((r) => member.close(() => r()));
    });
    const port = (member.address() as net.AddressInfo).port;
    sim.store.create('ltm/pool/members', { name: `127.0.0.1:${port}`, partition: 'Common' }, pool);
    const file = (collection: 'sys/file/ssl-cert' | 'sys/file/ssl-key', name: string, content: string) =>
      sim.store.insert(collection, `/P/${name}`, sim.store.make(name, 'P', { content }));
    file('sys/file/ssl-cert', 'client.crt', pem('a.example.com.pem'));
    file('sys/file/ssl-key', 'client.key', pem('a.example.com.key'));
    file('sys/file/ssl-cert', 'members_ca.crt', pem('sites-ca.pem'));
    file('sys/file/ssl-cert', 'other_ca.crt', pem('other-ca.pem'));
    sim.store.create('ltm/profile/server-ssl', {
      name: 'reencrypt',
      partition: 'P',
      cert: '/P/client.crt',
      key: '/P/client.key',
      caFile: '/P/members_ca.crt',
      peerCertMode: 'require',
    });
    const vip = await withVirtual(sim, '/P/pool', {
      profiles: ['/P/reencrypt', '/Common/http', '/Common/tcp'],
    });
    const answer = await get(vip.address, vip.port);
    expect(answer).toContain('tls member, client');
    expect(answer).toContain('a.example.com');
    // A CA that did not sign the member: the member is not trusted, nothing comes back.
    sim.store.patch('ltm/profile/server-ssl', '/P/reencrypt', { caFile: '/P/other_ca.crt' });
    expect(await get(vip.address, vip.port)).not.toContain('tls member');
  });
});
