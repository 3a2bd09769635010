import { BigIpSimulator, type SimulatorOptions } from './bigip-simulator.js';
import type { OtherGroup } from './ha-pair.js';

/** Two simulated units in a device group: writes mark "Changes Pending", config-sync copies, failover flips both. */
export class BigIpPair {
  constructor(
    readonly a: BigIpSimulator,
    readonly b: BigIpSimulator,
  ) {
    a.peer = b;
    b.peer = a;
    a.setFailoverState('active');
    b.setFailoverState('standby');
  }

  static create(options: SimulatorOptions = {}): BigIpPair {
    return new BigIpPair(
      new BigIpSimulator({ ...options, hostname: 'bigip-a.example.test', managementIp: '192.0.2.11' }),
      new BigIpSimulator({ ...options, hostname: 'bigip-b.example.test', managementIp: '192.0.2.12' }),
    );
  }

  get active(): BigIpSimulator {
    return this.a.failoverState === 'active' ? this.a : this.b;
  }

  get standby(): BigIpSimulator {
    return this.active === this.a ? this.b : this.a;
  }

  /**
   * Another device group of the pair (device-facts.md §7.11: `datasync-global-dg`, a sync-only group) in a state
   * of the test's choosing, seen by both units; config-sync of the failover group leaves it as it is.
   */
  setOtherGroup(name: string, status: OtherGroup['status']): void {
    for (const unit of [this.a, this.b]) {
      unit.otherGroups = [...unit.otherGroups.filter((g) => g.name !== name), { name, status }];
    }
  }

  /** The active unit goes standby and its peer takes over. */
  failover(): void {
    const next = this.standby;
    this.active.setFailoverState('standby');
    next.setFailoverState('active');
  }

  async listen(): Promise<[string, string]> {
    return [await this.a.listen(), await this.b.listen()];
  }

  async close(): Promise<void> {
    await Promise.all([this.a.close(), this.b.close()]);
  }
}
