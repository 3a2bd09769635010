import { describe, expect, it } from 'vitest';
import { runSoak } from '../../bench/support/soak-run.js';

/** The short form: 8/s for 12 s over four tenants, every fault, the reconciler every 3 s removing orphans. */
const shortSoak = (syncMs?: number) =>
  runSoak({
    rate: 8,
    durationSeconds: 12,
    tenants: 4,
    faults: true,
    // The reconciler runs alongside with orphan removal on: it must never remove a live object (#27.1).
    reconcileIntervalMs: 3_000,
    reconcileOrphans: 'remove',
    ...(syncMs ? { syncMs } : {}),
    services: {
      dynamodbEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB as string,
      sqsEndpoint: process.env.AWS_ENDPOINT_URL_SQS as string,
    },
  });

/** Everything the short soak must show, whatever its devices' timing. */
function expectNothingLost(report: Awaited<ReturnType<typeof runSoak>>) {
  expect(report.faultsInjected).toHaveLength(6);
  expect(report.submitted).toBe(96);
  expect(report.duplicatesSent).toBe(96);
  expect(report.lostRequests).toEqual([]);
  expect(report.stuckObjects).toEqual([]);
  expect(report.outcome.lost + report.outcome.stuck).toBe(0);
  expect(
    report.outcome.active + report.outcome.error + report.outcome.deleted + report.outcome.deadLettered,
  ).toBe(96);
  // Every ERROR carries a reason (none is expected from these faults, but none may be silent).
  expect(Object.keys(report.errorReasons).filter((r) => r === '(no reason)')).toEqual([]);
  // The device, compared with what the requests sent must have put there (not with our translation).
  expect(report.deviceMismatches).toEqual([]);
  // And the pair's other unit (after the failover fault, the first active): every change was
  // confirmed on it before it was reported ACTIVE.
  expect(report.standbyMismatches).toEqual([]);
  expect(report.errorsAccounted.filter((e) => e.includes('(no reason!)'))).toEqual([]);
  expect(report.reconcile.runs).toBeGreaterThan(0);
  expect(report.reconcile.liveObjectsRemoved).toEqual([]);
}

describe('soak, short form: load with faults and the reconciler removing orphans, nothing lost or stuck', () => {
  it('accounts for every request and leaves every device equal to the desired state', async () => {
    expectNothingLost(await shortSoak());
  }, 240_000);

  it('the same with 400 ms config-syncs: busy groups’ syncs are held, waiting workers take their queues’ next messages', async () => {
    const report = await shortSoak(400);
    // The path under test ran: instant syncs never reach it.
    expect(report.takenByWorkers).toBeGreaterThan(0);
    expectNothingLost(report);
  }, 240_000);
});
