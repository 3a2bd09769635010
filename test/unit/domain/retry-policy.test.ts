import { describe, expect, it } from 'vitest';
import { heartbeatAgeMs, isActive, isAlive } from '../../../functions/domain/liveness.js';
import { isFinalAttempt, retryDelaySeconds } from '../../../functions/domain/retry-policy.js';

describe('retryDelaySeconds', () => {
  const policy = { baseSeconds: 2, maxSeconds: 60 };
  it('doubles per attempt up to the cap, with jitter between half and all of it', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => retryDelaySeconds(a, policy, () => 0.9999))).toEqual([
      2, 4, 8, 16, 32, 60, 60,
    ]);
    expect(retryDelaySeconds(3, policy, () => 0)).toBe(4);
  });
  it('is at least one second and never beyond the SQS limit', () => {
    expect(retryDelaySeconds(1, { baseSeconds: 0.1, maxSeconds: 1 }, () => 0)).toBe(1);
    const longest = retryDelaySeconds(99, { baseSeconds: 2, maxSeconds: 1e9 }, () => 0.999_999_9);
    expect(longest).toBeLessThanOrEqual(43_200);
    expect(longest).toBeGreaterThan(43_000);
  });
  it('knows the last delivery SQS will make', () => {
    expect(isFinalAttempt(4, 5)).toBe(false);
    expect(isFinalAttempt(5, 5)).toBe(true);
  });
});

describe('liveness', () => {
  const now = 1_000_000;
  it('is alive strictly younger than the down time', () => {
    expect(isAlive({ heartbeatAt: now - 74_999 }, 75_000, now)).toBe(true);
    expect(isAlive({ heartbeatAt: now - 75_000 }, 75_000, now)).toBe(false);
    expect(isAlive({ heartbeatAt: undefined }, 75_000, now)).toBe(false);
  });
  it('is active only when alive and admin up', () => {
    expect(isActive({ host: 'a', adminStateUp: false, heartbeatAt: now }, 75_000, now)).toBe(false);
    expect(isActive({ host: 'a', adminStateUp: true, heartbeatAt: now }, 75_000, now)).toBe(true);
  });
  it('reports heartbeat age, never negative', () => {
    expect(heartbeatAgeMs({ heartbeatAt: now - 5 }, now)).toBe(5);
    expect(heartbeatAgeMs({ heartbeatAt: now + 5 }, now)).toBe(0);
    expect(heartbeatAgeMs({ heartbeatAt: undefined }, now)).toBeUndefined();
  });
});
