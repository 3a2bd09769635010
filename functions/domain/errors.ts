/**
 * Every error the system raises on purpose. Only the edges (handlers, CLI) turn these into statuses,
 * exit codes or log lines; `retryable` tells a queue consumer whether to try the message again.
 */
export class LbaasError extends Error {
  readonly context: Record<string, unknown>;

  constructor(message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.context = context;
  }

  get retryable(): boolean {
    return false;
  }
}

/** A request that can never succeed as sent: acknowledge it, record why, do not retry. */
export class RejectedRequestError extends LbaasError {
  readonly category: RejectionCategory;

  constructor(
    category: RejectionCategory,
    message: string,
    context: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, context, options);
    this.category = category;
  }
}

export type RejectionCategory =
  | 'invalid-message'
  | 'tenant-mismatch'
  | 'environment-mismatch'
  | 'not-found'
  | 'conflict'
  | 'immutable-field'
  | 'unsupported'
  | 'group-at-capacity'
  | 'environment-at-capacity'
  /** A project's Octavia quota is met (only the API sets limits). */
  | 'quota-exceeded';

/** A conditional write lost a race more times than we are willing to retry inline. */
export class ContentionError extends LbaasError {
  override get retryable(): boolean {
    return true;
  }
}

/** Another writer holds the partition lease on this device; try again shortly. */
export class LeaseBusyError extends LbaasError {
  override get retryable(): boolean {
    return true;
  }
}

/**
 * A change stopped at its invocation's sending time, or not confirmed on its device group by the
 * invocation's confirming time (invocation-time.ts): what was sent stays on the device, nothing more
 * was sent, and the next attempt plans again from the device and resumes or confirms it.
 */
export class OutOfTimeError extends LbaasError {
  override get retryable(): boolean {
    return true;
  }
}

/** A queue did not take one message of a batch send (its code in the context): sent again on the retry. */
export class ForwardRefusedError extends LbaasError {
  override get retryable(): boolean {
    return true;
  }
}

/** A registration or heartbeat for a host name owned by a different agent identity. */
export class HostNameConflictError extends LbaasError {}

/** An operator command refused because it would lose work (for example deleting a busy agent). */
export class OperatorRefusedError extends LbaasError {}

/** A name or value that cannot be used on a BIG-IP (would break or escape a URL). */
export class UnsafeBigIpNameError extends LbaasError {}

/**
 * An error answered by a BIG-IP (or the path to it). `transient` covers 5xx, busy, resets and
 * timeouts; everything else is a configuration error that retrying will not fix.
 */
export class BigIpError extends LbaasError {
  readonly status: number | undefined;
  readonly transient: boolean;
  readonly device: string;

  constructor(
    message: string,
    details: { device: string; status?: number; transient: boolean; context?: Record<string, unknown> },
    options?: { cause?: unknown },
  ) {
    super(message, details.context ?? {}, options);
    this.status = details.status;
    this.transient = details.transient;
    this.device = details.device;
  }

  override get retryable(): boolean {
    return this.transient;
  }
}

/** True when a queue consumer should let the message come back later. Unknown errors are retried. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof LbaasError) return error.retryable;
  return true;
}
