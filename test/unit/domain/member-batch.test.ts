import { describe, expect, it } from 'vitest';
import {
  forwardable,
  MAX_BATCH_MEMBERS,
  type MemberBatchRequest,
  parseRequest,
} from '../../../functions/domain/lbaas-request.js';
import { type MemberBatchChanges, planMemberBatch } from '../../../functions/domain/member-batch.js';
import { allRecords } from '../../../functions/domain/resource-state.js';
import { lbIds, requests, uuid } from '../../support/factories.js';
import { TreeBuilder } from '../../support/trees.js';

const env = 'Project';
const member = (address: string, extra: Record<string, unknown> = {}) => ({
  id: uuid(),
  address,
  protocol_port: 80,
  ...extra,
});

function batch(b: TreeBuilder, poolId: string, members: Record<string, unknown>[], additive = false) {
  const parsed = parseRequest(JSON.stringify(requests.memberBatch(b.ids, poolId, members, additive)));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.request as MemberBatchRequest;
}

describe('member batch requests (parse)', () => {
  it('parses a pool’s member list with member defaults, its pool as the object, and travels slim', () => {
    const ids = lbIds();
    const pool = uuid();
    const parsed = parseRequest(
      JSON.stringify(
        requests.memberBatch(ids, pool, [member('10.0.0.1'), member('10.0.0.2', { weight: 5 })]),
      ),
    );
    expect(parsed).toMatchObject({
      ok: true,
      request: {
        operation: 'batch_update',
        resource: 'member',
        object: {
          id: pool,
          pool_id: pool,
          additive_only: false,
          members: [
            { address: '10.0.0.1', weight: 1, admin_state_up: true, pool_id: pool },
            { address: '10.0.0.2', weight: 5 },
          ],
        },
      },
    });
    const request = (parsed as { request: MemberBatchRequest }).request;
    expect(forwardable(request).object).toEqual({ id: pool });
  });

  it('refuses what could never be applied whole, saying where', () => {
    const ids = lbIds();
    const pool = uuid();
    const reason = (body: unknown) => {
      const r = parseRequest(JSON.stringify(body));
      return r.ok ? 'accepted' : r.reason;
    };
    const dup = member('10.0.0.1');
    expect(reason(requests.memberBatch(ids, pool, [dup, dup]))).toContain('listed twice');
    expect(reason(requests.memberBatch(ids, pool, [member('10.0.0.1'), member('10.0.0.1')]))).toContain(
      '10.0.0.1:80 is listed twice',
    );
    expect(reason(requests.memberBatch(ids, pool, [member('10.0.0.1', { pool_id: uuid() })]))).toContain(
      "must be the batch's pool_id",
    );
    expect(reason(requests.memberBatch(ids, pool, [member('10.0.0.1', { weight: 999 })]))).toContain(
      'object.members.0.weight',
    );
    const many = Array.from({ length: MAX_BATCH_MEMBERS + 1 }, (_, i) => member(`10.1.${i >> 8}.${i & 255}`));
    expect(reason(requests.memberBatch(ids, pool, many))).toContain(`at most ${MAX_BATCH_MEMBERS}`);
    expect(reason({ ...requests.memberBatch(ids, pool, []), resource: 'pool' })).toContain(
      'batch_update is an operation on members',
    );
  });
});

/** The changes of a batch the plan accepted (the test fails on a refusal). */
function planned(out: ReturnType<typeof planMemberBatch>): MemberBatchChanges {
  if ('refusal' in out) throw new Error(`refused: ${out.refusal.reason}`);
  return out;
}

describe('planMemberBatch (what a batch does to the stored members)', () => {
  it('creates new ids, updates changed members, deletes the unlisted unless additive', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    const other = b.pool();
    const same = b.member(pool.id, { address: '10.0.0.1' });
    const reweighed = b.member(pool.id, { address: '10.0.0.2' });
    const dropped = b.member(pool.id, { address: '10.0.0.3' });
    const elsewhere = b.member(other.id, { address: '10.0.0.3' });
    const added = member('10.0.0.9');
    const listed = [
      { id: same.id, address: '10.0.0.1', protocol_port: 8080 },
      { id: reweighed.id, address: '10.0.0.2', protocol_port: 8080, weight: 4 },
      added,
    ];
    const records = allRecords(b.tree());
    const full = planned(planMemberBatch(records, batch(b, pool.id, listed), env));
    expect(full.creates.map((m) => m.id)).toEqual([added.id]);
    expect(full.updates.map((u) => [u.record.id, u.changes])).toEqual([[reweighed.id, { weight: 4 }]]);
    expect(full.deletes.map((d) => d.id)).toEqual([dropped.id]);
    expect(full.deletes.map((d) => d.id)).not.toContain(elsewhere.id);
    expect(planned(planMemberBatch(records, batch(b, pool.id, listed, true), env)).deletes).toEqual([]);
  });

  it('refuses before anything is written: unknown pool, another object’s id, immutable fields, clashes', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    const other = b.pool();
    const m = b.member(pool.id, { address: '10.0.0.1', protocol_port: 80 });
    const foreign = b.member(other.id, { address: '10.0.0.5', protocol_port: 80 });
    const records = allRecords(b.tree());
    const refusal = (request: MemberBatchRequest, e = env) => {
      const out = planMemberBatch(records, request, e);
      return 'refusal' in out ? `${out.refusal.category}: ${out.refusal.reason}` : 'accepted';
    };
    expect(refusal(batch(b, uuid(), []))).toMatch(/^not-found: pool_id .* is not a pool of load balancer/);
    expect(refusal(batch(b, pool.id, [{ id: foreign.id, address: '10.0.0.5', protocol_port: 80 }]))).toMatch(
      /^conflict: .* in pool /,
    );
    expect(refusal(batch(b, pool.id, [{ id: m.id, address: '10.0.0.1', protocol_port: 81 }]))).toContain(
      'immutable-field: member',
    );
    expect(refusal(batch(b, pool.id, [member('10.0.0.1')], true))).toContain('10.0.0.1:80 is already member');
    expect(refusal(batch(b, pool.id, []), 'Other')).toMatch(/^environment-mismatch/);
  });
});
