import { isIP } from 'node:net';
import { keyTypeOf } from './crypto-files.js';
import { atLeast } from './device-traits.js';
import { errors } from './error-bodies.js';
import { literalPools } from './irule-tcl.js';
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
import { applyNetAttributes, requireRouteDomain, snatPoolOf } from './net-rules.js';

/**
 * What the device does with the attributes of a create or modify: fills its defaults, checks
 * references and values, and creates the objects it makes on its own (a virtual server's
 * virtual address, a member's node). `creating` fills defaults. Section numbers refer to
 * docs/reference/device-facts.md.
 */
export function applyAttributes(
  store: ConfigStore,
  collection: Collection,
  object: StoredObject,
  attrs: Record<string, unknown>,
  creating: boolean,
): void {
  const a = object.attrs;
  if (applyNetAttributes(store, collection, object, attrs, creating)) return;
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
    a.policies = normaliseRefs(a.policies ?? []);
    a.rules = ((a.rules as unknown[] | undefined) ?? []).map((r) => {
      const name = String(typeof r === 'string' ? r : (r as { name?: string }).name);
      return name.startsWith('/') ? name : `/Common/${name}`;
    });
    addImplicitTcpProfile(store, a);
    a.destination = resolveDestination(store, String(a.destination ?? ''));
    const snatPool = snatPoolOf(object);
    if (snatPool && !store.get('ltm/snatpool', snatPool))
      throw new SimError(400, errors.foreignKey(snatPool, 'snatpool', object.fullPath, 'snatpool_FK'));
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
    // A member's own monitor replaces its pool's; `default` (or nothing) is the pool's (device-facts.md §1.6).
    if (a.monitor === '' || a.monitor === 'default' || a.monitor === '/Common/default') delete a.monitor;
    for (const m of monitorsOf(object)) {
      const exists = MONITOR_TYPES.some((t) => store.get(`ltm/monitor/${t}`, m));
      if (!exists) throw new SimError(400, errors.notFound('monitor', m));
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
    if (creating) requireRouteDomain(store, String(a.address), object.fullPath);
    if (creating) refuseSharedVirtualAddress(store, object);
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
    refuseRawControlCharacters(a.send);
    if (collection === 'ltm/monitor/external') refuseMissingProgram(store, a);
    a.destination = monitorDestination(String(a.destination ?? '*:*'));
    // §1.3: from 13.0 the device keeps the interval below the timeout (a 30/10 monitor reads back 9/10).
    if (atLeast(store.traits, 13) && Number(a.timeout) > 0 && Number(a.interval) >= Number(a.timeout)) {
      a.interval = Math.max(1, Number(a.timeout) - 1);
    }
  } else if (collection === 'ltm/rule') {
    Object.assign(a, attrs);
    if (typeof a.apiAnonymous !== 'string' || !a.apiAnonymous.trim())
      throw new SimError(400, errors.invalidValue('simulator: an iRule needs its Tcl in apiAnonymous'));
    // §7.14: an iRule is checked when it is saved: it must parse, and a pool it names literally must
    // exist (the data plane runs it: irule-tcl.ts). No source quotes the device's wording of either.
    let pools: string[];
    try {
      pools = literalPools(a.apiAnonymous);
    } catch (error) {
      throw new SimError(
        400,
        errors.invalidValue(
          `simulator: iRule ${object.fullPath} does not parse: ${(error as Error).message}`,
        ),
      );
    }
    for (const pool of pools)
      if (!store.get('ltm/pool', pool.startsWith('/') ? pool : `/${object.partition}/${pool}`))
        throw new SimError(
          400,
          errors.invalidValue(`simulator: iRule ${object.fullPath} names pool ${pool}, which does not exist`),
        );
  } else if (collection === 'ltm/profile/client-ssl') {
    Object.assign(a, attrs);
    if (creating) a.defaultsFrom ??= '/Common/clientssl';
    // §7.5: a device reads these back as strings ("true", "none"); it takes either form.
    if ('sniDefault' in attrs) a.sniDefault = attrs.sniDefault === true || attrs.sniDefault === 'true';
    if (a.serverName === 'none' || a.serverName === '') delete a.serverName;
    if (!store.get('ltm/profile/client-ssl', String(a.defaultsFrom)))
      throw new SimError(400, errors.notFound('Profile', String(a.defaultsFrom)));
    // A profile's certificate, key and chain must be installed: the 01070712 foreign-key wording is
    // the device's for references (bigip-rest.md A.3); its exact text for a profile's certKeyChain is not quoted anywhere.
    const chains = (a.certKeyChain as Record<string, string>[] | undefined) ?? [];
    for (const c of chains) {
      for (const [field, collectionOf] of [
        ['cert', 'sys/file/ssl-cert'],
        ['key', 'sys/file/ssl-key'],
        ['chain', 'sys/file/ssl-cert'],
      ] as const) {
        const ref = c[field];
        if (ref !== undefined && !store.get(collectionOf, ref))
          throw new SimError(
            400,
            errors.foreignKey(ref, `client-ssl profile ${field}`, object.fullPath, `${field}_FK`),
          );
      }
    }
    // The CA file a client-ssl profile checks client certificates against is an installed certificate
    // (the attribute's name: device-facts.md §7.17; the refusal's wording is the generic foreign key's).
    if (a.caFile !== undefined && a.caFile !== 'none' && !store.get('sys/file/ssl-cert', String(a.caFile)))
      throw new SimError(
        400,
        errors.foreignKey(String(a.caFile), 'client-ssl profile caFile', object.fullPath, 'caFile_FK'),
      );
    sslOptions(object.fullPath, a);
    // One key pair per key type (an RSA and an ECDSA one for one host): inferred from how a profile
    // serves several certificates; the device's refusal of two of one type is not quoted anywhere.
    const types = chains.map((c) => {
      const key = store.get('sys/file/ssl-key', String(c.key));
      return keyTypeOf('sys/file/ssl-key', String(key?.attrs.content ?? ''), key?.attrs.passphrase);
    });
    if (new Set(types).size !== types.length)
      throw new SimError(
        400,
        errors.invalidValue(
          `simulator: client-ssl profile ${object.fullPath} has two key pairs of one key type (${types.join(', ')}); inferred, the device's wording is not quoted`,
        ),
      );
  } else if (collection === 'ltm/profile/server-ssl') {
    // §7.17: a server-ssl profile's attributes (cert, key, chain, caFile, peerCertMode, tmOptions,
    // ciphers), stored as sent; what it names must be installed (the generic foreign-key wording).
    Object.assign(a, attrs);
    if (creating) a.defaultsFrom ??= '/Common/serverssl';
    if (!store.get('ltm/profile/server-ssl', String(a.defaultsFrom)))
      throw new SimError(400, errors.notFound('Profile', String(a.defaultsFrom)));
    for (const [field, collectionOf] of [
      ['cert', 'sys/file/ssl-cert'],
      ['key', 'sys/file/ssl-key'],
      ['chain', 'sys/file/ssl-cert'],
      ['caFile', 'sys/file/ssl-cert'],
    ] as const) {
      const ref = a[field];
      if (ref !== undefined && ref !== 'none' && !store.get(collectionOf, String(ref)))
        throw new SimError(
          400,
          errors.foreignKey(String(ref), `server-ssl profile ${field}`, object.fullPath, `${field}_FK`),
        );
    }
    sslOptions(object.fullPath, a);
  } else if (collection === 'ltm/profile/tcp') {
    Object.assign(a, attrs);
    if (creating) a.defaultsFrom ??= '/Common/tcp';
    const parent = store.get('ltm/profile/tcp', String(a.defaultsFrom));
    if (!parent) throw new SimError(400, errors.notFound('Profile', String(a.defaultsFrom)));
    // §7.16: seconds, 0 (or "indefinite") never reaps; unset, the parent's value is inherited.
    if (a.idleTimeout === 'indefinite') a.idleTimeout = 0;
    if (creating && a.idleTimeout === undefined && parent.attrs.idleTimeout !== undefined)
      a.idleTimeout = parent.attrs.idleTimeout;
    if (
      a.idleTimeout !== undefined &&
      !(Number.isInteger(Number(a.idleTimeout)) && Number(a.idleTimeout) >= 0)
    )
      throw new SimError(
        400,
        errors.invalidValue(`simulator: idleTimeout ${String(a.idleTimeout)} is not a number of seconds`),
      );
  } else if (collection === 'ltm/node') {
    Object.assign(a, attrs);
    if (creating) {
      a.address ??= object.name;
      requireRouteDomain(store, String(a.address), object.fullPath);
      // §7.13: a node's address is unique per route domain across partitions on a direct POST too.
      // No source quotes that refusal's own text: the recorded member wording of §2.1 is used.
      const other = store
        .all('ltm/node')
        .find((n) => n.fullPath !== object.fullPath && String(n.attrs.address) === String(a.address));
      if (other) throw new SimError(400, errors.nodeAddressShared(object.fullPath, other.fullPath));
    }
  } else {
    Object.assign(a, attrs);
  }
}

/**
 * §1.4: every F5 client sends the escaped `\r\n`; no public source says what a device does with raw
 * CR/LF bytes. The simulator refuses them, so a client that sends them is caught here rather than
 * on a real device.
 */
function refuseRawControlCharacters(send: unknown): void {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: detecting raw control characters is the point
  if (typeof send === 'string' && /[\u0000-\u001f]/.test(send)) {
    throw new SimError(
      400,
      errors.invalidValue(
        'simulator: raw control characters in a monitor send string (no public source says how a device stores them; send the escaped form \\r\\n)',
      ),
    );
  }
}

/** §1.2: a standard (non-fastL4) TCP virtual without a TCP-type profile gets `/Common/tcp`. */
function addImplicitTcpProfile(store: ConfigStore, a: Record<string, unknown>): void {
  if (a.ipProtocol !== 'tcp') return;
  const profiles = a.profiles as { name: string }[];
  const typed = (type: string) =>
    profiles.some((p) => store.get(`ltm/profile/${type}` as Collection, p.name));
  if (typed('fastl4') || typed('tcp')) return;
  profiles.push({ name: '/Common/tcp' });
}

/**
 * §1.1: a destination may name a virtual address (`/P/va:80`); it is stored by address and read
 * back through the name of the virtual address that holds it.
 */
function resolveDestination(store: ConfigStore, dest: string): string {
  const parsed = parseDestination(dest);
  if (!parsed || isIP(parsed.address.split('%')[0] as string)) return dest;
  const va = store.get('ltm/virtual-address', `/${parsed.partition}/${parsed.address}`);
  if (!va) throw new SimError(400, errors.invalidValue(`Invalid destination ${dest}`));
  const address = String(va.attrs.address);
  return `/${parsed.partition}/${isIP(address.split('%')[0] as string) === 6 ? `${address}.${parsed.port}` : `${address}:${parsed.port}`}`;
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
    // A UDP virtual takes a UDP profile and no TCP-side one, and a TCP virtual no UDP profile
    // (the simulator's refusal: no public source quotes the device's words).
    const udpProfile = !!store.get('ltm/profile/udp', p.name);
    const tcpSide = ['tcp', 'fastl4', 'http', 'one-connect', 'client-ssl', 'server-ssl'].some((t) =>
      store.get(`ltm/profile/${t}` as Collection, p.name),
    );
    if ((a.ipProtocol === 'udp' && tcpSide) || (a.ipProtocol === 'tcp' && udpProfile))
      throw new SimError(
        400,
        errors.invalidValue(
          `simulator: profile ${p.name} does not fit ipProtocol ${String(a.ipProtocol)} of virtual server ${vs.fullPath}`,
        ),
      );
  }
  for (const p of a.persist as { name: string }[]) {
    if (!PERSISTENCE_TYPES.some((t) => store.get(`ltm/persistence/${t}`, p.name))) {
      throw new SimError(400, errors.foreignKey(p.name, 'virtual server persist', vs.fullPath, 'persist_FK'));
    }
  }
  // iRules a virtual runs must exist (the foreign-key wording of bigip-rest.md A.3; the rule's own is not quoted).
  for (const rule of a.rules as string[])
    if (!store.get('ltm/rule', rule))
      throw new SimError(400, errors.foreignKey(rule, 'virtual server rule', vs.fullPath, 'rule_FK'));
  refuseSniClashes(store, vs);
  // bigip-rest.md A.3: the exact refusal of a policy that does not exist. A draft is not one: only
  // published policies can be applied to a virtual server (tmsh reference, §3.4).
  for (const p of a.policies as { name: string }[]) {
    const policy = store.get('ltm/policy', p.name);
    if (!policy || policy.attrs.status === 'draft')
      throw new SimError(400, errors.foreignKey(p.name, 'virtual server policy', vs.fullPath, 'vs_FK'));
    const requiresHttp = ((policy.attrs.requires as string[]) ?? []).includes('http');
    const hasHttp = (a.profiles as { name: string }[]).some((x) => store.get('ltm/profile/http', x.name));
    if (requiresHttp && !hasHttp)
      throw new SimError(
        400,
        errors.invalidValue(
          `simulator: policy ${p.name} requires an http profile on virtual server ${vs.fullPath} (no public source quotes the device's refusal)`,
        ),
      );
  }
  const dest = parseDestination(String(a.destination ?? ''));
  if (!dest) throw new SimError(400, errors.invalidValue(`Invalid destination ${String(a.destination)}`));
  // §2.2: address, port and protocol are unique per route domain, whatever the partition.
  const clash = store.all('ltm/virtual').find((v) => {
    if (v.fullPath === vs.fullPath || v.attrs.ipProtocol !== a.ipProtocol) return false;
    const other = parseDestination(String(v.attrs.destination ?? ''));
    return other?.address === dest.address && other.port === dest.port;
  });
  if (clash) throw new SimError(409, errors.destinationConflict(vs.fullPath, clash.fullPath));
}

/**
 * Several client-ssl profiles on one virtual choose by SNI. §7.6 (k8s-bigip-ctlr#332, #1042, 14.1.1):
 * two marked SNI default answer `01071809`, two with the same `serverName` answer `0107149e`. That
 * one of several must be the default is inferred (F5's agent always marks one; the device's
 * refusal of none is not quoted), and so is comparing server names without case (host names).
 */
function refuseSniClashes(store: ConfigStore, vs: StoredObject): void {
  const clientSsl = ((vs.attrs.profiles as { name: string }[]) ?? [])
    .map((p) => store.get('ltm/profile/client-ssl', p.name))
    .filter((p): p is StoredObject => p !== undefined);
  if (clientSsl.length < 2) return;
  const defaults = clientSsl.filter((p) => p.attrs.sniDefault === true).length;
  if (defaults > 1) throw new SimError(400, errors.sniDefaultTwice(vs.fullPath));
  const names = clientSsl
    .map((p) => p.attrs.serverName)
    .filter((n): n is string => typeof n === 'string')
    .map((n) => n.toLowerCase());
  if (new Set(names).size !== names.length) throw new SimError(400, errors.sniServerNameTwice(vs.fullPath));
  if (defaults === 0)
    throw new SimError(
      400,
      errors.invalidValue(
        `simulator: virtual server ${vs.fullPath} has ${clientSsl.length} client-ssl profiles and none is sniDefault (inferred; the device's wording is not quoted)`,
      ),
    );
}

/** §2.2: a virtual address IP is unique per route domain across partitions. */
function refuseSharedVirtualAddress(store: ConfigStore, va: StoredObject): void {
  const address = String(va.attrs.address);
  const other = store
    .all('ltm/virtual-address')
    .find((x) => x.fullPath !== va.fullPath && String(x.attrs.address) === address);
  if (other) throw new SimError(400, errors.virtualAddressExists(address.split('%')[0] as string));
}

function ensureVirtualAddress(store: ConfigStore, vs: StoredObject): void {
  const parsed = parseDestination(String(vs.attrs.destination));
  if (!parsed) return;
  const exists = store
    .all('ltm/virtual-address')
    .some((va) => va.partition === parsed.partition && va.attrs.address === parsed.address);
  if (exists) return;
  const va = store.make(parsed.address, parsed.partition, {
    address: parsed.address,
    enabled: 'yes',
    autoDelete: 'true',
    trafficGroup: '/Common/traffic-group-1',
  });
  requireRouteDomain(store, parsed.address, vs.fullPath);
  refuseSharedVirtualAddress(store, va);
  store.insert('ltm/virtual-address', va.fullPath, va);
}

/**
 * A member's node is created in the member's partition. §2.1: a node IP is unique per route domain
 * across partitions, so a member whose node address exists as a node of another partition fails.
 */
function ensureNode(store: ConfigStore, partition: string, address: string): void {
  const path = `/${partition}/${address}`;
  if (store.get('ltm/node', path)) return;
  requireRouteDomain(store, address, path);
  // Addresses carry their route domain (`%2`), so equal addresses share one.
  const other = store.all('ltm/node').find((n) => String(n.attrs.address) === address);
  if (other) throw new SimError(400, errors.nodeAddressShared(path, other.fullPath));
  store.insert(
    'ltm/node',
    path,
    store.make(address, partition, { address, session: 'user-enabled', state: 'unchecked' }),
  );
}

/** `partition|address` of a virtual server's destination, for virtual-address bookkeeping. */
export function destinationAddress(vs: StoredObject): string {
  const parsed = parseDestination(String(vs.attrs.destination ?? ''));
  return parsed ? `${parsed.partition}|${parsed.address}` : '';
}

/**
 * A monitor's alias destination: `*:*` (the member itself), `ip:port`, `ip:*`, `*:port`; IPv6 with a
 * dot before the port. Anything else is refused, as a device refuses a malformed address.
 */
function monitorDestination(value: string): string {
  const m = /^(\*|[0-9.]+|[0-9a-fA-F:]+)[:.](\*|\d{1,5})$/.exec(value.trim());
  const host = m?.[1];
  const port = m?.[2];
  if (!host || !port || (host !== '*' && !isIP(host)) || (port !== '*' && Number(port) > 65535))
    throw new SimError(400, errors.invalidValue(`Invalid monitor destination ${value}`));
  return value.trim();
}

/** tmsh's names of the protocol versions an SSL profile's options turn off (device-facts.md §7.17). */
const VERSION_OPTIONS = new Set(['no-sslv3', 'no-tlsv1', 'no-tlsv1.1', 'no-tlsv1.2', 'no-tlsv1.3']);

/**
 * What the simulator checks of an SSL profile's client-certificate mode and options: the values the
 * device facts name (§7.17). A device takes many more options (`dont-insert-empty-fragments`, …);
 * no fact says which it refuses, so only these are taken here, and an unknown one is refused as a
 * simulator's own check (a message of its own, not the device's wording).
 */
function sslOptions(path: string, a: Record<string, unknown>): void {
  if (a.peerCertMode !== undefined && !['ignore', 'request', 'require'].includes(String(a.peerCertMode)))
    throw new SimError(
      400,
      errors.invalidValue(
        `simulator: ${path} peerCertMode ${String(a.peerCertMode)} is not ignore, request or require`,
      ),
    );
  const options = a.tmOptions;
  if (options === undefined) return;
  if (!Array.isArray(options) || options.some((o) => !VERSION_OPTIONS.has(String(o))))
    throw new SimError(
      400,
      errors.invalidValue(
        `simulator: ${path} tmOptions ${JSON.stringify(options)} holds an option it does not model`,
      ),
    );
}

/**
 * §8.5: an external monitor runs a program imported as a `sys file external-monitor` (F5's Ansible
 * module names it by full path in `run`); one naming no such file is refused. The wording is the
 * simulator's: no public source quotes the device's.
 */
function refuseMissingProgram(store: ConfigStore, a: Record<string, unknown>): void {
  const run = String(a.run ?? '').trim();
  if (!run || run === 'none') return;
  const path = run.startsWith('/') ? run : `/Common/${run}`;
  if (!store.get('sys/file/external-monitor', path))
    throw new SimError(
      400,
      errors.invalidValue(
        `simulator: external monitor program ${path} does not exist (no public source quotes this refusal)`,
      ),
    );
  a.run = path;
}
