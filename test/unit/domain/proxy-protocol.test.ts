import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BigIpObject } from '../../../functions/domain/bigip-objects.js';
import { monitorSendString, translate } from '../../../functions/domain/bigip-translation.js';
import { proxyProtocolRule, proxyV2Rule, proxyVersion } from '../../../functions/domain/proxy-protocol.js';
import { literalPools, parseIRule } from '../../../local/bigip-simulator/irule-tcl.js';
import { TreeBuilder } from '../../support/trees.js';

const POOL = '/Project_p/Project_4f1c2b3a-0000-4000-8000-000000000001';

/*
 * The oracle is the PROXY protocol specification (version 2, section 2.2), written out field by
 * field here, not the iRule's own construction: signature, version/command, family, length,
 * addresses, ports.
 */
const SIGNATURE = '0d0a0d0a000d0a515549540a';
const v2Header = (family: 'tcp4' | 'tcp6', src: string, dst: string, sport: number, dport: number) => {
  const port = (p: number) => p.toString(16).padStart(4, '0');
  return family === 'tcp4'
    ? `${SIGNATURE}21` + `11` + `000c` + src + dst + port(sport) + port(dport)
    : `${SIGNATURE}21` + `21` + `0024` + src + dst + port(sport) + port(dport);
};

describe('PROXY protocol iRules', () => {
  it('sends version 1 for PROXY pools and version 2 for PROXYV2 pools, nothing for the others', () => {
    expect(proxyVersion('PROXY')).toBe(1);
    expect(proxyVersion('PROXYV2')).toBe(2);
    for (const p of ['HTTP', 'HTTPS', 'TCP', 'UDP'] as const) expect(proxyVersion(p)).toBeUndefined();
    expect(proxyProtocolRule(POOL, 1)).toContain('PROXY TCP[IP::version]');
    expect(proxyProtocolRule(POOL, 2)).toContain('binary format H24ccSH*SS 0D0A0D0A000D0A515549540A 33');
  });

  it('gives a PROXYV2 pool its own iRule with the version 2 header, run beside a PROXY pool’s on one virtual', () => {
    const b = new TreeBuilder();
    const v2 = b.pool({ protocol: 'PROXYV2' });
    const v1 = b.pool({ protocol: 'PROXY' });
    const http = b.listener({ protocol: 'HTTP', protocol_port: 80, default_pool_id: v2.id });
    b.l7policy(http.id, { action: 'REDIRECT_TO_POOL', redirect_pool_id: v1.id });
    const t = translate(b.tree(), { env: 'Project' });
    const rules = [...t.present.values()].filter((o: BigIpObject) => o.kind === 'rule');
    const byName = new Map(rules.map((r) => [r.name, String(r.attrs.apiAnonymous)]));
    expect(byName.get(`Project_${v2.id}_proxy`)).toBe(proxyV2Rule(`/${t.partition}/Project_${v2.id}`));
    expect(byName.get(`Project_${v1.id}_proxy`)).toContain('PROXY TCP[IP::version]');
    const vs = [...t.present.values()].find((o) => o.kind === 'virtual');
    // Both iRules, a full TCP proxy and no connection reuse (each server connection: one client's header).
    expect(vs?.attrs).toMatchObject({
      rules: [`/${t.partition}/Project_${v1.id}_proxy`, `/${t.partition}/Project_${v2.id}_proxy`].sort(),
      profiles: ['/Common/http', '/Common/tcp'],
    });
    b.status(v2, 'PENDING_DELETE');
    const gone = translate(b.tree(), { env: 'Project' });
    expect([...gone.absent.values()].some((o) => o.name === `Project_${v2.id}_proxy`)).toBe(true);
  });

  it('sends TRACE and CONNECT monitor requests as written (the send string carries any method)', () => {
    expect(monitorSendString({ http_method: 'TRACE', url_path: '/health' })).toBe(
      String.raw`TRACE /health HTTP/1.0\r\n\r\n`,
    );
    expect(monitorSendString({ http_method: 'CONNECT', url_path: '/' })).toBe(
      String.raw`CONNECT / HTTP/1.0\r\n\r\n`,
    );
  });

  it('holds nothing but the checked pool path: anything else is refused, not written into Tcl', () => {
    for (const bad of ['/P/p"; reject; "', '/P/p]', '/P/$x', 'P/p', '/P/p q'])
      expect(() => proxyV2Rule(bad), bad).toThrow(RangeError);
    // A device refuses a REST body holding `<` or `>` (bigip-rest.md A.3): the Tcl avoids both.
    for (const v of [1, 2] as const) expect(proxyProtocolRule(POOL, v)).not.toMatch(/[<>]/);
  });

  it('is an iRule the simulated device takes: it parses, names no pool literally, and its events are the two it needs', () => {
    const parsed = parseIRule(proxyV2Rule(POOL));
    expect([...parsed.events.keys()]).toEqual(['CLIENT_ACCEPTED', 'SERVER_CONNECTED']);
    expect(literalPools(proxyV2Rule(POOL))).toEqual([]);
  });
});

// A real Tcl (Debian's tcl8.6) runs the iRule's two events with the iRule commands stubbed and
// prints the bytes TCP::respond would send. Not part of `npm ci`, so skipped when missing.
const TCLSH = ['/usr/bin/tclsh', '/usr/bin/tclsh8.6'].find((p) => existsSync(p));

function runV2(cases: [client: string, vip: string, cport: number, vport: number][], pool = POOL): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'proxy-v2-'));
  writeFileSync(join(dir, 'rule.tcl'), proxyV2Rule(POOL));
  writeFileSync(
    join(dir, 'run.tcl'),
    [
      'set events {}',
      'proc when {event body} { global events; dict set events $event $body }',
      'proc getfield {s sep n} { lindex [split $s $sep] [expr {$n - 1}] }',
      'namespace eval IP {}',
      'namespace eval TCP {}',
      'namespace eval LB {}',
      'proc IP::remote_addr {} { return $::client }',
      'proc IP::local_addr {} { return $::vip }',
      'proc TCP::remote_port {} { return $::cport }',
      'proc TCP::local_port {} { return $::vport }',
      'proc LB::server {what} { return $::pool }',
      'proc TCP::respond {data} { binary scan $data H* h; puts $h }',
      'set pool [lindex $argv 1]',
      'source [lindex $argv 0]',
      // Each connection in a fresh scope, as a device gives each connection its own variables.
      'foreach {client vip cport vport} [lrange $argv 2 end] {',
      '  namespace eval conn [list eval [dict get $events CLIENT_ACCEPTED]]',
      '  namespace eval conn [list eval [dict get $events SERVER_CONNECTED]]',
      '  puts "--"',
      '  namespace delete conn',
      '}',
    ].join('\n'),
  );
  const out = execFileSync(
    TCLSH as string,
    [join(dir, 'run.tcl'), join(dir, 'rule.tcl'), pool, ...cases.flat().map(String)],
    { encoding: 'utf8' },
  );
  return out
    .split('--\n')
    .slice(0, cases.length)
    .map((s) => s.trim());
}

/** 16 random bytes and a textual IPv6 form of them, with the longest zero run (if any) written as `::`. */
function randomV6(seed: number): { hex: string; text: string } {
  let x = seed;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x;
  };
  const groups = Array.from({ length: 8 }, () => (next() % 3 === 0 ? 0 : next() % 65536));
  const hex = groups.map((g) => g.toString(16).padStart(4, '0')).join('');
  let best = [-1, 0];
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > (best[1] as number) && j - i > 1) best = [i, j - i];
  }
  const words = groups.map((g) => g.toString(16));
  const [at, len] = best as [number, number];
  const text =
    at < 0 ? words.join(':') : `${words.slice(0, at).join(':')}::${words.slice(at + len).join(':')}`;
  return { hex, text };
}

describe.skipIf(!TCLSH)(
  'PROXY v2 bytes from a real Tcl (skipped without /usr/bin/tclsh: apt-get install tcl)',
  () => {
    it('writes the specification’s header for IPv4 and IPv6 clients, route-domain suffixes left out', () => {
      const out = runV2([
        ['10.0.0.5%2', '198.18.33.33%2', 40000, 80],
        ['255.1.0.200', '0.0.0.1', 1, 65535],
        ['2001:db8::1', '2001:db8:33:33:33:33:33:33', 65535, 443],
        ['::ffff:10.1.2.3', '::', 1, 2],
        ['fe80::1%7', '1::', 5, 6],
      ]);
      expect(out).toEqual([
        v2Header('tcp4', '0a000005', 'c6122121', 40000, 80),
        v2Header('tcp4', 'ff0100c8', '00000001', 1, 65535),
        v2Header('tcp6', '20010db8000000000000000000000001', '20010db8003300330033003300330033', 65535, 443),
        v2Header('tcp6', '00000000000000000000ffff0a010203', '0'.repeat(32), 1, 2),
        v2Header('tcp6', 'fe800000000000000000000000000001', '0001' + '0'.repeat(28), 5, 6),
      ]);
    });

    it('expands any IPv6 form to its 16 bytes (random addresses, compressed or not)', () => {
      const cases = Array.from({ length: 60 }, (_, i) => [randomV6(i * 7 + 1), randomV6(i * 13 + 5)]);
      const out = runV2(cases.map(([a, b]) => [a!.text, b!.text, 999, 443]));
      cases.forEach(([a, b], i) => {
        expect(out[i], `${a!.text} ${b!.text}`).toBe(v2Header('tcp6', a!.hex, b!.hex, 999, 443));
      });
    });

    it('sends nothing on a server connection to another pool of the same virtual', () => {
      expect(runV2([['10.0.0.5', '10.0.0.10', 1, 2]], '/Project_p/other')).toEqual(['']);
    });
  },
);
