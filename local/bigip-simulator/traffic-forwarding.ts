import net from 'node:net';
import tls from 'node:tls';
import { decide, MAX_REQUEST_HEAD, parseRequestHead, REASONS, withHeaders } from './http-policies.js';
import {
  type ConnectionFacts,
  type IRuleOutcome,
  type ParsedIRule,
  parseIRule,
  runEvent,
} from './irule-tcl.js';
import { destinationOf, sandboxAddress } from './loopback.js';
import type { ConfigStore, StoredObject } from './ltm-model.js';
import { monitorsOf, splitMember } from './ltm-types.js';
import type { StatsBook } from './stats-book.js';

/** BIG-IP's default source-address persistence timeout, seconds. */
const SOURCE_ADDR_TIMEOUT_S = 180;

/**
 * Where a simulated unit's accepted connections go: to an enabled member its monitor says is up
 * (any enabled member when the pool has no monitor), by the pool's load-balancing mode, honouring
 * ratios, the virtual's connection limit and source-address persistence; bits and connections are
 * counted into the stats the endpoints report (device-facts.md §5.2). A connection with no member to go to is reset,
 * as a BIG-IP does. A virtual with LTM policies reads the HTTP request head first and forwards,
 * redirects or resets as the first matching rule says.
 */
export class TrafficForwarding {
  private readonly memberConns = new Map<string, number>();
  private readonly rotation = new Map<string, number>();
  private readonly persistence = new Map<string, { member: string; until: number }>();
  private readonly parsed = new Map<string, ParsedIRule>();

  constructor(
    private readonly unit: { readonly store: ConfigStore; readonly stats: StatsBook },
    private readonly clock: () => number,
    /** Every socket opened, so that stopping the unit can close them. */
    private readonly track: (socket: net.Socket) => void,
  ) {}

  accept(destination: string, client: net.Socket): void {
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
    // The virtual's iRules, in list order: CLIENT_ACCEPTED now, HTTP_REQUEST on the request head.
    const rules = this.iRulesOf(vs);
    const facts: ConnectionFacts = {
      clientAddress: client.remoteAddress ?? '',
      clientPort: client.remotePort ?? 0,
      localAddress: client.localAddress ?? '',
      localPort: client.localPort ?? 0,
    };
    const vars = new Map<string, string>();
    const accepted = this.runRules(rules, 'CLIENT_ACCEPTED', facts, undefined, vars);
    if (accepted.kind !== 'continue') {
      counters.totConns++;
      // reject resets the connection; drop (and an iRule's runtime error) closes it without a word.
      return void (accepted.kind === 'reject' ? client.resetAndDestroy() : client.destroy());
    }
    const httpRules = rules.filter((r) => r.events.has('HTTP_REQUEST'));
    if (policies.length === 0 && httpRules.length === 0) {
      this.forward(
        vs,
        client,
        accepted.pool ? this.unit.store.get('ltm/pool', accepted.pool) : defaultPool,
        counters,
      );
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
      // The LTM policy's actions first, then the iRules' HTTP_REQUEST (device-facts.md §7.15).
      const routed =
        decision?.kind === 'redirect'
          ? undefined
          : this.runRules(httpRules, 'HTTP_REQUEST', facts, request, vars);
      if (routed && routed.kind !== 'continue') {
        counters.totConns++;
        if (routed.kind === 'reject') return void client.resetAndDestroy();
        if (routed.kind === 'drop') return void client.destroy();
        const headers = routed.headers.map(([n, v]) => `${n}: ${v}\r\n`).join('');
        const answer = `HTTP/1.1 ${routed.code} ${REASONS[routed.code] ?? 'Response'}\r\n${headers}Content-Length: 0\r\nConnection: close\r\n\r\n`;
        counters.bitsOut += answer.length * 8;
        client.end(answer);
        return;
      }
      if (decision?.kind === 'redirect') {
        counters.totConns++;
        const answer = `HTTP/1.1 ${decision.code} ${REASONS[decision.code] ?? 'Redirect'}\r\nLocation: ${decision.location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`;
        counters.bitsOut += answer.length * 8;
        client.end(answer);
        return;
      }
      const chosen =
        routed?.kind === 'continue' && routed.pool
          ? routed.pool
          : decision?.kind === 'forward' && decision.pool
            ? decision.pool
            : accepted.pool;
      const pool = chosen ? this.unit.store.get('ltm/pool', chosen) : defaultPool;
      const inserts = decision?.kind === 'forward' ? decision.inserts : [];
      this.forward(vs, client, pool, counters, withHeaders(head, inserts));
      client.resume();
    };
    client.on('data', onData);
    client.on('error', () => client.destroy());
  }

  /**
   * The TLS a virtual's server-ssl profile asks of member connections (§7.17): the certificate and key
   * it presents, and with `peerCertMode` require the member's certificate verified against `caFile`
   * (the host name is not checked: nothing in the device facts says a server-ssl profile does).
   */
  private serverSslOf(vs: StoredObject): tls.ConnectionOptions | undefined {
    const store = this.unit.store;
    const profile = ((vs.attrs.profiles as { name: string }[] | undefined) ?? [])
      .map((p) => store.get('ltm/profile/server-ssl', p.name))
      .find((p) => p !== undefined);
    if (!profile) return undefined;
    const file = (collection: 'sys/file/ssl-cert' | 'sys/file/ssl-key', path: unknown) =>
      typeof path === 'string' ? store.get(collection, path) : undefined;
    const cert = file('sys/file/ssl-cert', profile.attrs.cert);
    const key = file('sys/file/ssl-key', profile.attrs.key);
    const chain = file('sys/file/ssl-cert', profile.attrs.chain);
    const ca = file('sys/file/ssl-cert', profile.attrs.caFile);
    const verify = profile.attrs.peerCertMode === 'require';
    return {
      ...(cert && key
        ? {
            cert: `${String(cert.attrs.content)}${chain ? `\n${String(chain.attrs.content)}` : ''}`,
            key: String(key.attrs.content),
            ...(key.attrs.passphrase ? { passphrase: String(key.attrs.passphrase) } : {}),
          }
        : {}),
      ...(ca ? { ca: String(ca.attrs.content) } : {}),
      rejectUnauthorized: verify,
      checkServerIdentity: () => undefined,
    };
  }

  /** The idle timeout (s) of the virtual's TCP profile when it states one, else 0 (not enforced). */
  private idleTimeoutOf(vs: StoredObject): number {
    for (const p of (vs.attrs.profiles as { name: string }[] | undefined) ?? []) {
      const seconds = Number(this.unit.store.get('ltm/profile/tcp', p.name)?.attrs.idleTimeout ?? 0);
      if (seconds > 0) return seconds;
    }
    return 0;
  }

  /** The iRules a virtual runs, parsed (kept by their text: a changed iRule is parsed anew). */
  private iRulesOf(vs: StoredObject): ParsedIRule[] {
    const out: ParsedIRule[] = [];
    for (const path of (vs.attrs.rules as string[] | undefined) ?? []) {
      const text = String(this.unit.store.get('ltm/rule', path)?.attrs.apiAnonymous ?? '');
      let parsed = this.parsed.get(text);
      if (!parsed) {
        parsed = parseIRule(text);
        this.parsed.set(text, parsed);
      }
      out.push(parsed);
    }
    return out;
  }

  /**
   * One event of each iRule in turn; the first that ends the connection decides, a `pool` command
   * selects the pool. A Tcl error aborts the connection, as a device does with a runtime error.
   */
  private runRules(
    rules: ParsedIRule[],
    event: string,
    facts: ConnectionFacts,
    request: Parameters<typeof runEvent>[3],
    vars: Map<string, string>,
  ): IRuleOutcome {
    let pool: string | undefined;
    for (const rule of rules) {
      let outcome: IRuleOutcome;
      try {
        outcome = runEvent(rule, event, facts, request, vars);
      } catch {
        return { kind: 'drop' };
      }
      if (outcome.kind !== 'continue') return outcome;
      pool = outcome.pool ?? pool;
    }
    return { kind: 'continue', pool };
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
    // pick() took only members the sandbox reaches (their network's loopback range).
    const target = { host: sandboxAddress(address) as string, port: port as number };
    // §7.17: a server-ssl profile on the virtual re-encrypts towards the member (TLS to members).
    const serverSsl = this.serverSslOf(vs);
    const server = serverSsl ? tls.connect({ ...target, ...serverSsl }) : net.connect(target);
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
    // §7.16: a connection idle (no traffic either way) for its TCP profile's idle timeout is deleted;
    // the sandbox resets it. Only a profile that states a timeout is enforced here.
    const idle = this.idleTimeoutOf(vs);
    if (idle > 0) {
      const reap = () => {
        client.resetAndDestroy();
        server.destroy();
      };
      client.setTimeout(idle * 1000, reap);
      server.setTimeout(idle * 1000, reap);
    }
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
      if (!sandboxAddress(splitMember(m.name)[0])) return false;
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

  private membersOf(pool: StoredObject): StoredObject[] {
    return this.unit.store.all('ltm/pool/members').filter((m) => m.pool === pool.fullPath);
  }
}
