import { afterAll, describe, expect, it } from 'vitest';
import { type ApplyTarget, applyTargetOf } from '../../functions/services/load-balancer-applier.js';
import { simulatedApplier } from '../support/device-applier.js';
import { lbIds, requests } from '../support/factories.js';
import { parsed } from '../support/service-fixtures.js';

/**
 * A tenant's load balancers are applied side by side under its partition's one lease. Two things
 * they share on the device: the partition's folder, which two first changes both create (the
 * device answers the second 409, which is accepted), and which a load balancer's delete may
 * remove once empty, so a delete goes only after the changes beside it are on the device.
 */
const ENV = 'SideBySide';
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closers) await close();
});

async function setup() {
  const { sim, resources, applier } = await simulatedApplier(ENV, closers);
  const record = async (m: Parameters<typeof parsed>[0]): Promise<ApplyTarget> => {
    const request = parsed(m);
    await resources.recordRequest(request, ENV, Date.now());
    return applyTargetOf(request);
  };
  const paths = (collection: string) =>
    ((sim.dump()[collection] ?? []) as { fullPath: string }[]).map((o) => o.fullPath).sort();
  return { sim, resources, applier, record, paths };
}

describe('a tenant’s load balancers side by side', () => {
  it('creates two load balancers of a new tenant at once: one folder, both ACTIVE', async () => {
    const s = await setup();
    const a = lbIds();
    const b = { ...lbIds(), tenantId: a.tenantId };
    const targets = [
      await s.record(requests.createLoadbalancer(a)),
      await s.record(requests.createLoadbalancer(b)),
    ];
    const results = await s.applier.applyAll(targets.map((t) => [t]));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(s.paths('sys/folder')).toContain(`/${ENV}_${a.tenantId}`);
    for (const ids of [a, b])
      expect(
        s.resources.get(ids.loadbalancerId, 'loadbalancer', ids.loadbalancerId)?.provisioningStatus,
      ).toBe('ACTIVE');
    expect(s.paths('ltm/virtual-address')).toHaveLength(2);
  });

  it('deletes a tenant’s last load balancer after the one created beside it: the folder stays, the new one is ACTIVE', async () => {
    const s = await setup();
    const gone = lbIds();
    const kept = { ...lbIds(), tenantId: gone.tenantId };
    const [first] = await s.applier.applyAll([[await s.record(requests.createLoadbalancer(gone))]]);
    expect(first?.status).toBe('fulfilled');
    // The delete is listed first: alone, it would empty the folder and remove it. The new load
    // balancer's write is slow, so a delete beside it would remove the folder before it lands.
    s.sim.injectFault({
      kind: 'latency',
      method: 'POST',
      path: /\/mgmt\/tm\/ltm\/virtual-address$/,
      delayMs: 300,
    });
    const results = await s.applier.applyAll([
      [await s.record(requests.delete('loadbalancer', gone, gone.loadbalancerId))],
      [await s.record(requests.createLoadbalancer(kept))],
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(await s.resources.loadRecords(gone.loadbalancerId)).toEqual([]);
    expect(
      s.resources.get(kept.loadbalancerId, 'loadbalancer', kept.loadbalancerId)?.provisioningStatus,
    ).toBe('ACTIVE');
    expect(s.paths('sys/folder')).toContain(`/${ENV}_${kept.tenantId}`);
    expect(s.paths('ltm/virtual-address')).toHaveLength(1);
  });
});
