import { BigIpError } from '../domain/errors.js';
import type {
  BigIpDevice,
  DeviceCluster,
  DeviceStatus,
  SyncLedger,
  SyncLedgerState,
} from '../domain/ports.js';

export interface ClusterOptions {
  /** Names the cluster in leases and logs. */
  name: string;
  /** Device group to config-sync after a change (manual-sync HA pairs); absent = no sync. */
  deviceGroup?: string;
  /** How long a device's failover state is trusted before it is read again. */
  statusTtlMs?: number;
  /** How long a config-sync may take to reach `In Sync` before the change is retried (§4.3). */
  syncTimeoutMs?: number;
  /** How long after a config-sync its status is first read (later syncs start from the last one's duration). */
  syncPollMs?: number;
  /** How often a writer waiting for someone else's sync reads the ledger. */
  ledgerPollMs?: number;
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** One config-sync at a time per device group across every agent (required when the cluster syncs). */
  ledger?: SyncLedger;
  /** Names this writer in the ledger. */
  owner?: string;
  /** How long another unit may take to say whether it holds a change before the writer's sync status decides. */
  unitCheckMs?: number;
}

/** Sync states of a group that mean "still syncing" (F5's own module waits on these, device-facts.md §4.3). */
const SYNC_IN_PROGRESS = new Set(['Not All Devices Synced', 'Awaiting Initial Sync', 'Syncing']);

/**
 * The device or HA pair of one environment. Writes go to the active unit: a standby accepts
 * writes without complaint, so the failover status is polled (cached a few seconds), not inferred.
 */
export class BigIpCluster implements DeviceCluster {
  private readonly states = new Map<string, { at: number; status: DeviceStatus | undefined }>();
  private readonly clock: () => number;
  private readonly owner: string;
  private readonly unanswered = new Set<BigIpDevice>();
  /** The last ledger read the waiters share (see pollLedger). */
  private polled: { group: string; at: number; state: Promise<SyncLedgerState> } | undefined;
  /** The unit the last failover read found ACTIVE (asked first next time). */
  private lastActive: BigIpDevice | undefined;
  /** How many syncs in a row were found done at their first poll (the estimate is too long). */
  private earlyFinds = 0;
  /** How long the last config-sync took, as seen by this writer. */
  private lastSyncMs: number | undefined;

  constructor(
    readonly devices: readonly BigIpDevice[],
    readonly options: ClusterOptions,
  ) {
    if (devices.length === 0) throw new Error(`cluster ${options.name} has no devices`);
    this.clock = options.clock ?? Date.now;
    this.owner = options.owner ?? `${options.name}#${Math.random().toString(36).slice(2)}`;
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
    // The unit last seen ACTIVE first, alone: it almost always still is, and then one read does.
    // If it does not say so quickly (hung, or failed over), every unit is asked.
    const asked = new Map<BigIpDevice, Promise<DeviceStatus | undefined>>();
    const last = this.lastActive;
    if (last) {
      const status = this.statusOf(last);
      asked.set(last, status);
      const first = await this.inTime(status);
      if (first !== 'late' && first?.failoverState === 'ACTIVE') return last;
    }
    const active = await new Promise<BigIpDevice | undefined>((resolve) => {
      let pending = this.devices.length;
      for (const device of this.devices) {
        (asked.get(device) ?? this.statusOf(device)).then((status) => {
          if (status?.failoverState === 'ACTIVE') resolve(device);
          if (--pending === 0) resolve(undefined);
        });
      }
    });
    this.lastActive = active;
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
   * A change counts as applied only once it is on every unit of the group (§4.3: a config-sync
   * answers at once and finishes in the background; a failover inside that window loses the
   * change on the new active unit). So the writer waits for a sync numbered after its change to end
   * (the ledger numbers syncs as they start, across every agent), running it itself when no one
   * else is, then asks the other units whether they hold its objects. One sync at a time per group:
   * changes that land while one runs are all covered by the next. The sync-status alone cannot
   * say whether a sync took a given change (a newer change also shows `Changes Pending`), so the
   * units are asked directly.
   */
  async confirmOnGroup(
    device: BigIpDevice,
    onUnit: (unit: BigIpDevice) => Promise<boolean>,
    options: { changed: boolean },
  ): Promise<void> {
    if (!this.syncsConfig) return;
    const ledger = this.options.ledger;
    if (!ledger) throw new Error(`cluster ${this.name} syncs its device group but has no sync ledger`);
    const group = this.groupKey;
    const others = this.devices.filter((d) => d !== device);
    const deadline = this.clock() + (this.options.syncTimeoutMs ?? 30_000);
    let target: number | undefined;
    // Every other unit holds it. A unit that cannot be asked in time (hung, or slow under load)
    // defers to the ledger: a sync numbered after the change that ended well copied it (a sync
    // copies the whole configuration); else to the writer's `In Sync`, which a busy group rarely
    // shows (another tenant's change is always pending).
    const confirmed = async (): Promise<boolean> => {
      const answers = await Promise.all(others.map((u) => this.ask(u, onUnit)));
      if (answers.includes(false)) return false;
      if (!answers.includes(undefined)) return true;
      if (target !== undefined && (await this.pollLedger(ledger, group)).lastGood >= target) return true;
      const status = await device.status({ withSync: true });
      return status.syncStatus === 'In Sync' && status.failoverState === 'ACTIVE';
    };
    if (!options.changed && (await confirmed())) return;

    // Fresh, never shared: a sync counted as "after the change" must have started after it.
    target = (await ledger.read(group, this.clock())).started + 1;
    for (;;) {
      const state = await this.pollLedger(ledger, group);
      if (state.ended >= target) {
        // The units are asked about the objects in scope; what the writer cleaned up after them (a
        // node no member uses) they are not. A writer still ACTIVE synced all of it; one that lost
        // ACTIVE inside the window re-applies on the new active unit, clean-up included (found by the
        // long soak: a node left on the unit that took over).
        if (await confirmed()) {
          await this.assertStillActive(device);
          return;
        }
        await this.assertStillActive(device);
        // The sync ended without our objects (it failed, or a unit was away): the next one must cover them.
        target = state.started + 1;
        continue;
      }
      if (!state.running) {
        const n = await ledger.begin(group, this.owner, this.clock(), this.syncLeaseMs);
        this.polled = undefined;
        if (n !== undefined) {
          await this.runSync(device, group, n);
          this.polled = undefined;
          continue;
        }
      }
      if (this.clock() >= deadline) {
        throw new BigIpError(
          `config-sync of ${this.options.deviceGroup} did not bring the change to every unit in time`,
          { device: device.name, transient: true },
        );
      }
      await this.sleep(this.options.ledgerPollMs ?? 200);
    }
  }

  /**
   * The ledger as the waiters of this writer poll it: one read shared by every waiter for half a
   * poll interval (a worker confirming ten tenants' changes reads it once, not ten times; found by
   * the hundred-tenant benchmark, where waiters' reads loaded the table). A stale answer only delays
   * a waiter; the number a change waits for is always read fresh.
   */
  private pollLedger(ledger: SyncLedger, group: string): Promise<SyncLedgerState> {
    const now = this.clock();
    const fresh = (this.options.ledgerPollMs ?? 200) / 2;
    if (this.polled && this.polled.group === group && now - this.polled.at < fresh) return this.polled.state;
    const state = ledger.read(group, now);
    const entry = { group, at: now, state };
    this.polled = entry;
    state.catch(() => {
      if (this.polled === entry) this.polled = undefined;
    });
    return state;
  }

  /**
   * Asks one unit whether it holds a change: true, false, or undefined when it does not answer in
   * time (a hung unit is then left alone for a while rather than asked by every apply).
   */
  private async ask(
    unit: BigIpDevice,
    onUnit: (unit: BigIpDevice) => Promise<boolean>,
  ): Promise<boolean | undefined> {
    // A unit still working on an earlier question is not asked again until it answers: a hung one
    // is left alone while it hangs (until its request deadline), a slow one is asked again as soon
    // as it has answered (found by the benchmark: a loaded peer taken for hung stalled confirmations).
    if (this.unanswered.has(unit)) return undefined;
    const asked = onUnit(unit).catch(() => undefined);
    const answer = await this.inTime(asked);
    if (answer !== 'late') return answer;
    this.unanswered.add(unit);
    void asked.finally(() => this.unanswered.delete(unit));
    return undefined;
  }

  /** A unit's answer, or 'late' when it takes longer than a unit may (unitCheckMs). */
  private async inTime<T>(answer: Promise<T>): Promise<T | 'late'> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), this.options.unitCheckMs ?? 2_000);
      timer.unref?.();
    });
    try {
      return await Promise.race([answer, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs sync `n` from the unit that wrote (only while it is still ACTIVE) until the group leaves the in-progress states. */
  private async runSync(device: BigIpDevice, group: string, n: number): Promise<void> {
    const ledger = this.options.ledger as SyncLedger;
    let ok = false;
    try {
      await this.assertStillActive(device);
      await device.configSync(this.options.deviceGroup as string);
      const startedAt = this.clock();
      const deadline = startedAt + (this.options.syncTimeoutMs ?? 30_000);
      // A group's syncs take about as long as its last one: the first poll goes then, later ones
      // every tenth of it, so the end is seen within a tenth of a sync, mostly with one or two calls.
      // Seen done at the first poll, it may have ended well before, so the estimate shrinks by a
      // tenth, and by 30% when that happens twice in a row: an estimate taken under load comes down
      // in a few syncs (found by the hundred-tenant benchmark: a 4 s estimate for 2 s syncs, which
      // the old 1.5x steps could reach, held every waiting writer 2 s per sync; and by the soak,
      // whose instant syncs waited out an estimate that shrank a tenth at a time). Steps are capped
      // at a second for the same reason.
      const expected = this.lastSyncMs;
      let poll = expected === undefined ? (this.options.syncPollMs ?? 500) : Math.max(50, expected);
      let step: number | undefined;
      for (;;) {
        await this.sleep(poll);
        const sync = await device.syncStatus();
        // Whether the change survived (a failover mid-sync, say) is what the units are asked next.
        if (!SYNC_IN_PROGRESS.has(sync)) {
          const took = this.clock() - startedAt;
          const early = expected !== undefined && step === undefined;
          this.earlyFinds = early ? this.earlyFinds + 1 : 0;
          this.lastSyncMs = early ? took * (this.earlyFinds > 1 ? 0.7 : 0.9) : took;
          if (sync === 'Disconnected') {
            throw new BigIpError(
              `config-sync of ${this.options.deviceGroup} from ${device.name} ended ${sync}`,
              {
                device: device.name,
                transient: true,
              },
            );
          }
          ok = true;
          return;
        }
        if (this.clock() >= deadline) {
          throw new BigIpError(
            `config-sync of ${this.options.deviceGroup} not finished in time (still ${sync})`,
            {
              device: device.name,
              transient: true,
            },
          );
        }
        // Slowly growing steps: a sync much slower than the last one is still found with few reads,
        // and the first one (nothing to go by) is seen at most a second late.
        step = step === undefined ? Math.max(100, (expected ?? poll) * 0.1) : Math.min(step * 1.25, 1_000);
        poll = expected === undefined ? Math.min(poll * 1.5, 1_000) : step;
      }
    } finally {
      await ledger.end(group, this.owner, n, ok).catch(() => undefined);
    }
  }

  /** Config-sync copies a unit's whole configuration: only from a unit read as ACTIVE just now. */
  private async assertStillActive(device: BigIpDevice): Promise<void> {
    const status = await device.status();
    if (status.failoverState === 'ACTIVE') return;
    this.forget();
    throw new BigIpError(
      `device ${device.name} is ${status.failoverState}, no longer ACTIVE: the change will be applied on the active unit`,
      { device: device.name, transient: true },
    );
  }

  private get groupKey(): string {
    return `${this.name}#${this.options.deviceGroup}`;
  }

  private get syncLeaseMs(): number {
    return (this.options.syncTimeoutMs ?? 30_000) + 15_000;
  }

  private sleep(ms: number): Promise<void> {
    return this.options.sleep ? this.options.sleep(ms) : new Promise((r) => setTimeout(r, ms));
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
