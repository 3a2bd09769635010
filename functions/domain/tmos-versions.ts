import type { BigIpObject } from './bigip-objects.js';

/**
 * What the agent sends and asks for depends on the device's TMOS version. Each trait names the fact
 * of device-facts.md §7 it follows. A version is `major.minor[.…]`
 * (`12.1.2`, `14.1.2.1`); an unreadable one counts as the newest (no trait withheld).
 */

/** True when `version` is `major.minor` or later (an unknown version counts as the newest). */
export function versionAtLeast(version: string | undefined, major: number, minor = 0): boolean {
  const m = /^(\d+)\.(\d+)/.exec(version ?? '');
  if (!m) return true;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}

/** §7.12: `sys/ready` exists from 13.1; below it F5's own client skips it. */
export function hasSysReady(version: string | undefined): boolean {
  return versionAtLeast(version, 13, 1);
}

/**
 * §7.4: an LTM policy action's `code` (the redirect status) is a 14.0 field: before 14.0 mcpd reads
 * it back as 0 and tmsh refuses it, so it is sent only from 14.0 (such a device redirects with its
 * own default).
 */
export function sendsRedirectCode(version: string | undefined): boolean {
  return versionAtLeast(version, 14);
}

/**
 * An object as this version of the device takes it: the attributes a version does not know left
 * out, so the plan neither sends them nor expects them back. Other objects are returned as they are.
 */
export function forVersion(object: BigIpObject, version: string | undefined): BigIpObject {
  if (object.kind !== 'ltm-policy' || sendsRedirectCode(version)) return object;
  const rules = (object.attrs.rules as { actions: Record<string, unknown>[] }[] | undefined) ?? [];
  if (!rules.some((r) => r.actions.some((a) => 'code' in a))) return object;
  return {
    ...object,
    attrs: {
      ...object.attrs,
      rules: rules.map((r) => ({
        ...r,
        actions: r.actions.map(({ code: _code, ...action }) => action),
      })),
    },
  };
}
