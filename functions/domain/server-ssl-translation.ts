import { assertSafeName, fullPath } from './bigip-names.js';
import type { BigIpObject } from './bigip-objects.js';
import type { PoolSpec } from './lbaas-request.js';
import { tuningAttrs } from './tls-options.js';
import {
  type CertificateLookup,
  caFile,
  certificateFiles,
  combined,
  readCertificate,
  settingsFingerprint,
  tlsPrefix,
} from './tls-translation.js';

/*
 * A pool's TLS towards its members (Octavia's tls_enabled, tls_container_ref, ca_tls_container_ref,
 * tls_versions, tls_ciphers) as a BIG-IP server-ssl profile the pool owns, parent /Common/serverssl
 * (SAP's provider makes the same choice as an AS3 TLS_Client: peer-features.md §1.5). A server-ssl
 * profile sits on a virtual server, not on a pool: the virtuals whose default pool it is carry it
 * (bigip-translation.ts). Like a listener's client-ssl profiles it is named after its content (its
 * certificate, CA and settings) under the pool's prefix, so a change creates a new one, the virtuals
 * switch over, and the old one is removed after them.
 */

/** The certificate references a pool's TLS needs (none while TLS to members is off). */
export function poolCertificateRefs(pool: PoolSpec): string[] {
  if (pool.tls_enabled !== true) return [];
  return [pool.tls_container_ref, pool.ca_tls_container_ref].filter(
    (r): r is string => typeof r === 'string' && r.length > 0,
  );
}

export interface PoolTls {
  /** Files and the server-ssl profile. */
  objects: BigIpObject[];
  /** The server-ssl profile's full path, for the virtuals using the pool. */
  profile?: string;
  error?: string;
}

/** The server-ssl profile of a pool with TLS to its members, and the files it names. */
export function poolTls(
  poolId: string,
  spec: PoolSpec,
  partition: string,
  env: string,
  certificates: CertificateLookup | undefined,
): PoolTls {
  if (spec.tls_enabled !== true) return { objects: [] };
  const prefix = tlsPrefix(env, poolId);
  const objects: BigIpObject[] = [];
  const fingerprints: string[] = [];
  const attrs: Record<string, unknown> = { defaultsFrom: '/Common/serverssl', ...tuningAttrs(spec) };
  let passphrases: Record<string, string> | undefined;
  if (spec.tls_container_ref) {
    // The client certificate presented to members.
    const material = readCertificate(certificates, spec.tls_container_ref);
    if (typeof material === 'string') return { objects: [], error: material };
    if (!material.privateKey)
      return {
        objects: [],
        error: `certificate ${spec.tls_container_ref} has no private key: it cannot be presented to members`,
      };
    const files = certificateFiles(prefix, partition, material);
    objects.push(...files.objects);
    Object.assign(attrs, files.chain);
    if (material.passphrase) passphrases = { [files.chain.key]: material.passphrase };
    fingerprints.push(material.fingerprint);
  }
  if (spec.ca_tls_container_ref) {
    // Members must present a certificate this CA signed.
    const ca = caFile(prefix, partition, certificates, spec.ca_tls_container_ref);
    if (typeof ca === 'string') return { objects: [], error: ca };
    objects.push(ca);
    attrs.caFile = fullPath(partition, ca.name);
    attrs.peerCertMode = 'require';
  }
  const name = assertSafeName(
    `${prefix}${combined([...fingerprints, settingsFingerprint(attrs)])}_p`,
    'server-ssl profile',
  );
  objects.push({ kind: 'server-ssl', partition, name, attrs, ...(passphrases ? { passphrases } : {}) });
  return { objects, profile: fullPath(partition, name) };
}
