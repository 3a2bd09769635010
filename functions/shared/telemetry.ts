import { EventEmitter } from 'node:events';
import { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit, Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';

export type MetricUnitValue = (typeof MetricUnit)[keyof typeof MetricUnit];

import { METRIC_NAMESPACE } from './metric-names.js';

export interface Telemetry {
  logger: Logger;
  metrics: Metrics;
}

/** One logger and one metrics instance per function, tagged with the environment. */
export function createTelemetry(serviceName: string, env: string, agent?: string): Telemetry {
  const logger = new Logger({
    serviceName,
    persistentKeys: { environment: env, ...(agent ? { agent } : {}) },
  });
  const metrics = new PowertoolsMetrics({
    namespace: METRIC_NAMESPACE,
    serviceName,
    defaultDimensions: { Environment: env, ...(agent ? { Agent: agent } : {}) },
    // Its own warnings go through the logger, so they follow the log level.
    logger,
  });
  return { logger, metrics };
}

export interface MetricEvent {
  name: string;
  value: number;
  unit: MetricUnitValue;
  dimensions: Record<string, string>;
}

/**
 * Every metric the functions emit also goes to this emitter. In Lambda nobody listens; the local
 * stack's dashboard and the tests do, so they see exactly what CloudWatch would.
 */
export const metricEvents = new EventEmitter();
metricEvents.setMaxListeners(100);

/** Emits one metric point (EMF through Powertools, plus the local tap). */
export function emitMetric(
  metrics: Metrics,
  name: string,
  value = 1,
  dimensions: Record<string, string> = {},
  unit: MetricUnitValue = MetricUnit.Count,
): void {
  if (Object.keys(dimensions).length === 0) {
    metrics.addMetric(name, unit, value);
  } else {
    const single = metrics.singleMetric();
    for (const [key, dim] of Object.entries(dimensions)) single.addDimension(key, dim);
    single.addMetric(name, unit, value);
  }
  metricEvents.emit('metric', { name, value, unit, dimensions } satisfies MetricEvent);
}

export { MetricUnit };
