import { describe, expect, it } from 'vitest';
import type { ReconcileReport } from '../../functions/services/reconciler.js';
import { lbIds, requests } from '../support/factories.js';
import { systemsClosedAfterEach } from '../support/system-harness.js';

const system = systemsClosedAfterEach();
const done = (r: ReconcileReport) => {
  if (r.outcome === 'skipped') throw new Error(`run skipped: ${r.reason}`);
  return r;
};

/**
 * `cm/sync-status` is device-wide: it shows the worst device group (device-facts.md §7.11). An HA
 * pair with a second group that is not in sync (a sync-only group never synced: `Awaiting Initial
 * Sync`, a state F5's module waits on) must not make every apply wait for a sync that is not ours.
 */
describe('config-sync of our device group on a pair with another group out of sync', () => {
  it('applies, syncs and confirms on the peer; the reconciler leaves the other group alone', async () => {
    const s = await system({ pair: true, deviceGroup: 'failover-group' });
    const pair = s.pair as NonNullable<typeof s.pair>;
    pair.setOtherGroup('datasync-global-dg', 'In Sync');
    pair.setOtherGroup('sync-only-dg', 'Awaiting Initial Sync');
    const ids = lbIds();
    await s.submitAndSettle(requests.createLoadbalancer(ids, { vip_address: '10.71.0.1' }));
    const records = await s.resources.loadRecords(ids.loadbalancerId);
    expect(records.map((r) => `${r.type} ${r.provisioningStatus}`)).toEqual(['loadbalancer ACTIVE']);
    expect(pair.standby.partitions()).toEqual([`Test_${ids.tenantId}`]);
    // One config-sync, of our group only.
    expect(pair.active.sync.requested).toBe(1);

    // The device says Awaiting Initial Sync for the whole unit; our group is in sync: nothing to do.
    const before = pair.active.sync.requested;
    const report = done(await s.reconciler().reconciler.run({ dryRun: false, orphans: 'report' }));
    expect(report.peerSynced ?? false).toBe(false);
    expect(pair.active.sync.requested).toBe(before);
  }, 90_000);
});
