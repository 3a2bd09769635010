import type { ListenerStatistics } from '../../../functions/domain/listener-statistics.js';
import type { HealthStore, OperatingStatusChange } from '../../../functions/domain/ports.js';
import type { InMemoryResourceStore } from './in-memory-resource-store.js';

/**
 * What the health poller writes, in memory: operating statuses on the records of an in-memory
 * resources table (each only if the object is still ACTIVE, at the revision and with the status it
 * was read with, as the DynamoDB adapter's condition), and listener statistics.
 */
export class InMemoryHealthStore implements HealthStore {
  readonly statistics = new Map<string, ListenerStatistics>();

  constructor(private readonly resources: InMemoryResourceStore) {}

  async writeOperatingStatuses(changes: readonly OperatingStatusChange[], _nowMs: number): Promise<number> {
    let written = 0;
    for (const { record, to } of changes) {
      const stored = this.resources.get(record.loadbalancerId, record.type, record.id);
      if (
        !stored ||
        stored.revision !== record.revision ||
        stored.operatingStatus !== record.operatingStatus ||
        stored.provisioningStatus !== 'ACTIVE' ||
        stored.tenantId !== record.tenantId ||
        stored.env !== record.env
      )
        continue;
      stored.operatingStatus = to;
      written++;
    }
    return written;
  }

  async loadStatistics(loadbalancerId: string): Promise<ListenerStatistics[]> {
    return [...this.statistics.values()]
      .filter((s) => s.loadbalancerId === loadbalancerId)
      .map((s) => structuredClone(s));
  }

  async deleteStatistics(loadbalancerId: string): Promise<void> {
    for (const [key, s] of this.statistics)
      if (s.loadbalancerId === loadbalancerId) this.statistics.delete(key);
  }

  async saveStatistics(statistics: readonly ListenerStatistics[]): Promise<void> {
    for (const s of statistics)
      this.statistics.set(`${s.loadbalancerId}|${s.listenerId}`, structuredClone(s));
  }
}
