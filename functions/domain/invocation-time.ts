/**
 * How an invocation that writes to devices spends its time (Lambda stops a function at its timeout,
 * mid-call): the agent's worker and the reconciler.
 *
 * A change sends its device calls in the first three quarters: the last quarter is for the last
 * call's answer, the lease's release and the failed records' back-off, so a change too long for one
 * invocation stops cleanly and the next attempt (or run) resumes it from the device. Stopped by the
 * timeout instead, it would keep its partition's lease until the lease expires, and every attempt
 * meanwhile would find the partition busy and spend one of the message's deliveries.
 */
const SENDING_SHARE = 3 / 4;

/**
 * A sent change is confirmed on its device group (config-sync, peers asked) until nine tenths: a
 * held sync and a slow one can outlast the sending time's quarter, and an invocation cut by the
 * timeout fails its whole batch (every record back only after its in-flight hold, each spending a
 * delivery). The last tenth is for the statuses of what was confirmed and the batch's answer; a
 * change not confirmed by then is retried at once, and its next attempt confirms it from the device.
 */
const CONFIRMING_SHARE = 9 / 10;

/**
 * Messages are taken from the queue in the first half only: a change taken late still has its own
 * sending time before the invocation's last quarter.
 */
const TAKING_SHARE = 1 / 2;

/** The invocation's times, from its start and the time Lambda gave it. */
export interface InvocationTimes {
  /** No device call of a change is sent after this (ms since the epoch). */
  sendUntil: number;
  /** No change is waited for on its device group after this (ms since the epoch). */
  confirmUntil: number;
  /** No message is taken from the queue after this. */
  takeUntil: number;
}

export function invocationTimes(startedAt: number, remainingMs: number): InvocationTimes {
  const left = Math.max(0, remainingMs);
  return {
    sendUntil: startedAt + Math.floor(left * SENDING_SHARE),
    confirmUntil: startedAt + Math.floor(left * CONFIRMING_SHARE),
    takeUntil: startedAt + Math.floor(left * TAKING_SHARE),
  };
}

/** The times a writer keeps to: those of its invocation, or none (a run outside Lambda). */
export type WriteTimes = Partial<Pick<InvocationTimes, 'sendUntil' | 'confirmUntil'>>;

/** What a writer keeps to of its invocation's times (none without them). */
export function writeTimesOf(times: InvocationTimes | undefined): WriteTimes {
  return times === undefined ? {} : { sendUntil: times.sendUntil, confirmUntil: times.confirmUntil };
}
