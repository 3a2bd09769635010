import { createHash } from 'node:crypto';

/**
 * Highest-random-weight (rendezvous) choice: every caller with the same key and the same
 * candidates picks the same one, and removing a candidate only moves the keys that were on it.
 * Ties (astronomically unlikely) go to the smaller name so the result never depends on order.
 */
export function rendezvousPick(key: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1n;
  for (const candidate of candidates) {
    const weight = createHash('sha256').update(`${key}\u0000${candidate}`).digest().readBigUInt64BE(0);
    if (weight > bestWeight || (weight === bestWeight && best !== undefined && candidate < best)) {
      best = candidate;
      bestWeight = weight;
    }
  }
  return best;
}
