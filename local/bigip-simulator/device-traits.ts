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

export const DEFAULT_TRAITS: DeviceTraits = { version: '17.1.2.1', missingPartitionGet: 400 };

/** [major, minor] of a TMOS version string. */
export function versionOf(traits: DeviceTraits): [number, number] {
  const [major = 0, minor = 0] = traits.version.split('.').map(Number);
  return [major, minor];
}

/** True from the given version on. */
export function atLeast(traits: DeviceTraits, major: number, minor = 0): boolean {
  const [a, b] = versionOf(traits);
  return a > major || (a === major && b >= minor);
}
