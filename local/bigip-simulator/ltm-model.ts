import { isIP } from 'node:net';
import { errors, type McpdError } from './error-bodies.js';

/** An error the simulated device answers with (status and exact body). */
export class SimError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(
      typeof body === 'object' && body && 'message' in body ? String((body as McpdError).message) : 'error',
    );
  }
}

export const MONITOR_TYPES = ['http', 'https', 'tcp', 'gateway-icmp'] as const;
export const PERSISTENCE_TYPES = ['cookie', 'source-addr'] as const;
export const PROFILE_TYPES = ['http', 'tcp', 'fastl4', 'one-connect'] as const;

export type Collection =
  | 'sys/folder'
  | 'ltm/virtual-address'
  | 'ltm/virtual'
  | 'ltm/pool'
  | 'ltm/pool/members'
  | 'ltm/node'
  | `ltm/monitor/${(typeof MONITOR_TYPES)[number]}`
  | `ltm/persistence/${(typeof PERSISTENCE_TYPES)[number]}`
  | `ltm/profile/${(typeof PROFILE_TYPES)[number]}`;

export interface StoredObject {
  name: string;
  partition: string;
  fullPath: string;
  generation: number;
  /** Members only: the pool's full path. */
  pool?: string;
  attrs: Record<string, unknown>;
}

const NOUNS: Record<string, string> = {
  'sys/folder': 'folder',
  'ltm/virtual-address': 'Virtual Address',
  'ltm/virtual': 'Virtual Server',
  'ltm/pool': 'Pool',
  'ltm/pool/members': 'Pool Member',
  'ltm/node': 'Node',
};

export function noun(collection: Collection): string {
  if (collection.startsWith('ltm/monitor/')) return 'Monitor';
  if (collection.startsWith('ltm/persistence/')) return 'Persistence Profile';
  if (collection.startsWith('ltm/profile/')) return 'Profile';
  return NOUNS[collection] ?? 'object';
}

const NAME_RE = /^[A-Za-z0-9_.:%-]+$/;

/** The configuration of one device (mcpd's database), with the rules a real device enforces. */
export class ConfigStore {
  private readonly data = new Map<Collection, Map<string, StoredObject>>();
  private generation = 1;

  constructor(seed = true) {
    if (seed) this.seedBuiltIns();
  }

  clone(): ConfigStore {
    const copy = new ConfigStore(false);
    for (const [collection, objects] of this.data) {
      copy.data.set(collection, new Map([...objects].map(([k, v]) => [k, structuredClone(v)])));
    }
    copy.generation = this.generation;
    return copy;
  }

  /** Replaces this store's content with another's (transaction commit, config-sync). */
  replaceWith(other: ConfigStore): void {
    this.data.clear();
    for (const [collection, objects] of other.clone().data) this.data.set(collection, objects);
    this.generation = other.generation;
  }

  all(collection: Collection): StoredObject[] {
    return [...(this.data.get(collection)?.values() ?? [])];
  }

  get(collection: Collection, key: string): StoredObject | undefined {
    return this.data.get(collection)?.get(key);
  }

  private put(collection: Collection, key: string, object: StoredObject): void {
    let objects = this.data.get(collection);
    if (!objects) {
      objects = new Map();
      this.data.set(collection, objects);
    }
    objects.set(key, object);
  }

  private remove(collection: Collection, key: string): void {
    this.data.get(collection)?.delete(key);
  }

  private seedBuiltIns(): void {
    this.put('sys/folder', '/Common', this.make('Common', 'Common', { subPath: '/' }));
    const builtIns: [Collection, string][] = [
      ['ltm/profile/http', 'http'],
      ['ltm/profile/tcp', 'tcp'],
      ['ltm/profile/fastl4', 'fastL4'],
      ['ltm/profile/one-connect', 'oneconnect'],
      ['ltm/persistence/cookie', 'cookie'],
      ['ltm/persistence/source-addr', 'source_addr'],
      ['ltm/monitor/http', 'http'],
      ['ltm/monitor/https', 'https'],
      ['ltm/monitor/tcp', 'tcp'],
      ['ltm/monitor/gateway-icmp', 'gateway_icmp'],
    ];
    for (const [collection, name] of builtIns) {
      this.put(collection, `/Common/${name}`, this.make(name, 'Common', { defaultsFrom: 'none' }));
    }
  }

  private make(name: string, partition: string, attrs: Record<string, unknown>, pool?: string): StoredObject {
    const object: StoredObject = {
      name,
      partition,
      fullPath: partition === name && !pool ? `/${name}` : `/${partition}/${name}`,
      generation: this.generation++,
      attrs,
    };
    if (pool) object.pool = pool;
    return object;
  }

  /** Every object path in a partition (folder contents), for partition deletion. */
  private partitionHolds(partition: string): boolean {
    for (const [collection, objects] of this.data) {
      if (collection === 'sys/folder') continue;
      for (const o of objects.values()) if (o.partition === partition) return true;
    }
    return false;
  }

  folderExists(partition: string): boolean {
    return this.data.get('sys/folder')?.has(`/${partition}`) ?? false;
  }

  // ---- operations (throw SimError with the device's exact body) ----

  create(collection: Collection, body: Record<string, unknown>, pool?: StoredObject): StoredObject {
    const name = String(body.name ?? '');
    if (!name || !NAME_RE.test(name)) throw new SimError(400, errors.invalidName(name));
    if (collection === 'sys/folder') {
      const path = `/${name}`;
      if (this.get('sys/folder', path)) throw new SimError(409, errors.exists('folder', path, 'Common'));
      const folder = this.make(name, name, { subPath: '/' });
      this.put('sys/folder', path, folder);
      return folder;
    }
    const partition = String(body.partition ?? pool?.partition ?? 'Common').replace(/^\//, '');
    const path = `/${partition}/${name}`;
    if (!this.folderExists(partition))
      throw new SimError(400, errors.folderMissingOnCreate(noun(collection), path));
    const key = pool ? `${pool.fullPath}|${path}` : path;
    if (this.get(collection, key)) {
      throw new SimError(
        409,
        errors.exists(noun(collection), pool ? `${pool.fullPath} ${path}` : path, partition),
      );
    }
    const attrs = { ...body };
    delete attrs.name;
    delete attrs.partition;
    delete attrs.fullPath;
    delete attrs.kind;
    delete attrs.generation;
    delete attrs.selfLink;
    const object = this.make(name, partition, {}, pool?.fullPath);
    this.applyAttrs(collection, object, attrs, true);
    this.put(collection, key, object);
    if (collection === 'ltm/pool' && Array.isArray(body.members)) {
      delete object.attrs.members;
      for (const m of body.members as Record<string, unknown>[]) {
        this.create('ltm/pool/members', { partition, ...(typeof m === 'string' ? { name: m } : m) }, object);
      }
    }
    return object;
  }

  patch(collection: Collection, key: string, body: Record<string, unknown>, replace = false): StoredObject {
    const object = this.get(collection, key);
    if (!object) throw new SimError(404, this.notFound(collection, key));
    const attrs = { ...body };
    for (const k of ['name', 'partition', 'fullPath', 'kind', 'generation', 'selfLink']) delete attrs[k];
    const before = structuredClone(object);
    if (replace) object.attrs = {};
    try {
      this.applyAttrs(collection, object, attrs, replace);
    } catch (error) {
      Object.assign(object, before);
      throw error;
    }
    if (collection === 'ltm/pool' && Array.isArray(body.members)) {
      delete object.attrs.members;
      for (const m of this.all('ltm/pool/members').filter((x) => x.pool === object.fullPath)) {
        this.remove('ltm/pool/members', `${object.fullPath}|${m.fullPath}`);
      }
      for (const m of body.members as Record<string, unknown>[]) {
        this.create('ltm/pool/members', { partition: object.partition, ...m }, object);
      }
    }
    object.generation = this.generation++;
    return object;
  }

  delete(collection: Collection, key: string): void {
    const object = this.get(collection, key);
    if (!object) throw new SimError(404, this.notFound(collection, key));
    const path = object.fullPath;
    if (collection === 'sys/folder') {
      if (this.partitionHolds(object.name)) throw new SimError(400, errors.partitionNotEmpty(object.name));
    } else if (collection === 'ltm/pool') {
      const vs = this.all('ltm/virtual').find((v) => v.attrs.pool === path);
      if (vs) throw new SimError(400, errors.poolInUse(path, vs.fullPath));
      for (const m of this.all('ltm/pool/members').filter((x) => x.pool === path)) {
        this.remove('ltm/pool/members', `${path}|${m.fullPath}`);
      }
    } else if (collection.startsWith('ltm/monitor/')) {
      if (this.all('ltm/pool').some((p) => monitorsOf(p).includes(path)))
        throw new SimError(400, errors.monitorInUse(path));
    } else if (collection === 'ltm/node') {
      const member = this.all('ltm/pool/members').find(
        (m) => m.partition === object.partition && m.attrs.address === object.attrs.address,
      );
      if (member) throw new SimError(400, errors.nodeInUse(path, member.pool as string));
    } else if (collection === 'ltm/virtual-address') {
      const vs = this.all('ltm/virtual').find(
        (v) => destinationAddress(v) === `${object.partition}|${object.attrs.address}`,
      );
      if (vs) throw new SimError(400, errors.virtualAddressInUse(path, vs.fullPath));
    } else if (collection.startsWith('ltm/persistence/') || collection.startsWith('ltm/profile/')) {
      const vs = this.all('ltm/virtual').find((v) =>
        [
          ...((v.attrs.persist as { name: string }[]) ?? []),
          ...((v.attrs.profiles as { name: string }[]) ?? []),
        ].some((p) => p.name === path),
      );
      if (vs) throw new SimError(400, errors.profileInUse(path, vs.fullPath));
    }
    this.remove(collection, key);
    if (collection === 'ltm/virtual') {
      // Virtual addresses the device created on its own go with their last virtual server.
      for (const va of this.all('ltm/virtual-address')) {
        const used = this.all('ltm/virtual').some(
          (v) => destinationAddress(v) === `${va.partition}|${va.attrs.address}`,
        );
        if (va.attrs.autoDelete === 'true' && !used) this.remove('ltm/virtual-address', va.fullPath);
      }
    }
  }

  notFound(collection: Collection, key: string): McpdError {
    if (collection === 'ltm/pool/members') return errors.memberNotFound(key.split('|')[1] ?? key);
    return errors.notFound(noun(collection), key);
  }

  /** Sets attributes with the device's validation; `creating` fills defaults. */
  private applyAttrs(
    collection: Collection,
    object: StoredObject,
    attrs: Record<string, unknown>,
    creating: boolean,
  ) {
    const a = object.attrs;
    if (collection === 'ltm/virtual') {
      if ('enabled' in attrs || 'disabled' in attrs) {
        delete a.enabled;
        delete a.disabled;
        if (attrs.disabled === true) a.disabled = true;
        else a.enabled = true;
      }
      for (const [k, v] of Object.entries(attrs)) if (k !== 'enabled' && k !== 'disabled') a[k] = v;
      if (creating) {
        a.ipProtocol ??= 'tcp';
        a.mask ??= '255.255.255.255';
        a.connectionLimit ??= 0;
        a.sourceAddressTranslation ??= { type: 'none' };
        if (!('disabled' in a)) a.enabled = true;
        a.profiles ??= [{ name: '/Common/tcp' }];
      }
      if (a.pool === '' || a.pool === 'none') delete a.pool;
      a.profiles = normaliseRefs(a.profiles);
      a.persist = normaliseRefs(a.persist ?? []);
      this.validateVirtual(object);
      this.ensureVirtualAddress(object);
    } else if (collection === 'ltm/pool') {
      Object.assign(a, attrs);
      if (creating) a.loadBalancingMode ??= 'round-robin';
      if (a.monitor === '' || a.monitor === 'none') delete a.monitor;
      for (const m of monitorsOf(object)) {
        const exists = MONITOR_TYPES.some((t) => this.get(`ltm/monitor/${t}`, m));
        if (!exists) throw new SimError(400, errors.notFound('monitor', m));
      }
    } else if (collection === 'ltm/pool/members') {
      Object.assign(a, attrs);
      const [address, port] = splitMember(object.name);
      if (creating) {
        a.address ??= address;
        a.ratio ??= 1;
        a.session ??= 'user-enabled';
        a.state ??= 'unchecked';
        a.connectionLimit ??= 0;
      }
      if (!isIP(String(a.address).split('%')[0] as string) || port === undefined) {
        throw new SimError(400, errors.invalidValue(`Invalid pool member name ${object.name}`));
      }
      if (creating) this.ensureNode(object.partition, String(a.address));
    } else if (collection === 'ltm/virtual-address') {
      Object.assign(a, attrs);
      if (creating) {
        a.address ??= object.name;
        a.enabled ??= 'yes';
        a.autoDelete ??= 'true';
        a.trafficGroup ??= '/Common/traffic-group-1';
      }
      if (!isIP(String(a.address).split('%')[0] as string)) {
        throw new SimError(400, errors.invalidValue(`Invalid virtual address ${String(a.address)}`));
      }
    } else if (collection.startsWith('ltm/monitor/')) {
      Object.assign(a, attrs);
      if (creating) {
        a.interval ??= 5;
        a.timeout ??= 16;
        if (collection === 'ltm/monitor/http' || collection === 'ltm/monitor/https') {
          a.send ??= 'GET /\\r\\n';
          a.recv ??= '';
        }
        a.defaultsFrom ??= `/Common/${collection.split('/')[2] === 'gateway-icmp' ? 'gateway_icmp' : collection.split('/')[2]}`;
      }
    } else {
      Object.assign(a, attrs);
      if (creating && collection === 'ltm/node') a.address ??= object.name;
    }
  }

  private validateVirtual(vs: StoredObject): void {
    const a = vs.attrs;
    const pool = a.pool as string | undefined;
    if (pool && !this.get('ltm/pool', pool)) {
      throw new SimError(400, errors.foreignKey(pool, 'virtual server pool', vs.fullPath, 'pool_FK'));
    }
    for (const p of a.profiles as { name: string }[]) {
      if (!PROFILE_TYPES.some((t) => this.get(`ltm/profile/${t}`, p.name))) {
        throw new SimError(
          400,
          errors.foreignKey(p.name, 'virtual server profile', vs.fullPath, 'profile_FK'),
        );
      }
    }
    for (const p of a.persist as { name: string }[]) {
      if (!PERSISTENCE_TYPES.some((t) => this.get(`ltm/persistence/${t}`, p.name))) {
        throw new SimError(
          400,
          errors.foreignKey(p.name, 'virtual server persist', vs.fullPath, 'persist_FK'),
        );
      }
    }
    const dest = String(a.destination ?? '');
    if (!parseDestination(dest)) throw new SimError(400, errors.invalidValue(`Invalid destination ${dest}`));
    const clash = this.all('ltm/virtual').find(
      (v) =>
        v.fullPath !== vs.fullPath && v.attrs.destination === dest && v.attrs.ipProtocol === a.ipProtocol,
    );
    if (clash) throw new SimError(409, errors.destinationConflict(vs.fullPath, clash.fullPath));
  }

  private ensureVirtualAddress(vs: StoredObject): void {
    const parsed = parseDestination(String(vs.attrs.destination));
    if (!parsed) return;
    const exists = this.all('ltm/virtual-address').some(
      (va) => va.partition === parsed.partition && va.attrs.address === parsed.address,
    );
    if (!exists) {
      const va = this.make(parsed.address, parsed.partition, {
        address: parsed.address,
        enabled: 'yes',
        autoDelete: 'true',
        trafficGroup: '/Common/traffic-group-1',
      });
      this.put('ltm/virtual-address', va.fullPath, va);
    }
  }

  private ensureNode(partition: string, address: string): void {
    const path = `/${partition}/${address}`;
    if (!this.get('ltm/node', path)) {
      this.put(
        'ltm/node',
        path,
        this.make(address, partition, { address, session: 'user-enabled', state: 'unchecked' }),
      );
    }
  }
}

function normaliseRefs(value: unknown): { name: string }[] {
  if (!Array.isArray(value)) return [];
  return value.map((v) => {
    const name = typeof v === 'string' ? v : String((v as { name?: string }).name ?? '');
    return {
      ...(typeof v === 'object' ? (v as object) : {}),
      name: name.startsWith('/') ? name : `/Common/${name}`,
    };
  });
}

export function monitorsOf(pool: StoredObject): string[] {
  const monitor = String(pool.attrs.monitor ?? '').trim();
  if (!monitor) return [];
  return monitor
    .replace(/^min \d+ of \{|\}$/g, '')
    .split(/\s+and\s+|\s+/)
    .map((m) => m.trim())
    .filter((m) => m.startsWith('/'));
}

export function splitMember(name: string): [string, number | undefined] {
  const v4 = /^(.+):(\d+)$/.exec(name);
  if (v4 && isIP(v4[1]?.split('%')[0] as string) === 4) return [v4[1] as string, Number(v4[2])];
  const v6 = /^(.+)\.(\d+)$/.exec(name);
  if (v6 && isIP(v6[1]?.split('%')[0] as string) === 6) return [v6[1] as string, Number(v6[2])];
  return [name, undefined];
}

export function parseDestination(
  dest: string,
): { partition: string; address: string; port: number } | undefined {
  const m = /^\/([^/]+)\/(.+)$/.exec(dest);
  const partition = m?.[1] ?? 'Common';
  const rest = m?.[2] ?? dest;
  const [address, port] = splitMember(rest);
  if (port === undefined) return undefined;
  return { partition, address, port };
}

function destinationAddress(vs: StoredObject): string {
  const parsed = parseDestination(String(vs.attrs.destination ?? ''));
  return parsed ? `${parsed.partition}|${parsed.address}` : '';
}
