import { describe, expect, it } from 'vitest';
import { planApply, scopeFor } from '../../../functions/domain/bigip-apply-plan.js';
import type { BigIpObject, DeviceSnapshot } from '../../../functions/domain/bigip-objects.js';
import { translate } from '../../../functions/domain/bigip-translation.js';
import { listenerTlsFields, poolTlsFields } from '../../../functions/domain/octavia-tls.js';
import type { CertificateMaterial } from '../../../functions/domain/tls-translation.js';
import { TreeBuilder } from '../../support/trees.js';

const env = 'Project';
const served = (fingerprint: string): CertificateMaterial => ({
  certificate: 'CERT',
  privateKey: 'KEY',
  fingerprint,
  serverNames: ['www.example.com'],
});
const caBundle = (fingerprint: string): CertificateMaterial => ({
  certificate: 'CA CERT',
  fingerprint,
  serverNames: [],
});
const F1 = 'a'.repeat(64);
const CA = 'c'.repeat(64);
const F2 = 'e'.repeat(64);

const of = (objects: Iterable<BigIpObject>, kind: BigIpObject['kind']) =>
  [...objects].filter((o) => o.kind === kind);

describe('Octavia TLS fields (Octavia 11 validation)', () => {
  it('answers Octavia’s 400s for versions, ciphers and client authentication without a CA', () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ tls_versions: ['TLSv1.9'] }, 'TERMINATED_HTTPS', /Invalid TLS versions: TLSv1.9/],
      [{ tls_versions: [] }, 'TERMINATED_HTTPS', /Empty TLS version list/],
      [{ tls_ciphers: 'AES128;rm -rf' }, 'TERMINATED_HTTPS', /Invalid characters in cipher string/],
      [
        { client_authentication: 'MANDATORY' },
        'TERMINATED_HTTPS',
        /requires a client CA container reference/,
      ],
      [{ client_ca_tls_container_ref: 'x' }, 'HTTP', /must be provided with a client CA/],
      [{ client_ca_tls_container_ref: 'x' }, 'UDP', /UDP protocol listener does not support TLS/],
    ];
    for (const [body, protocol, message] of cases)
      expect(() => listenerTlsFields(body, protocol), JSON.stringify(body)).toThrow(
        expect.objectContaining({ status: 400, message: expect.stringMatching(message) }),
      );
  });

  it('keeps the fields of a TERMINATED_HTTPS listener and drops tuning a listener without TLS cannot apply', () => {
    expect(
      listenerTlsFields(
        { tls_versions: ['TLSv1.2'], client_authentication: 'OPTIONAL', client_ca_tls_container_ref: 'r' },
        'TERMINATED_HTTPS',
      ),
    ).toEqual({
      tls_versions: ['TLSv1.2'],
      client_authentication: 'OPTIONAL',
      client_ca_tls_container_ref: 'r',
    });
    expect(listenerTlsFields({ tls_versions: ['TLSv1.2'], tls_ciphers: 'DEFAULT' }, 'HTTP')).toEqual({});
    // An update is checked with what the listener keeps: MANDATORY with the stored CA is fine.
    expect(
      listenerTlsFields({ client_authentication: 'MANDATORY' }, 'TERMINATED_HTTPS', {
        client_ca_tls_container_ref: 'r',
      }),
    ).toEqual({ client_authentication: 'MANDATORY' });
  });

  it('refuses TLS to UDP members (400) and to PROXY or HTTPS pools (501), and checks versions of an enabled pool', () => {
    expect(() => poolTlsFields({ tls_enabled: true }, 'UDP')).toThrow(
      expect.objectContaining({ status: 400 }),
    );
    expect(() => poolTlsFields({ tls_enabled: true }, 'PROXY')).toThrow(
      expect.objectContaining({ status: 501 }),
    );
    expect(() => poolTlsFields({ tls_enabled: true }, 'HTTPS')).toThrow(
      expect.objectContaining({ status: 501 }),
    );
    expect(() => poolTlsFields({ tls_enabled: true, tls_versions: ['TLSv2'] }, 'HTTP')).toThrow(
      expect.objectContaining({ status: 400, message: expect.stringMatching(/Invalid TLS versions: TLSv2/) }),
    );
    expect(poolTlsFields({ tls_enabled: true, tls_versions: ['TLSv1.3'] }, 'HTTP')).toEqual({
      tls_enabled: true,
      tls_versions: ['TLSv1.3'],
    });
  });
});

describe('translate: listener TLS tuning and client authentication', () => {
  const setup = (
    object: Record<string, unknown>,
    lookup: Record<string, CertificateMaterial | { error: string }>,
  ) => {
    const b = new TreeBuilder();
    const ref = (n: string) => `lbaas/Project/${b.ids.tenantId}/${n}`;
    const listener = b.listener({
      protocol: 'TERMINATED_HTTPS',
      protocol_port: 443,
      default_tls_container_ref: ref('www'),
      ...Object.fromEntries(
        Object.entries(object).map(([k, v]) => [k, k.endsWith('_ref') ? ref(String(v)) : v]),
      ),
    });
    const certificates = new Map(Object.entries(lookup).map(([k, v]) => [ref(k), v]));
    return { b, listener, t: translate(b.tree(), { env, certificates }) };
  };

  it('writes the versions left out as options that turn them off, the cipher string, and require + the CA file for MANDATORY', () => {
    const { t, listener } = setup(
      {
        tls_versions: ['TLSv1.2', 'TLSv1.3'],
        tls_ciphers: 'ECDHE-RSA-AES256-GCM-SHA384',
        client_authentication: 'MANDATORY',
        client_ca_tls_container_ref: 'ca',
      },
      { www: served(F1), ca: caBundle(CA) },
    );
    const [profile] = of(t.present.values(), 'client-ssl');
    const caFiles = of(t.present.values(), 'ssl-cert').filter((o) => o.name.endsWith('_ca.crt'));
    expect(caFiles).toHaveLength(1);
    expect(caFiles[0]?.content).toBe('CA CERT');
    expect(profile?.attrs).toMatchObject({
      tmOptions: ['no-sslv3', 'no-tlsv1', 'no-tlsv1.1'],
      ciphers: 'ECDHE-RSA-AES256-GCM-SHA384',
      peerCertMode: 'require',
      caFile: `/${t.partition}/${caFiles[0]?.name}`,
    });
    // Owned by the listener, found by its prefix when stale.
    expect(t.owner.get(`ssl-cert/${t.partition}/${caFiles[0]?.name}`)).toBe(`listener#${listener.id}`);
  });

  it('maps OPTIONAL to request; a listener that sets nothing keeps the profile it always had', () => {
    const optional = setup(
      { client_authentication: 'OPTIONAL', client_ca_tls_container_ref: 'ca' },
      {
        www: served(F1),
        ca: caBundle(CA),
      },
    );
    expect(of(optional.t.present.values(), 'client-ssl')[0]?.attrs.peerCertMode).toBe('request');
    const plain = setup({}, { www: served(F1) });
    const [profile] = of(plain.t.present.values(), 'client-ssl');
    expect(profile?.attrs).not.toHaveProperty('peerCertMode');
    expect(profile?.attrs).not.toHaveProperty('tmOptions');
    // The settings are in the name: the same certificate with other settings is another profile.
    expect(profile?.name).not.toBe(of(optional.t.present.values(), 'client-ssl')[0]?.name);
  });

  it('refuses a listener whose CA cannot be read, and one that would serve a keyless certificate', () => {
    const gone = setup(
      { client_authentication: 'MANDATORY', client_ca_tls_container_ref: 'ca' },
      {
        www: served(F1),
        ca: { error: 'no such secret' },
      },
    );
    expect(gone.t.errors.get(`listener#${gone.listener.id}`)).toContain('no such secret');
    const keyless = setup({}, { www: caBundle(CA) });
    expect(keyless.t.errors.get(`listener#${keyless.listener.id}`)).toContain('has no private key');
  });
});

describe('translate: a pool with TLS to its members', () => {
  const setup = (
    poolTls: Record<string, unknown>,
    lookup: Record<string, CertificateMaterial | { error: string }>,
  ) => {
    const b = new TreeBuilder();
    const ref = (n: string) => `lbaas/Project/${b.ids.tenantId}/${n}`;
    const pool = b.pool({
      protocol: 'HTTP',
      ...Object.fromEntries(
        Object.entries(poolTls).map(([k, v]) => [k, k.endsWith('_ref') ? ref(String(v)) : v]),
      ),
    });
    const listener = b.listener({ protocol: 'HTTP', protocol_port: 80, default_pool_id: pool.id });
    const certificates = new Map(Object.entries(lookup).map(([k, v]) => [ref(k), v]));
    return { b, pool, listener, t: translate(b.tree(), { env, certificates }) };
  };

  it('is a server-ssl profile owned by the pool (client certificate, CA with require, versions), on the virtual using it', () => {
    const { t, pool } = setup(
      {
        tls_enabled: true,
        tls_container_ref: 'client',
        ca_tls_container_ref: 'ca',
        tls_versions: ['TLSv1.3'],
      },
      { client: served(F2), ca: caBundle(CA) },
    );
    const [profile] = of(t.present.values(), 'server-ssl');
    expect(profile).toBeDefined();
    expect(profile?.attrs).toMatchObject({
      defaultsFrom: '/Common/serverssl',
      peerCertMode: 'require',
      tmOptions: ['no-sslv3', 'no-tlsv1', 'no-tlsv1.1', 'no-tlsv1.2'],
    });
    expect(String(profile?.attrs.cert)).toMatch(/\.crt$/);
    expect(String(profile?.attrs.key)).toMatch(/\.key$/);
    expect(String(profile?.attrs.caFile)).toMatch(/_ca\.crt$/);
    expect(t.owner.get(`server-ssl/${t.partition}/${profile?.name}`)).toBe(`pool#${pool.id}`);
    const [vs] = of(t.present.values(), 'virtual');
    expect(vs?.attrs.profiles).toContain(`/${t.partition}/${profile?.name}`);
  });

  it('makes a TCP listener a full proxy (no fastL4) when its pool re-encrypts', () => {
    const b = new TreeBuilder();
    const pool = b.pool({ protocol: 'TCP', tls_enabled: true });
    b.listener({ protocol: 'TCP', protocol_port: 443, default_pool_id: pool.id });
    const t = translate(b.tree(), { env });
    const [vs] = of(t.present.values(), 'virtual');
    const profiles = vs?.attrs.profiles as string[];
    expect(profiles).not.toContain('/Common/fastL4');
    expect(profiles).toContain('/Common/tcp');
    expect(profiles.some((p) => p.endsWith('_p'))).toBe(true);
  });

  it('holds the pool and its listener as they are when the pool’s certificate cannot be read', () => {
    const { t, pool, listener } = setup(
      { tls_enabled: true, tls_container_ref: 'client' },
      { client: { error: 'gone' } },
    );
    expect(t.errors.get(`pool#${pool.id}`)).toContain('gone');
    expect(t.errors.get(`listener#${listener.id}`)).toContain(`default pool ${pool.id} is not applied`);
    expect(of(t.present.values(), 'virtual')).toEqual([]);
  });

  it('refuses a listener whose L7 policies send to a pool with other TLS to members (one server-ssl per virtual)', () => {
    const b = new TreeBuilder();
    const plain = b.pool({ protocol: 'HTTP' });
    const tlsPool = b.pool({ protocol: 'HTTP', tls_enabled: true });
    const listener = b.listener({ protocol: 'HTTP', protocol_port: 80, default_pool_id: plain.id });
    b.l7policy(listener.id, { action: 'REDIRECT_TO_POOL', redirect_pool_id: tlsPool.id });
    const t = translate(b.tree(), { env });
    expect(t.errors.get(`listener#${listener.id}`)).toMatch(/one server-ssl profile/);
  });

  it('removes a replaced server-ssl profile after the virtual lets go of it (stale by the pool’s prefix)', () => {
    const { b, t, pool } = setup({ tls_enabled: true, tls_versions: ['TLSv1.2'] }, {});
    const [profile] = of(t.present.values(), 'server-ssl');
    const stale: BigIpObject = {
      ...(profile as BigIpObject),
      name: `${profile?.name.slice(0, -14)}000000000000_p`,
    };
    const snapshot: DeviceSnapshot = {
      folderExists: true,
      objects: new Map(),
      poolMembers: new Map(),
      tlsListed: [stale],
    };
    const scope = scopeFor(b.tree(), t, { resource: 'pool', id: pool.id, operation: 'update' });
    const plan = planApply(t, scope, snapshot);
    const deletes = plan.commands.filter((c) => c.op === 'delete').map((c) => c.object.name);
    expect(deletes).toContain(stale.name);
    const order = plan.commands.map((c) => `${c.op}:${c.object.kind}`);
    expect(order.indexOf('delete:server-ssl')).toBeGreaterThan(order.lastIndexOf('create:virtual'));
  });
});
