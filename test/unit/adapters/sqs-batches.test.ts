import { describe, expect, it } from 'vitest';
import { sqsBatches } from '../../../functions/adapters/sqs-batches.js';

describe('sqsBatches: what one SendMessageBatch may carry', () => {
  it('packs small messages ten to a batch, in order', () => {
    const items = Array.from({ length: 23 }, (_, i) => `m${i}`);
    const batches = sqsBatches(items, (m) => m);
    expect(batches.map((b) => b.length)).toEqual([10, 10, 3]);
    expect(batches.flat()).toEqual(items);
  });

  it('starts a new batch before the bodies pass 256 KiB, whatever the count', () => {
    // Five bodies of 60,000 bytes: four fit in 262,144 bytes with their overhead, five do not.
    const big = 'x'.repeat(60_000);
    const items = Array.from({ length: 5 }, (_, i) => `${i}${big}`);
    const batches = sqsBatches(items, (m) => m);
    expect(batches.map((b) => b.length)).toEqual([4, 1]);
    for (const b of batches) expect(b.reduce((n, m) => n + m.length, 0)).toBeLessThanOrEqual(256 * 1024);
    // Multi-byte characters count as the bytes they are sent as.
    const wide = 'é'.repeat(40_000); // 80,000 bytes
    expect(sqsBatches([wide, wide, wide, wide], (m) => m).map((b) => b.length)).toEqual([3, 1]);
  });
});
