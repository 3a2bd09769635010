import { describe, expect, it } from 'vitest';
import { DynamoDbPartitionLease } from '../../functions/adapters/dynamodb-partition-lease.js';
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
