import { describe, expect, it } from 'vitest';
import { DynamoDbPartitionLease } from '../../functions/adapters/dynamodb-partition-lease.js';
import { DynamoDbSyncLedger } from '../../functions/adapters/dynamodb-sync-ledger.js';
import { LeaseBusyError } from '../../functions/domain/errors.js';
import { freshTables, localClients } from '../support/local-aws.js';

describe('partition lease on DynamoDB Local', () => {
  it('admits one holder, lets it renew, frees on release, and lapses after its TTL', async () => {
    const { db, dynamodb } = localClients();
    const tables = await freshTables(dynamodb);
    let now = 1_000_000;
    const lease = new DynamoDbPartitionLease(db, tables.leases, { ttlMs: 30_000, clock: () => now });

    await lease.acquire('E#c#P', 'agent-1#a');
    await lease.acquire('E#c#P', 'agent-1#a'); // re-entrant for the same owner
    await expect(lease.acquire('E#c#P', 'agent-2#b')).rejects.toBeInstanceOf(LeaseBusyError);
    await lease.acquire('E#c#Other', 'agent-2#b'); // other partitions are independent

    await lease.release('E#c#P', 'agent-2#b'); // not the owner: no effect
    await expect(lease.acquire('E#c#P', 'agent-2#b')).rejects.toBeInstanceOf(LeaseBusyError);
    await lease.release('E#c#P', 'agent-1#a');
    await lease.acquire('E#c#P', 'agent-2#b');

    now += 30_001; // agent-2 died holding it
    await lease.acquire('E#c#P', 'agent-3#c');
  });

  it('renews only a lease its owner still holds: not once it expired, not once another writer took it', async () => {
    const { db, dynamodb } = localClients();
    const tables = await freshTables(dynamodb);
    let now = 1_000_000;
    const lease = new DynamoDbPartitionLease(db, tables.leases, { ttlMs: 30_000, clock: () => now });
    await lease.acquire('E#c#P', 'agent-1#a');
    now += 20_000;
    // Extended to now + 30 s; its writes must be sent within the first half of that.
    expect(await lease.renew('E#c#P', 'agent-1#a')).toBe(1_000_000 + 20_000 + 15_000);
    now += 20_000;
    await expect(lease.acquire('E#c#P', 'agent-2#b')).rejects.toBeInstanceOf(LeaseBusyError);
    await expect(lease.renew('E#c#P', 'agent-2#b')).rejects.toBeInstanceOf(LeaseBusyError);
    now += 10_001; // agent-1 slowed past its lease
    await expect(lease.renew('E#c#P', 'agent-1#a')).rejects.toThrow(/was lost before the write/);
    await lease.acquire('E#c#P', 'agent-2#b');
    await expect(lease.renew('E#c#P', 'agent-1#a')).rejects.toBeInstanceOf(LeaseBusyError);
    await lease.renew('E#c#P', 'agent-2#b');
  });

  it('waits for a busy lease up to its wait time', async () => {
    const { db, dynamodb } = localClients();
    const tables = await freshTables(dynamodb);
    let now = 0;
    const sleeps: number[] = [];
    const lease = new DynamoDbPartitionLease(db, tables.leases, {
      ttlMs: 60_000,
      waitMs: 1_000,
      pollMs: 250,
      clock: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
    });
    await lease.acquire('k', 'a');
    await expect(lease.acquire('k', 'b')).rejects.toBeInstanceOf(LeaseBusyError);
    expect(sleeps).toEqual([250, 250, 250, 250]);
  });
});

describe('config-sync ledger on DynamoDB Local', () => {
  it('numbers syncs as they start, admits one runner at a time, and records their end', async () => {
    const { db, dynamodb } = localClients();
    const tables = await freshTables(dynamodb);
    const ledger = new DynamoDbSyncLedger(db, tables.leases);
    let now = 1_000_000;
    expect(await ledger.read('c#dg', now)).toEqual({
      started: 0,
      ended: 0,
      running: false,
      lastGood: 0,
      holding: false,
    });

    // Ten writers race for the first sync: exactly one runs it.
    const claims = await Promise.all(
      Array.from({ length: 10 }, (_, i) => ledger.begin('c#dg', `w${i}`, now, 40_000)),
    );
    const granted = claims.flatMap((c, i) => ('started' in c ? [{ n: c.started, i }] : []));
    expect(granted.map((g) => g.n)).toEqual([1]);
    // The nine refused were told that sync 1 runs, without a read of their own.
    expect(claims.filter((c) => 'busy' in c && c.busy.started === 1 && c.busy.running)).toHaveLength(9);
    const runner = `w${granted[0]?.i}`;
    expect(await ledger.read('c#dg', now)).toEqual({
      started: 1,
      ended: 0,
      running: true,
      lastGood: 0,
      holding: false,
    });
    expect(await ledger.begin('c#other', 'w0', now, 40_000)).toEqual({ started: 1 }); // groups are independent

    await ledger.end('c#dg', runner, 1, true);
    expect(await ledger.read('c#dg', now)).toEqual({
      started: 1,
      ended: 1,
      running: false,
      lastGood: 1,
      holding: false,
    });
    expect(await ledger.begin('c#dg', 'w9', now, 40_000)).toEqual({ started: 2 });

    // Its runner died: after the lease the next writer takes sync 3; the late end of 2 is still recorded.
    now += 40_001;
    expect(await ledger.read('c#dg', now)).toMatchObject({ running: false });
    // Told that sync 2 did not end (as far as the ledger knows): the device may still be running it.
    expect(await ledger.begin('c#dg', 'w5', now, 40_000)).toEqual({ started: 3, previousFailed: true });
    await ledger.end('c#dg', 'w9', 2, true);
    expect(await ledger.read('c#dg', now)).toEqual({
      started: 3,
      ended: 2,
      running: true,
      lastGood: 2,
      holding: false,
    });
    // Sync 3 ended badly (Disconnected, a timeout): it ends, but nobody may trust it.
    await ledger.end('c#dg', 'w5', 3, false);
    await ledger.end('c#dg', 'w9', 2, true); // never goes back
    expect(await ledger.read('c#dg', now)).toEqual({
      started: 3,
      ended: 3,
      running: false,
      lastGood: 2,
      holding: false,
    });
  });
});
