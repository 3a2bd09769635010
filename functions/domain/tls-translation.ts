import { assertSafeName, fullPath } from './bigip-names.js';
import type { BigIpObject } from './bigip-objects.js';
import type { ListenerSpec } from './lbaas-request.js';

/**
 * A TERMINATED_HTTPS listener's certificates on BIG-IP, the way F5's agent did it
 * (peer-features.md §2.2): each certificate (the default one and each SNI one) is uploaded and
 * installed as a certificate and a key, and gets its own client-ssl profile (parent
 * `/Common/clientssl`) on the listener's virtual server; the default one has `sniDefault: true`, an
 * SNI one names the host it serves (`serverName`). Unlike F5's agent, everything lives in the
 * tenant's partition and is named after its content, so a rotated secret creates new objects, the
 * virtual switches over, and the old ones are removed after it (F5's agent never re-uploaded a
 * changed secret).
 */

/** A certificate as the agent reads it from its store (Secrets Manager), with what it derived. */
export interface CertificateMaterial {
  certificate: string;
  privateKey: string;
  chain?: string;
  passphrase?: string;
  /** Hex digest of everything above: names derive from it. */
  fingerprint: string;
  /** The certificate's DNS names (SAN, else CN): what an SNI profile serves. */
  serverNames: string[];
}

/** The certificates of the listeners being translated, by reference; an entry may say why it cannot be read. */
export type CertificateLookup = ReadonlyMap<string, CertificateMaterial | { error: string }>;

/** The certificate references of a listener: the default first. */
export function certificateRefs(listener: ListenerSpec): string[] {
  if (listener.protocol !== 'TERMINATED_HTTPS') return [];
  return [listener.default_tls_container_ref, ...listener.sni_container_refs].filter(
    (r): r is string => typeof r === 'string' && r.length > 0,
  );
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
  const objects: BigIpObject[] = [];
  const profiles: string[] = [];
  const prefix = tlsPrefix(env, listenerId);
  for (const [index, ref] of certificateRefs(spec).entries()) {
    const material = certificates?.get(ref);
    if (!material) return { objects: [], profiles: [], error: `certificate ${ref} was not read` };
    if ('error' in material)
      return { objects: [], profiles: [], error: `certificate ${ref} cannot be read: ${material.error}` };
    const isDefault = index === 0;
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
      content: material.privateKey,
      ...(material.passphrase ? { passphrase: material.passphrase } : {}),
    };
    const chain: BigIpObject | undefined = material.chain
      ? { kind: 'ssl-cert', partition, name: `${base}.chain.crt`, attrs: {}, content: material.chain }
      : undefined;
    const serverName = material.serverNames[0];
    if (!isDefault && !serverName)
      return { objects: [], profiles: [], error: `SNI certificate ${ref} names no host (no DNS name or CN)` };
    const profile: BigIpObject = {
      kind: 'client-ssl',
      partition,
      // The role is part of the name: the same certificate as default or as SNI is another profile.
      name: `${base}_${isDefault ? 'd' : 's'}`,
      attrs: {
        defaultsFrom: '/Common/clientssl',
        certKeyChain: [
          {
            name: 'default',
            cert: fullPath(partition, cert.name),
            key: fullPath(partition, key.name),
            ...(chain ? { chain: fullPath(partition, chain.name) } : {}),
          },
        ],
        sniDefault: isDefault,
        ...(isDefault ? {} : { serverName }),
      },
      ...(material.passphrase ? { passphrase: material.passphrase } : {}),
    };
    objects.push(cert, key, ...(chain ? [chain] : []), profile);
    profiles.push(fullPath(partition, profile.name));
  }
  return { objects, profiles };
}
