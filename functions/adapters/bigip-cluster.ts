import { BigIpError } from '../domain/errors.js';
import type { BigIpDevice, DeviceCluster, DeviceStatus } from '../domain/ports.js';

export interface ClusterOptions {
  /** Names the cluster in leases and logs. */
  name: string;
  /** Device group to config-sync after a change (manual-sync HA pairs); absent = no sync. */
  deviceGroup?: string;
  /** How long a device's failover state is trusted before it is read again. */
  statusTtlMs?: number;
  /** How long a config-sync may take to reach `In Sync` before the change is retried (§4.3). */
  syncTimeoutMs?: number;
  /** How often the sync status is read while a sync runs. */
  syncPollMs?: number;
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Sync states of a group that mean "still syncing" (F5's own module waits on these, bigip-real-device.md §4.3). */
const SYNC_IN_PROGRESS = new Set(['Not All Devices Synced', 'Awaiting Initial Sync', 'Syncing']);

/**
 * The device or HA pair of one environment. Writes go to the active unit: a standby accepts
 * writes without complaint, so the failover status is polled (cached a few seconds), not inferred.
 */
export class BigIpCluster implements DeviceCluster {
  private readonly states = new Map<string, { at: number; status: DeviceStatus | undefined }>();
  private readonly clock: () => number;

  constructor(
    readonly devices: readonly BigIpDevice[],
    readonly options: ClusterOptions,
  ) {
    if (devices.length === 0) throw new Error(`cluster ${options.name} has no devices`);
    this.clock = options.clock ?? Date.now;
  }

  get name(): string {
    return this.options.name;
  }

  /** True when every change is followed by a config-sync of the device group. */
  get syncsConfig(): boolean {
    return this.options.deviceGroup !== undefined && this.devices.length > 1;
  }

  /**
   * The unit to write to: the first that says ACTIVE, without waiting for the others (a hung
   * standby must not hold up applies on the active unit).
   */
  async activeDevice(): Promise<BigIpDevice> {
    if (this.devices.length === 1) return this.devices[0] as BigIpDevice;
    const active = await new Promise<BigIpDevice | undefined>((resolve) => {
      let pending = this.devices.length;
      for (const device of this.devices) {
        this.statusOf(device).then((status) => {
          if (status?.failoverState === 'ACTIVE') resolve(device);
          if (--pending === 0) resolve(undefined);
        });
      }
    });
    if (!active) {
      this.forget();
      throw new BigIpError(`no device of cluster ${this.name} is ACTIVE`, {
        device: this.name,
        transient: true,
      });
    }
    return active;
  }

  async close(): Promise<void> {
    await Promise.all(this.devices.map((d) => d.close()));
  }

  /** Forget cached failover states (after an error that may mean the pair failed over). */
  forget(): void {
    this.states.clear();
  }

  /**
   * Pushes a change to the peer. A config-sync copies the unit's whole configuration, so it must
   * only ever run from the ACTIVE unit: a change that landed on a unit that went standby (a stale
   * status) is not synced but re-applied on the active unit (transient error), and its stray copy
   * is overwritten by the next sync from the active. Writers that all sync from the active lose
   * nothing, so partitions keep their own leases.
   */
  async syncAfterChange(device: BigIpDevice): Promise<void> {
    if (!this.syncsConfig) return;
    const status = await device.status();
    if (status.failoverState !== 'ACTIVE') {
      this.forget();
      throw new BigIpError(
        `device ${device.name} is ${status.failoverState}, no longer ACTIVE: the change will be applied on the active unit`,
        { device: device.name, transient: true },
      );
    }
    await device.configSync(this.options.deviceGroup as string);
    await this.awaitInSync(device);
  }

  async ensureSynced(device: BigIpDevice): Promise<void> {
    if (!this.syncsConfig) return;
    const status = await device.status({ withSync: true });
    if (status.syncStatus === 'In Sync') return;
    await this.syncAfterChange(device);
  }

  /**
   * A config-sync answers at once and runs in the background (§4.3): a failover inside that window
   * loses the change on the new active unit. So a change counts as applied only once the group is
   * `In Sync` and the unit that made it is still ACTIVE; a failed or slow sync is a transient error
   * (the message is retried and the change re-applied on whichever unit is active then).
   */
  private async awaitInSync(device: BigIpDevice): Promise<void> {
    const clock = this.options.clock ?? Date.now;
    const sleep = this.options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
    const deadline = clock() + (this.options.syncTimeoutMs ?? 30_000);
    for (;;) {
      const status = await device.status({ withSync: true });
      const sync = status.syncStatus ?? 'unknown';
      if (sync === 'In Sync') {
        if (status.failoverState === 'ACTIVE') return;
        this.forget();
        throw new BigIpError(`device ${device.name} went ${status.failoverState} during config-sync`, {
          device: device.name,
          transient: true,
        });
      }
      if (!SYNC_IN_PROGRESS.has(sync)) {
        this.forget();
        throw new BigIpError(`config-sync of ${this.options.deviceGroup} from ${device.name} ended ${sync}`, {
          device: device.name,
          transient: true,
        });
      }
      if (clock() >= deadline) {
        throw new BigIpError(
          `config-sync of ${this.options.deviceGroup} not In Sync in time (still ${sync})`,
          {
            device: device.name,
            transient: true,
          },
        );
      }
      await sleep(this.options.syncPollMs ?? 500);
    }
  }

  private async statusOf(device: BigIpDevice): Promise<DeviceStatus | undefined> {
    const cached = this.states.get(device.name);
    const ttl = this.options.statusTtlMs ?? 10_000;
    if (cached && this.clock() - cached.at < ttl) return cached.status;
    let status: DeviceStatus | undefined;
    try {
      status = await device.status();
    } catch {
      status = undefined; // unreachable: not a candidate
    }
    this.states.set(device.name, { at: this.clock(), status });
    return status;
  }
}
