import { faults, OctaviaFault, PROVIDER } from './octavia-faults.js';

/**
 * Octavia's flavors and availability zones on BIG-IP device groups. Both are placement: a flavor
 * profile names a device group or a topology (a group of one BIG-IP, or an HA pair), an
 * availability zone profile names the device groups that serve the zone, and a new load balancer
 * is placed only in a group both allow. Nothing else is advertised: an option the devices would
 * not apply is Octavia's 501, as a provider answers for metadata it does not support.
 */

/** A device group as placement sees it: its name and how many BIG-IPs it has (when known). */
export interface GroupInfo {
  name: string;
  units?: number;
}

export type Topology = 'SINGLE' | 'ACTIVE_STANDBY';

export interface FlavorData {
  device_group?: string;
  loadbalancer_topology?: Topology;
}

export interface ZoneData {
  device_groups: string[];
}

/** `GET /providers/bigip/flavor_capabilities`. */
export function flavorCapabilities(groups: readonly GroupInfo[]): { name: string; description: string }[] {
  return [
    {
      name: 'device_group',
      description: `The device group (a BIG-IP or an HA pair) the load balancer is placed in. One of: ${groups.map((g) => g.name).join(', ')}.`,
    },
    {
      name: 'loadbalancer_topology',
      description:
        'The load balancer topology. One of: SINGLE - a device group of one BIG-IP. ACTIVE_STANDBY - a device group of two or more BIG-IPs in a failover cluster.',
    },
  ];
}

/** `GET /providers/bigip/availability_zone_capabilities`. */
export function zoneCapabilities(): { name: string; description: string }[] {
  return [
    {
      name: 'device_groups',
      description:
        'The device groups (each a BIG-IP or an HA pair) that serve the availability zone: a list of their names.',
    },
  ];
}

/** The JSON text of `flavor_data` or `availability_zone_data`, as Octavia checks it before the provider does. */
function parseData(text: unknown, field: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(text));
  } catch {
    throw new OctaviaFault(400, `${String(text)} is not a valid option for ${field}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new OctaviaFault(400, `${String(text)} is not a valid option for ${field}`);
  return parsed as Record<string, unknown>;
}

/** The provider's check of a flavor profile's data (Octavia's 501 for what it does not support, as a driver's schema says). */
export function validateFlavorData(text: unknown, groups: readonly GroupInfo[]): FlavorData {
  const data = parseData(text, 'flavor_data');
  const out: FlavorData = {};
  for (const [key, value] of Object.entries(data)) {
    if (key === 'device_group') {
      if (typeof value !== 'string' || !groups.some((g) => g.name === value))
        throw faults.unsupportedOption(
          `device_group ${JSON.stringify(value)} is not one of ${JSON.stringify(groups.map((g) => g.name))}`,
        );
      out.device_group = value;
    } else if (key === 'loadbalancer_topology') {
      if (value !== 'SINGLE' && value !== 'ACTIVE_STANDBY')
        throw faults.unsupportedOption(
          `loadbalancer_topology ${JSON.stringify(value)} is not one of ['SINGLE', 'ACTIVE_STANDBY']`,
        );
      out.loadbalancer_topology = value;
    } else {
      throw faults.unsupportedOption(
        `Additional properties are not allowed ('${key}' was unexpected): the flavor capabilities are device_group and loadbalancer_topology`,
      );
    }
  }
  return out;
}

/** The provider's check of an availability zone profile's data. */
export function validateZoneData(text: unknown, groups: readonly GroupInfo[]): ZoneData {
  const data = parseData(text, 'availability_zone_data');
  for (const key of Object.keys(data))
    if (key !== 'device_groups')
      throw faults.unsupportedOption(
        `Additional properties are not allowed ('${key}' was unexpected): the availability zone capability is device_groups (BIG-IPs have no compute zones or amphora networks)`,
      );
  const list = data.device_groups;
  if (!Array.isArray(list) || list.length === 0 || list.some((g) => typeof g !== 'string'))
    throw faults.unsupportedOption('device_groups must be a non-empty list of device group names');
  for (const g of list as string[])
    if (!groups.some((d) => d.name === g))
      throw faults.unsupportedOption(
        `device_groups: ${JSON.stringify(g)} is not one of ${JSON.stringify(groups.map((d) => d.name))}`,
      );
  return { device_groups: [...new Set(list as string[])] };
}

/** A group's topology, when its size is known. */
function topologyOf(group: GroupInfo): Topology | undefined {
  if (group.units === undefined) return undefined;
  return group.units === 1 ? 'SINGLE' : 'ACTIVE_STANDBY';
}

/**
 * The groups a new load balancer may be placed in: those its flavor's data and its availability
 * zone's data both allow (undefined: no restriction). Empty when none does.
 */
export function allowedGroups(
  groups: readonly GroupInfo[],
  flavor: FlavorData | undefined,
  zone: ZoneData | undefined,
): string[] | undefined {
  if (!flavor?.device_group && !flavor?.loadbalancer_topology && !zone) return undefined;
  return groups
    .filter((g) => !flavor?.device_group || g.name === flavor.device_group)
    .filter((g) => !flavor?.loadbalancer_topology || topologyOf(g) === flavor.loadbalancer_topology)
    .filter((g) => !zone || zone.device_groups.includes(g.name))
    .map((g) => g.name);
}

/** The provider a profile names must be this one (Octavia's 400 for a provider not enabled). */
export function checkProvider(name: unknown): void {
  if (name !== PROVIDER) throw new OctaviaFault(400, `Provider '${String(name)}' is not enabled.`);
}
