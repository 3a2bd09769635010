import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TLS_HELLO_PROGRAM } from '../../functions/domain/tls-hello-program.js';
import { BigIpSimulator } from '../../local/bigip-simulator/bigip-simulator.js';
import { programTools } from '../../local/bigip-simulator/monitor-probes.js';
import { apiHarness, TEST_SUBNET } from '../support/api-harness.js';
import { loadBalancerTarget, simulatedApplier } from '../support/device-applier.js';
import { lbIds, requests } from '../support/factories.js';
import { parsed } from '../support/service-fixtures.js';
import { systemsClosedAfterEach } from '../support/system-harness.js';

/** The device's checksum form (`SHA1:<size>:<hex>`, device-facts.md §8.3), computed here, not by the code under test. */
const sha1Checksum = (text: string = TLS_HELLO_PROGRAM) =>
  `SHA1:${Buffer.byteLength(text)}:${createHash('sha1').update(text, 'utf8').digest('hex')}`;

const pem = (f: string) => readFileSync(join(import.meta.dirname, '..', 'fixtures', 'tls', f), 'utf8');
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
const system = systemsClosedAfterEach();
/** The program needs sh, openssl and timeout; without them members stay checking (no verdict). */
const tools = programTools();

async function until(check: () => boolean, describe?: () => string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not reached in time: ${describe?.() ?? ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A TLS server on the loopback (a handshake completes) and a plain TCP one (it answers HTTP, never TLS). */
async function backends() {
  const secure = tls.createServer({ key: pem('a.example.com.key'), cert: pem('a.example.com.pem') }, (s) =>
    s.end('hello'),
  );
  const plain = net.createServer((s) => s.end('HTTP/1.0 200 OK\r\n\r\n'));
  for (const server of [secure, plain]) {
    const sockets = new Set<net.Socket>();
    server.on('connection', (socket: net.Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(
      () =>
        new Promise<void>((r) => {
          server.close(() => r());
          for (const socket of sockets) socket.destroy();
        }),
    );
  }
  const port = (s: net.Server) => (s.address() as net.AddressInfo).port;
  return { tlsPort: port(secure), plainPort: port(plain) };
}

async function device() {
  const sim = new BigIpSimulator({ dataPlane: { tickMs: 50 } });
  await sim.listen();
  cleanup.push(() => sim.close());
  const auth = `Basic ${Buffer.from('admin:admin').toString('base64')}`;
  const req = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${sim.baseUrl}${path}`, {
      method,
      headers: { authorization: auth, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };
  const upload = async (name: string, text: string) => {
    const bytes = Buffer.from(text, 'utf8');
    const res = await fetch(`${sim.baseUrl}/mgmt/shared/file-transfer/uploads/${name}`, {
      method: 'POST',
      headers: { authorization: auth, 'content-range': `0-${bytes.length - 1}/${bytes.length}` },
      body: bytes,
    });
    expect(res.status).toBe(200);
  };
  expect((await req('POST', '/mgmt/tm/sys/folder', { name: 'P', subPath: '/' })).status).toBe(200);
  return { sim, req, upload };
}

describe('external monitors on the simulated BIG-IP (device-facts.md §8.3-§8.5)', () => {
  it('imports a program as sys file external-monitor, reads its checksum back, and refuses what the device refuses', async () => {
    const { req, upload } = await device();
    const source = 'file:///var/config/rest/downloads/tls_hello';
    // A monitor whose program does not exist is refused.
    const orphan = await req('POST', '/mgmt/tm/ltm/monitor/external', {
      name: 'm',
      partition: 'P',
      run: '/P/tls_hello',
    });
    expect(orphan.status).toBe(400);
    await upload('tls_hello', TLS_HELLO_PROGRAM);
    const file = await req('POST', '/mgmt/tm/sys/file/external-monitor', {
      name: 'tls_hello',
      partition: 'P',
      sourcePath: source,
    });
    expect(file.status).toBe(200);
    const bytes = Buffer.byteLength(TLS_HELLO_PROGRAM);
    expect(file.body).toMatchObject({
      fullPath: '/P/tls_hello',
      checksum: expect.stringMatching(new RegExp(`^SHA1:${bytes}:[0-9a-f]{40}$`)),
    });
    expect(file.body.checksum).toBe(sha1Checksum());
    expect(file.body).not.toHaveProperty('content');
    const monitor = await req('POST', '/mgmt/tm/ltm/monitor/external', {
      name: 'm',
      partition: 'P',
      run: '/P/tls_hello',
      interval: 5,
      timeout: 16,
    });
    expect(monitor.status).toBe(200);
    expect(monitor.body).toMatchObject({ run: '/P/tls_hello', interval: 5, timeout: 16 });
    // A program a monitor runs is not deleted; once the monitor is gone it is.
    expect((await req('DELETE', '/mgmt/tm/sys/file/external-monitor/~P~tls_hello')).status).toBe(400);
    // A new sourcePath replaces its content in place (the drift repair): the checksum follows.
    await upload('tls_hello', '#!/bin/sh\necho up\n');
    const patched = await req('PATCH', '/mgmt/tm/sys/file/external-monitor/~P~tls_hello', {
      sourcePath: source,
    });
    expect(patched.body.checksum).toBe(sha1Checksum('#!/bin/sh\necho up\n'));
    expect((await req('DELETE', '/mgmt/tm/ltm/monitor/external/~P~m')).status).toBe(200);
    expect((await req('DELETE', '/mgmt/tm/sys/file/external-monitor/~P~tls_hello')).status).toBe(200);
  });

  it.skipIf(!tools)(
    'runs the program against members: a TLS backend is up, a plain TCP one down',
    async () => {
      const { sim, req, upload } = await device();
      const { tlsPort, plainPort } = await backends();
      await upload('tls_hello', TLS_HELLO_PROGRAM);
      await req('POST', '/mgmt/tm/sys/file/external-monitor', {
        name: 'tls_hello',
        partition: 'P',
        sourcePath: 'file:///var/config/rest/downloads/tls_hello',
      });
      await req('POST', '/mgmt/tm/ltm/monitor/external', {
        name: 'm',
        partition: 'P',
        run: '/P/tls_hello',
        interval: 1,
        timeout: 3,
      });
      const pool = sim.store.create('ltm/pool', { name: 'pool', partition: 'P', monitor: '/P/m' });
      for (const port of [tlsPort, plainPort])
        sim.store.create('ltm/pool/members', { name: `127.0.0.1:${port}`, partition: 'Common' }, pool);
      const key = (port: number) => `/P/pool|/Common/127.0.0.1:${port}`;
      await until(
        () => sim.stats.member(key(tlsPort)) === 'up' && sim.stats.member(key(plainPort)) === 'down',
        () =>
          `TLS member ${sim.stats.member(key(tlsPort))}, plain member ${sim.stats.member(key(plainPort))}`,
      );
    },
  );
});

describe('TLS-HELLO through the agent onto the simulated BIG-IP', () => {
  it.skipIf(!tools)(
    'installs the program before the monitor, marks a TLS member up and a plain one down, and removes both with the monitor',
    async () => {
      const { tlsPort, plainPort } = await backends();
      const s = await system({ sim: { dataPlane: { tickMs: 50 } } });
      const ids = lbIds();
      const lb = requests.createLoadbalancer(ids, { vip_address: '10.0.0.10' });
      const pool = requests.createPool(ids, { protocol: 'HTTPS' });
      const poolId = pool.object.id as string;
      const members = [tlsPort, plainPort].map((port) =>
        requests.createMember(ids, poolId, { address: '127.0.0.1', protocol_port: port }),
      );
      const hm = requests.createHealthMonitor(ids, poolId, {
        type: 'TLS-HELLO',
        delay: 1,
        timeout: 1,
        max_retries: 2,
      });
      for (const f of ['http_method', 'url_path', 'expected_codes']) delete hm.object[f];
      await s.submitAndSettle(lb, pool, ...members, hm);
      const records = await s.resources.loadRecords(ids.loadbalancerId);
      expect(records.find((r) => r.type === 'healthmonitor')?.provisioningStatus).toBe('ACTIVE');
      const p = `Test_${ids.tenantId}`;
      const program = `/${p}/Test_${ids.loadbalancerId}_tls_hello`;
      const dump = s.sim.dump();
      expect(dump['ltm/monitor/external']).toEqual([
        expect.objectContaining({ run: program, interval: 1, timeout: 2 }),
      ]);
      expect(dump['sys/file/external-monitor']).toEqual([expect.objectContaining({ fullPath: program })]);
      const key = (port: number) => `/${p}/Test_${poolId}|/Common/127.0.0.1:${port}`;
      await until(
        () => s.sim.stats.member(key(tlsPort)) === 'up' && s.sim.stats.member(key(plainPort)) === 'down',
        () =>
          `TLS member ${s.sim.stats.member(key(tlsPort))}, plain member ${s.sim.stats.member(key(plainPort))}`,
      );

      await s.submitAndSettle(requests.delete('healthmonitor', ids, hm.object.id as string));
      const after = s.sim.dump();
      expect(after['ltm/monitor/external'] ?? []).toEqual([]);
      expect(after['sys/file/external-monitor'] ?? []).toEqual([]);
    },
  );
});

describe('TLS-HELLO monitors through the Octavia API', () => {
  let h: Awaited<ReturnType<typeof apiHarness>>;
  beforeAll(async () => {
    h = await apiHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('takes a TLS-HELLO monitor (no 501), shows no HTTP fields, and answers Octavia’s 400s', async () => {
    const lb = (
      await h.call('POST', '/v2/lbaas/loadbalancers', { loadbalancer: { vip_subnet_id: TEST_SUBNET } })
    ).body.loadbalancer as { id: string };
    await h.settle(lb.id);
    const pool = async (protocol: string) => {
      const res = await h.call('POST', '/v2/lbaas/pools', {
        pool: { loadbalancer_id: lb.id, lb_algorithm: 'ROUND_ROBIN', protocol },
      });
      await h.settle(lb.id);
      return (res.body.pool as { id: string }).id;
    };
    const https = await pool('HTTPS');
    const udp = await pool('UDP');
    const monitor = (pool_id: string, extra: Record<string, unknown> = {}) =>
      h.call('POST', '/v2/lbaas/healthmonitors', {
        healthmonitor: { pool_id, type: 'TLS-HELLO', delay: 5, timeout: 3, max_retries: 3, ...extra },
      });
    for (const extra of [{ http_method: 'GET' }, { url_path: '/' }, { expected_codes: '200' }]) {
      const refused = await monitor(https, extra);
      expect(refused.status, JSON.stringify(extra)).toBe(400);
      expect(JSON.stringify(refused.body)).toContain(
        'not a valid option for health monitors of type TLS-HELLO',
      );
    }
    expect((await monitor(udp)).status).toBe(400);
    // The reference Octavia (Zed) stores http_version for any type, and wants it with domain_name.
    expect((await monitor(https, { domain_name: 'a.example.com' })).status).toBe(400);
    const created = await monitor(https);
    expect(created.status).toBe(201);
    expect(created.body.healthmonitor).toMatchObject({
      type: 'TLS-HELLO',
      http_method: null,
      url_path: null,
      expected_codes: null,
      pools: [{ id: https }],
    });
    await h.settle(lb.id);
    const id = (created.body.healthmonitor as { id: string }).id;
    const shown = await h.call('GET', `/v2/lbaas/healthmonitors/${id}`);
    expect(shown.body.healthmonitor).toMatchObject({ provisioning_status: 'ACTIVE' });
    expect(
      (await h.call('PUT', `/v2/lbaas/healthmonitors/${id}`, { healthmonitor: { url_path: '/x' } })).status,
    ).toBe(400);
    expect((await h.call('DELETE', `/v2/lbaas/healthmonitors/${id}`)).status).toBe(204);
  });
});

describe('TLS-HELLO convergence on the simulated BIG-IP (agent path, stores in memory)', () => {
  it('writes nothing on a second apply, gives a changed program our text again in place, and deletes the program after the monitor', async () => {
    const env = 'Conv';
    const { sim, resources, applier } = await simulatedApplier(env, cleanup);
    const ids = lbIds();
    const pool = requests.createPool(ids, { protocol: 'HTTPS' });
    const hm = requests.createHealthMonitor(ids, pool.object.id as string, { type: 'TLS-HELLO' });
    for (const f of ['http_method', 'url_path', 'expected_codes']) delete hm.object[f];
    for (const m of [requests.createLoadbalancer(ids, { vip_address: '10.0.0.10' }), pool, hm])
      await resources.recordRequest(parsed(m), env, Date.now());
    const target = loadBalancerTarget(ids);
    expect((await applier.apply(target)).outcome).toBe('applied');
    const partition = `${env}_${ids.tenantId}`;
    const programPath = `/mgmt/tm/sys/file/external-monitor/~${partition}~${env}_${ids.loadbalancerId}_tls_hello`;
    const writesSince = (from: number) =>
      sim.calls
        .slice(from)
        .filter((c) => c.method !== 'GET')
        .map((c) => `${c.method} ${c.path}`);

    let from = sim.calls.length;
    expect(await applier.apply({ ...target, operation: 'sync' })).toMatchObject({ commands: 0 });
    expect(writesSince(from)).toEqual([]);

    // Someone changes the program on the device: the next full apply restores ours, in place.
    const auth = `Basic ${Buffer.from('admin:admin').toString('base64')}`;
    const other = Buffer.from('#!/bin/sh\necho up\n');
    await fetch(`${sim.baseUrl}/mgmt/shared/file-transfer/uploads/other`, {
      method: 'POST',
      headers: { authorization: auth, 'content-range': `0-${other.length - 1}/${other.length}` },
      body: other,
    });
    await fetch(`${sim.baseUrl}${programPath}`, {
      method: 'PATCH',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ sourcePath: 'file:///var/config/rest/downloads/other' }),
    });
    from = sim.calls.length;
    await applier.apply({ ...target, operation: 'sync' });
    expect(writesSince(from)).toEqual([
      `POST /mgmt/shared/file-transfer/uploads/${env}_${ids.loadbalancerId}_tls_hello`,
      `PATCH ${programPath}`,
    ]);
    const read = await fetch(`${sim.baseUrl}${programPath}`, { headers: { authorization: auth } });
    expect(((await read.json()) as { checksum: string }).checksum).toBe(sha1Checksum());
    from = sim.calls.length;
    await applier.apply({ ...target, operation: 'sync' });
    expect(writesSince(from)).toEqual([]);

    // The monitor goes: it is deleted (in the change), its program after it.
    const del = requests.delete('healthmonitor', ids, hm.object.id as string);
    await resources.recordRequest(parsed(del), env, Date.now());
    from = sim.calls.length;
    await applier.apply({
      ...target,
      resource: 'healthmonitor',
      objectId: hm.object.id as string,
      operation: 'delete',
    });
    const writes = writesSince(from);
    // The monitor leaves in the committed transaction; the program is deleted after the commit.
    const commit = writes.findIndex((w) => /^PATCH \/mgmt\/tm\/transaction\/\d+$/.test(w));
    expect(writes.filter((w) => w.startsWith('DELETE /mgmt/tm/ltm/monitor/external/'))).toHaveLength(1);
    expect(commit).toBeGreaterThan(-1);
    expect(writes.slice(commit + 1)).toEqual([`DELETE ${programPath}`]);
    expect(sim.dump()['ltm/monitor/external'] ?? []).toEqual([]);
    expect(sim.dump()['sys/file/external-monitor'] ?? []).toEqual([]);
  });
});

describe('the TLS-HELLO program itself (sh, openssl, timeout on this machine)', () => {
  it.skipIf(!tools)(
    'prints only after a completed handshake, for the address forms bigd passes, and never for a route domain other than 0',
    async () => {
      const { tlsPort, plainPort } = await backends();
      const file = join(mkdtempSync(join(tmpdir(), 'tls-hello-')), 'program');
      writeFileSync(file, TLS_HELLO_PROGRAM);
      const run = (address: string, port: string) =>
        new Promise<string>((resolve) =>
          execFile('sh', [file, address, port], { timeout: 10_000 }, (_e, stdout) => resolve(String(stdout))),
        );
      expect(await run('::ffff:127.0.0.1', String(tlsPort))).toBe('up\n');
      expect(await run('127.0.0.1', String(tlsPort))).toBe('up\n');
      expect(await run('::ffff:127.0.0.1%0', String(tlsPort))).toBe('up\n');
      // The backend answers and closes as soon as the handshake is done, which can make s_client exit
      // 1 (about one probe in ten here when the program went by its exit status): up every time.
      const probes = await Promise.all(Array.from({ length: 20 }, () => run('127.0.0.1', String(tlsPort))));
      expect(probes.filter((out) => out !== 'up\n')).toEqual([]);
      // Nothing printed: a plain TCP server, another route domain, values that are no address or port.
      for (const [address, port] of [
        ['::ffff:127.0.0.1', String(plainPort)],
        ['::ffff:127.0.0.1%2', String(tlsPort)],
        ['127.0.0.1;echo', String(tlsPort)],
        ['127.0.0.1', `${tlsPort};echo up`],
        ['', String(tlsPort)],
      ])
        expect(await run(address as string, port as string), `${address} ${port}`).toBe('');
    },
  );
});
