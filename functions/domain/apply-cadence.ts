/**
 * When an agent applies a load balancer's change: at once, unless a burst of requests for it is
 * still being recorded. Every recorded child request bumps the load balancer's root record
 * (revision, updatedAt), and one apply settles every pending object its scope reaches, so waiting
 * while the root keeps moving lets one apply (one lease, one device change, one config-sync) cover
 * what would otherwise be many small ones. The wait is bounded: a burst that never stops is applied
 * after `maxWaitMs` all the same, and one that stopped is applied at the next look.
 */

/** How often the root is looked at while it moves, and how long in all an apply may wait (0: never). */
export interface ApplyCadence {
  lookMs: number;
  maxWaitMs: number;
}

/** Looks every 150 ms (a few recordings' time), waits at most 1 s (well inside a config-sync's 2 s). */
export const APPLY_CADENCE: ApplyCadence = { lookMs: 150, maxWaitMs: 1000 };

/** The load balancer's root record, as far as the cadence needs it (absent: it is gone). */
export interface RootLook {
  revision: number;
  /** When a request (or an apply) last wrote the root, epoch ms of the writer's clock. */
  updatedAt: number;
}

export type CadenceStep = { kind: 'apply' } | { kind: 'wait'; ms: number };

const APPLY: CadenceStep = { kind: 'apply' };

/**
 * The first look, read with the applier's settled check (no call more): the root written after the
 * newest of the change's pending requests was recorded means a later request is already recorded,
 * so a burst may be arriving: wait one look. Otherwise (a lone change) apply at once. Both times
 * come from the recording's own transactions (one clock), never from the applier's clock; a skewed
 * or tied time only costs one look or one coalescing, never a request.
 */
export function firstStep(
  root: RootLook | undefined,
  newestRequestAt: number | undefined,
  cadence: ApplyCadence,
): CadenceStep {
  if (!root || newestRequestAt === undefined || cadence.maxWaitMs <= 0) return APPLY;
  if (root.updatedAt <= newestRequestAt) return APPLY;
  return { kind: 'wait', ms: Math.min(cadence.lookMs, cadence.maxWaitMs) };
}

/**
 * A later look, `waitedMs` after the first wait began: wait again while the root's revision still
 * grows and the wait has time left (the last wait is cut to what is left); apply once it stood still
 * for a look, is gone, or the time is up.
 */
export function nextStep(
  previous: RootLook,
  current: RootLook | undefined,
  waitedMs: number,
  cadence: ApplyCadence,
): CadenceStep {
  if (!current || current.revision <= previous.revision) return APPLY;
  const left = cadence.maxWaitMs - waitedMs;
  if (left <= 0) return APPLY;
  return { kind: 'wait', ms: Math.min(cadence.lookMs, left) };
}
