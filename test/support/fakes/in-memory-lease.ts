import { LeaseBusyError } from '../../../functions/domain/errors.js';
import type { PartitionLease } from '../../../functions/domain/ports.js';

/** Partition leases in memory; `events` records acquire/release in order. */
export class InMemoryLease implements PartitionLease {
  readonly ttlMs = 60_000;
  readonly holders = new Map<string, string>();
  readonly events: string[] = [];

  async acquire(key: string, owner: string): Promise<void> {
    const holder = this.holders.get(key);
    if (holder && holder !== owner) throw new LeaseBusyError(`partition lease ${key} is held`, { key });
    this.holders.set(key, owner);
    this.events.push(`acquire ${key}`);
  }

  async release(key: string, owner: string): Promise<void> {
    if (this.holders.get(key) === owner) this.holders.delete(key);
    this.events.push(`release ${key}`);
  }
}
