import { assertSafeName } from './bigip-names.js';
import type { BigIpObject } from './bigip-objects.js';
import type { PoolSpec } from './lbaas-request.js';

/*
 * A UDP pool's tuned SOURCE_IP persistence (Octavia's persistence_timeout and
 * persistence_granularity): a source-address persistence profile the pool owns, child of the
 * built-in `/Common/source_addr` (bigip-rest.md A.3), with the timeout in seconds and the mask
 * under which clients count as one. Created before the virtual server that names it, removed after
 * (it goes with its pool); a pool without the two values keeps `/Common/source_addr`.
 */

/** The pool's own source-address persistence profile. */
export function sourceAddrProfileName(env: string, poolId: string): string {
  return assertSafeName(`${env}_${poolId}_source_addr`, 'persistence profile');
}

const V4_MASK = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Whether a value is a netmask: an IPv4 dotted mask or an IPv6 one, its one-bits contiguous. */
export function isNetmask(value: string): boolean {
  let bits = '';
  const v4 = V4_MASK.exec(value);
  if (v4) {
    const octets = v4.slice(1).map(Number);
    if (octets.some((o) => o > 255)) return false;
    bits = octets.map((o) => o.toString(2).padStart(8, '0')).join('');
  } else if (/^[0-9a-fA-F:]{2,39}$/.test(value) && (value.match(/::/g) ?? []).length <= 1) {
    const [head = '', tail] = value.split('::');
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const missing = 8 - h.length - t.length;
    if (tail === undefined ? h.length !== 8 : missing < 1) return false;
    const groups = [...h, ...Array(Math.max(0, missing)).fill('0'), ...t];
    if (groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return false;
    bits = groups.map((g) => Number.parseInt(g, 16).toString(2).padStart(16, '0')).join('');
  } else return false;
  return /^1*0*$/.test(bits);
}

/** Whether a pool's persistence is tuned, so it needs its own profile. */
export function tunedSourceAddr(spec: PoolSpec): boolean {
  const sp = spec.session_persistence;
  return sp?.type === 'SOURCE_IP' && (sp.persistence_timeout != null || sp.persistence_granularity != null);
}

/** The built-in profile's timeout, seconds (bigip-rest.md A.3): what a pool that tunes only the mask keeps. */
export const SOURCE_ADDR_DEFAULT_TIMEOUT_S = 180;

/**
 * The pool's profile as wanted. The timeout is always sent (the pool's, else the parent's 180), so
 * what a device reads back (a child profile reads its inherited timeout) is what was wanted; a mask
 * is sent only when the pool names one (a device reads an unset mask as `none`).
 */
export function sourceAddrProfile(
  env: string,
  partition: string,
  poolId: string,
  spec: PoolSpec,
): BigIpObject {
  const sp = spec.session_persistence;
  const attrs: Record<string, unknown> = {
    defaultsFrom: '/Common/source_addr',
    timeout: String(sp?.persistence_timeout ?? SOURCE_ADDR_DEFAULT_TIMEOUT_S),
  };
  if (sp?.persistence_granularity != null) attrs.mask = sp.persistence_granularity;
  return { kind: 'persistence-source-addr', partition, name: sourceAddrProfileName(env, poolId), attrs };
}
