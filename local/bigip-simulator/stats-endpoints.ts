import { type DeviceTraits, nestsSingleStats } from './device-traits.js';
import type { ConfigStore, StoredObject } from './ltm-model.js';
import { monitorsOf } from './ltm-types.js';
import type { StatsBook } from './stats-book.js';

type Entry = { value: number } | { description: string };

/**
 * device-facts.md §5.2: `GET /mgmt/tm/ltm/virtual/stats`, `/ltm/pool/stats` and `/ltm/pool/~P~name/members/stats`
 * answer `entries{<selfLink>: {nestedStats: {entries: {…}}}}`; counters are bits, cumulative per
 * unit. Undefined for paths that are not a stats collection.
 */
export function renderStats(
  store: ConfigStore,
  book: StatsBook,
  version: string,
  target: string,
  poolPath?: string,
): unknown {
  if (target === 'ltm/virtual') {
    return collection(version, 'ltm/virtual', store.all('ltm/virtual'), (vs) =>
      virtualEntries(store, book, vs),
    );
  }
  if (target === 'ltm/pool') {
    return collection(version, 'ltm/pool', store.all('ltm/pool'), (pool) => poolEntries(store, book, pool));
  }
  if (poolPath) {
    const members = store.all('ltm/pool/members').filter((m) => m.pool === poolPath);
    const pool = store.get('ltm/pool', poolPath);
    const base = `ltm/pool/~${poolPath.slice(1).replaceAll('/', '~')}/members`;
    return collection(version, base, members, (m) => memberEntries(book, pool, m));
  }
  return undefined;
}

function collection(
  version: string,
  base: string,
  objects: StoredObject[],
  entries: (o: StoredObject) => Record<string, Entry>,
) {
  const out: Record<string, unknown> = {};
  for (const o of objects) {
    // A link is a URL: a route-domain suffix's `%` in it is `%25` (bigip-rest.md A.3.1).
    const link = `https://localhost/mgmt/tm/${base}/~${o.fullPath.slice(1).replaceAll('/', '~').replaceAll('%', '%25')}/stats`;
    out[link] = {
      nestedStats: {
        kind: `tm:${base.replaceAll('/', ':').replace(/~[^:]+/, '')}:${base.split('/').pop()}stats`,
        selfLink: `${link}?ver=${version}`,
        entries: entries(o),
      },
    };
  }
  return {
    kind: `tm:${base.split('/').join(':')}:${base.split('/').pop()}collectionstats`,
    selfLink: `https://localhost/mgmt/tm/${base}/stats?ver=${version}`,
    entries: out,
  };
}

/** available: some member up; offline: all monitored members down; unknown: nothing monitored yet. */
function availability(statuses: string[]): string {
  if (statuses.includes('up')) return 'available';
  if (statuses.length > 0 && statuses.every((s) => s === 'down')) return 'offline';
  return 'unknown';
}

function memberStatuses(store: ConfigStore, book: StatsBook, pool: StoredObject): string[] {
  return store
    .all('ltm/pool/members')
    .filter((m) => m.pool === pool.fullPath)
    .map((m) => book.member(`${pool.fullPath}|${m.fullPath}`));
}

function virtualEntries(store: ConfigStore, book: StatsBook, vs: StoredObject): Record<string, Entry> {
  const c = book.virtual(vs.fullPath);
  const pool = vs.attrs.pool ? store.get('ltm/pool', String(vs.attrs.pool)) : undefined;
  return {
    'clientside.bitsIn': { value: c.bitsIn },
    'clientside.bitsOut': { value: c.bitsOut },
    'clientside.curConns': { value: c.curConns },
    'clientside.totConns': { value: c.totConns },
    'clientside.slowKilled': { value: c.slowKilled },
    destination: { description: String(vs.attrs.destination) },
    'status.availabilityState': {
      description: pool ? availability(memberStatuses(store, book, pool)) : 'unknown',
    },
    'status.enabledState': { description: vs.attrs.disabled === true ? 'disabled' : 'enabled' },
    'status.statusReason': {
      description: reason('virtual', pool ? availability(memberStatuses(store, book, pool)) : 'unknown'),
    },
    tmName: { description: vs.fullPath },
  };
}

function poolEntries(store: ConfigStore, book: StatsBook, pool: StoredObject): Record<string, Entry> {
  const statuses = memberStatuses(store, book, pool);
  return {
    activeMemberCnt: { value: statuses.filter((s) => s === 'up').length },
    memberCnt: { value: statuses.length },
    'status.availabilityState': { description: availability(statuses) },
    'status.enabledState': { description: 'enabled' },
    'status.statusReason': { description: reason('pool', availability(statuses)) },
    tmName: { description: pool.fullPath },
  };
}

function memberEntries(
  book: StatsBook,
  pool: StoredObject | undefined,
  m: StoredObject,
): Record<string, Entry> {
  const monitored = pool !== undefined && monitorsOf(pool).length > 0;
  const status = monitored ? book.member(`${pool.fullPath}|${m.fullPath}`) : 'unchecked';
  const [address, port] = [String(m.attrs.address), m.name.slice(m.name.search(/[:.]\d+$/) + 1)];
  return {
    addr: { description: address },
    monitorStatus: { description: status },
    nodeName: { description: `/${m.partition}/${address}` },
    poolName: { description: String(m.pool) },
    port: { value: Number(port) },
    'status.availabilityState': { description: availability([status]) },
    'status.enabledState': {
      description: String(m.attrs.session).endsWith('disabled') ? 'disabled' : 'enabled',
    },
    'status.statusReason': { description: reason('member', availability([status])) },
  };
}

/**
 * §7.9: `status.statusReason` is text. "The virtual server is available" is recorded
 * (f5-telemetry-streaming#93); the other sentences follow its pattern and are the simulator's.
 */
function reason(kind: 'virtual' | 'pool' | 'member', availability: string): string {
  const noun = kind === 'virtual' ? 'The virtual server' : kind === 'pool' ? 'The pool' : 'Pool member';
  if (availability === 'available') return `${noun} is available`;
  if (availability === 'offline') return `${noun} is down`;
  return `${noun} has no monitor result yet`;
}

/**
 * §7.10: one object's stats (`GET /mgmt/tm/ltm/virtual/~P~vs/stats`, a pool's, a member's). The
 * entry is keyed `…/~P~vs/~P~vs/stats` before 14.0 and `…/~P~vs/stats` from 14.0 (BigStats:
 * "Object structure changed in v14"); members the same way.
 */
export function renderObjectStats(
  store: ConfigStore,
  book: StatsBook,
  traits: DeviceTraits,
  link: string,
  object: StoredObject,
  kind: 'virtual' | 'pool' | 'member',
): unknown {
  const id = link.slice(link.lastIndexOf('/') + 1);
  const key = nestsSingleStats(traits) ? `${link}/${id}/stats` : `${link}/stats`;
  const pool = kind === 'member' ? store.get('ltm/pool', String(object.pool)) : undefined;
  const entries =
    kind === 'virtual'
      ? virtualEntries(store, book, object)
      : kind === 'pool'
        ? poolEntries(store, book, object)
        : memberEntries(book, pool, object);
  const collection = kind === 'member' ? 'ltm:pool:members' : `ltm:${kind}`;
  return {
    kind: `tm:${collection}:${collection.split(':').pop()}stats`,
    selfLink: `${link}/stats?ver=${traits.version}`,
    entries: {
      [key]: {
        nestedStats: { entries: { ...entries, tmName: { description: object.fullPath } } },
      },
    },
  };
}
