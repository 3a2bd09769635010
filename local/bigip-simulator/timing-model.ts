/**
 * How long a real device takes (device-facts.md §6: no public source gives a single-call
 * latency; bigip-rest.md A.6 suggests 50–300 ms per simple call). `real` states the assumptions the
 * benchmarks run under; `zero` answers as fast as loopback allows. Configuration writes are
 * processed one at a time per device, as mcpd does.
 */
export interface TimingModel {
  name: string;
  /** A GET (and enlisting a command in a transaction, which mcpd does not process yet). */
  readMs: number;
  /** A configuration write outside a transaction (POST, PATCH, PUT, DELETE). */
  writeMs: number;
  /** Committing a transaction: a base plus a cost per enlisted command. */
  commitBaseMs: number;
  commitPerCommandMs: number;
  /** A config-sync, from the command until the group is In Sync. */
  syncMs: number;
}

export const TIMING_MODELS: Record<'zero' | 'real', TimingModel> = {
  zero: { name: 'zero', readMs: 0, writeMs: 0, commitBaseMs: 0, commitPerCommandMs: 0, syncMs: 0 },
  real: { name: 'real', readMs: 50, writeMs: 150, commitBaseMs: 300, commitPerCommandMs: 20, syncMs: 2000 },
};

/** The model's assumptions in one line, for benchmark output. */
export function describeTiming(t: TimingModel): string {
  return `GET ${t.readMs} ms, write ${t.writeMs} ms, transaction commit ${t.commitBaseMs} ms + ${t.commitPerCommandMs} ms per command, config-sync ${t.syncMs} ms until In Sync, one configuration write at a time per device`;
}

/** What one call costs the device, and whether it takes the device's single write slot. */
export function callCost(
  t: TimingModel,
  call: { method: string; path: string; enlisted: boolean; commitCommands: number | undefined },
): { ms: number; serial: boolean } {
  if (call.method === 'GET' || call.enlisted || call.path === '/mgmt/shared/authn/login')
    return { ms: t.readMs, serial: false };
  if (call.commitCommands !== undefined)
    return { ms: t.commitBaseMs + t.commitPerCommandMs * call.commitCommands, serial: true };
  return { ms: t.writeMs, serial: true };
}

/** One configuration write at a time: later writes wait for the slot. */
export class WriteSlot {
  private tail: Promise<void> = Promise.resolve();

  async hold<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release = () => {};
    this.tail = new Promise((r) => {
      release = r;
    });
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
