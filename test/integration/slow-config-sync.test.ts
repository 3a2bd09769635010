import { describe, expect, it } from 'vitest';
import { lbIds, requests } from '../support/factories.js';
import { systemsClosedAfterEach } from '../support/system-harness.js';

/**
 * A config-sync slower than what is left of a worker's invocation, through the whole pipeline on
 * an HA pair: the invocation stops waiting at nine tenths of its time (invocation-time.ts), its
 * record comes back at once, and a later attempt confirms the change. Cut by its timeout instead,
 * the invocation would fail its whole batch, its records back only after their in-flight hold.
 */
const system = systemsClosedAfterEach();

describe('a config-sync slower than a worker invocation has left', () => {
  it('ends each invocation before its timeout, never runs two syncs at once, and the load balancer ends ACTIVE', async () => {
    // 5 s syncs against a 5 s function: the first attempt's confirmation stops at 4.5 s, its sync
    // still running; the next attempt waits for that sync, and a later one finds the change on both.
    const s = await system({
      pair: true,
      deviceGroup: 'failover-group',
      sim: { syncDelayMs: 5_000 },
      workerTimeoutMs: 5_000,
      maxAttempts: 8,
    });
    await s.beatRunning();
    const ids = lbIds();
    await s.submit(requests.createLoadbalancer(ids));
    await s.settle(30_000);
    const [lb] = await s.resources.loadRecords(ids.loadbalancerId);
    expect(lb).toMatchObject({ provisioningStatus: 'ACTIVE' });
    expect(s.overruns).toBe(0);
    const pair = s.pair as NonNullable<typeof s.pair>;
    expect(pair.a.sync.overlapping + pair.b.sync.overlapping).toBe(0);
    // On both units.
    for (const unit of [pair.a, pair.b])
      expect((unit.dump()['ltm/virtual-address'] as unknown[] | undefined) ?? []).toHaveLength(1);
  }, 60_000);
});
