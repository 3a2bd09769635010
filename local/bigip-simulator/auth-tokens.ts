import { randomInt } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { errors } from './error-bodies.js';
import { type Reply, reply } from './http-io.js';

export interface TokenOptions {
  users: Record<string, string>;
  /** Accept HTTP Basic authentication on every endpoint (BIG-IP does for local users). */
  allowBasicAuth: boolean;
  tokenTimeoutSeconds: number;
  /** device-facts.md §5.3: 100 live tokens per user, then logins fail with 400. */
  maxTokensPerUser: number;
}

interface Token {
  user: string;
  startedAt: number;
  timeoutSeconds: number;
}

const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** Token authentication as `/mgmt/shared/authn/login` and `/mgmt/shared/authz/tokens` do it (bigip-rest.md A.1). */
export class TokenStore {
  private readonly tokens = new Map<string, Token>();

  constructor(
    private readonly opts: TokenOptions,
    private readonly clock: () => number,
  ) {}

  /** Tokens alive now (for tests of the cap and of token release). */
  live(user?: string): number {
    return [...this.tokens.values()].filter((t) => (!user || t.user === user) && !this.expired(t)).length;
  }

  expireAll(): void {
    for (const token of this.tokens.values()) token.startedAt = Number.NEGATIVE_INFINITY;
  }

  login(body: Record<string, unknown>): Reply {
    const user = String(body.username ?? '');
    if (!user || this.opts.users[user] === undefined || this.opts.users[user] !== body.password) {
      return reply(401, errors.loginFailed());
    }
    if (this.live(user) >= this.opts.maxTokensPerUser) return reply(400, errors.tokenQuota(user));
    const token = Array.from({ length: 26 }, () =>
      TOKEN_ALPHABET.charAt(randomInt(TOKEN_ALPHABET.length)),
    ).join('');
    this.tokens.set(token, { user, startedAt: this.clock(), timeoutSeconds: this.opts.tokenTimeoutSeconds });
    return reply(200, {
      username: user,
      loginReference: {
        link: 'https://localhost/mgmt/cm/system/authn/providers/tmos/1f44a60e-11a7-3c51-a49f-82983026b41b/login',
      },
      loginProviderName: String(body.loginProviderName ?? 'tmos'),
      token: this.body(token),
      generation: 0,
      lastUpdateMicros: 0,
    });
  }

  authenticate(headers: IncomingHttpHeaders, path: string): { user: string } | { error: unknown } {
    const header = headers['x-f5-auth-token'];
    if (typeof header === 'string' && header) {
      const token = this.tokens.get(header);
      if (!token) return { error: errors.tokenUnknown() };
      if (this.expired(token)) return { error: errors.tokenExpired() };
      return { user: token.user };
    }
    const basic = /^Basic (.+)$/.exec(String(headers.authorization ?? ''));
    if (basic && this.opts.allowBasicAuth) {
      const [user, ...rest] = Buffer.from(basic[1] as string, 'base64')
        .toString('utf8')
        .split(':');
      if (user && this.opts.users[user] === rest.join(':')) return { user };
      return { error: errors.loginFailed() };
    }
    return { error: errors.noAuth(path) };
  }

  /** `/mgmt/shared/authz/tokens[/<token>]`: list, read, extend (PATCH timeout) or delete tokens. */
  route(method: string, path: string, body: Record<string, unknown>, user: string): Reply {
    const id = path.split('/')[5];
    if (!id) {
      if (method === 'DELETE') {
        for (const [k, t] of this.tokens) if (t.user === user) this.tokens.delete(k);
        return reply(200, {});
      }
      return reply(200, {
        items: [...this.tokens.keys()]
          .filter((k) => this.tokens.get(k)?.user === user)
          .map((k) => this.body(k)),
      });
    }
    const token = this.tokens.get(id);
    if (!token || token.user !== user) return reply(404, errors.tokenNotFound(id));
    if (method === 'DELETE') {
      this.tokens.delete(id);
      return reply(200, {});
    }
    if (method === 'PATCH') {
      const timeout = Number(body.timeout);
      if (!Number.isFinite(timeout) || timeout > 36_000) return reply(406, errors.tokenTimeoutTooLong());
      token.timeoutSeconds = timeout;
    }
    return reply(200, this.body(id));
  }

  private expired(token: Token): boolean {
    return this.clock() - token.startedAt >= token.timeoutSeconds * 1000;
  }

  private body(token: string) {
    const t = this.tokens.get(token) as Token;
    const start = Number.isFinite(t.startedAt) ? t.startedAt : 0;
    return {
      token,
      name: token,
      userName: t.user,
      authProviderName: 'tmos',
      user: { link: `https://localhost/mgmt/shared/authz/users/${t.user}` },
      groupReferences: [],
      timeout: t.timeoutSeconds,
      startTime: new Date(start).toISOString(),
      address: '127.0.0.1',
      partition: '[All]',
      generation: 1,
      lastUpdateMicros: start * 1000,
      expirationMicros: (start + t.timeoutSeconds * 1000) * 1000,
      kind: 'shared:authz:tokens:authtokenitemstate',
      selfLink: `https://localhost/mgmt/shared/authz/tokens/${token}`,
    };
  }
}
