import { hasSysReady } from './device-traits.js';
import { type SyncUnit, syncStatusOf } from './ha-pair.js';

/** What the status endpoints show of a unit and its peer. */
export interface UnitView extends SyncUnit {
  version: string;
  managementIp: string;
  peer: UnitView | undefined;
  /** mcpd is reloading its configuration (`restartMcpd`). */
  mcpdReloading?: boolean;
}

/** A stats-shaped body: `entries{<selfLink>: {nestedStats: {entries: {…}}}}` (device-facts.md §5.2). */
export function statsBody(version: string, path: string, entries: Record<string, string | number>) {
  const nested: Record<string, { description?: string; value?: number }> = {};
  for (const [k, v] of Object.entries(entries))
    nested[k] = typeof v === 'number' ? { value: v } : { description: v };
  return {
    kind: `tm:${path.replaceAll('/', ':')}:${path.split('/').pop()}stats`,
    selfLink: `https://localhost/mgmt/tm/${path}?ver=${version}`,
    entries: { [`https://localhost/mgmt/tm/${path}/0`]: { nestedStats: { entries: nested } } },
  };
}

/** GET answers of `sys/version`, `sys/ready`, `cm/failover-status`, `cm/sync-status`, `cm/device`; undefined for others. */
export function statusBody(unit: UnitView, tm: string): unknown {
  const active = unit.failoverState === 'active';
  switch (tm) {
    case 'sys/version':
      return statsBody(unit.version, 'sys/version', {
        Build: '0.0.4',
        Date: 'Thu Nov  2 10:11:43 PDT 2025',
        Edition: 'Point Release 1',
        Product: 'BIG-IP',
        Title: 'Main Package',
        Version: unit.version,
      });
    case 'sys/ready':
      // §7.12: only from 13.1; before, the path is not registered (a 404 like any unknown path).
      if (!hasSysReady(unit)) return undefined;
      // Not config-ready while mcpd reloads: `bigip-rest.md` A.5 (sys/ready "no" until the box can take config).
      return statsBody(unit.version, 'sys/ready', {
        configReady: unit.mcpdReloading ? 'no' : 'yes',
        licenseReady: 'yes',
        provisionReady: 'yes',
      });
    case 'cm/failover-status':
      return statsBody(unit.version, 'cm/failover-status', {
        color: active ? 'green' : 'gray',
        status: active ? 'ACTIVE' : 'STANDBY',
        summary: active ? '1/1 active' : '0/1 active',
      });
    case 'cm/sync-status': {
      // §4.4: status, summary and the group's detail lines under a nested `…/syncStatus/0/details`.
      const sync = syncStatusOf(unit);
      const base = 'https://localhost/mgmt/tm/cm/syncStatus/0/details';
      const details = Object.fromEntries(
        sync.details.map((line, i) => [
          `${base}/${i}`,
          { nestedStats: { entries: { details: { description: line } } } },
        ]),
      );
      const body = statsBody(unit.version, 'cm/sync-status', {
        color: sync.color,
        mode: unit.peer ? 'high-availability' : 'standalone',
        status: sync.status,
        summary: sync.summary,
      });
      const entry = Object.values(body.entries)[0] as { nestedStats: { entries: Record<string, unknown> } };
      entry.nestedStats.entries[base] = { nestedStats: { entries: details } };
      return body;
    }
    // §5.1: the readiness endpoints F5's own client polls before any call.
    case 'sys/available':
    case 'cm/available':
      return {
        kind: `tm:${tm.replace('/', ':')}state`,
        selfLink: `https://localhost/mgmt/tm/${tm}?ver=${unit.version}`,
      };
    case 'sys/mcp-state':
      // §7.12 (genieparser, 14.1.2.1): `endPlatformIdReceived`, `lastLoad`, `phase`.
      return statsBody(unit.version, 'sys/mcp-state', {
        endPlatformIdReceived: 'true',
        lastLoad: 'full-config-load-succeed',
        // No source names the phase shown while mcpd reloads; anything but `running` is "not ready".
        phase: unit.mcpdReloading ? 'loading' : 'running',
      });
    case 'cm/device': {
      const units = [unit, ...(unit.peer ? [unit.peer] : [])];
      return {
        kind: 'tm:cm:device:devicecollectionstate',
        selfLink: `https://localhost/mgmt/tm/cm/device?ver=${unit.version}`,
        items: units.map((d) => ({
          kind: 'tm:cm:device:devicestate',
          name: d.hostname,
          partition: 'Common',
          fullPath: `/Common/${d.hostname}`,
          hostname: d.hostname,
          selfDevice: d === unit ? 'true' : 'false',
          failoverState: d.failoverState,
          managementIp: d.managementIp,
          version: d.version,
        })),
      };
    }
    default:
      return undefined;
  }
}
