import { createHash } from 'node:crypto';
import { assertSafeName } from './bigip-names.js';

/**
 * The one program an Octavia TLS-HELLO monitor runs on a BIG-IP (device-facts.md §8.3-§8.6): an
 * `external` monitor calls it with the member's address (IPv4 as `::ffff:a.b.c.d`) and port, and a
 * member is up when it prints anything. It completes a TLS handshake with `openssl s_client` and
 * prints `up` only when s_client reports a negotiated cipher (not on its exit status, which a member
 * closing at once after the handshake turns into a failure); the certificate is not checked (Octavia's TLS-HELLO checks the handshake
 * only). Fixed text: no value of a request is ever in it or in the monitor's arguments, and its
 * checksum tells a changed copy on a device (drift) from ours.
 *
 * An address with a route-domain suffix other than `%0` is never probed (nothing printed: down):
 * the program would connect from the route domain it runs in, which no public source pins down
 * (device-facts.md §8.6), and a probe of the same address in another network must never say up.
 */
export const TLS_HELLO_PROGRAM = `#!/bin/sh
# Octavia TLS-HELLO health check (bigip-lbaas): up when a TLS handshake with the member completes.
# $1: the member's address (IPv4 arrives as ::ffff:a.b.c.d), $2: its port. Nothing else is read.
# An address in a route domain other than 0 (a %N suffix) is not probed: down, never a wrong up.
addr=\${1#::ffff:}
addr=\${addr%\\%0}
port=$2
case "$port" in ''|*[!0-9]*) exit 0 ;; esac
case "$addr" in
  *[!0-9A-Fa-f:.]*|'') exit 0 ;;
  *:*) target="[$addr]:$port" ;;
  *) target="$addr:$port" ;;
esac
# s_client reports the handshake's cipher ("New, TLSv1.2, Cipher is ...", "(NONE)" when none was
# agreed); its exit status is not used: it also fails when the member closes right after the
# handshake, before s_client has said goodbye.
if timeout 5 openssl s_client -connect "$target" </dev/null 2>/dev/null | grep -q '^New, .*Cipher is [^(]'; then
  echo up
fi
`;

/** The program's checksum as a device reads it back (`SHA1:<size>:<hex>`, device-facts.md §7.8). */
export function programChecksum(text: string = TLS_HELLO_PROGRAM): string {
  const bytes = Buffer.from(text, 'utf8');
  return `SHA1:${bytes.length}:${createHash('sha1').update(bytes).digest('hex')}`;
}

/** The program's `sys file external-monitor` name: one per load balancer, in its tenant's partition. */
export function tlsHelloProgramName(env: string, loadbalancerId: string): string {
  return assertSafeName(`${env}_${loadbalancerId}_tls_hello`, 'external monitor program');
}
