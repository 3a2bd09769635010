import type { Context } from 'aws-lambda';
import { z } from 'zod';
import type { ReconcileOptions, ReconcileReport, Reconciler } from '../services/reconciler.js';
import type { TakeoverReport, TakeoverSurvey } from '../services/takeover-survey.js';
import type { ReconcilerConfig } from '../shared/config.js';
import { METRICS } from '../shared/metric-names.js';
import { emitMetric, type Telemetry } from '../shared/telemetry.js';

/** What an operator's direct invocation may ask (`lbaas sync`); a scheduled event carries none of it. */
const invocation = z
  .object({
    dryRun: z.boolean().optional(),
    orphans: z.enum(['report', 'remove']).optional(),
    loadbalancerId: z.string().uuid().optional(),
    tenantId: z
      .string()
      .regex(/^[0-9a-f]{32}$|^[0-9a-f-]{36}$/i)
      .optional(),
  })
  .refine((v) => !(v.loadbalancerId && v.tenantId), {
    message: 'give a load balancer or a tenant, not both',
  });

export type ReconcileInvocation = z.infer<typeof invocation>;

/** `lbaas takeover --dry-run`: what would become of what F5's agent made (docs/takeover.md). */
const takeoverInvocation = z.object({
  takeover: z.object({
    dryRun: z.literal(true, { error: 'only the dry run exists: docs/takeover.md says what is done by hand' }),
    agentPrefix: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9]{0,15}$/, 'letters and digits, a letter first, at most 16'),
  }),
});

/**
 * The reconciler's entry: a schedule runs it with the configured modes (drift repaired or reported,
 * orphans reported unless configured otherwise); `lbaas sync` invokes it with a scope and
 * `dryRun`. A malformed invocation is refused with the reason, and nothing runs.
 */
export function createReconcilerHandler(
  reconciler: Reconciler,
  config: Pick<ReconcilerConfig, 'drift' | 'orphans'>,
  telemetry: Telemetry,
  takeover?: Pick<TakeoverSurvey, 'dryRun'>,
) {
  return async (
    event: unknown,
    context?: Pick<Context, 'getRemainingTimeInMillis'>,
  ): Promise<ReconcileReport | TakeoverReport | { outcome: 'refused'; reason: string }> => {
    const scheduled = (event as { source?: string } | undefined)?.source === 'aws.events';
    if (takeover && typeof event === 'object' && event !== null && 'takeover' in event) {
      const parsed = takeoverInvocation.safeParse(event);
      if (!parsed.success) {
        const reason = parsed.error.issues
          .map((i) => `${i.path.join('.') || 'invocation'}: ${i.message}`)
          .join('; ');
        telemetry.logger.warn('takeover invocation refused', { reason });
        return { outcome: 'refused', reason };
      }
      const report = await takeover.dryRun(parsed.data.takeover.agentPrefix);
      telemetry.logger.info('takeover dry run', {
        outcome: report.outcome,
        ...(report.outcome === 'done' ? { counts: report.counts } : { reason: report.reason }),
      });
      return report;
    }
    let options: ReconcileOptions;
    if (scheduled || event === undefined || event === null) {
      options = { dryRun: config.drift === 'report', orphans: config.orphans };
    } else {
      const parsed = invocation.safeParse(event);
      if (!parsed.success) {
        const reason = parsed.error.issues
          .map((i) => `${i.path.join('.') || 'invocation'}: ${i.message}`)
          .join('; ');
        telemetry.logger.warn('reconcile invocation refused', { reason });
        return { outcome: 'refused', reason };
      }
      const p = parsed.data;
      options = {
        dryRun: p.dryRun ?? false,
        orphans: p.orphans ?? 'report',
        scope: {
          ...(p.loadbalancerId ? { loadbalancerId: p.loadbalancerId.toLowerCase() } : {}),
          ...(p.tenantId ? { tenantId: p.tenantId.toLowerCase().replaceAll('-', '') } : {}),
        },
      };
    }
    // Lambda stops the function at its timeout: the run stops on its own before (invocation-time.ts).
    const timeLeftMs = context?.getRemainingTimeInMillis?.();
    try {
      const report = await reconciler.run(timeLeftMs === undefined ? options : { ...options, timeLeftMs });
      reportRun(report, telemetry);
      return report;
    } finally {
      if (telemetry.metrics.hasStoredMetrics()) telemetry.metrics.publishStoredMetrics();
    }
  };
}

function reportRun(report: ReconcileReport, { logger, metrics }: Telemetry): void {
  emitMetric(metrics, METRICS.reconcileRuns.name, 1, { Outcome: report.outcome });
  if (report.outcome === 'skipped') {
    logger.warn('reconcile run skipped: nothing read, nothing changed', { reason: report.reason });
    return;
  }
  if (report.outcome === 'aborted')
    logger.error('reconcile run stopped: the rest waits for the next run', { reason: report.reason });
  const byKind = (items: { kind: string }[]) => {
    const counts = new Map<string, number>();
    for (const i of items) counts.set(i.kind, (counts.get(i.kind) ?? 0) + 1);
    return counts;
  };
  for (const lb of report.loadbalancers) {
    if (lb.drift.length === 0) continue;
    const repaired = lb.outcome === 'repaired' || lb.outcome === 'restored';
    logger[repaired ? 'info' : 'warn'](repaired ? 'drift repaired' : 'drift found', { ...lb });
    for (const [kind, n] of byKind(lb.drift))
      emitMetric(metrics, repaired ? METRICS.driftRepaired.name : METRICS.driftFound.name, n, { Kind: kind });
    if (lb.outcome === 'restored') emitMetric(metrics, METRICS.restored.name, 1);
    if (lb.outcome === 'failed') emitMetric(metrics, METRICS.repairsFailed.name, 1);
  }
  for (const n of report.unusedNetworks ?? []) {
    logger.warn(n.removed ? 'unused network removed' : 'unused network found', { ...n });
    emitMetric(metrics, n.removed ? METRICS.orphansRemoved.name : METRICS.orphansFound.name, 1, {
      Kind: 'network',
    });
  }
  for (const o of report.orphans) {
    logger.warn(o.removed ? 'orphans removed' : 'orphans found', { ...o });
    for (const [kind, n] of byKind(o.objects))
      emitMetric(metrics, o.removed ? METRICS.orphansRemoved.name : METRICS.orphansFound.name, n, {
        Kind: kind,
      });
  }
}
