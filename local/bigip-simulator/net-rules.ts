import { isIP } from 'node:net';
import { errors } from './error-bodies.js';
import type { ConfigStore } from './ltm-model.js';
import { type Collection, routeDomainOf, SimError, type StoredObject } from './ltm-types.js';

/**
 * Route domains, VLANs, self IPs and SNAT pools as the device keeps them (device-facts.md
 * §2.4–§2.7): an address is unique per route domain, `%<id>` on any address needs route domain
 * <id>, route domain 0 is always there, and what is in use cannot be deleted. Where no public source
 * quotes the device's refusal, the message says "simulator" and "inferred".
 */

/** The route domain with this id, if the device has it (0 always). */
export function routeDomainWithId(store: ConfigStore, id: number): StoredObject | undefined {
  return store.all('net/route-domain').find((r) => Number(r.attrs.id) === id);
}

/** §2.5: an address written `ip%<id>` needs route domain <id>. */
export function requireRouteDomain(store: ConfigStore, address: string, owner: string): void {
  const id = routeDomainOf(address);
  if (id !== 0 && !routeDomainWithId(store, id))
    throw new SimError(
      400,
      errors.invalidValue(
        `simulator: route domain ${id} of address ${address} (${owner}) does not exist (inferred; the device's wording is not quoted)`,
      ),
    );
}

const bareAddress = (address: string) => address.split('%')[0]?.split('/')[0] as string;

export function applyNetAttributes(
  store: ConfigStore,
  collection: Collection,
  object: StoredObject,
  attrs: Record<string, unknown>,
  creating: boolean,
): boolean {
  const a = object.attrs;
  if (collection === 'net/route-domain') {
    if (!creating && 'id' in attrs && Number(attrs.id) !== Number(a.id))
      throw new SimError(
        400,
        errors.invalidValue('simulator: a route domain id cannot be changed (inferred)'),
      );
    Object.assign(a, attrs);
    const id = Number(a.id);
    if (!Number.isInteger(id) || id < 0 || id > 65534)
      throw new SimError(400, errors.invalidValue(`Invalid route domain id ${String(a.id)} (0-65534)`));
    a.id = id;
    if (creating) {
      a.strict ??= 'enabled';
      a.parent ??= 'none';
      const other = routeDomainWithId(store, id);
      if (other)
        throw new SimError(
          409,
          errors.invalidValue(
            `simulator: route domain id ${id} is already route domain ${other.fullPath} (inferred; F5's agent met "route domain id already exists", peer pain point)`,
          ),
        );
    }
    a.vlans = ((a.vlans as string[] | undefined) ?? []).map((v) => (v.startsWith('/') ? v : `/Common/${v}`));
    for (const v of a.vlans as string[]) {
      if (!store.get('net/vlan', v))
        throw new SimError(400, errors.foreignKey(v, 'vlans', object.fullPath, 'vlan_FK'));
      const holder = store
        .all('net/route-domain')
        .find((r) => r.fullPath !== object.fullPath && ((r.attrs.vlans as string[]) ?? []).includes(v));
      if (holder)
        throw new SimError(
          400,
          errors.invalidValue(
            `simulator: VLAN ${v} is already in route domain ${holder.fullPath} (inferred)`,
          ),
        );
    }
    return true;
  }
  if (collection === 'net/vlan') {
    Object.assign(a, attrs);
    if (
      a.tag !== undefined &&
      (!Number.isInteger(Number(a.tag)) || Number(a.tag) < 1 || Number(a.tag) > 4094)
    )
      throw new SimError(400, errors.invalidValue(`Invalid VLAN tag ${String(a.tag)} (1-4094)`));
    if (a.tag !== undefined) a.tag = Number(a.tag);
    return true;
  }
  if (collection === 'net/self') {
    Object.assign(a, attrs);
    if (creating) a.trafficGroup ??= '/Common/traffic-group-local-only';
    const address = String(a.address ?? '');
    const prefix = /\/(\d{1,3})$/.exec(address);
    if (!isIP(bareAddress(address)) || !prefix)
      throw new SimError(400, errors.invalidValue(`Invalid self IP address ${address} (ip[%rd]/prefix)`));
    const vlan = String(a.vlan ?? '');
    const fullVlan = vlan.startsWith('/') ? vlan : `/Common/${vlan}`;
    a.vlan = fullVlan;
    if (!store.get('net/vlan', fullVlan))
      throw new SimError(400, errors.foreignKey(fullVlan, 'vlan', object.fullPath, 'vlan_FK'));
    const rd = routeDomainOf(address.split('/')[0] as string);
    requireRouteDomain(store, address.split('/')[0] as string, object.fullPath);
    // §2.6 (F5's agent PR #2043): a self IP's VLAN must be one of its route domain's.
    if (rd !== 0 && !((routeDomainWithId(store, rd)?.attrs.vlans as string[]) ?? []).includes(fullVlan))
      throw new SimError(
        400,
        errors.invalidValue(
          `simulator: vlan ${fullVlan} is not in route domain ${rd} of self IP ${object.fullPath} (the agent's "vlan not in route domain"; wording inferred)`,
        ),
      );
    // §2.4: unique per route domain (an inference for self IPs: their address is the device's own).
    const key = address.split('/')[0];
    const other = store
      .all('net/self')
      .find((s) => s.fullPath !== object.fullPath && String(s.attrs.address).split('/')[0] === key);
    if (other)
      throw new SimError(
        400,
        errors.invalidValue(
          `simulator: self IP address ${key} is already self IP ${other.fullPath} (unique per route domain; wording inferred)`,
        ),
      );
    return true;
  }
  if (collection === 'ltm/snatpool') {
    Object.assign(a, attrs);
    const members = (a.members as string[] | undefined) ?? [];
    if (members.length === 0)
      throw new SimError(400, errors.invalidValue(`simulator: SNAT pool ${object.fullPath} needs members`));
    a.members = members.map((m) => (m.startsWith('/') ? m : `/${object.partition}/${m}`));
    for (const m of a.members as string[]) {
      const address = m.split('/').pop() as string;
      if (!isIP(bareAddress(address)))
        throw new SimError(400, errors.invalidValue(`Invalid SNAT pool member ${m}`));
      requireRouteDomain(store, address, object.fullPath);
    }
    return true;
  }
  return false;
}

/** What still uses a route domain, VLAN or SNAT pool, if anything (delete refused, §2.5, §2.7). */
export function refuseNetDelete(store: ConfigStore, collection: Collection, object: StoredObject): void {
  if (collection === 'net/route-domain') {
    const id = Number(object.attrs.id);
    if (id === 0)
      throw new SimError(400, errors.invalidValue('simulator: the default route domain 0 cannot be deleted'));
    const inRd = (address: unknown) => routeDomainOf(String(address ?? '').split('/')[0] as string) === id;
    const user =
      store.all('net/self').find((s) => inRd(s.attrs.address)) ??
      store.all('ltm/virtual-address').find((v) => inRd(v.attrs.address)) ??
      store.all('ltm/node').find((n) => inRd(n.attrs.address)) ??
      store
        .all('ltm/snatpool')
        .find((p) => ((p.attrs.members as string[]) ?? []).some((m) => inRd(m.split('/').pop())));
    if (user)
      throw new SimError(
        400,
        errors.invalidValue(
          `simulator: route domain ${object.fullPath} (${id}) is in use by ${user.fullPath} (the device refuses it; wording inferred)`,
        ),
      );
  } else if (collection === 'net/vlan') {
    const self = store.all('net/self').find((s) => s.attrs.vlan === object.fullPath);
    const rd = store
      .all('net/route-domain')
      .find((r) => ((r.attrs.vlans as string[]) ?? []).includes(object.fullPath));
    const user = self ?? rd;
    if (user)
      throw new SimError(
        400,
        errors.invalidValue(
          `simulator: VLAN ${object.fullPath} is in use by ${user.fullPath} (wording inferred)`,
        ),
      );
  } else if (collection === 'ltm/snatpool') {
    const vs = store.all('ltm/virtual').find((v) => snatPoolOf(v) === object.fullPath);
    if (vs) throw new SimError(400, errors.snatpoolInUse(object.name));
  }
}

/** The SNAT pool a virtual server translates to, if any. */
export function snatPoolOf(vs: StoredObject): string | undefined {
  const sat = vs.attrs.sourceAddressTranslation as { type?: string; pool?: string } | undefined;
  return sat?.type === 'snat' && sat.pool ? sat.pool : undefined;
}

/**
 * Config-sync carries route domains, VLANs and floating self IPs, never a unit's own
 * (`traffic-group-local-only`) self IPs (§2.6): each unit keeps its own.
 */
export function isLocalOnly(collection: Collection, object: StoredObject): boolean {
  return collection === 'net/self' && object.attrs.trafficGroup === '/Common/traffic-group-local-only';
}
