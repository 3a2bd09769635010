import { describe, expect, it } from 'vitest';
import { mergeablePrefix } from '../../../functions/domain/merged-records.js';
import { lbIds, requests, uuid } from '../../support/factories.js';
import { parsed } from '../../support/service-fixtures.js';

const ENV = 'Unit';

describe('mergeablePrefix: the first requests of a run one transaction records as they would be one by one', () => {
  const ids = lbIds();
  const poolId = uuid();
  const member = (object: Record<string, unknown> = {}) => parsed(requests.createMember(ids, poolId, object));

  it('takes changes of distinct objects of one load balancer and project, sharing what they point at', () => {
    const run = [
      member(),
      parsed(requests.update('member', ids, { id: uuid(), weight: 3 })),
      parsed(requests.delete('healthmonitor', ids, uuid())),
      parsed(requests.createHealthMonitor(ids, poolId)),
    ];
    expect(mergeablePrefix(run, ENV)).toBe(4);
  });

  it('stops before a request that touches an item an earlier one writes, or writes one an earlier one points at', () => {
    const a = member();
    const pool = parsed(requests.createPool(ids));
    const listener = parsed(requests.createListener(ids, { protocol_port: 80 }));
    // The same object; the same guard (a request twice); the same port claim; a new pool's member; an object pointed at, then deleted.
    expect(mergeablePrefix([a, member({ id: a.object.id }), member()], ENV)).toBe(1);
    expect(mergeablePrefix([a, a], ENV)).toBe(1);
    expect(
      mergeablePrefix([listener, parsed(requests.createListener(ids, { protocol_port: 80 }))], ENV),
    ).toBe(1);
    expect(mergeablePrefix([member(), pool, parsed(requests.createMember(ids, pool.object.id))], ENV)).toBe(
      2,
    );
    expect(mergeablePrefix([a, parsed(requests.delete('pool', ids, poolId))], ENV)).toBe(1);
  });

  it("takes no load balancer's own request, no member batch, and nothing of another load balancer or project", () => {
    const a = member();
    expect(mergeablePrefix([parsed(requests.createLoadbalancer(ids)), a], ENV)).toBe(0);
    expect(
      mergeablePrefix(
        [a, parsed(requests.update('loadbalancer', ids, { id: ids.loadbalancerId, name: 'n' }))],
        ENV,
      ),
    ).toBe(1);
    expect(mergeablePrefix([a, parsed(requests.memberBatch(ids, poolId, []))], ENV)).toBe(1);
    expect(mergeablePrefix([a, parsed(requests.createPool(lbIds({ tenantId: ids.tenantId })))], ENV)).toBe(1);
    expect(
      mergeablePrefix([a, parsed(requests.createPool({ ...ids, tenantId: lbIds().tenantId }))], ENV),
    ).toBe(1);
  });

  it('fits one transaction: three items a member create, the pool once, the root and the usage counter', () => {
    const run = Array.from({ length: 40 }, () => member());
    expect(mergeablePrefix(run, ENV)).toBe(32);
    // Updates take two items each (guard and object) and no usage counter.
    const updates = Array.from({ length: 60 }, () =>
      parsed(requests.update('member', ids, { id: uuid(), weight: 2 })),
    );
    expect(mergeablePrefix(updates, ENV)).toBe(49);
  });
});
