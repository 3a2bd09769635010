import type { FaultSpec } from './faults.js';
import { type Reply, reply } from './http-io.js';
import { type Collection, type ConfigStore, MONITOR_TYPES, PERSISTENCE_TYPES } from './ltm-model.js';

/** One recorded iControl REST call. */
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

/** Call counts by `METHOD path-template` (ids folded to `~{id}`), for benchmarks and the dashboard. */
export function callsByPath(calls: readonly CallRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const c of calls) {
    const template = `${c.method} ${c.path.replace(/~[^/]+/g, '~{id}').replace(/transaction\/\d+/, 'transaction/{id}')}`;
    counts[template] = (counts[template] ?? 0) + 1;
  }
  return counts;
}

/**
 * The configuration made by clients, by collection (what tests compare against): everything
 * outside /Common, plus nodes in /Common and the members of pools outside it (shared nodes).
 */
export function dumpConfig(store: ConfigStore): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  const collections: Collection[] = [
    'sys/folder',
    'ltm/virtual-address',
    'ltm/virtual',
    'ltm/pool',
    'ltm/pool/members',
    'ltm/node',
    'ltm/policy',
    'ltm/rule',
    'ltm/profile/tcp',
    'ltm/profile/client-ssl',
    'ltm/profile/server-ssl',
    'sys/file/ssl-cert',
    'sys/file/ssl-key',
    'sys/file/external-monitor',
    ...MONITOR_TYPES.map((t) => `ltm/monitor/${t}` as Collection),
    ...PERSISTENCE_TYPES.map((t) => `ltm/persistence/${t}` as Collection),
    'ltm/snatpool',
    'net/route-domain',
    'net/vlan',
    'net/self',
  ];
  for (const c of collections) {
    const objects = store.all(c).filter(
      (o) =>
        o.partition !== 'Common' ||
        c === 'ltm/node' ||
        // The network objects live in /Common (device-facts.md §2.5); route domain 0 is the device's own.
        (c.startsWith('net/') && o.fullPath !== '/Common/0') ||
        c === 'ltm/snatpool' ||
        (c === 'ltm/pool/members' && !String(o.pool).startsWith('/Common/')),
    );
    if (objects.length > 0) {
      out[c] = objects
        // Key material stays on the device: a dump shows that a key exists, never what it is.
        .map(({ fullPath, pool, attrs: { content: _content, passphrase: _passphrase, ...attrs } }) => ({
          fullPath,
          ...(pool ? { pool } : {}),
          ...attrs,
          // A passphrase shows as a device shows it: encrypted.
          ...(Array.isArray(attrs.certKeyChain)
            ? {
                certKeyChain: (attrs.certKeyChain as Record<string, unknown>[]).map((c) =>
                  c.passphrase ? { ...c, passphrase: '$M$simulated-encrypted' } : c,
                ),
              }
            : {}),
        }))
        .sort((a, b) => a.fullPath.localeCompare(b.fullPath));
    }
  }
  return out;
}

/** What the control API can do to a simulated unit. */
export interface Controllable {
  hostname: string;
  failoverState: 'active' | 'standby';
  calls: CallRecord[];
  store: ConfigStore;
  faults: { pending: unknown[] };
  injectFault(spec: FaultSpec): void;
  /** Makes this unit active or standby; its peer takes the other role. */
  failoverTo(state: 'active' | 'standby'): void;
}

/**
 * Test hooks under `/__sim/` (never under `/mgmt`), for `npm start`, the dashboard and manual
 * poking: `GET config`, `GET calls`, `POST failover {state}`, `POST faults {kind,times,path,delayMs}`.
 */
export function controlRoute(unit: Controllable, method: string, route: string, raw: string): Reply {
  let body: Record<string, unknown> = {};
  try {
    body = raw ? JSON.parse(raw) : {};
  } catch {
    return reply(400, { message: 'invalid JSON' });
  }
  if (method === 'GET' && route === 'config') return reply(200, dumpConfig(unit.store));
  if (method === 'GET' && route === 'calls')
    return reply(200, { total: unit.calls.length, byPath: callsByPath(unit.calls) });
  if (method === 'POST' && route === 'failover') {
    unit.failoverTo(body.state === 'standby' ? 'standby' : 'active');
    return reply(200, { hostname: unit.hostname, failoverState: unit.failoverState });
  }
  if (method === 'POST' && route === 'faults') {
    unit.injectFault({
      kind: String(body.kind ?? '') as FaultSpec['kind'],
      times: Number(body.times ?? 1),
      ...(body.path ? { path: String(body.path) } : {}),
      ...(body.delayMs ? { delayMs: Number(body.delayMs) } : {}),
    });
    return reply(200, { pending: unit.faults.pending.length });
  }
  return reply(404, { message: `unknown control ${route}` });
}
