import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  orderedPolicies,
  policyPositions,
  rankAt,
  rankBetween,
} from '../../../functions/domain/l7-policies.js';
import { type LbaasRequest, parseRequest } from '../../../functions/domain/lbaas-request.js';
import type { Refusal } from '../../../functions/domain/refusals.js';
import {
  type Checked,
  checkAgainstRecords,
  needsRecordChecks,
} from '../../../functions/domain/request-checks.js';
import type { ResourceRecord } from '../../../functions/domain/resource-state.js';
import { requests, uuid } from '../../support/factories.js';
import { TreeBuilder } from '../../support/trees.js';

const parsed = (message: Record<string, unknown>): LbaasRequest => {
  const r = parseRequest(JSON.stringify(message));
  if (!r.ok) throw new Error(r.reason);
  return r.request;
};
/** `category: reason` of a refused check, or `accepted`. */
const refusal = (fn: () => Checked | Refusal | undefined) => {
  const out = fn();
  if (out === undefined || 'request' in out) return 'accepted';
  const r = 'refusal' in out ? out.refusal : out;
  return `${r.category}: ${r.reason}`;
};

/** The request a check accepted (the test fails on a refusal). */
const accepted = (out: Checked): LbaasRequest => {
  if ('refusal' in out) throw new Error(`refused: ${out.refusal.reason}`);
  return out.request;
};

describe('rankBetween: a key strictly between two others', () => {
  it('always finds one, never ending in 0', () => {
    const rank = fc.stringMatching(/^[0-9]{0,6}[1-9]$/);
    fc.assert(
      fc.property(rank, rank, (x, y) => {
        fc.pre(x !== y);
        const [a, b] = x < y ? [x, y] : [y, x];
        const m = rankBetween(a, b);
        return a < m && m < b && !m.endsWith('0');
      }),
    );
    fc.assert(fc.property(rank, (a) => rankBetween(a, undefined) > a && rankBetween(undefined, a) < a));
  });

  it('keeps finding room after a hundred inserts at the same place', () => {
    let low: string | undefined;
    const high = '5';
    for (let i = 0; i < 100; i++) {
      const next = rankBetween(low, high);
      expect(next > (low ?? '') && next < high).toBe(true);
      low = next;
    }
  });
});

describe("positions: Octavia's list semantics", () => {
  // The oracle is Octavia's ordering list: insert at position p (1-based, clamped to the end),
  // a move is remove + insert, a delete closes the gap. Ranks must give the same order.
  type Op = { kind: 'create' | 'move' | 'delete'; position: number; pick: number };
  const op = fc.record({
    kind: fc.constantFrom<Op['kind']>('create', 'create', 'move', 'delete'),
    position: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.constant(2_147_483_647)),
    pick: fc.nat(),
  });

  it('insert, move and delete in any order give the list Octavia would keep', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const list: string[] = [];
        const records: ResourceRecord[] = [];
        let clock = 0;
        for (const o of ops) {
          if (o.kind === 'create') {
            const id = uuid();
            const index = Math.min(o.position, list.length + 1) - 1;
            list.splice(index, 0, id);
            const rank = rankAt(records, o.position);
            records.push({
              id,
              type: 'l7policy',
              createdAt: clock++,
              desired: { listener_id: 'L', rank },
            } as unknown as ResourceRecord);
          } else if (list.length > 0) {
            const id = list[o.pick % list.length] as string;
            list.splice(list.indexOf(id), 1);
            const at = records.findIndex((r) => r.id === id);
            const [record] = records.splice(at, 1) as [ResourceRecord];
            if (o.kind === 'move') {
              list.splice(Math.min(o.position, list.length + 1) - 1, 0, id);
              (record.desired as { rank: string }).rank = rankAt(records, o.position);
              records.push(record);
            }
          }
        }
        expect(orderedPolicies(records).map((r) => r.id)).toEqual(list);
      }),
    );
  });
});

describe('checkAgainstRecords: what a message alone cannot tell', () => {
  const setup = () => {
    const b = new TreeBuilder();
    const listener = b.listener({ protocol: 'HTTP' });
    const tcp = b.listener({ protocol: 'TCP', protocol_port: 5432 });
    const pool = b.pool();
    const tcpPool = b.pool({ protocol: 'TCP' });
    return { b, listener, tcp, pool, tcpPool };
  };

  it('places a new policy at its position and clears fields its action does not use', () => {
    const { b, listener, pool } = setup();
    const first = b.l7policy(listener.id, { position: 1 });
    const out = accepted(
      checkAgainstRecords(
        parsed(
          requests.createL7Policy(b.ids, listener.id, {
            action: 'REDIRECT_TO_URL',
            redirect_url: 'https://example.com/moved',
            redirect_pool_id: pool.id,
            position: 1,
          }),
        ),
        b.all,
      ),
    );
    const object = out.object as Record<string, unknown>;
    expect(object).toMatchObject({ redirect_pool_id: null, redirect_http_code: 302, redirect_prefix: null });
    expect(String(object.rank) < String((first.desired as { rank: string }).rank)).toBe(true);
  });

  it('holds a monitor’s new Host name against its stored HTTP version (and lets a version change in)', () => {
    const { b, pool } = setup();
    const hm = b.healthmonitor(pool.id, { type: 'HTTP' });
    const update = (object: Record<string, unknown>) =>
      parsed(requests.update('healthmonitor', b.ids, { id: hm.id, ...object }));
    expect(needsRecordChecks(update({ domain_name: 'a.example' }))).toBe(true);
    expect(needsRecordChecks(update({ delay: 9 }))).toBe(false);
    expect(refusal(() => checkAgainstRecords(update({ domain_name: 'a.example' }), b.all))).toMatch(
      /^invalid-message: 'http_version' must be specified/,
    );
    accepted(checkAgainstRecords(update({ http_version: 1.1, domain_name: 'a.example' }), b.all));
  });

  it('refuses a policy on a TCP listener, to another load balancer’s pool or a TCP pool', () => {
    const { b, tcp, listener, tcpPool } = setup();
    expect(refusal(() => checkAgainstRecords(parsed(requests.createL7Policy(b.ids, tcp.id)), b.all))).toMatch(
      /^unsupported: L7 policies need an HTTP or TERMINATED_HTTPS listener; listener .* is TCP/,
    );
    const elsewhere = requests.createL7Policy(b.ids, listener.id, {
      action: 'REDIRECT_TO_POOL',
      redirect_pool_id: uuid(),
    });
    expect(refusal(() => checkAgainstRecords(parsed(elsewhere), b.all))).toMatch(
      /^not-found: redirect_pool_id .* is not a pool of this load balancer/,
    );
    const toTcp = requests.createL7Policy(b.ids, listener.id, {
      action: 'REDIRECT_TO_POOL',
      redirect_pool_id: tcpPool.id,
    });
    expect(refusal(() => checkAgainstRecords(parsed(toTcp), b.all))).toMatch(
      /^unsupported: pool .* is a TCP pool/,
    );
  });

  it('refuses the 51st rule of a policy and a rule of a policy being deleted', () => {
    const { b, listener } = setup();
    const policy = b.l7policy(listener.id);
    for (let i = 0; i < 50; i++) b.l7rule(policy.id, { value: `/p${i}` });
    expect(
      refusal(() => checkAgainstRecords(parsed(requests.createL7Rule(b.ids, policy.id)), b.all)),
    ).toMatch(/^conflict: L7 policy .* already has 50 rules/);
    const other = b.l7policy(listener.id);
    b.status(other, 'PENDING_DELETE');
    expect(refusal(() => checkAgainstRecords(parsed(requests.createL7Rule(b.ids, other.id)), b.all))).toMatch(
      /^conflict: L7 policy .* is being deleted/,
    );
  });

  it('checks an update with the stored fields: a switch to REDIRECT_TO_URL needs a URL, and clears the pool', () => {
    const { b, listener, pool } = setup();
    const policy = b.l7policy(listener.id, { action: 'REDIRECT_TO_POOL', redirect_pool_id: pool.id });
    const bare = requests.update('l7policy', b.ids, { id: policy.id, action: 'REDIRECT_TO_URL' });
    expect(refusal(() => checkAgainstRecords(parsed(bare), b.all))).toMatch(
      /^invalid-message: .*object.redirect_url: REDIRECT_TO_URL needs redirect_url/,
    );
    const full = requests.update('l7policy', b.ids, {
      id: policy.id,
      action: 'REDIRECT_TO_URL',
      redirect_url: 'http://example.com/',
    });
    const out = accepted(checkAgainstRecords(parsed(full), b.all)) as { changes: Record<string, unknown> };
    expect(out.changes).toEqual({
      action: 'REDIRECT_TO_URL',
      redirect_url: 'http://example.com/',
      redirect_pool_id: null,
      redirect_http_code: 302,
    });
  });

  it('refuses to delete a pool an L7 policy redirects to', () => {
    const { b, listener, pool } = setup();
    const policy = b.l7policy(listener.id, { action: 'REDIRECT_TO_POOL', redirect_pool_id: pool.id });
    expect(refusal(() => checkAgainstRecords(parsed(requests.delete('pool', b.ids, pool.id)), b.all))).toBe(
      `conflict: pool ${pool.id} is the redirect pool of L7 policy ${policy.id}: change or delete the policy first`,
    );
  });

  it('moves a policy when an update names a position; positions read 1..n', () => {
    const { b, listener } = setup();
    const [p1, p2, p3] = [b.l7policy(listener.id), b.l7policy(listener.id), b.l7policy(listener.id)];
    expect([...policyPositions(b.all, listener.id)]).toEqual([
      [p1.id, 1],
      [p2.id, 2],
      [p3.id, 3],
    ]);
    const out = accepted(
      checkAgainstRecords(parsed(requests.update('l7policy', b.ids, { id: p3.id, position: 1 })), b.all),
    );
    (p3.desired as { rank: string }).rank = (out as unknown as { changes: { rank: string } }).changes.rank;
    expect([...policyPositions(b.all, listener.id).keys()]).toEqual([p3.id, p1.id, p2.id]);
  });
});
