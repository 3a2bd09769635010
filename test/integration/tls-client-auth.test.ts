import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CertificateBundle } from '../../functions/domain/ports.js';
import { lbIds, requests } from '../support/factories.js';
import { type systemHarness, systemsClosedAfterEach } from '../support/system-harness.js';

type System = Awaited<ReturnType<typeof systemHarness>>;
const system = systemsClosedAfterEach();

const fixture = (file: string) =>
  readFileSync(join(import.meta.dirname, '..', 'fixtures', 'tls', file), 'utf8');
const site = (name: string): CertificateBundle => ({
  certificate: fixture(`${name}.example.com.pem`),
  private_key: fixture(`${name}.example.com.key`),
  intermediates: fixture('sites-ca.pem'),
});
/** A CA bundle: a certificate and no key (what client_ca_tls_container_ref and ca_tls_container_ref name). */
const caOnly: CertificateBundle = { certificate: fixture('sites-ca.pem') };
const dump = (s: System, collection: string) =>
  (s.sim.dump()[collection] ?? []) as ({ fullPath: string } & Record<string, unknown>)[];
const writes = (s: System) =>
  s.sim.calls.filter((c) => c.method !== 'GET' && !c.path.includes('/authn/') && !c.path.endsWith('/cm'));

describe('client authentication and TLS tuning on the device (simulator)', () => {
  it('MANDATORY puts peerCertMode require and the CA file on the listener’s client-ssl profile; NONE takes them off and removes the file', async () => {
    const s = await system();
    const ids = lbIds();
    const ref = (name: string) => `lbaas/Test/${ids.tenantId}/${name}`;
    await s.certificates.put(ref('www'), site('www'));
    await s.certificates.put(ref('clients'), caOnly);
    const pool = requests.createPool(ids);
    const listener = requests.createListener(ids, {
      protocol: 'TERMINATED_HTTPS',
      protocol_port: 443,
      default_pool_id: pool.object.id,
      default_tls_container_ref: ref('www'),
      client_authentication: 'MANDATORY',
      client_ca_tls_container_ref: ref('clients'),
      tls_versions: ['TLSv1.2', 'TLSv1.3'],
      tls_ciphers: 'ECDHE-RSA-AES128-GCM-SHA256',
    });
    const listenerId = listener.object.id as string;
    await s.submitAndSettle(requests.createLoadbalancer(ids), pool, listener);
    const records = await s.resources.loadRecords(ids.loadbalancerId);
    expect(records.map((r) => r.provisioningStatus)).toEqual(records.map(() => 'ACTIVE'));
    const [profile] = dump(s, 'ltm/profile/client-ssl').filter((p) => !p.fullPath.startsWith('/Common/'));
    const caFile = dump(s, 'sys/file/ssl-cert').find((f) => f.fullPath.endsWith('_ca.crt'));
    expect(caFile).toBeDefined();
    expect(profile).toMatchObject({
      peerCertMode: 'require',
      caFile: caFile?.fullPath,
      tmOptions: ['no-sslv3', 'no-tlsv1', 'no-tlsv1.1'],
      ciphers: 'ECDHE-RSA-AES128-GCM-SHA256',
    });
    expect(writes(s).filter((c) => c.status >= 400)).toEqual([]);

    // Converged: applied again, nothing is written.
    s.sim.resetCalls();
    expect(await s.applyAgain(ids, 'listener', listenerId)).toMatchObject({
      outcome: 'applied',
      commands: 0,
    });
    expect(writes(s)).toEqual([]);

    // NONE (the CA reference removed): a profile without them, the old one and the CA file gone after the switch.
    await s.submitAndSettle(
      requests.update('listener', ids, {
        id: listenerId,
        client_authentication: 'NONE',
        client_ca_tls_container_ref: null,
      }),
    );
    const after = dump(s, 'ltm/profile/client-ssl').filter((p) => !p.fullPath.startsWith('/Common/'));
    expect(after).toHaveLength(1);
    expect(after[0]?.fullPath).not.toBe(profile?.fullPath);
    expect(after[0]).not.toHaveProperty('peerCertMode');
    expect(dump(s, 'sys/file/ssl-cert').filter((f) => f.fullPath.endsWith('_ca.crt'))).toEqual([]);
  });

  it('a pool with TLS to members gets a server-ssl profile of its own on the virtual; turned off or deleted, nothing of it is left', async () => {
    const s = await system();
    const ids = lbIds();
    const ref = (name: string) => `lbaas/Test/${ids.tenantId}/${name}`;
    await s.certificates.put(ref('client'), site('a'));
    await s.certificates.put(ref('members-ca'), caOnly);
    const pool = requests.createPool(ids, {
      tls_enabled: true,
      tls_container_ref: ref('client'),
      ca_tls_container_ref: ref('members-ca'),
      tls_versions: ['TLSv1.3'],
    });
    const poolId = pool.object.id as string;
    const listener = requests.createListener(ids, {
      protocol: 'HTTP',
      protocol_port: 80,
      default_pool_id: poolId,
    });
    await s.submitAndSettle(
      requests.createLoadbalancer(ids),
      pool,
      requests.createMember(ids, poolId, { address: '10.9.0.1', protocol_port: 443 }),
      listener,
    );
    const ours = () => dump(s, 'ltm/profile/server-ssl').filter((p) => !p.fullPath.startsWith('/Common/'));
    const [profile] = ours();
    expect(profile).toMatchObject({
      defaultsFrom: '/Common/serverssl',
      peerCertMode: 'require',
      tmOptions: ['no-sslv3', 'no-tlsv1', 'no-tlsv1.1', 'no-tlsv1.2'],
    });
    for (const field of ['cert', 'key', 'caFile'])
      expect(String(profile?.[field]), field).toMatch(new RegExp(`^/Test_${ids.tenantId}/`));
    const virtual = dump(s, 'ltm/virtual').find((v) =>
      v.fullPath.endsWith(listener.object.id as string),
    ) as unknown as {
      profiles: { name: string; context?: string }[];
    };
    expect(virtual.profiles.map((p) => p.name)).toContain(profile?.fullPath);

    s.sim.resetCalls();
    expect(await s.applyAgain(ids, 'pool', poolId)).toMatchObject({ outcome: 'applied', commands: 0 });
    expect(writes(s)).toEqual([]);

    // Off: the virtual lets go of it, then the profile and its files are removed.
    await s.submitAndSettle(requests.update('pool', ids, { id: poolId, tls_enabled: false }));
    expect(ours()).toEqual([]);
    const files = [...dump(s, 'sys/file/ssl-cert'), ...dump(s, 'sys/file/ssl-key')];
    expect(files.filter((f) => f.fullPath.startsWith(`/Test_${ids.tenantId}/`))).toEqual([]);
    const vsAfter = dump(s, 'ltm/virtual').find((v) =>
      v.fullPath.endsWith(listener.object.id as string),
    ) as unknown as {
      profiles: { name: string }[];
    };
    expect(vsAfter.profiles.map((p) => p.name)).not.toContain(profile?.fullPath);

    // On again, then the whole load balancer deleted: nothing of ours is left.
    await s.submitAndSettle(requests.update('pool', ids, { id: poolId, tls_enabled: true }));
    expect(ours()).toHaveLength(1);
    await s.submitAndSettle(requests.delete('loadbalancer', ids, ids.loadbalancerId));
    expect(ours()).toEqual([]);
  });
});
