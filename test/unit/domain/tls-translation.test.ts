import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { materialFrom } from '../../../functions/adapters/certificate-material.js';
import { planApply, scopeFor } from '../../../functions/domain/bigip-apply-plan.js';
import { type BigIpObject, type DeviceSnapshot, objectKey } from '../../../functions/domain/bigip-objects.js';
import { translate } from '../../../functions/domain/bigip-translation.js';
import { completions } from '../../../functions/domain/status-completion.js';
import type { CertificateMaterial } from '../../../functions/domain/tls-translation.js';
import { TreeBuilder } from '../../support/trees.js';

const env = 'Project';
const tls = (f: string) => readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'tls', f), 'utf8');
const material = (fingerprint: string, serverNames: string[]): CertificateMaterial => ({
  certificate: 'CERT',
  privateKey: 'KEY',
  fingerprint,
  serverNames,
});

describe('translate: a TERMINATED_HTTPS listener', () => {
  const setup = (lookup: Map<string, CertificateMaterial | { error: string }>) => {
    const b = new TreeBuilder();
    const ref = (n: string) => `lbaas/Project/${b.ids.tenantId}/${n}`;
    const listener = b.listener({
      protocol: 'TERMINATED_HTTPS',
      protocol_port: 443,
      default_tls_container_ref: ref('www'),
      sni_container_refs: [ref('a')],
    });
    const certificates = new Map([...lookup].map(([k, v]) => [ref(k), v]));
    return { b, listener, t: translate(b.tree(), { env, certificates }) };
  };

  it('puts the listener’s L7 policies and rules in ERROR with it when a certificate cannot be read, and sends none of them (#27.6)', () => {
    const b = new TreeBuilder();
    const listener = b.listener({
      protocol: 'TERMINATED_HTTPS',
      protocol_port: 443,
      default_tls_container_ref: `lbaas/Project/${b.ids.tenantId}/gone`,
    });
    const policy = b.l7policy(listener.id, { action: 'REJECT' });
    const rule = b.l7rule(policy.id, { type: 'PATH', compare_type: 'STARTS_WITH', value: '/admin' });
    const certificates = new Map([[`lbaas/Project/${b.ids.tenantId}/gone`, { error: 'no such secret' }]]);
    const t = translate(b.tree(), { env, certificates });
    expect(t.errors.get(`listener#${listener.id}`)).toContain('no such secret');
    for (const r of [policy, rule])
      expect(t.errors.get(`${r.type}#${r.id}`)).toBe(
        `listener ${listener.id} is not applied: ${t.errors.get(`listener#${listener.id}`)}`,
      );
    expect([...t.present.values()].filter((o) => o.kind === 'ltm-policy')).toEqual([]);
    // What the listener still has on a device stays, its LTM policy included.
    expect(t.held).toContain(`wrapper_policy_${listener.id}`);
    // So no apply reports them ACTIVE: every pending object is settled ERROR.
    const outcomes = completions(
      b.tree(),
      t,
      scopeFor(b.tree(), t, { resource: 'loadbalancer', id: b.ids.loadbalancerId, operation: 'sync' }),
      [],
    );
    for (const r of [listener, policy, rule])
      expect(outcomes.find((o) => o.record.id === r.id)?.kind, r.type).toBe('error');
  });

  it('names certificate, key and profile after the content, the default one sniDefault, the SNI one with its host', () => {
    const { listener, t } = setup(
      new Map([
        ['www', material('aaaaaaaaaaaa1111', ['www.example.com'])],
        ['a', material('bbbbbbbbbbbb2222', ['a.example.com'])],
      ]),
    );
    const P = t.partition;
    const prefix = `Project_${listener.id.replaceAll('-', '').slice(0, 16)}_`;
    const objects = [...t.present.values()].filter((o) =>
      ['ssl-cert', 'ssl-key', 'client-ssl'].includes(o.kind),
    );
    expect(objects.map((o) => `${o.kind} ${o.name}`).sort()).toEqual(
      [
        `client-ssl ${prefix}aaaaaaaaaaaa_d`,
        `client-ssl ${prefix}bbbbbbbbbbbb_s`,
        `ssl-cert ${prefix}aaaaaaaaaaaa.crt`,
        `ssl-cert ${prefix}bbbbbbbbbbbb.crt`,
        `ssl-key ${prefix}aaaaaaaaaaaa.key`,
        `ssl-key ${prefix}bbbbbbbbbbbb.key`,
      ].sort(),
    );
    expect(objects.find((o) => o.name.endsWith('_s'))?.attrs).toEqual({
      defaultsFrom: '/Common/clientssl',
      certKeyChain: [
        { name: 'default', cert: `/${P}/${prefix}bbbbbbbbbbbb.crt`, key: `/${P}/${prefix}bbbbbbbbbbbb.key` },
      ],
      sniDefault: false,
      serverName: 'a.example.com',
    });
    const vs = [...t.present.values()].find((o) => o.kind === 'virtual');
    expect(vs?.attrs.profiles).toEqual(
      [
        '/Common/http',
        '/Common/oneconnect',
        '/Common/tcp',
        `/${P}/${prefix}aaaaaaaaaaaa_d`,
        `/${P}/${prefix}bbbbbbbbbbbb_s`,
      ].sort(),
    );
    // Key material travels only in `content`, never in compared attributes.
    expect(JSON.stringify(objects.map((o) => o.attrs))).not.toContain('KEY');
  });

  it('puts only the listener in ERROR when a certificate cannot be read, and removes nothing of what it serves', () => {
    const { listener, t } = setup(
      new Map<string, CertificateMaterial | { error: string }>([
        ['www', material('aaaaaaaaaaaa1111', ['www.example.com'])],
        ['a', { error: 'Secrets Manager answered AccessDeniedException' }],
      ]),
    );
    expect(t.errors.get(`listener#${listener.id}`)).toMatch(
      /certificate .*\/a cannot be read: Secrets Manager answered AccessDeniedException/,
    );
    expect(t.tlsPrefixes.size).toBe(0);
  });

  it('plans a rotation: new files first, the profile switch in the change, stale objects of this listener only removed', () => {
    const { listener, t } = setup(
      new Map([
        ['www', material('aaaaaaaaaaaa1111', ['www.example.com'])],
        ['a', material('cccccccccccc3333', ['a.example.com'])],
      ]),
    );
    const prefix = `Project_${listener.id.replaceAll('-', '').slice(0, 16)}_`;
    const listed = (kind: BigIpObject['kind'], name: string): BigIpObject => ({
      kind,
      partition: t.partition,
      name,
      attrs: {},
    });
    const onDevice = [
      listed('ssl-cert', `${prefix}aaaaaaaaaaaa.crt`),
      listed('ssl-key', `${prefix}aaaaaaaaaaaa.key`),
      listed('client-ssl', `${prefix}aaaaaaaaaaaa_d`),
      listed('ssl-cert', `${prefix}bbbbbbbbbbbb.crt`),
      listed('ssl-key', `${prefix}bbbbbbbbbbbb.key`),
      listed('client-ssl', `${prefix}bbbbbbbbbbbb_s`),
      listed('ssl-cert', 'Project_ffffffffffffffff_000000000000.crt'), // another listener's
    ];
    const snapshot: DeviceSnapshot = {
      folderExists: true,
      objects: new Map(onDevice.map((o) => [objectKey(o), {}])),
      poolMembers: new Map(),
      tlsListed: onDevice,
    };
    const scope = {
      keys: new Set([...t.present.keys()]),
      reads: [],
      full: false,
      tlsPrefixes: [...t.tlsPrefixes.values()],
    };
    const vsKey = [...t.present.entries()].find(([, o]) => o.kind === 'virtual')?.[0] as string;
    snapshot.objects.set(vsKey, { ...(t.present.get(vsKey)?.attrs as object), profiles: [] });
    const plan = planApply(t, scope, snapshot);
    const steps = plan.commands
      .filter((c) => c.object.kind !== 'folder' && c.object.kind !== 'virtual-address')
      .map((c) => `${c.op} ${c.object.kind} ${c.object.name.replace(prefix, '')}`);
    expect(steps).toEqual([
      'create ssl-cert cccccccccccc.crt',
      'create ssl-key cccccccccccc.key',
      'create client-ssl cccccccccccc_s',
      'update virtual ' + `Project_${listener.id}`,
      'delete client-ssl bbbbbbbbbbbb_s',
      'delete ssl-key bbbbbbbbbbbb.key',
      'delete ssl-cert bbbbbbbbbbbb.crt',
    ]);
  });
});

describe('translate: SNI certificates for one host name', () => {
  const setup = (sni: [string, CertificateMaterial][]) => {
    const b = new TreeBuilder();
    const ref = (n: string) => `lbaas/Project/${b.ids.tenantId}/${n}`;
    const listener = b.listener({
      protocol: 'TERMINATED_HTTPS',
      protocol_port: 443,
      default_tls_container_ref: ref('www'),
      sni_container_refs: sni.map(([n]) => ref(n)),
    });
    const certificates = new Map<string, CertificateMaterial | { error: string }>([
      [ref('www'), material('aaaaaaaaaaaa1111', ['www.example.com'])],
      ...sni.map(([n, m]): [string, CertificateMaterial] => [ref(n), m]),
    ]);
    const t = translate(b.tree(), { env, certificates });
    const prefix = `Project_${listener.id.replaceAll('-', '').slice(0, 16)}_`;
    return { b, listener, t, prefix, P: t.partition };
  };
  const typed = (fingerprint: string, host: string, keyType: string) => ({
    ...material(fingerprint, [host]),
    keyType,
  });

  it('puts an RSA and an ECDSA certificate for one host into one profile with both key pairs', () => {
    const { t, prefix, P } = setup([
      ['a-rsa', typed('1111aaaa0000ffff', 'a.example.com', 'rsa')],
      ['a-ec', typed('2222bbbb1111eeee', 'A.example.com', 'ec')],
    ]);
    const profiles = [...t.present.values()].filter((o) => o.kind === 'client-ssl');
    const sni = profiles.filter((p) => p.name.endsWith('_s'));
    expect(sni).toHaveLength(1);
    // Named after both certificates (each hex digit's exclusive or), order-free.
    expect(sni[0]?.name).toBe(`${prefix}333311111111_s`);
    expect(sni[0]?.attrs).toEqual({
      defaultsFrom: '/Common/clientssl',
      certKeyChain: [
        {
          name: `${prefix}1111aaaa0000`,
          cert: `/${P}/${prefix}1111aaaa0000.crt`,
          key: `/${P}/${prefix}1111aaaa0000.key`,
        },
        {
          name: `${prefix}2222bbbb1111`,
          cert: `/${P}/${prefix}2222bbbb1111.crt`,
          key: `/${P}/${prefix}2222bbbb1111.key`,
        },
      ],
      sniDefault: false,
      serverName: 'a.example.com',
    });
    expect(t.errors.size).toBe(0);
    // The same two, listed the other way round, make the same profile.
    const swapped = setup([
      ['a-ec', typed('2222bbbb1111eeee', 'a.example.com', 'ec')],
      ['a-rsa', typed('1111aaaa0000ffff', 'a.example.com', 'rsa')],
    ]);
    const again = [...swapped.t.present.values()].find(
      (o) => o.kind === 'client-ssl' && o.name.endsWith('_s'),
    );
    expect(again?.name.slice(-15)).toBe(sni[0]?.name.slice(-15));
  });

  it('refuses two certificates of one key type for one host, before the device, and takes one named twice once', () => {
    const { t, listener } = setup([
      ['a1', typed('1111aaaa0000ffff', 'a.example.com', 'rsa')],
      ['a2', typed('3333cccc2222dddd', 'a.example.com', 'rsa')],
    ]);
    expect([...t.errors.values()].join()).toMatch(
      /SNI certificates .*a1, .*a2 all serve a\.example\.com with rsa\/rsa keys: .*0107149e/,
    );
    expect([...t.present.values()].some((o) => o.kind === 'client-ssl')).toBe(false);
    expect(t.errors.has(`listener#${listener.id}`)).toBe(true);
    const twice = setup([
      ['a1', typed('1111aaaa0000ffff', 'a.example.com', 'rsa')],
      ['a1-again', typed('1111aaaa0000ffff', 'a.example.com', 'rsa')],
    ]);
    expect(twice.t.errors.size).toBe(0);
    expect([...twice.t.present.values()].filter((o) => o.kind === 'client-ssl')).toHaveLength(2);
  });
});

describe('certificate bundles: checked before use, described without the key', () => {
  it('derives DNS names and a fingerprint; refuses a key of another certificate and a locked key', () => {
    const m = materialFrom('r', {
      certificate: tls('a.example.com.pem'),
      private_key: tls('a.example.com.key'),
    });
    expect(m.serverNames).toEqual(['a.example.com']);
    expect(m.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(() =>
      materialFrom('r', { certificate: tls('a.example.com.pem'), private_key: tls('b.example.com.key') }),
    ).toThrow('certificate r: private_key does not belong to the certificate');
    expect(() =>
      materialFrom('r', { certificate: tls('a.example.com.pem'), private_key: tls('a.example.com.enc.key') }),
    ).toThrow(/encrypted ones need passphrase/);
    expect(() =>
      materialFrom('r', {
        certificate: tls('a.example.com.pem'),
        private_key: tls('a.example.com.enc.key'),
        passphrase: 'nope',
      }),
    ).toThrow(/does not open with the passphrase/);
    const locked = materialFrom('r', {
      certificate: tls('a.example.com.pem'),
      private_key: tls('a.example.com.enc.key'),
      passphrase: 'test-passphrase',
    });
    expect(locked.fingerprint).not.toBe(m.fingerprint);
    expect(() => materialFrom('r', { certificate: 'x', private_key: 'y' })).toThrow(
      /not a PEM X.509 certificate/,
    );
  });
});
