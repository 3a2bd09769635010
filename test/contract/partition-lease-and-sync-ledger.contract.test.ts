import { describe, expect, it } from 'vitest';
import { DynamoDbPartitionLease } from '../../functions/adapters/dynamodb-partition-lease.js';
import { DynamoDbSyncLedger } from '../../functions/adapters/dynamodb-sync-ledger.js';
import { LeaseBusyError } from '../../functions/domain/errors.js';
import type { PartitionLease, SyncLedger } from '../../functions/domain/ports.js';
import { InMemoryLease } from '../support/fakes/in-memory-lease.js';
import { InMemorySyncLedger } from '../support/fakes/in-memory-sync-ledger.js';
import { freshTables, localClients } from '../support/local-aws.js';

// The same cases against the in-memory fake the unit tests use and the adapter it stands in for.

const TTL = 30_000;

const leases: [string, (clock: () => number) => Promise<PartitionLease>][] = [
  ['in-memory', async (clock) => new InMemoryLease({ ttlMs: TTL, clock })],
  [
    'DynamoDB',
    async (clock) => {
      const { db, dynamodb } = localClients();
      const tables = await freshTables(dynamodb);
      return new DynamoDbPartitionLease(db, tables.leases, { ttlMs: TTL, clock });
    },
  ],
];

describe.each(leases)('PartitionLease contract: %s', (_name, make) => {
  it('admits one holder (re-entrant for it), frees on its release only, and lapses after the TTL', async () => {
    let now = 1_000_000;
    const lease = await make(() => now);
    // The acquisition grants sending until half a TTL later, as a renewal does.
    expect(await lease.acquire('E#c#P', 'a')).toBe(now + TTL / 2);
    await lease.acquire('E#c#P', 'a');
    await expect(lease.acquire('E#c#P', 'b')).rejects.toBeInstanceOf(LeaseBusyError);
    await lease.acquire('E#c#Q', 'b');
    await lease.release('E#c#P', 'b');
    await expect(lease.acquire('E#c#P', 'b')).rejects.toBeInstanceOf(LeaseBusyError);
    await lease.release('E#c#P', 'a');
    await lease.acquire('E#c#P', 'b');
    now += TTL + 1;
    await lease.acquire('E#c#P', 'c');
  });

  it('renews only its owner’s unexpired lease, answering the send-by time half a TTL later', async () => {
    let now = 1_000_000;
    const lease = await make(() => now);
    await lease.acquire('E#c#P', 'a');
    now += 20_000;
    expect(await lease.renew('E#c#P', 'a')).toBe(now + TTL / 2);
    await expect(lease.renew('E#c#P', 'b')).rejects.toBeInstanceOf(LeaseBusyError);
    now += TTL + 1;
    await expect(lease.renew('E#c#P', 'a')).rejects.toBeInstanceOf(LeaseBusyError);
    await lease.acquire('E#c#P', 'b');
    await expect(lease.renew('E#c#P', 'a')).rejects.toBeInstanceOf(LeaseBusyError);
  });

  it('counts the unexpired leases under a prefix (a cluster’s writers), whatever else the table holds', async () => {
    let now = 1_000_000;
    const lease = await make(() => now);
    await lease.acquire('E#c#P', 'a');
    await lease.acquire('E#c#Q', 'b');
    await lease.acquire('E#d#P', 'c');
    await lease.acquire('F#c#P', 'd');
    now += 100;
    await lease.renew('E#c#P', 'a');
    expect(await lease.countHeld('E#c#', now)).toBe(2);
    await lease.release('E#c#Q', 'b');
    expect(await lease.countHeld('E#c#', now)).toBe(1);
    // A lapsed lease is no one's.
    now += TTL + 1;
    expect(await lease.countHeld('E#c#', now)).toBe(0);
    await lease.acquire('E#c#P', 'e');
    expect(await lease.countHeld('E#c#', now)).toBe(1);
  });
});

const ledgers: [string, () => Promise<SyncLedger>][] = [
  ['in-memory', async () => new InMemorySyncLedger()],
  [
    'DynamoDB',
    async () => {
      const { db, dynamodb } = localClients();
      return new DynamoDbSyncLedger(db, (await freshTables(dynamodb)).leases);
    },
  ],
];

describe.each(ledgers)('SyncLedger contract: %s', (_name, make) => {
  it('numbers syncs as they start, admits one runner at a time, and records how they ended', async () => {
    const ledger = await make();
    expect(await ledger.read('c#dg', 0)).toEqual({
      started: 0,
      ended: 0,
      running: false,
      lastGood: 0,
      holding: false,
    });
    expect(await ledger.begin('c#dg', 'w1', 1_000, 10_000)).toEqual({ started: 1 });
    // A refused claim says where the ledger stands, as a read would.
    expect(await ledger.begin('c#dg', 'w2', 2_000, 10_000)).toEqual({
      busy: { started: 1, ended: 0, running: true, lastGood: 0, holding: false },
    });
    expect(await ledger.read('c#dg', 2_000)).toEqual({
      started: 1,
      ended: 0,
      running: true,
      lastGood: 0,
      holding: false,
    });
    await ledger.end('c#dg', 'w1', 1, false);
    expect(await ledger.read('c#dg', 3_000)).toEqual({
      started: 1,
      ended: 1,
      running: false,
      lastGood: 0,
      holding: false,
    });
    // The next claim is told that the sync before it did not end well (the device may still run it).
    expect(await ledger.begin('c#dg', 'w2', 3_000, 10_000)).toEqual({ started: 2, previousFailed: true });
    await ledger.end('c#dg', 'w2', 2, true);
    expect(await ledger.read('c#dg', 4_000)).toEqual({
      started: 2,
      ended: 2,
      running: false,
      lastGood: 2,
      holding: false,
    });
    // A runner that ended after its lease ran out and another began: its sync still counts as ended (and good).
    expect(await ledger.begin('c#dg', 'w3', 5_000, 1_000)).toEqual({ started: 3 });
    expect(await ledger.begin('c#dg', 'w4', 7_000, 10_000)).toEqual({ started: 4, previousFailed: true });
    await ledger.end('c#dg', 'w3', 3, true);
    expect(await ledger.read('c#dg', 8_000)).toEqual({
      started: 4,
      ended: 3,
      running: true,
      lastGood: 3,
      holding: false,
    });
    await ledger.end('c#dg', 'w4', 4, false);
    expect(await ledger.read('c#dg', 9_000)).toEqual({
      started: 4,
      ended: 4,
      running: false,
      lastGood: 3,
      holding: false,
    });
    // Groups are independent.
    expect(await ledger.read('c#other', 4_000)).toMatchObject({ started: 0 });
  });

  it('says a held sync covers changes written until its runner issues it, and only its runner may', async () => {
    const ledger = await make();
    expect(await ledger.begin('c#dg', 'w1', 1_000, 10_000, { hold: true })).toEqual({ started: 1 });
    expect(await ledger.begin('c#dg', 'w2', 1_100, 10_000)).toEqual({
      busy: { started: 1, ended: 0, running: true, lastGood: 0, holding: true },
    });
    expect(await ledger.issue('c#dg', 'w2', 1)).toBe(false);
    expect(await ledger.issue('c#dg', 'w1', 2)).toBe(false);
    expect(await ledger.read('c#dg', 1_200)).toMatchObject({ holding: true });
    expect(await ledger.issue('c#dg', 'w1', 1)).toBe(true);
    expect(await ledger.begin('c#dg', 'w2', 1_300, 10_000)).toEqual({
      busy: { started: 1, ended: 0, running: true, lastGood: 0, holding: false },
    });
    await ledger.end('c#dg', 'w1', 1, true);
    // A held sync whose runner ends it without issuing (it failed while holding) holds nothing more.
    expect(await ledger.begin('c#dg', 'w2', 2_000, 10_000, { hold: true })).toEqual({ started: 2 });
    await ledger.end('c#dg', 'w2', 2, false);
    expect(await ledger.read('c#dg', 2_100)).toMatchObject({ started: 2, ended: 2, holding: false });
    // A claim that sends at once holds nothing; a runner that died holding holds nothing once its lease ran out.
    expect(await ledger.begin('c#dg', 'w3', 3_000, 10_000)).toEqual({ started: 3, previousFailed: true });
    expect(await ledger.read('c#dg', 3_100)).toMatchObject({ running: true, holding: false });
    await ledger.end('c#dg', 'w3', 3, true);
    expect(await ledger.begin('c#dg', 'w4', 4_000, 1_000, { hold: true })).toEqual({ started: 4 });
    expect(await ledger.read('c#dg', 6_000)).toMatchObject({ running: false, holding: false });
    expect(await ledger.issue('c#dg', 'w4', 4)).toBe(true);
    // w4's claim lapsed without an end: the next claim is told (the device may still run sync 4).
    expect(await ledger.begin('c#dg', 'w5', 6_000, 10_000)).toEqual({ started: 5, previousFailed: true });
    expect(await ledger.issue('c#dg', 'w4', 4)).toBe(false);
  });

  it('hands the last good sync’s duration to the next claim, and keeps it through failed syncs', async () => {
    const ledger = await make();
    expect(await ledger.begin('c#dg', 'w1', 1_000, 10_000)).toEqual({ started: 1 });
    await ledger.end('c#dg', 'w1', 1, true, { tookMs: 2_049.6 });
    expect(await ledger.begin('c#dg', 'w2', 4_000, 10_000)).toEqual({ started: 2, lastTookMs: 2_050 });
    // A sync that ended badly says nothing about how long a sync takes.
    await ledger.end('c#dg', 'w2', 2, false, { tookMs: 30_000 });
    expect(await ledger.read('c#dg', 5_000)).toMatchObject({ ended: 2, lastTookMs: 2_050 });
    // Nor does a runner that lost its claim (another ended the sync for it).
    expect(await ledger.begin('c#dg', 'w3', 6_000, 1_000)).toEqual({
      started: 3,
      lastTookMs: 2_050,
      previousFailed: true,
    });
    expect(await ledger.begin('c#dg', 'w4', 8_000, 10_000)).toEqual({
      started: 4,
      lastTookMs: 2_050,
      previousFailed: true,
    });
    await ledger.end('c#dg', 'w3', 3, true, { tookMs: 9 });
    await ledger.end('c#dg', 'w4', 4, true, { tookMs: 1_800 });
    expect(await ledger.read('c#dg', 9_000)).toMatchObject({ ended: 4, lastGood: 4, lastTookMs: 1_800 });
  });

  it('lets the next writer run once a runner died (its lease expired)', async () => {
    const ledger = await make();
    expect(await ledger.begin('c#dg', 'w1', 1_000, 10_000)).toEqual({ started: 1 });
    expect(await ledger.read('c#dg', 20_000)).toMatchObject({ running: false });
    expect(await ledger.begin('c#dg', 'w2', 20_000, 10_000)).toEqual({ started: 2, previousFailed: true });
  });
});
