/** SQS's limits for one SendMessageBatch: ten entries, and their bodies and attributes together. */
const MAX_ENTRIES = 10;
const MAX_BATCH_BYTES = 256 * 1024;
/** Room kept per entry for its attributes and ids, which count against the batch's size too. */
const ENTRY_OVERHEAD_BYTES = 128;

/**
 * Messages packed, in order, into as few SendMessageBatch calls as SQS takes: at most ten
 * entries each, and their bodies (with room for attributes) within 256 KiB.
 */
export function sqsBatches<T>(items: readonly T[], bodyOf: (item: T) => string): T[][] {
  const batches: T[][] = [];
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(bodyOf(item)) + ENTRY_OVERHEAD_BYTES;
    const last = batches.at(-1);
    if (last && last.length < MAX_ENTRIES && bytes + size <= MAX_BATCH_BYTES) {
      last.push(item);
      bytes += size;
    } else {
      batches.push([item]);
      bytes = size;
    }
  }
  return batches;
}
