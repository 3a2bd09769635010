/**
 * Traffic and health counters the device keeps per virtual server and pool member (device-facts.md §5.2): bits
 * and connections, cumulative per unit, and each member's availability as its monitor sees it.
 * The simulator's own data plane (or a test) drives them; the stats endpoints render them.
 */
export interface VirtualCounters {
  bitsIn: number;
  bitsOut: number;
  curConns: number;
  totConns: number;
  /** Connections the device reset as too slow; the simulator's data plane never kills any. */
  slowKilled: number;
}

export type MonitorStatus = 'up' | 'down' | 'checking' | 'unchecked';

export class StatsBook {
  private readonly virtuals = new Map<string, VirtualCounters>();
  private readonly members = new Map<string, MonitorStatus>();

  virtual(fullPath: string): VirtualCounters {
    let c = this.virtuals.get(fullPath);
    if (!c) {
      c = { bitsIn: 0, bitsOut: 0, curConns: 0, totConns: 0, slowKilled: 0 };
      this.virtuals.set(fullPath, c);
    }
    return c;
  }

  /** Monitor status of a member (`poolPath|memberPath`); `unchecked` until a monitor reports. */
  member(key: string): MonitorStatus {
    return this.members.get(key) ?? 'unchecked';
  }

  setMember(key: string, status: MonitorStatus): void {
    this.members.set(key, status);
  }

  /** A reboot or a new unit: counters start again at zero. */
  reset(): void {
    this.virtuals.clear();
    this.members.clear();
  }
}
