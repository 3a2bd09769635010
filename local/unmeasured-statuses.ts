import type { ResourceStore } from '../functions/domain/ports.js';
import type { StatusOutcome } from '../functions/domain/resource-state.js';

/**
 * The conformance run's stand-in for Octavia's no-op drivers: nothing measures health, so the
 * operating status an apply assumes (ONLINE for a load balancer, listener, pool or monitored
 * member that nothing has measured) is not written: they keep OFFLINE (members NO_MONITOR), as
 * Octavia's no-op run shows them. Statuses the configuration decides (OFFLINE when disabled,
 * DRAINING at weight 0, NO_MONITOR, a monitor's or L7 object's ONLINE) are written as they are.
 * Only the local stack uses this, and only when asked (`unmeasuredStatuses`).
 */
export function unmeasuredStatuses(store: ResourceStore): ResourceStore {
  const assumed = new Set(['loadbalancer', 'listener', 'pool', 'member']);
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== 'recordOutcomes') {
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return (outcomes: readonly StatusOutcome[], nowMs: number) =>
        target.recordOutcomes(
          outcomes.map((o) =>
            o.kind === 'active' && o.operatingStatus === 'ONLINE' && assumed.has(o.record.type)
              ? { ...o, operatingStatus: o.record.type === 'member' ? 'NO_MONITOR' : 'OFFLINE' }
              : o,
          ),
          nowMs,
        );
    },
  });
}
