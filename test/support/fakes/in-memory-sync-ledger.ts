import type { SyncClaim, SyncLedger, SyncLedgerState } from '../../../functions/domain/ports.js';
import { previousSyncFailed } from '../../../functions/domain/sync-ledger-numbers.js';

/** The config-sync ledger in memory, with the same rules as the DynamoDB one. */
export class InMemorySyncLedger implements SyncLedger {
  private readonly groups = new Map<
    string,
    {
      started: number;
      ended: number;
      lastGood: number;
      owner: string | undefined;
      expiresAt: number;
      held: number;
      tookMs: number | undefined;
    }
  >();

  private entry(group: string) {
    let e = this.groups.get(group);
    if (!e) {
      e = { started: 0, ended: 0, lastGood: 0, owner: undefined, expiresAt: 0, held: 0, tookMs: undefined };
      this.groups.set(group, e);
    }
    return e;
  }

  async read(group: string, nowMs: number): Promise<SyncLedgerState> {
    return this.stateOf(group, nowMs);
  }

  private stateOf(group: string, nowMs: number): SyncLedgerState {
    const e = this.entry(group);
    const running = e.owner !== undefined && e.expiresAt > nowMs;
    return {
      started: e.started,
      ended: e.ended,
      running,
      lastGood: e.lastGood,
      holding: running && e.started > 0 && e.held === e.started,
      ...(e.tookMs === undefined ? {} : { lastTookMs: e.tookMs }),
    };
  }

  async begin(
    group: string,
    owner: string,
    nowMs: number,
    ttlMs: number,
    options: { hold?: boolean } = {},
  ): Promise<SyncClaim> {
    const e = this.entry(group);
    if (e.owner !== undefined && e.expiresAt >= nowMs) return { busy: this.stateOf(group, nowMs) };
    e.started += 1;
    e.owner = owner;
    e.expiresAt = nowMs + ttlMs;
    e.held = options.hold ? e.started : 0;
    return {
      started: e.started,
      ...(e.tookMs === undefined ? {} : { lastTookMs: e.tookMs }),
      ...(previousSyncFailed(e.started, e.lastGood) ? { previousFailed: true } : {}),
    };
  }

  async issue(group: string, owner: string, n: number): Promise<boolean> {
    const e = this.entry(group);
    if (e.owner !== owner || e.started !== n) return false;
    e.held = 0;
    return true;
  }

  async end(
    group: string,
    owner: string,
    n: number,
    ok: boolean,
    options: { tookMs?: number } = {},
  ): Promise<void> {
    const e = this.entry(group);
    // As the DynamoDB ledger: the duration is kept only by the runner's own first write of a good end.
    if (ok && e.lastGood < n && e.owner === owner && e.ended < n && options.tookMs !== undefined)
      e.tookMs = Math.round(options.tookMs);
    if (ok && e.lastGood < n) e.lastGood = n;
    if (e.owner === owner) {
      e.owner = undefined;
      e.held = 0;
    }
    if (e.ended < n) e.ended = n;
  }
}
