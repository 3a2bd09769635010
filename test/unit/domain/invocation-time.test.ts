import { describe, expect, it } from 'vitest';
import { invocationTimes, writeTimesOf } from '../../../functions/domain/invocation-time.js';

describe('a worker invocation’s times', () => {
  it('sends in the first three quarters, confirms until nine tenths and takes queued messages in the first half of what Lambda gave it', () => {
    expect(invocationTimes(1_000, 60_000)).toEqual({
      sendUntil: 46_000,
      confirmUntil: 55_000,
      takeUntil: 31_000,
    });
    expect(invocationTimes(0, 8_000)).toEqual({ sendUntil: 6_000, confirmUntil: 7_200, takeUntil: 4_000 });
  });

  it('gives nothing to an invocation whose time is already up', () => {
    expect(invocationTimes(5_000, 0)).toEqual({ sendUntil: 5_000, confirmUntil: 5_000, takeUntil: 5_000 });
    expect(invocationTimes(5_000, -10)).toEqual({ sendUntil: 5_000, confirmUntil: 5_000, takeUntil: 5_000 });
  });

  it('hands a writer its sending and confirming times, and none without an invocation’s', () => {
    expect(writeTimesOf(invocationTimes(1_000, 60_000))).toEqual({ sendUntil: 46_000, confirmUntil: 55_000 });
    expect(writeTimesOf(undefined)).toEqual({});
  });
});
