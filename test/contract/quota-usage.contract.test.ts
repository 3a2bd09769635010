import { describe, expect, it } from 'vitest';
import { DynamoDbApiObjectStore } from '../../functions/adapters/dynamodb-api-object-store.js';
import { DynamoDbResourceStore } from '../../functions/adapters/dynamodb-resource-store.js';
import type { ApiObjectStore, ResourceStore } from '../../functions/domain/ports.js';
import { lbIds, requests, uuid } from '../support/factories.js';
import { InMemoryApiObjectStore } from '../support/fakes/in-memory-api-object-store.js';
import { InMemoryResourceStore } from '../support/fakes/in-memory-resource-store.js';
import { freshTables, localClients } from '../support/local-aws.js';
import { parsed } from '../support/service-fixtures.js';

// A project's usage counters and the quota conditions on them, against the in-memory store the
// unit tests use and the DynamoDB adapter (DynamoDB Local): counted with the record, never twice,
// released with the removed record, and a limit that concurrent writers cannot pass together.

const ENV = 'Quota';

const stores: [string, () => Promise<ResourceStore>][] = [
  ['in-memory', async () => new InMemoryResourceStore()],
  [
    'DynamoDB',
    async () => {
      const { db, dynamodb } = localClients();
      return new DynamoDbResourceStore(db, await freshTables(dynamodb));
    },
  ],
];

describe.each(stores)('ResourceStore usage and quotas: %s', (_name, make) => {
  it('counts a create once (its own retry does not count again) and releases it with the removed record', async () => {
    const store = await make();
    const ids = lbIds();
    const create = parsed(requests.createLoadbalancer(ids));
    expect((await store.recordRequest(create, ENV, 1_000)).recorded).toBe(true);
    expect((await store.recordRequest(create, ENV, 1_000)).recorded).toBe(true);
    const listener = parsed(requests.createListener(ids));
    expect((await store.recordRequest(listener, ENV, 1_000)).recorded).toBe(true);
    expect(await store.loadUsage(ENV, ids.tenantId)).toEqual({ loadbalancer: 1, listener: 1 });
    // Another project and another environment have their own counters.
    expect(await store.loadUsage('Other', ids.tenantId)).toEqual({});

    const records = await store.loadRecords(ids.loadbalancerId);
    const written = await store.recordOutcomes(
      records.map((record) => ({ kind: 'deleted' as const, record })),
      2_000,
    );
    expect(written).toBe(2);
    expect(await store.loadUsage(ENV, ids.tenantId)).toEqual({ loadbalancer: 0, listener: 0 });
  });

  it('refuses a write that would pass a limit (quota-exceeded), whole: nothing of it is recorded', async () => {
    const store = await make();
    const ids = lbIds();
    const lb = parsed(requests.createLoadbalancer(ids));
    expect(
      (await store.recordRequest(lb, ENV, 1_000, undefined, { limits: { loadbalancer: 1 } })).recorded,
    ).toBe(true);
    const second = lbIds({ tenantId: ids.tenantId });
    const refused = await store.recordRequest(
      parsed(requests.createLoadbalancer(second)),
      ENV,
      1_000,
      undefined,
      {
        limits: { loadbalancer: 1 },
      },
    );
    expect(refused).toEqual({
      recorded: false,
      refusal: { category: 'quota-exceeded', reason: 'Quota has been met for resources: Load Balancer' },
    });
    expect(await store.loadRecords(second.loadbalancerId)).toEqual([]);
    // A call counting for more than its own request (the API's first write of a tree) is checked on the total.
    const tree = await store.recordRequest(parsed(requests.createListener(ids)), ENV, 1_000, undefined, {
      limits: { pool: 2 },
      add: { listener: 1, pool: 3 },
    });
    expect(tree).toMatchObject({ recorded: false, refusal: { category: 'quota-exceeded' } });
    expect(await store.loadUsage(ENV, ids.tenantId)).toEqual({ loadbalancer: 1 });
    // -1 is unlimited, 0 none.
    expect(
      (
        await store.recordRequest(parsed(requests.createListener(ids)), ENV, 1_000, undefined, {
          limits: { listener: -1 },
        })
      ).recorded,
    ).toBe(true);
    expect(
      await store.recordRequest(parsed(requests.createPool(ids)), ENV, 1_000, undefined, {
        limits: { pool: 0 },
      }),
    ).toMatchObject({ recorded: false, refusal: { reason: 'Quota has been met for resources: Pool' } });
  });

  it('lets exactly the limit through when writers race for the last places', async () => {
    const store = await make();
    const tenant = lbIds().tenantId;
    const creates = Array.from({ length: 8 }, () =>
      parsed(requests.createLoadbalancer(lbIds({ tenantId: tenant }))),
    );
    const results = await Promise.all(
      creates.map((c) =>
        store.recordRequest(c, ENV, 1_000, undefined, { limits: { loadbalancer: 3 } }).catch((e) => e),
      ),
    );
    const recorded = results.filter((r) => r && r.recorded === true).length;
    expect(recorded).toBe(3);
    expect(await store.loadUsage(ENV, tenant)).toEqual({ loadbalancer: 3 });
    let held = 0;
    for (const c of creates) held += (await store.loadRecords(c.loadbalancerId)).length;
    expect(held).toBe(3);
  });

  it('counts a member batch’s new members, within the member quota, and gives back counts it did not use', async () => {
    const store = await make();
    const ids = lbIds();
    await store.recordRequest(parsed(requests.createLoadbalancer(ids)), ENV, 1_000);
    const pool = parsed(requests.createPool(ids));
    await store.recordRequest(pool, ENV, 1_000);
    const member = (n: number) => ({ id: uuid(), address: `10.0.2.${n}`, protocol_port: 80 });
    const over = await store.recordRequest(
      parsed(requests.memberBatch(ids, pool.object.id, [member(1), member(2), member(3)])),
      ENV,
      1_000,
      undefined,
      { limits: { member: 2 } },
    );
    expect(over).toMatchObject({ recorded: false, refusal: { category: 'quota-exceeded' } });
    const ok = await store.recordRequest(
      parsed(requests.memberBatch(ids, pool.object.id, [member(1), member(2)])),
      ENV,
      1_000,
      undefined,
      { limits: { member: 2 } },
    );
    expect(ok.recorded).toBe(true);
    expect(await store.loadUsage(ENV, ids.tenantId)).toEqual({ loadbalancer: 1, pool: 1, member: 2 });
    await store.releaseUsage(ENV, ids.tenantId, { member: 2 });
    expect((await store.loadUsage(ENV, ids.tenantId)).member).toBe(0);
  });
});

const objectStores: [string, () => Promise<ApiObjectStore>][] = [
  ['in-memory', async () => new InMemoryApiObjectStore()],
  [
    'DynamoDB',
    async () => {
      const { db, dynamodb } = localClients();
      return new DynamoDbApiObjectStore(db, (await freshTables(dynamodb)).apiObjects);
    },
  ],
];

describe.each(objectStores)('ApiObjectStore contract: %s', (_name, make) => {
  it('creates once, replaces only the version it read, lists a kind of one environment, removes', async () => {
    const store = await make();
    expect(await store.put(ENV, 'flavor', 'f1', { name: 'gold' })).toBe(true);
    expect(await store.put(ENV, 'flavor', 'f1', { name: 'again' })).toBe(false);
    const read = await store.get(ENV, 'flavor', 'f1');
    expect(read).toEqual({ id: 'f1', data: { name: 'gold' }, version: 1 });
    expect(await store.put(ENV, 'flavor', 'f1', { name: 'silver' }, 1)).toBe(true);
    expect(await store.put(ENV, 'flavor', 'f1', { name: 'stale' }, 1)).toBe(false);
    await store.put(ENV, 'flavor', 'f2', { name: 'bronze' });
    await store.put(ENV, 'flavorprofile', 'p1', { name: 'p' });
    await store.put('Other', 'flavor', 'f3', { name: 'x' });
    expect((await store.list(ENV, 'flavor')).map((o) => [o.id, o.data.name])).toEqual([
      ['f1', 'silver'],
      ['f2', 'bronze'],
    ]);
    expect(await store.remove(ENV, 'flavor', 'f1', 1)).toBe(false);
    expect(await store.remove(ENV, 'flavor', 'f1', 2)).toBe(true);
    expect(await store.remove(ENV, 'flavor', 'f1')).toBe(false);
    expect(await store.get(ENV, 'flavor', 'f1')).toBeUndefined();
  });
});
