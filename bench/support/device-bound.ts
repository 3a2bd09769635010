import type { CallRecord } from '../../local/bigip-simulator/control-api.js';
import { callCost, type TimingModel } from '../../local/bigip-simulator/timing-model.js';

/**
 * The device's own lower bound for a change under a timing model, in seconds: its configuration
 * writes at the fewest calls, one after the other (a device processes one at a time), then its
 * config-syncs. Reads are not counted. Computed from what the change is, never from our plans.
 */
export function deviceLowerBoundSeconds(timing: TimingModel, writes: number, syncs = 1): number {
  return Math.round((writes * timing.writeMs + syncs * timing.syncMs) / 10) / 100;
}

/**
 * How long a device's one configuration write slot was busy for these calls under the model, in
 * seconds (the simulator's own cost of each call, `callCost`): what our writes cost the device, to
 * set beside the time a scenario took. Reads and enlisted commands take no slot; a commit costs
 * its base and a share per command enlisted in its transaction.
 */
export function writeSlotSeconds(timing: TimingModel, calls: readonly CallRecord[]): number {
  const enlisted = new Map<string, number>();
  for (const c of calls)
    if (c.transactionId !== undefined)
      enlisted.set(c.transactionId, (enlisted.get(c.transactionId) ?? 0) + 1);
  let ms = 0;
  for (const c of calls) {
    const commit = c.method === 'PATCH' ? /^\/mgmt\/tm\/transaction\/(\d+)$/.exec(c.path)?.[1] : undefined;
    const cost = callCost(timing, {
      method: c.method,
      path: c.path,
      enlisted: c.transactionId !== undefined,
      commitCommands: commit === undefined ? undefined : (enlisted.get(commit) ?? 0),
    });
    if (cost.serial) ms += cost.ms;
  }
  return Math.round(ms / 10) / 100;
}
