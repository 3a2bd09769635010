import type { SQSRecord } from 'aws-lambda';
import type { MessageVisibility } from '../domain/ports.js';

export interface InFlightHold {
  /** The record failed and gets its own back-off (or is let go at once): stop renewing it first. */
  release(record: SQSRecord): Promise<void>;
  /** The invocation ends: stop renewing what is left (done records are deleted next; skipped ones come back after the hold). */
  stop(): Promise<void>;
}

export interface InFlightHoldOptions {
  visibility: MessageVisibility;
  /** How long a record stays invisible without a renewal: how long it waits if this worker dies. */
  holdMs: number;
  onError: (error: unknown) => void;
  /** The messages were received with the hold already (taken by the worker itself): no first call. */
  held?: boolean;
}

/** A hold in whole seconds, as SQS takes a visibility timeout. */
export function holdSeconds(holdMs: number): number {
  return Math.max(1, Math.round(holdMs / 1000));
}

/**
 * Keeps a batch's messages invisible for a short hold, renewed while the worker is alive, instead
 * of the queue's visibility timeout (six times the function timeout). A worker that dies mid-batch
 * (timeout, crash, its agent declared dead) stops renewing, so its messages are visible again
 * within the hold and the reclaimer can move them to a live agent, rather than minutes later.
 */
export function holdInFlight(records: SQSRecord[], options: InFlightHoldOptions): InFlightHold {
  const seconds = holdSeconds(options.holdMs);
  const pending = new Map(records.map((r) => [r.messageId, r.receiptHandle]));
  let renewing: Promise<void> = Promise.resolve();
  const renew = () => {
    const handles = [...pending.values()];
    if (handles.length === 0) return;
    renewing = options.visibility.holdAll(handles, seconds).catch(options.onError);
  };
  // The first hold is not waited for: the batch's work starts beside it (one round trip fewer
  // before the device), and every release and the end wait for it, so it never lands after a
  // record's own back-off. Until it lands the messages keep the receive's visibility, as before it.
  if (!options.held) renew();
  // Renew at a third of the hold: two renewals can fail before a live worker's message reappears.
  const timer = setInterval(renew, (seconds * 1000) / 3);
  timer.unref?.();
  return {
    async release(record) {
      pending.delete(record.messageId);
      // A renewal already sent must not land after the record's own back-off and shorten it.
      await renewing;
    },
    async stop() {
      clearInterval(timer);
      pending.clear();
      await renewing;
    },
  };
}
