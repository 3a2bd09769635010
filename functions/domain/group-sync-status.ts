/**
 * `cm/sync-status` is device-wide (device-facts.md §7.11): its status is that of the device
 * group in the worst state, and a single group cannot be asked for. An HA pair usually has more
 * groups than the one the agent syncs (`datasync-global-dg`, sync-only groups), so the agent reads
 * its own group's state from the detail lines, each `"<device group> (<status>): <text>"`.
 */
export interface SyncStatusReading {
  /** The device-wide status (the worst group's). */
  status: string;
  /** The detail lines, in any order. */
  details: readonly string[];
}

/**
 * The sync status of `group` (a bare name or `/Common/<name>`): its detail line's, else the
 * device-wide one (a unit that shows no line for the group, disconnected or standalone, is taken
 * at its word for the whole device). Without a group, the device-wide status.
 */
export function groupSyncStatus(reading: SyncStatusReading, group: string | undefined): string {
  if (!group) return reading.status;
  const name = bareName(group);
  for (const line of reading.details) {
    const m = /^\s*(\S+) \(([^)]+)\):/.exec(line);
    if (m && bareName(m[1] as string) === name) return (m[2] as string).trim();
  }
  return reading.status;
}

function bareName(group: string): string {
  return group.replace(/^\/Common\//, '');
}
