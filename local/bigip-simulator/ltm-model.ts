import { DEFAULT_TRAITS, type DeviceTraits } from './device-traits.js';
import { errors, type McpdError } from './error-bodies.js';
import { applyAttributes, destinationAddress } from './ltm-rules.js';
import { type Collection, monitorsOf, noun, SimError, type StoredObject } from './ltm-types.js';
import { isLocalOnly, refuseNetDelete } from './net-rules.js';

export * from './ltm-types.js';

const NAME_RE = /^[A-Za-z0-9_.:%-]+$/;
const READ_ONLY_FIELDS = ['name', 'partition', 'fullPath', 'kind', 'generation', 'selfLink'];

/**
 * The configuration of one device (mcpd's database): objects by collection and full path, the
 * create/patch/delete operations with the device's referential rules and exact error bodies.
 * Attribute defaults and validation live in ltm-rules.ts.
 */
export class ConfigStore {
  private readonly data = new Map<Collection, Map<string, StoredObject>>();
  /**
   * Items REST does not list but that keep a folder non-empty, by partition (device-facts.md §3.1: "monitor test
   * results /P/m 1" left by a `run ltm monitor … test`).
   */
  private readonly hidden = new Map<string, string[]>();
  private generation = 1;

  constructor(
    seed = true,
    readonly traits: DeviceTraits = DEFAULT_TRAITS,
  ) {
    if (seed) this.seedBuiltIns();
  }

  clone(): ConfigStore {
    const copy = new ConfigStore(false, this.traits);
    for (const [collection, objects] of this.data) {
      copy.data.set(collection, new Map([...objects].map(([k, v]) => [k, structuredClone(v)])));
    }
    for (const [partition, items] of this.hidden) copy.hidden.set(partition, [...items]);
    copy.generation = this.generation;
    return copy;
  }

  /** Replaces this store's content with another's (transaction commit, config-sync). */
  replaceWith(other: ConfigStore): void {
    const copy = other.clone();
    this.data.clear();
    this.hidden.clear();
    for (const [collection, objects] of copy.data) this.data.set(collection, objects);
    for (const [partition, items] of copy.hidden) this.hidden.set(partition, items);
    this.generation = other.generation;
  }

  /**
   * Config-sync from the peer (device-facts.md §2.6): everything but each unit's own
   * (`traffic-group-local-only`) self IPs, which stay as they are on this unit.
   */
  syncFrom(other: ConfigStore): void {
    const own = this.all('net/self').filter((s) => isLocalOnly('net/self', s));
    this.replaceWith(other);
    for (const s of this.all('net/self')) if (isLocalOnly('net/self', s)) this.remove('net/self', s.fullPath);
    for (const s of own) this.insert('net/self', s.fullPath, s);
  }

  /** Test hook: an item the REST API does not show that keeps a folder from being deleted. */
  addHiddenItem(partition: string, item: string): void {
    this.hidden.set(partition, [...(this.hidden.get(partition) ?? []), item]);
  }

  all(collection: Collection): StoredObject[] {
    return [...(this.data.get(collection)?.values() ?? [])];
  }

  get(collection: Collection, key: string): StoredObject | undefined {
    return this.data.get(collection)?.get(key);
  }

  /** Stores an object the device creates on its own (virtual addresses, nodes). */
  insert(collection: Collection, key: string, object: StoredObject): void {
    let objects = this.data.get(collection);
    if (!objects) {
      objects = new Map();
      this.data.set(collection, objects);
    }
    objects.set(key, object);
  }

  remove(collection: Collection, key: string): void {
    this.data.get(collection)?.delete(key);
  }

  /** The generation number the next change takes. */
  nextGeneration(): number {
    return this.generation++;
  }

  private seedBuiltIns(): void {
    this.insert('sys/folder', '/Common', this.make('Common', 'Common', { subPath: '/' }));
    // §2.5: route domain 0 is always there.
    this.insert(
      'net/route-domain',
      '/Common/0',
      this.make('0', 'Common', { id: 0, strict: 'enabled', parent: 'none', vlans: [] }),
    );
    const builtIns: [Collection, string][] = [
      ['ltm/profile/http', 'http'],
      ['ltm/profile/tcp', 'tcp'],
      ['ltm/profile/fastl4', 'fastL4'],
      ['ltm/profile/one-connect', 'oneconnect'],
      ['ltm/profile/client-ssl', 'clientssl'],
      ['ltm/profile/server-ssl', 'serverssl'],
      ['ltm/profile/udp', 'udp'],
      ['ltm/persistence/cookie', 'cookie'],
      ['ltm/persistence/source-addr', 'source_addr'],
      ['ltm/monitor/http', 'http'],
      ['ltm/monitor/https', 'https'],
      ['ltm/monitor/tcp', 'tcp'],
      ['ltm/monitor/gateway-icmp', 'gateway_icmp'],
      ['ltm/monitor/udp', 'udp'],
    ];
    for (const [collection, name] of builtIns) {
      this.insert(collection, `/Common/${name}`, this.make(name, 'Common', { defaultsFrom: 'none' }));
    }
  }

  /** A new object with the next generation number. */
  make(name: string, partition: string, attrs: Record<string, unknown>, pool?: string): StoredObject {
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

  /** The first item a folder still holds (its objects, then hidden items), as mcpd names it. */
  private folderItem(partition: string): string | undefined {
    for (const [collection, objects] of this.data) {
      if (collection === 'sys/folder') continue;
      for (const o of objects.values())
        if (o.partition === partition) return `${noun(collection).toLowerCase()} ${o.fullPath}`;
    }
    return this.hidden.get(partition)?.[0];
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
      // §1.7: folder attributes are kept as sent (`deviceGroup: "none"` keeps it out of config-sync).
      const kept = Object.fromEntries(
        ['deviceGroup', 'trafficGroup', 'noRefCheck', 'description']
          .filter((k) => body[k] !== undefined)
          .map((k) => [k, body[k]]),
      );
      const folder = this.make(name, name, { subPath: '/', ...kept });
      this.insert('sys/folder', path, folder);
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
    for (const k of READ_ONLY_FIELDS) delete attrs[k];
    const object = this.make(name, partition, {}, pool?.fullPath);
    applyAttributes(this, collection, object, attrs, true);
    this.insert(collection, key, object);
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
    for (const k of READ_ONLY_FIELDS) delete attrs[k];
    const before = structuredClone(object);
    if (replace) object.attrs = {};
    try {
      applyAttributes(this, collection, object, attrs, replace);
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
    this.refuseIfReferenced(collection, object);
    const path = object.fullPath;
    if (collection === 'ltm/pool') {
      for (const m of this.all('ltm/pool/members').filter((x) => x.pool === path)) {
        this.remove('ltm/pool/members', `${path}|${m.fullPath}`);
      }
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

  /** mcpd refuses to delete what another object still references. */
  private refuseIfReferenced(collection: Collection, object: StoredObject): void {
    const path = object.fullPath;
    refuseNetDelete(this, collection, object);
    if (collection === 'sys/folder') {
      // §3.1: a folder with items answers 010713f9 (0107082a is the `auth partition` wording).
      const item = this.folderItem(object.name);
      if (item) throw new SimError(400, errors.folderNotEmpty(path, item));
    } else if (collection === 'ltm/pool') {
      const vs = this.all('ltm/virtual').find((v) => v.attrs.pool === path);
      if (vs) throw new SimError(400, errors.poolInUse(path, vs.fullPath));
      // A policy forwarding to the pool holds it too (the device keeps no dangling reference; no
      // public source quotes this refusal, so the simulator's wording says so).
      const policy = this.all('ltm/policy').find((p) =>
        ((p.attrs.rules as { actions?: { pool?: string }[] }[]) ?? []).some((r) =>
          (r.actions ?? []).some((a) => a.pool === path),
        ),
      );
      if (policy)
        throw new SimError(
          400,
          errors.invalidValue(`simulator: pool ${path} is in use by policy ${policy.fullPath}`),
        );
    } else if (collection === 'ltm/rule') {
      // peer-features.md §2.6 (agent#1024): an iRule in use cannot be deleted (01070265).
      const vs = this.all('ltm/virtual').find((v) => ((v.attrs.rules as string[]) ?? []).includes(path));
      if (vs) throw new SimError(400, errors.ruleInUse(path, vs.fullPath));
    } else if (collection.startsWith('ltm/monitor/')) {
      if (
        this.all('ltm/pool').some((p) => monitorsOf(p).includes(path)) ||
        this.all('ltm/pool/members').some((m) => monitorsOf(m).includes(path))
      )
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
  }

  notFound(collection: Collection, key: string): McpdError {
    if (collection === 'ltm/pool/members') return errors.memberNotFound(key.split('|')[1] ?? key);
    return errors.notFound(noun(collection), key);
  }
}
