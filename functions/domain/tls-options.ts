import { z } from 'zod';

/*
 * Octavia's TLS tuning (tls_versions, tls_ciphers) and client authentication, as the attributes of a
 * BIG-IP client-ssl or server-ssl profile (device-facts.md §7.17: `tmOptions`, `ciphers`,
 * `peerCertMode`, `caFile`). One owner for the values Octavia takes and their device form: the API
 * validates with these lists, the translation maps with them.
 */

/** Octavia's TLS versions, oldest first (its `TLS_ALL_VERSIONS`). */
export const TLS_VERSIONS = ['SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

/** The profile option that turns each version off (tmsh's `options { no-tlsv1 … }`). */
const DISABLE: Record<TlsVersion, string> = {
  SSLv3: 'no-sslv3',
  TLSv1: 'no-tlsv1',
  'TLSv1.1': 'no-tlsv1.1',
  'TLSv1.2': 'no-tlsv1.2',
  'TLSv1.3': 'no-tlsv1.3',
};

/** Octavia's cipher-string characters (its `VALID_CIPHER_RE`): nothing else reaches a device. */
export const CIPHER_STRING_RE = /^[A-Za-z0-9\-+!:@=_.]+$/;

/** Octavia's client_authentication → a client-ssl profile's peerCertMode (SAP's mapping, peer-features.md §1.5). */
export const PEER_CERT_MODE = { NONE: 'ignore', OPTIONAL: 'request', MANDATORY: 'require' } as const;
export type ClientAuthentication = keyof typeof PEER_CERT_MODE;

export const tlsVersionsSpec = z
  .array(z.enum(TLS_VERSIONS, { error: `must be one of ${TLS_VERSIONS.join(', ')}` }))
  .min(1, { error: 'must list at least one TLS version' })
  .max(TLS_VERSIONS.length)
  .refine((v) => new Set(v).size === v.length, { error: 'lists a TLS version twice' });

export const tlsCiphersSpec = z
  .string()
  .max(2048)
  .regex(CIPHER_STRING_RE, { error: 'must be an OpenSSL cipher string (letters, digits, - + ! : @ = _ .)' });

/** The options that keep only the listed versions (the others each turned off), in a fixed order. */
export function tlsVersionOptions(versions: readonly TlsVersion[]): string[] {
  return TLS_VERSIONS.filter((v) => !versions.includes(v)).map((v) => DISABLE[v]);
}

/** The profile attributes Octavia's tuning sets; nothing for what was not given (the parent's applies). */
export function tuningAttrs(tuning: {
  tls_versions?: readonly TlsVersion[] | null | undefined;
  tls_ciphers?: string | null | undefined;
}): Record<string, unknown> {
  return {
    ...(tuning.tls_versions ? { tmOptions: tlsVersionOptions(tuning.tls_versions) } : {}),
    ...(tuning.tls_ciphers ? { ciphers: tuning.tls_ciphers } : {}),
  };
}

/** Octavia's 400s for a TLS version list (its `check_tls_version_list`), or undefined when it is fine. */
export function tlsVersionsProblem(versions: readonly string[]): string | undefined {
  if (versions.length === 0)
    return 'Empty TLS version list. Either specify at least one TLS version or remove this parameter to use the default.';
  const invalid = versions.filter((v) => !(TLS_VERSIONS as readonly string[]).includes(v));
  if (invalid.length > 0) return `Invalid TLS versions: ${invalid.join(', ')}`;
  return undefined;
}

/** Octavia's 400 for a cipher string (its `check_cipher_string`), or undefined when it is fine. */
export function tlsCiphersProblem(ciphers: string): string | undefined {
  return CIPHER_STRING_RE.test(ciphers)
    ? undefined
    : 'Invalid characters in cipher string. Only alphanumeric, -, +, !, :, @, =, _, and . are allowed.';
}
