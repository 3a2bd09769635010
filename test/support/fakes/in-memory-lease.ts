import { LeaseBusyError } from '../../../functions/domain/errors.js';
import type { PartitionLease } from '../../../functions/domain/ports.js';

/**
 * Partition leases in memory, with the DynamoDB lease's rules: one holder per key (re-entrant for
 * the same owner), a lease lapses after its TTL, a renewal only for the owner of an unexpired lease
 * and answers its send-by time (half the TTL later). `events` records acquire/release in order.
 */
export class InMemoryLease implements PartitionLease {
  readonly holders = new Map<string, string>();
  private readonly expiries = new Map<string, number>();
  readonly events: string[] = [];
  /** Runs while the caller waits for the lease (another writer's work meanwhile). */
  whileWaiting: (() => Promise<void>) | undefined;

  constructor(private readonly options: { ttlMs?: number; clock?: () => number } = {}) {}

  private get ttlMs(): number {
    return this.options.ttlMs ?? 60_000;
  }

  /** The lease's clock (a writer over this lease judges its grants by it). */
  readonly clock = (): number => (this.options.clock ?? Date.now)();

  private now(): number {
    return this.clock();
  }

  private heldByOther(key: string, owner: string): boolean {
    const holder = this.holders.get(key);
    return holder !== undefined && holder !== owner && (this.expiries.get(key) ?? Infinity) > this.now();
  }

  async acquire(key: string, owner: string): Promise<number> {
    const meanwhile = this.whileWaiting;
    this.whileWaiting = undefined;
    await meanwhile?.();
    if (this.heldByOther(key, owner)) throw new LeaseBusyError(`partition lease ${key} is held`, { key });
    const now = this.now();
    this.holders.set(key, owner);
    this.expiries.set(key, now + this.ttlMs);
    this.events.push(`acquire ${key}`);
    return now + this.ttlMs / 2;
  }

  /**
   * Another writer takes the lease (the holder's expired while it was slowed down: tests move their
   * clock past the TTL first, as only then could another writer take it).
   */
  steal(key: string, other = 'another-writer'): void {
    this.holders.set(key, other);
    this.expiries.delete(key);
  }

  async renew(key: string, owner: string): Promise<number> {
    const now = this.now();
    if (this.holders.get(key) !== owner || (this.expiries.get(key) ?? Infinity) <= now)
      throw new LeaseBusyError(`partition lease ${key} was lost`, { key });
    this.expiries.set(key, now + this.ttlMs);
    return now + this.ttlMs / 2;
  }

  async release(key: string, owner: string): Promise<void> {
    if (this.holders.get(key) === owner) {
      this.holders.delete(key);
      this.expiries.delete(key);
    }
    this.events.push(`release ${key}`);
  }

  async countHeld(prefix: string, nowMs: number): Promise<number> {
    return [...this.holders.keys()].filter(
      (key) => key.startsWith(prefix) && (this.expiries.get(key) ?? Infinity) > nowMs,
    ).length;
  }
}
