import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { CertificateBundle } from '../../functions/domain/ports.js';
import { lbIds, requests, uuid } from '../support/factories.js';
import { captureMetrics } from '../support/scheduler-harness.js';
import { type systemHarness, systemsClosedAfterEach } from '../support/system-harness.js';

type System = Awaited<ReturnType<typeof systemHarness>>;
const system = systemsClosedAfterEach();

const fixture = (file: string) =>
  readFileSync(join(import.meta.dirname, '..', 'fixtures', 'tls', file), 'utf8');
const bundle = (site: string, key = `${site}.example.com.key`, passphrase?: string): CertificateBundle => ({
  certificate: fixture(`${site}.example.com.pem`),
  private_key: fixture(key),
  intermediates: fixture('sites-ca.pem'),
  ...(passphrase ? { passphrase } : {}),
});
const writes = (s: System) =>
  s.sim.calls.filter((c) => c.method !== 'GET' && !c.path.includes('/authn/') && !c.path.endsWith('/cm'));
const names = (s: System, collection: string) =>
  ((s.sim.dump()[collection] ?? []) as { fullPath: string }[]).map((o) => o.fullPath.split('/').pop()).sort();

async function tlsSite(s: System) {
  const ids = lbIds();
  const ref = (name: string) => `lbaas/Test/${ids.tenantId}/${name}`;
  await s.certificates.put(ref('www'), bundle('www'));
  await s.certificates.put(ref('a'), bundle('a'));
  await s.certificates.put(ref('b'), bundle('b'));
  const pool = requests.createPool(ids);
  const listener = requests.createListener(ids, {
    protocol: 'TERMINATED_HTTPS',
    protocol_port: 443,
    default_pool_id: pool.object.id,
    default_tls_container_ref: ref('www'),
    sni_container_refs: [ref('a'), ref('b')],
  });
  await s.submitAndSettle(
    requests.createLoadbalancer(ids),
    pool,
    requests.createMember(ids, pool.object.id as string, { address: '10.9.0.1', protocol_port: 80 }),
    listener,
  );
  return { ids, ref, listenerId: listener.object.id as string };
}

describe('TERMINATED_HTTPS: certificates from the store onto the device, SNI, rotation', () => {
  it('uploads and installs each certificate, key and chain, and builds a client-ssl profile per certificate', async () => {
    const s = await system();
    s.sim.resetCalls();
    const { ids, listenerId } = await tlsSite(s);
    const records = await s.resources.loadRecords(ids.loadbalancerId);
    expect(records.map((r) => r.provisioningStatus)).toEqual(records.map(() => 'ACTIVE'));
    // Nothing of a certificate is recorded but its reference.
    expect(JSON.stringify(records)).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);

    const profiles = s.sim.dump()['ltm/profile/client-ssl'] as {
      fullPath: string;
      sniDefault: boolean;
      serverName?: string;
      certKeyChain: { cert: string; key: string; chain: string }[];
    }[];
    expect(profiles.map((p) => [p.sniDefault, p.serverName ?? null]).sort()).toEqual([
      [false, 'a.example.com'],
      [false, 'b.example.com'],
      [true, null],
    ]);
    expect(names(s, 'sys/file/ssl-key')).toHaveLength(3);
    expect(names(s, 'sys/file/ssl-cert')).toHaveLength(6); // three certificates and their chains
    const virtual = (
      s.sim.dump()['ltm/virtual'] as { fullPath: string; profiles: { name: string }[] }[]
    ).find((v) => v.fullPath.endsWith(listenerId));
    expect(virtual?.profiles.map((p) => p.name)).toEqual(
      expect.arrayContaining([...profiles.map((p) => p.fullPath), '/Common/http']),
    );
    // Nine files (each certificate, key and chain; names follow the bundle), each uploaded in one
    // chunk and created in the tenant's partition from the upload (sys/file with sourcePath, the
    // evidenced way: device-facts.md §7.8), before the change that uses them.
    expect(s.sim.calls.filter((c) => c.path.startsWith('/mgmt/shared/file-transfer/uploads/'))).toHaveLength(
      9,
    );
    expect(
      s.sim.calls.filter((c) => c.method === 'POST' && /\/sys\/file\/ssl-(cert|key)$/.test(c.path)),
    ).toHaveLength(9);
    expect(s.sim.calls.filter((c) => c.path.includes('/sys/crypto/'))).toEqual([]);
    const P = `Test_${ids.tenantId}`;
    const files = [
      ...(s.sim.dump()['sys/file/ssl-cert'] ?? []),
      ...(s.sim.dump()['sys/file/ssl-key'] ?? []),
    ] as {
      fullPath: string;
      sourcePath: string;
    }[];
    expect(files.every((f) => f.fullPath.startsWith(`/${P}/`))).toBe(true);
    expect(
      files.every((f) => f.sourcePath === `file:///var/config/rest/downloads/${f.fullPath.split('/').pop()}`),
    ).toBe(true);
    expect(writes(s).filter((c) => c.status >= 400)).toEqual([]);

    // Applied again, nothing is written.
    s.sim.resetCalls();
    const again = await s.applyAgain(ids, 'listener', listenerId);
    expect(again).toMatchObject({ outcome: 'applied', commands: 0 });
    expect(writes(s)).toEqual([]);
  });

  it('rotates a certificate picked up by an update of the listener: new objects, the switch, the old ones removed', async () => {
    const s = await system();
    const { ids, ref, listenerId } = await tlsSite(s);
    const before = { certs: names(s, 'sys/file/ssl-cert'), keys: names(s, 'sys/file/ssl-key') };
    // The same certificate with its key now encrypted: other content, so other names.
    await s.certificates.put(ref('a'), bundle('a', 'a.example.com.enc.key', 'test-passphrase'));
    s.sim.resetCalls();
    await s.submitAndSettle(requests.update('listener', ids, { id: listenerId, name: 'rotated' }));
    const after = { certs: names(s, 'sys/file/ssl-cert'), keys: names(s, 'sys/file/ssl-key') };
    expect(after.keys).toHaveLength(3);
    expect(after.keys.filter((k) => !before.keys.includes(k))).toHaveLength(1);
    expect(after.certs.filter((k) => !before.certs.includes(k))).toHaveLength(2);
    expect(before.certs.filter((k) => !after.certs.includes(k))).toHaveLength(2);
    // Upload and install the new files, one transaction (new profile, the virtual switches, the old
    // profile goes), then the old files.
    const order = writes(s).map((c) => `${c.method} ${c.path.replace(/\/~.*$|\/uploads\/.*$|\/\d+$/, '')}`);
    expect(order).toEqual([
      'POST /mgmt/shared/file-transfer',
      'POST /mgmt/tm/sys/file/ssl-cert',
      'POST /mgmt/shared/file-transfer',
      'POST /mgmt/tm/sys/file/ssl-cert',
      'POST /mgmt/shared/file-transfer',
      'POST /mgmt/tm/sys/file/ssl-key',
      'POST /mgmt/tm/transaction',
      'POST /mgmt/tm/ltm/profile/client-ssl',
      'PATCH /mgmt/tm/ltm/virtual',
      'DELETE /mgmt/tm/ltm/profile/client-ssl',
      'PATCH /mgmt/tm/transaction',
      'DELETE /mgmt/tm/sys/file/ssl-key',
      'DELETE /mgmt/tm/sys/file/ssl-cert',
      'DELETE /mgmt/tm/sys/file/ssl-cert',
    ]);
    const profile = (
      s.sim.dump()['ltm/profile/client-ssl'] as {
        serverName?: string;
        certKeyChain: { passphrase?: string }[];
      }[]
    ).find((p) => p.serverName === 'a.example.com');
    // The passphrase went to the device, which shows it only encrypted.
    expect(profile?.certKeyChain[0]?.passphrase).toBe('$M$simulated-encrypted');
  });

  it('serves an RSA and an ECDSA certificate for one host from one SNI profile (two profiles would be refused: 0107149e)', async () => {
    const s = await system();
    const ids = lbIds();
    const ref = (name: string) => `lbaas/Test/${ids.tenantId}/${name}`;
    await s.certificates.put(ref('www'), bundle('www'));
    await s.certificates.put(ref('a-rsa'), bundle('a'));
    await s.certificates.put(ref('a-ec'), {
      certificate: fixture('a.example.com.ec.pem'),
      private_key: fixture('a.example.com.ec.key'),
    });
    const listener = requests.createListener(ids, {
      protocol: 'TERMINATED_HTTPS',
      protocol_port: 443,
      default_tls_container_ref: ref('www'),
      sni_container_refs: [ref('a-rsa'), ref('a-ec')],
    });
    await s.submitAndSettle(requests.createLoadbalancer(ids), listener);
    const records = await s.resources.loadRecords(ids.loadbalancerId);
    expect(
      records.map((r) => `${r.type} ${r.provisioningStatus} ${r.statusReason ?? ''}`.trim()).sort(),
    ).toEqual(['listener ACTIVE', 'loadbalancer ACTIVE']);
    const profiles = s.sim.dump()['ltm/profile/client-ssl'] as {
      sniDefault: boolean;
      serverName?: string;
      certKeyChain: { cert: string; key: string }[];
    }[];
    const sni = profiles.filter((p) => !p.sniDefault);
    expect(sni.map((p) => [p.serverName, p.certKeyChain.length])).toEqual([['a.example.com', 2]]);
    expect(writes(s).filter((c) => c.status >= 400)).toEqual([]);
    s.sim.resetCalls();
    expect(await s.applyAgain(ids, 'listener', listener.object.id as string)).toMatchObject({
      outcome: 'applied',
      commands: 0,
    });
    expect(writes(s)).toEqual([]);
  });

  it('refuses two certificates of one key type for one host before the device, with the reason', async () => {
    const s = await system();
    const ids = lbIds();
    const ref = (name: string) => `lbaas/Test/${ids.tenantId}/${name}`;
    await s.certificates.put(ref('www'), bundle('www'));
    await s.certificates.put(ref('a'), bundle('a'));
    await s.certificates.put(ref('a-locked'), bundle('a', 'a.example.com.enc.key', 'test-passphrase'));
    await s.submitAndSettle(requests.createLoadbalancer(ids));
    s.sim.resetCalls();
    const listener = requests.createListener(ids, {
      protocol: 'TERMINATED_HTTPS',
      protocol_port: 443,
      default_tls_container_ref: ref('www'),
      sni_container_refs: [ref('a'), ref('a-locked')],
    });
    await s.submitAndSettle(listener);
    const records = await s.resources.loadRecords(ids.loadbalancerId);
    expect(records.find((r) => r.id === listener.object.id)).toMatchObject({
      provisioningStatus: 'ERROR',
      statusReason: expect.stringMatching(/all serve a\.example\.com with rsa\/rsa keys/),
    });
    // Nothing reached the device for it.
    expect(writes(s)).toEqual([]);
  });

  it('puts a listener whose certificate cannot be read in ERROR with the reason, and refuses another project’s', async () => {
    const s = await system();
    const ids = lbIds();
    const listener = requests.createListener(ids, {
      protocol: 'TERMINATED_HTTPS',
      protocol_port: 443,
      default_tls_container_ref: `lbaas/Test/${ids.tenantId}/missing`,
    });
    const other = requests.createListener(ids, {
      protocol: 'TERMINATED_HTTPS',
      protocol_port: 8443,
      default_tls_container_ref: `lbaas/Test/${lbIds().tenantId}/theirs`,
    });
    const { metrics } = await captureMetrics(() =>
      s.submitAndSettle(requests.createLoadbalancer(ids), listener, other),
    );
    expect(metrics.filter((m) => m.name === 'RejectedRequests').map((m) => m.dimensions.Reason)).toEqual([
      'tenant-mismatch',
    ]);
    const records = await s.resources.loadRecords(ids.loadbalancerId);
    expect(records.find((r) => r.id === listener.object.id)).toMatchObject({
      provisioningStatus: 'ERROR',
      statusReason: expect.stringMatching(
        /certificate lbaas\/Test\/.*\/missing cannot be read: no such certificate/,
      ),
    });
    expect(records.find((r) => r.id === other.object.id)).toBeUndefined();
    expect(s.sim.dump()['ltm/profile/client-ssl']).toBeUndefined();
  });

  it('removes every certificate, key and profile with the listener', async () => {
    const s = await system();
    const { ids, listenerId } = await tlsSite(s);
    await s.submitAndSettle(requests.delete('listener', ids, listenerId));
    const dump = s.sim.dump();
    expect([dump['ltm/profile/client-ssl'], dump['sys/file/ssl-cert'], dump['sys/file/ssl-key']]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    expect(writes(s).filter((c) => c.status >= 400)).toEqual([]);
  });

  it('removes everything, TLS files and LTM policy included, with the load balancer, and its partition last', async () => {
    const s = await system();
    const { ids, listenerId } = await tlsSite(s);
    const p = requests.createL7Policy(ids, listenerId);
    await s.submitAndSettle(p, requests.createL7Rule(ids, p.object.id as string));
    await s.submitAndSettle(requests.delete('loadbalancer', ids, ids.loadbalancerId));
    expect(s.sim.partitions()).toEqual([]);
    expect(s.sim.dump()).toEqual({});
    expect(writes(s).filter((c) => c.status >= 400)).toEqual([]);
    expect(await s.resources.loadRecords(ids.loadbalancerId)).toEqual([]);
  });

  it('never logs key material, at the most verbose level, through a rotation and a refusal', async () => {
    const level = process.env.POWERTOOLS_LOG_LEVEL;
    process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
    const written: string[] = [];
    const capture = (stream: NodeJS.WriteStream) => {
      const original = stream.write.bind(stream);
      stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        written.push(String(chunk));
        return original(chunk as string, ...(rest as []));
      }) as typeof stream.write;
      return () => {
        stream.write = original;
      };
    };
    const restore = [capture(process.stdout), capture(process.stderr)];
    try {
      const s = await system();
      const { ids, ref, listenerId } = await tlsSite(s);
      await s.certificates.put(ref('a'), bundle('a', 'a.example.com.enc.key', 'test-passphrase'));
      await s.submitAndSettle(requests.update('listener', ids, { id: listenerId, name: 'rotated' }));
      // A refused profile (its key missing on the device) logs the device's words, not the request body.
      await s.submitAndSettle(
        requests.createListener(ids, {
          protocol: 'TERMINATED_HTTPS',
          protocol_port: 8443,
          default_tls_container_ref: ref('missing'),
        }),
      );
    } finally {
      for (const r of restore) r();
      process.env.POWERTOOLS_LOG_LEVEL = level;
    }
    const log = written.join('');
    expect(log.length).toBeGreaterThan(1000); // the agents did log, at DEBUG
    expect(log).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE|test-passphrase/);
  });

  it('finds a lost LTM policy, profile, certificate and key named like ours, and removes them when told', async () => {
    const s = await system();
    const { ids } = await tlsSite(s);
    const P = `Test_${ids.tenantId}`;
    const lost = {
      policy: `wrapper_policy_${uuid()}`,
      cert: 'Test_00112233445566aa_bbccddeeff00.crt',
      key: 'Test_00112233445566aa_bbccddeeff00.key',
      profile: 'Test_00112233445566aa_bbccddeeff00_d',
    };
    const store = s.sim.store;
    store.insert(
      'ltm/policy',
      `/${P}/${lost.policy}`,
      store.make(lost.policy, P, { status: 'legacy', rules: [] }),
    );
    store.insert('sys/file/ssl-cert', `/${P}/${lost.cert}`, store.make(lost.cert, P, { content: 'x' }));
    store.insert('sys/file/ssl-key', `/${P}/${lost.key}`, store.make(lost.key, P, { content: 'x' }));
    const profile = store.make(lost.profile, P, {
      defaultsFrom: '/Common/clientssl',
      certKeyChain: [{ name: 'default', cert: `/${P}/${lost.cert}`, key: `/${P}/${lost.key}` }],
    });
    store.insert('ltm/profile/client-ssl', `/${P}/${lost.profile}`, profile);
    const { reconciler } = s.reconciler();
    const reads = vi.spyOn(s.certificates, 'read');
    const run = await reconciler.run({ dryRun: false, orphans: 'remove' });
    if (run.outcome === 'skipped') throw new Error(run.reason);
    // Compared and searched for orphans, each certificate was read once in the run.
    expect(reads.mock.calls.map(([ref]) => ref.split('/').pop()).sort()).toEqual(['a', 'b', 'www']);
    expect(run.orphans.flatMap((o) => o.objects.map((x) => x.path)).sort()).toEqual(
      [lost.cert, lost.key, lost.policy, lost.profile].map((n) => `/${P}/${n}`).sort(),
    );
    const dump = JSON.stringify(s.sim.dump());
    for (const name of Object.values(lost)) expect(dump).not.toContain(name);
    // What the listener uses is all still there.
    expect((s.sim.dump()['ltm/profile/client-ssl'] as unknown[]).length).toBe(3);
  });

  it('keeps what a listener serves when its certificate becomes unreadable, even when removing orphans', async () => {
    const s = await system();
    const { ref } = await tlsSite(s);
    const before = JSON.stringify(s.sim.dump());
    writeFileSync(join(s.certificates.directory, `${ref('a').replaceAll('/', '__')}.json`), 'not json');
    const { reconciler } = s.reconciler();
    const run = await reconciler.run({ dryRun: false, orphans: 'remove' });
    if (run.outcome === 'skipped') throw new Error(run.reason);
    expect(run.orphans).toEqual([]);
    expect(JSON.stringify(s.sim.dump())).toBe(before);
  });

  it('on an HA pair: the files go to the active unit, config-sync carries certificates, keys, profiles and the LTM policy to the peer', async () => {
    const s = await system({ pair: true, deviceGroup: 'failover-group', hosts: ['agent-1'] });
    const pair = s.pair as NonNullable<System['pair']>;
    const { ids, listenerId } = await tlsSite(s);
    const policy = requests.createL7Policy(ids, listenerId);
    await s.submitAndSettle(policy, requests.createL7Rule(ids, policy.object.id as string));
    const records = await s.resources.loadRecords(ids.loadbalancerId);
    expect(records.map((r) => r.provisioningStatus)).toEqual(records.map(() => 'ACTIVE'));
    expect(pair.b.calls.filter((c) => c.path.includes('file-transfer'))).toEqual([]);
    expect(pair.b.dump()['ltm/profile/client-ssl']).toHaveLength(3);
    expect(pair.b.dump()['ltm/policy']).toHaveLength(1);
    expect(pair.a.dump()).toEqual(pair.b.dump());
  });
});
