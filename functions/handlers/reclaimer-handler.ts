import type { StrandedRequestReclaimer, SweepReport } from '../services/stranded-request-reclaimer.js';
import type { ReclaimerConfig } from '../shared/config.js';
import { METRICS } from '../shared/metric-names.js';
import { emitMetric, type Telemetry } from '../shared/telemetry.js';
import { sleep as systemSleep } from '../shared/timers.js';

/** One environment's reclaimer, scheduled every minute and sweeping `sweepsPerInvocation` times. */
export function createReclaimerHandler(
  reclaimer: StrandedRequestReclaimer,
  config: Pick<ReclaimerConfig, 'sweepsPerInvocation' | 'intervalMs'>,
  telemetry: Telemetry,
  sleep: (ms: number) => Promise<void> = systemSleep,
) {
  return async (): Promise<{ sweeps: SweepReport[] }> => {
    const sweeps: SweepReport[] = [];
    for (let i = 0; i < config.sweepsPerInvocation; i++) {
      if (i > 0) await sleep(config.intervalMs);
      const report = await reclaimer.sweep();
      sweeps.push(report);
      if (report.moved > 0) {
        telemetry.logger.warn('moved requests stranded on dead agents', { ...report });
        emitMetric(telemetry.metrics, METRICS.reclaimed.name, report.moved);
      }
      if (telemetry.metrics.hasStoredMetrics()) telemetry.metrics.publishStoredMetrics();
    }
    return { sweeps };
  };
}
