import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BigIpRestClient, type RestClientOptions } from '../../functions/adapters/bigip-rest-client.js';
import { StaticCredentials } from '../../functions/adapters/device-credentials.js';
import { IControlBigIpDevice } from '../../functions/adapters/icontrol-bigip-device.js';
import { BigIpError, UnsafeBigIpNameError } from '../../functions/domain/errors.js';
import type { BigIpEndpoint } from '../../functions/domain/ports.js';
import { BigIpSimulator, type SimulatorOptions } from '../../local/bigip-simulator/bigip-simulator.js';

const tls = (file: string) => readFileSync(join(import.meta.dirname, '..', 'fixtures', 'tls', file), 'utf8');
const credentials = new StaticCredentials({ username: 'admin', password: 'admin' });
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setup(
  options: { sim?: SimulatorOptions; client?: RestClientOptions; endpoint?: Partial<BigIpEndpoint> } = {},
) {
  const sim = new BigIpSimulator(options.sim);
  const baseUrl = await sim.listen();
  const client = new BigIpRestClient({ name: 'bigip1', baseUrl, ...options.endpoint }, credentials, {
    retryBaseMs: 5,
    timeoutMs: 2_000,
    ...options.client,
  });
  cleanups.push(
    () => client.close(),
    () => sim.close(),
  );
  return { sim, client, device: new IControlBigIpDevice(client) };
}

/** A client of a plain loopback server (a device whose answers the test controls), closed after the test. */
async function clientOf(server: Server, options: RestClientOptions = {}) {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  const client = new BigIpRestClient(
    { name: 'held', baseUrl: `http://127.0.0.1:${port}` },
    credentials,
    options,
  );
  cleanups.push(
    () => client.close(),
    () => new Promise<void>((r) => server.close(() => r())),
  );
  return client;
}

/** Waits for a condition the server's side makes true (no time is asserted). */
async function until(condition: () => boolean) {
  while (!condition()) await new Promise((r) => setTimeout(r, 2));
}

const logins = (sim: BigIpSimulator) => sim.callCount({ path: /authn\/login/ });

describe('iControl REST client against the BIG-IP simulator', () => {
  it('logs in once and reuses the token', async () => {
    const { sim, client } = await setup();
    for (let i = 0; i < 5; i++) await client.request('GET', '/mgmt/tm/sys/version');
    expect(logins(sim)).toBe(1);
    expect(sim.callCount()).toBe(6);
  });

  it('gives its token back when closed (device-facts.md §5.3: a token otherwise lives 20 minutes)', async () => {
    const { sim, client } = await setup();
    await client.request('GET', '/mgmt/tm/sys/version');
    expect(sim.tokens.live('admin')).toBe(1);
    await client.close();
    expect(sim.tokens.live('admin')).toBe(0);
  });

  it('survives 150 cold starts that never release their tokens, against the 100-token cap (§5.3)', async () => {
    const { sim } = await setup();
    const baseUrl = sim.baseUrl;
    for (let i = 0; i < 150; i++) {
      // A cold start: a new client, no token; it ends without closing (as a Lambda container does).
      const cold = new BigIpRestClient({ name: 'bigip1', baseUrl }, credentials, { retryBaseMs: 1 });
      expect((await cold.request('GET', '/mgmt/tm/sys/version')).status).toBe(200);
    }
    expect(sim.tokens.live('admin')).toBeLessThanOrEqual(100);
    expect(logins(sim)).toBeGreaterThanOrEqual(150);
    // A warm caller whose token was reclaimed logs in again once and goes on.
    expect(
      sim.calls.filter((c) => c.path.startsWith('/mgmt/shared/authz/tokens') && c.method === 'DELETE').length,
    ).toBeGreaterThan(0);
  });

  it('shares one login between concurrent first calls', async () => {
    const { sim, client } = await setup();
    await Promise.all(Array.from({ length: 8 }, () => client.request('GET', '/mgmt/tm/sys/version')));
    expect(logins(sim)).toBe(1);
  });

  it('logs in again and retries once when the token expired (401 "has expired.")', async () => {
    const { sim, client } = await setup();
    await client.request('GET', '/mgmt/tm/sys/version');
    sim.injectFault({ kind: 'expire-tokens' });
    const response = await client.request('GET', '/mgmt/tm/sys/version');
    expect(response.status).toBe(200);
    expect(logins(sim)).toBe(2);
    expect(sim.calls.filter((c) => c.status === 401)).toHaveLength(1);
  });

  it('refreshes the token before the device would expire it', async () => {
    let now = 1_000_000;
    const { sim, client } = await setup({ sim: { clock: () => now }, client: { clock: () => now } });
    await client.request('GET', '/mgmt/tm/sys/version');
    now += 1_150_000; // inside the last minute of the 1,200 s token
    await client.request('GET', '/mgmt/tm/sys/version');
    expect(logins(sim)).toBe(2);
    expect(sim.calls.filter((c) => c.status === 401)).toHaveLength(0);
  });

  it('surfaces wrong credentials as a permanent error without looping', async () => {
    const sim = new BigIpSimulator({ users: { admin: 'other' } });
    const baseUrl = await sim.listen();
    const client = new BigIpRestClient({ name: 'b', baseUrl }, credentials, { retryBaseMs: 1 });
    cleanups.push(
      () => client.close(),
      () => sim.close(),
    );
    const error = await client.request('GET', '/mgmt/tm/sys/version').catch((e) => e);
    expect(error).toBeInstanceOf(BigIpError);
    expect(error.message).toContain('401 Authentication failed.');
    expect(error.transient).toBe(false);
    expect(logins(sim)).toBe(1);
  });

  it('retries 503 "active asynchronous task" with back-off, for any method', async () => {
    const { sim, client } = await setup();
    sim.injectFault({ kind: 'busy', method: 'POST', path: '/mgmt/tm/sys/folder', times: 2 });
    const response = await client.request('POST', '/mgmt/tm/sys/folder', {
      body: { name: 'P1', subPath: '/' },
    });
    expect(response.status).toBe(200);
    expect(sim.callCount({ method: 'POST', path: /sys\/folder/ })).toBe(3);
  });

  it('gives up on a busy device after its retries with a transient error', async () => {
    const { sim, client } = await setup({ client: { retries: 2 } });
    sim.injectFault({ kind: 'busy', path: '/mgmt/tm/sys/version', times: Infinity });
    const error = await client.request('GET', '/mgmt/tm/sys/version').catch((e) => e);
    expect(error).toBeInstanceOf(BigIpError);
    expect(error.transient).toBe(true);
    expect(error.message).toContain('503 There is an active asynchronous task executing.');
    expect(sim.callCount({ path: /sys\/version/ })).toBe(3);
  });

  it('spreads retries with jitter: half of each back-off fixed, half random', async () => {
    const waits: number[] = [];
    const { sim, client } = await setup({
      client: { retries: 3, retryBaseMs: 100, random: () => 0.5, sleep: async (ms) => void waits.push(ms) },
    });
    sim.injectFault({ kind: 'busy', path: '/mgmt/tm/sys/version', times: 3 });
    await client.request('GET', '/mgmt/tm/sys/version');
    expect(waits).toEqual([75, 150, 300]);
  });

  it('stops retrying a hung device at the request deadline, however many retries are left', async () => {
    const { sim, client } = await setup({ client: { timeoutMs: 150, retries: 10, deadlineMs: 400 } });
    sim.injectFault({ kind: 'hang', path: '/mgmt/tm/cm/failover-status', times: Infinity });
    const error = await client.request('GET', '/mgmt/tm/cm/failover-status').catch((e) => e);
    expect(error.message).toMatch(/ETIMEDOUT/);
    // 400 ms of budget holds at most three attempts of 150 ms (the last one cut short), not eleven.
    expect(sim.callCount({ path: /failover-status/ })).toBeLessThanOrEqual(3);
  });

  it('retries a GET whose connection was reset', async () => {
    const { sim, client } = await setup();
    sim.injectFault({ kind: 'reset', path: '/mgmt/tm/sys/version' });
    expect((await client.request('GET', '/mgmt/tm/sys/version')).status).toBe(200);
  });

  it('does not repeat a create whose connection was reset after the device applied it', async () => {
    const { sim, client } = await setup();
    sim.injectFault({ kind: 'reset-after-commit', method: 'POST', path: '/mgmt/tm/sys/folder' });
    const error = await client
      .request('POST', '/mgmt/tm/sys/folder', { body: { name: 'P2' } })
      .catch((e) => e);
    expect(error).toBeInstanceOf(BigIpError);
    expect(error.transient).toBe(true);
    expect(sim.partitions()).toEqual(['P2']);
    expect(sim.callCount({ method: 'POST', path: /sys\/folder/ })).toBe(1);
  });

  it('times out a device that never answers, as a transient error', async () => {
    const { sim, client } = await setup({ client: { timeoutMs: 200, retries: 0 } });
    sim.injectFault({ kind: 'hang', path: '/mgmt/tm/cm/failover-status' });
    const error = await client.request('GET', '/mgmt/tm/cm/failover-status').catch((e) => e);
    expect(error.message).toMatch(/ETIMEDOUT/);
    expect(error.transient).toBe(true);
  });

  it('reads the message out of an HTML error page and of a lost-mcpd 500', async () => {
    const { sim, client } = await setup({ client: { retries: 0 } });
    sim.injectFault({ kind: 'html-500', path: '/mgmt/tm/sys/version' });
    const html = await client.request('GET', '/mgmt/tm/sys/version').catch((e) => e);
    expect(html.message).toContain('500 Error 500 AsyncContext timeout');
    expect(html.transient).toBe(true);
    sim.injectFault({ kind: 'mcpd-restart', path: '/mgmt/tm/sys/version' });
    const mcpd = await client.request('GET', '/mgmt/tm/sys/version').catch((e) => e);
    expect(mcpd.message).toContain('The connection to mcpd has been lost, try again.');
    expect(mcpd.transient).toBe(true);
  });

  it('keeps BIG-IP configuration errors permanent with the device message', async () => {
    const { client } = await setup();
    const error = await client
      .request('POST', '/mgmt/tm/ltm/pool', { body: { name: 'p', partition: 'Missing' } })
      .catch((e) => e);
    expect(error.transient).toBe(false);
    expect(error.status).toBe(400);
    expect(error.context.bigipMessage).toBe(
      "01070734:3: Configuration error: Can't associate Pool (/Missing/p) folder does not exist",
    );
  });

  it('never sends a call past its send-by time (a lapsed partition lease), and does not retry it', async () => {
    const { sim, client } = await setup();
    await client.request('GET', '/mgmt/tm/sys/version');
    const before = sim.callCount();
    const late = await client
      .request('POST', '/mgmt/tm/sys/folder', {
        body: { name: 'P', partition: 'Common' },
        notAfter: Date.now() - 1,
      })
      .catch((e) => e);
    expect(late.message).toContain('ENOTSENT');
    expect(late.transient).toBe(true);
    expect(sim.callCount()).toBe(before);
    const inTime = await client.request('POST', '/mgmt/tm/sys/folder', {
      body: { name: 'P', partition: 'Common' },
      notAfter: Date.now() + 60_000,
    });
    expect(inTime.status).toBe(200);
  });

  it('sends no call of a change after the send-by time it is given', async () => {
    const { sim, device } = await setup();
    const plan = {
      createFolder: true,
      atomic: true,
      commands: [
        {
          op: 'create' as const,
          object: {
            kind: 'pool' as const,
            partition: 'P',
            name: 'p',
            attrs: { loadBalancingMode: 'round-robin' },
          },
        },
      ],
      nodeCleanup: [],
      removeFolder: false,
    };
    await expect(device.execute('P', plan, { sendBy: Date.now() - 1 })).rejects.toThrow(/ENOTSENT/);
    expect(sim.calls.filter((c) => c.method !== 'GET' && !c.path.includes('authn'))).toEqual([]);
    await device.execute('P', plan, { sendBy: Date.now() + 60_000 });
    expect(sim.calls.some((c) => c.method === 'POST' && c.path === '/mgmt/tm/ltm/pool')).toBe(true);
  });

  it('takes "already exists" for a name of ours as a stale read (retried), but not a clashing address', async () => {
    const { client } = await setup({ client: { retries: 0 } });
    await client.request('POST', '/mgmt/tm/sys/folder', { body: { name: 'P', partition: 'Common' } });
    await client.request('POST', '/mgmt/tm/ltm/pool', { body: { name: 'p', partition: 'P' } });
    const again = await client
      .request('POST', '/mgmt/tm/ltm/pool', { body: { name: 'p', partition: 'P' } })
      .catch((e) => e);
    expect(again.status).toBe(409);
    expect(again.context.bigipMessage).toMatch(/^01020066:3: The requested Pool \(\/P\/p\) already exists/);
    expect(again.transient).toBe(true);
    await client.request('POST', '/mgmt/tm/ltm/virtual-address', {
      body: { name: 'a1', partition: 'P', address: '10.9.9.9' },
    });
    const clash = await client
      .request('POST', '/mgmt/tm/ltm/virtual-address', {
        body: { name: 'a2', partition: 'P', address: '10.9.9.9' },
      })
      .catch((e) => e);
    expect(clash.context.bigipMessage).toMatch(/^0107176c:3: Invalid Virtual Address/);
    expect(clash.transient).toBe(false);
  });

  it('takes a transaction refused for a name of ours that already exists as a stale read too (#27.3)', async () => {
    const { device } = await setup({ client: { retries: 0 } });
    const pool = (name: string) => ({
      kind: 'pool' as const,
      partition: 'P',
      name,
      attrs: { loadBalancingMode: 'round-robin' },
    });
    const create = (name: string) => ({ op: 'create' as const, object: pool(name) });
    const plan = (names: string[], createFolder: boolean) => ({
      createFolder,
      commands: names.map(create),
      atomic: true,
      nodeCleanup: [],
      removeFolder: false,
    });
    await device.execute('P', plan(['p', 'q'], true));
    // A read that did not show p (a write of ours still in the device's hands): the commit fails.
    const error = await device.execute('P', plan(['p', 'r'], false)).catch((e) => e);
    expect(error.context.bigipMessage).toMatch(/^transaction failed:01020066:/);
    expect(error.transient).toBe(true);
  });

  it('reads failover, sync and version state (a standby unit says so)', async () => {
    const { sim, device } = await setup();
    sim.setFailoverState('standby');
    expect(await device.status({ withSync: true, withVersion: true })).toEqual({
      failoverState: 'STANDBY',
      syncStatus: 'Standalone',
      version: '17.1.2.1',
    });
  });

  it('verifies TLS against the configured CA bundle', async () => {
    const sim = new BigIpSimulator({ tls: { key: tls('device.key'), cert: tls('device.pem') } });
    const baseUrl = await sim.listen();
    cleanups.push(() => sim.close());
    const trusted = new BigIpRestClient({ name: 'tls', baseUrl, caBundle: tls('ca.pem') }, credentials);
    const untrusted = new BigIpRestClient(
      { name: 'tls', baseUrl, caBundle: tls('other-ca.pem') },
      credentials,
      {
        retries: 0,
      },
    );
    const system = new BigIpRestClient({ name: 'tls', baseUrl }, credentials, { retries: 0 });
    cleanups.push(
      () => trusted.close(),
      () => untrusted.close(),
      () => system.close(),
    );
    expect((await trusted.request('GET', '/mgmt/tm/sys/version')).status).toBe(200);
    for (const client of [untrusted, system]) {
      const error = await client.request('GET', '/mgmt/tm/sys/version').catch((e) => e);
      expect(error.message).toContain('certificate not trusted: check the CA bundle');
      expect(error.transient).toBe(false);
    }
  });

  it('signs every call with SigV4 when the endpoint goes through the IAM-authorised VPC link', async () => {
    const { sim, client } = await setup({
      endpoint: { signing: { region: 'us-east-1' } },
      client: { awsCredentials: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }) },
    });
    await client.request('GET', '/mgmt/tm/sys/version');
    expect(sim.calls.map((c) => c.signed)).toEqual([true, true]);
  });

  it('refuses unsafe names before any call, and escapes % as %25', async () => {
    const { sim, device } = await setup();
    await expect(
      device.read('P', [{ kind: 'pool', partition: 'P', name: 'a~Common~b' }]),
    ).rejects.toBeInstanceOf(UnsafeBigIpNameError);
    await expect(device.read('P', [{ kind: 'pool', partition: '../x', name: 'p' }])).rejects.toBeInstanceOf(
      UnsafeBigIpNameError,
    );
    expect(sim.callCount()).toBe(0);
    // A node the device made (route domain 2): read, then deleted, its name escaped both times.
    sim.store.create('sys/folder', { name: 'P' });
    sim.store.create('net/vlan', { name: 'vlan-2', tag: 2 });
    sim.store.create('net/route-domain', { name: 'rd-2', id: 2, vlans: ['vlan-2'] });
    sim.store.create('ltm/node', { name: '10.0.0.1%2', partition: 'P', address: '10.0.0.1%2' });
    await device.execute('P', {
      createFolder: true,
      commands: [],
      atomic: false,
      nodeCleanup: ['10.0.0.1%2'],
      removeFolder: false,
    });
    expect(sim.calls.map((c) => `${c.method} ${c.path}`)).toEqual(
      expect.arrayContaining([
        'GET /mgmt/tm/ltm/node/~P~10.0.0.1%252',
        'DELETE /mgmt/tm/ltm/node/~P~10.0.0.1%252',
      ]),
    );
  });

  it('keeps at most two configuration writes at the device, and never queues failover or sync calls behind other calls', async () => {
    let writesInFlight = 0;
    let mostWrites = 0;
    const answered: string[] = [];
    const held: (() => void)[] = [];
    let holding = true;
    // Configuration calls are held until the test lets them go; failover and sync calls answer at once.
    const server = createServer((req, res) => {
      const write = req.method !== 'GET';
      if (write) mostWrites = Math.max(mostWrites, ++writesInFlight);
      const answer = () => {
        if (write) writesInFlight -= 1;
        answered.push(`${req.method} ${req.url}`);
        res.setHeader('content-type', 'application/json');
        res.end('{}');
      };
      if (req.url?.startsWith('/mgmt/tm/cm') || !holding) answer();
      else held.push(answer);
    });
    const client = await clientOf(server);
    const anonymous = { anonymous: true };
    const busy = [
      ...Array.from({ length: 10 }, (_, i) =>
        client.request('POST', '/mgmt/tm/ltm/pool', { ...anonymous, body: { name: `p${i}` } }),
      ),
      ...Array.from({ length: 20 }, () => client.request('GET', '/mgmt/tm/ltm/pool', anonymous)),
    ];
    // Every socket for configuration calls is taken: two writes and six reads, the rest wait.
    await until(() => held.length === 8);
    await client.request('GET', '/mgmt/tm/cm/sync-status', anonymous);
    expect(answered).toEqual(['GET /mgmt/tm/cm/sync-status']);
    expect(mostWrites).toBe(2);
    holding = false;
    for (const answer of held.splice(0)) answer();
    await Promise.all(busy);
    expect(mostWrites).toBe(2);
    expect(answered.filter((a) => a.startsWith('POST'))).toHaveLength(10);
  });

  it('does not count a write’s wait for its turn against its timeout, but never sends one past its deadline', async () => {
    let now = 0;
    let received = 0;
    const held: (() => void)[] = [];
    const server = createServer((_req, res) => {
      received += 1;
      held.push(() => {
        res.setHeader('content-type', 'application/json');
        res.end('{}');
      });
    });
    // A 500 ms budget per request on the client's own clock; two writes at the device.
    const client = await clientOf(server, { timeoutMs: 10_000, deadlineMs: 500, clock: () => now });
    const results = Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        client.request('POST', '/mgmt/tm/ltm/pool', { anonymous: true, body: { name: `p${i}` } }),
      ),
    );
    await until(() => held.length === 2);
    // The second pair's turn comes 450 ms into its 500 ms budget: it still gets a whole attempt,
    // so held 100 ms (twice the 50 ms its budget had left) it goes through.
    now = 450;
    for (const answer of held.splice(0)) answer();
    await until(() => held.length === 2);
    await new Promise((r) => setTimeout(r, 100));
    // The third pair's turn comes past its budget: it is not sent at all.
    now = 600;
    for (const answer of held.splice(0)) answer();
    const settled = await results;
    expect(settled.map((r) => r.status)).toEqual([...Array(4).fill('fulfilled'), 'rejected', 'rejected']);
    const unsent = (settled[5] as PromiseRejectedResult).reason;
    expect(unsent.message).toContain('ENOTSENT');
    expect(unsent.transient).toBe(true);
    expect(received).toBe(4);
  });
});
