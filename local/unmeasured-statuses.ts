import type { ResourceStore } from '../functions/domain/ports.js';
import { isPending, resourceKey, type StatusOutcome } from '../functions/domain/resource-state.js';

/**
 * The conformance run's stand-in for Octavia's no-op drivers, where nothing ever measures health
 * and operating statuses stay as Octavia's API first set them: load balancers, listeners and pools
 * OFFLINE, members NO_MONITOR (whatever their weight or admin state), monitors and L7 objects as
 * their admin state says. So the operating status an apply assumes is not written (a load balancer,
 * listener or pool keeps OFFLINE instead of the ONLINE an apply assumes before the status poller
 * measures; a member keeps NO_MONITOR), and a refresh that changes nothing is dropped. Only the
 * local stack uses this, and only when asked (`unmeasuredStatuses`): production statuses stay
 * measured.
 */
export function unmeasuredStatuses(store: ResourceStore): ResourceStore {
  const assumedOnline = new Set(['loadbalancer', 'listener', 'pool']);
  const noop = (o: StatusOutcome): StatusOutcome | undefined => {
    if (o.kind !== 'active') return o;
    let status = o.operatingStatus;
    if (o.record.type === 'member') status = 'NO_MONITOR';
    else if (assumedOnline.has(o.record.type) && status === 'ONLINE') status = 'OFFLINE';
    if (!isPending(o.record.provisioningStatus) && status === o.record.operatingStatus) return undefined;
    return { ...o, operatingStatus: status };
  };
  return {
    recordRequest: (...args) => store.recordRequest(...args),
    markError: (...args) => store.markError(...args),
    clearOwnChange: (...args) => store.clearOwnChange(...args),
    clearDefaultPool: (...args) => store.clearDefaultPool(...args),
    loadRecords: (...args) => store.loadRecords(...args),
    loadObjects: (...args) => store.loadObjects(...args),
    recordOutcomes: async (outcomes, nowMs) => {
      // A refresh dropped here still keeps what its apply wrote and read back (last-applied.ts).
      for (const o of outcomes) {
        if (o.kind !== 'active' || !o.lastApplied || noop(o)) continue;
        const key = resourceKey(o.record.type, o.record.id);
        await store.recordLastApplied(o.record.loadbalancerId, [{ key, lastApplied: o.lastApplied }]);
      }
      return store.recordOutcomes(
        outcomes.flatMap((o) => noop(o) ?? []),
        nowMs,
      );
    },
    recordLastApplied: (...args) => store.recordLastApplied(...args),
    recordRepair: (...args) => store.recordRepair(...args),
    locate: (...args) => store.locate(...args),
    listObjects: (...args) => store.listObjects(...args),
  };
}
