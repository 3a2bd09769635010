import { randomInt } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { errors, JETTY_500_HTML } from './error-bodies.js';
import { FaultInjector, type FaultSpec } from './faults.js';
import {
  type Collection,
  ConfigStore,
  MONITOR_TYPES,
  monitorsOf,
  PERSISTENCE_TYPES,
  PROFILE_TYPES,
  SimError,
  type StoredObject,
} from './ltm-model.js';

export interface SimulatorOptions {
  hostname?: string;
  version?: string;
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
}

export interface CallRecord {
  /** Milliseconds since the simulator started (ordering of calls across clients). */
  at: number;
  /** True when the call carried an AWS SigV4 signature (the VPC link's IAM authorisation). */
  signed: boolean;
  method: string;
  path: string;
  query: string;
  status: number;
  ms: number;
  transactionId?: string;
}

interface Token {
  user: string;
  startedAt: number;
  timeoutSeconds: number;
}

interface Transaction {
  id: string;
  commands: { method: string; path: string; query: URLSearchParams; body: Record<string, unknown> }[];
  lastActivity: number;
  timeoutSeconds: number;
  state: 'STARTED' | 'COMPLETED' | 'FAILED';
}

const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * A BIG-IP that speaks the iControl REST subset an LBaaS agent uses, with the real status codes
 * and bodies: token login and expiry, `~Partition~name` ids, referential integrity, transactions,
 * failover status, and injectable faults. It records every call and can dump its configuration.
 * Control endpoints live under `/__sim/` (never under `/mgmt`).
 */
export class BigIpSimulator {
  readonly store = new ConfigStore();
  readonly faults: FaultInjector;
  readonly calls: CallRecord[] = [];
  readonly hostname: string;
  readonly version: string;
  failoverState: 'active' | 'standby';
  /** Set by the HA pair: config changes since the last sync. */
  changesPending = false;
  peer: BigIpSimulator | undefined;
  deviceGroup = 'failover-group';
  private readonly tokens = new Map<string, Token>();
  private readonly transactions = new Map<string, Transaction>();
  private readonly sockets = new Set<Socket>();
  private readonly startedAt = performance.now();
  private server: http.Server | https.Server | undefined;
  private readonly clock: () => number;
  private readonly opts: Required<Omit<SimulatorOptions, 'tls' | 'clock' | 'random' | 'failoverState'>>;

  constructor(private readonly options: SimulatorOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.faults = new FaultInjector(options.random);
    this.hostname = options.hostname ?? 'bigip1.example.test';
    this.version = options.version ?? '17.1.2.1';
    this.failoverState = options.failoverState ?? 'active';
    this.opts = {
      hostname: this.hostname,
      version: this.version,
      users: options.users ?? { admin: 'admin' },
      allowBasicAuth: options.allowBasicAuth ?? true,
      tokenTimeoutSeconds: options.tokenTimeoutSeconds ?? 1200,
      maxTokensPerUser: options.maxTokensPerUser ?? 100,
      transactionTimeoutSeconds: options.transactionTimeoutSeconds ?? 120,
      managementIp: options.managementIp ?? '192.0.2.10',
    };
  }

  /** Starts serving on loopback; returns the base URL. */
  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((error) => {
        if (!res.headersSent) this.json(res, 500, { code: 500, message: String(error), errorStack: [] });
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
    return this.baseUrl;
  }

  get baseUrl(): string {
    const address = this.server?.address() as AddressInfo | undefined;
    if (!address) throw new Error('simulator is not listening');
    return `${this.options.tls ? 'https' : 'http'}://127.0.0.1:${address.port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  // ---- control (in-process) ----

  setFailoverState(state: 'active' | 'standby'): void {
    this.failoverState = state;
  }

  injectFault(spec: FaultSpec): void {
    this.faults.add(spec);
  }

  expireAllTokens(): void {
    for (const token of this.tokens.values()) token.startedAt = -Infinity;
  }

  resetCalls(): void {
    this.calls.length = 0;
  }

  /** Calls made, optionally filtered; `METHOD path` counts when `byPath` is set. */
  callCount(filter: { method?: string; path?: RegExp } = {}): number {
    return this.calls.filter(
      (c) => (!filter.method || c.method === filter.method) && (!filter.path || filter.path.test(c.path)),
    ).length;
  }

  callsByPath(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const c of this.calls) {
      const template = `${c.method} ${c.path.replace(/~[^/]+/g, '~{id}').replace(/transaction\/\d+/, 'transaction/{id}')}`;
      counts[template] = (counts[template] ?? 0) + 1;
    }
    return counts;
  }

  /** The configuration outside /Common, by collection. */
  dump(): Record<string, unknown[]> {
    const out: Record<string, unknown[]> = {};
    const collections: Collection[] = [
      'sys/folder',
      'ltm/virtual-address',
      'ltm/virtual',
      'ltm/pool',
      'ltm/pool/members',
      'ltm/node',
      ...MONITOR_TYPES.map((t) => `ltm/monitor/${t}` as Collection),
      ...PERSISTENCE_TYPES.map((t) => `ltm/persistence/${t}` as Collection),
    ];
    for (const c of collections) {
      const objects = this.store.all(c).filter((o) => o.partition !== 'Common');
      if (objects.length > 0) {
        out[c] = objects
          .map((o) => ({ fullPath: o.fullPath, ...(o.pool ? { pool: o.pool } : {}), ...o.attrs }))
          .sort((a, b) => a.fullPath.localeCompare(b.fullPath));
      }
    }
    return out;
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
    if (url.pathname.startsWith('/__sim/')) {
      this.control(method, url, raw, res);
      return;
    }
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
          return this.json(res, 503, errors.busy());
        case 'mcpd-restart':
          return this.json(res, 500, errors.mcpdLost());
        case 'html-500':
          res.writeHead(500, { 'content-type': 'text/html;charset=iso-8859-1' });
          res.end(JETTY_500_HTML);
          return;
        case 'not-registered':
          return this.json(res, 404, errors.notRegistered(url.pathname));
        case 'expire-tokens':
          this.expireAllTokens();
          break;
        case 'reset-after-commit':
          resetAfter = true;
          break;
      }
    }
    const target = resetAfter ? nullResponse(req) : res;
    await this.route(method, url, raw, req, target);
    if (resetAfter) {
      record.status = -1;
      req.socket.destroy();
    }
  }

  private async route(
    method: string,
    url: URL,
    raw: string,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const path = url.pathname;
    if (path === '/' && method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>BIG-IP Configuration Utility</body></html>');
      return;
    }
    if (/[<>]/.test(decodeSafe(path + url.search)) || /[<>]/.test(raw))
      return this.json(res, 400, errors.htmlTag());
    let body: Record<string, unknown> = {};
    if (raw.trim()) {
      try {
        body = JSON.parse(raw);
      } catch {
        res.setHeader('connection', 'close');
        return this.json(res, 400, errors.invalidJson());
      }
    }
    if (path === '/mgmt/shared/authn/login' && method === 'POST') return this.login(body, res);

    const auth = this.authenticate(req, path);
    if (auth.error) return this.json(res, 401, auth.error);

    if (path.startsWith('/mgmt/shared/authz/tokens'))
      return this.tokenRoute(method, path, body, auth.user ?? '', res);
    if (!path.startsWith('/mgmt/tm/'))
      return this.json(res, 404, errors.unknownPath(path.replace(/^\/mgmt/, '')));
    const tm = path.slice('/mgmt/tm/'.length);

    if (method === 'GET') {
      const status = this.statusRoute(tm);
      if (status) return this.json(res, 200, status);
    }
    if (tm === 'cm' && method === 'POST') return this.configSync(body, res);
    if (tm === 'transaction' || tm.startsWith('transaction/'))
      return this.transactionRoute(method, tm, body, res);

    const txId = req.headers['x-f5-rest-coordination-id'];
    if (typeof txId === 'string' && method !== 'GET') {
      const tx = this.liveTransaction(txId);
      if (!tx) return this.json(res, 404, errors.transactionNotFound(txId));
      if (method === 'PATCH' && Object.keys(body).length === 0)
        return this.json(res, 400, errors.emptyPatch());
      tx.commands.push({ method, path: tm, query: url.searchParams, body });
      tx.lastActivity = this.clock();
      return this.json(res, 200, this.transactionBody(tx, tx.commands.length));
    }
    try {
      const out = this.configRoute(this.store, method, tm, url.searchParams, body);
      if (method !== 'GET') this.changed();
      return this.json(res, 200, out);
    } catch (error) {
      if (error instanceof SimError) return this.json(res, error.status, error.body);
      throw error;
    }
  }

  private changed(): void {
    this.changesPending = true;
    if (this.peer) this.peer.changesPending = true;
  }

  // ---- auth ----

  private login(body: Record<string, unknown>, res: ServerResponse) {
    const user = String(body.username ?? '');
    if (!user || this.opts.users[user] === undefined || this.opts.users[user] !== body.password) {
      return this.json(res, 401, errors.loginFailed());
    }
    const live = [...this.tokens.values()].filter((t) => t.user === user && !this.expired(t)).length;
    if (live >= this.opts.maxTokensPerUser) return this.json(res, 400, errors.tokenQuota(user));
    const token = Array.from({ length: 26 }, () =>
      TOKEN_ALPHABET.charAt(randomInt(TOKEN_ALPHABET.length)),
    ).join('');
    const now = this.clock();
    this.tokens.set(token, { user, startedAt: now, timeoutSeconds: this.opts.tokenTimeoutSeconds });
    this.json(res, 200, {
      username: user,
      loginReference: {
        link: 'https://localhost/mgmt/cm/system/authn/providers/tmos/1f44a60e-11a7-3c51-a49f-82983026b41b/login',
      },
      loginProviderName: String(body.loginProviderName ?? 'tmos'),
      token: this.tokenBody(token),
      generation: 0,
      lastUpdateMicros: 0,
    });
  }

  private tokenBody(token: string) {
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

  private expired(token: Token): boolean {
    return this.clock() - token.startedAt >= token.timeoutSeconds * 1000;
  }

  private authenticate(
    req: IncomingMessage,
    path: string,
  ): { user: string; error?: undefined } | { user?: undefined; error: unknown } {
    const header = req.headers['x-f5-auth-token'];
    if (typeof header === 'string' && header) {
      const token = this.tokens.get(header);
      if (!token) return { error: errors.tokenUnknown() };
      if (this.expired(token)) return { error: errors.tokenExpired() };
      return { user: token.user };
    }
    const basic = /^Basic (.+)$/.exec(String(req.headers.authorization ?? ''));
    if (basic && this.opts.allowBasicAuth) {
      const [user, ...rest] = Buffer.from(basic[1] as string, 'base64')
        .toString('utf8')
        .split(':');
      if (user && this.opts.users[user] === rest.join(':')) return { user };
      return { error: errors.loginFailed() };
    }
    return { error: errors.noAuth(path) };
  }

  private tokenRoute(
    method: string,
    path: string,
    body: Record<string, unknown>,
    user: string,
    res: ServerResponse,
  ) {
    const id = path.split('/')[5];
    if (!id) {
      if (method === 'DELETE') {
        for (const [k, t] of this.tokens) if (t.user === user) this.tokens.delete(k);
        return this.json(res, 200, {});
      }
      return this.json(res, 200, {
        items: [...this.tokens.keys()]
          .filter((k) => this.tokens.get(k)?.user === user)
          .map((k) => this.tokenBody(k)),
      });
    }
    const token = this.tokens.get(id);
    if (!token || token.user !== user) return this.json(res, 404, errors.tokenNotFound(id));
    if (method === 'DELETE') {
      this.tokens.delete(id);
      return this.json(res, 200, {});
    }
    if (method === 'PATCH') {
      const timeout = Number(body.timeout);
      if (!Number.isFinite(timeout) || timeout > 36_000)
        return this.json(res, 406, errors.tokenTimeoutTooLong());
      token.timeoutSeconds = timeout;
    }
    return this.json(res, 200, this.tokenBody(id));
  }

  // ---- status endpoints ----

  private stats(path: string, entries: Record<string, string | number>) {
    const nested: Record<string, { description?: string; value?: number }> = {};
    for (const [k, v] of Object.entries(entries))
      nested[k] = typeof v === 'number' ? { value: v } : { description: v };
    return {
      kind: `tm:${path.replaceAll('/', ':')}:${path.split('/').pop()}stats`,
      selfLink: `https://localhost/mgmt/tm/${path}?ver=${this.version}`,
      entries: { [`https://localhost/mgmt/tm/${path}/0`]: { nestedStats: { entries: nested } } },
    };
  }

  private statusRoute(tm: string): unknown {
    const active = this.failoverState === 'active';
    switch (tm) {
      case 'sys/version':
        return this.stats('sys/version', {
          Build: '0.0.4',
          Date: 'Thu Nov  2 10:11:43 PDT 2025',
          Edition: 'Point Release 1',
          Product: 'BIG-IP',
          Title: 'Main Package',
          Version: this.version,
        });
      case 'sys/ready':
        return this.stats('sys/ready', { configReady: 'yes', licenseReady: 'yes', provisionReady: 'yes' });
      case 'cm/failover-status':
        return this.stats('cm/failover-status', {
          color: active ? 'green' : 'gray',
          status: active ? 'ACTIVE' : 'STANDBY',
          summary: active ? '1/1 active' : '0/1 active',
        });
      case 'cm/sync-status': {
        const status = !this.peer ? 'Standalone' : this.changesPending ? 'Changes Pending' : 'In Sync';
        return this.stats('cm/sync-status', {
          color: status === 'Changes Pending' ? 'yellow' : 'green',
          mode: this.peer ? 'high-availability' : 'standalone',
          status,
          summary:
            status === 'Changes Pending'
              ? `There is a possible change conflict between ${this.hostname} and ${this.peer?.hostname}.`
              : '',
        });
      }
      case 'cm/device': {
        const devices = [this, ...(this.peer ? [this.peer] : [])];
        return {
          kind: 'tm:cm:device:devicecollectionstate',
          selfLink: `https://localhost/mgmt/tm/cm/device?ver=${this.version}`,
          items: devices.map((d) => ({
            kind: 'tm:cm:device:devicestate',
            name: d.hostname,
            partition: 'Common',
            fullPath: `/Common/${d.hostname}`,
            hostname: d.hostname,
            selfDevice: d === this ? 'true' : 'false',
            failoverState: d.failoverState,
            managementIp: d.opts.managementIp,
            version: d.version,
          })),
        };
      }
      default:
        return undefined;
    }
  }

  private configSync(body: Record<string, unknown>, res: ServerResponse) {
    const args = String(body.utilCmdArgs ?? '');
    const match = /^config-sync to-group (\S+)$/.exec(args);
    if (body.command !== 'run' || !match)
      return this.json(res, 400, errors.invalidValue(`invalid command ${args}`));
    if (!this.peer || match[1] !== this.deviceGroup) {
      return this.json(res, 400, {
        code: 400,
        message: `01070734:3: Configuration error: Device group (${match[1]}) not found in device group sync`,
        errorStack: [],
        apiError: 3,
      });
    }
    this.peer.store.replaceWith(this.store);
    this.changesPending = false;
    this.peer.changesPending = false;
    this.json(res, 200, { kind: 'tm:cm:runstate', command: 'run', utilCmdArgs: args });
  }

  // ---- transactions ----

  private liveTransaction(id: string): Transaction | undefined {
    const tx = this.transactions.get(id);
    if (!tx) return undefined;
    if (this.clock() - tx.lastActivity > tx.timeoutSeconds * 1000) {
      this.transactions.delete(id);
      return undefined;
    }
    return tx;
  }

  private transactionBody(tx: Transaction, evalOrder?: number) {
    return {
      transId: Number(tx.id),
      state: tx.state,
      timeoutSeconds: tx.timeoutSeconds,
      asyncExecution: false,
      validateOnly: false,
      executionTimeout: 300,
      executionTime: 0,
      failureReason: '',
      ...(evalOrder !== undefined ? { evalOrder } : {}),
      kind: 'tm:transactionstate',
      selfLink: `https://localhost/mgmt/tm/transaction/${tx.id}?ver=${this.version}`,
    };
  }

  private transactionRoute(method: string, tm: string, body: Record<string, unknown>, res: ServerResponse) {
    const [, id, sub] = tm.split('/');
    if (!id) {
      if (method !== 'POST') return this.json(res, 405, errors.methodNotAllowed(method));
      const txId = String(this.clock() * 1000 + randomInt(1000));
      const tx: Transaction = {
        id: txId,
        commands: [],
        lastActivity: this.clock(),
        timeoutSeconds: this.opts.transactionTimeoutSeconds,
        state: 'STARTED',
      };
      this.transactions.set(txId, tx);
      return this.json(res, 200, this.transactionBody(tx));
    }
    const tx = this.liveTransaction(id);
    if (!tx) return this.json(res, 404, errors.transactionNotFound(id));
    if (method === 'GET') {
      if (sub === 'commands') {
        return this.json(res, 200, {
          kind: 'tm:transaction:commandscollectionstate',
          items: tx.commands.map((c, i) => ({
            evalOrder: i + 1,
            method: c.method,
            uri: `https://localhost/mgmt/tm/${c.path}`,
            body: c.body,
          })),
        });
      }
      return this.json(res, 200, this.transactionBody(tx));
    }
    if (method === 'DELETE') {
      this.transactions.delete(id);
      return this.json(res, 200, {});
    }
    if (method === 'PATCH' && body.state === 'VALIDATING') {
      if (tx.state !== 'STARTED')
        return this.json(res, 400, errors.invalidValue(`transaction ${id} is ${tx.state}`));
      if (tx.commands.length === 0) return this.json(res, 400, errors.transactionEmpty());
      const copy = this.store.clone();
      try {
        for (const c of tx.commands) this.configRoute(copy, c.method, c.path, c.query, c.body);
      } catch (error) {
        if (!(error instanceof SimError)) throw error;
        tx.state = 'FAILED';
        this.transactions.delete(id);
        return this.json(res, 400, errors.transactionFailed(error.message));
      }
      if (body.validateOnly !== true) {
        this.store.replaceWith(copy);
        this.changed();
      }
      tx.state = 'COMPLETED';
      this.transactions.delete(id);
      return this.json(res, 200, this.transactionBody(tx));
    }
    return this.json(res, 400, errors.invalidValue('unsupported transaction change'));
  }

  // ---- configuration objects ----

  private resolve(
    tm: string,
  ): { collection: Collection; id?: string; sub?: string; subId?: string } | undefined {
    const segments = tm.split('/').filter(Boolean);
    const [mod, a, b, c, d] = segments;
    const typed = (prefix: string, types: readonly string[]) =>
      a === prefix.split('/')[1] && b && types.includes(b)
        ? ({ collection: `${prefix}/${b}` as Collection, ...(c ? { id: c } : {}) } as const)
        : undefined;
    if (mod === 'sys' && a === 'folder') return { collection: 'sys/folder', ...(b ? { id: b } : {}) };
    if (mod !== 'ltm' || !a) return undefined;
    if (a === 'monitor') return typed('ltm/monitor', MONITOR_TYPES);
    if (a === 'persistence') return typed('ltm/persistence', PERSISTENCE_TYPES);
    if (a === 'profile') return typed('ltm/profile', PROFILE_TYPES);
    if (!['virtual-address', 'virtual', 'pool', 'node'].includes(a)) return undefined;
    return {
      collection: `ltm/${a}` as Collection,
      ...(b ? { id: b } : {}),
      ...(c ? { sub: c } : {}),
      ...(d ? { subId: d } : {}),
    };
  }

  /** Executes one configuration request against a store (the device's, or a transaction's copy). */
  private configRoute(
    store: ConfigStore,
    method: string,
    tm: string,
    query: URLSearchParams,
    body: Record<string, unknown>,
  ): unknown {
    const route = this.resolve(tm);
    if (!route) throw new SimError(404, errors.unknownPath(`/tm/${tm}`));
    const expand = query.get('expandSubcollections') === 'true';
    const { collection } = route;
    if (method === 'PATCH' && Object.keys(body).length === 0) throw new SimError(400, errors.emptyPatch());

    // Members sub-collection of a pool.
    if (collection === 'ltm/pool' && route.sub === 'members' && route.id) {
      const poolPath = this.itemPath(store, collection, route.id);
      const pool = store.get('ltm/pool', poolPath);
      if (!pool) throw new SimError(404, errors.notFound('pool', poolPath));
      if (!route.subId) {
        if (method === 'GET')
          return this.collectionBody(
            'ltm/pool/members',
            store.all('ltm/pool/members').filter((m) => m.pool === poolPath),
            query,
            store,
          );
        if (method === 'POST')
          return this.render(store, 'ltm/pool/members', store.create('ltm/pool/members', body, pool));
        throw new SimError(405, errors.methodNotAllowed(method));
      }
      const memberPath = this.itemPath(store, 'ltm/pool/members', route.subId);
      const key = `${poolPath}|${memberPath}`;
      return this.itemOp(store, 'ltm/pool/members', key, method, body, expand);
    }
    if (collection === 'ltm/virtual' && route.sub === 'profiles' && route.id) {
      const vsPath = this.itemPath(store, collection, route.id);
      const vs = store.get('ltm/virtual', vsPath);
      if (!vs) throw new SimError(404, errors.notFound('Virtual Server', vsPath));
      return { kind: 'tm:ltm:virtual:profiles:profilescollectionstate', items: this.profileItems(vs) };
    }
    if (route.sub) throw new SimError(404, errors.unknownPath(`/tm/${tm}`));

    if (!route.id) {
      if (method === 'GET') return this.collectionBody(collection, store.all(collection), query, store);
      if (method === 'POST') {
        const created = store.create(collection, body);
        return this.render(store, collection, created, expand);
      }
      throw new SimError(405, errors.methodNotAllowed(method));
    }
    const key =
      collection === 'sys/folder' ? folderPath(route.id) : this.itemPath(store, collection, route.id);
    return this.itemOp(store, collection, key, method, body, expand);
  }

  private itemOp(
    store: ConfigStore,
    collection: Collection,
    key: string,
    method: string,
    body: Record<string, unknown>,
    expand: boolean,
  ) {
    switch (method) {
      case 'GET': {
        const object = store.get(collection, key);
        if (!object) throw new SimError(404, store.notFound(collection, key));
        return this.render(store, collection, object, expand);
      }
      case 'PATCH':
        return this.render(store, collection, store.patch(collection, key, body), expand);
      case 'PUT':
        return this.render(store, collection, store.patch(collection, key, body, true), expand);
      case 'DELETE':
        store.delete(collection, key);
        return {};
      default:
        throw new SimError(405, errors.methodNotAllowed(method));
    }
  }

  /** `~P~name` → `/P/name` (`%25` → `%`); a bare name is in /Common. The folder must exist. */
  private itemPath(store: ConfigStore, collection: Collection, id: string): string {
    const decoded = decodeSafe(id);
    const path = decoded.startsWith('~') ? decoded.replaceAll('~', '/') : `/Common/${decoded}`;
    const partition = path.split('/')[1] as string;
    if (!store.folderExists(partition)) throw new SimError(400, errors.folderMissingInUrl(`/${partition}`));
    void collection;
    return path;
  }

  private collectionBody(
    collection: Collection,
    objects: StoredObject[],
    query: URLSearchParams,
    store: ConfigStore,
  ) {
    const filter = /^partition\s+eq\s+(\S+)$/.exec((query.get('$filter') ?? '').trim());
    let items = objects;
    if (filter) items = items.filter((o) => o.partition === filter[1]);
    const expand = query.get('expandSubcollections') === 'true';
    const select = query
      .get('$select')
      ?.split(',')
      .map((s) => s.trim());
    return {
      kind: `${kindOf(collection).replace(/state$/, '')}collectionstate`,
      selfLink: `https://localhost/mgmt/tm/${collection}?ver=${this.version}`,
      items: items.map((o) => {
        const full = this.render(store, collection, o, expand);
        return select ? Object.fromEntries(select.filter((k) => k in full).map((k) => [k, full[k]])) : full;
      }),
    };
  }

  private profileItems(vs: StoredObject) {
    return ((vs.attrs.profiles as { name: string; context?: string }[]) ?? []).map((p) => {
      const [, partition, name] = p.name.split('/');
      return {
        kind: 'tm:ltm:virtual:profiles:profilesstate',
        name,
        partition,
        fullPath: p.name,
        context: p.context ?? 'all',
      };
    });
  }

  private render(
    store: ConfigStore,
    collection: Collection,
    o: StoredObject,
    expand = false,
  ): Record<string, unknown> {
    const id = `~${o.fullPath.slice(1).replaceAll('/', '~')}`;
    const link =
      collection === 'ltm/pool/members'
        ? `https://localhost/mgmt/tm/ltm/pool/~${(o.pool as string).slice(1).replaceAll('/', '~')}/members/${id}`
        : `https://localhost/mgmt/tm/${collection}/${id}`;
    const body: Record<string, unknown> = {
      kind: kindOf(collection),
      name: o.name,
      partition: o.partition,
      fullPath: o.fullPath,
      generation: o.generation,
      selfLink: `${link.replaceAll('%', '%25')}?ver=${this.version}`,
      ...o.attrs,
    };
    if (collection === 'sys/folder') {
      delete body.partition;
      body.subPath = '/';
      body.hidden = 'false';
      body.inheritedDevicegroup = 'true';
      body.inheritedTrafficGroup = 'true';
    }
    if (collection === 'ltm/virtual') {
      body.profilesReference = {
        link: `${link}/profiles?ver=${this.version}`,
        isSubcollection: true,
        ...(expand ? { items: this.profileItems(o) } : {}),
      };
      delete body.profiles;
      body.persist = ((o.attrs.persist as { name: string }[]) ?? []).map((p) => {
        const [, partition, name] = p.name.split('/');
        return {
          name,
          partition,
          tmDefault: 'yes',
          nameReference: { link: `https://localhost/mgmt/tm/ltm/persistence/${name}` },
        };
      });
      if ((body.persist as unknown[]).length === 0) delete body.persist;
    }
    if (collection === 'ltm/pool') {
      const members = store.all('ltm/pool/members').filter((m) => m.pool === o.fullPath);
      body.membersReference = {
        link: `${link}/members?ver=${this.version}`,
        isSubcollection: true,
        ...(expand ? { items: members.map((m) => this.render(store, 'ltm/pool/members', m)) } : {}),
      };
      if (body.monitor) body.monitor = `${String(body.monitor)} `;
    }
    if (collection === 'ltm/pool/members') {
      const pool = store.get('ltm/pool', o.pool as string);
      if (body.session === 'user-enabled' && pool && monitorsOf(pool).length > 0)
        body.session = 'monitor-enabled';
    }
    return body;
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    if (res.headersSent || res.writableEnded) return;
    const payload = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json;charset=utf-8',
      'content-length': Buffer.byteLength(payload),
      server: 'Jetty(9.4.51.v20230217)',
    });
    res.end(payload);
  }

  // ---- control API (for npm start, the dashboard and manual poking) ----

  private control(method: string, url: URL, raw: string, res: ServerResponse) {
    const route = url.pathname.slice('/__sim/'.length);
    let body: Record<string, unknown> = {};
    try {
      body = raw ? JSON.parse(raw) : {};
    } catch {
      return this.json(res, 400, { message: 'invalid JSON' });
    }
    if (method === 'GET' && route === 'config') return this.json(res, 200, this.dump());
    if (method === 'GET' && route === 'calls')
      return this.json(res, 200, { total: this.calls.length, byPath: this.callsByPath() });
    if (method === 'POST' && route === 'failover') {
      const state = body.state === 'standby' ? 'standby' : 'active';
      this.setFailoverState(state);
      if (this.peer) this.peer.setFailoverState(state === 'active' ? 'standby' : 'active');
      return this.json(res, 200, { hostname: this.hostname, failoverState: this.failoverState });
    }
    if (method === 'POST' && route === 'faults') {
      const kind = String(body.kind ?? '');
      this.injectFault({
        kind: kind as FaultSpec['kind'],
        times: Number(body.times ?? 1),
        ...(body.path ? { path: String(body.path) } : {}),
        ...(body.delayMs ? { delayMs: Number(body.delayMs) } : {}),
      });
      return this.json(res, 200, { pending: this.faults.pending.length });
    }
    return this.json(res, 404, { message: `unknown control ${route}` });
  }
}

function folderPath(id: string): string {
  const decoded = decodeSafe(id);
  return decoded.startsWith('~') ? decoded.replaceAll('~', '/') : `/${decoded}`;
}

function kindOf(collection: Collection): string {
  const parts = collection.split('/');
  return `tm:${parts.join(':')}:${parts[parts.length - 1]}state`;
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 4 * 1024 * 1024) break;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A response sink for "reset after commit": the request is processed, the answer never sent. */
function nullResponse(req: IncomingMessage): ServerResponse {
  const sink = new http.ServerResponse(req);
  return sink;
}

/** Two simulated units in a device group: writes mark "Changes Pending", config-sync copies, failover flips both. */
export class BigIpPair {
  constructor(
    readonly a: BigIpSimulator,
    readonly b: BigIpSimulator,
  ) {
    a.peer = b;
    b.peer = a;
    a.setFailoverState('active');
    b.setFailoverState('standby');
  }

  static create(options: SimulatorOptions = {}): BigIpPair {
    return new BigIpPair(
      new BigIpSimulator({ ...options, hostname: 'bigip-a.example.test', managementIp: '192.0.2.11' }),
      new BigIpSimulator({ ...options, hostname: 'bigip-b.example.test', managementIp: '192.0.2.12' }),
    );
  }

  get active(): BigIpSimulator {
    return this.a.failoverState === 'active' ? this.a : this.b;
  }

  get standby(): BigIpSimulator {
    return this.active === this.a ? this.b : this.a;
  }

  /** The active unit goes standby and its peer takes over. */
  failover(): void {
    const next = this.standby;
    this.active.setFailoverState('standby');
    next.setFailoverState('active');
  }

  async listen(): Promise<[string, string]> {
    return [await this.a.listen(), await this.b.listen()];
  }

  async close(): Promise<void> {
    await Promise.all([this.a.close(), this.b.close()]);
  }
}
