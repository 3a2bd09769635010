import { describe, expect, it } from 'vitest';
import { type LbaasRequest, parseRequest } from '../../functions/domain/lbaas-request.js';
import type { ResourceRecord } from '../../functions/domain/resource-state.js';
import { lbIds, requests, uuid } from '../support/factories.js';
import { captureMetrics } from '../support/scheduler-harness.js';
import { type systemHarness, systemsClosedAfterEach } from '../support/system-harness.js';

type System = Awaited<ReturnType<typeof systemHarness>>;
const system = systemsClosedAfterEach();

/** A load balancer with a listener and a pool, and the members given (address → weight). */
async function withPool(s: System, members: Record<string, number>) {
  const ids = lbIds();
  const listener = requests.createListener(ids);
  const pool = requests.createPool(ids, { listener_id: listener.object.id });
  const poolId = pool.object.id as string;
  const created = Object.entries(members).map(([address, weight]) =>
    requests.createMember(ids, poolId, { address, protocol_port: 80, weight }),
  );
  await s.submitAndSettle(requests.createLoadbalancer(ids), listener, pool, ...created);
  return { ids, poolId, created };
}

function parsedRequest(message: Record<string, unknown>): LbaasRequest {
  const parsed = parseRequest(JSON.stringify(message));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.request;
}

const memberRecords = (records: ResourceRecord[]) => records.filter((r) => r.type === 'member');
/** The pool's members on the device as `address:port weight`, from the simulator's own store. */
function onDevice(s: System, poolId: string) {
  const members = (s.sim.dump()['ltm/pool/members'] ?? []) as {
    pool: string;
    fullPath: string;
    ratio?: number;
  }[];
  return members
    .filter((m) => m.pool.endsWith(`_${poolId}`))
    .map((m) => `${m.fullPath.split('/').pop()} ${m.ratio ?? 1}`)
    .sort();
}

describe('batch member update (Octavia PUT /pools/{id}/members) through the whole pipeline', () => {
  it('creates, updates and deletes to match the list, reporting each member, in one write of the pool', async () => {
    const s = await system();
    const { ids, poolId, created } = await withPool(s, { '10.0.0.1': 1, '10.0.0.2': 1, '10.0.0.3': 1 });
    const [keep, drop, same] = created.map((c) => c.object);
    const added = Array.from({ length: 5 }, (_, i) => ({
      id: uuid(),
      address: `10.0.1.${i + 1}`,
      protocol_port: 80,
      weight: 3,
    }));
    s.sim.resetCalls();
    const batch = requests.memberBatch(ids, poolId, [
      { id: keep?.id, address: '10.0.0.1', protocol_port: 80, weight: 7 },
      { id: same?.id, address: '10.0.0.3', protocol_port: 80, weight: 1 },
      ...added,
    ]);
    await s.submitAndSettle(batch);

    const records = await s.resources.loadRecords(ids.loadbalancerId);
    const members = memberRecords(records);
    expect(members.map((m) => m.id).sort()).toEqual([keep?.id, same?.id, ...added.map((a) => a.id)].sort());
    expect(members.every((m) => m.provisioningStatus === 'ACTIVE')).toBe(true);
    expect(records.find((r) => r.type === 'pool')).toMatchObject({
      provisioningStatus: 'ACTIVE',
      requestId: batch.requestId,
    });
    expect(records.find((r) => r.id === drop?.id)).toBeUndefined();
    // Expected from the list given, not from the translation.
    expect(onDevice(s, poolId)).toEqual(
      ['10.0.0.1:80 7', '10.0.0.3:80 1', ...added.map((a) => `${a.address}:80 3`)].sort(),
    );
    // One write for seven member changes, and the dropped member's node cleaned up.
    const writes = s.sim.calls.filter((c) => c.method !== 'GET' && !c.path.includes('/authn/'));
    // (The pool's mode changes too: its members no longer weigh the same, so it becomes ratio-member.)
    expect(
      writes.map((c) => `${c.method} ${c.path.replace(/~[^/]+$/, '~id').replace(/\/\d+$/, '/id')}`),
    ).toEqual([
      'POST /mgmt/tm/transaction',
      'PATCH /mgmt/tm/ltm/pool/~id',
      'PATCH /mgmt/tm/ltm/pool/~id',
      'PATCH /mgmt/tm/transaction/id',
      'DELETE /mgmt/tm/ltm/node/~id',
    ]);
    expect(s.sim.calls.filter((c) => c.path.includes('/members'))).toEqual([]);
    expect(((s.sim.dump()['ltm/node'] ?? []) as { name: string }[]).map((n) => n.name)).not.toContain(
      '10.0.0.2',
    );
  });

  it('replaces a member by a new one on its address and port: the old one is deleted, nothing stays pending (#27.9)', async () => {
    const s = await system();
    const { ids, poolId, created } = await withPool(s, { '10.0.0.1': 1 });
    const old = created[0]?.object as { id: string };
    const replacement = { id: uuid(), address: '10.0.0.1', protocol_port: 80, weight: 2 };
    await s.submitAndSettle(requests.memberBatch(ids, poolId, [replacement]));
    const records = await s.resources.loadRecords(ids.loadbalancerId);
    expect(memberRecords(records).map((r) => [r.id, r.provisioningStatus])).toEqual([
      [replacement.id, 'ACTIVE'],
    ]);
    expect(records.find((r) => r.type === 'loadbalancer')?.provisioningStatus).toBe('ACTIVE');
    expect(records.some((r) => r.id === old.id)).toBe(false);
    expect(onDevice(s, poolId)).toEqual(['10.0.0.1:80 2']);
  });

  it('keeps unlisted members when additive_only, and applies an empty list as "remove them all"', async () => {
    const s = await system();
    const { ids, poolId } = await withPool(s, { '10.0.0.1': 1, '10.0.0.2': 1 });
    const extra = { id: uuid(), address: '10.0.0.9', protocol_port: 80 };
    await s.submitAndSettle(requests.memberBatch(ids, poolId, [extra], true));
    expect(onDevice(s, poolId)).toEqual(['10.0.0.1:80 1', '10.0.0.2:80 1', '10.0.0.9:80 1']);

    await s.submitAndSettle(requests.memberBatch(ids, poolId, []));
    expect(onDevice(s, poolId)).toEqual([]);
    expect(memberRecords(await s.resources.loadRecords(ids.loadbalancerId))).toEqual([]);
  });

  it('refuses a batch that cannot be applied whole, before anything is written', async () => {
    const s = await system();
    const { ids, poolId, created } = await withPool(s, { '10.0.0.1': 1 });
    const other = await withPool(s, { '10.0.0.7': 1 });
    const members = async () =>
      memberRecords(await s.resources.loadRecords(ids.loadbalancerId))
        .map((r) => `${r.id}:${r.revision}:${r.provisioningStatus}`)
        .sort();
    const before = await members();
    const fresh = { id: uuid(), address: '10.0.2.1', protocol_port: 80 };
    const existing = created[0]?.object as { id: string };
    for (const [list, why, category] of [
      // An immutable field of a listed member changes.
      [
        [{ id: existing.id, address: '10.0.0.99', protocol_port: 80 }, fresh],
        'cannot change address',
        'immutable-field',
      ],
      // An id another load balancer's member holds (its claim is checked before any write).
      [
        [fresh, { id: other.created[0]?.object.id, address: '10.0.2.2', protocol_port: 80 }],
        'already used',
        'conflict',
      ],
      // A new member on an address and port a staying member has.
      [
        [
          { id: existing.id, address: '10.0.0.1', protocol_port: 80 },
          { id: uuid(), address: '10.0.0.1', protocol_port: 80 },
        ],
        'listed twice',
        'invalid-message',
      ],
    ] as const) {
      const { metrics } = await captureMetrics(() =>
        s.submitAndSettle(requests.memberBatch(ids, poolId, [...list])),
      );
      expect(metrics.filter((m) => m.name === 'RejectedRequests').map((m) => m.dimensions.Reason)).toEqual([
        category,
      ]);
      // The reason is on the batch's pool; no member was created, changed or deleted.
      const pool = (await s.resources.loadRecords(ids.loadbalancerId)).find((r) => r.type === 'pool');
      if (category === 'immutable-field') expect(pool?.statusReason).toContain(why);
      // A conflict never marks anything (it may name another load balancer's objects): log and metric only.
      else expect(pool?.statusReason ?? '').not.toContain(why);
      expect(await members()).toEqual(before);
      expect(onDevice(s, poolId)).toEqual(['10.0.0.1:80 1']);
    }
    // Additive: a new member on the address and port of a member that stays.
    const { metrics } = await captureMetrics(() =>
      s.submitAndSettle(
        requests.memberBatch(ids, poolId, [{ id: uuid(), address: '10.0.0.1', protocol_port: 80 }], true),
      ),
    );
    expect(metrics.filter((m) => m.name === 'RejectedRequests').map((m) => m.dimensions.Reason)).toEqual([
      'conflict',
    ]);
    expect(await members()).toEqual(before);
  });

  it('writes many statuses a hundred per transaction, and one by one around a superseded object', async () => {
    const s = await system();
    const { ids, poolId } = await withPool(s, {});
    const members = Array.from({ length: 120 }, (_, i) => ({
      id: uuid(),
      address: `10.3.0.${i + 1}`,
      protocol_port: 80,
    }));
    await s.submitAndSettle(requests.memberBatch(ids, poolId, members));
    const records = memberRecords(await s.resources.loadRecords(ids.loadbalancerId));
    expect(records).toHaveLength(120);
    // A newer request touches one member after an apply read the tree: its outcome must not land.
    const stale = records[7] as ResourceRecord;
    await s.resources.recordRequest(
      parsedRequest(requests.update('member', ids, { id: stale.id, weight: 9 })),
      s.env,
      Date.now(),
    );
    const written = await s.resources.recordOutcomes(
      records.map((record) => ({ kind: 'active', record, operatingStatus: 'ONLINE' }) as const),
      Date.now(),
    );
    expect(written).toBe(119);
    const after = memberRecords(await s.resources.loadRecords(ids.loadbalancerId));
    expect(after.find((r) => r.id === stale.id)?.provisioningStatus).toBe('PENDING_UPDATE');
    expect(after.filter((r) => r.provisioningStatus === 'ACTIVE')).toHaveLength(119);
  });
});
