import type { PoolSpec } from './lbaas-request.js';

/*
 * The PROXY protocol towards a pool's members (docs/octavia-api.md, "PROXY pools"). A BIG-IP has
 * no setting for it; its iRule writes the header to every server connection of the pool before
 * any client data (peer-features.md §1.10). Version 1 (Octavia's PROXY) is a text line; version 2
 * (PROXYV2) is binary, built with Tcl's `binary format`. Nothing a user wrote is in either iRule:
 * the only value is the pool's full path, a checked BIG-IP name, so no Tcl can be injected.
 */

/** Whether a pool's members are sent a PROXY protocol header (and which version). */
export function proxyVersion(protocol: PoolSpec['protocol']): 1 | 2 | undefined {
  if (protocol === 'PROXY') return 1;
  if (protocol === 'PROXYV2') return 2;
  return undefined;
}

const PATH_RE = /^\/[A-Za-z0-9_.:%-]+\/[A-Za-z0-9_.:%-]+$/;

function checkedPath(poolPath: string): string {
  if (!PATH_RE.test(poolPath)) throw new RangeError(`not a BIG-IP path: ${poolPath.slice(0, 80)}`);
  return poolPath;
}

/**
 * Version 1: `PROXY TCP4|TCP6 <client> <vip> <client port> <vip port>\r\n`, as SAP's and F5's
 * agents send it, route-domain suffixes left out.
 */
export function proxyV1Rule(poolPath: string): string {
  return [
    'when CLIENT_ACCEPTED {',
    '  set proxy_v1_header "PROXY TCP[IP::version] [getfield [IP::remote_addr] "%" 1] [getfield [IP::local_addr] "%" 1] [TCP::remote_port] [TCP::local_port]\\r\\n"',
    '}',
    'when SERVER_CONNECTED {',
    `  if { [LB::server pool] eq "${checkedPath(poolPath)}" } {`,
    '    TCP::respond $proxy_v1_header',
    '  }',
    '}',
  ].join('\n');
}

/**
 * Version 2 (the PROXY protocol specification, section 2.2): the 12-byte signature
 * `0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A`, `0x21` (version 2, command PROXY), the family and transport
 * (`0x11` TCP over IPv4, `0x21` TCP over IPv6), the address block's length (12 or 36, big-endian),
 * then source address, destination address, source port and destination port in network order.
 * The client side's addresses and ports are taken when the connection is accepted (route-domain
 * suffixes left out); the bytes are built when the server connection opens. An IPv6 address is
 * expanded to its 16 bytes by hand (`::` to zero groups, an embedded dotted IPv4 tail to two
 * groups): TMOS's Tcl (8.4) has no address parser. Only Tcl 8.4 commands are used (no `lrepeat`,
 * `lassign` or `{*}`), and no `<` or `>` (a device refuses a REST body holding one: bigip-rest.md
 * A.3), so no loop or comparison needs them.
 */
export function proxyV2Rule(poolPath: string): string {
  return [
    'when CLIENT_ACCEPTED {',
    '  set proxy_v2_src [getfield [IP::remote_addr] "%" 1]',
    '  set proxy_v2_dst [getfield [IP::local_addr] "%" 1]',
    '  set proxy_v2_sport [TCP::remote_port]',
    '  set proxy_v2_dport [TCP::local_port]',
    '}',
    'when SERVER_CONNECTED {',
    `  if { [LB::server pool] eq "${checkedPath(poolPath)}" } {`,
    '    set proxy_v2_hex ""',
    '    foreach proxy_v2_a [list $proxy_v2_src $proxy_v2_dst] {',
    '      if { [string first ":" $proxy_v2_a] == -1 } {',
    '        foreach proxy_v2_w [split $proxy_v2_a "."] { append proxy_v2_hex [format %02x $proxy_v2_w] }',
    '      } else {',
    '        if { [regexp {^(.*:)([0-9]+)\\.([0-9]+)\\.([0-9]+)\\.([0-9]+)$} $proxy_v2_a proxy_v2_m proxy_v2_p proxy_v2_o1 proxy_v2_o2 proxy_v2_o3 proxy_v2_o4] } {',
    '          set proxy_v2_a [format %s%x:%x $proxy_v2_p [expr {$proxy_v2_o1 * 256 + $proxy_v2_o2}] [expr {$proxy_v2_o3 * 256 + $proxy_v2_o4}]]',
    '        }',
    '        set proxy_v2_parts [split [string map {"::" "|"} $proxy_v2_a] "|"]',
    '        set proxy_v2_head [split [lindex $proxy_v2_parts 0] ":"]',
    '        set proxy_v2_tail [split [lindex $proxy_v2_parts 1] ":"]',
    '        set proxy_v2_zeros [string repeat "0 " [expr {8 - [llength $proxy_v2_head] - [llength $proxy_v2_tail]}]]',
    '        foreach proxy_v2_w [concat $proxy_v2_head $proxy_v2_zeros $proxy_v2_tail] { append proxy_v2_hex [format %04x 0x$proxy_v2_w] }',
    '      }',
    '    }',
    '    if { [string length $proxy_v2_hex] == 16 } {',
    '      set proxy_v2_family 17',
    '      set proxy_v2_length 12',
    '    } else {',
    '      set proxy_v2_family 33',
    '      set proxy_v2_length 36',
    '    }',
    '    TCP::respond [binary format H24ccSH*SS 0D0A0D0A000D0A515549540A 33 $proxy_v2_family $proxy_v2_length $proxy_v2_hex $proxy_v2_sport $proxy_v2_dport]',
    '  }',
    '}',
  ].join('\n');
}

/** A pool's PROXY protocol iRule, for the version its protocol names. */
export function proxyProtocolRule(poolPath: string, version: 1 | 2 = 1): string {
  return version === 2 ? proxyV2Rule(poolPath) : proxyV1Rule(poolPath);
}
