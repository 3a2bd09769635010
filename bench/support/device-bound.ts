import type { TimingModel } from '../../local/bigip-simulator/timing-model.js';

/**
 * The device's own lower bound for a change under a timing model, in seconds: its configuration
 * writes at the fewest calls, one after the other (a device processes one at a time), then its
 * config-syncs. Reads are not counted. Computed from what the change is, never from our plans.
 */
export function deviceLowerBoundSeconds(timing: TimingModel, writes: number, syncs = 1): number {
  return Math.round((writes * timing.writeMs + syncs * timing.syncMs) / 10) / 100;
}
