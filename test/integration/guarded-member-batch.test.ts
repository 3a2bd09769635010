import { describe, expect, it } from 'vitest';
import { DynamoDbResourceStore } from '../../functions/adapters/dynamodb-resource-store.js';
import { explainRecordConflict } from '../../functions/domain/refusals.js';
import { lbIds, requests, uuid } from '../support/factories.js';
import { freshTables, localClients } from '../support/local-aws.js';
import { parsed } from '../support/service-fixtures.js';

// The DynamoDB adapter's guarded member batch (the API's PUT /pools/{id}/members) on DynamoDB
// Local: the batch first takes its load balancer to PENDING_UPDATE (its lock), then writes its
// members in chunks. When another load balancer takes one of its new ids between the check and
// the chunk's write, the batch is refused whole: its creates are undone and the lock given back.

const ENV = 'Batch';

describe('a guarded member batch on DynamoDB', () => {
  it('losing an id to another load balancer after its lock: refused naming the holder, nothing kept, the load balancer ACTIVE again', async () => {
    const { db, dynamodb } = localClients();
    const tables = await freshTables(dynamodb);
    const store = new DynamoDbResourceStore(db, tables);
    const ids = lbIds();
    const pool = requests.createPool(ids);
    const poolId = (pool.object as { id: string }).id;
    const otherIds = lbIds({ tenantId: ids.tenantId });
    const otherPool = requests.createPool(otherIds);
    for (const m of [
      requests.createLoadbalancer(ids),
      pool,
      requests.createLoadbalancer(otherIds),
      otherPool,
    ])
      expect(await store.recordRequest(parsed(m), ENV, 1_000)).toEqual({ recorded: true });
    await store.recordOutcomes(
      (await store.loadRecords(ids.loadbalancerId)).map((record) => ({
        kind: 'active' as const,
        record,
        operatingStatus: 'ONLINE' as const,
      })),
      2_000,
    );
    const root = (await store.loadRecords(ids.loadbalancerId)).find((r) => r.type === 'loadbalancer');
    if (!root) throw new Error('no record');

    // Sixty new members: two chunks. The second id is taken by another load balancer right after
    // the lock, before the first chunk is written.
    const members = Array.from({ length: 60 }, (_, i) => ({
      id: uuid(),
      address: `10.9.${Math.floor(i / 200)}.${(i % 200) + 1}`,
      protocol_port: 80,
    }));
    const taken = members[1]?.id as string;
    let transactions = 0;
    let racing = false;
    db.middlewareStack.add(
      (next) => async (args) => {
        if ((args.input as { TransactItems?: unknown[] }).TransactItems && !racing) {
          transactions += 1;
          if (transactions === 2) {
            // Another load balancer records a member with that id.
            racing = true;
            const member = requests.createMember(otherIds, otherPool.object.id as string, {
              id: taken,
              address: '10.9.9.9',
            });
            expect(await store.recordRequest(parsed(member), ENV, 3_000)).toEqual({ recorded: true });
            racing = false;
          }
        }
        return next(args);
      },
      { step: 'initialize', name: 'takeAnIdAfterTheLock' },
    );

    const request = parsed(requests.memberBatch(ids, poolId, members));
    const guard = { revision: root.revision, statuses: ['ACTIVE' as const], pool: poolId };
    const result = await store.recordRequest(request, ENV, 4_000, guard);
    if (result.recorded) throw new Error('the batch was recorded');
    const why =
      'refusal' in result ? result.refusal : explainRecordConflict(request, ENV, result.conflict, guard);
    expect(why).toEqual({
      category: 'conflict',
      reason: `member ${taken} cannot be created: id ${taken} is already used by member ${taken} of load balancer ${otherIds.loadbalancerId} in environment ${ENV}`,
    });
    const after = await store.loadRecords(ids.loadbalancerId);
    expect(after.filter((r) => r.type === 'member')).toEqual([]);
    expect(after.find((r) => r.type === 'loadbalancer')?.provisioningStatus).toBe('ACTIVE');
    expect(after.find((r) => r.type === 'pool')?.provisioningStatus).toBe('ACTIVE');
    // The lock, then the chunk that lost the id (the other chunk may or may not have been written and undone).
    expect(transactions).toBeGreaterThanOrEqual(2);
    // The other load balancer's member is untouched.
    expect((await store.loadRecords(otherIds.loadbalancerId)).filter((r) => r.type === 'member')).toEqual([
      expect.objectContaining({ id: taken }),
    ]);
  });
});
