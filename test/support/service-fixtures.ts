import { type LbaasRequest, parseRequest } from '../../functions/domain/lbaas-request.js';
import { PartitionWriter } from '../../functions/services/partition-writer.js';
import { type InMemoryCluster, RecordingGroupSync } from './fakes/in-memory-bigip.js';
import type { InMemoryLease } from './fakes/in-memory-lease.js';

/** Parses a factory message like the scheduler does (defaults filled in, ids lower-cased). */
export function parsed(message: Record<string, unknown>): LbaasRequest {
  const result = parseRequest(JSON.stringify(message));
  if (!result.ok) throw new Error(result.reason);
  return result.request;
}

/** A clock the test moves by hand. */
export function manualClock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

/** A partition writer over in-memory parts: the cluster's units, the lease, a recorded group sync. */
export function inMemoryWriter(env: string, cluster: InMemoryCluster, lease: InMemoryLease, host = 'a1') {
  const sync = new RecordingGroupSync(cluster);
  let owners = 0;
  const writer = new PartitionWriter({
    env,
    lease,
    cluster,
    sync,
    newOwner: () => `${host}#apply-${++owners}`,
    clock: lease.clock,
  });
  return { sync, writer };
}

/** A scheduling result that must have gone to an agent (the test fails otherwise, saying why not). */
export function forwarded<T extends { kind: string }>(outcome: T): Extract<T, { kind: 'forwarded' }> {
  if (outcome.kind !== 'forwarded') throw new Error(`not forwarded: ${JSON.stringify(outcome)}`);
  return outcome as Extract<T, { kind: 'forwarded' }>;
}
