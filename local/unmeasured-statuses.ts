import type { ResourceStore } from '../functions/domain/ports.js';
import { isPending, type StatusOutcome } from '../functions/domain/resource-state.js';

/**
 * The conformance run's stand-in for Octavia's no-op drivers: nothing measures health, so the
 * operating status an apply assumes (ONLINE for a load balancer, listener, pool or monitored
 * member that nothing has measured) is not written: an object the apply settles keeps OFFLINE
 * (a member NO_MONITOR), as Octavia's no-op run shows it, and the refresh of an object already
 * settled is dropped. Statuses the configuration decides (OFFLINE when disabled, DRAINING at
 * weight 0, NO_MONITOR, a monitor's or L7 object's ONLINE) are written as they are. Only the local
 * stack uses this, and only when asked (`unmeasuredStatuses`).
 */
export function unmeasuredStatuses(store: ResourceStore): ResourceStore {
  const assumed = new Set(['loadbalancer', 'listener', 'pool', 'member']);
  const unmeasured = (o: StatusOutcome) =>
    o.kind === 'active' && o.operatingStatus === 'ONLINE' && assumed.has(o.record.type);
  const recordOutcomes: ResourceStore['recordOutcomes'] = (outcomes, nowMs) =>
    store.recordOutcomes(
      outcomes.flatMap((o) => {
        if (!unmeasured(o)) return [o];
        if (!isPending(o.record.provisioningStatus)) return [];
        return [
          { ...o, operatingStatus: o.record.type === 'member' ? 'NO_MONITOR' : 'OFFLINE' } as StatusOutcome,
        ];
      }),
      nowMs,
    );
  return {
    recordRequest: (...args) => store.recordRequest(...args),
    markError: (...args) => store.markError(...args),
    clearOwnChange: (...args) => store.clearOwnChange(...args),
    loadRecords: (...args) => store.loadRecords(...args),
    loadObjects: (...args) => store.loadObjects(...args),
    recordOutcomes,
    recordRepair: (...args) => store.recordRepair(...args),
    locate: (...args) => store.locate(...args),
    listObjects: (...args) => store.listObjects(...args),
  };
}
