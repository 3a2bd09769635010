import { createHash } from 'node:crypto';
import type { KeystoneServiceCredentials, TokenValidator, ValidatedToken } from '../domain/ports.js';

export type { KeystoneServiceCredentials };

export interface KeystoneValidatorOptions {
  /** Keystone's v3 endpoint, e.g. https://keystone.example.com/v3 */
  url: string;
  credentials: () => Promise<KeystoneServiceCredentials>;
  /** How long a validation is trusted at most (it never outlives the token itself). */
  cacheMs: number;
  clock?: () => number;
  /** Validations kept at most (the oldest go first). */
  maxEntries?: number;
  timeoutMs?: number;
}

/**
 * Keystone token validation (`GET /v3/auth/tokens` with the subject token, authorised by the
 * API's own service token), as keystonemiddleware does it for Octavia: the answer is cached until
 * the token expires or `cacheMs` passes, whichever comes first, and a refusal for a short while,
 * so a burst of calls with one token costs one validation. Tokens are kept only as hashes.
 */
export class KeystoneTokenValidator implements TokenValidator {
  private readonly cache = new Map<string, { token: ValidatedToken | undefined; until: number }>();
  /** Validations on their way, by token hash: a burst with one token asks Keystone once. */
  private readonly inFlight = new Map<string, Promise<ValidatedToken | undefined>>();
  private service: { token: string; expiresAt: number } | undefined;
  /** The service token's login on its way: concurrent validations share it. */
  private login: Promise<string> | undefined;
  private readonly clock: () => number;

  constructor(private readonly options: KeystoneValidatorOptions) {
    this.clock = options.clock ?? Date.now;
  }

  async validate(token: string): Promise<ValidatedToken | undefined> {
    const key = createHash('sha256').update(token).digest('base64url');
    const now = this.clock();
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.token;
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const validation = this.fetchValidation(token).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, validation);
    const result = await validation;
    const until = result
      ? Math.min(result.expiresAt, now + this.options.cacheMs)
      : now + Math.min(5_000, this.options.cacheMs);
    this.cache.delete(key);
    this.cache.set(key, { token: result, until });
    const max = this.options.maxEntries ?? 10_000;
    while (this.cache.size > max) this.cache.delete(this.cache.keys().next().value as string);
    return result;
  }

  private async fetchValidation(token: string, retried = false): Promise<ValidatedToken | undefined> {
    const serviceToken = await this.serviceToken();
    const send = () =>
      fetch(`${this.base()}/auth/tokens`, {
        headers: { 'X-Auth-Token': serviceToken, 'X-Subject-Token': token, Accept: 'application/json' },
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    // A validation is a read: one that failed on the way (reset, timeout) is sent once more.
    const res = await send().catch(() => send());
    if (res.status === 401 && !retried) {
      // The service token itself expired or was revoked: get a new one, once.
      this.service = undefined;
      return this.fetchValidation(token, true);
    }
    if (res.status === 404 || res.status === 401) return undefined;
    if (!res.ok) throw new Error(`Keystone answered ${res.status} to a token validation`);
    const body = (await res.json()) as { token?: KeystoneToken };
    return body.token ? toValidated(body.token) : undefined;
  }

  private base(): string {
    return this.options.url.replace(/\/+$/, '');
  }

  private async serviceToken(): Promise<string> {
    const now = this.clock();
    if (this.service && this.service.expiresAt - 60_000 > now) return this.service.token;
    this.login ??= this.logIn(now).finally(() => {
      this.login = undefined;
    });
    return this.login;
  }

  private async logIn(now: number): Promise<string> {
    const c = await this.options.credentials();
    const res = await fetch(`${this.base()}/auth/tokens`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: {
            methods: ['password'],
            password: {
              user: {
                name: c.username,
                domain: { name: c.userDomainName ?? 'Default' },
                password: c.password,
              },
            },
          },
          scope: { project: { name: c.projectName, domain: { name: c.projectDomainName ?? 'Default' } } },
        },
      }),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
    });
    const subject = res.headers.get('x-subject-token');
    if (res.status !== 201 || !subject)
      throw new Error(`Keystone refused the API's service credentials (${res.status})`);
    const body = (await res.json()) as { token?: KeystoneToken };
    this.service = { token: subject, expiresAt: Date.parse(body.token?.expires_at ?? '') || now + 300_000 };
    return subject;
  }
}

interface KeystoneToken {
  expires_at?: string;
  project?: { id?: string };
  user?: { id?: string };
  roles?: { name?: string }[];
  system?: { all?: boolean };
}

function toValidated(t: KeystoneToken): ValidatedToken {
  return {
    projectId: t.project?.id,
    roles: (t.roles ?? []).map((r) => r.name ?? '').filter(Boolean),
    userId: t.user?.id,
    system: t.system?.all === true,
    expiresAt: Date.parse(t.expires_at ?? '') || 0,
  };
}
