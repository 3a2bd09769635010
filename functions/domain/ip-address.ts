import { isIPv6 } from 'node:net';

/**
 * The one spelling of an address used everywhere (BIG-IP member and node names are compared as
 * strings): IPv4 as given, IPv6 lower-case and compressed as RFC 5952 prescribes.
 */
export function canonicalIp(address: string): string {
  if (!isIPv6(address)) return address;
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

export function isV6(address: string): boolean {
  return isIPv6(address);
}
