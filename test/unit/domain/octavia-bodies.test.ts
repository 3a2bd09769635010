import { describe, expect, it } from 'vitest';
import {
  insertHeaderFlags,
  postBody,
  putBody,
  rejectUnsupported,
} from '../../../functions/domain/octavia-bodies.js';

const LB = '6f1d2c3b-4a59-4e8f-9a0b-1c2d3e4f5a60';
const POOL = '7a2e3d4c-5b6a-4f90-8b1c-2d3e4f5a6b71';

describe('Octavia request bodies', () => {
  it('takes integers as numbers or as strings of digits (the peer suite sends protocol_port "80")', () => {
    const body = postBody('listener', {
      listener: { loadbalancer_id: LB, protocol: 'HTTP', protocol_port: '80' },
    });
    expect(body.protocol_port).toBe(80);
  });

  it('refuses an unknown attribute, a wrong type, a missing mandatory field and a value out of range with 400', () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      [
        'unknown attribute',
        { listener: { loadbalancer_id: LB, protocol: 'HTTP', protocol_port: 80, bogus: 1 } },
        /Unknown attribute for argument listener_\.listener: bogus/,
      ],
      [
        'wrong type',
        { listener: { loadbalancer_id: LB, protocol: 'HTTP', protocol_port: 80, admin_state_up: 'yes' } },
        /admin_state_up/,
      ],
      [
        'missing protocol',
        { listener: { loadbalancer_id: LB, protocol_port: 80 } },
        /protocol\. Value: 'None'\. Mandatory field missing/,
      ],
      [
        'bad protocol',
        { listener: { loadbalancer_id: LB, protocol: 'FTP', protocol_port: 80 } },
        /Value should be one of/,
      ],
      [
        'port out of range',
        { listener: { loadbalancer_id: LB, protocol: 'HTTP', protocol_port: 70000 } },
        /protocol_port/,
      ],
      ['not under its root key', { pool: {} }, /Unknown argument/],
    ];
    for (const [label, body, message] of cases)
      expect(() => postBody('listener', body), label).toThrow(
        expect.objectContaining({ status: 400, message: expect.stringMatching(message) }),
      );
  });

  it('accepts what Octavia accepts but this provider does not implement, then refuses it with 501 naming it', () => {
    const cases: [Parameters<typeof rejectUnsupported>[0], Record<string, unknown>, RegExp][] = [
      ['listener', { protocol: 'SCTP' }, /protocol SCTP/],
      ['listener', { timeout_member_connect: 1000 }, /timeout_member_connect other than 5000/],
      ['listener', { timeout_tcp_inspect: 50 }, /timeout_tcp_inspect other than 0/],
      ['listener', { alpn_protocols: ['h2'] }, /alpn_protocols/],
      ['listener', { client_crl_container_ref: 'x' }, /client_crl_container_ref/],
      ['listener', { insert_headers: { 'X-SSL-Client-DN': 'true' } }, /X-SSL-Client-DN/],
      ['pool', { protocol: 'SCTP' }, /protocol SCTP/],
      ['pool', { alpn_protocols: ['http/1.1'] }, /alpn_protocols/],
      ['pool', { crl_container_ref: 'x' }, /crl_container_ref/],
      ['healthmonitor', { type: 'SCTP' }, /SCTP/],
      ['l7rule', { type: 'SSL_DN_FIELD' }, /SSL_DN_FIELD/],
      ['loadbalancer', { listeners: [{ protocol: 'SCTP' }] }, /SCTP/],
    ];
    for (const [type, body, message] of cases)
      expect(() => rejectUnsupported(type, body), JSON.stringify(body)).toThrow(
        expect.objectContaining({ status: 501, message: expect.stringMatching(message) }),
      );
  });

  it('takes PROXYV2 pools, TRACE and CONNECT monitors and TLS-HELLO monitors (built: no 501)', () => {
    for (const [type, body] of [
      ['healthmonitor', { type: 'TLS-HELLO' }],
      ['pool', { protocol: 'HTTPS', healthmonitor: { type: 'TLS-HELLO' } }],
      ['pool', { protocol: 'PROXYV2' }],
      ['loadbalancer', { pools: [{ protocol: 'PROXYV2' }] }],
      ['healthmonitor', { type: 'HTTP', http_method: 'TRACE' }],
      ['healthmonitor', { type: 'HTTPS', http_method: 'CONNECT' }],
    ] as const)
      expect(() => rejectUnsupported(type, body), JSON.stringify(body)).not.toThrow();
  });

  it('lets TLS tuning, client authentication and TLS to members through (translated), and answers a bad ALPN id 400 as Octavia', () => {
    for (const [type, body] of [
      ['listener', { tls_versions: ['TLSv1.2'], tls_ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }],
      ['listener', { client_authentication: 'MANDATORY', client_ca_tls_container_ref: 'ref' }],
      [
        'pool',
        { tls_enabled: true, tls_container_ref: 'a', ca_tls_container_ref: 'b', tls_versions: ['TLSv1.3'] },
      ],
    ] as const)
      expect(() => rejectUnsupported(type, body), JSON.stringify(body)).not.toThrow();
    expect(() => rejectUnsupported('listener', { alpn_protocols: ['h3'] })).toThrow(
      expect.objectContaining({ status: 400, message: expect.stringMatching(/valid ALPN protocol ID/) }),
    );
    expect(() => rejectUnsupported('pool', { alpn_protocols: [] })).toThrow(
      expect.objectContaining({ status: 400, message: expect.stringMatching(/Empty ALPN protocol list/) }),
    );
  });

  it('lets the defaults Octavia shows through (a timeout at its default, client_authentication NONE, backup false)', () => {
    expect(() =>
      rejectUnsupported('listener', {
        timeout_member_connect: 5_000,
        timeout_tcp_inspect: 0,
        client_authentication: 'NONE',
      }),
    ).not.toThrow();
    expect(() => rejectUnsupported('member', { backup: false, monitor_port: null })).not.toThrow();
  });

  it('an unknown provider is a 400 (Octavia: not enabled)', () => {
    expect(() => rejectUnsupported('loadbalancer', { provider: 'amphora' })).toThrow(
      expect.objectContaining({ status: 400, message: "Provider 'amphora' is not enabled." }),
    );
  });

  it('reads a PUT with its own fields only (a pool cannot change protocol)', () => {
    expect(putBody('pool', { pool: { lb_algorithm: 'LEAST_CONNECTIONS' } })).toEqual({
      lb_algorithm: 'LEAST_CONNECTIONS',
    });
    expect(() => putBody('pool', { pool: { protocol: 'TCP' } })).toThrow(
      expect.objectContaining({ status: 400 }),
    );
    expect(
      postBody('healthmonitor', {
        healthmonitor: { pool_id: POOL, type: 'TCP', delay: 2, timeout: 3, max_retries: 3 },
      }),
    ).toMatchObject({ delay: 2, timeout: 3 });
  });

  it('takes insert_headers values as Octavia does ("true", "True", "1"...) and writes them as the device takes them', () => {
    expect(insertHeaderFlags({ 'X-Forwarded-For': 'True', 'X-Forwarded-Port': '0' })).toEqual({
      'X-Forwarded-For': 'true',
      'X-Forwarded-Port': 'false',
    });
    expect(() => insertHeaderFlags({ 'X-Forwarded-For': 'maybe' })).toThrow(
      expect.objectContaining({ status: 400 }),
    );
  });
});
