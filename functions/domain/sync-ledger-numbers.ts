/**
 * The config-sync ledger (ports.ts, SyncLedger) numbers a device group's syncs as they are claimed
 * (`started`) and keeps the highest number that ended well (`lastGood`); what both stores derive from
 * those numbers lives here.
 */

/**
 * Whether the sync claimed before `started` (if any) did not end well: it failed, was cut at its
 * runner's time, or its runner is gone, so the device may still be running it.
 */
export function previousSyncFailed(started: number, lastGood: number): boolean {
  return started > 1 && lastGood < started - 1;
}
