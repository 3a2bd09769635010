import type { SQSRecord } from 'aws-lambda';
import type { QueueTaker } from '../domain/ports.js';

export interface QueuedWorkOptions {
  taker: QueueTaker<SQSRecord>;
  /** Whether the device group is busy: only then does a change wait long enough for others to join it. */
  busy: () => boolean;
  /** The in-flight hold a taken message gets at once (renewed by the batch that runs it). */
  holdSeconds: number;
  /** How long one look at the queue waits for a message. */
  waitSeconds: number;
  /** How often `busy` is asked while the group is not. */
  pollMs: number;
  /** Whether the invocation still has time to take a change (a taken one must end inside it). */
  hasTime: () => boolean;
  sleep: (ms: number) => Promise<void>;
  onError: (error: unknown) => void;
}

/**
 * Takes the queue's next messages while `pending` (the invocation's own batch) waits on a busy
 * device group, and runs each set with `run` (which answers the ids that failed, already given
 * their back-off), deleting what it handled. A worker invocation holds its batch until the change
 * is confirmed on every unit, and a busy group's config-sync is held for writers still sending: so
 * the messages behind it in the queue would wait for free invocations while the device's write
 * slot sat idle, and the sync could not see them coming (bench:pipeline's hundred tenants: p95 14 s
 * in the agent queue). Taken in, they write now and join the sync the invocation waits for anyway.
 * A quiet group is never looked at: no call more. Resolves with how many it took, once `pending`
 * settled and every taken set ended.
 */
export async function takeQueuedWork(
  pending: Promise<unknown>,
  run: (records: SQSRecord[]) => Promise<ReadonlySet<string>>,
  options: QueuedWorkOptions,
): Promise<number> {
  let open = true;
  const settled = pending.then(
    () => {
      open = false;
    },
    () => {
      open = false;
    },
  );
  const taken: Promise<void>[] = [];
  let count = 0;
  while (open && options.hasTime()) {
    if (!options.busy()) {
      await Promise.race([options.sleep(options.pollMs), settled]);
      continue;
    }
    let records: SQSRecord[] = [];
    try {
      records = await options.taker.take(10, options.waitSeconds, options.holdSeconds);
    } catch (error) {
      options.onError(error);
    }
    if (records.length === 0) {
      // A look answered at once (an error, or a queue that does not wait) must not spin.
      await Promise.race([options.sleep(options.pollMs), settled]);
      continue;
    }
    count += records.length;
    taken.push(
      run(records)
        .then(async (failed) => {
          const done = records.filter((r) => !failed.has(r.messageId));
          // Not deleted (an error here): it comes back after its hold, and the worker finds it settled.
          if (done.length > 0) await options.taker.acknowledge(done);
        })
        .catch(options.onError),
    );
  }
  await Promise.all(taken);
  return count;
}
