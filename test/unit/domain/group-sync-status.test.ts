import { describe, expect, it } from 'vitest';
import { groupSyncStatus } from '../../../functions/domain/group-sync-status.js';

describe('our device group’s sync status from the device-wide cm/sync-status', () => {
  const details = [
    'bigip-b.example.test: connected',
    'failover-group (In Sync): All devices in the device group are in sync',
    'datasync-global-dg (Awaiting Initial Sync): The device group is awaiting the initial config sync',
  ];

  it('reads the group’s own detail line, whatever the worst group says', () => {
    const reading = { status: 'Awaiting Initial Sync', details };
    expect(groupSyncStatus(reading, 'failover-group')).toBe('In Sync');
    expect(groupSyncStatus(reading, '/Common/failover-group')).toBe('In Sync');
    expect(groupSyncStatus(reading, 'datasync-global-dg')).toBe('Awaiting Initial Sync');
  });

  it('takes the device-wide status when no line names the group, or no group is given', () => {
    expect(
      groupSyncStatus({ status: 'Disconnected', details: ['bigip-b: disconnected'] }, 'failover-group'),
    ).toBe('Disconnected');
    expect(groupSyncStatus({ status: 'Awaiting Initial Sync', details }, undefined)).toBe(
      'Awaiting Initial Sync',
    );
    expect(groupSyncStatus({ status: 'Standalone', details: [] }, 'failover-group')).toBe('Standalone');
  });

  it('does not take a line that only mentions the group in its text', () => {
    const lines = [' - Recommended action: Synchronize bigip-a to group failover-group'];
    expect(groupSyncStatus({ status: 'Changes Pending', details: lines }, 'failover-group')).toBe(
      'Changes Pending',
    );
  });
});
