// biome-ignore-all lint/suspicious/noExplicitAny: F5’s client answers untyped JSON
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BigIpPair } from '../../local/bigip-simulator/bigip-pair.js';
import { BigIpSimulator } from '../../local/bigip-simulator/bigip-simulator.js';

/**
 * A client no one here wrote: F5's own Node.js library, @f5devcentral/f5-cloud-libs (devDependency),
 * unmodified, against the simulator over HTTPS. Where the two disagree, the simulator is wrong.
 */
const require = createRequire(import.meta.url);
const cloudLibs = require('@f5devcentral/f5-cloud-libs') as {
  bigIp: new () => F5BigIp;
  util: { NO_RETRY: unknown };
};

interface F5BigIp {
  cluster: {
    getCmSyncStatus(): Promise<{ connected: string[]; disconnected: string[] }>;
    syncComplete(retry?: unknown): Promise<unknown>;
  };
  init(host: string, user: string, password: string, options: Record<string, unknown>): Promise<unknown>;
  ready(retry?: unknown): Promise<unknown>;
  installPrivateKey(
    file: string,
    folder: string,
    name: string,
    options?: { passphrase?: string },
  ): Promise<unknown>;
  list(path: string, iControlOptions?: unknown, retry?: unknown): Promise<any>;
  create(path: string, body: unknown, iControlOptions?: unknown, retry?: unknown): Promise<any>;
  modify(path: string, body: unknown, iControlOptions?: unknown, retry?: unknown): Promise<any>;
  delete(path: string, body?: unknown, iControlOptions?: unknown, retry?: unknown): Promise<any>;
  transaction(commands: { method: string; path: string; body?: unknown }[]): Promise<any>;
}

const tls = (file: string) => readFileSync(join(import.meta.dirname, '..', 'fixtures', 'tls', file), 'utf8');
const NO_RETRY = cloudLibs.util.NO_RETRY;
let sim: BigIpSimulator;
let bigIp: F5BigIp;

beforeAll(async () => {
  sim = new BigIpSimulator({ tls: { key: tls('device.key'), cert: tls('device.pem') }, version: '15.1.0' });
  const port = Number(new URL(await sim.listen()).port);
  bigIp = new cloudLibs.bigIp();
  // init() logs in and waits for ready(): the echo, device-info, sys/cm availability, mcp-state and sys/ready checks.
  await bigIp.init('127.0.0.1', 'admin', 'admin', {
    port,
    product: 'BIG-IP',
    retry: { maxRetries: 0, retryIntervalMs: 10 },
  });
});

afterAll(async () => {
  await sim.close();
});

describe('F5’s own client (f5-cloud-libs 4.30) agrees with the simulator', () => {
  it('finds the device ready', async () => {
    await expect(bigIp.ready({ maxRetries: 0, retryIntervalMs: 10 })).resolves.toBeDefined();
    for (const path of [
      '/shared/echo/available',
      '/tm/sys/available',
      '/tm/cm/available',
      '/tm/sys/mcp-state',
    ])
      expect(sim.callCount({ path: new RegExp(path.replaceAll('/', '\\/')) })).toBeGreaterThan(0);
  });

  it('finds a 12.1 device ready without sys/ready, which it does not have (device-facts.md §7.12)', async () => {
    const old = new BigIpSimulator({
      tls: { key: tls('device.key'), cert: tls('device.pem') },
      version: '12.1.2',
    });
    const oldPort = Number(new URL(await old.listen()).port);
    try {
      const client = new cloudLibs.bigIp();
      await client.init('127.0.0.1', 'admin', 'admin', {
        port: oldPort,
        product: 'BIG-IP',
        retry: { maxRetries: 0, retryIntervalMs: 10 },
      });
      await expect(client.ready({ maxRetries: 0, retryIntervalMs: 10 })).resolves.toBeDefined();
      expect(old.callCount({ path: /\/tm\/sys\/mcp-state$/ })).toBeGreaterThan(0);
      expect(old.callCount({ path: /\/tm\/sys\/ready$/ })).toBe(0);
    } finally {
      await old.close();
    }
  });

  it('reads the device-wide sync status as F5’s client does: peers from the detail lines, complete only when every group is (device-facts.md §7.11)', async () => {
    const pair = BigIpPair.create({ tls: { key: tls('device.key'), cert: tls('device.pem') } });
    const [a] = await pair.listen();
    try {
      const client = new cloudLibs.bigIp();
      await client.init('127.0.0.1', 'admin', 'admin', {
        port: Number(new URL(a).port),
        product: 'BIG-IP',
        retry: { maxRetries: 0, retryIntervalMs: 10 },
      });
      expect(await client.cluster.getCmSyncStatus()).toEqual({
        connected: [pair.b.hostname],
        disconnected: [],
      });
      await expect(
        client.cluster.syncComplete({ maxRetries: 0, retryIntervalMs: 10 }),
      ).resolves.toBeUndefined();
      // Another group not in sync makes the whole device not in sync, for F5's client too.
      pair.setOtherGroup('sync-only-dg', 'Awaiting Initial Sync');
      await expect(client.cluster.syncComplete({ maxRetries: 0, retryIntervalMs: 10 })).rejects.toBeDefined();
    } finally {
      await pair.close();
    }
  });

  it('installs a private key into a partition by full path, as F5’s client does, and finds it as a partition’s key file', async () => {
    const key = tls('www.example.com.key');
    const bytes = Buffer.from(key);
    // The file must be on the device first (the client expects it there): an upload, over verified TLS.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = https.request(
        `${sim.baseUrl}/mgmt/shared/file-transfer/uploads/cl.key`,
        {
          method: 'POST',
          ca: tls('ca.pem'),
          headers: {
            authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}`,
            'content-type': 'application/octet-stream',
            'content-range': `0-${bytes.length - 1}/${bytes.length}`,
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode);
        },
      );
      req.on('error', reject);
      req.end(bytes);
    });
    expect(status).toBe(200);
    // The client deletes its local copy afterwards; a path that does not exist here is harmless.
    await bigIp.installPrivateKey('/var/config/rest/downloads/cl.key', 'T5', 'cl.key');
    const keys = await bigIp.list('/tm/sys/file/ssl-key', undefined, NO_RETRY);
    expect(keys.map((k: { fullPath: string }) => k.fullPath)).toContain('/T5/cl.key');
    expect(JSON.stringify(keys)).not.toContain('PRIVATE KEY');
    await bigIp.delete('/tm/sys/file/ssl-key/~T5~cl.key', undefined, undefined, NO_RETRY);
    await bigIp.delete('/tm/sys/folder/~T5', undefined, undefined, NO_RETRY);
  });

  it('creates, lists, modifies and deletes folders, monitors, pools, members, nodes, virtual addresses and virtuals', async () => {
    await bigIp.create('/tm/sys/folder', { name: 'T1', subPath: '/' }, undefined, NO_RETRY);
    await bigIp.create(
      '/tm/ltm/monitor/http',
      { name: 'mon', partition: 'T1', send: String.raw`GET / HTTP/1.0\r\n\r\n`, interval: 5, timeout: 16 },
      undefined,
      NO_RETRY,
    );
    await bigIp.create(
      '/tm/ltm/pool',
      { name: 'pool', partition: 'T1', monitor: '/T1/mon' },
      undefined,
      NO_RETRY,
    );
    await bigIp.create(
      '/tm/ltm/pool/~T1~pool/members',
      { name: '10.1.1.1:80', partition: 'Common' },
      undefined,
      NO_RETRY,
    );
    await bigIp.create(
      '/tm/ltm/virtual-address',
      { name: 'va', partition: 'T1', address: '10.2.2.2', autoDelete: 'false' },
      undefined,
      NO_RETRY,
    );
    await bigIp.create(
      '/tm/ltm/virtual',
      {
        name: 'vs',
        partition: 'T1',
        destination: '/T1/10.2.2.2:80',
        pool: '/T1/pool',
        profiles: ['/Common/http'],
      },
      undefined,
      NO_RETRY,
    );

    const pools = await bigIp.list('/tm/ltm/pool?$filter=partition%20eq%20T1', undefined, NO_RETRY);
    expect(pools.map((p: { fullPath: string }) => p.fullPath)).toEqual(['/T1/pool']);
    const members = await bigIp.list('/tm/ltm/pool/~T1~pool/members', undefined, NO_RETRY);
    expect(members.map((m: { fullPath: string }) => m.fullPath)).toEqual(['/Common/10.1.1.1:80']);
    const nodes = await bigIp.list('/tm/ltm/node', undefined, NO_RETRY);
    expect(nodes.map((n: { fullPath: string }) => n.fullPath)).toEqual(['/Common/10.1.1.1']);
    const vs = await bigIp.list('/tm/ltm/virtual/~T1~vs', undefined, NO_RETRY);
    expect(vs.destination).toBe('/T1/va:80');

    const modified = await bigIp.modify('/tm/ltm/pool/~T1~pool', { description: 'web' }, undefined, NO_RETRY);
    expect(modified.description).toBe('web');

    await bigIp.delete('/tm/ltm/virtual/~T1~vs', undefined, undefined, NO_RETRY);
    await bigIp.delete('/tm/ltm/virtual-address/~T1~va', undefined, undefined, NO_RETRY);
    await bigIp.delete('/tm/ltm/pool/~T1~pool/members/~Common~10.1.1.1:80', undefined, undefined, NO_RETRY);
    await bigIp.delete('/tm/ltm/node/~Common~10.1.1.1', undefined, undefined, NO_RETRY);
    await bigIp.delete('/tm/ltm/pool/~T1~pool', undefined, undefined, NO_RETRY);
    await bigIp.delete('/tm/ltm/monitor/http/~T1~mon', undefined, undefined, NO_RETRY);
    await bigIp.delete('/tm/sys/folder/~T1', undefined, undefined, NO_RETRY);
    expect(sim.partitions()).toEqual([]);
    expect(sim.dump()).toEqual({});
  });

  it('rejects what the device refuses, with the device’s message', async () => {
    const error = await bigIp
      .create('/tm/ltm/pool', { name: 'p', partition: 'Missing' }, undefined, NO_RETRY)
      .catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect(String((error as Error).message)).toContain('folder does not exist');
  });

  it('runs a transaction: enlisted in any order, committed as a whole', async () => {
    await bigIp.create('/tm/sys/folder', { name: 'T2', subPath: '/' }, undefined, NO_RETRY);
    const result = await bigIp.transaction([
      {
        method: 'create',
        path: '/tm/ltm/virtual',
        body: { name: 'vs', partition: 'T2', destination: '/T2/10.3.3.3:80', pool: '/T2/p' },
      },
      {
        method: 'create',
        path: '/tm/ltm/pool/~T2~p/members',
        body: { name: '10.3.3.4:80', partition: 'Common' },
      },
      { method: 'create', path: '/tm/ltm/pool', body: { name: 'p', partition: 'T2' } },
    ]);
    expect(result.state).toBe('COMPLETED');
    expect(sim.dump()['ltm/virtual']).toEqual([
      expect.objectContaining({ fullPath: '/T2/vs', pool: '/T2/p' }),
    ]);
    expect(sim.dump()['ltm/pool/members']).toEqual([
      expect.objectContaining({ fullPath: '/Common/10.3.3.4:80' }),
    ]);
  });

  it('creates a legacy LTM policy with rules, attaches it in one transaction, modifies and deletes it', async () => {
    await bigIp.create('/tm/sys/folder', { name: 'T3', subPath: '/' }, undefined, NO_RETRY);
    await bigIp.create('/tm/ltm/pool', { name: 'api', partition: 'T3' }, undefined, NO_RETRY);
    const rules = [
      {
        name: 'to_api',
        ordinal: 0,
        conditions: [
          { name: '0', httpUri: true, path: true, startsWith: true, request: true, values: ['/api'] },
        ],
        actions: [{ name: '0', forward: true, pool: '/T3/api', request: true }],
      },
    ];
    const result = await bigIp.transaction([
      {
        method: 'create',
        path: '/tm/ltm/virtual',
        body: {
          name: 'vs',
          partition: 'T3',
          destination: '/T3/10.4.4.4:80',
          profiles: ['/Common/http'],
          policies: [{ name: '/T3/pol' }],
        },
      },
      {
        method: 'create',
        path: '/tm/ltm/policy',
        body: {
          name: 'pol',
          partition: 'T3',
          legacy: true,
          strategy: 'first-match',
          requires: ['http'],
          rules,
        },
      },
    ]);
    expect(result.state).toBe('COMPLETED');
    const listed = await bigIp.list(
      '/tm/ltm/policy/~T3~pol/rules?expandSubcollections=true',
      undefined,
      NO_RETRY,
    );
    expect(listed[0].actionsReference.items[0]).toMatchObject({ forward: true, pool: '/T3/api' });
    await bigIp.modify('/tm/ltm/policy/~T3~pol', { legacy: true, rules: [] }, undefined, NO_RETRY);
    const error = await bigIp
      .delete('/tm/ltm/policy/~T3~pol', undefined, undefined, NO_RETRY)
      .catch((e: Error) => e);
    expect(String((error as Error).message)).toContain('in use by a Virtual Server');
    await bigIp.modify('/tm/ltm/virtual/~T3~vs', { policies: [] }, undefined, NO_RETRY);
    await bigIp.delete('/tm/ltm/policy/~T3~pol', undefined, undefined, NO_RETRY);
    expect(sim.dump()['ltm/policy']).toBeUndefined();
  });
});
