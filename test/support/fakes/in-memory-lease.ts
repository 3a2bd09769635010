import { LeaseBusyError } from '../../../functions/domain/errors.js';
import type { PartitionLease } from '../../../functions/domain/ports.js';

const LEASE_TTL_MS = 60_000;

/** Partition leases in memory; `events` records acquire/release in order. */
export class InMemoryLease implements PartitionLease {
  readonly holders = new Map<string, string>();
  readonly events: string[] = [];
  /** Runs while the caller waits for the lease (another writer's work meanwhile). */
  whileWaiting: (() => Promise<void>) | undefined;

  async acquire(key: string, owner: string): Promise<void> {
    const meanwhile = this.whileWaiting;
    this.whileWaiting = undefined;
    await meanwhile?.();
    const holder = this.holders.get(key);
    if (holder && holder !== owner) throw new LeaseBusyError(`partition lease ${key} is held`, { key });
    this.holders.set(key, owner);
    this.events.push(`acquire ${key}`);
  }

  /** Another writer takes the lease (the holder's expired while it was slowed down). */
  steal(key: string, other = 'another-writer'): void {
    this.holders.set(key, other);
  }

  async renew(key: string, owner: string): Promise<number> {
    if (this.holders.get(key) !== owner) throw new LeaseBusyError(`partition lease ${key} was lost`, { key });
    return Date.now() + LEASE_TTL_MS / 2;
  }

  async release(key: string, owner: string): Promise<void> {
    if (this.holders.get(key) === owner) this.holders.delete(key);
    this.events.push(`release ${key}`);
  }
}
