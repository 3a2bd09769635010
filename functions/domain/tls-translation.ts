import { createHash } from 'node:crypto';
import { assertSafeName, fullPath } from './bigip-names.js';
import type { BigIpObject } from './bigip-objects.js';
import type { ListenerSpec } from './lbaas-request.js';
import { PEER_CERT_MODE, tuningAttrs } from './tls-options.js';

/*
 * A TERMINATED_HTTPS listener's certificates on BIG-IP, the way F5's agent did it
 * (peer-features.md §2.2): each certificate (the default one and each SNI one) is uploaded and
 * installed as a certificate and a key, and gets its own client-ssl profile (parent
 * `/Common/clientssl`) on the listener's virtual server; the default one has `sniDefault: true`, an
 * SNI one names the host it serves (`serverName`). Unlike F5's agent, everything lives in the
 * tenant's partition and is named after its content, so a rotated secret creates new objects, the
 * virtual switches over, and the old ones are removed after it (F5's agent never re-uploaded a
 * changed secret).
 *
 * SNI certificates for one host name (an RSA and an ECDSA certificate for `www.example.com`) share
 * one profile with a key pair each: a device refuses a virtual with two client-ssl profiles of the
 * same `serverName` (`0107149e`, device-facts.md §7.6), and a profile holds one key pair per key
 * type. Two of the same key type for one host cannot be served side by side: the listener is
 * refused, with the reason, before anything reaches the device.
 */

/**
 * A certificate as the agent reads it from its store (Secrets Manager), with what it derived. A CA
 * bundle (client_ca_tls_container_ref, ca_tls_container_ref) has no private key.
 */
export interface CertificateMaterial {
  certificate: string;
  privateKey?: string;
  chain?: string;
  passphrase?: string;
  /** Hex digest of everything above: names derive from it. */
  fingerprint: string;
  /** The certificate's DNS names (SAN, else CN): what an SNI profile serves. */
  serverNames: string[];
  /** The key's algorithm (`rsa`, `ec`, …): one key pair of each type fits in one profile. */
  keyType?: string;
}

/** The certificates of the listeners being translated, by reference; an entry may say why it cannot be read. */
export type CertificateLookup = ReadonlyMap<string, CertificateMaterial | { error: string }>;

/** The certificates a listener serves: the default first. */
function servedRefs(listener: ListenerSpec): string[] {
  if (listener.protocol !== 'TERMINATED_HTTPS') return [];
  return [listener.default_tls_container_ref, ...listener.sni_container_refs].filter(
    (r): r is string => typeof r === 'string' && r.length > 0,
  );
}

/** The CA certificate a listener checks client certificates against, while it asks for them. */
export function clientCaRef(listener: ListenerSpec): string | undefined {
  if (listener.protocol !== 'TERMINATED_HTTPS') return undefined;
  return listener.client_ca_tls_container_ref ?? undefined;
}

/** Every certificate reference of a listener (served ones, the default first; then its client CA). */
export function certificateRefs(listener: ListenerSpec): string[] {
  const ca = clientCaRef(listener);
  return [...servedRefs(listener), ...(ca ? [ca] : [])];
}

/** `<env>_<16 hex of the listener id>_`: every TLS object of a listener starts so (stale ones are found by it). */
export function tlsPrefix(env: string, listenerId: string): string {
  return `${env}_${listenerId.replaceAll('-', '').slice(0, 16)}_`;
}

export interface ListenerTls {
  /** Certificates, keys and profiles the listener needs. */
  objects: BigIpObject[];
  /** The client-ssl profiles for its virtual server (full paths). */
  profiles: string[];
  /** Why it cannot be put on a device (a certificate that cannot be read). */
  error?: string;
}

/** The TLS objects of one TERMINATED_HTTPS listener. */
export function listenerTls(
  listenerId: string,
  spec: ListenerSpec,
  partition: string,
  env: string,
  certificates: CertificateLookup | undefined,
): ListenerTls {
  const prefix = tlsPrefix(env, listenerId);
  const read: { ref: string; material: CertificateMaterial }[] = [];
  for (const ref of servedRefs(spec)) {
    const material = readCertificate(certificates, ref);
    if (typeof material === 'string') return refused(material);
    if (!material.privateKey) return refused(`certificate ${ref} has no private key: it cannot be served`);
    read.push({ ref, material });
  }
  // Client authentication: the CA file and peerCertMode; tuning: versions and ciphers (tls-options.ts).
  const settings: Record<string, unknown> = { ...tuningAttrs(spec) };
  const extra: BigIpObject[] = [];
  const caRef = clientCaRef(spec);
  if (caRef) {
    const ca = caFile(prefix, partition, certificates, caRef);
    if (typeof ca === 'string') return refused(ca);
    extra.push(ca);
    settings.caFile = fullPath(partition, ca.name);
  }
  settings.peerCertMode = PEER_CERT_MODE[spec.client_authentication ?? 'NONE'];
  // Sent only when it asks for more than the parent's (peerCertMode ignore), so profiles of listeners
  // that never set any of this stay as they were.
  if (settings.peerCertMode === 'ignore' && !caRef) delete settings.peerCertMode;
  const settingsDigest = Object.keys(settings).length > 0 ? settingsFingerprint(settings) : undefined;
  const [first, ...sni] = read;
  if (!first) return { objects: [], profiles: [] };
  // SNI certificates by the host they serve (the same one named twice counts once).
  const byHost = new Map<string, { ref: string; material: CertificateMaterial }[]>();
  for (const entry of sni) {
    const host = entry.material.serverNames[0];
    if (!host) return refused(`SNI certificate ${entry.ref} names no host (no DNS name or CN)`);
    const group = byHost.get(host.toLowerCase()) ?? [];
    if (!group.some((g) => g.material.fingerprint === entry.material.fingerprint)) group.push(entry);
    byHost.set(host.toLowerCase(), group);
  }
  const objects: BigIpObject[] = [...extra];
  const profiles: string[] = [];
  const add = (role: 'd' | 's', group: { ref: string; material: CertificateMaterial }[]) => {
    // Content-named: a profile's name follows every certificate it holds.
    const sorted = [...group].sort((a, b) => a.material.fingerprint.localeCompare(b.material.fingerprint));
    const chains: Record<string, string>[] = [];
    const passphrases: Record<string, string> = {};
    for (const { material } of sorted) {
      const files = certificateFiles(prefix, partition, material);
      objects.push(...files.objects);
      chains.push({ name: sorted.length === 1 ? 'default' : files.base, ...files.chain });
      if (material.passphrase) passphrases[files.chain.key] = material.passphrase;
    }
    // The settings are part of the name too: a profile that exists holds what its name says.
    const digest = combined([
      ...sorted.map((g) => g.material.fingerprint),
      ...(settingsDigest ? [settingsDigest] : []),
    ]);
    const profile: BigIpObject = {
      kind: 'client-ssl',
      partition,
      // The role is part of the name: the same certificate as default or as SNI is another profile.
      name: assertSafeName(`${prefix}${digest}_${role}`, 'certificate'),
      attrs: {
        defaultsFrom: '/Common/clientssl',
        certKeyChain: chains,
        sniDefault: role === 'd',
        ...(role === 's' ? { serverName: sorted[0]?.material.serverNames[0] } : {}),
        ...settings,
      },
      ...(Object.keys(passphrases).length > 0 ? { passphrases } : {}),
    };
    objects.push(profile);
    profiles.push(fullPath(partition, profile.name));
  };
  add('d', [first]);
  for (const [host, group] of byHost) {
    const types = group.map((g) => g.material.keyType);
    if (group.length > 1 && (types.some((t) => !t) || new Set(types).size !== types.length))
      return refused(
        `SNI certificates ${group.map((g) => g.ref).join(', ')} all serve ${host} with ${types.map((t) => t ?? 'unknown').join('/')} keys: one host takes one certificate per key type (an RSA and an ECDSA one), since a device refuses two client-ssl profiles with the same server name on a virtual (0107149e)`,
      );
    add('s', group);
  }
  return { objects, profiles };
}

function refused(error: string): ListenerTls {
  return { objects: [], profiles: [], error };
}

/** A certificate as read, or why it cannot be used. */
export function readCertificate(
  certificates: CertificateLookup | undefined,
  ref: string,
): CertificateMaterial | string {
  const material = certificates?.get(ref);
  if (!material) return `certificate ${ref} was not read`;
  if ('error' in material) return `certificate ${ref} cannot be read: ${material.error}`;
  return material;
}

/**
 * A CA bundle as one certificate file (its certificates, then any intermediates), named after its
 * content under the owner's prefix: the file a profile's `caFile` names.
 */
export function caFile(
  prefix: string,
  partition: string,
  certificates: CertificateLookup | undefined,
  ref: string,
): BigIpObject | string {
  const material = readCertificate(certificates, ref);
  if (typeof material === 'string') return material;
  return {
    kind: 'ssl-cert',
    partition,
    name: assertSafeName(`${prefix}${material.fingerprint.slice(0, 12)}_ca.crt`, 'certificate'),
    attrs: {},
    content: material.chain ? `${material.certificate.trimEnd()}\n${material.chain}` : material.certificate,
  };
}

/** 12 hex digits of a profile's settings (a fingerprint-like value, mixed into its content name). */
export function settingsFingerprint(settings: Record<string, unknown>): string {
  const canonical = JSON.stringify(
    Object.keys(settings)
      .sort()
      .map((k) => [k, settings[k]]),
  );
  return createHash('sha256').update(canonical).digest('hex').slice(0, 12);
}

/** A certificate's files (certificate, key, chain) and the certKeyChain entry naming them. */
export function certificateFiles(prefix: string, partition: string, material: CertificateMaterial) {
  const base = assertSafeName(`${prefix}${material.fingerprint.slice(0, 12)}`, 'certificate');
  const cert: BigIpObject = {
    kind: 'ssl-cert',
    partition,
    name: `${base}.crt`,
    attrs: {},
    content: material.certificate,
  };
  const key: BigIpObject = {
    kind: 'ssl-key',
    partition,
    name: `${base}.key`,
    attrs: {},
    content: material.privateKey ?? '',
    ...(material.passphrase ? { passphrase: material.passphrase } : {}),
  };
  const chain: BigIpObject | undefined = material.chain
    ? { kind: 'ssl-cert', partition, name: `${base}.chain.crt`, attrs: {}, content: material.chain }
    : undefined;
  return {
    base,
    objects: [cert, key, ...(chain ? [chain] : [])],
    chain: {
      cert: fullPath(partition, cert.name),
      key: fullPath(partition, key.name),
      ...(chain ? { chain: fullPath(partition, chain.name) } : {}),
    },
  };
}

/**
 * 12 hex digits naming a profile after its certificates: a certificate's own for one, the digits'
 * exclusive or for several (order-free, and changing with any of them).
 */
export function combined(fingerprints: readonly string[]): string {
  let out = '';
  for (let i = 0; i < 12; i++) {
    let digit = 0;
    for (const f of fingerprints) digit ^= Number.parseInt(f[i] ?? '0', 16);
    out += digit.toString(16);
  }
  return out;
}
