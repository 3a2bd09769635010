import { EventEmitter } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { TokenStore } from './auth-tokens.js';
import { type CallRecord, type Controllable, callsByPath, controlRoute, dumpConfig } from './control-api.js';
import { DataPlane, type DataPlaneOptions } from './data-plane.js';
import type { DeviceTraits } from './device-traits.js';
import { errors, JETTY_500_HTML } from './error-bodies.js';
import { FaultInjector, type FaultSpec } from './faults.js';
import { configSync, newSyncState, type OtherGroup, type SyncState } from './ha-pair.js';
import { decodeSafe, nullResponse, type Reply, readBody, reply, send } from './http-io.js';
import { ConfigStore, SimError } from './ltm-model.js';
import { RestResources } from './rest-resources.js';
import { sharedEndpoint } from './shared-endpoints.js';
import { StatsBook } from './stats-book.js';
import { statusBody } from './status-endpoints.js';
import { callCost, TIMING_MODELS, type TimingModel, WriteSlot } from './timing-model.js';
import { type EnlistedCommand, Transactions } from './transactions.js';

export type { CallRecord } from './control-api.js';

export interface SimulatorOptions {
  hostname?: string;
  /** TMOS version; behaviour that differs by version follows it (12.1, 13.1, 14.1, 15.1+). */
  version?: string;
  /** How a GET in a missing partition answers (device-facts.md §3.2). */
  missingPartitionGet?: DeviceTraits['missingPartitionGet'];
  /** How long a config-sync takes to reach the peer (§4.3); 0 completes before the answer. */
  syncDelayMs?: number;
  /** How long calls take (§6): `TIMING_MODELS.zero` (default) or `.real`, or a model of its own. */
  timing?: TimingModel;
  users?: Record<string, string>;
  /** Accept HTTP Basic authentication on every endpoint (BIG-IP does for local users). */
  allowBasicAuth?: boolean;
  tokenTimeoutSeconds?: number;
  maxTokensPerUser?: number;
  transactionTimeoutSeconds?: number;
  failoverState?: 'active' | 'standby';
  clock?: () => number;
  random?: () => number;
  tls?: { key: string; cert: string };
  managementIp?: string;
  /**
   * Run the traffic side (data-plane.ts): monitors probe loopback members, loopback virtual
   * servers accept connections. Off by default: tests of the management plane need no sockets.
   */
  dataPlane?: boolean | DataPlaneOptions;
}

/**
 * A BIG-IP that speaks the iControl REST subset an LBaaS agent uses, with the real status codes
 * and bodies. This module is the HTTP front: it records each call, applies injected faults, and
 * routes to authentication (auth-tokens), status endpoints, transactions, config-sync (ha-pair)
 * and the configuration resources (rest-resources over the LTM model). Control endpoints for
 * tests live under `/__sim/` (control-api).
 */
export class BigIpSimulator implements Controllable {
  readonly store: ConfigStore;
  readonly traits: DeviceTraits;
  /** Traffic counters and member monitor states behind the stats endpoints (§5.2). */
  readonly stats = new StatsBook();
  readonly sync: SyncState;
  /** Test hook: `config-sync` is emitted when a sync starts (to fail over inside its window, say). */
  readonly events = new EventEmitter();
  /** How long calls take; benchmarks switch it after building a configuration at full speed. */
  timing: TimingModel;
  private readonly writeSlot = new WriteSlot();
  readonly faults: FaultInjector;
  readonly calls: CallRecord[] = [];
  readonly hostname: string;
  readonly version: string;
  readonly managementIp: string;
  failoverState: 'active' | 'standby';
  /**
   * mcpd is reloading (`restartMcpd`): not config-ready, and a GET of an object that exists answers
   * 404 "was not found" (`bigip-rest.md` A.6) until `mcpdReady()`.
   */
  mcpdReloading = false;
  /** Set by the HA pair: config changes since the last sync. */
  changesPending = false;
  peer: BigIpSimulator | undefined;
  deviceGroup = 'failover-group';
  /** Device groups besides the failover group (§7.11), in the states a test sets. */
  otherGroups: OtherGroup[] = [];
  readonly tokens: TokenStore;
  private readonly transactions: Transactions;
  private readonly resources: RestResources;
  private readonly sockets = new Set<Socket>();
  private readonly startedAt = performance.now();
  private server: http.Server | https.Server | undefined;
  /** The traffic side, when enabled. */
  readonly dataPlane: DataPlane | undefined;

  constructor(private readonly options: SimulatorOptions = {}) {
    const clock = options.clock ?? Date.now;
    this.faults = new FaultInjector(options.random);
    this.hostname = options.hostname ?? 'bigip1.example.test';
    this.version = options.version ?? '17.1.2.1';
    this.traits = { version: this.version, missingPartitionGet: options.missingPartitionGet ?? 400 };
    this.store = new ConfigStore(true, this.traits);
    this.timing = options.timing ?? TIMING_MODELS.zero;
    this.sync = newSyncState(options.syncDelayMs ?? this.timing.syncMs);
    this.managementIp = options.managementIp ?? '192.0.2.10';
    this.failoverState = options.failoverState ?? 'active';
    this.tokens = new TokenStore(
      {
        users: options.users ?? { admin: 'admin' },
        allowBasicAuth: options.allowBasicAuth ?? true,
        tokenTimeoutSeconds: options.tokenTimeoutSeconds ?? 1200,
        maxTokensPerUser: options.maxTokensPerUser ?? 100,
      },
      clock,
    );
    this.transactions = new Transactions(clock, options.transactionTimeoutSeconds ?? 120, this.version);
    this.resources = new RestResources(this.traits, this.stats, clock);
    if (options.dataPlane) {
      this.dataPlane = new DataPlane(
        this,
        options.dataPlane === true ? { clock } : { clock, ...options.dataPlane },
      );
    }
  }

  /** Starts serving on loopback; returns the base URL. */
  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((error) => {
        if (!res.headersSent) send(res, reply(500, { code: 500, message: String(error), errorStack: [] }));
      });
    };
    this.server = this.options.tls
      ? https.createServer(this.options.tls, handler)
      : http.createServer(handler);
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server?.listen(port, host, resolve));
    this.dataPlane?.start();
    return this.baseUrl;
  }

  get baseUrl(): string {
    const address = this.server?.address() as AddressInfo | undefined;
    if (!address) throw new Error('simulator is not listening');
    return `${this.options.tls ? 'https' : 'http'}://127.0.0.1:${address.port}`;
  }

  async close(): Promise<void> {
    await this.dataPlane?.stop();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  // ---- in-process control (tests, the local stack) ----

  setFailoverState(state: 'active' | 'standby'): void {
    this.failoverState = state;
  }

  failoverTo(state: 'active' | 'standby'): void {
    this.setFailoverState(state);
    this.peer?.setFailoverState(state === 'active' ? 'standby' : 'active');
  }

  injectFault(spec: FaultSpec): void {
    this.faults.add(spec);
  }

  /** mcpd restarts: readiness says no and existing objects answer 404 until `mcpdReady()`. */
  restartMcpd(): void {
    this.mcpdReloading = true;
  }

  mcpdReady(): void {
    this.mcpdReloading = false;
  }

  /** A unit replaced by a new one: its configuration and counters start empty (built-ins only). */
  replaceWithEmptyUnit(): void {
    this.store.replaceWith(new ConfigStore(true, this.traits));
    this.stats.reset();
  }

  expireAllTokens(): void {
    this.tokens.expireAll();
  }

  resetCalls(): void {
    this.calls.length = 0;
  }

  /** Calls made, optionally filtered by method and path. */
  callCount(filter: { method?: string; path?: RegExp } = {}): number {
    return this.calls.filter(
      (c) => (!filter.method || c.method === filter.method) && (!filter.path || filter.path.test(c.path)),
    ).length;
  }

  callsByPath(): Record<string, number> {
    return callsByPath(this.calls);
  }

  /** The configuration outside /Common, by collection. */
  dump(): Record<string, unknown[]> {
    return dumpConfig(this.store);
  }

  /** Partitions (folders) other than /Common. */
  partitions(): string[] {
    return this.store
      .all('sys/folder')
      .map((f) => f.name)
      .filter((n) => n !== 'Common')
      .sort();
  }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'https://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const raw = await readBody(req);
    if (url.pathname.startsWith('/__sim/')) {
      send(res, controlRoute(this, method, url.pathname.slice('/__sim/'.length), raw));
      return;
    }
    const record: CallRecord = {
      at: started - this.startedAt,
      signed: String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256'),
      method,
      path: url.pathname,
      query: url.search,
      status: 0,
      ms: 0,
    };
    const txHeader = req.headers['x-f5-rest-coordination-id'];
    if (typeof txHeader === 'string') record.transactionId = txHeader;
    res.on('finish', () => {
      record.status = res.statusCode;
      record.ms = performance.now() - started;
    });
    this.calls.push(record);

    let resetAfter = false;
    for (const fault of this.faults.take(method, url.pathname)) {
      switch (fault.kind) {
        case 'latency':
          await new Promise((r) => setTimeout(r, fault.delayMs ?? 100));
          break;
        case 'reset':
          record.status = -1;
          req.socket.destroy();
          return;
        case 'hang':
          record.status = -2;
          return;
        case 'busy':
          return send(res, reply(503, errors.busy()));
        case 'mcpd-restart':
          return send(res, reply(500, errors.mcpdLost()));
        case 'html-500':
          return send(res, { status: 500, body: undefined, html: JETTY_500_HTML });
        case 'not-registered':
          return send(res, reply(404, errors.notRegistered(url.pathname)));
        case 'false-404':
          return send(
            res,
            reply(404, errors.notFound(falseNotFoundNoun(url.pathname), falseNotFoundPath(url.pathname))),
          );
        case 'expire-tokens':
          this.expireAllTokens();
          break;
        case 'reset-after-commit':
          resetAfter = true;
          break;
      }
    }
    const answer = await this.timed(method, url.pathname, req, () => this.route(method, url, raw, req));
    send(resetAfter ? nullResponse(req) : res, answer);
    if (resetAfter) {
      record.status = -1;
      req.socket.destroy();
    }
  }

  /** Answers after the time the model says the call takes; writes wait for the device's one write slot. */
  private async timed(
    method: string,
    path: string,
    req: IncomingMessage,
    answer: () => Reply,
  ): Promise<Reply> {
    const txHeader = req.headers['x-f5-rest-coordination-id'];
    const commit = /^\/mgmt\/tm\/transaction\/(\d+)$/.exec(path);
    const cost = callCost(this.timing, {
      method,
      path,
      enlisted: typeof txHeader === 'string',
      commitCommands: commit && method === 'PATCH' ? this.transactions.size(commit[1] as string) : undefined,
    });
    if (cost.ms === 0) return answer();
    const wait = () => new Promise((r) => setTimeout(r, cost.ms));
    if (!cost.serial) {
      await wait();
      return answer();
    }
    return this.writeSlot.hold(async () => {
      await wait();
      return answer();
    });
  }

  private route(method: string, url: URL, raw: string, req: IncomingMessage): Reply {
    const path = url.pathname;
    if (path === '/' && method === 'GET') {
      return { status: 200, body: undefined, html: '<html><body>BIG-IP Configuration Utility</body></html>' };
    }
    const upload = /^\/mgmt\/shared\/file-transfer\/uploads\/([^/]+)$/.exec(path);
    if (upload && method === 'POST') {
      const auth = this.tokens.authenticate(req.headers, path);
      if ('error' in auth) return reply(401, auth.error);
      const range = req.headers['content-range'];
      const answer = this.resources.crypto.upload(
        decodeSafe(upload[1] as string),
        typeof range === 'string' ? range : undefined,
        Buffer.from(raw, 'utf8'),
      );
      return reply(answer.status, answer.body);
    }
    if (/[<>]/.test(decodeSafe(path + url.search)) || /[<>]/.test(raw)) return reply(400, errors.htmlTag());
    let body: Record<string, unknown> = {};
    if (raw.trim()) {
      try {
        body = JSON.parse(raw);
      } catch {
        return { ...reply(400, errors.invalidJson()), headers: { connection: 'close' } };
      }
    }
    if (path === '/mgmt/shared/authn/login' && method === 'POST') return this.tokens.login(body);

    const auth = this.tokens.authenticate(req.headers, path);
    if ('error' in auth) return reply(401, auth.error);

    if (path.startsWith('/mgmt/shared/authz/tokens')) return this.tokens.route(method, path, body, auth.user);
    if (path.startsWith('/mgmt/shared/') && method === 'GET') {
      const shared = sharedEndpoint(this, path);
      if (shared) return shared;
    }
    if (!path.startsWith('/mgmt/tm/')) return reply(404, errors.unknownPath(path.replace(/^\/mgmt/, '')));
    const tm = path.slice('/mgmt/tm/'.length);

    if (method === 'GET') {
      const status = statusBody(this, tm);
      if (status) return reply(200, status);
    }
    if (tm === 'cm' && method === 'POST') {
      const answer = configSync(this, body);
      if (answer.status === 200) this.events.emit('config-sync');
      return answer;
    }
    if (tm === 'transaction' || tm.startsWith('transaction/')) {
      return this.transactions.route(method, tm, body, {
        store: this.store,
        run: (store, c) => this.resources.execute(store, c.method, c.path, c.query, c.body),
        changed: () => this.changed(),
      });
    }
    // While mcpd reloads, objects that exist answer 404 (a single object's GET: `~P~name` in the path).
    if (this.mcpdReloading && method === 'GET' && /\/~[^/]+(\/|$)/.test(path) && !path.endsWith('/stats')) {
      return reply(404, errors.notFound(falseNotFoundNoun(path), falseNotFoundPath(path)));
    }
    const txId = req.headers['x-f5-rest-coordination-id'];
    if (typeof txId === 'string' && method !== 'GET') {
      const command: EnlistedCommand = { method, path: tm, query: url.searchParams, body };
      return this.transactions.enlist(txId, command);
    }
    try {
      const out = this.resources.execute(this.store, method, tm, url.searchParams, body);
      if (method !== 'GET') this.changed();
      return reply(200, out);
    } catch (error) {
      if (error instanceof SimError) return reply(error.status, error.body);
      throw error;
    }
  }

  private changed(): void {
    this.changesPending = true;
    if (this.peer) this.peer.changesPending = true;
  }
}

/** The noun a false 404 names: the object whose path is asked for (its pool for a member path). */
function falseNotFoundNoun(path: string): string {
  if (path.includes('/ltm/pool/')) return 'Pool';
  if (path.includes('/ltm/virtual/')) return 'Virtual Server';
  return 'Object';
}

function falseNotFoundPath(path: string): string {
  const id = /\/(~[^/]+)/.exec(path)?.[1] ?? '';
  return decodeSafe(id).replaceAll('~', '/');
}
