import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allowedCidrsRule, l7RoutingRule, ruleTest } from '../../../functions/domain/irule-translation.js';
import { regexProblem } from '../../../functions/domain/l7-regex.js';
import type { L7PolicySpec, L7RuleSpec } from '../../../functions/domain/lbaas-request.js';
import { tclQuoted } from '../../../functions/domain/tcl-literals.js';

/** Values a user could send to break out of a Tcl word: braces, brackets, `$`, quotes, backslashes, newlines, commands. */
const HOSTILE = [
  '}; exec touch /tmp/pwned; {',
  '] ; exec id ; [',
  '"; exec id; "',
  '$env(HOME)',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Tcl variable reference is the hostile value
  '${x}',
  '[exec id]',
  '\\',
  'a\\',
  '\\u0041',
  '\\x41B',
  'line\nbreak',
  '\r\n\t',
  '{',
  '}',
  'a]; exec echo pwned; #',
  'ünïcødé',
];

const rule = (over: Partial<L7RuleSpec>): L7RuleSpec => ({
  id: '00000000-0000-4000-8000-000000000001',
  l7policy_id: '00000000-0000-4000-8000-000000000002',
  type: 'PATH',
  compare_type: 'REGEX',
  key: null,
  value: '^/api',
  invert: false,
  admin_state_up: true,
  ...over,
});
const policy = (over: Partial<L7PolicySpec>): L7PolicySpec =>
  ({
    id: '00000000-0000-4000-8000-000000000003',
    listener_id: '00000000-0000-4000-8000-000000000004',
    name: '',
    description: '',
    action: 'REJECT',
    redirect_pool_id: null,
    redirect_url: null,
    redirect_prefix: null,
    redirect_http_code: null,
    admin_state_up: true,
    ...over,
  }) as L7PolicySpec;

describe('tclQuoted: user text in an iRule', () => {
  it('writes nothing but letters, digits and \\uXXXX escapes between its quotes', () => {
    for (const value of HOSTILE) expect(tclQuoted(value)).toMatch(/^"(?:[A-Za-z0-9]|\\u[0-9a-f]{4})*"$/);
    expect(tclQuoted('a.b')).toBe('"a\\u002eb"');
  });

  it('refuses characters beyond U+FFFF (Tcl 8.4 cannot escape them)', () => {
    expect(() => tclQuoted('😀')).toThrow(RangeError);
  });
});

describe('the iRules written from user input', () => {
  it('refuses a CIDR that is not in canonical form rather than write it', () => {
    expect(() => allowedCidrsRule(['10.0.0.0/8]; exec id'], 'tcp')).toThrow(RangeError);
    expect(() => allowedCidrsRule([], 'tcp')).toThrow(RangeError);
    expect(allowedCidrsRule(['10.0.0.0/8', '192.0.2.0/24'], 'tcp')).toBe(
      [
        'when CLIENT_ACCEPTED {',
        '  if { !([IP::addr [IP::client_addr] equals 10.0.0.0/8] || [IP::addr [IP::client_addr] equals 192.0.2.0/24]) } {',
        '    reject',
        '  }',
        '}',
      ].join('\n'),
    );
    expect(allowedCidrsRule(['2001:db8::/32'], 'udp')).toContain('    drop');
  });

  it('routes in list order, the default pool named when no policy takes the request', () => {
    const text = l7RoutingRule(
      [
        { spec: policy({ action: 'REJECT' }), rules: [rule({ value: '^/x' })] },
        {
          spec: policy({ action: 'REDIRECT_TO_POOL', redirect_pool_id: 'p2' }),
          rules: [rule({ type: 'HOST_NAME', compare_type: 'EQUAL_TO', value: 'A.example' })],
        },
      ],
      (id) => `/P/env_${id}`,
      '/P/env_default',
    );
    expect(text.split('\n')).toEqual([
      'when HTTP_REQUEST {',
      '  if { [regexp -- "\\u005e\\u002fx" [HTTP::path]] } {',
      '    reject',
      '  } elseif { [string equal [string tolower [getfield [HTTP::host] ":" 1]] "a\\u002eexample"] } {',
      '    pool /P/env_p2',
      '  } else {',
      '    pool /P/env_default',
      '  }',
      '}',
    ]);
  });
});

// A real Tcl (Debian's tcl8.6) as the oracle: it parses what we generate and runs it in a safe
// interpreter with the iRule commands stubbed. Not part of `npm ci`, so skipped when missing.
const TCLSH = ['/usr/bin/tclsh', '/usr/bin/tclsh8.6'].find((p) => existsSync(p));
// The script run from a file: an error ends tclsh with a failure (from stdin it would go on).
const tcl = (script: string) => {
  const file = join(mkdtempSync(join(tmpdir(), 'irule-')), 'script.tcl');
  writeFileSync(file, script);
  return execFileSync(TCLSH as string, [file], { encoding: 'utf8' });
};
/** Tcl source that sets `s` to the hex of a string's UTF-8 bytes. */
const hexOf = (expr: string) => `binary scan [encoding convertto utf-8 ${expr}] H* s; puts $s`;
const hex = (text: string) => Buffer.from(text, 'utf8').toString('hex');

describe.skipIf(!TCLSH)(
  'with a real Tcl as the oracle (skipped without /usr/bin/tclsh: apt-get install tcl)',
  () => {
    it('reads every hostile value back exactly, and runs none of it', () => {
      for (const value of HOSTILE) expect(tcl(hexOf(tclQuoted(value))).trim(), value).toBe(hex(value));
    });

    it('evaluates the generated tests in a safe interpreter: hostile values are data, not commands', () => {
      const cases: [L7RuleSpec, Record<string, string>, boolean][] = [];
      for (const value of HOSTILE.filter((v) => !/[^\x20-\x7e]/.test(v))) {
        // The value compared exactly as header and cookie: equal only to itself.
        cases.push([
          rule({ type: 'HEADER', key: value, compare_type: 'EQUAL_TO', value }),
          { header: value },
          true,
        ]);
        cases.push([
          rule({ type: 'COOKIE', key: 'c', compare_type: 'CONTAINS', value }),
          { cookie: `x${value}y` },
          true,
        ]);
        cases.push([
          rule({ type: 'PATH', compare_type: 'STARTS_WITH', value }),
          { path: `${value}/rest` },
          true,
        ]);
        cases.push([
          rule({ type: 'PATH', compare_type: 'ENDS_WITH', value }),
          { path: `/lead${value}` },
          true,
        ]);
        cases.push([
          rule({ type: 'PATH', compare_type: 'EQUAL_TO', value, invert: true }),
          { path: value },
          false,
        ]);
      }
      const script = [
        'set i [interp create -safe]',
        '$i eval {namespace eval HTTP {}}',
        ...cases.map(([r, request, _]) => {
          const set = (k: string, v: string | undefined) =>
            `$i eval [list set ${k} [encoding convertfrom utf-8 [binary format H* "${hex(v ?? '')}"]]]`;
          return [
            set('path', request.path),
            set('header', request.header),
            set('cookie', request.cookie),
            '$i eval {proc HTTP::path {} {return $::path}}',
            '$i eval {proc HTTP::header {what name} {return $::header}}',
            '$i eval {proc HTTP::cookie {what name} {return $::cookie}}',
            `puts [$i eval {expr {${ruleTest(r)}}}]`,
          ].join('\n');
        }),
        // Nothing a value said ran: the safe interpreter has no exec, and no variable was set by one.
        'puts [$i eval {info exists pwned}]',
      ].join('\n');
      const out = tcl(script).trim().split('\n');
      expect(out.slice(0, -1)).toEqual(cases.map(([, , want]) => (want ? '1' : '0')));
      expect(out.at(-1)).toBe('0');
    });

    it('the REGEX syntax it takes means the same in Tcl and in JavaScript (the sandbox runs JavaScript)', () => {
      const patterns = [
        '^/api/v[0-9]+/',
        '\\.(jpg|png)$',
        '^(?:www|shop)\\.example\\.com$',
        'a{2,3}b',
        '[^/]+\\.css$',
        '\\d{3}-\\d{4}',
        '^[a-z_\\-]+$',
        'x|y|',
        '\\w+\\s*\\S',
        '[$]{2}\\[x\\]',
        'a"b\\{c\\}',
      ];
      for (const p of patterns) expect(regexProblem(p), p).toBeUndefined();
      const subjects = [
        '/api/v2/x',
        '/API/v2/x',
        'a.jpg',
        'a.jpgx',
        'www.example.com',
        'aab',
        'aaaab',
        '/x/y.css',
        '555-1234',
        'a-b_c',
        '',
        'y',
        'word  z',
        '$$[x]',
        'a"b{c}',
        'wwwXexample.com',
      ];
      const lines = patterns.flatMap((p) =>
        subjects.map((s) => `puts [regexp -- ${tclQuoted(p)} ${tclQuoted(s)}]`),
      );
      const got = tcl(lines.join('\n')).trim().split('\n');
      const want = patterns.flatMap((p) => subjects.map((s) => (new RegExp(p).test(s) ? '1' : '0')));
      expect(got).toEqual(want);
    });

    it('refuses the regex syntax Tcl reads otherwise (a check that would fail if the refusals were dropped)', () => {
      // \b: backspace in Tcl, a word boundary in JavaScript; (?=: Tcl and JavaScript agree but Python's
      // clients and the sandbox's checks are kept to one syntax; [[:alpha:]]: a class only in Tcl.
      expect(tcl(`puts [regexp -- ${tclQuoted('\\bfoo')} ${tclQuoted('a foo')}]`).trim()).toBe('0');
      expect(/\bfoo/.test('a foo')).toBe(true);
      for (const p of ['a\\bb', '[[:alpha:]]', 'a(?=b)', '\\1']) expect(regexProblem(p), p).toBeDefined();
    });
  },
);
