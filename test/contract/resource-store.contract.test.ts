import { describe, expect, it } from 'vitest';
import { DynamoDbResourceStore } from '../../functions/adapters/dynamodb-resource-store.js';
import type { RecordGuard, ResourceStore } from '../../functions/domain/ports.js';
import { explainRecordConflict } from '../../functions/domain/refusals.js';
import { lbIds, requests, uuid } from '../support/factories.js';
import { InMemoryResourceStore } from '../support/fakes/in-memory-resource-store.js';
import { freshTables, localClients } from '../support/local-aws.js';
import { parsed } from '../support/service-fixtures.js';

// The same cases against the in-memory resources table the unit tests use and the DynamoDB adapter
// it stands in for: what is recorded, what is refused (and the domain's words for it, from what each
// store found in the way), and which status writes land.

const ENV = 'Contract';

/** Each store, made with a request guard lasting `guardTtlSeconds` (default: the stores' 24 hours). */
const stores: [string, (guardTtlSeconds?: number) => Promise<ResourceStore>][] = [
  ['in-memory', async (ttl) => new InMemoryResourceStore(ttl === undefined ? undefined : ttl * 1000)],
  [
    'DynamoDB',
    async (ttl) => {
      const { db, dynamodb } = localClients();
      return new DynamoDbResourceStore(db, await freshTables(dynamodb), ttl);
    },
  ],
];

/**
 * What recording a message came to: `recorded`, `duplicate` (recorded before: its guard stood), or
 * `category: reason` as the scheduler reports it.
 */
async function record(
  store: ResourceStore,
  message: Record<string, unknown>,
  env = ENV,
  guard?: RecordGuard,
  nowMs = 1_000,
): Promise<string> {
  const request = parsed(message);
  const result = await store.recordRequest(request, env, nowMs, guard);
  if (result.recorded) return 'duplicate' in result ? 'duplicate' : 'recorded';
  const why =
    'refusal' in result ? result.refusal : explainRecordConflict(request, env, result.conflict, guard);
  return why ? `${why.category}: ${why.reason}` : 'unexplained';
}

const statusOf = async (store: ResourceStore, lb: string, id: string) =>
  (await store.loadRecords(lb)).find((r) => r.id === id)?.provisioningStatus;

describe.each(stores)('ResourceStore contract: %s', (_name, make) => {
  it('records a load balancer once: its own request again is a duplicate, another create of its id is refused', async () => {
    const store = await make();
    const ids = lbIds();
    const create = requests.createLoadbalancer(ids);
    expect(await record(store, create)).toBe('recorded');
    expect(await record(store, create)).toBe('duplicate');
    expect(await record(store, { ...create, requestId: uuid() })).toBe(
      `conflict: load balancer ${ids.loadbalancerId} already exists`,
    );
    const [root] = await store.loadRecords(ids.loadbalancerId);
    expect(root).toMatchObject({ type: 'loadbalancer', provisioningStatus: 'PENDING_CREATE', env: ENV });
  });

  it('never records a request twice: its redelivery after newer requests of the same objects writes nothing', async () => {
    const store = await make();
    const ids = lbIds();
    const pool = requests.createPool(ids, { name: 'created' });
    const poolId = pool.object.id as string;
    const lb = requests.createLoadbalancer(ids);
    const first = requests.update('pool', ids, { id: poolId, name: 'first' });
    const second = requests.update('pool', ids, { id: poolId, name: 'second' });
    for (const m of [lb, pool, first, second]) expect(await record(store, m)).toBe('recorded');
    const before = await store.loadRecords(ids.loadbalancerId);
    // Each earlier request again (an update, the pool's create, the load balancer's create).
    for (const m of [first, pool, lb]) expect(await record(store, m)).toBe('duplicate');
    expect(await store.loadRecords(ids.loadbalancerId)).toEqual(before);
    const stored = before.find((r) => r.id === poolId);
    expect(stored).toMatchObject({ requestId: second.requestId, desired: { name: 'second' } });
    expect(await store.isGuarded(ENV, parsed(first), 1_000)).toBe(true);
    // Guards are per tenant and environment: another's request reusing the id is not a duplicate.
    expect(await store.isGuarded(ENV, { ...parsed(first), tenantId: lbIds().tenantId }, 1_000)).toBe(false);
    expect(await store.isGuarded('Other', parsed(first), 1_000)).toBe(false);
  });

  it('leaves no guard for a refused request: the same request is recorded once what refused it is gone', async () => {
    const store = await make();
    const ids = lbIds();
    const pool = requests.createPool(ids);
    expect(await record(store, pool)).toBe(`not-found: load balancer ${ids.loadbalancerId} does not exist`);
    expect(await store.isGuarded(ENV, parsed(pool), 1_000)).toBe(false);
    expect(await record(store, requests.createLoadbalancer(ids))).toBe('recorded');
    expect(await record(store, pool)).toBe('recorded');
    expect(await record(store, pool)).toBe('duplicate');
  });

  it('lets a guard expire: the same request id is recorded again after the guard lifetime', async () => {
    const store = await make(60);
    const ids = lbIds();
    const create = requests.createLoadbalancer(ids);
    expect(await record(store, create, ENV, undefined, 1_000)).toBe('recorded');
    expect(await store.isGuarded(ENV, parsed(create), 60_000)).toBe(true);
    expect(await record(store, create, ENV, undefined, 60_000)).toBe('duplicate');
    expect(await store.isGuarded(ENV, parsed(create), 62_000)).toBe(false);
    expect(await record(store, create, ENV, undefined, 62_000)).toBe('recorded');
    expect(await record(store, create, ENV, undefined, 63_000)).toBe('duplicate');
  });

  it('records a member batch once: its redelivery after a newer update of a member writes nothing', async () => {
    const store = await make();
    const ids = lbIds();
    const pool = requests.createPool(ids);
    for (const m of [requests.createLoadbalancer(ids), pool]) await record(store, m);
    const member = { id: uuid(), address: '10.8.1.1', protocol_port: 80, weight: 1 };
    const batch = requests.memberBatch(ids, pool.object.id as string, [member]);
    expect(await record(store, batch)).toBe('recorded');
    expect(await record(store, requests.update('member', ids, { id: member.id, weight: 7 }))).toBe(
      'recorded',
    );
    const before = await store.loadRecords(ids.loadbalancerId);
    expect(await record(store, batch)).toBe('duplicate');
    expect(await store.loadRecords(ids.loadbalancerId)).toEqual(before);
    expect(before.find((r) => r.id === member.id)?.desired).toMatchObject({ weight: 7 });
  });

  it('refuses children of a load balancer that does not exist, is another project’s or another environment’s', async () => {
    const store = await make();
    const ids = lbIds();
    expect(await record(store, requests.createPool(ids))).toBe(
      `not-found: load balancer ${ids.loadbalancerId} does not exist`,
    );
    await record(store, requests.createLoadbalancer(ids));
    const stranger = { ...ids, tenantId: lbIds().tenantId };
    expect(await record(store, requests.createPool(stranger))).toBe(
      `tenant-mismatch: load balancer ${ids.loadbalancerId} does not belong to project ${stranger.tenantId}`,
    );
    expect(await record(store, requests.createPool(ids), 'Other')).toBe(
      `environment-mismatch: load balancer ${ids.loadbalancerId} belongs to environment ${ENV}, not Other`,
    );
    expect(await record(store, requests.update('pool', ids, { id: uuid(), name: 'x' }))).toMatch(
      /^not-found: pool .* does not exist in load balancer/,
    );
  });

  it('refuses a VIP another load balancer holds, naming it, and frees it once that one is deleted', async () => {
    const store = await make();
    const [a, b] = [lbIds(), lbIds()];
    await record(store, requests.createLoadbalancer(a, { vip_address: '10.7.0.1' }));
    expect(await record(store, requests.createLoadbalancer(b, { vip_address: '10.7.0.1' }))).toBe(
      `conflict: load balancer ${b.loadbalancerId} cannot be created: VIP 10.7.0.1 is already used by loadbalancer ${a.loadbalancerId} in environment ${ENV}`,
    );
    const [root] = await store.loadRecords(a.loadbalancerId);
    if (!root) throw new Error('no record');
    expect(await store.recordOutcomes([{ kind: 'deleted', record: root }], 2_000)).toBe(1);
    expect(await record(store, requests.createLoadbalancer(b, { vip_address: '10.7.0.1' }))).toBe('recorded');
  });

  it('refuses a reference into another load balancer, saying whose it is', async () => {
    const store = await make();
    const a = lbIds();
    const b = lbIds({ tenantId: a.tenantId });
    const pool = requests.createPool(a);
    for (const m of [requests.createLoadbalancer(a), pool, requests.createLoadbalancer(b)])
      expect(await record(store, m)).toBe('recorded');
    expect(await record(store, requests.createMember(b, pool.object.id as string))).toBe(
      `not-found: pool_id ${pool.object.id} is not a pool of load balancer ${b.loadbalancerId}: it belongs to load balancer ${a.loadbalancerId}`,
    );
    expect(await record(store, requests.createPool(b, { id: pool.object.id }))).toBe(
      `conflict: pool ${pool.object.id} cannot be created: id ${pool.object.id} is already used by pool ${pool.object.id} of load balancer ${a.loadbalancerId} in environment ${ENV}`,
    );
  });

  it('refuses an update that repeats an immutable field with another value, and any change of an object being deleted', async () => {
    const store = await make();
    const ids = lbIds();
    const listener = requests.createListener(ids, { protocol_port: 80 });
    await record(store, requests.createLoadbalancer(ids));
    await record(store, listener);
    expect(
      await record(
        store,
        requests.update('listener', ids, { id: listener.object.id, protocol_port: 81, name: 'n' }),
      ),
    ).toBe('immutable-field: update cannot change protocol_port (stored 80, given 81)');
    expect(await record(store, requests.delete('listener', ids, listener.object.id as string))).toBe(
      'recorded',
    );
    expect(await record(store, requests.update('listener', ids, { id: listener.object.id, name: 'n' }))).toBe(
      `conflict: listener ${listener.object.id} is being deleted`,
    );
    expect(await record(store, requests.createPool(ids))).toBe('recorded');
    await record(store, requests.delete('loadbalancer', ids, ids.loadbalancerId));
    expect(await record(store, requests.createPool(ids))).toBe(
      `conflict: load balancer ${ids.loadbalancerId} is being deleted`,
    );
  });

  it('writes an outcome only for the revision it applied: a newer request keeps its PENDING status', async () => {
    const store = await make();
    const ids = lbIds();
    const pool = requests.createPool(ids);
    await record(store, requests.createLoadbalancer(ids));
    await record(store, pool);
    const read = await store.loadRecords(ids.loadbalancerId);
    await record(store, requests.update('pool', ids, { id: pool.object.id, name: 'newer' }));
    const written = await store.recordOutcomes(
      read.map((r) => ({ kind: 'active', record: r, operatingStatus: 'ONLINE' }) as const),
      2_000,
    );
    // The pool's and the load balancer's revisions moved on with the newer request.
    expect(written).toBe(0);
    expect(await statusOf(store, ids.loadbalancerId, pool.object.id as string)).toBe('PENDING_UPDATE');
    const now = await store.loadRecords(ids.loadbalancerId);
    expect(
      await store.recordOutcomes(
        now.map((r) => ({ kind: 'error', record: r, reason: 'refused' }) as const),
        3_000,
      ),
    ).toBe(2);
    expect(
      await store.loadObjects(ids.loadbalancerId, [{ type: 'pool', id: pool.object.id as string }]),
    ).toEqual([
      expect.objectContaining({
        provisioningStatus: 'ERROR',
        statusReason: 'refused',
        operatingStatus: 'OFFLINE',
      }),
    ]);
  });

  it('keeps what a change applied and read back: with its status, on its own whatever the revision, through later requests, never on a deleted record', async () => {
    const store = await make();
    const ids = lbIds();
    const pool = requests.createPool(ids);
    const poolId = pool.object.id as string;
    await record(store, requests.createLoadbalancer(ids));
    await record(store, pool);
    const poolRecord = async () =>
      (await store.loadObjects(ids.loadbalancerId, [{ type: 'pool', id: poolId }]))[0];
    const first = {
      'pool/P/p1': { intent: 'i1', readBack: 'r1', tmos: '15.1.0' },
      // Read back as sent, by a device that did not say its version.
      'persistence-cookie/P/c1': { intent: 'i3', readBack: 'i3', tmos: '' },
    };
    const read = await store.loadRecords(ids.loadbalancerId);
    // Rides on the ACTIVE status write of its resource.
    expect(
      await store.recordOutcomes(
        read.map(
          (r) =>
            ({
              kind: 'active',
              record: r,
              operatingStatus: 'ONLINE',
              ...(r.type === 'pool' ? { lastApplied: first } : {}),
            }) as const,
        ),
        2_000,
      ),
    ).toBe(2);
    expect(await poolRecord()).toMatchObject({ provisioningStatus: 'ACTIVE', lastApplied: first });
    // A later request for the object keeps it (it describes the device, not the request).
    await record(store, requests.update('pool', ids, { id: poolId, name: 'newer' }));
    expect(await poolRecord()).toMatchObject({ provisioningStatus: 'PENDING_UPDATE', lastApplied: first });
    // A status write for a revision the newer request superseded carries none of it.
    const stale = read.find((r) => r.type === 'pool');
    if (!stale) throw new Error('no pool record');
    const ignored = { 'pool/P/p1': { intent: 'i0', readBack: 'r0', tmos: '15.1.0' } };
    expect(
      await store.recordOutcomes(
        [{ kind: 'active', record: stale, operatingStatus: 'ONLINE', lastApplied: ignored }],
        3_000,
      ),
    ).toBe(0);
    expect((await poolRecord())?.lastApplied).toEqual(first);
    // On its own: whatever the revision, but never a stub for a record that is gone.
    const second = { 'pool/P/p1': { intent: 'i2', readBack: 'r2', tmos: '17.1.2.1' } };
    expect(
      await store.recordLastApplied(ids.loadbalancerId, [
        { key: `pool#${poolId}`, lastApplied: second },
        { key: `member#${uuid()}`, lastApplied: second },
      ]),
    ).toBe(1);
    expect(await poolRecord()).toMatchObject({ provisioningStatus: 'PENDING_UPDATE', lastApplied: second });
    expect((await store.loadRecords(ids.loadbalancerId)).map((r) => r.type).sort()).toEqual([
      'loadbalancer',
      'pool',
    ]);
  });

  it('marks ERROR only on an object of the given project and environment', async () => {
    const store = await make();
    const ids = lbIds();
    await record(store, requests.createLoadbalancer(ids));
    const ref = { loadbalancerId: ids.loadbalancerId, type: 'loadbalancer' as const, id: ids.loadbalancerId };
    expect(await store.markError({ ...ref, tenantId: lbIds().tenantId, env: ENV }, 'x', 2_000)).toBe(false);
    expect(await store.markError({ ...ref, tenantId: ids.tenantId, env: 'Other' }, 'x', 2_000)).toBe(false);
    expect(await store.markError({ ...ref, tenantId: ids.tenantId, env: ENV }, 'why', 2_000)).toBe(true);
    expect(await statusOf(store, ids.loadbalancerId, ids.loadbalancerId)).toBe('ERROR');
  });

  it('records a member batch whole, and refuses one listing an id another load balancer holds', async () => {
    const store = await make();
    const a = lbIds();
    const b = lbIds({ tenantId: a.tenantId });
    const poolA = requests.createPool(a);
    const poolB = requests.createPool(b);
    for (const m of [requests.createLoadbalancer(a), poolA, requests.createLoadbalancer(b), poolB])
      await record(store, m);
    const taken = uuid();
    const members = [
      { id: taken, address: '10.8.0.1', protocol_port: 80 },
      { id: uuid(), address: '10.8.0.2', protocol_port: 80 },
    ];
    expect(await record(store, requests.memberBatch(a, poolA.object.id as string, members))).toBe('recorded');
    expect((await store.loadRecords(a.loadbalancerId)).filter((r) => r.type === 'member')).toHaveLength(2);
    expect(
      await record(
        store,
        requests.memberBatch(b, poolB.object.id as string, [{ ...members[0], address: '10.8.0.9' }]),
      ),
    ).toBe(
      `conflict: member ${taken} cannot be created: id ${taken} is already used by member ${taken} of load balancer ${a.loadbalancerId} in environment ${ENV}`,
    );
    expect((await store.loadRecords(b.loadbalancerId)).filter((r) => r.type === 'member')).toEqual([]);
  });

  it('clears a load balancer’s own change only for its request, and records a repair only on the revision read', async () => {
    const store = await make();
    const ids = lbIds();
    await record(store, requests.createLoadbalancer(ids));
    const rename = requests.update('loadbalancer', ids, { id: ids.loadbalancerId, name: 'renamed' });
    await record(store, rename);
    const root = (await store.loadRecords(ids.loadbalancerId))[0];
    expect(root).toMatchObject({ ownChangePending: true });
    await store.clearOwnChange(ids.loadbalancerId, 'another-request');
    expect((await store.loadRecords(ids.loadbalancerId))[0]?.ownChangePending).toBe(true);
    await store.clearOwnChange(ids.loadbalancerId, rename.requestId);
    expect((await store.loadRecords(ids.loadbalancerId))[0]?.ownChangePending).toBeUndefined();
    if (!root) throw new Error('no record');
    // Pending: no repair is recorded over a request.
    expect(await store.recordRepair(root, 'drift repaired', 2_000)).toBe(false);
    await store.recordOutcomes([{ kind: 'active', record: root, operatingStatus: 'ONLINE' }], 2_000);
    const active = (await store.loadRecords(ids.loadbalancerId))[0];
    if (!active) throw new Error('no record');
    expect(await store.recordRepair(active, 'drift repaired', 3_000)).toBe(true);
    expect((await store.loadRecords(ids.loadbalancerId))[0]).toMatchObject({
      provisioningStatus: 'ACTIVE',
      statusReason: 'drift repaired',
    });
  });

  it('clears a listener’s default pool only while it still names that pool, keeping its status', async () => {
    const store = await make();
    const ids = lbIds();
    const pool = requests.createPool(ids);
    const listener = requests.createListener(ids, { default_pool_id: pool.object.id });
    for (const m of [requests.createLoadbalancer(ids), pool, listener]) await record(store, m);
    const before = await statusOf(store, ids.loadbalancerId, listener.object.id as string);
    expect(
      await store.clearDefaultPool(ids.loadbalancerId, listener.object.id as string, 'another-pool'),
    ).toBe(false);
    expect(
      await store.clearDefaultPool(
        ids.loadbalancerId,
        listener.object.id as string,
        pool.object.id as string,
      ),
    ).toBe(true);
    const [stored] = await store.loadObjects(ids.loadbalancerId, [
      { type: 'listener', id: listener.object.id as string },
    ]);
    expect(stored?.desired).toMatchObject({ default_pool_id: null });
    expect(stored?.provisioningStatus).toBe(before);
  });

  it('locates a child object’s load balancer by its id in the environment', async () => {
    const store = await make();
    const ids = lbIds();
    const pool = requests.createPool(ids);
    await record(store, requests.createLoadbalancer(ids));
    await record(store, pool);
    expect(await store.locate(ENV, pool.object.id as string)).toEqual({
      loadbalancerId: ids.loadbalancerId,
      type: 'pool',
    });
    expect(await store.locate('Other', pool.object.id as string)).toBeUndefined();
  });

  it("holds a guarded write (the API's) to the load balancer's revision and status, and a member's pool to ACTIVE", async () => {
    const store = await make();
    const ids = lbIds();
    await record(store, requests.createLoadbalancer(ids));
    const pool = requests.createPool(ids);
    const poolId = (pool.object as { id: string }).id;
    const rootOf = async () =>
      (await store.loadRecords(ids.loadbalancerId)).find((r) => r.type === 'loadbalancer');
    const created = await rootOf();
    if (!created) throw new Error('no record');
    // Still PENDING_CREATE: Octavia's immutability 409, and nothing written.
    expect(await record(store, pool, ENV, { revision: created.revision, statuses: ['ACTIVE'] })).toBe(
      `conflict: Load Balancer ${ids.loadbalancerId} is immutable and cannot be updated.`,
    );
    expect(await statusOf(store, ids.loadbalancerId, poolId)).toBeUndefined();
    await store.recordOutcomes([{ kind: 'active', record: created, operatingStatus: 'ONLINE' }], 2_000);
    const active = await rootOf();
    if (!active) throw new Error('no record');
    // Read before another write landed: nothing in the way explains it, so the caller reads again.
    expect(await record(store, pool, ENV, { revision: active.revision - 1, statuses: ['ACTIVE'] })).toBe(
      'unexplained',
    );
    expect(await record(store, pool, ENV, { revision: active.revision, statuses: ['ACTIVE'] })).toBe(
      'recorded',
    );
    const updating = await rootOf();
    if (!updating) throw new Error('no record');
    expect(updating.provisioningStatus).toBe('PENDING_UPDATE');
    // The pool is PENDING_CREATE: a member of it is refused on the pool, even where the load balancer's status is allowed.
    const member = requests.createMember(ids, poolId);
    expect(
      await record(store, member, ENV, {
        revision: updating.revision,
        statuses: ['ACTIVE', 'PENDING_UPDATE'],
        pool: poolId,
      }),
    ).toBe(`conflict: Pool ${poolId} is immutable and cannot be updated.`);
    expect(await statusOf(store, ids.loadbalancerId, (member.object as { id: string }).id)).toBeUndefined();
  });

  it("holds a guarded member batch (the API's) like any guarded write: immutable load balancer or pool, stale revision, then recorded", async () => {
    const store = await make();
    const ids = lbIds();
    await record(store, requests.createLoadbalancer(ids));
    const pool = requests.createPool(ids);
    const poolId = (pool.object as { id: string }).id;
    await record(store, pool);
    const activate = async () => {
      const records = await store.loadRecords(ids.loadbalancerId);
      await store.recordOutcomes(
        records.map((record) => ({ kind: 'active' as const, record, operatingStatus: 'ONLINE' as const })),
        2_000,
      );
    };
    const rootOf = async () =>
      (await store.loadRecords(ids.loadbalancerId)).find((r) => r.type === 'loadbalancer');
    const members = [{ id: uuid(), address: '10.8.1.1', protocol_port: 80 }];
    const batch = requests.memberBatch(ids, poolId, members);
    const memberIds = async () =>
      (await store.loadRecords(ids.loadbalancerId)).filter((r) => r.type === 'member').map((r) => r.id);
    // Pending: Octavia's immutability 409, nothing written and the load balancer left as it was.
    const pending = await rootOf();
    if (!pending) throw new Error('no record');
    expect(await record(store, batch, ENV, { revision: pending.revision, statuses: ['ACTIVE'] })).toBe(
      `conflict: Load Balancer ${ids.loadbalancerId} is immutable and cannot be updated.`,
    );
    expect(await memberIds()).toEqual([]);
    expect((await rootOf())?.provisioningStatus).toBe('PENDING_UPDATE');
    await activate();
    const active = await rootOf();
    if (!active) throw new Error('no record');
    expect(
      await record(store, batch, ENV, { revision: active.revision - 1, statuses: ['ACTIVE'], pool: poolId }),
    ).toBe('unexplained');
    expect(await memberIds()).toEqual([]);
    expect((await rootOf())?.provisioningStatus).toBe('ACTIVE');
    expect(
      await record(store, batch, ENV, { revision: active.revision, statuses: ['ACTIVE'], pool: poolId }),
    ).toBe('recorded');
    expect(await memberIds()).toEqual([members[0]?.id]);
    expect((await rootOf())?.provisioningStatus).toBe('PENDING_UPDATE');
    expect(await statusOf(store, ids.loadbalancerId, poolId)).toBe('PENDING_UPDATE');
  });

  it('refuses a guarded member batch on the pool when the pool is not ACTIVE, writing nothing', async () => {
    const store = await make();
    const ids = lbIds();
    const pool = requests.createPool(ids);
    const poolId = (pool.object as { id: string }).id;
    for (const m of [requests.createLoadbalancer(ids), pool]) await record(store, m);
    const records = await store.loadRecords(ids.loadbalancerId);
    const root = records.find((r) => r.type === 'loadbalancer');
    if (!root) throw new Error('no record');
    // Only the load balancer became ACTIVE: its pool is still PENDING_CREATE.
    await store.recordOutcomes([{ kind: 'active', record: root, operatingStatus: 'ONLINE' }], 2_000);
    const active = (await store.loadRecords(ids.loadbalancerId)).find((r) => r.type === 'loadbalancer');
    if (!active) throw new Error('no record');
    const batch = requests.memberBatch(ids, poolId, [{ id: uuid(), address: '10.8.2.1', protocol_port: 80 }]);
    expect(
      await record(store, batch, ENV, {
        revision: active.revision,
        statuses: ['ACTIVE'],
        pool: poolId,
      }),
    ).toBe(`conflict: Pool ${poolId} is immutable and cannot be updated.`);
    const after = await store.loadRecords(ids.loadbalancerId);
    expect(after.filter((r) => r.type === 'member')).toEqual([]);
    expect(after.find((r) => r.type === 'loadbalancer')?.provisioningStatus).toBe('ACTIVE');
  });
});

/** Each store with a count of the writes a run took: DynamoDB's TransactWriteItems calls, the fake's merged writes. */
const runStores: [string, () => Promise<{ store: ResourceStore; writes: () => number }>][] = [
  [
    'in-memory',
    async () => {
      const store = new InMemoryResourceStore();
      return { store, writes: () => store.mergedWrites };
    },
  ],
  [
    'DynamoDB',
    async () => {
      const { db, dynamodb } = localClients();
      let transactions = 0;
      db.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName?.startsWith('TransactWrite')) transactions += 1;
          return next(args);
        },
        { step: 'initialize', name: 'countTransactions' },
      );
      return {
        store: new DynamoDbResourceStore(db, await freshTables(dynamodb)),
        writes: () => transactions,
      };
    },
  ],
];

describe.each(runStores)('ResourceStore contract, a run recorded in one write: %s', (_name, make) => {
  /** A load balancer with a pool, recorded one request at a time. */
  async function withPool(store: ResourceStore) {
    const ids = lbIds();
    const pool = requests.createPool(ids);
    for (const m of [requests.createLoadbalancer(ids), pool]) expect(await record(store, m)).toBe('recorded');
    return { ids, poolId: pool.object.id as string };
  }
  const rootRevision = async (store: ResourceStore, lb: string) =>
    (await store.loadRecords(lb)).find((r) => r.type === 'loadbalancer')?.revision;

  it('records member creates in one write: each PENDING_CREATE with its guard, the root once with revision + n, counted once each', async () => {
    const { store, writes } = await make();
    const { ids, poolId } = await withPool(store);
    const before = { revision: await rootRevision(store, ids.loadbalancerId), writes: writes() };
    const members = Array.from({ length: 10 }, (_, i) =>
      requests.createMember(ids, poolId, { address: `10.8.3.${i + 1}` }),
    );
    expect(await store.recordRequests(members.map(parsed), ENV, 2_000)).toBe(10);
    expect(writes() - before.writes).toBe(1);
    const records = await store.loadRecords(ids.loadbalancerId);
    for (const m of members)
      expect(records.find((r) => r.id === m.object.id)).toMatchObject({
        type: 'member',
        provisioningStatus: 'PENDING_CREATE',
        requestId: m.requestId,
      });
    expect(records.find((r) => r.type === 'loadbalancer')).toMatchObject({
      provisioningStatus: 'PENDING_UPDATE',
      revision: (before.revision as number) + 10,
    });
    expect(await store.loadUsage(ENV, ids.tenantId)).toMatchObject({ member: 10 });
    for (const m of members) {
      expect(await store.isGuarded(ENV, parsed(m), 2_000)).toBe(true);
      expect(await record(store, m)).toBe('duplicate');
    }
  });

  it('records nothing when one request of the run would be refused or was recorded before: each on its own then says why', async () => {
    const { store } = await make();
    const { ids, poolId } = await withPool(store);
    const other = await withPool(store);
    const taken = requests.createMember(other.ids, other.poolId);
    expect(await record(store, taken)).toBe('recorded');
    const good = requests.createMember(ids, poolId, { address: '10.8.4.1' });
    const unknownPool = requests.createMember(ids, uuid(), { address: '10.8.4.2' });
    const takenId = requests.createMember(ids, poolId, { id: taken.object.id, address: '10.8.4.3' });
    const recordedBefore = requests.createMember(ids, poolId, { address: '10.8.4.4' });
    expect(await record(store, recordedBefore)).toBe('recorded');
    const before = await store.loadRecords(ids.loadbalancerId);
    for (const bad of [unknownPool, takenId, recordedBefore]) {
      expect(await store.recordRequests([good, bad].map(parsed), ENV, 2_000)).toBe(0);
      expect(await store.loadRecords(ids.loadbalancerId)).toEqual(before);
      expect(await store.isGuarded(ENV, parsed(good), 2_000)).toBe(false);
    }
    expect(await store.loadUsage(ENV, ids.tenantId)).toMatchObject({ member: 1 });
    // One by one, as the scheduler then records them.
    expect(await record(store, good)).toBe('recorded');
    expect(await record(store, unknownPool)).toBe(
      `not-found: pool_id ${unknownPool.object.pool_id} is not a pool of load balancer ${ids.loadbalancerId}`,
    );
    expect(await record(store, takenId)).toBe(
      `conflict: member ${taken.object.id} cannot be created: id ${taken.object.id} is already used by member ${taken.object.id} of load balancer ${other.ids.loadbalancerId} in environment ${ENV}`,
    );
    expect(await record(store, recordedBefore)).toBe('duplicate');
  });

  it('takes only what one write may hold: no item twice, one load balancer and project, at most 100 items', async () => {
    const { store } = await make();
    const { ids, poolId } = await withPool(store);
    const a = requests.createMember(ids, poolId, { address: '10.8.5.1' });
    const sameId = requests.createMember(ids, poolId, { id: a.object.id, address: '10.8.5.2' });
    const newPool = requests.createPool(ids);
    const inNewPool = requests.createMember(ids, newPool.object.id as string, { address: '10.8.5.3' });
    // The second writes the first's object; the pool the member points at is created in the same run.
    expect(await store.recordRequests([a, sameId].map(parsed), ENV, 2_000)).toBe(0);
    expect(await store.recordRequests([newPool, inNewPool].map(parsed), ENV, 2_000)).toBe(0);
    // Another load balancer's request, a load balancer's own.
    const elsewhere = requests.createPool(lbIds({ tenantId: ids.tenantId }));
    expect(await store.recordRequests([a, elsewhere].map(parsed), ENV, 2_000)).toBe(0);
    const own = requests.update('loadbalancer', ids, { id: ids.loadbalancerId, name: 'n' });
    expect(await store.recordRequests([a, own].map(parsed), ENV, 2_000)).toBe(0);
    expect(await store.loadUsage(ENV, ids.tenantId)).toEqual({ loadbalancer: 1, pool: 1 });
    // Three items a member (its guard, record and id claim), the root, the usage counter and the pool once.
    const many = Array.from({ length: 40 }, (_, i) =>
      requests.createMember(ids, poolId, { address: `10.8.6.${i + 1}` }),
    );
    expect(await store.recordRequests(many.map(parsed), ENV, 2_000)).toBe(32);
    expect(await store.isGuarded(ENV, parsed(many[31] as (typeof many)[number]), 2_000)).toBe(true);
    expect(await store.isGuarded(ENV, parsed(many[32] as (typeof many)[number]), 2_000)).toBe(false);
  });
});
