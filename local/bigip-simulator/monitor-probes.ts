import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { sandboxAddress } from './loopback.js';
import type { ConfigStore, StoredObject } from './ltm-model.js';
import { MONITOR_TYPES, monitorsOf, splitMember } from './ltm-types.js';
import type { MonitorStatus, StatsBook } from './stats-book.js';

/** Read at most this much of a monitor's response (what a receive rule searches). */
const MAX_PROBE_BYTES = 5_120;

interface ProbeState {
  firstSeen: number;
  lastUp: number | undefined;
  nextAt: number;
  running: boolean;
}

/**
 * A simulated unit's health monitors. Members whose addresses are on the loopback are probed (HTTP
 * and HTTPS send the monitor's send string and match its receive rule against the answer; TCP
 * connects; gateway ICMP has no unprivileged equivalent, and a loopback address always answers
 * echo, so it counts as up) every `interval` seconds; a member is marked down once no probe has
 * succeeded for `timeout` seconds, up on the first success. A member anywhere else cannot be reached
 * from the sandbox, so it never answers: down after `timeout` seconds, as a real monitor would say.
 */
export class MonitorProbes {
  private readonly probes = new Map<string, ProbeState>();

  constructor(
    private readonly unit: { readonly store: ConfigStore; readonly stats: StatsBook },
    private readonly clock: () => number,
  ) {}

  /** Starts the probes that are due (each runs in the background and records what it found). */
  run(): void {
    const now = this.clock();
    const seen = new Set<string>();
    // One pass over the members, grouped by pool (a device full of members costs a scan, not a scan
    // per pool).
    const byPool = new Map<string, StoredObject[]>();
    for (const m of this.unit.store.all('ltm/pool/members')) {
      const list = byPool.get(String(m.pool));
      if (list) list.push(m);
      else byPool.set(String(m.pool), [m]);
    }
    for (const [poolPath, members] of byPool) {
      const pool = this.unit.store.get('ltm/pool', poolPath);
      const poolMonitor = pool ? this.monitorOf(pool) : undefined;
      if (!pool) continue;
      for (const member of members) {
        // A member's own monitor replaces its pool's, and checks its alias destination when it has one.
        const monitor = this.monitorOf(member) ?? poolMonitor;
        if (!monitor) continue;
        const key = `${pool.fullPath}|${member.fullPath}`;
        const [memberAddress, memberPort] = splitMember(member.name);
        const [address, port] = aliasOf(monitor, memberAddress, memberPort);
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
        // The sandbox reaches nothing outside the machine: a member off the loopback never answers,
        // and is marked down after the monitor's timeout, as a real monitor that cannot reach it would.
        const target = sandboxAddress(address);
        const wait = Math.min(interval, timeout);
        const reached: Promise<boolean | undefined> = !target
          ? Promise.resolve(false)
          : monitor.attrs.monitorType === 'external'
            ? this.runProgram(monitor, target, port, wait)
            : probe(monitor, target, port, wait);
        reached
          .then((up) => {
            const at = this.clock();
            let status: MonitorStatus | undefined;
            // No verdict (the program cannot run here): the member stays as it is (checking).
            if (up === undefined) return;
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

  /**
   * An external monitor's run (device-facts.md §8.4): its program with the member's address (IPv4
   * as `::ffff:a.b.c.d`) and port as arguments, its `args` after them and its user-defined
   * variables in its environment; up when it prints anything. Undefined when it cannot run here
   * (no program file, or no `sh`, `openssl` or `timeout` on this machine).
   */
  private runProgram(
    monitor: StoredObject,
    address: string,
    port: number,
    waitMs: number,
  ): Promise<boolean | undefined> {
    const program = this.unit.store.get('sys/file/external-monitor', String(monitor.attrs.run ?? ''));
    if (!program || !programTools()) return Promise.resolve(undefined);
    const file = programFile(String(program.attrs.content ?? ''));
    const args = String(monitor.attrs.args ?? '').trim();
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    for (const [k, v] of Object.entries(monitor.attrs))
      if (k.startsWith('userDefined ')) env[k.slice('userDefined '.length)] = String(v);
    const node = address.includes(':') ? address : `::ffff:${address}`;
    return new Promise((resolve) => {
      // Its own process group, so a run that overruns the wait is ended with everything it started
      // (the shell, `timeout`, `openssl`), as bigd ends an overrunning program.
      const child = spawn(
        'sh',
        [file, node, String(port), ...(args && args !== 'none' ? args.split(/\s+/) : [])],
        { env, detached: true, stdio: ['ignore', 'pipe', 'ignore'] },
      );
      let printed = false;
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.length > 0) printed = true;
      });
      const timer = setTimeout(
        () => {
          try {
            if (child.pid) process.kill(-child.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        },
        Math.max(waitMs, 1000),
      );
      child.on('error', () => {
        clearTimeout(timer);
        resolve(undefined);
      });
      child.on('close', () => {
        clearTimeout(timer);
        resolve(printed);
      });
    });
  }

  private monitorOf(poolOrMember: StoredObject): StoredObject | undefined {
    const [path] = monitorsOf(poolOrMember);
    if (!path) return undefined;
    for (const type of MONITOR_TYPES) {
      const m = this.unit.store.get(`ltm/monitor/${type}` as never, path);
      if (m) return { ...m, attrs: { ...m.attrs, monitorType: type } };
    }
    return undefined;
  }
}

/** Where a monitor checks a member: its alias destination's address and port, `*` meaning the member's. */
function aliasOf(
  monitor: StoredObject,
  address: string,
  port: number | undefined,
): [string, number | undefined] {
  const alias = /^(.+)[:.](\*|\d+)$/.exec(String(monitor.attrs.destination ?? '*:*'));
  if (!alias) return [address, port];
  return [alias[1] === '*' ? address : (alias[1] as string), alias[2] === '*' ? port : Number(alias[2])];
}

/** The device's two-character escapes in a send string (device-facts.md §1.4) as the bytes it sends. */
function unescapeSend(send: string): string {
  return send.replaceAll('\\r', '\r').replaceAll('\\n', '\n');
}

/** One probe: true when the member answered as the monitor wants within `waitMs`. */
function probe(monitor: StoredObject, address: string, port: number, waitMs: number): Promise<boolean> {
  const type = String(monitor.attrs.monitorType);
  if (type === 'gateway-icmp') return Promise.resolve(true);
  if (type === 'udp') return probeUdp(monitor, address, port, waitMs);
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

/**
 * A UDP monitor's probe: a datagram (its send string) to the member; down when the member's host
 * answers ICMP port unreachable (Linux reports it on a connected socket as ECONNREFUSED), up when
 * nothing refuses it within the wait. Without a receive string an answer is not needed, which is
 * how a UDP service that does not reply to a probe stays up (inferred: no public source quotes the
 * device's rule in more detail).
 */
function probeUdp(monitor: StoredObject, address: string, port: number, waitMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
    let settled = false;
    const finish = (up: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.close();
      resolve(up);
    };
    // Half the wait for a refusal to come back (a loopback one comes within microseconds).
    const timer = setTimeout(() => finish(true), Math.max(50, Math.min(waitMs / 2, 500)));
    socket.on('error', () => finish(false));
    socket.connect(port, address, () => {
      socket.send(unescapeSend(String(monitor.attrs.send ?? '')) || 'probe', (error) => {
        if (error) finish(false);
      });
    });
  });
}

let tools: boolean | undefined;
/** Whether this machine has what an external program of ours needs: `sh`, `openssl` and `timeout`. */
export function programTools(): boolean {
  if (tools === undefined) {
    try {
      execFileSync('sh', ['-c', 'command -v openssl && command -v timeout'], { stdio: 'ignore' });
      tools = true;
    } catch {
      tools = false;
    }
  }
  return tools;
}

let programDir: string | undefined;
const written = new Set<string>();
/**
 * A program's text as a file (one per content, written once and renamed into place: a probe
 * running it must never read it half-written), where the unit's bigd would have it installed.
 */
function programFile(content: string): string {
  programDir ??= mkdtempSync(join(tmpdir(), 'bigip-sim-monitors-'));
  const file = join(programDir, createHash('sha1').update(content).digest('hex'));
  if (!written.has(file)) {
    writeFileSync(`${file}.tmp`, content, { mode: 0o700 });
    renameSync(`${file}.tmp`, file);
    written.add(file);
  }
  return file;
}
