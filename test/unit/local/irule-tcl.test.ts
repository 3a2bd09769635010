import { describe, expect, it } from 'vitest';
import { allowedCidrsRule, l7RoutingRule } from '../../../functions/domain/irule-translation.js';
import type { L7PolicySpec, L7RuleSpec } from '../../../functions/domain/lbaas-request.js';
import { proxyProtocolRule } from '../../../functions/domain/proxy-protocol.js';
import { parseRequestHead } from '../../../local/bigip-simulator/http-policies.js';
import { literalPools, parseIRule, runEvent, TclError } from '../../../local/bigip-simulator/irule-tcl.js';

const facts = (clientAddress: string) => ({
  clientAddress,
  clientPort: 40000,
  localAddress: '127.0.0.9',
  localPort: 80,
});
const head = (path: string, headers: Record<string, string> = {}) =>
  parseRequestHead(
    [
      `GET ${path} HTTP/1.1`,
      ...Object.entries({ host: 'www.example.com', ...headers }).map(([k, v]) => `${k}: ${v}`),
    ].join('\r\n'),
  );
const rule = (over: Partial<L7RuleSpec>): L7RuleSpec =>
  ({
    type: 'PATH',
    compare_type: 'REGEX',
    key: null,
    invert: false,
    admin_state_up: true,
    ...over,
  }) as L7RuleSpec;
const policy = (over: Partial<L7PolicySpec>): L7PolicySpec =>
  ({ action: 'REJECT', admin_state_up: true, redirect_http_code: null, ...over }) as L7PolicySpec;

describe('the sandbox’s iRule interpreter', () => {
  it('refuses a client outside the allowed CIDRs when the connection is accepted, and lets one inside through', () => {
    const parsed = parseIRule(allowedCidrsRule(['127.0.0.0/30', '10.9.0.0/16'], 'tcp'));
    const run = (address: string) =>
      runEvent(parsed, 'CLIENT_ACCEPTED', facts(address), undefined, new Map()).kind;
    expect(run('127.0.0.2')).toBe('continue');
    expect(run('::ffff:127.0.0.3')).toBe('continue');
    expect(run('10.9.200.1')).toBe('continue');
    expect(run('127.0.0.4')).toBe('reject');
    expect(run('10.10.0.1')).toBe('reject');
    expect(run('2001:db8::1')).toBe('reject');
    expect(
      runEvent(
        parseIRule(allowedCidrsRule(['2001:db8::/32'], 'udp')),
        'CLIENT_ACCEPTED',
        facts('2001:db9::1'),
        undefined,
        new Map(),
      ).kind,
    ).toBe('drop');
  });

  it('routes a request as the generated L7 iRule says: first match, REGEX and the other compare types, default pool last', () => {
    const text = l7RoutingRule(
      [
        {
          spec: policy({ action: 'REJECT' }),
          rules: [rule({ type: 'HEADER', key: 'X-Block', compare_type: 'EQUAL_TO', value: 'yes' })],
        },
        {
          spec: policy({ action: 'REDIRECT_TO_POOL', redirect_pool_id: 'api' }),
          rules: [
            rule({ value: '^/api/v[0-9]+/' }),
            rule({ type: 'HOST_NAME', compare_type: 'STARTS_WITH', value: 'WWW.' }),
          ],
        },
        {
          spec: policy({
            action: 'REDIRECT_PREFIX',
            redirect_prefix: 'https://new.example.com',
            redirect_http_code: 301,
          }),
          rules: [rule({ type: 'FILE_TYPE', value: '^(php|asp)$' })],
        },
        {
          spec: policy({ action: 'REDIRECT_TO_URL', redirect_url: 'https://x.example/?a=[b]' }),
          rules: [rule({ type: 'COOKIE', key: 'k$', value: 'a"b\\{', invert: true })],
        },
      ],
      (id) => `/P/Project_${id}`,
      '/P/Project_web',
    );
    const parsed = parseIRule(text);
    expect(literalPools(text).sort()).toEqual(['/P/Project_api', '/P/Project_web']);
    const run = (path: string, headers: Record<string, string> = {}) =>
      runEvent(parsed, 'HTTP_REQUEST', facts('127.0.0.1'), head(path, headers), new Map());
    expect(run('/api/v2/x', { cookie: 'k$=a"b{' })).toEqual({ kind: 'continue', pool: '/P/Project_api' });
    expect(run('/api/v2/x', { 'x-block': 'yes' })).toEqual({ kind: 'reject' });
    expect(run('/api/vx/', { cookie: 'k$=a"b{' })).toEqual({ kind: 'continue', pool: '/P/Project_web' });
    expect(run('/api/v2/x', { host: 'shop.example.com', cookie: 'k$=a"b{' })).toEqual({
      kind: 'continue',
      pool: '/P/Project_web',
    });
    expect(run('/index.php?q=1')).toEqual({
      kind: 'respond',
      code: 301,
      headers: [['Location', 'https://new.example.com/index.php?q=1']],
    });
    // The inverted COOKIE rule: no such cookie value → it matches → the literal URL, brackets and all.
    expect(run('/plain')).toEqual({
      kind: 'respond',
      code: 302,
      headers: [['Location', 'https://x.example/?a=[b]']],
    });
  });

  it('parses the PROXY iRule and runs its CLIENT_ACCEPTED (the header is built, nothing is decided)', () => {
    const parsed = parseIRule(proxyProtocolRule('/P/Project_pool'));
    const vars = new Map<string, string>();
    expect(runEvent(parsed, 'CLIENT_ACCEPTED', facts('127.0.0.1'), undefined, vars)).toEqual({
      kind: 'continue',
      pool: undefined,
    });
    expect(vars.get('proxy_v1_header')).toBe('PROXY TCP4 127.0.0.1 127.0.0.9 40000 80\r\n');
    expect(literalPools(proxyProtocolRule('/P/Project_pool'))).toEqual([]);
  });

  it('refuses what does not parse, and a command it does not run, instead of guessing', () => {
    for (const text of ['when HTTP_REQUEST {', 'when HTTP_REQUEST { pool "x }', 'set x 1', 'when X { [foo }'])
      expect(() => parseIRule(text), text).toThrow(TclError);
    const parsed = parseIRule('when HTTP_REQUEST { exec id }');
    expect(() => runEvent(parsed, 'HTTP_REQUEST', facts('127.0.0.1'), head('/'), new Map())).toThrow(
      /invalid command name "exec"/,
    );
  });
});
