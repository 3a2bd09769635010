import net from 'node:net';
import tls from 'node:tls';
import type { ConfigStore, StoredObject } from './ltm-model.js';
import { rulesOf } from './ltm-policies.js';
import { monitorsOf, splitMember } from './ltm-types.js';
import type { MonitorStatus, StatsBook } from './stats-book.js';

/** What the data plane needs of its unit. */
export interface DataPlaneUnit {
  readonly store: ConfigStore;
  readonly stats: StatsBook;
  readonly failoverState: 'active' | 'standby';
}

export interface DataPlaneOptions {
  /** How often listeners and due probes are looked at (default 200 ms). */
  tickMs?: number;
  clock?: () => number;
}

/** Only loopback addresses are served and probed: the sandbox never reaches outside the machine. */
const LOOPBACK_V4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
/** BIG-IP's default source-address persistence timeout, seconds. */
const SOURCE_ADDR_TIMEOUT_S = 180;
/** Read at most this much of a monitor's response (what a receive rule searches). */
const MAX_PROBE_BYTES = 5_120;

interface ProbeState {
  firstSeen: number;
  lastUp: number | undefined;
  nextAt: number;
  running: boolean;
}

/**
 * The traffic side of a simulated unit, for the local sandbox: it does with the configuration what
 * a BIG-IP does. Health monitors probe pool members whose addresses are on the loopback (HTTP and
 * HTTPS send the monitor's send string and match its receive rule against the answer; TCP connects;
 * gateway ICMP has no unprivileged equivalent, and a loopback address always answers echo, so it
 * counts as up) every `interval` seconds, and mark a member down once no probe has succeeded for
 * `timeout` seconds, up on the first success. The active unit accepts connections on enabled
 * virtual servers whose destination is a loopback address, and forwards each to an enabled member
 * its monitor says is up (any enabled member when the pool has no monitor), by the pool's
 * load-balancing mode, honouring ratios, the virtual's connection limit and source-address
 * persistence; it counts bits and connections into the stats the endpoints report (device-facts.md §5.2). A
 * connection with no member to go to is reset, as a BIG-IP does. A virtual with client-ssl
 * profiles terminates TLS with their installed certificates, choosing by SNI (`serverName`, else the
 * `sniDefault` one); a virtual with LTM policies reads the HTTP request head and forwards,
 * redirects or resets as the first matching rule says.
 */
export class DataPlane {
  private readonly probes = new Map<string, ProbeState>();
  private readonly servers = new Map<string, net.Server | tls.Server>();
  /** Which default certificate each TLS listener serves (rotations swap it). */
  private readonly served = new Map<string, string>();
  private readonly contexts = new Map<string, tls.SecureContext>();
  private readonly sockets = new Set<net.Socket>();
  private readonly memberConns = new Map<string, number>();
  private readonly rotation = new Map<string, number>();
  private readonly persistence = new Map<string, { member: string; until: number }>();
  private timer: NodeJS.Timeout | undefined;
  private readonly clock: () => number;
  /** Last bind failure per destination (a port in use), for the sandbox's diagnostics. */
  readonly bindErrors = new Map<string, string>();

  constructor(
    private readonly unit: DataPlaneUnit,
    private readonly options: DataPlaneOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.options.tickMs ?? 200);
    this.timer.unref();
    this.tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const s of this.sockets) s.destroy();
    await Promise.all([...this.servers.keys()].map((k) => this.closeServer(k)));
  }

  /** Destinations served now (`127.0.0.2:18080`). */
  get listening(): string[] {
    return [...this.servers.keys()].sort();
  }

  tick(): void {
    this.syncListeners();
    this.runProbes();
  }

  // ---- monitors ----

  private runProbes(): void {
    const now = this.clock();
    const seen = new Set<string>();
    // One pass over the members: only loopback ones are probed (a device full of 10.x members costs
    // a scan, not a scan per pool).
    const byPool = new Map<string, StoredObject[]>();
    for (const m of this.unit.store.all('ltm/pool/members')) {
      if (!LOOPBACK_V4.test(splitMember(m.name)[0])) continue;
      const list = byPool.get(String(m.pool));
      if (list) list.push(m);
      else byPool.set(String(m.pool), [m]);
    }
    for (const [poolPath, members] of byPool) {
      const pool = this.unit.store.get('ltm/pool', poolPath);
      const monitor = pool ? this.monitorOf(pool) : undefined;
      if (!pool || !monitor) continue;
      for (const member of members) {
        const key = `${pool.fullPath}|${member.fullPath}`;
        const [address, port] = splitMember(member.name);
        if (port === undefined) continue;
        seen.add(key);
        let state = this.probes.get(key);
        if (!state) {
          state = { firstSeen: now, lastUp: undefined, nextAt: now, running: false };
          this.probes.set(key, state);
          this.unit.stats.setMember(key, 'checking');
        }
        if (state.running || now < state.nextAt) continue;
        state.running = true;
        const interval = Math.max(1, Number(monitor.attrs.interval ?? 5)) * 1000;
        const timeout = Math.max(1, Number(monitor.attrs.timeout ?? 16)) * 1000;
        state.nextAt = now + interval;
        const current = state;
        probe(monitor, address, port, Math.min(interval, timeout))
          .then((up) => {
            const at = this.clock();
            let status: MonitorStatus | undefined;
            if (up) {
              current.lastUp = at;
              status = 'up';
            } else if (at - (current.lastUp ?? current.firstSeen) >= timeout) {
              status = 'down';
            }
            if (status && this.probes.get(key) === current) this.unit.stats.setMember(key, status);
          })
          .finally(() => {
            current.running = false;
          });
      }
    }
    for (const key of this.probes.keys()) if (!seen.has(key)) this.probes.delete(key);
  }

  private monitorOf(pool: StoredObject): StoredObject | undefined {
    const [path] = monitorsOf(pool);
    if (!path) return undefined;
    for (const type of ['http', 'https', 'tcp', 'gateway-icmp']) {
      const m = this.unit.store.get(`ltm/monitor/${type}` as never, path);
      if (m) return { ...m, attrs: { ...m.attrs, monitorType: type } };
    }
    return undefined;
  }

  private membersOf(pool: StoredObject): StoredObject[] {
    return this.unit.store.all('ltm/pool/members').filter((m) => m.pool === pool.fullPath);
  }

  // ---- virtual servers ----

  private syncListeners(): void {
    const wanted = new Map<string, { address: string; port: number; tls: TlsMaterial | undefined }>();
    if (this.unit.failoverState === 'active') {
      for (const vs of this.unit.store.all('ltm/virtual')) {
        const dest = destinationOf(vs);
        if (dest && vs.attrs.disabled !== true)
          wanted.set(`${dest.address}:${dest.port}`, { ...dest, tls: this.defaultTls(vs) });
      }
    }
    for (const [key, server] of this.servers) {
      const want = wanted.get(key);
      // Gone, or switched between plain and TLS: served anew.
      if (!want || (want.tls !== undefined) !== server instanceof tls.Server) void this.closeServer(key);
    }
    for (const [key, dest] of wanted) {
      const running = this.servers.get(key);
      if (running) {
        // A rotated default certificate applies to new connections, as on a device.
        if (running instanceof tls.Server && dest.tls && this.served.get(key) !== dest.tls.id) {
          running.setSecureContext(dest.tls.options);
          this.served.set(key, dest.tls.id);
        }
        continue;
      }
      const server = dest.tls
        ? tls.createServer(
            {
              ...dest.tls.options,
              SNICallback: (name, done) => done(null, this.contextFor(key, name)),
            },
            (socket) => this.accept(key, socket),
          )
        : net.createServer((socket) => this.accept(key, socket));
      if (dest.tls) this.served.set(key, dest.tls.id);
      this.servers.set(key, server);
      server.on('error', (error) => {
        // A port in use (say, the peer unit still holding it after a failover): try again next tick.
        this.bindErrors.set(key, error.message);
        this.servers.delete(key);
        server.close();
      });
      server.listen(dest.port, dest.address, () => this.bindErrors.delete(key));
    }
  }

  /**
   * A virtual's client-ssl profiles, with their installed certificates and keys: every key pair of
   * a profile (an RSA and an ECDSA one for one host), of which the handshake picks what the client
   * supports.
   */
  private clientSsl(vs: StoredObject): { profile: StoredObject; material: TlsMaterial }[] {
    const store = this.unit.store;
    const out: { profile: StoredObject; material: TlsMaterial }[] = [];
    for (const ref of (vs.attrs.profiles as { name: string }[] | undefined) ?? []) {
      const profile = store.get('ltm/profile/client-ssl', ref.name);
      const chains = (profile?.attrs.certKeyChain as Record<string, string>[] | undefined) ?? [];
      if (!profile) continue;
      const certs: string[] = [];
      const keys: { pem: string; passphrase?: string }[] = [];
      const ids: string[] = [];
      for (const chain of chains) {
        const cert = store.get('sys/file/ssl-cert', chain.cert ?? '');
        const key = store.get('sys/file/ssl-key', chain.key ?? '');
        const intermediates = chain.chain ? store.get('sys/file/ssl-cert', chain.chain) : undefined;
        if (!cert || !key) continue;
        const passphrase = (chain.passphrase ?? key.attrs.passphrase) as string | undefined;
        certs.push(
          `${String(cert.attrs.content)}${intermediates ? `\n${String(intermediates.attrs.content)}` : ''}`,
        );
        keys.push({ pem: String(key.attrs.content), ...(passphrase ? { passphrase } : {}) });
        ids.push(`${cert.generation}#${key.generation}`);
      }
      if (certs.length === 0) continue;
      out.push({
        profile,
        material: {
          id: `${profile.fullPath}#${profile.generation}#${ids.join(',')}`,
          options: { cert: certs, key: keys },
        },
      });
    }
    return out;
  }

  /** The certificate for clients without a server name: the sniDefault profile's, or the only one. */
  private defaultTls(vs: StoredObject): TlsMaterial | undefined {
    const profiles = this.clientSsl(vs);
    return (profiles.find((p) => p.profile.attrs.sniDefault === true) ?? profiles[0])?.material;
  }

  /** SNI: the profile whose serverName matches (exactly or by `*.` wildcard), else the default. */
  private contextFor(destination: string, name: string): tls.SecureContext | undefined {
    const vs = this.unit.store.all('ltm/virtual').find((v) => {
      const d = destinationOf(v);
      return d && `${d.address}:${d.port}` === destination;
    });
    if (!vs) return undefined;
    const profiles = this.clientSsl(vs);
    const host = name.toLowerCase();
    const matches = (serverName: unknown) => {
      const s = String(serverName ?? '').toLowerCase();
      const wildcard = s.startsWith('*.') && host.endsWith(s.slice(1));
      return s === host || (wildcard && host.split('.').length === s.split('.').length);
    };
    const chosen =
      profiles.find((p) => matches(p.profile.attrs.serverName)) ??
      profiles.find((p) => p.profile.attrs.sniDefault === true) ??
      profiles[0];
    if (!chosen) return undefined;
    let context = this.contexts.get(chosen.material.id);
    if (!context) {
      context = tls.createSecureContext(chosen.material.options);
      this.contexts.set(chosen.material.id, context);
    }
    return context;
  }

  private closeServer(key: string): Promise<void> {
    const server = this.servers.get(key);
    this.servers.delete(key);
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  private accept(destination: string, client: net.Socket): void {
    this.track(client);
    const vs = this.unit.store.all('ltm/virtual').find((v) => {
      const d = destinationOf(v);
      return d && `${d.address}:${d.port}` === destination && v.attrs.disabled !== true;
    });
    if (!vs) return void client.resetAndDestroy();
    const counters = this.unit.stats.virtual(vs.fullPath);
    const limit = Number(vs.attrs.connectionLimit ?? 0);
    if (limit > 0 && counters.curConns >= limit) return void client.resetAndDestroy();
    const defaultPool = vs.attrs.pool ? this.unit.store.get('ltm/pool', String(vs.attrs.pool)) : undefined;
    const policies = ((vs.attrs.policies as { name: string }[] | undefined) ?? [])
      .map((p) => this.unit.store.get('ltm/policy', p.name))
      .filter((p): p is StoredObject => p !== undefined);
    if (policies.length === 0) {
      this.forward(vs, client, defaultPool, counters);
      return;
    }
    // An LTM policy decides on the HTTP request: read its head first.
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0 && head.length < MAX_REQUEST_HEAD) return;
      client.off('data', onData);
      client.pause();
      const request = end < 0 ? undefined : parseRequestHead(head.subarray(0, end).toString('latin1'));
      if (!request) return void client.resetAndDestroy();
      counters.bitsIn += head.length * 8;
      const decision = decide(policies, request, client.remoteAddress ?? '');
      if (decision?.kind === 'reset') {
        counters.totConns++;
        return void client.resetAndDestroy();
      }
      if (decision?.kind === 'redirect') {
        counters.totConns++;
        const answer = `HTTP/1.1 ${decision.code} ${REASONS[decision.code] ?? 'Redirect'}\r\nLocation: ${decision.location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`;
        counters.bitsOut += answer.length * 8;
        client.end(answer);
        return;
      }
      const pool =
        decision?.kind === 'forward' && decision.pool
          ? this.unit.store.get('ltm/pool', decision.pool)
          : defaultPool;
      const inserts = decision?.kind === 'forward' ? decision.inserts : [];
      this.forward(vs, client, pool, counters, withHeaders(head, inserts));
      client.resume();
    };
    client.on('data', onData);
    client.on('error', () => client.destroy());
  }

  /** Connects a client to a member of `pool` (reset when none may take it), `head` sent first. */
  private forward(
    vs: StoredObject,
    client: net.Socket,
    pool: StoredObject | undefined,
    counters: ReturnType<StatsBook['virtual']>,
    head?: Buffer,
  ): void {
    const member = pool ? this.pick(pool, vs, client.remoteAddress ?? '') : undefined;
    if (!pool || !member) return void client.resetAndDestroy();

    counters.curConns++;
    counters.totConns++;
    const memberKey = `${pool.fullPath}|${member.fullPath}`;
    this.memberConns.set(memberKey, (this.memberConns.get(memberKey) ?? 0) + 1);
    const [address, port] = splitMember(member.name);
    const server = net.connect({ host: address, port: port as number });
    this.track(server);
    if (head) server.write(head);
    client.on('data', (chunk: Buffer) => {
      counters.bitsIn += chunk.length * 8;
    });
    server.on('data', (chunk: Buffer) => {
      counters.bitsOut += chunk.length * 8;
    });
    client.pipe(server);
    server.pipe(client);
    let closed = false;
    const done = () => {
      if (closed) return;
      closed = true;
      counters.curConns = Math.max(0, counters.curConns - 1);
      this.memberConns.set(memberKey, Math.max(0, (this.memberConns.get(memberKey) ?? 1) - 1));
      client.destroy();
      server.destroy();
    };
    client.on('close', done);
    server.on('close', done);
    client.on('error', done);
    server.on('error', () => {
      client.resetAndDestroy();
      done();
    });
  }

  /** The member a new connection goes to, or undefined when none may take it. */
  private pick(pool: StoredObject, vs: StoredObject, clientIp: string): StoredObject | undefined {
    const monitored = monitorsOf(pool).length > 0;
    const eligible = this.membersOf(pool).filter((m) => {
      const session = String(m.attrs.session ?? 'user-enabled');
      if (session.endsWith('disabled') || m.attrs.state === 'user-down') return false;
      if (!LOOPBACK_V4.test(splitMember(m.name)[0])) return false;
      return !monitored || this.unit.stats.member(`${pool.fullPath}|${m.fullPath}`) === 'up';
    });
    if (eligible.length === 0) return undefined;

    const sticky = ((vs.attrs.persist as { name: string }[] | undefined) ?? []).some((p) =>
      p.name.endsWith('/source_addr'),
    );
    const now = this.clock();
    const stickyKey = `${vs.fullPath}|${clientIp}`;
    if (sticky) {
      const entry = this.persistence.get(stickyKey);
      const member =
        entry && entry.until > now ? eligible.find((m) => m.fullPath === entry.member) : undefined;
      if (member) {
        this.persistence.set(stickyKey, {
          member: member.fullPath,
          until: now + SOURCE_ADDR_TIMEOUT_S * 1000,
        });
        return member;
      }
    }
    const chosen = this.choose(pool, eligible);
    if (sticky)
      this.persistence.set(stickyKey, { member: chosen.fullPath, until: now + SOURCE_ADDR_TIMEOUT_S * 1000 });
    return chosen;
  }

  private choose(pool: StoredObject, eligible: StoredObject[]): StoredObject {
    const mode = String(pool.attrs.loadBalancingMode ?? 'round-robin');
    const ratio = (m: StoredObject) => Math.max(1, Number(m.attrs.ratio ?? 1));
    const conns = (m: StoredObject) => this.memberConns.get(`${pool.fullPath}|${m.fullPath}`) ?? 0;
    const turn = this.rotation.get(pool.fullPath) ?? 0;
    this.rotation.set(pool.fullPath, turn + 1);
    const ordered = [...eligible].sort((a, b) => a.fullPath.localeCompare(b.fullPath));
    if (mode.includes('least-connections')) {
      // Fewest connections (per ratio unit for the ratio variant); ties go round in turn.
      const score = (m: StoredObject) => (mode.startsWith('ratio') ? conns(m) / ratio(m) : conns(m));
      const best = Math.min(...ordered.map(score));
      const tied = ordered.filter((m) => score(m) === best);
      return tied[turn % tied.length] as StoredObject;
    }
    if (mode === 'ratio-member') {
      // Weighted round robin: each member takes as many turns per cycle as its ratio.
      const slots = ordered.flatMap((m) => Array.from({ length: ratio(m) }, () => m));
      return slots[turn % slots.length] as StoredObject;
    }
    return ordered[turn % ordered.length] as StoredObject;
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }
}

/** The most of a request head read before an LTM policy decides (a larger head is refused). */
const MAX_REQUEST_HEAD = 16 * 1024;
const REASONS: Record<number, string> = {
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
};

/** A client-ssl profile's certificate and key, as Node's TLS server takes them. */
interface TlsMaterial {
  id: string;
  options: { cert: string[]; key: { pem: string; passphrase?: string }[] };
}

interface RequestHead {
  uri: string;
  path: string;
  host: string;
  headers: Map<string, string>;
  cookies: Map<string, string>;
}

function parseRequestHead(text: string): RequestHead | undefined {
  const [line = '', ...rest] = text.split('\r\n');
  const m = /^[A-Z]+ (\S+) HTTP\/1\.[01]$/.exec(line);
  if (!m) return undefined;
  const uri = m[1] as string;
  const headers = new Map<string, string>();
  for (const h of rest) {
    const at = h.indexOf(':');
    if (at > 0) headers.set(h.slice(0, at).trim().toLowerCase(), h.slice(at + 1).trim());
  }
  const cookies = new Map<string, string>();
  for (const c of (headers.get('cookie') ?? '').split(';')) {
    const at = c.indexOf('=');
    if (at > 0) cookies.set(c.slice(0, at).trim(), c.slice(at + 1).trim());
  }
  return {
    uri,
    path: uri.split('?')[0] as string,
    host: (headers.get('host') ?? '').replace(/:\d+$/, ''),
    headers,
    cookies,
  };
}

type Decision =
  | { kind: 'forward'; pool: string | undefined; inserts: [string, string][] }
  | { kind: 'redirect'; location: string; code: number }
  | { kind: 'reset' };

/**
 * What a virtual server's LTM policies do with a request: rules in ordinal order, the first whose
 * conditions all hold (first-match) runs its actions (forward to a pool, redirect, reset, insert
 * headers). The sandbox decides once per connection, on its first request (a device decides per
 * request; the walkthrough sends one request per connection).
 */
function decide(policies: StoredObject[], request: RequestHead, client: string): Decision | undefined {
  for (const policy of policies) {
    for (const rule of rulesOf(policy)) {
      const conditions = (rule.conditions as Record<string, unknown>[]) ?? [];
      if (!conditions.every((c) => holds(c, request))) continue;
      const inserts: [string, string][] = [];
      let pool: string | undefined;
      for (const action of (rule.actions as Record<string, unknown>[]) ?? []) {
        if (action.forward && action.reset) return { kind: 'reset' };
        if (action.httpReply && action.redirect)
          return {
            kind: 'redirect',
            location: expandTcl(String(action.location ?? ''), request, client),
            code: Number(action.code) || 302,
          };
        if (action.forward && typeof action.pool === 'string') pool = action.pool;
        if (action.httpHeader && action.insert)
          inserts.push([String(action.tmName), expandTcl(String(action.value ?? ''), request, client)]);
      }
      return { kind: 'forward', pool, inserts };
    }
  }
  return undefined;
}

/** The request head with headers inserted after the request line. */
function withHeaders(head: Buffer, inserts: [string, string][]): Buffer {
  if (inserts.length === 0) return head;
  const at = head.indexOf('\r\n');
  const lines = inserts.map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return Buffer.concat([head.subarray(0, at + 2), Buffer.from(lines, 'latin1'), head.subarray(at + 2)]);
}

function holds(c: Record<string, unknown>, request: RequestHead): boolean {
  let subject: string | undefined;
  if (c.httpHost) subject = request.host;
  else if (c.httpUri && c.extension) {
    const last = request.path.split('/').pop() ?? '';
    subject = last.includes('.') ? last.slice(last.lastIndexOf('.') + 1) : '';
  } else if (c.httpUri && c.path) subject = request.path;
  else if (c.httpUri) subject = request.uri;
  else if (c.httpHeader) subject = request.headers.get(String(c.tmName ?? '').toLowerCase());
  else if (c.httpCookie) subject = request.cookies.get(String(c.tmName ?? ''));
  const fold = (v: string) => (c.caseInsensitive ? v.toLowerCase() : v);
  const hit =
    subject !== undefined &&
    ((c.values as string[]) ?? []).some((raw) => {
      const [s, v] = [fold(subject as string), fold(String(raw))];
      if (c.startsWith) return s.startsWith(v);
      if (c.endsWith) return s.endsWith(v);
      if (c.contains) return s.includes(v);
      return s === v;
    });
  return c.not ? !hit : hit;
}

/**
 * A `tcl:` value with the request's `[HTTP::uri]`, `[HTTP::host]`, `[HTTP::path]` and the client's
 * `[IP::client_addr]`: the commands this control plane sends, all the sandbox evaluates.
 */
function expandTcl(value: string, request: RequestHead, client: string): string {
  if (!value.startsWith('tcl:')) return value;
  return value
    .slice(4)
    .replaceAll('[HTTP::uri]', request.uri)
    .replaceAll('[HTTP::host]', request.host)
    .replaceAll('[HTTP::path]', request.path)
    .replaceAll('[IP::client_addr]', client.replace(/^::ffff:/, ''));
}

/** A loopback IPv4 destination (`/P/127.0.0.2:18080`), or undefined for anything the sandbox does not serve. */
function destinationOf(vs: StoredObject): { address: string; port: number } | undefined {
  const name =
    String(vs.attrs.destination ?? '')
      .split('/')
      .pop() ?? '';
  const [address, port] = splitMember(name);
  const bare = address.replace(/%\d+$/, '');
  if (!LOOPBACK_V4.test(bare) || port === undefined || port <= 0) return undefined;
  return { address: bare, port };
}

/** The device's two-character escapes in a send string (§1.4) as the bytes it sends. */
function unescapeSend(send: string): string {
  return send.replaceAll('\\r', '\r').replaceAll('\\n', '\n');
}

/** One probe: true when the member answered as the monitor wants within `waitMs`. */
function probe(monitor: StoredObject, address: string, port: number, waitMs: number): Promise<boolean> {
  const type = String(monitor.attrs.monitorType);
  if (type === 'gateway-icmp') return Promise.resolve(true);
  return new Promise((resolve) => {
    let answer = '';
    let settled = false;
    const finish = (up: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(up);
    };
    const timer = setTimeout(() => finish(false), waitMs);
    const connected = () => {
      const send = String(monitor.attrs.send ?? '');
      if (type === 'tcp' && !send) return finish(true);
      if (send) socket.write(unescapeSend(send));
    };
    const socket =
      type === 'https'
        ? tls.connect({ host: address, port, rejectUnauthorized: false }, connected)
        : net.connect({ host: address, port }, connected);
    socket.on('error', () => finish(false));
    const match = () => {
      const recv = String(monitor.attrs.recv ?? '');
      if (!recv || recv === 'none') return answer.length > 0;
      try {
        return new RegExp(recv).test(answer);
      } catch {
        return false;
      }
    };
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      if (match()) finish(true);
      else if (answer.length > MAX_PROBE_BYTES) finish(false);
    });
    socket.on('end', () => finish(match()));
  });
}
