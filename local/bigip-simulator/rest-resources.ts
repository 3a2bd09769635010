import { CryptoFiles } from './crypto-files.js';
import { atLeast, type DeviceTraits } from './device-traits.js';
import { errors } from './error-bodies.js';
import { decodeSafe, partitionFilter } from './http-io.js';
import {
  type Collection,
  type ConfigStore,
  MONITOR_TYPES,
  monitorsOf,
  PERSISTENCE_TYPES,
  PROFILE_TYPES,
  parseDestination,
  SimError,
  type StoredObject,
} from './ltm-model.js';
import { LtmPolicies } from './ltm-policies.js';
import { renderDefaults } from './object-defaults.js';
import type { StatsBook } from './stats-book.js';
import { renderObjectStats, renderStats } from './stats-endpoints.js';

interface Route {
  collection: Collection;
  id?: string;
  sub?: string;
  subId?: string;
}

/**
 * The configuration endpoints under `/mgmt/tm/` (folders, virtuals, virtual addresses, pools and
 * members, nodes, monitors, persistence and profiles, and their stats): `~Partition~name` ids,
 * `$filter`, `$select`, `expandSubcollections`, and each object rendered as the device renders it.
 * Section numbers refer to docs/reference/device-facts.md.
 */
export class RestResources {
  private readonly version: string;
  private readonly policies: LtmPolicies;
  /** Uploaded files and installed certificates and keys. */
  readonly crypto: CryptoFiles;

  constructor(
    private readonly traits: DeviceTraits,
    private readonly stats: StatsBook,
    clock: () => number = Date.now,
  ) {
    this.version = traits.version;
    this.crypto = new CryptoFiles(clock);
    this.policies = new LtmPolicies(traits.version);
  }

  /** Executes one configuration request against a store; throws SimError with the device's answer. */
  execute(
    store: ConfigStore,
    method: string,
    tm: string,
    query: URLSearchParams,
    body: Record<string, unknown>,
  ): unknown {
    if (method === 'GET' && tm.endsWith('/stats')) {
      const target = tm.slice(0, -'/stats'.length);
      const members = /^ltm\/pool\/([^/]+)\/members$/.exec(target);
      const poolPath = members ? this.itemPath(store, members[1] as string, method) : undefined;
      const out = renderStats(store, this.stats, this.version, target, poolPath);
      if (out) return out;
      const single = this.objectStats(store, target);
      if (single) return single;
    }
    if (tm.startsWith('sys/crypto/') || tm.startsWith('sys/file/'))
      return this.crypto.execute(store, method, tm, query, body);
    const route = resolve(tm);
    if (!route) throw new SimError(404, errors.unknownPath(`/tm/${tm}`));
    const expand = query.get('expandSubcollections') === 'true';
    const { collection } = route;
    if (collection === 'ltm/policy')
      return this.policies.execute(
        store,
        method,
        route.id === undefined ? undefined : decodeSafe(route.id),
        route.sub,
        query,
        body,
      );
    if (method === 'PATCH' && Object.keys(body).length === 0) throw new SimError(400, errors.emptyPatch());

    // Members sub-collection of a pool.
    if (collection === 'ltm/pool' && route.sub === 'members' && route.id) {
      const poolPath = this.itemPath(store, route.id, method);
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
      const memberPath = this.itemPath(store, route.subId, method);
      return this.itemOp(store, 'ltm/pool/members', `${poolPath}|${memberPath}`, method, body, expand);
    }
    if (collection === 'ltm/virtual' && route.sub === 'profiles' && route.id) {
      const vsPath = this.itemPath(store, route.id, method);
      const vs = store.get('ltm/virtual', vsPath);
      if (!vs) throw new SimError(404, errors.notFound('Virtual Server', vsPath));
      return { kind: 'tm:ltm:virtual:profiles:profilescollectionstate', items: this.profileItems(store, vs) };
    }
    if (route.sub) throw new SimError(404, errors.unknownPath(`/tm/${tm}`));

    if (!route.id) {
      if (method === 'GET') return this.collectionBody(collection, store.all(collection), query, store);
      if (method === 'POST') return this.render(store, collection, store.create(collection, body), expand);
      throw new SimError(405, errors.methodNotAllowed(method));
    }
    const key = collection === 'sys/folder' ? folderPath(route.id) : this.itemPath(store, route.id, method);
    return this.itemOp(store, collection, key, method, body, expand);
  }

  /** §7.10: one virtual server's, pool's or pool member's stats; undefined for other paths. */
  private objectStats(store: ConfigStore, target: string): unknown {
    const m = /^ltm\/(virtual|pool)\/([^/]+)(?:\/members\/([^/]+))?$/.exec(target);
    if (!m) return undefined;
    const [, kind, id, memberId] = m as unknown as [string, 'virtual' | 'pool', string, string | undefined];
    const path = this.itemPath(store, id, 'GET');
    const link = `https://localhost/mgmt/tm/${target}`;
    if (kind === 'virtual') {
      const vs = store.get('ltm/virtual', path);
      if (!vs) throw new SimError(404, errors.notFound('Virtual Server', path));
      return renderObjectStats(store, this.stats, this.traits, link, vs, 'virtual');
    }
    const pool = store.get('ltm/pool', path);
    if (!pool) throw new SimError(404, errors.notFound('Pool', path));
    if (memberId === undefined) return renderObjectStats(store, this.stats, this.traits, link, pool, 'pool');
    const key = `${path}|${this.itemPath(store, memberId, 'GET')}`;
    const member = store.get('ltm/pool/members', key);
    if (!member) throw new SimError(404, store.notFound('ltm/pool/members', key));
    return renderObjectStats(store, this.stats, this.traits, link, member, 'member');
  }

  /**
   * `~P~name` → `/P/name` (`%25` → `%`); a bare name is in /Common. The folder must exist: writes
   * answer 400 "folder not found"; a GET answers as the device's trait says (§3.2).
   */
  private itemPath(store: ConfigStore, id: string, method: string): string {
    const decoded = decodeSafe(id);
    const path = decoded.startsWith('~') ? decoded.replaceAll('~', '/') : `/Common/${decoded}`;
    const partition = path.split('/')[1] as string;
    if (!store.folderExists(partition)) {
      if (method === 'GET' && this.traits.missingPartitionGet === 404)
        throw new SimError(404, errors.notFound('object', path));
      throw new SimError(400, errors.folderMissingInUrl(`/${partition}`));
    }
    return path;
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

  private collectionBody(
    collection: Collection,
    objects: StoredObject[],
    query: URLSearchParams,
    store: ConfigStore,
  ) {
    const partition = partitionFilter(query);
    let items = objects;
    if (partition) items = items.filter((o) => o.partition === partition);
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

  /** An object as the device renders it: kind, fullPath, generation, selfLink, references, defaults. */
  render(
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
    const ver = `?ver=${this.version}`;
    const body: Record<string, unknown> = {
      kind: kindOf(collection),
      name: o.name,
      partition: o.partition,
      fullPath: o.fullPath,
      generation: o.generation,
      selfLink: `${link.replaceAll('%', '%25')}${ver}`,
      ...renderDefaults(collection, o),
      ...o.attrs,
    };
    if (collection === 'sys/folder') {
      delete body.partition;
      body.subPath = '/';
      body.hidden = 'false';
      body.inheritedDevicegroup = o.attrs.deviceGroup === undefined ? 'true' : 'false';
      body.inheritedTrafficGroup = o.attrs.trafficGroup === undefined ? 'true' : 'false';
      body.deviceGroup ??= 'none';
      body.trafficGroup ??= '/Common/traffic-group-1';
    }
    if (collection === 'ltm/virtual') {
      body.destination = this.namedDestination(store, String(o.attrs.destination ?? ''));
      body.profilesReference = {
        link: `${link}/profiles${ver}`,
        isSubcollection: true,
        ...(expand ? { items: this.profileItems(store, o) } : {}),
      };
      delete body.profiles;
      if (o.attrs.pool) body.poolReference = { link: `${refLink('ltm/pool', String(o.attrs.pool))}${ver}` };
      body.policiesReference = {
        link: `${link}/policies${ver}`,
        isSubcollection: true,
        ...(expand
          ? {
              items: ((o.attrs.policies as { name: string }[]) ?? []).map((p) => {
                const [, partition, name] = p.name.split('/');
                return {
                  kind: 'tm:ltm:virtual:policies:policiesstate',
                  name,
                  partition,
                  fullPath: p.name,
                  generation: o.generation,
                  nameReference: { link: `${refLink('ltm/policy', p.name)}${ver}` },
                };
              }),
            }
          : {}),
      };
      delete body.policies;
      if (((body.rules as unknown[] | undefined) ?? []).length === 0) delete body.rules;
      body.persist = ((o.attrs.persist as { name: string }[]) ?? []).map((p) => {
        const [, partition, name] = p.name.split('/');
        const type =
          PERSISTENCE_TYPES.find((t) => store.get(`ltm/persistence/${t}`, p.name)) ?? 'source-addr';
        return {
          name,
          partition,
          tmDefault: 'yes',
          nameReference: { link: `${refLink(`ltm/persistence/${type}`, p.name)}${ver}` },
        };
      });
      if ((body.persist as unknown[]).length === 0) delete body.persist;
    }
    if (collection === 'ltm/pool') {
      const members = store.all('ltm/pool/members').filter((m) => m.pool === o.fullPath);
      body.membersReference = {
        link: `${link}/members${ver}`,
        isSubcollection: true,
        ...(expand ? { items: members.map((m) => this.render(store, 'ltm/pool/members', m)) } : {}),
      };
      // §1.5: "/Common/http and /Common/https " with a trailing space up to 13.x; none from 14.1.
      if (body.monitor && !atLeast(this.traits, 14)) body.monitor = `${String(body.monitor)} `;
    }
    if (collection === 'ltm/profile/client-ssl') Object.assign(body, this.clientSslShape(o));
    if (collection === 'ltm/pool/members') {
      const pool = store.get('ltm/pool', o.pool as string);
      const monitored = pool !== undefined && monitorsOf(pool).length > 0;
      if (body.session === 'user-enabled' && monitored) body.session = 'monitor-enabled';
      // §7.9: a monitored member's `state` is the monitor's verdict (up, down, checking); `unchecked`
      // only without a monitor. Before its first verdict: `checking` (inferred). A member forced
      // offline by a client (`user-down`) keeps that.
      if (o.attrs.state !== 'user-down') {
        const verdict = monitored ? this.stats.member(`${pool.fullPath}|${o.fullPath}`) : 'unchecked';
        body.state = monitored && verdict === 'unchecked' ? 'checking' : verdict;
      }
    }
    return body;
  }

  /**
   * §7.5 (f5-ansible fixture, 13.0.0): `sniDefault` reads as the string "true"/"false", `serverName`
   * as "none" when unset, each `certKeyChain` item with `certReference`/`keyReference` links and
   * `chain: "none"` when it has none, and the first item's `cert`/`key`/`chain` repeated at the top.
   * A device keeps a passphrase encrypted and shows only that.
   */
  private clientSslShape(o: StoredObject): Record<string, unknown> {
    const ver = `?ver=${this.version}`;
    const chain = ((o.attrs.certKeyChain as Record<string, unknown>[] | undefined) ?? []).map(
      (c): Record<string, unknown> => ({
        ...c,
        chain: typeof c.chain === 'string' ? c.chain : 'none',
        ...(typeof c.cert === 'string'
          ? { certReference: { link: `${refLink('sys/file/ssl-cert', c.cert)}${ver}` } }
          : {}),
        ...(typeof c.key === 'string'
          ? { keyReference: { link: `${refLink('sys/file/ssl-key', c.key)}${ver}` } }
          : {}),
        ...(typeof c.chain === 'string'
          ? { chainReference: { link: `${refLink('sys/file/ssl-cert', c.chain)}${ver}` } }
          : {}),
        ...(c.passphrase ? { passphrase: '$M$simulated-encrypted' } : {}),
      }),
    );
    const first = chain[0];
    return {
      sniDefault: o.attrs.sniDefault === true ? 'true' : 'false',
      serverName: typeof o.attrs.serverName === 'string' ? o.attrs.serverName : 'none',
      ...(first ? { cert: first.cert, key: first.key, chain: first.chain } : {}),
      ...(o.attrs.certKeyChain ? { certKeyChain: chain } : {}),
    };
  }

  /** §1.1: the destination through the name of the virtual address holding its IP (`.port` for IPv6). */
  private namedDestination(store: ConfigStore, dest: string): string {
    const parsed = parseDestination(dest);
    if (!parsed) return dest;
    const va = store
      .all('ltm/virtual-address')
      .find((v) => v.partition === parsed.partition && String(v.attrs.address) === parsed.address);
    if (!va) return dest;
    const separator = parsed.address.includes(':') ? '.' : ':';
    return `/${parsed.partition}/${va.name}${separator}${parsed.port}`;
  }

  /** §1.6: profile items carry generation, selfLink and a nameReference. */
  private profileItems(store: ConfigStore, vs: StoredObject) {
    return ((vs.attrs.profiles as { name: string; context?: string }[]) ?? []).map((p) => {
      const [, partition, name] = p.name.split('/');
      const type = PROFILE_TYPES.find((t) => store.get(`ltm/profile/${t}`, p.name)) ?? 'tcp';
      const vsLink = `https://localhost/mgmt/tm/ltm/virtual/~${vs.fullPath.slice(1).replaceAll('/', '~')}`;
      return {
        kind: 'tm:ltm:virtual:profiles:profilesstate',
        name,
        partition,
        fullPath: p.name,
        generation: vs.generation,
        selfLink: `${vsLink}/profiles/~${partition}~${name}?ver=${this.version}`,
        context:
          p.context ?? (type === 'client-ssl' ? 'clientside' : type === 'server-ssl' ? 'serverside' : 'all'),
        nameReference: { link: `${refLink(`ltm/profile/${type}`, p.name)}?ver=${this.version}` },
      };
    });
  }
}

function refLink(collection: string, fullPath: string): string {
  return `https://localhost/mgmt/tm/${collection}/~${fullPath.slice(1).replaceAll('/', '~')}`;
}

function resolve(tm: string): Route | undefined {
  const [mod, a, b, c, d] = tm.split('/').filter(Boolean);
  const typed = (prefix: string, types: readonly string[]): Route | undefined =>
    a === prefix.split('/')[1] && b && types.includes(b)
      ? { collection: `${prefix}/${b}` as Collection, ...(c ? { id: c } : {}) }
      : undefined;
  if (mod === 'sys' && a === 'folder') return { collection: 'sys/folder', ...(b ? { id: b } : {}) };
  if (mod === 'net' && a && ['route-domain', 'vlan', 'self'].includes(a) && !c)
    return { collection: `net/${a}` as Collection, ...(b ? { id: b } : {}) };
  if (mod !== 'ltm' || !a) return undefined;
  if (a === 'monitor') return typed('ltm/monitor', MONITOR_TYPES);
  if (a === 'persistence') return typed('ltm/persistence', PERSISTENCE_TYPES);
  if (a === 'profile') return typed('ltm/profile', PROFILE_TYPES);
  if (!['virtual-address', 'virtual', 'pool', 'node', 'policy', 'rule', 'snatpool'].includes(a))
    return undefined;
  return {
    collection: `ltm/${a}` as Collection,
    ...(b ? { id: b } : {}),
    ...(c ? { sub: c } : {}),
    ...(d ? { subId: d } : {}),
  };
}

function folderPath(id: string): string {
  const decoded = decodeSafe(id);
  return decoded.startsWith('~') ? decoded.replaceAll('~', '/') : `/${decoded}`;
}

function kindOf(collection: Collection): string {
  const parts = collection.split('/');
  return `tm:${parts.join(':')}:${parts[parts.length - 1]}state`;
}
