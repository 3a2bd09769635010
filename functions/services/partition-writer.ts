import { type ApplyPlan, type ApplyScope, planApply } from '../domain/bigip-apply-plan.js';
import { partitionLeaseKey } from '../domain/bigip-names.js';
import type { DeviceSnapshot, ReadUnit } from '../domain/bigip-objects.js';
import type { Translation } from '../domain/bigip-translation.js';
import { BigIpError, LeaseBusyError, OutOfTimeError } from '../domain/errors.js';
import type { WriteTimes } from '../domain/invocation-time.js';
import {
  type LastApplied,
  type LastAppliedMap,
  lastAppliedAfter,
  readBackUnits,
  usableAnswers,
  writtenKeys,
} from '../domain/last-applied.js';
import type { NetCommand } from '../domain/network-objects.js';
import type { BigIpDevice, DeviceCluster, ExecuteReport, PartitionLease } from '../domain/ports.js';
import type { GroupSync } from './group-sync.js';

export interface PartitionWriterDeps {
  env: string;
  lease: PartitionLease;
  cluster: Pick<DeviceCluster, 'name' | 'activeDevice'>;
  sync: Pick<GroupSync, 'confirm' | 'prepare'>;
  /** A lease-owner token, fresh for each write (two writes of one process never share a lease). */
  newOwner: () => string;
  clock: () => number;
}

/**
 * A send renews the lease unless this share of the last grant's sending window is still ahead: a
 * change planned right after the lease was taken is fenced by the acquisition itself (the same
 * guarantee, one DynamoDB write fewer), one planned later gets a full window again.
 */
const FRESH_GRANT = 0.8;

/** Whether another unit of the group holds a change (asked after the config-sync). */
export type HoldsCheck = (unit: BigIpDevice) => Promise<boolean>;

/** What a write did, once its lease is released and its changes are confirmed on the group. */
export type WriteResult<T> =
  | {
      outcome: 'written';
      /** What the caller's work returned. */
      value: T;
      /** Why the changes it sent are not confirmed on every unit (a transient error: apply again); absent when they are. */
      unconfirmed?: unknown;
    }
  /** Another writer holds the partition: nothing was read or sent. */
  | { outcome: 'busy'; error: LeaseBusyError };

/** A plan changes the device (the folder, a command, a node clean-up, the folder's removal). */
export function changesDevice(plan: ApplyPlan): boolean {
  return plan.createFolder || plan.commands.length > 0 || plan.nodeCleanup.length > 0 || plan.removeFolder;
}

/**
 * Whether a unit already has what a translation wants for a scope: the same read and plan as an
 * apply, and nothing to do (clean-up after the change, such as a node, is not asked about). The
 * last-applied records are those the change left (a change records what it wrote after sending).
 */
export function unitHolds(
  translation: Translation,
  scope: ApplyScope,
  lastApplied?: LastAppliedMap,
): HoldsCheck {
  return async (unit) => {
    const snapshot = await unit.read(translation.partition, scope.reads);
    const plan = planApply(translation, scope, snapshot, lastApplied);
    return !plan.createFolder && plan.commands.length === 0;
  };
}

/** A change planned for one load balancer's objects, with what it was planned from. */
export interface PlannedChange {
  translation: Translation;
  scope: ApplyScope;
  /** What the device showed when the change was planned. */
  snapshot: DeviceSnapshot;
  plan: ApplyPlan;
  /** The last-applied records it was planned with. */
  lastApplied: LastAppliedMap;
}

/** A change sent, and what the device read back right after it. */
export interface SentChange {
  report: ExecuteReport;
  /**
   * Every last-applied record after the change (last-applied.ts: `lastAppliedAfter`). The same map
   * is corrected in place while the change is confirmed, should another unit read an object back
   * otherwise than the device answered its write: read it once the change is confirmed.
   */
  lastApplied: Map<string, LastApplied>;
  /** The objects it created or updated: their records must be kept. */
  written: Set<string>;
  /** The GETs that read them back (0 when the device's answers stood for all of them, or it wrote nothing recorded). */
  readBackCalls: number;
}

/**
 * Sends a planned change and records, still under the lease, what it wrote as the device holds it
 * right after our write, which the next plan compares with (like with like): the device's answer to
 * a write made on its own (no call more), else a read after it. The group's other units are asked
 * with the records the change left; one that reads an answered object back otherwise has it compared
 * with the device's own read of it, taken then, once (a device whose answers differ from its reads
 * then costs a GET, never an endless config-sync).
 */
export async function sendChange(
  session: PartitionSession,
  device: BigIpDevice,
  change: PlannedChange,
): Promise<SentChange> {
  const { translation, scope, snapshot, plan } = change;
  const records = new Map(change.lastApplied);
  const replace = (next: Map<string, LastApplied>) => {
    records.clear();
    for (const [k, v] of next) records.set(k, v);
  };
  let answered = false;
  let reread: Promise<void> | undefined;
  const holds: HoldsCheck = async (unit) => {
    if (await unitHolds(translation, scope, records)(unit)) return true;
    if (!answered) return false;
    reread ??= (async () => {
      const readBack = await session.read(device, readBackUnits(plan));
      replace(lastAppliedAfter(translation, scope, plan, snapshot, readBack, new Map(), change.lastApplied));
      answered = false;
    })().catch((error: unknown) => {
      reread = undefined;
      throw error;
    });
    await reread;
    return unitHolds(translation, scope, records)(unit);
  };
  const report = await session.send(device, plan, holds);
  const answers = usableAnswers(translation, plan, report.answers, change.lastApplied, snapshot.tmosVersion);
  const units = readBackUnits(plan, new Set(answers.keys()));
  const readBack = units.length > 0 ? await session.read(device, units) : undefined;
  replace(lastAppliedAfter(translation, scope, plan, snapshot, readBack, answers, change.lastApplied));
  answered = answers.size > 0;
  return { report, lastApplied: records, written: writtenKeys(plan), readBackCalls: units.length };
}

/** One write's time as the partition's only writer: the unit, its reads, and its fenced sends. */
export interface PartitionSession {
  /** The unit to write to. */
  activeDevice(): Promise<BigIpDevice>;
  read(device: BigIpDevice, units: readonly ReadUnit[]): Promise<DeviceSnapshot>;
  /**
   * Sends a planned change: if it changes anything, the lease is renewed first unless it was just
   * taken (LeaseBusyError when it was lost: nothing is sent), and no call of it is sent after the
   * grant's send-by time. The
   * change is confirmed on the group once the lease is released: `holds` asks each other unit
   * whether it has it (absent: any unit that took the sync does).
   */
  send(device: BigIpDevice, plan: ApplyPlan, holds?: HoldsCheck): Promise<ExecuteReport>;
  /**
   * Sends network commands (route domains, VLANs, self IPs, SNAT pools in /Common) fenced the same
   * way. `local`: objects a config-sync never carries (a unit's own self IP), written to that unit
   * and confirmed by nothing more.
   */
  sendNet(
    device: BigIpDevice,
    commands: readonly NetCommand[],
    options?: { holds?: HoldsCheck; local?: boolean },
  ): Promise<{ refused?: string }>;
}

interface Sent {
  device: BigIpDevice;
  changed: boolean;
  holds: HoldsCheck;
}

/**
 * How a change reaches a partition (or a network's objects in /Common, under a lease of their
 * own: `networkLeaseName`), for every writer (the agent's applier, the reconciler's repairs
 * and orphan removal): take the partition's lease → read the desired state inside it (the caller's
 * work starts only once the lease is held, so a writer that waited plans from the newest state and
 * never writes an older revision over a newer one) → read the device → plan → renew the lease
 * right before sending (a writer slowed past the lease's TTL does not write after another took over;
 * unless the lease was just taken, whose own grant still has most of its window ahead) and send
 * nothing after the grant's send-by time (a lease cannot fence a call already on its way)
 * → release the lease, and confirm every change on the device group (config-sync, peers asked) beside
 * that release, outside the lease so a tenant's next change does not queue behind a sync. The cluster reads every unit's
 * failover state again after any unit's error (the units it hands out report them).
 */
export class PartitionWriter {
  constructor(private readonly deps: PartitionWriterDeps) {}

  /**
   * Runs `work` as the only writer of `partition` of this cluster. An error of `work` releases the
   * lease and is thrown without confirming anything; changes it sent before are confirmed by the
   * next write (a retried apply re-plans from the device). `sendUntil`: the caller's own end (a
   * Lambda invocation's sending time): no call is sent after it, whatever the lease still allows,
   * and a send it stopped fails with OutOfTimeError. `confirmUntil`: nor is the group waited for
   * after the invocation's confirming time; the change is then `unconfirmed` with an OutOfTimeError.
   */
  async write<T>(
    partition: string,
    work: (session: PartitionSession) => Promise<T>,
    options: { holdSync?: boolean } & WriteTimes = {},
  ): Promise<WriteResult<T>> {
    const { env, lease, cluster } = this.deps;
    const key = partitionLeaseKey(env, cluster.name, partition);
    const owner = this.deps.newOwner();
    const { clock } = this.deps;
    /** When the last acquisition or renewal said sending must stop, and how long a window it gave. */
    let grant: { sendBy: number; window: number };
    try {
      const sendBy = await lease.acquire(key, owner);
      grant = { sendBy, window: sendBy - clock() };
    } catch (error) {
      if (error instanceof LeaseBusyError) return { outcome: 'busy', error };
      throw error;
    }
    const sent: Sent[] = [];
    const until = options.sendUntil ?? Number.POSITIVE_INFINITY;
    const outOfTime = (cause?: unknown) =>
      new OutOfTimeError(
        `stopped at the invocation's sending time (${partition}): the next attempt resumes the change`,
        { partition },
        cause === undefined ? undefined : { cause },
      );
    // Still the partition's only writer? A slowed writer may have outlived its lease (then: retried).
    // A grant taken just now answers that already (the lease is ours until well after its send-by).
    const fence = async (changed: boolean): Promise<{ sendBy?: number }> => {
      if (!changed) return {};
      // Nothing may be sent any more: no renewal either.
      if (clock() >= until) throw outOfTime();
      if (grant.sendBy - clock() < grant.window * FRESH_GRANT) {
        const sendBy = await lease.renew(key, owner);
        grant = { sendBy, window: sendBy - clock() };
      }
      return { sendBy: Math.min(grant.sendBy, until) };
    };
    /**
     * A call the device could not take once the caller's time was up (not sent past it, or cut) was
     * stopped by that time; a device's refusal, a lost lease or a bug stays what it is.
     */
    const fenced = async <R>(send: () => Promise<R>): Promise<R> => {
      try {
        return await send();
      } catch (error) {
        if (clock() >= until && error instanceof BigIpError && error.transient) throw outOfTime(error);
        throw error;
      }
    };
    // A change that outlasts a grant (a clean-up of hundreds of nodes) asks again between its parts.
    const renew = async () => (await fence(true)).sendBy as number;
    const session: PartitionSession = {
      activeDevice: () => cluster.activeDevice(),
      read: (device, units) => device.read(partition, units),
      send: (device, plan, holds = async () => true) =>
        fenced(async () => {
          const changed = changesDevice(plan);
          const sendBy = await fence(changed);
          // The sync that follows a change needs the unit's failover state: read beside the write.
          if (changed) this.deps.sync.prepare(device);
          const report = await device.execute(partition, plan, changed ? { ...sendBy, renew } : sendBy);
          sent.push({ device, changed, holds });
          return report;
        }),
      sendNet: (device, commands, options = {}) =>
        fenced(async () => {
          const changed = commands.length > 0;
          const sendBy = await fence(changed);
          if (changed && !options.local) this.deps.sync.prepare(device);
          const result = await device.writeNet(commands, sendBy);
          if (!options.local) sent.push({ device, changed, holds: options.holds ?? (async () => true) });
          return result;
        }),
    };
    const release = () => lease.release(key, owner).catch(() => undefined);
    let value: T;
    try {
      value = await work(session);
    } catch (error) {
      await release();
      throw error;
    }
    // Confirming writes nothing to the partition (a config-sync and reads), so it starts while the
    // lease is being released: one round trip fewer before the change is ACTIVE.
    const released = release();
    try {
      await this.confirm(sent, options.holdSync ?? true, options.confirmUntil);
      return { outcome: 'written', value };
    } catch (error) {
      return { outcome: 'written', value, unconfirmed: error };
    } finally {
      await released;
    }
  }

  /** Every change sent on every unit of the group, with the fewest config-syncs (one wait per device written). */
  private async confirm(sent: readonly Sent[], hold: boolean, until: number | undefined): Promise<void> {
    const byDevice = new Map<BigIpDevice, Sent[]>();
    for (const s of sent) byDevice.set(s.device, [...(byDevice.get(s.device) ?? []), s]);
    for (const [device, list] of byDevice) {
      await this.deps.sync.confirm(
        device,
        async (unit) => {
          for (const s of list) if (!(await s.holds(unit))) return false;
          return true;
        },
        { changed: list.some((s) => s.changed), hold, ...(until === undefined ? {} : { until }) },
      );
    }
  }
}
