import type { SQSRecord } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { holdInFlight } from '../../../functions/handlers/in-flight-hold.js';
import { inFlightHoldMsFor } from '../../../functions/shared/config.js';

const record = (id: string) => ({ messageId: id, receiptHandle: `rh-${id}` }) as SQSRecord;

describe('the worker’s in-flight hold', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('holds the whole batch at once, renews only unsettled records at a third of the hold, and stops', async () => {
    const calls: [string[], number][] = [];
    const visibility = { holdAll: vi.fn(async (h: string[], s: number) => void calls.push([h, s])) };
    const hold = holdInFlight([record('a'), record('b'), record('c')], {
      visibility: { ...visibility, delay: vi.fn() },
      holdMs: 3000,
      onError: () => undefined,
    });
    expect(calls).toEqual([[['rh-a', 'rh-b', 'rh-c'], 3]]);
    await hold.release(record('a'));
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls.at(-1)).toEqual([['rh-b', 'rh-c'], 3]);
    await hold.release(record('b'));
    await hold.release(record('c'));
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toHaveLength(2); // nothing left to renew: no call
    await hold.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toHaveLength(2);
  });

  it('reports a failed renewal and keeps going (the next renewal may succeed)', async () => {
    const errors: unknown[] = [];
    let n = 0;
    const hold = holdInFlight([record('a')], {
      visibility: {
        delay: vi.fn(),
        holdAll: vi.fn(async () => {
          n += 1;
          if (n === 2) throw new Error('throttled');
        }),
      },
      holdMs: 3000,
      onError: (e) => errors.push(e),
    });
    await vi.advanceTimersByTimeAsync(2000);
    expect(n).toBe(3);
    expect(errors).toHaveLength(1);
    await hold.stop();
  });

  it('a release waits for a renewal already sent, so the renewal cannot overwrite the record’s back-off', async () => {
    let finish: () => void = () => undefined;
    const order: string[] = [];
    let first = true;
    const hold = holdInFlight([record('a')], {
      visibility: {
        delay: vi.fn(),
        holdAll: vi.fn(() => {
          if (first) {
            first = false;
            return Promise.resolve();
          }
          return new Promise<void>((r) => {
            finish = () => {
              order.push('renewed');
              r();
            };
          });
        }),
      },
      holdMs: 3000,
      onError: () => undefined,
    });
    await vi.advanceTimersByTimeAsync(1000); // a renewal is now in flight
    const released = hold.release(record('a')).then(() => order.push('released'));
    await Promise.resolve();
    finish();
    await released;
    expect(order).toEqual(['renewed', 'released']);
    await hold.stop();
  });

  it('is a third of agentDownTime, never under a second', () => {
    expect(inFlightHoldMsFor(75_000)).toBe(25_000);
    expect(inFlightHoldMsFor(7_500)).toBe(2_500);
    expect(inFlightHoldMsFor(900)).toBe(1_000);
  });
});
