import type { ResourceStore } from '../functions/domain/ports.js';
import { isPending, resourceKey, type StatusOutcome } from '../functions/domain/resource-state.js';

/**
 * The conformance run's stand-in for Octavia's no-op drivers, where nothing ever measures health.
 * Load balancers, listeners and pools need nothing here: an apply leaves them OFFLINE until the
 * status poller reads them, and that run starts no poller. Members differ: Octavia's no-op run
 * keeps a member at the NO_MONITOR its API gave it (no health manager reports it OFFLINE when
 * disabled, or DRAINING at weight 0), where an apply here writes what its configuration says. So a
 * member's status is written as NO_MONITOR, and a refresh that then changes nothing is dropped.
 * Only the local stack uses this, and only when asked (`unmeasuredStatuses`).
 */
export function unmeasuredStatuses(store: ResourceStore): ResourceStore {
  const noop = (o: StatusOutcome): StatusOutcome | undefined => {
    if (o.kind !== 'active' || o.record.type !== 'member') return o;
    if (!isPending(o.record.provisioningStatus) && o.record.operatingStatus === 'NO_MONITOR')
      return undefined;
    return { ...o, operatingStatus: 'NO_MONITOR' };
  };
  return {
    recordRequest: (...args) => store.recordRequest(...args),
    recordRequests: (...args) => store.recordRequests(...args),
    isGuarded: (...args) => store.isGuarded(...args),
    loadUsage: (...args) => store.loadUsage(...args),
    releaseUsage: (...args) => store.releaseUsage(...args),
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
