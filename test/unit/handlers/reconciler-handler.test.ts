import { describe, expect, it } from 'vitest';
import { createReconcilerHandler } from '../../../functions/handlers/reconciler-handler.js';
import type {
  ReconcileOptions,
  ReconcileReport,
  Reconciler,
} from '../../../functions/services/reconciler.js';
import { createTelemetry } from '../../../functions/shared/telemetry.js';
import { captureMetrics } from '../../support/scheduler-harness.js';

function recorder(report: ReconcileReport) {
  const calls: ReconcileOptions[] = [];
  const reconciler = {
    run: async (options: ReconcileOptions) => {
      calls.push(options);
      return report;
    },
  } as Reconciler;
  return { calls, reconciler };
}

/** The handler over `reconciler`, configured to repair drift and report orphans unless told otherwise. */
function handlerOf(
  reconciler: Reconciler,
  config: Parameters<typeof createReconcilerHandler>[1] = { drift: 'repair', orphans: 'report' },
) {
  return createReconcilerHandler(reconciler, config, createTelemetry('reconciler', 'Project'));
}

const done: ReconcileReport = {
  outcome: 'done',
  device: 'bigip-a',
  dryRun: false,
  peerSynced: false,
  loadbalancers: [
    {
      loadbalancerId: 'lb1',
      tenantId: 't1',
      outcome: 'repaired',
      drift: [
        { action: 'change', kind: 'pool', path: '/P/p', fields: ['monitor'] },
        { action: 'remove', kind: 'member', path: '/P/p/10.0.0.9:80' },
        { action: 'remove', kind: 'member', path: '/P/p/10.0.0.8:80' },
      ],
    },
    {
      loadbalancerId: 'lb2',
      tenantId: 't1',
      outcome: 'restored',
      drift: [{ action: 'create', kind: 'virtual-address', path: '/P/va' }],
    },
  ],
  orphans: [
    {
      partition: 'P',
      wholePartition: false,
      objects: [{ action: 'remove', kind: 'pool', path: '/P/x' }],
      removed: false,
      kept: [],
    },
  ],
};

describe('reconciler handler', () => {
  it('runs a schedule with the configured modes and counts repairs, restores and orphans by kind', async () => {
    const { calls, reconciler } = recorder(done);
    const handler = handlerOf(reconciler);
    const { metrics } = await captureMetrics(() =>
      handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }),
    );
    expect(calls).toEqual([{ dryRun: false, orphans: 'report' }]);
    const value = (name: string, kind?: string) =>
      metrics
        .filter((m) => m.name === name && (!kind || m.dimensions.Kind === kind))
        .reduce((n, m) => n + m.value, 0);
    expect(value('ReconcileRuns')).toBe(1);
    expect(value('DriftRepaired', 'member')).toBe(2);
    expect(value('DriftRepaired', 'pool')).toBe(1);
    expect(value('LoadBalancersRestored')).toBe(1);
    expect(value('OrphansFound', 'pool')).toBe(1);
    expect(value('OrphansRemoved')).toBe(0);
  });

  it('gives the run the time Lambda left it (none when called directly)', async () => {
    const { calls, reconciler } = recorder(done);
    const handler = handlerOf(reconciler);
    const scheduled = { source: 'aws.events', 'detail-type': 'Scheduled Event' };
    await handler(scheduled, { getRemainingTimeInMillis: () => 900_000 });
    await handler(scheduled);
    expect(calls).toEqual([
      { dryRun: false, orphans: 'report', timeLeftMs: 900_000 },
      { dryRun: false, orphans: 'report' },
    ]);
  });

  it('reports only when configured so', async () => {
    const { calls, reconciler } = recorder({ outcome: 'skipped', reason: 'device not ready' });
    const handler = handlerOf(reconciler, { drift: 'report', orphans: 'remove' });
    await handler({ source: 'aws.events' });
    expect(calls).toEqual([{ dryRun: true, orphans: 'remove' }]);
  });

  it('takes an operator scope, and refuses a malformed invocation with its reason without running', async () => {
    const { calls, reconciler } = recorder(done);
    const handler = handlerOf(reconciler);
    await handler({ dryRun: true, tenantId: '3F2A9C0D-7E6B-4D1A-8C5E-9F0A1B2C3D4E' });
    expect(calls).toEqual([
      { dryRun: true, orphans: 'report', scope: { tenantId: '3f2a9c0d7e6b4d1a8c5e9f0a1b2c3d4e' } },
    ]);
    const refused = await handler({ loadbalancerId: '../../etc', dryRun: 'yes' });
    expect(refused).toMatchObject({
      outcome: 'refused',
      reason: expect.stringMatching(/loadbalancerId.*dryRun|dryRun.*loadbalancerId/s),
    });
    expect(calls).toHaveLength(1);
  });

  it('runs the takeover dry run when asked, refuses anything but a dry run with a sane prefix, and never runs the reconciler for it', async () => {
    const { calls, reconciler } = recorder(done);
    const asked: string[] = [];
    const takeover = {
      dryRun: async (agentPrefix: string) => {
        asked.push(agentPrefix);
        return { outcome: 'skipped' as const, reason: 'test' };
      },
    };
    const handler = createReconcilerHandler(
      reconciler,
      { drift: 'repair', orphans: 'report' },
      createTelemetry('reconciler', 'Project'),
      takeover,
    );
    expect(await handler({ takeover: { dryRun: true, agentPrefix: 'Project' } })).toEqual({
      outcome: 'skipped',
      reason: 'test',
    });
    expect(await handler({ takeover: { dryRun: false, agentPrefix: 'Project' } })).toEqual({
      outcome: 'refused',
      reason: expect.stringMatching(/takeover.dryRun: only the dry run exists/),
    });
    expect(await handler({ takeover: { dryRun: true, agentPrefix: 'P.*' } })).toMatchObject({
      outcome: 'refused',
      reason: expect.stringMatching(/agentPrefix/),
    });
    expect(asked).toEqual(['Project']);
    expect(calls).toEqual([]);
  });
});
