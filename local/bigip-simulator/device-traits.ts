/**
 * What differs between BIG-IP versions and between devices, as the simulator models it. Each
 * trait names the fact in docs/reference/device-facts.md it comes from.
 */
export interface DeviceTraits {
  /** TMOS version, e.g. `12.1.2`, `13.1.0.4`, `14.1.2.1`, `15.1.0`, `17.1.2.1`. */
  version: string;
  /**
   * How a GET of an object in a missing partition answers (§3.2: no public source says which):
   * `400` "The requested folder (/P) was not found." or `404` "01020036:3: … was not found.".
   */
  missingPartitionGet: 400 | 404;
}

/** What the version traits need of a unit. */
export type Versioned = Pick<DeviceTraits, 'version'>;

export const DEFAULT_TRAITS: DeviceTraits = { version: '17.1.2.1', missingPartitionGet: 400 };

/** [major, minor] of a TMOS version string. */
export function versionOf(traits: Versioned): [number, number] {
  const [major = 0, minor = 0] = traits.version.split('.').map(Number);
  return [major, minor];
}

/** True from the given version on. */
export function atLeast(traits: Versioned, major: number, minor = 0): boolean {
  const [a, b] = versionOf(traits);
  return a > major || (a === major && b >= minor);
}

/** §7.12: `sys/ready` exists from 13.1 (F5's own client skips it below). */
export function hasSysReady(traits: Versioned): boolean {
  return atLeast(traits, 13, 1);
}

/** §7.4: a policy redirect action's `code` is a 14.0 field; before, mcpd reads it back as 0. */
export function keepsRedirectCode(traits: Versioned): boolean {
  return atLeast(traits, 14);
}

/**
 * §7.10: a single object's stats are keyed `…/~P~vs/~P~vs/stats` before 14.0 and `…/~P~vs/stats`
 * from 14.0 (members the same way).
 */
export function nestsSingleStats(traits: Versioned): boolean {
  return !atLeast(traits, 14);
}
