import { hasSysReady } from './tmos-versions.js';

/**
 * Whether a device can be trusted to show its configuration, from what it answered, the way F5's
 * own client decides (f5-cloud-libs `ready()`): every `sys/mcp-state` entry in phase `running`,
 * and from 13.1 `sys/ready` saying `configReady: yes`. Before 13.1 there is no `sys/ready`
 * (device-facts.md §7.12): F5's client skips it and relies on the `…/available` endpoints with
 * mcpd's phase, and F5's Ansible `bigip_wait` on `/mgmt/tm/sys/available`; so does this.
 */
export interface ReadinessReading {
  /** The device's TMOS version (decides which answers count). */
  version: string;
  /** The `phase` of every `sys/mcp-state` entry. */
  mcpPhases: string[];
  /** `sys/ready`'s `configReady` (asked from 13.1). */
  configReady?: string;
  /** Whether `/mgmt/tm/sys/available` answered 200 (asked before 13.1). */
  sysAvailable?: boolean;
}

export function readinessOf(r: ReadinessReading): { ready: boolean; reason?: string } {
  if (hasSysReady(r.version)) {
    if (r.configReady !== 'yes')
      return { ready: false, reason: `sys/ready says configReady ${r.configReady ?? 'unknown'}` };
  } else if (r.sysAvailable !== true) {
    return { ready: false, reason: `sys/available does not answer (TMOS ${r.version}, before sys/ready)` };
  }
  const notRunning = r.mcpPhases.find((p) => p !== 'running');
  if (r.mcpPhases.length === 0 || notRunning !== undefined)
    return { ready: false, reason: `mcpd phase is ${notRunning ?? 'unknown'}, not running` };
  return { ready: true };
}
