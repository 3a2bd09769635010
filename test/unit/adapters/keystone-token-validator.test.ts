import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KeystoneTokenValidator } from '../../../functions/adapters/keystone-token-validator.js';

// The validator's error paths against a loopback server answering as Keystone's v3 API does
// (POST /v3/auth/tokens: 201 with X-Subject-Token; GET /v3/auth/tokens: 200 with the token, 404
// for an unknown subject token, 401 when the caller's own token is no longer valid). The happy
// path against a real Keystone is test/integration/keystone-auth.test.ts.

interface Script {
  /** The status of each login, in order (201 once the list is used up). */
  logins?: number[];
  /** The status of each validation, in order (200 once the list is used up). */
  validations?: number[];
}

async function keystone(script: Script) {
  const seen: { method: string; authToken?: string; subject?: string }[] = [];
  let logins = 0;
  let validations = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        ...(req.headers['x-auth-token'] ? { authToken: String(req.headers['x-auth-token']) } : {}),
        ...(req.headers['x-subject-token'] ? { subject: String(req.headers['x-subject-token']) } : {}),
      });
      if (req.method === 'POST') {
        const status = script.logins?.[logins] ?? 201;
        logins += 1;
        const auth = JSON.parse(body) as { auth: { identity: { password: { user: { name: string } } } } };
        if (status !== 201) {
          res.writeHead(status, { 'content-type': 'application/json' }).end('{"error":{}}');
          return;
        }
        res
          .writeHead(201, { 'content-type': 'application/json', 'x-subject-token': `service-${logins}` })
          .end(
            JSON.stringify({
              token: {
                expires_at: '2999-01-01T00:00:00Z',
                user: { name: auth.auth.identity.password.user.name },
              },
            }),
          );
        return;
      }
      const status = script.validations?.[validations] ?? 200;
      validations += 1;
      if (status !== 200) {
        res.writeHead(status, { 'content-type': 'application/json' }).end('{"error":{}}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          token: {
            expires_at: '2999-01-01T00:00:00Z',
            project: { id: 'p1' },
            user: { id: 'u1' },
            roles: [{ name: 'member' }, { name: 'reader' }],
          },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3/`;
  return { url, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const credentials = async () => ({ username: 'octavia', password: 'pw', projectName: 'service' });
let closeServer: (() => Promise<void>) | undefined;
afterEach(async () => {
  await closeServer?.();
  closeServer = undefined;
});

describe('Keystone token validation, when Keystone says no or fails', () => {
  it('logs in again once when its own service token is refused (401), then validates', async () => {
    const k = await keystone({ validations: [401, 200] });
    closeServer = k.close;
    const validator = new KeystoneTokenValidator({ url: k.url, credentials, cacheMs: 60_000 });
    expect(await validator.validate('user-token')).toMatchObject({
      projectId: 'p1',
      userId: 'u1',
      roles: ['member', 'reader'],
      system: false,
    });
    expect(k.seen.map((s) => `${s.method} ${s.authToken ?? ''}`)).toEqual([
      'POST ',
      'GET service-1',
      'POST ',
      'GET service-2',
    ]);
  });

  it('a token Keystone does not know (404) or refuses twice (401) is no caller; the refusal is cached briefly', async () => {
    const k = await keystone({ validations: [404, 401, 401] });
    closeServer = k.close;
    let now = 1_000_000;
    const validator = new KeystoneTokenValidator({
      url: k.url,
      credentials,
      cacheMs: 60_000,
      clock: () => now,
    });
    expect(await validator.validate('unknown')).toBeUndefined();
    // The same token again within five seconds: Keystone is not asked.
    expect(await validator.validate('unknown')).toBeUndefined();
    expect(k.seen.filter((s) => s.method === 'GET')).toHaveLength(1);
    expect(await validator.validate('revoked')).toBeUndefined();
    expect(k.seen.filter((s) => s.method === 'GET').map((s) => s.subject)).toEqual([
      'unknown',
      'revoked',
      'revoked',
    ]);
    // Five seconds later the refusal is forgotten: Keystone is asked again (and knows it now).
    now += 5_001;
    expect(await validator.validate('unknown')).toMatchObject({ projectId: 'p1' });
    expect(k.seen.filter((s) => s.method === 'GET')).toHaveLength(4);
  });

  it('a Keystone error is an error (never a caller), and refused service credentials say so', async () => {
    const failing = await keystone({ validations: [503] });
    closeServer = failing.close;
    const validator = new KeystoneTokenValidator({ url: failing.url, credentials, cacheMs: 60_000 });
    await expect(validator.validate('t')).rejects.toThrow('Keystone answered 503 to a token validation');
    await failing.close();
    const refusing = await keystone({ logins: [401] });
    closeServer = refusing.close;
    const locked = new KeystoneTokenValidator({ url: refusing.url, credentials, cacheMs: 60_000 });
    await expect(locked.validate('t')).rejects.toThrow(
      "Keystone refused the API's service credentials (401)",
    );
  });

  it('a burst with one token asks Keystone once; the cache keeps at most maxEntries validations', async () => {
    const k = await keystone({});
    closeServer = k.close;
    const validator = new KeystoneTokenValidator({ url: k.url, credentials, cacheMs: 60_000, maxEntries: 1 });
    const burst = await Promise.all([
      validator.validate('a'),
      validator.validate('a'),
      validator.validate('a'),
    ]);
    expect(burst.every((t) => t?.projectId === 'p1')).toBe(true);
    expect(k.seen.filter((s) => s.method === 'GET')).toHaveLength(1);
    await validator.validate('b');
    // 'a' was pushed out by 'b': asked again.
    await validator.validate('a');
    expect(k.seen.filter((s) => s.method === 'GET').map((s) => s.subject)).toEqual(['a', 'b', 'a']);
    // One login served them all.
    expect(k.seen.filter((s) => s.method === 'POST')).toHaveLength(1);
  });
});
