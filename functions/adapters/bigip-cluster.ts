import type { ApplyPlan } from '../domain/bigip-apply-plan.js';
import type { BigIpObject, DeviceSnapshot, ReadUnit } from '../domain/bigip-objects.js';
import type { HealthScrape } from '../domain/device-health.js';
import { BigIpError } from '../domain/errors.js';
import type { NetCommand, NetObject } from '../domain/network-objects.js';
import type {
  BigIpDevice,
  DeviceCluster,
  DeviceState,
  DeviceStatus,
  ExecuteOptions,
  ExecuteReport,
} from '../domain/ports.js';
import type { InventoryItem } from '../domain/takeover-plan.js';
import { within } from '../shared/timers.js';

export interface ClusterOptions {
  /** Names the cluster in leases, the config-sync ledger and logs. */
  name: string;
  /** How long a device's failover state is trusted before it is read again. */
  statusTtlMs?: number;
  /** How long the unit last seen ACTIVE may take to say so before every unit is asked. */
  unitCheckMs?: number;
  clock?: () => number;
}

/**
 * The device or HA pair of one device group: which unit to write to, and what each unit says.
 * Writes go to the active unit: a standby accepts writes without complaint, so the failover
 * status is read (cached a few seconds), not inferred. The cache is kept true by what the units
 * answer: the units it hands out report every error and every failover state they read, and an
 * error, or a state that contradicts the cache, makes the next choice read every unit again.
 */
export class BigIpCluster implements DeviceCluster {
  private readonly states = new Map<string, { at: number; status: DeviceStatus | undefined }>();
  private readonly clock: () => number;
  /** The units as the cluster hands them out (not part of the port: the local stack and tests reach a unit through it). */
  readonly units: readonly BigIpDevice[];
  /** The unit the last failover read found ACTIVE (asked first next time). */
  private lastActive: BigIpDevice | undefined;

  constructor(
    devices: readonly BigIpDevice[],
    readonly options: ClusterOptions,
  ) {
    if (devices.length === 0) throw new Error(`cluster ${options.name} has no devices`);
    this.clock = options.clock ?? Date.now;
    this.units = devices.map((d) => new WatchedUnit(d, this));
  }

  get name(): string {
    return this.options.name;
  }

  /**
   * The unit to write to: the first that says ACTIVE, without waiting for the others (a hung
   * standby must not hold up applies on the active unit).
   */
  async activeDevice(): Promise<BigIpDevice> {
    if (this.units.length === 1) return this.units[0] as BigIpDevice;
    // The unit last seen ACTIVE first, alone: it almost always still is, and then one read does.
    // If it does not say so quickly (hung, or failed over), every unit is asked.
    const asked = new Map<BigIpDevice, Promise<DeviceStatus | undefined>>();
    const last = this.lastActive;
    if (last) {
      const status = this.statusOf(last);
      asked.set(last, status);
      const first = await within(status, this.options.unitCheckMs ?? 2_000);
      if (first !== 'late' && first?.failoverState === 'ACTIVE') return last;
    }
    const active = await new Promise<BigIpDevice | undefined>((resolve) => {
      let pending = this.units.length;
      for (const unit of this.units) {
        (asked.get(unit) ?? this.statusOf(unit)).then((status) => {
          if (status?.failoverState === 'ACTIVE') resolve(unit);
          if (--pending === 0) resolve(undefined);
        });
      }
    });
    this.lastActive = active;
    if (!active) {
      this.states.clear();
      throw new BigIpError(`no device of cluster ${this.name} is ACTIVE`, {
        device: this.name,
        transient: true,
      });
    }
    return active;
  }

  peersOf(device: BigIpDevice): readonly BigIpDevice[] {
    return this.units.filter((u) => u !== device);
  }

  async unitStates(options: {
    withVersion: boolean;
    budgetMs: number;
  }): Promise<Record<string, DeviceState>> {
    const states: Record<string, DeviceState> = {};
    const withSync = this.units.length > 1;
    await Promise.all(
      this.units.map(async (unit) => {
        try {
          const answer = await within(
            unit.status({ withSync, withVersion: options.withVersion }),
            options.budgetMs,
          );
          if (answer === 'late')
            throw new Error(`device ${unit.name}: no answer within ${options.budgetMs} ms (hung)`);
          states[unit.name] = {
            reachable: true,
            failoverState: answer.failoverState,
            ...(answer.syncStatus ? { syncStatus: answer.syncStatus } : {}),
            ...(answer.version ? { version: answer.version } : {}),
            checkedAt: this.clock(),
          };
        } catch (error) {
          states[unit.name] = {
            reachable: false,
            message: (error as Error).message.slice(0, 300),
            checkedAt: this.clock(),
          };
        }
      }),
    );
    return states;
  }

  async close(): Promise<void> {
    await Promise.all(this.units.map((d) => d.close()));
  }

  /**
   * Every unit's failover state is read again before the next choice: a unit's call failed (the
   * pair may have failed over), or a caller knows the pair failed over.
   */
  invalidate(): void {
    this.states.clear();
  }

  /** A caller read a unit's failover state: one that contradicts the cache means a failover. */
  observed(unit: BigIpDevice, status: DeviceStatus): void {
    const cached = this.states.get(unit.name)?.status;
    if (cached && cached.failoverState !== status.failoverState) this.states.clear();
    else if (status.failoverState !== 'ACTIVE' && unit === this.lastActive) this.states.clear();
  }

  private async statusOf(unit: BigIpDevice): Promise<DeviceStatus | undefined> {
    const cached = this.states.get(unit.name);
    const ttl = this.options.statusTtlMs ?? 10_000;
    if (cached && this.clock() - cached.at < ttl) return cached.status;
    let status: DeviceStatus | undefined;
    try {
      status = await (unit as WatchedUnit).device.status();
    } catch {
      status = undefined; // unreachable: not a candidate
    }
    this.states.set(unit.name, { at: this.clock(), status });
    return status;
  }
}

/** A unit as the cluster hands it out: every call goes to the device, and what it learns reaches the cluster's cache. */
class WatchedUnit implements BigIpDevice {
  constructor(
    readonly device: BigIpDevice,
    private readonly cluster: BigIpCluster,
  ) {}

  get name(): string {
    return this.device.name;
  }

  private async watch<T>(call: Promise<T>): Promise<T> {
    try {
      return await call;
    } catch (error) {
      this.cluster.invalidate();
      throw error;
    }
  }

  read(partition: string, units: readonly ReadUnit[]): Promise<DeviceSnapshot> {
    return this.watch(this.device.read(partition, units));
  }

  execute(partition: string, plan: ApplyPlan, options?: ExecuteOptions): Promise<ExecuteReport> {
    return this.watch(this.device.execute(partition, plan, options));
  }

  async status(options?: { withSync?: boolean; withVersion?: boolean }): Promise<DeviceStatus> {
    const status = await this.watch(this.device.status(options));
    this.cluster.observed(this, status);
    return status;
  }

  syncStatus(): Promise<string> {
    return this.watch(this.device.syncStatus());
  }

  configSync(deviceGroup: string): Promise<void> {
    return this.watch(this.device.configSync(deviceGroup));
  }

  readHealth(partitionPrefix: string, wantPool: (fullPath: string) => boolean): Promise<HealthScrape> {
    return this.watch(this.device.readHealth(partitionPrefix, wantPool));
  }

  readiness(): Promise<{ ready: boolean; reason?: string }> {
    return this.watch(this.device.readiness());
  }

  listPartitions(prefix: string): Promise<string[]> {
    return this.watch(this.device.listPartitions(prefix));
  }

  listPartition(partition: string): Promise<BigIpObject[]> {
    return this.watch(this.device.listPartition(partition));
  }

  readNet(objects: readonly NetObject[]): Promise<Map<string, Record<string, unknown>>> {
    return this.watch(this.device.readNet(objects));
  }

  writeNet(commands: readonly NetCommand[], options?: { sendBy?: number }): Promise<{ refused?: string }> {
    return this.watch(this.device.writeNet(commands, options));
  }

  routeDomainUsers(id: number): Promise<string[]> {
    return this.watch(this.device.routeDomainUsers(id));
  }

  inventory(): Promise<InventoryItem[]> {
    return this.watch(this.device.inventory());
  }

  close(): Promise<void> {
    return this.device.close();
  }
}
