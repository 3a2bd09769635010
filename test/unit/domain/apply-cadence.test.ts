import { describe, expect, it } from 'vitest';
import {
  type ApplyCadence,
  type CadenceStep,
  firstStep,
  nextStep,
  type RootLook,
} from '../../../functions/domain/apply-cadence.js';

const CADENCE: ApplyCadence = { lookMs: 150, maxWaitMs: 1000 };

/**
 * Drives the rule as an applier does, on an injected clock: `rootAt(t)` is the root a look at time
 * t reads (a burst recorded by someone else meanwhile). Returns when it applied and how many looks
 * (reads after the first) it took.
 */
function drive(first: RootLook, newestRequestAt: number, rootAt: (t: number) => RootLook | undefined) {
  let now = 0;
  let looks = 0;
  let step: CadenceStep = firstStep(first, newestRequestAt, CADENCE);
  let previous = first;
  while (step.kind === 'wait') {
    now += step.ms;
    looks += 1;
    const current = rootAt(now);
    step = nextStep(previous, current, now, CADENCE);
    if (current) previous = current;
  }
  return { appliedAt: now, looks };
}

/** A burst recording one request every `everyMs` until `endsAt` (revision 1 + one per request). */
const burst = (everyMs: number, endsAt: number) => (t: number) => {
  const last = Math.min(t, endsAt);
  return { revision: 1 + Math.floor(last / everyMs), updatedAt: last - (last % everyMs) };
};

describe('apply cadence', () => {
  it('applies a lone change at once: nothing was recorded after its request', () => {
    expect(firstStep({ revision: 7, updatedAt: 500 }, 500, CADENCE)).toEqual({ kind: 'apply' });
    expect(firstStep({ revision: 7, updatedAt: 400 }, 500, CADENCE)).toEqual({ kind: 'apply' });
  });

  it('waits one look when the root was written after the change’s newest request (a burst may be arriving)', () => {
    expect(firstStep({ revision: 9, updatedAt: 501 }, 500, CADENCE)).toEqual({ kind: 'wait', ms: 150 });
  });

  it('never waits when turned off, when the load balancer is gone or when nothing of the change is pending', () => {
    const root = { revision: 9, updatedAt: 900 };
    expect(firstStep(root, 500, { lookMs: 150, maxWaitMs: 0 })).toEqual({ kind: 'apply' });
    expect(firstStep(undefined, 500, CADENCE)).toEqual({ kind: 'apply' });
    expect(firstStep(root, undefined, CADENCE)).toEqual({ kind: 'apply' });
  });

  it('waits again while the revision grows, applies once it stood still for a look or the root is gone', () => {
    const before = { revision: 10, updatedAt: 0 };
    expect(nextStep(before, { revision: 14, updatedAt: 140 }, 150, CADENCE)).toEqual({
      kind: 'wait',
      ms: 150,
    });
    expect(nextStep(before, { revision: 10, updatedAt: 0 }, 150, CADENCE)).toEqual({ kind: 'apply' });
    expect(nextStep(before, undefined, 150, CADENCE)).toEqual({ kind: 'apply' });
  });

  it('cuts the last wait to what is left of the most it may wait, and applies once that is spent', () => {
    const before = { revision: 10, updatedAt: 0 };
    const grown = { revision: 11, updatedAt: 1 };
    expect(nextStep(before, grown, 900, CADENCE)).toEqual({ kind: 'wait', ms: 100 });
    expect(nextStep(before, grown, 1000, CADENCE)).toEqual({ kind: 'apply' });
  });

  it('a burst that stops is applied at the first look after its last request', () => {
    // One request every 20 ms for 400 ms: looks at 150, 300, 450 (grew), 600 (still): applied at 600.
    const rootAt = burst(20, 400);
    const first = rootAt(0.5);
    const { appliedAt, looks } = drive({ ...first, updatedAt: 1 }, 0, rootAt);
    expect(appliedAt).toBe(600);
    expect(looks).toBe(4);
  });

  it('a burst that never stops is applied after the most it may wait, not later', () => {
    const rootAt = burst(20, Number.POSITIVE_INFINITY);
    const { appliedAt, looks } = drive({ revision: 1, updatedAt: 1 }, 0, rootAt);
    expect(appliedAt).toBe(CADENCE.maxWaitMs);
    // 150, 300, …, 900, then the last 100 ms: seven looks.
    expect(looks).toBe(7);
  });
});
