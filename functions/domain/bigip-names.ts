import { UnsafeBigIpNameError } from './errors.js';
import { isV6 } from './ip-address.js';

/**
 * BIG-IP naming, the upstream agent's (so existing device configuration can be taken over), and
 * the only way names reach URLs. A name is checked before any call is made: letters, digits and
 * `_ . : % -` only (`~` and `/` would change the path), at most 64 characters.
 */
const SAFE_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.:%-]{0,63}$/;

export function assertSafeName(name: string, what = 'name'): string {
  if (typeof name !== 'string' || !SAFE_NAME_RE.test(name) || name.includes('..')) {
    throw new UnsafeBigIpNameError(
      `${what} ${JSON.stringify(String(name).slice(0, 80))} cannot be a BIG-IP name`,
      {
        name: String(name).slice(0, 200),
      },
    );
  }
  return name;
}

export function partitionName(env: string, tenantId: string): string {
  return assertSafeName(`${env}_${tenantId.replaceAll('/', '')}`, 'partition');
}

export function virtualAddressName(env: string, loadbalancerId: string): string {
  return assertSafeName(`${env}_${loadbalancerId}`, 'virtual address');
}

export function virtualServerName(env: string, listenerId: string): string {
  return assertSafeName(`${env}_${listenerId}`, 'virtual server');
}

export function poolName(env: string, poolId: string): string {
  return assertSafeName(`${env}_${poolId}`, 'pool');
}

export function monitorName(env: string, healthmonitorId: string): string {
  return assertSafeName(`${env}_${healthmonitorId}`, 'monitor');
}

/**
 * A member's own monitor, aimed at its alternate monitor address or port (SAP's provider does the
 * same: peer-features.md §1.6). Ids never collide, so the health monitors' pattern serves.
 */
export function memberMonitorName(env: string, memberId: string): string {
  return assertSafeName(`${env}_${memberId}`, 'member monitor');
}

/** The iRule that opens a PROXY pool's server connections with a PROXY protocol header, owned by the pool. */
export function proxyRuleName(env: string, poolId: string): string {
  return assertSafeName(`${env}_${poolId}_proxy`, 'iRule');
}

/** A listener's LTM policy, holding its L7 policies as rules (the upstream agent's name). */
export function ltmPolicyName(listenerId: string): string {
  return assertSafeName(`wrapper_policy_${listenerId}`, 'LTM policy');
}

/** Cookie-hash persistence profile for a pool's APP_COOKIE session persistence. */
export function appCookieProfileName(env: string, poolId: string): string {
  return assertSafeName(`${env}_${poolId}_cookie`, 'persistence profile');
}

/** `<ip>:<port>`, or `<ip>.<port>` for IPv6 (a colon would be ambiguous). */
export function memberName(address: string, port: number): string {
  return assertSafeName(isV6(address) ? `${address}.${port}` : `${address}:${port}`, 'member');
}

/** The address a member name was built from (`memberName` inverted): what its node is named. */
export function memberAddress(name: string): string {
  const separator = name.includes('::') || (name.match(/:/g) ?? []).length > 1 ? '.' : ':';
  const at = name.lastIndexOf(separator);
  return at > 0 ? name.slice(0, at) : name;
}

export function nodeName(address: string): string {
  return assertSafeName(address, 'node');
}

export function fullPath(partition: string, name: string): string {
  return `/${partition}/${name}`;
}

/**
 * The URL id of an object: its full path with `/` → `~`, and `%` (route-domain suffix) as `%25`.
 * Both parts are checked first, so nothing unescaped or path-changing can reach a device URL.
 */
export function urlId(partition: string, name: string): string {
  assertSafeName(partition, 'partition');
  assertSafeName(name);
  return `~${partition}~${name}`.replaceAll('%', '%25');
}

/** The destination of a virtual server: `/P/10.0.0.10:80`, IPv6 `/P/2001:db8::1.80`. */
export function destination(partition: string, address: string, port: number): string {
  return `/${partition}/${isV6(address) ? `${address}.${port}` : `${address}:${port}`}`;
}

/** The key of a partition's writer lease on one device cluster (agents and the reconciler share it). */
export function partitionLeaseKey(env: string, cluster: string, partition: string): string {
  return `${env}#${cluster}#${partition}`;
}
