import { OctaviaFault } from './octavia-faults.js';
import { type TlsVersion, tlsCiphersProblem, tlsVersionsProblem } from './tls-options.js';

/*
 * Octavia's TLS fields of a listener (tls_versions, tls_ciphers, client_authentication,
 * client_ca_tls_container_ref) and of a pool (tls_enabled, tls_container_ref, ca_tls_container_ref,
 * tls_versions, tls_ciphers) as the stored spec takes them, with Octavia's own 400s (its
 * listener.py/pool.py and common/validate.py, Octavia 11). CRLs and ALPN answer 501 before this
 * (octavia-bodies.ts rejectUnsupported).
 */

const validation = (detail: string) => new OctaviaFault(400, `Validation failure: ${detail}`);

interface ListenerTlsBody {
  tls_versions?: string[] | null | undefined;
  tls_ciphers?: string | null | undefined;
  client_authentication?: string | null | undefined;
  client_ca_tls_container_ref?: string | null | undefined;
}

/** The listener's TLS fields as stored (undefined: not given; null: reset to the parent profile's). */
export interface ListenerTlsFields {
  tls_versions?: TlsVersion[] | null;
  tls_ciphers?: string | null;
  client_authentication?: 'NONE' | 'OPTIONAL' | 'MANDATORY';
  client_ca_tls_container_ref?: string | null;
}

function versionsOf(value: string[] | null | undefined): TlsVersion[] | null | undefined {
  if (value === undefined || value === null) return value;
  const problem = tlsVersionsProblem(value);
  if (problem) throw validation(problem);
  return value as TlsVersion[];
}

function ciphersOf(value: string | null | undefined): string | null | undefined {
  if (value === undefined || value === null) return value;
  const problem = tlsCiphersProblem(value);
  if (problem) throw validation(problem);
  return value;
}

/**
 * A listener's TLS fields, checked as Octavia does. `current` is what the listener has (an update
 * is checked with what it keeps); `hasCertificate` says whether it serves one (TERMINATED_HTTPS).
 * Tuning given to a listener that terminates no TLS is Octavia's to store and ignore: it is not kept
 * here (nothing would apply it), so the listener shows null.
 */
export function listenerTlsFields(
  body: ListenerTlsBody,
  protocol: string,
  current: { [K in keyof ListenerTlsFields]?: ListenerTlsFields[K] | undefined } = {},
): ListenerTlsFields {
  const tls = protocol === 'TERMINATED_HTTPS';
  const ca =
    body.client_ca_tls_container_ref === undefined
      ? current.client_ca_tls_container_ref
      : body.client_ca_tls_container_ref;
  const auth = body.client_authentication ?? current.client_authentication ?? 'NONE';
  if ((protocol === 'UDP' || protocol === 'SCTP') && body.client_ca_tls_container_ref)
    throw validation(`${protocol} protocol listener does not support TLS.`);
  if (!tls && body.client_ca_tls_container_ref)
    throw validation(
      'An SNI or default certificate container reference must be provided with a client CA container reference.',
    );
  if (auth !== 'NONE' && !ca)
    throw validation(`Client authentication setting ${auth} requires a client CA container reference.`);
  const ciphers = ciphersOf(body.tls_ciphers);
  const versions = tls ? versionsOf(body.tls_versions) : undefined;
  if (!tls) return {};
  const out: ListenerTlsFields = {};
  if (versions !== undefined) out.tls_versions = versions;
  if (ciphers !== undefined) out.tls_ciphers = ciphers;
  if (body.client_authentication !== undefined)
    out.client_authentication = (body.client_authentication ?? 'NONE') as 'NONE' | 'OPTIONAL' | 'MANDATORY';
  if (body.client_ca_tls_container_ref !== undefined)
    out.client_ca_tls_container_ref = body.client_ca_tls_container_ref;
  return out;
}

interface PoolTlsBody {
  tls_enabled?: boolean | null | undefined;
  tls_container_ref?: string | null | undefined;
  ca_tls_container_ref?: string | null | undefined;
  tls_versions?: string[] | null | undefined;
  tls_ciphers?: string | null | undefined;
}

export interface PoolTlsFields {
  tls_enabled?: boolean;
  tls_container_ref?: string | null;
  ca_tls_container_ref?: string | null;
  tls_versions?: TlsVersion[] | null;
  tls_ciphers?: string | null;
}

/**
 * A pool's TLS fields, checked as Octavia does; `enabled` is whether TLS to members is on after the
 * write. A UDP pool has no TLS (400); a PROXY or HTTPS pool's traffic is not re-encrypted here (501:
 * PROXY's header goes first on the member connection, and HTTPS pools carry the client's own TLS).
 */
export function poolTlsFields(body: PoolTlsBody, protocol: string, enabledBefore = false): PoolTlsFields {
  const enabled =
    body.tls_enabled === undefined || body.tls_enabled === null ? enabledBefore : body.tls_enabled;
  const given =
    enabled ||
    [body.tls_container_ref, body.ca_tls_container_ref, body.tls_versions, body.tls_ciphers].some(
      (v) => v !== undefined && v !== null,
    );
  if (given && (protocol === 'UDP' || protocol === 'SCTP'))
    throw validation(`TLS is not supported on ${protocol} pools.`);
  if (enabled && protocol !== 'HTTP' && protocol !== 'TCP')
    throw new OctaviaFault(
      501,
      `Provider 'bigip' does not support a requested option: tls_enabled on a ${protocol} pool (TLS to members is translated for HTTP and TCP pools)`,
    );
  const ciphers = ciphersOf(body.tls_ciphers);
  const versions = enabled ? versionsOf(body.tls_versions) : undefined;
  const out: PoolTlsFields = {};
  if (body.tls_enabled !== undefined && body.tls_enabled !== null) out.tls_enabled = body.tls_enabled;
  if (body.tls_container_ref !== undefined) out.tls_container_ref = body.tls_container_ref;
  if (body.ca_tls_container_ref !== undefined) out.ca_tls_container_ref = body.ca_tls_container_ref;
  if (versions !== undefined) out.tls_versions = versions;
  if (ciphers !== undefined) out.tls_ciphers = ciphers;
  return out;
}
