import { isIP } from 'node:net';
import { errors } from './error-bodies.js';
import type { ConfigStore } from './ltm-model.js';
import {
  type Collection,
  MONITOR_TYPES,
  monitorsOf,
  normaliseRefs,
  PERSISTENCE_TYPES,
  PROFILE_TYPES,
  parseDestination,
  SimError,
  type StoredObject,
  splitMember,
} from './ltm-types.js';

/**
 * What the device does with the attributes of a create or modify: fills its defaults, checks
 * references and values, and creates the objects it makes on its own (a virtual server's
 * virtual address, a member's node). `creating` fills defaults.
 */
export function applyAttributes(
  store: ConfigStore,
  collection: Collection,
  object: StoredObject,
  attrs: Record<string, unknown>,
  creating: boolean,
): void {
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
    validateVirtual(store, object);
    ensureVirtualAddress(store, object);
  } else if (collection === 'ltm/pool') {
    Object.assign(a, attrs);
    if (creating) a.loadBalancingMode ??= 'round-robin';
    if (a.monitor === '' || a.monitor === 'none') delete a.monitor;
    for (const m of monitorsOf(object)) {
      const exists = MONITOR_TYPES.some((t) => store.get(`ltm/monitor/${t}`, m));
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
    if (creating) ensureNode(store, object.partition, String(a.address));
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
      const type = collection.split('/')[2] as string;
      a.defaultsFrom ??= `/Common/${type === 'gateway-icmp' ? 'gateway_icmp' : type}`;
    }
  } else {
    Object.assign(a, attrs);
    if (creating && collection === 'ltm/node') a.address ??= object.name;
  }
}

function validateVirtual(store: ConfigStore, vs: StoredObject): void {
  const a = vs.attrs;
  const pool = a.pool as string | undefined;
  if (pool && !store.get('ltm/pool', pool)) {
    throw new SimError(400, errors.foreignKey(pool, 'virtual server pool', vs.fullPath, 'pool_FK'));
  }
  for (const p of a.profiles as { name: string }[]) {
    if (!PROFILE_TYPES.some((t) => store.get(`ltm/profile/${t}`, p.name))) {
      throw new SimError(400, errors.foreignKey(p.name, 'virtual server profile', vs.fullPath, 'profile_FK'));
    }
  }
  for (const p of a.persist as { name: string }[]) {
    if (!PERSISTENCE_TYPES.some((t) => store.get(`ltm/persistence/${t}`, p.name))) {
      throw new SimError(400, errors.foreignKey(p.name, 'virtual server persist', vs.fullPath, 'persist_FK'));
    }
  }
  const dest = String(a.destination ?? '');
  if (!parseDestination(dest)) throw new SimError(400, errors.invalidValue(`Invalid destination ${dest}`));
  const clash = store
    .all('ltm/virtual')
    .find(
      (v) =>
        v.fullPath !== vs.fullPath && v.attrs.destination === dest && v.attrs.ipProtocol === a.ipProtocol,
    );
  if (clash) throw new SimError(409, errors.destinationConflict(vs.fullPath, clash.fullPath));
}

function ensureVirtualAddress(store: ConfigStore, vs: StoredObject): void {
  const parsed = parseDestination(String(vs.attrs.destination));
  if (!parsed) return;
  const exists = store
    .all('ltm/virtual-address')
    .some((va) => va.partition === parsed.partition && va.attrs.address === parsed.address);
  if (!exists) {
    const va = store.make(parsed.address, parsed.partition, {
      address: parsed.address,
      enabled: 'yes',
      autoDelete: 'true',
      trafficGroup: '/Common/traffic-group-1',
    });
    store.insert('ltm/virtual-address', va.fullPath, va);
  }
}

function ensureNode(store: ConfigStore, partition: string, address: string): void {
  const path = `/${partition}/${address}`;
  if (!store.get('ltm/node', path)) {
    store.insert(
      'ltm/node',
      path,
      store.make(address, partition, { address, session: 'user-enabled', state: 'unchecked' }),
    );
  }
}

/** `partition|address` of a virtual server's destination, for virtual-address bookkeeping. */
export function destinationAddress(vs: StoredObject): string {
  const parsed = parseDestination(String(vs.attrs.destination ?? ''));
  return parsed ? `${parsed.partition}|${parsed.address}` : '';
}
