import { describe, expect, it } from 'vitest';
import type { ResourceRecord } from '../../../functions/domain/resource-state.js';
import { unmeasuredStatuses } from '../../../local/unmeasured-statuses.js';
import { lbIds, requests } from '../../support/factories.js';
import { InMemoryResourceStore } from '../../support/fakes/in-memory-resource-store.js';
import { parsed } from '../../support/service-fixtures.js';

describe('unmeasured statuses (the conformance run’s no-op drivers)', () => {
  async function created(store: InMemoryResourceStore, message: Record<string, unknown>) {
    const request = parsed(message);
    await store.recordRequest(request, 'E', 1);
    const record = (await store.loadRecords(request.loadbalancerId)).find((r) => r.id === request.object.id);
    if (!record) throw new Error('no record');
    return record;
  }
  const load = async (store: InMemoryResourceStore, r: ResourceRecord) =>
    (await store.loadRecords(r.loadbalancerId)).find((x) => x.id === r.id);

  it('writes a member as NO_MONITOR whatever its configuration says, and drops a refresh that changes nothing', async () => {
    const store = new InMemoryResourceStore();
    const ids = lbIds();
    await created(store, requests.createLoadbalancer(ids));
    const pool = await created(store, requests.createPool(ids));
    const pending = await created(store, requests.createMember(ids, pool.id, { admin_state_up: false }));
    const wrapped = unmeasuredStatuses(store);
    expect(
      await wrapped.recordOutcomes([{ kind: 'active', record: pending, operatingStatus: 'OFFLINE' }], 2),
    ).toBe(1);
    const settled = await load(store, pending);
    if (!settled) throw new Error('no record');
    expect(settled).toMatchObject({ provisioningStatus: 'ACTIVE', operatingStatus: 'NO_MONITOR' });

    const lastApplied = { 'member/E_p/m': { intent: 'i', readBack: 'r', tmos: '15.1.0' } };
    const refresh = { kind: 'active', record: settled, operatingStatus: 'DRAINING', lastApplied } as const;
    expect(await wrapped.recordOutcomes([refresh], 3)).toBe(0);
    expect(store.written).toHaveLength(1);
    expect(await load(store, settled)).toMatchObject({ operatingStatus: 'NO_MONITOR', lastApplied });
  });

  it('writes other objects’ statuses as the apply settled them (OFFLINE until measured)', async () => {
    const store = new InMemoryResourceStore();
    const ids = lbIds();
    await store.recordRequest(parsed(requests.createLoadbalancer(ids)), 'E', 1);
    const [pending] = await store.loadRecords(ids.loadbalancerId);
    if (!pending) throw new Error('no record');
    const wrapped = unmeasuredStatuses(store);
    await wrapped.recordOutcomes([{ kind: 'active', record: pending, operatingStatus: 'OFFLINE' }], 2);
    expect((await store.loadRecords(ids.loadbalancerId))[0]).toMatchObject({
      provisioningStatus: 'ACTIVE',
      operatingStatus: 'OFFLINE',
    });
  });
});
