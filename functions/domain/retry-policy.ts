/**
 * How long a message that cannot be processed yet stays invisible before its next attempt:
 * exponential from `baseSeconds`, capped at `maxSeconds`, with jitter in [50 %, 100 %] so that a
 * burst of failures does not come back as a burst. SQS caps visibility at 12 hours.
 */
export function retryDelaySeconds(
  attempt: number,
  policy: { baseSeconds: number; maxSeconds: number },
  random: () => number,
): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 30));
  const ceiling = Math.min(policy.maxSeconds, policy.baseSeconds * 2 ** exponent, 43_200);
  return Math.max(1, Math.round(ceiling * (0.5 + 0.5 * random())));
}

/** True when this delivery is the last one SQS will make before moving the message to its dead-letter queue. */
export function isFinalAttempt(attempt: number, maxAttempts: number): boolean {
  return attempt >= maxAttempts;
}
