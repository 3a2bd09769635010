import type { GroupRecord, GroupStore } from '../../../functions/domain/ports.js';

/** The groups table in memory (the in-memory binding store counts load balancers into it). */
export class InMemoryGroupStore implements GroupStore {
  readonly rows = new Map<string, GroupRecord>();
  reads = 0;

  row(env: string, name: string): GroupRecord {
    const key = `${env}#${name}`;
    let row = this.rows.get(key);
    if (!row) {
      row = { env, name, adminStateUp: true, loadBalancers: 0, listeners: 0, members: 0 };
      this.rows.set(key, row);
    }
    return row;
  }

  async listGroups(env: string): Promise<GroupRecord[]> {
    this.reads += 1;
    return [...this.rows.values()].filter((r) => r.env === env).map((r) => ({ ...r }));
  }

  async setAdminState(env: string, name: string, adminStateUp: boolean): Promise<void> {
    this.row(env, name).adminStateUp = adminStateUp;
  }

  async recordUsage(
    env: string,
    name: string,
    usage: { listeners: number; members: number; connections?: number; throughputMbps?: number },
    nowMs: number,
  ): Promise<void> {
    Object.assign(this.row(env, name), usage, { measuredAt: nowMs });
  }
}
