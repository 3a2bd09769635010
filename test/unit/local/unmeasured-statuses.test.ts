import { describe, expect, it } from 'vitest';
import { unmeasuredStatuses } from '../../../local/unmeasured-statuses.js';
import { lbIds, requests } from '../../support/factories.js';
import { InMemoryResourceStore } from '../../support/fakes/in-memory-resource-store.js';
import { parsed } from '../../support/service-fixtures.js';

describe('unmeasured statuses (the conformance run’s no-op drivers)', () => {
  it('drops a refresh that changes no status, but keeps the last-applied records it carried', async () => {
    const store = new InMemoryResourceStore();
    const ids = lbIds();
    await store.recordRequest(parsed(requests.createLoadbalancer(ids)), 'E', 1);
    const wrapped = unmeasuredStatuses(store);
    const [pending] = await store.loadRecords(ids.loadbalancerId);
    if (!pending) throw new Error('no record');
    expect(
      await wrapped.recordOutcomes([{ kind: 'active', record: pending, operatingStatus: 'ONLINE' }], 2),
    ).toBe(1);
    const [settled] = await store.loadRecords(ids.loadbalancerId);
    if (!settled) throw new Error('no record');
    expect(settled).toMatchObject({ provisioningStatus: 'ACTIVE', operatingStatus: 'OFFLINE' });

    const lastApplied = { 'virtual-address/E_p/va': { intent: 'i', readBack: 'r', tmos: '15.1.0' } };
    const refresh = { kind: 'active', record: settled, operatingStatus: 'ONLINE', lastApplied } as const;
    expect(await wrapped.recordOutcomes([refresh], 3)).toBe(0);
    expect(store.written).toHaveLength(1);
    expect((await store.loadRecords(ids.loadbalancerId))[0]).toMatchObject({
      operatingStatus: 'OFFLINE',
      lastApplied,
    });
  });
});
