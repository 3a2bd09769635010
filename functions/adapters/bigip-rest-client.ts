import http from 'node:http';
import https from 'node:https';
import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { BigIpError } from '../domain/errors.js';
import type { BigIpEndpoint, CredentialsProvider } from '../domain/ports.js';
import { sleep } from '../shared/timers.js';

export interface RestCall {
  device: string;
  method: string;
  path: string;
  status: number | undefined;
  ms: number;
  error?: string;
}

export interface RestClientOptions {
  /** Per-call timeout; a device that hangs costs at most this. */
  timeoutMs?: number;
  /** Retries of a transient failure (503 busy, resets of idempotent calls, 5xx of idempotent calls). */
  retries?: number;
  retryBaseMs?: number;
  /**
   * Time budget of one request with all its retries: no retry starts, and no attempt waits, past it.
   * Per-call timeout × retries otherwise multiply (a hung unit would hold a caller for minutes).
   */
  deadlineMs?: number;
  sleep?: (ms: number) => Promise<void>;
  clock?: () => number;
  /** Random source in [0, 1) for the back-off jitter. */
  random?: () => number;
  onCall?: (call: RestCall) => void;
  /** Signing credentials for the VPC link; defaults to the SDK's provider chain. */
  awsCredentials?: AwsCredentialIdentityProvider;
  /**
   * Configuration writes this client has at the device at once (default 2: one being processed,
   * one ready, so the device never waits on the network). The device takes them one at a time
   * anyway (§6); more in flight only lengthen its queue, and a config-sync command queued behind
   * them waited seconds while every writer waited for that sync (the hundred-tenant benchmark).
   */
  maxWritesInFlight?: number;
}

export interface RequestOptions {
  body?: unknown;
  /** Enlist in this iControl REST transaction (`X-F5-REST-Coordination-Id`). */
  transactionId?: string | number;
  /** Whether repeating the call after an ambiguous failure is safe; defaults by method. */
  idempotent?: boolean;
  /** Statuses returned instead of thrown (404 for reads). */
  accept?: number[];
  /** Skip authentication (the login call itself, reachability probes). */
  anonymous?: boolean;
  /** Authenticate with the credentials themselves (HTTP Basic): managing tokens when none can be had. */
  basic?: boolean;
  /**
   * Bytes sent as they are (a file upload: `application/octet-stream`), with extra headers such as
   * `Content-Range`. What they hold (key material) is never logged, like every body.
   */
  raw?: { bytes: Buffer; headers: Record<string, string> };
  /**
   * Not sent after this time (ms, the client's clock): a write covered by a partition lease must
   * reach the device while the lease holds. Past it, the call fails unsent (transient, not retried).
   */
  notAfter?: number;
}

export interface RestResponse {
  status: number;
  body: unknown;
}

const TOKEN_MARGIN_MS = 60_000;
/** A login refused because the user holds too many tokens (device-facts.md §5.3: 100 per user). */
const TOKEN_QUOTA_RE = /maximum active login tokens/i;
const MAX_BODY_BYTES = 32 * 1024 * 1024;

/**
 * An iControl REST client for one device: token login (`X-F5-Auth-Token`), one re-login and
 * retry on 401, timeouts, bounded retries with back-off for what is safe to repeat, TLS verified
 * against the configured CA, optional SigV4 for the VPC link. Credentials are never logged.
 */
export class BigIpRestClient {
  private token: { value: string; expiresAt: number } | undefined;
  private login: Promise<string> | undefined;
  private readonly agent: http.Agent;
  /**
   * Failover and config-sync calls (`/mgmt/tm/cm…`) on their own sockets: queued behind writes the
   * device takes one at a time, a sync's status read came back seconds after the sync had ended
   * (found by the hundred-tenant benchmark), and every writer waiting for that sync waited too.
   */
  private readonly controlAgent: http.Agent;
  private readonly base: URL;
  private readonly signer: SignatureV4 | undefined;
  private readonly writes: Gate;
  private readonly opts: Required<
    Omit<RestClientOptions, 'onCall' | 'awsCredentials' | 'maxWritesInFlight'>
  > & {
    onCall: RestClientOptions['onCall'] | undefined;
  };

  constructor(
    readonly endpoint: BigIpEndpoint,
    private readonly credentials: CredentialsProvider,
    options: RestClientOptions = {},
  ) {
    this.base = new URL(endpoint.baseUrl);
    if (this.base.protocol !== 'https:' && this.base.protocol !== 'http:') {
      throw new Error(`device ${endpoint.name}: base URL must be http(s), got ${this.base.protocol}`);
    }
    const agent = (maxSockets: number) =>
      this.base.protocol === 'https:'
        ? new https.Agent({
            keepAlive: true,
            maxSockets,
            rejectUnauthorized: true,
            ...(endpoint.caBundle ? { ca: endpoint.caBundle } : {}),
          })
        : new http.Agent({ keepAlive: true, maxSockets });
    this.agent = agent(8);
    this.controlAgent = agent(2);
    this.writes = new Gate(options.maxWritesInFlight ?? 2);
    const timeoutMs = options.timeoutMs ?? 30_000;
    this.opts = {
      timeoutMs,
      retries: options.retries ?? 3,
      retryBaseMs: options.retryBaseMs ?? 250,
      deadlineMs: options.deadlineMs ?? 2 * timeoutMs,
      sleep: options.sleep ?? sleep,
      clock: options.clock ?? Date.now,
      random: options.random ?? Math.random,
      onCall: options.onCall,
    };
    this.signer = endpoint.signing
      ? new SignatureV4({
          service: endpoint.signing.service ?? 'execute-api',
          region: endpoint.signing.region,
          credentials: options.awsCredentials ?? defaultProvider(),
          sha256: Sha256,
        })
      : undefined;
  }

  get name(): string {
    return this.endpoint.name;
  }

  /** Drops the cached token (a device restart invalidates them all). */
  forgetToken(): void {
    this.token = undefined;
  }

  /**
   * Gives the token back to the device (a token lives 20 minutes unless deleted, and a user may
   * hold 100): called when the client is done with the device. Best effort.
   */
  async releaseToken(): Promise<void> {
    const token = this.token?.value;
    this.token = undefined;
    if (!token) return;
    await this.send(
      'DELETE',
      `/mgmt/shared/authz/tokens/${encodeURIComponent(token)}`,
      {},
      token,
      this.opts.clock() + 5_000,
    ).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.releaseToken();
    this.agent.destroy();
    this.controlAgent.destroy();
  }

  async request(method: string, path: string, options: RequestOptions = {}): Promise<RestResponse> {
    const idempotent = options.idempotent ?? method !== 'POST';
    let deadline = this.opts.clock() + this.opts.deadlineMs;
    let reauthenticated = false;
    for (let attempt = 0; ; attempt++) {
      let token: string | undefined;
      if (!options.anonymous && !options.basic) token = await this.authToken();
      let response: RestResponse;
      try {
        if (isQueuedWrite(method, path, options)) {
          // Waiting for our own turn is not the device being slow: the attempt's time starts when
          // it is sent. But a write is never sent after the request's deadline (the partition
          // lease its caller renewed must still hold when it lands): then it fails unsent.
          const queuedAt = this.opts.clock();
          response = await this.writes.run(() => {
            const now = this.opts.clock();
            if (now >= deadline) throw unsent();
            deadline += now - queuedAt;
            return this.send(method, path, options, token, deadline);
          });
        } else response = await this.send(method, path, options, token, deadline);
      } catch (error) {
        const failure = this.transportError(method, path, error);
        // Past its deadline or send-by time: nothing was sent, and nothing more will be.
        if (/ENOTSENT/.test(failure.message)) throw failure;
        // Refused: nothing reached the device, so any call may be repeated.
        const safe = idempotent || /ECONNREFUSED/.test(failure.message);
        if (safe && attempt < this.opts.retries && (await this.backoff(attempt, deadline))) continue;
        throw failure;
      }
      if (response.status === 401 && !options.anonymous && !options.basic && !reauthenticated) {
        // Expired or revoked token: log in again and retry once (the call was not processed).
        reauthenticated = true;
        this.token = undefined;
        attempt--;
        continue;
      }
      if (response.status < 400 || options.accept?.includes(response.status)) return response;
      const failure = this.httpError(method, path, response);
      // 503 means "not processed, busy": repeatable whatever the method. Other 5xx only if idempotent.
      const safe = response.status === 503 || (failure.transient && idempotent);
      if (safe && attempt < this.opts.retries && (await this.backoff(attempt, deadline))) continue;
      throw failure;
    }
  }

  private async authToken(): Promise<string> {
    if (this.token && this.opts.clock() < this.token.expiresAt) return this.token.value;
    // One login at a time per device: concurrent callers share it (the device caps tokens per user).
    this.login ??= this.doLogin().finally(() => {
      this.login = undefined;
    });
    return this.login;
  }

  private async doLogin(): Promise<string> {
    const creds = await this.credentials.get();
    const started = this.opts.clock();
    const login = () =>
      this.request('POST', '/mgmt/shared/authn/login', {
        anonymous: true,
        idempotent: true,
        body: {
          username: creds.username,
          password: creds.password,
          loginProviderName: creds.loginProviderName ?? 'tmos',
        },
      });
    let response: RestResponse;
    try {
      response = await login();
    } catch (error) {
      // Too many tokens, left by callers that ended without releasing theirs: free the oldest half, once.
      if (!(error instanceof BigIpError && error.status === 400 && TOKEN_QUOTA_RE.test(error.message)))
        throw error;
      await this.reclaimTokens();
      response = await login();
    }
    const token = (response.body as { token?: { token?: string; timeout?: number } })?.token;
    if (!token?.token) {
      throw new BigIpError(`device ${this.name}: login answered without a token`, {
        device: this.name,
        status: response.status,
        transient: false,
      });
    }
    const lifetimeMs = (token.timeout ?? 1200) * 1000;
    this.token = {
      value: token.token,
      expiresAt: started + Math.max(lifetimeMs - TOKEN_MARGIN_MS, lifetimeMs / 2),
    };
    return token.token;
  }

  /**
   * Waits before retry `attempt + 1`: exponential with equal jitter (half fixed, half random), so
   * that agents retrying a busy device do not come back in step. False when the wait would end past
   * the request's deadline: then the caller gives up instead.
   */
  private async basicAuthorization(): Promise<string> {
    // Through the IAM-authorised VPC link the Authorization header carries the SigV4 signature.
    if (this.signer)
      throw new BigIpError(`device ${this.name}: Basic authentication cannot pass the signed VPC link`, {
        device: this.name,
        transient: false,
      });
    const creds = await this.credentials.get();
    return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
  }

  /**
   * Deletes the older half of the user's tokens (at least one). Their holders, if still alive,
   * get a 401 and log in again once; a token abandoned by a finished function is simply gone.
   */
  private async reclaimTokens(): Promise<void> {
    const listed = await this.request('GET', '/mgmt/shared/authz/tokens', { basic: true });
    const items = ((listed.body as { items?: { token?: string; startTime?: string }[] })?.items ?? [])
      .filter((t): t is { token: string; startTime?: string } => typeof t.token === 'string')
      .sort((a, b) => String(a.startTime).localeCompare(String(b.startTime)));
    const oldest = items.slice(0, Math.max(1, Math.floor(items.length / 2)));
    for (const t of oldest) {
      await this.request('DELETE', `/mgmt/shared/authz/tokens/${encodeURIComponent(t.token)}`, {
        basic: true,
        accept: [404],
      });
    }
  }

  private async backoff(attempt: number, deadline: number): Promise<boolean> {
    const ceiling = this.opts.retryBaseMs * 2 ** attempt;
    const delay = ceiling / 2 + this.opts.random() * (ceiling / 2);
    if (this.opts.clock() + delay >= deadline) return false;
    await this.opts.sleep(delay);
    return true;
  }

  private async send(
    method: string,
    path: string,
    options: RequestOptions,
    token: string | undefined,
    deadline: number,
  ): Promise<RestResponse> {
    // Past its send-by time (a lapsed partition lease), an attempt is not sent at all.
    if (options.notAfter !== undefined && this.opts.clock() >= options.notAfter) throw unsent();
    const url = new URL(path, this.base);
    // The base URL may carry a path prefix (an API Gateway stage and device route).
    url.pathname = `${this.base.pathname.replace(/\/$/, '')}${path.split('?')[0]}`;
    const payload: string | Buffer | undefined = options.raw
      ? options.raw.bytes
      : options.body === undefined
        ? undefined
        : JSON.stringify(options.body);
    let headers: Record<string, string> = {
      host: url.host,
      accept: 'application/json',
      ...(payload !== undefined
        ? {
            'content-type': options.raw ? 'application/octet-stream' : 'application/json',
            'content-length': String(Buffer.byteLength(payload)),
          }
        : {}),
      ...(options.raw?.headers ?? {}),
      ...(token ? { 'x-f5-auth-token': token } : {}),
      ...(options.basic ? { authorization: await this.basicAuthorization() } : {}),
      ...(options.transactionId !== undefined
        ? { 'x-f5-rest-coordination-id': String(options.transactionId) }
        : {}),
    };
    if (this.signer) {
      const signed = await this.signer.sign({
        method,
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        path: url.pathname,
        query: Object.fromEntries(url.searchParams.entries()),
        headers,
        ...(payload !== undefined ? { body: payload } : {}),
      });
      headers = signed.headers as Record<string, string>;
    }
    const started = performance.now();
    const transport = url.protocol === 'https:' ? https : http;
    const call: RestCall = {
      device: this.name,
      method,
      path: path.split('?')[0] as string,
      status: undefined,
      ms: 0,
    };
    try {
      const result = await new Promise<RestResponse>((resolve, reject) => {
        // One attempt waits at most its timeout, and never past the request's deadline.
        const timeout = Math.max(1, Math.min(this.opts.timeoutMs, deadline - this.opts.clock()));
        const agent = url.pathname.startsWith('/mgmt/tm/cm') ? this.controlAgent : this.agent;
        const req = transport.request(url, { method, headers, agent, timeout }, (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY_BYTES) req.destroy(new Error('response too large'));
            else chunks.push(c);
          });
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = text;
            if (text && /json/.test(String(res.headers['content-type'] ?? ''))) {
              try {
                body = JSON.parse(text);
              } catch {
                body = text;
              }
            }
            resolve({ status: res.statusCode ?? 0, body });
          });
          res.on('error', reject);
        });
        req.on('timeout', () =>
          req.destroy(Object.assign(new Error(`timed out after ${timeout} ms`), { code: 'ETIMEDOUT' })),
        );
        req.on('error', reject);
        if (payload !== undefined) req.write(payload);
        req.end();
      });
      call.status = result.status;
      return result;
    } catch (error) {
      call.error = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw error;
    } finally {
      call.ms = performance.now() - started;
      this.opts.onCall?.(call);
    }
  }

  private transportError(method: string, path: string, error: unknown): BigIpError {
    const e = error as NodeJS.ErrnoException;
    const code = e.code ?? e.message;
    const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(String(code));
    return new BigIpError(
      `device ${this.name}: ${method} ${path.split('?')[0]} failed: ${code}${tls ? ' (certificate not trusted: check the CA bundle)' : ''}`,
      { device: this.name, transient: !tls, context: { code } },
      { cause: error },
    );
  }

  private httpError(method: string, path: string, response: RestResponse): BigIpError {
    const message = errorMessage(response.body);
    const transient =
      response.status >= 500 ||
      response.status === 429 ||
      /not registered|connection to mcpd has been lost|active asynchronous task|Configuration Utility restarting/i.test(
        message,
      ) ||
      // Our own name in our own partition exists although the read before the change did not show
      // it: a write of ours the device was still working through when its call timed out (found by
      // the device benchmark), or a read while mcpd reloaded. Read again and plan again, rather than
      // put the object in ERROR; a transaction's commit says it as `transaction failed:01020066:…`.
      /^(transaction failed:)?01020066:/.test(message);
    return new BigIpError(
      `device ${this.name}: ${method} ${path.split('?')[0]}: ${response.status} ${message}`,
      {
        device: this.name,
        status: response.status,
        transient,
        context: { bigipMessage: message, apiError: (response.body as { apiError?: number })?.apiError },
      },
    );
  }
}

/** The message of any of BIG-IP's three error shapes (mcpd JSON, REST-framework JSON, HTML). */
export function errorMessage(body: unknown): string {
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    return (body as { message: string }).message;
  }
  const text = String(body ?? '');
  const title = /<title>([^<]*)<\/title>/i.exec(text)?.[1];
  const stripped = (title ?? text.replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ').trim();
  return stripped.slice(0, 300) || '(empty body)';
}

/**
 * A call the device queues with its other configuration writes: not a read, not a command enlisted
 * in a transaction (held until the commit), not a login, not a failover or config-sync call.
 */
function isQueuedWrite(method: string, path: string, options: RequestOptions): boolean {
  return (
    method !== 'GET' &&
    options.transactionId === undefined &&
    !path.startsWith('/mgmt/shared/authn/') &&
    !path.startsWith('/mgmt/tm/cm')
  );
}

/** A call that was never sent (its deadline or send-by time passed while it waited). */
function unsent(): Error {
  return Object.assign(new Error('ENOTSENT'), { code: 'ENOTSENT' });
}

/** At most `limit` callers at a time; the others wait in arrival order. */
class Gate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active += 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await fn();
    } finally {
      // The slot passes straight to the next waiter, so `active` only drops when no one waits.
      const next = this.waiting.shift();
      if (next) next();
      else this.active -= 1;
    }
  }
}
