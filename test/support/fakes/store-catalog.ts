import type { ResourceType } from '../../../functions/domain/lbaas-request.js';
import type { ListPosition, ObjectCatalog } from '../../../functions/domain/ports.js';
import { listedByProject, type ResourceRecord } from '../../../functions/domain/resource-state.js';
import type { InMemoryResourceStore } from './in-memory-resource-store.js';

/** The Octavia API's catalog over the in-memory store: its records (in creation order) and VIP claims. */
export class StoreCatalog implements ObjectCatalog {
  constructor(private readonly store: InMemoryResourceStore) {}

  async listByProject(
    env: string,
    type: ResourceType,
    tenantId: string,
    page: { limit: number; after?: ListPosition },
  ) {
    const { after } = page;
    const items = [...this.store.records.values()]
      .filter((r) => listedByProject(r.type) && r.env === env && r.type === type && r.tenantId === tenantId)
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
      .filter(
        (r) =>
          !after ||
          r.createdAt > after.createdAt ||
          (r.createdAt === after.createdAt && r.id.localeCompare(after.id) > 0),
      );
    return { items: items.slice(0, page.limit), more: items.length > page.limit };
  }

  async listAll(env: string, type: ResourceType): Promise<ResourceRecord[]> {
    return [...this.store.records.values()].filter((r) => r.env === env && r.type === type);
  }

  async claimedAddresses(env: string, addresses: readonly string[]) {
    return new Set(addresses.filter((a) => this.store.claims.has(`vip#${env}#${a}`)));
  }
}
