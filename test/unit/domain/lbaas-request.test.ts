import { describe, expect, it } from 'vitest';
import { parseRequest } from '../../../functions/domain/lbaas-request.js';
import { lbIds, requests, uuid } from '../../support/factories.js';

const parse = (body: unknown) => parseRequest(typeof body === 'string' ? body : JSON.stringify(body));

describe('parseRequest', () => {
  it('accepts every resource with Neutron field names and applies Neutron defaults', () => {
    const ids = lbIds();
    const pool = uuid();
    for (const body of [
      requests.createLoadbalancer(ids),
      requests.createListener(ids),
      requests.createPool(ids, { session_persistence: { type: 'APP_COOKIE', cookie_name: 'JSESSIONID' } }),
      requests.createMember(ids, pool, { address: '2001:DB8:0:0::1' }),
      requests.createHealthMonitor(ids, pool),
    ]) {
      const result = parse(body);
      expect(result.ok, JSON.stringify(result)).toBe(true);
    }
    const listener = parse({
      ...requests.createListener(ids),
      object: { id: uuid(), protocol: 'TCP', protocol_port: 443 },
    });
    expect(listener).toMatchObject({
      ok: true,
      request: { object: { connection_limit: -1, admin_state_up: true, default_pool_id: null, name: '' } },
    });
  });

  it('canonicalises IPv6 addresses and lower-cases ids so BIG-IP names are stable', () => {
    const ids = lbIds();
    const id = uuid().toUpperCase();
    const result = parse(requests.createMember(ids, uuid(), { id, address: '2001:DB8:0:0:0:0:0:1' }));
    expect(result).toMatchObject({
      ok: true,
      request: { object: { id: id.toLowerCase(), address: '2001:db8::1' } },
    });
  });

  it('drops read-only Neutron fields and keeps the tenant check', () => {
    const ids = lbIds();
    const ok = parse(
      requests.createListener(ids, {
        provisioning_status: 'ACTIVE',
        tenant_id: ids.tenantId,
        loadbalancer_id: ids.loadbalancerId,
      }),
    );
    expect(ok.ok).toBe(true);
    expect(parse(requests.createListener(ids, { tenant_id: lbIds().tenantId }))).toMatchObject({
      ok: false,
      reason: 'object.tenant_id does not match tenantId',
    });
    expect(parse(requests.createListener(ids, { loadbalancer_id: uuid() }))).toMatchObject({
      ok: false,
      reason: 'object.loadbalancer_id does not match loadbalancerId',
    });
    expect(parse(requests.createLoadbalancer(ids, { id: uuid() }))).toMatchObject({
      ok: false,
      reason: 'object.id must equal loadbalancerId for a loadbalancer request',
    });
  });

  it.each([
    ['not JSON', '{nope', /message is not valid JSON/],
    ['an array', '[]', /invalid request/],
    ['an unknown version', { ...requests.createLoadbalancer(lbIds()), version: 2 }, /version: must be 1/],
    [
      'an unknown operation',
      { ...requests.createLoadbalancer(lbIds()), operation: 'rename' },
      /operation: must be create, update, delete or batch_update/,
    ],
    [
      'an unknown resource',
      { ...requests.createLoadbalancer(lbIds()), resource: 'quota' },
      /resource: must be/,
    ],
    ['an extra top-level field', { ...requests.createLoadbalancer(lbIds()), sneaky: 1 }, /Unrecognized key/],
    ['a request id with spaces', { ...requests.createLoadbalancer(lbIds()), requestId: 'a b' }, /requestId/],
    [
      'a path in an id',
      { ...requests.createLoadbalancer(lbIds()), loadbalancerId: '../x' },
      /loadbalancerId: must be a UUID/,
    ],
    ['a tilde in the tenant', { ...requests.createLoadbalancer(lbIds()), tenantId: '~Common~x' }, /tenantId/],
    [
      'an HTML tag in a name',
      requests.createLoadbalancer(lbIds(), { name: '<b>x</b>' }),
      /object.name: must not contain/,
    ],
    ['a NUL byte', requests.createLoadbalancer(lbIds(), { description: 'a\u0000b' }), /object.description/],
    // C1 controls (U+0080–U+009F), e.g. NEL, break logs and device descriptions just as C0 ones do.
    [
      'a C1 control (NEL)',
      requests.createLoadbalancer(lbIds(), { name: 'a\u0085b' }),
      /object.name: must not contain/,
    ],
    [
      'a C1 control (CSI)',
      requests.createListener(lbIds(), { description: 'x\u009b[2J' }),
      /object.description/,
    ],
    ['a bad address', requests.createMember(lbIds(), uuid(), { address: '10.0.0.300' }), /object.address/],
    [
      'a port out of range',
      requests.createListener(lbIds(), { protocol_port: 70000 }),
      /object.protocol_port/,
    ],
    [
      'TERMINATED_HTTPS without a certificate',
      requests.createListener(lbIds(), { protocol: 'TERMINATED_HTTPS' }),
      /object.default_tls_container_ref: a TERMINATED_HTTPS listener needs default_tls_container_ref/,
    ],
    ['a weight as a string', requests.createMember(lbIds(), uuid(), { weight: '1' }), /object.weight/],
    [
      'APP_COOKIE without a cookie',
      requests.createPool(lbIds(), { session_persistence: { type: 'APP_COOKIE' } }),
      /cookie_name/,
    ],
    [
      'a URL path with a space',
      requests.createHealthMonitor(lbIds(), uuid(), { url_path: '/a b' }),
      /url_path/,
    ],
    [
      'a URL path with CRLF',
      requests.createHealthMonitor(lbIds(), uuid(), { url_path: '/a\r\nHost: x' }),
      /url_path/,
    ],
    [
      'bad expected codes',
      requests.createHealthMonitor(lbIds(), uuid(), { expected_codes: '200;rm' }),
      /expected_codes/,
    ],
  ])('rejects %s with a readable reason', (_label, body, reason) => {
    const result = parse(body);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it('accepts a monitor timeout above its delay, as Octavia does', () => {
    const result = parse(requests.createHealthMonitor(lbIds(), uuid(), { delay: 2, timeout: 5 }));
    expect(result).toMatchObject({ ok: true, request: { object: { delay: 2, timeout: 5 } } });
  });

  // Octavia's ranges, written out here (not read from the schema): every numeric field says its range
  // whatever the way it is missed (a custom type message must not hide the range messages).
  const numeric: [string, string, number, number, string, (v: number) => Record<string, unknown>][] = [
    [
      'listener',
      'protocol_port',
      1,
      65535,
      '',
      (v) => requests.createListener(lbIds(), { protocol_port: v }),
    ],
    [
      'listener',
      'connection_limit',
      -1,
      10_000_000,
      ' (no limit)',
      (v) => requests.createListener(lbIds(), { connection_limit: v }),
    ],
    [
      'member',
      'protocol_port',
      1,
      65535,
      '',
      (v) => requests.createMember(lbIds(), uuid(), { protocol_port: v }),
    ],
    ['member', 'weight', 0, 256, '', (v) => requests.createMember(lbIds(), uuid(), { weight: v })],
    [
      'healthmonitor',
      'delay',
      1,
      3600,
      '',
      (v) => requests.createHealthMonitor(lbIds(), uuid(), { delay: v, timeout: 1 }),
    ],
    [
      'healthmonitor',
      'timeout',
      1,
      3600,
      '',
      (v) => requests.createHealthMonitor(lbIds(), uuid(), { delay: 3600, timeout: v }),
    ],
    [
      'healthmonitor',
      'max_retries',
      1,
      10,
      '',
      (v) => requests.createHealthMonitor(lbIds(), uuid(), { max_retries: v }),
    ],
    [
      'healthmonitor',
      'max_retries_down',
      1,
      10,
      '',
      (v) => requests.createHealthMonitor(lbIds(), uuid(), { max_retries_down: v }),
    ],
    [
      'l7policy',
      'position',
      1,
      2_147_483_647,
      '',
      (v) => requests.createL7Policy(lbIds(), uuid(), { position: v }),
    ],
    [
      'member batch',
      'members.0.weight',
      0,
      256,
      '',
      (v) =>
        requests.memberBatch(lbIds(), uuid(), [
          { id: uuid(), address: '10.0.0.1', protocol_port: 80, weight: v },
        ]),
    ],
    [
      'member update',
      'weight',
      0,
      256,
      '',
      (v) => requests.update('member', lbIds(), { id: uuid(), weight: v }),
    ],
  ];
  it.each(numeric)('says the range of %s %s however it is missed', (_what, field, min, max, note, build) => {
    const expected = `object.${field}: must be a whole number from ${min}${note} to ${max}`;
    for (const bad of [min - 1, max + 1, min + 0.5, 1e20]) {
      const result = parse(build(bad));
      expect(result.ok, `${field} = ${bad}`).toBe(false);
      if (!result.ok) expect(result.reason.split('; ')[0]).toBe(`invalid request: ${expected}`);
    }
    const text = parse({
      ...build(min),
      object: { ...(build(min).object as object), [field.split('.').pop() as string]: 'x' },
    });
    if (!field.includes('.')) expect(text.ok === false && text.reason).toBe(`invalid request: ${expected}`);
    for (const good of [min, max]) expect(parse(build(good)).ok, `${field} = ${good}`).toBe(true);
  });

  it('rejects oversized messages before parsing them', () => {
    expect(parse('{"a":"' + 'x'.repeat(270_000) + '"}')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/larger than/),
    });
  });

  it('splits an update into changes and repeated immutable fields, and refuses empty updates', () => {
    const ids = lbIds();
    const id = uuid();
    expect(
      parse(requests.update('member', ids, { id, weight: 3, address: '10.0.0.9', protocol_port: 80 })),
    ).toMatchObject({
      ok: true,
      request: { changes: { weight: 3 }, unchanged: { address: '10.0.0.9', protocol_port: 80 } },
    });
    expect(parse(requests.update('member', ids, { id, address: '10.0.0.9' }))).toMatchObject({
      ok: false,
      reason:
        'update changes nothing: give at least one of name, weight, admin_state_up, backup, monitor_address, monitor_port, tags',
    });
  });

  it('keeps the identifiers of an invalid message only when they are valid themselves', () => {
    const ids = lbIds();
    const objectId = uuid();
    const result = parse({ ...requests.createMember(ids, uuid(), { id: objectId, weight: -1 }) });
    expect(result).toMatchObject({ ok: false, context: { ...ids, resource: 'member', objectId } });
    const hostile = parse({
      requestId: 'x y',
      tenantId: '../etc',
      loadbalancerId: 'a~b',
      resource: 'pool',
      object: { id: 'x' },
    });
    expect(hostile).toMatchObject({ ok: false, context: { resource: 'pool' } });
    expect(hostile.ok === false && hostile.context).toEqual({ resource: 'pool' });
  });

  it('accepts a delete with just the id', () => {
    const ids = lbIds();
    const id = uuid();
    expect(parse(requests.delete('pool', ids, id))).toMatchObject({
      ok: true,
      request: { operation: 'delete', object: { id } },
    });
  });
});

describe('parseRequest: L7 policies and rules', () => {
  const ids = lbIds();
  const listenerId = '11111111-2222-3333-4444-555555555555';
  const reason = (message: Record<string, unknown>) => {
    const r = parse(message);
    return r.ok ? 'accepted' : r.reason;
  };

  it('accepts each action with what it needs, and defaults the position to the end', () => {
    const ok = parse(requests.createL7Policy(ids, listenerId, { action: 'REJECT' }));
    expect(ok.ok && (ok.request.object as { position: number }).position).toBe(2_147_483_647);
    expect(
      reason(
        requests.createL7Policy(ids, listenerId, {
          action: 'REDIRECT_PREFIX',
          redirect_prefix: 'https://a.example',
        }),
      ),
    ).toBe('accepted');
    expect(reason(requests.createL7Policy(ids, listenerId, { action: 'REDIRECT_TO_POOL' }))).toMatch(
      /object.redirect_pool_id: REDIRECT_TO_POOL needs redirect_pool_id/,
    );
  });

  it.each([
    ['Tcl command substitution', 'http://example.com/[exec rm]'],
    ['a Tcl variable', 'http://example.com/$x'],
    ['a tcl: location', 'tcl:[HTTP::host]'],
    ['a space', 'http://example.com/a b'],
    ['a quote', 'http://example.com/"'],
    ['not http', 'ftp://example.com/'],
  ])('refuses a redirect URL with %s', (_what, url) => {
    expect(
      reason(requests.createL7Policy(ids, listenerId, { action: 'REDIRECT_TO_URL', redirect_url: url })),
    ).toMatch(/object.redirect_url: must be an http or https URL/);
  });

  it('refuses REGEX, a HEADER rule without key, a relative PATH and a value with quotes', () => {
    const policyId = listenerId;
    expect(reason(requests.createL7Rule(ids, policyId, { compare_type: 'REGEX', value: '^/a.*' }))).toMatch(
      /object.compare_type: REGEX is not supported: BIG-IP LTM policy conditions compare with EQUAL_TO, STARTS_WITH, ENDS_WITH or CONTAINS/,
    );
    expect(reason(requests.createL7Rule(ids, policyId, { type: 'HEADER', value: 'x' }))).toMatch(
      /object.key: a HEADER rule needs a key/,
    );
    expect(reason(requests.createL7Rule(ids, policyId, { type: 'PATH', value: 'api' }))).toMatch(
      /object.value: a PATH value must start with \//,
    );
    expect(reason(requests.createL7Rule(ids, policyId, { value: '/a"b' }))).toMatch(
      /object.value: must be 1-255/,
    );
    expect(
      reason(
        requests.createL7Rule(ids, policyId, { type: 'COOKIE', key: 'session', value: 'abc', invert: true }),
      ),
    ).toBe('accepted');
  });
});

describe('parseRequest: listeners with certificates and inserted headers', () => {
  const reason = (message: Record<string, unknown>) => {
    const r = parse(message);
    return r.ok ? 'accepted' : r.reason;
  };
  const ids = lbIds();
  const ref = (n: string) => `lbaas/Project/${ids.tenantId}/${n}`;

  it('takes a TERMINATED_HTTPS listener with its default and SNI certificates, and the X-Forwarded-* headers', () => {
    expect(
      reason(
        requests.createListener(ids, {
          protocol: 'TERMINATED_HTTPS',
          default_tls_container_ref: ref('www'),
          sni_container_refs: [ref('a')],
          insert_headers: { 'X-Forwarded-Proto': 'true' },
        }),
      ),
    ).toBe('accepted');
  });

  it.each([
    [
      'certificates on an HTTP listener',
      { default_tls_container_ref: 'lbaas/Project/x/y' },
      /object.default_tls_container_ref/,
    ],
    [
      'a certificate listed twice',
      {
        protocol: 'TERMINATED_HTTPS',
        default_tls_container_ref: 'lbaas/Project/00000000000000000000000000000000/a',
        sni_container_refs: ['lbaas/Project/00000000000000000000000000000000/a'],
      },
      /lists a certificate twice/,
    ],
    [
      'a reference that is not a secret name',
      { protocol: 'TERMINATED_HTTPS', default_tls_container_ref: 'https://barbican/v1/containers/1' },
      /must be a certificate reference lbaas\/<environment>\/<project>\/<name>/,
    ],
    [
      'a header Octavia has but BIG-IP here does not insert',
      { insert_headers: { 'X-SSL-Client-Verify': 'true' } },
      /supported headers are X-Forwarded-For, X-Forwarded-Port and X-Forwarded-Proto/,
    ],
    [
      'headers on a TCP listener',
      { protocol: 'TCP', insert_headers: { 'X-Forwarded-For': 'true' } },
      /insert_headers needs an HTTP or TERMINATED_HTTPS listener, not TCP/,
    ],
  ])('refuses %s', (_what, object, expected) => {
    expect(reason(requests.createListener(ids, object))).toMatch(expected);
  });
});
