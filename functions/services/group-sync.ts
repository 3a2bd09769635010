import { BigIpError, OutOfTimeError } from '../domain/errors.js';
import type {
  BigIpDevice,
  DeviceCluster,
  DeviceStatus,
  SyncClaim,
  SyncLedger,
  SyncLedgerState,
  Timers,
} from '../domain/ports.js';

export interface GroupSyncDeps {
  /** The units of the group (the writer's peers are asked whether they hold a change). */
  cluster: Pick<DeviceCluster, 'name' | 'peersOf'>;
  /**
   * The BIG-IP device group a config-sync copies (manual-sync HA pairs; `deviceGroup` in the
   * configuration); absent = never synced. Not this system's device group of agents and devices.
   */
  syncGroup?: string;
  /** One config-sync at a time per device group across every writer (required when the group syncs). */
  ledger?: SyncLedger;
  /** Names this writer in the ledger. */
  owner: string;
  clock: () => number;
  timers: Timers;
  /** How long a config-sync may take to bring a change to every unit before the change is retried (§4.3). */
  syncTimeoutMs?: number;
  /**
   * How long after a config-sync its status is first read when neither this writer nor the ledger
   * knows how long the group's syncs take (later syncs start from the last one's duration).
   */
  syncPollMs?: number;
  /** How often a writer waiting for someone else's sync reads the ledger. */
  ledgerPollMs?: number;
  /** How long another unit may take to say whether it holds a change before the ledger or the writer's sync status decides. */
  unitCheckMs?: number;
  /**
   * How many writers of this cluster hold a partition lease now (each may be about to send): a
   * sync claimed while the group is busy waits for them, bounded (see `hold`). Absent: every sync
   * starts at once.
   */
  writers?: (nowMs: number) => Promise<number>;
}

/**
 * How old a failover-state read taken while the change was sent may be when its sync starts: about a
 * write's time is expected (the sync follows the change at once); anything older is read again.
 */
const PREPARED_STATUS_MS = 1_000;
/** A sync's time for a writer that has seen none, nor the group's in the ledger. */
const UNKNOWN_SYNC_MS = 1_000;

/** The longest a sync is held for writers still sending, whatever the last sync took. */
const HOLD_MAX_MS = 5_000;
/**
 * A held sync waits for writers still sending at most this many syncs' time. With one, the last
 * writes of a hundred tenants' burst often landed just behind a sync that had gone (17 runs of 20
 * within 1.2 × the device's bound); with two, 19 of 20, with three syncs a run where one-sync
 * holds ran four or five (bench/README, "Issue 34, 2026-12-05 (second session)").
 */
const HOLD_SYNCS = 2;
/**
 * Syncs shorter than this are never held: few writes land during one, and the hold's own scan and
 * ledger write would cost more than it saves (found by the soak, whose syncs are instant).
 */
const HOLD_MIN_SYNC_MS = 200;

/**
 * How many syncs' time a runner waits for an earlier sync the device may still run (see
 * whileSyncing): one that ran past its runner's time ends within about one more.
 */
const WAIT_FOR_EARLIER_SYNCS = 2;

/** Sync states of a group that mean "still syncing" (F5's own module waits on these, device-facts.md §4.3). */
const SYNC_IN_PROGRESS = new Set(['Not All Devices Synced', 'Awaiting Initial Sync', 'Syncing']);

/**
 * The config-sync protocol of a device group: a change counts as applied only once it is on every
 * unit of the group (§4.3: a config-sync answers at once and finishes in the background; a
 * failover inside that window loses the change on the new active unit). A writer waits for a sync
 * numbered after its change to end (the ledger numbers syncs as they start, across every agent),
 * running it itself when no one else is, then asks the other units whether they hold its objects.
 * One sync at a time per group: changes that land while one runs are all covered by the next. The
 * sync status alone cannot say whether a sync took a given change (a newer change also shows
 * `Changes Pending`), so the units are asked directly. A config-sync copies a unit's whole
 * configuration, so it only ever runs from a unit read as ACTIVE just before.
 *
 * One instance per writer (agent worker, reconciler): it keeps the writer's estimate of how long
 * a sync takes, the units that have not answered yet, and the ledger read its waiters share.
 */
export class GroupSync {
  private readonly unanswered = new Set<BigIpDevice>();
  /** The last ledger read the waiters share (see pollLedger). */
  private polled: { ledgerKey: string; at: number; state: Promise<SyncLedgerState> } | undefined;
  /** How many syncs in a row were found done at their first poll (the estimate is too long). */
  private earlyFinds = 0;
  /** How long the last config-sync took, as seen by this writer. */
  private lastSyncMs: number | undefined;
  /** How long the last sync-status read took to be answered. */
  private statusReadMs = 0;
  /** Whether this writer's last claim started a sync (its next one likely does too). */
  private ranLast = false;
  /** When a claim of this writer was last refused (another writer's sync was running). */
  private refusedAt: number | undefined;
  /** A failover-state read started while a change was being sent (see `prepare`). */
  private prepared: { device: BigIpDevice; at: number; status: Promise<DeviceStatus> } | undefined;

  constructor(private readonly deps: GroupSyncDeps) {}

  /**
   * A change is being sent to `device`: when this writer likely runs the sync that follows (it ran
   * the last one), the failover state the sync needs is read now, beside the change's own write,
   * rather than after it on the way to ACTIVE (one round trip fewer for every change). The sync
   * uses it only if it is at most PREPARED_STATUS_MS old; either way the unit is read again after
   * the sync, which is what catches a failover inside the window.
   */
  prepare(device: BigIpDevice): void {
    if (this.deps.syncGroup === undefined || !this.ranLast) return;
    if (this.deps.cluster.peersOf(device).length === 0) return;
    const now = this.deps.clock();
    if (this.prepared?.device === device && now - this.prepared.at < PREPARED_STATUS_MS / 2) return;
    const status = device.status();
    status.catch(() => undefined);
    this.prepared = { device, at: now, status };
  }

  /** The prepared read for `device`, if it is still young enough (taken once). */
  private takePrepared(device: BigIpDevice): Promise<DeviceStatus> | undefined {
    const prepared = this.prepared;
    this.prepared = undefined;
    if (prepared?.device !== device || this.deps.clock() - prepared.at > PREPARED_STATUS_MS) return undefined;
    return prepared.status;
  }

  /**
   * Returns once what was written to `device` is on every other unit of the group (at once for a
   * single unit, or a group that is never synced): `onUnit` says whether a unit holds it. After a
   * change (`changed`), it first waits for a config-sync that started after the change to end,
   * running that sync itself when no other writer is. After an apply that changed nothing, a unit
   * that already holds the state needs no sync (an earlier sync that never finished gets one now).
   * Throws a transient BigIpError when the units do not agree in time or the writer lost ACTIVE.
   * `hold: false`: the sync this writer claims is never held (a network written inside a
   * partition's write would otherwise wait for that partition's lease, its own caller's). `until`:
   * the caller's own end (invocation-time.ts): no sync is sent and nothing is waited for after it,
   * and a change not confirmed by then fails with OutOfTimeError (a sync this writer was running is
   * recorded as not ended well: its waiters go on to the next one).
   */
  async confirm(
    device: BigIpDevice,
    onUnit: (unit: BigIpDevice) => Promise<boolean>,
    options: { changed: boolean; hold?: boolean; until?: number },
  ): Promise<void> {
    const others = this.deps.cluster.peersOf(device);
    if (this.deps.syncGroup === undefined || others.length === 0) return;
    const ledger = this.deps.ledger;
    if (!ledger)
      throw new Error(`cluster ${this.deps.cluster.name} syncs its device group but has no sync ledger`);
    const ledgerKey = this.ledgerKey;
    const deadline = this.deps.clock() + (this.deps.syncTimeoutMs ?? 30_000);
    const until = options.until ?? Number.POSITIVE_INFINITY;
    // Every other unit holds it. A unit that cannot be asked in time (hung, or slow under load)
    // defers to the ledger: a sync numbered after the change that ended well copied it (a sync
    // copies the whole configuration); else to the writer's `In Sync`, which a busy group rarely
    // shows (another tenant's change is always pending).
    const confirmed = async (target?: number): Promise<boolean> => {
      const answers = await Promise.all(others.map((u) => this.ask(u, onUnit)));
      if (answers.includes(false)) return false;
      if (!answers.includes(undefined)) return true;
      if (target !== undefined && (await this.pollLedger(ledger, ledgerKey)).lastGood >= target) return true;
      const status = await device.status({ withSync: true });
      return status.syncStatus === 'In Sync' && status.failoverState === 'ACTIVE';
    };
    if (!options.changed && (await confirmed())) return;

    // A sync counted as "after the change" must have started after it: claim the next one at once
    // (numbered after the change), or learn from the refusal which one to wait for. Either answer is
    // fresh, never a shared poll.
    let target: number;
    let ran: number | undefined;
    // Checked after every sync as well as every wait: a peer that never shows the change (a unit
    // that reads it back otherwise, or refuses it) would otherwise be synced for ever.
    const inTime = () => {
      this.withinCallersTime(until);
      if (this.deps.clock() < deadline) return;
      throw new BigIpError(
        `config-sync of ${this.deps.syncGroup} did not bring the change to every unit in time`,
        { device: device.name, transient: true },
      );
    };
    // The ledger's record that a sync this writer ran has ended: written while the units are asked
    // (one round trip fewer on the way to ACTIVE), and awaited before the ledger is used again.
    let ending: Promise<void> = Promise.resolve();
    const run = async (
      n: number,
      sync: { status?: Promise<DeviceStatus>; heldSince?: number; previousFailed?: boolean },
    ) => {
      let { status } = sync;
      const { heldSince } = sync;
      await ending;
      let ok = false;
      try {
        // A read taken before a hold or a wait that waited is too old to sync from.
        if (heldSince !== undefined && (await this.hold(heldSince, until))) status = undefined;
        if (sync.previousFailed && (await this.whileSyncing(device, until))) status = undefined;
        // A sync that would not end by the caller's end (at the group's pace) is left to the next
        // attempt, which has a whole invocation for it: cut while it ran, it would only make that
        // attempt wait for it (whileSyncing) and then run another.
        this.withinCallersTime(until - this.syncEstimateMs());
        if (heldSince !== undefined && !(await ledger.issue(ledgerKey, this.deps.owner, n)))
          throw new BigIpError(
            `config-sync ${n} of ${this.deps.syncGroup} is no longer this writer's to run`,
            {
              device: device.name,
              transient: true,
            },
          );
        await this.runSync(device, status, until);
        ok = true;
      } finally {
        ending = ledger
          .end(
            ledgerKey,
            this.deps.owner,
            n,
            ok,
            ok && this.lastSyncMs !== undefined ? { tookMs: this.lastSyncMs } : {},
          )
          .catch(() => undefined);
      }
    };
    try {
      // A writer that ran the group's last sync likely runs this one too: the failover state a sync
      // needs is read beside the claim (one round trip fewer; a refused claim wastes one GET).
      const status = this.takePrepared(device) ?? (this.ranLast ? device.status() : undefined);
      status?.catch(() => undefined);
      const claimedAt = this.deps.clock();
      const hold = options.hold !== false && this.busy(claimedAt);
      const first = await this.claim(ledger, ledgerKey, hold);
      if ('started' in first) {
        target = first.started;
        await run(first.started, {
          ...(status ? { status } : {}),
          ...(hold ? { heldSince: claimedAt } : {}),
          ...(first.previousFailed ? { previousFailed: true } : {}),
        });
        ran = first.started;
      }
      // A sync held for writers already sending has not sent its command: it covers this change.
      else target = first.busy.holding ? first.busy.started : first.busy.started + 1;
      for (;;) {
        // A sync this writer ran to its end needs no read to say so.
        const state: SyncLedgerState | undefined =
          ran !== undefined && ran >= target ? undefined : await this.pollLedger(ledger, ledgerKey);
        if (state === undefined || state.ended >= target) {
          // The units are asked about the objects in scope; what the writer cleaned up after them (a
          // node no member uses) they are not. A writer still ACTIVE synced all of it; one that lost
          // ACTIVE inside the window re-applies on the new active unit, clean-up included (found by the
          // long soak: a node left on the unit that took over). Both are asked at once, after the sync.
          const [held] = await Promise.all([confirmed(target), this.assertStillActive(device)]);
          if (held) return;
          await ending;
          // The sync ended without our objects (it failed, or a unit was away): the next one must cover them.
          target = (state ?? (await ledger.read(ledgerKey, this.deps.clock()))).started + 1;
          inTime();
          continue;
        }
        if (!state.running) {
          // This writer waited for another's sync: others are writing too, so the sync it claims
          // now is held for those still sending (one sync for all of them, not one each).
          const claimedAt = this.deps.clock();
          const hold = options.hold !== false && this.holdMs() !== undefined;
          const claim = await this.claim(ledger, ledgerKey, hold);
          if ('started' in claim) {
            await run(claim.started, {
              ...(hold ? { heldSince: claimedAt } : {}),
              ...(claim.previousFailed ? { previousFailed: true } : {}),
            });
            this.polled = undefined;
            ran = claim.started;
            continue;
          }
        }
        inTime();
        const poll = this.deps.ledgerPollMs ?? 200;
        await this.deps.timers.sleep(Math.max(1, Math.min(poll, until - this.deps.clock())));
      }
    } finally {
      await ending;
    }
  }

  /** Claims the next sync; a refusal's ledger state becomes the waiters' shared poll (it is as fresh as one). */
  private async claim(ledger: SyncLedger, ledgerKey: string, hold = false): Promise<SyncClaim> {
    const now = this.deps.clock();
    const claim = await ledger.begin(ledgerKey, this.deps.owner, now, this.syncLeaseMs, { hold });
    this.polled = 'busy' in claim ? { ledgerKey, at: now, state: Promise.resolve(claim.busy) } : undefined;
    if ('busy' in claim) this.refusedAt = now;
    this.ranLast = 'started' in claim;
    // A writer with no sync of its own yet (a new worker process) takes the group's last one as its
    // estimate: its first poll is then timed, not a guess seen up to a second late.
    const took = 'started' in claim ? claim.lastTookMs : claim.busy.lastTookMs;
    if (this.lastSyncMs === undefined && took !== undefined) this.lastSyncMs = took;
    return claim;
  }

  /** Whether the group looks busy to this writer now (see `busy`): a waiting change has company. */
  isBusy(): boolean {
    return this.busy(this.deps.clock());
  }

  /**
   * Whether the group looks busy to this writer: one of its claims was refused within the last two
   * holds' time (the writers of one invocation or container apply side by side, so this sees a
   * burst). A quiet change's claim is then never held: no scan, no wait, nothing more written.
   */
  private busy(now: number): boolean {
    const holdMs = this.holdMs();
    if (holdMs === undefined || this.refusedAt === undefined) return false;
    return now - this.refusedAt < 2 * Math.max(holdMs, 500);
  }

  /**
   * How long this writer would hold a sync: HOLD_SYNCS syncs' time (its last, or the group's from
   * the ledger, else a second), at most HOLD_MAX_MS; undefined when it never holds (no view of the
   * writers, or short syncs).
   */
  private holdMs(): number | undefined {
    if (this.deps.writers === undefined) return undefined;
    const estimate = this.syncEstimateMs();
    return estimate < HOLD_MIN_SYNC_MS ? undefined : Math.min(HOLD_MAX_MS, HOLD_SYNCS * estimate);
  }

  /** How long a sync takes, as far as this writer knows (its last, or the group's from the ledger, else a second). */
  private syncEstimateMs(): number {
    return this.lastSyncMs ?? UNKNOWN_SYNC_MS;
  }

  /**
   * Holds a claimed sync (claimed at `claimedAt`) until no writer of the cluster holds a partition
   * lease, for at most HOLD_SYNCS syncs' time: a change that lands while a sync runs waits for the
   * rest of it and for a whole sync more, so holding this one for writes on their way costs the
   * writers it serves about that, and each write it waits for needs no sync of its own (found by
   * bench:pipeline's hundred tenants, whose last writes landed just after a sync started and
   * waited for two). The bound keeps a steady stream of writers from holding a sync longer; past
   * it, only writers about to be done are waited for (`drainsWithinASync`). Its
   * first count may still see its own writer's lease (released beside the claim), and the hold then
   * lasts a poll: counting only once that release was done, or holding every sync a poll, did not
   * measure better (bench/README, "Issue 34, 2026-12-05"). True when it waited.
   */
  private async hold(claimedAt: number, until = Number.POSITIVE_INFINITY): Promise<boolean> {
    const writers = this.deps.writers;
    const holdMs = this.holdMs();
    if (!writers || holdMs === undefined) return false;
    const { clock, timers } = this.deps;
    const bound = claimedAt + holdMs;
    const counts: { at: number; sending: number }[] = [];
    let waited = false;
    for (;;) {
      // The hold only saves syncs: a scan that fails (throttled, say) ends it, never the change.
      const sending = await writers(clock()).catch(() => 0);
      if (sending === 0) return waited;
      counts.push({ at: clock(), sending });
      const left = bound - clock();
      if (left <= 0 && !this.drainsWithinASync(counts)) return waited;
      // Never past the caller's own end (confirm's `until`): the sync is then not sent at all.
      if (clock() >= until) return waited;
      waited = true;
      const poll = Math.min(this.deps.ledgerPollMs ?? 200, left > 0 ? left : Infinity, until - clock());
      await timers.sleep(Math.max(1, poll));
    }
  }

  /**
   * Whether the writers still sending, at the rate their number fell over the last half sync, are
   * all done before a sync sent now would end: that sync would then miss the last of them and
   * another would follow, so holding on costs them less (bench:pipeline's hundred tenants, once
   * the queue's messages were taken in: the bound ran out with a few writers left, and they waited
   * for two more syncs). Writers that keep coming, or one long change, do not fall: the bound holds.
   */
  private drainsWithinASync(counts: readonly { at: number; sending: number }[]): boolean {
    const syncMs = this.syncEstimateMs();
    const now = counts[counts.length - 1];
    const then = counts.findLast((c) => now !== undefined && now.at - c.at >= syncMs / 2);
    if (!now || !then || then.sending <= now.sending) return false;
    const perMs = (then.sending - now.sending) / (now.at - then.at);
    return now.sending / perMs <= syncMs;
  }

  /**
   * A peer that came back empty (replaced, or restored from an old backup) shows the group out of
   * sync while the active unit is whole: sync it from the active unit. True when it synced.
   * `until`: as confirm's.
   */
  async resyncPeer(device: BigIpDevice, until?: number): Promise<boolean> {
    if (this.deps.syncGroup === undefined || this.deps.cluster.peersOf(device).length === 0) return false;
    const status = await device.syncStatus();
    if (status === 'In Sync' || status === 'Standalone') return false;
    await this.confirm(device, async () => true, {
      changed: true,
      ...(until === undefined ? {} : { until }),
    });
    return true;
  }

  /**
   * The ledger as the waiters of this writer poll it: one read shared by every waiter for half a
   * poll interval (a worker confirming ten tenants' changes reads it once, not ten times; found by
   * the hundred-tenant benchmark, where waiters' reads loaded the table). A stale answer only delays
   * a waiter; the number a change waits for is always read fresh.
   */
  private pollLedger(ledger: SyncLedger, ledgerKey: string): Promise<SyncLedgerState> {
    const now = this.deps.clock();
    const fresh = (this.deps.ledgerPollMs ?? 200) / 2;
    if (this.polled && this.polled.ledgerKey === ledgerKey && now - this.polled.at < fresh)
      return this.polled.state;
    const state = ledger.read(ledgerKey, now);
    const entry = { ledgerKey, at: now, state };
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
    const answer = await this.deps.timers.within(asked, this.deps.unitCheckMs ?? 2_000);
    if (answer !== 'late') return answer;
    this.unanswered.add(unit);
    void asked.finally(() => this.unanswered.delete(unit));
    return undefined;
  }

  /**
   * Runs a config-sync from the unit that wrote (only while it is still ACTIVE) until the group
   * leaves the in-progress states; throws when it did not end well (the caller records the end).
   */
  private async runSync(
    device: BigIpDevice,
    status?: Promise<DeviceStatus>,
    until = Number.POSITIVE_INFINITY,
  ): Promise<void> {
    const { clock, timers } = this.deps;
    await this.assertStillActive(device, status);
    await device.configSync(this.deps.syncGroup as string);
    const startedAt = clock();
    const deadline = startedAt + (this.deps.syncTimeoutMs ?? 30_000);
    // A group's syncs take about as long as its last one: the first read is timed to be answered
    // then (a status read answers the state when it is answered, so the sleep leaves the last
    // read's own time for it), later ones every twentieth of it, so the end is seen within a
    // twentieth of a sync, mostly with one or two reads (a tenth, and an estimate that took the
    // read's time and the lateness into the next sync, cost a waited-for request some 150 ms per
    // sync in the standard sequence of bench:pipeline). The estimate is the middle of the last
    // "still syncing" answer and the "done" one; a sync seen done at the first read may have ended
    // well before, so the estimate then comes down by one step, and by 30% when that happens twice
    // in a row: an estimate taken under load comes down in a few syncs (found by the hundred-tenant
    // benchmark: a 4 s estimate for 2 s syncs held every waiting writer 2 s per sync; and by the
    // soak, whose instant syncs waited out an estimate that shrank a tenth at a time). Steps are
    // capped at a second for the same reason.
    const expected = this.lastSyncMs;
    const firstStep = Math.max(50, (expected ?? 0) * 0.05);
    let poll =
      expected === undefined ? (this.deps.syncPollMs ?? 500) : Math.max(0, expected - this.statusReadMs);
    let step: number | undefined;
    let steps = 0;
    /** When (after the command) the last read that found the sync still running was answered. */
    let running = 0;
    for (;;) {
      // The last read is taken at the caller's end, not after it.
      await timers.sleep(Math.max(0, Math.min(poll, until - clock())));
      const asked = clock();
      const sync = await device.syncStatus();
      const answered = clock();
      this.statusReadMs = answered - asked;
      const at = answered - startedAt;
      // Whether the change survived (a failover mid-sync, say) is what the units are asked next.
      if (!SYNC_IN_PROGRESS.has(sync)) {
        const early = expected !== undefined && step === undefined;
        this.earlyFinds = early ? this.earlyFinds + 1 : 0;
        this.lastSyncMs = Math.max(
          1,
          !early ? (running + at) / 2 : this.earlyFinds > 1 ? at * 0.7 : at - firstStep,
        );
        if (sync === 'Disconnected') {
          throw new BigIpError(`config-sync of ${this.deps.syncGroup} from ${device.name} ended ${sync}`, {
            device: device.name,
            transient: true,
          });
        }
        return;
      }
      running = at;
      this.withinCallersTime(until);
      if (clock() >= deadline) {
        throw new BigIpError(`config-sync of ${this.deps.syncGroup} not finished in time (still ${sync})`, {
          device: device.name,
          transient: true,
        });
      }
      // Steps that grow after the third: a sync much slower than the last one is still found with
      // few reads, and the group's first one (nothing to go by, even in the ledger) is seen at most a
      // second late.
      steps += 1;
      step = step === undefined ? firstStep : steps > 3 ? Math.min(step * 1.25, 1_000) : step;
      // At least half a step between reads: reads slowed by a loaded device never run back to back.
      poll =
        expected === undefined ? Math.min(poll * 1.5, 1_000) : Math.max(step / 2, step - this.statusReadMs);
    }
  }

  /**
   * Waits while `device` still runs a config-sync: one whose runner was cut at its time, timed out or
   * is gone, which the ledger says of the sync before a claim (`previousFailed`). Sending the next
   * meanwhile would run two at once, and concurrent syncs cause errors (upstream-agent.md, #405).
   * At most two syncs' time: a group that shows an in-progress state for longer is not running
   * that sync any more (a state that stays, say `Awaiting Initial Sync`), and needs the sync this
   * writer sends next. True when it waited (one status read when nothing runs).
   */
  private async whileSyncing(device: BigIpDevice, until: number): Promise<boolean> {
    const { clock, timers } = this.deps;
    const bound = clock() + WAIT_FOR_EARLIER_SYNCS * this.syncEstimateMs();
    let waited = false;
    for (;;) {
      const sync = await device.syncStatus();
      if (!SYNC_IN_PROGRESS.has(sync) || clock() >= bound) return waited;
      this.withinCallersTime(until);
      waited = true;
      await timers.sleep(
        Math.max(1, Math.min(this.deps.ledgerPollMs ?? 200, until - clock(), bound - clock())),
      );
    }
  }

  /** Throws once the caller's own time (`until`, see confirm) is up. */
  private withinCallersTime(until: number): void {
    if (this.deps.clock() < until) return;
    throw new OutOfTimeError(
      `config-sync of ${this.deps.syncGroup}: the invocation's time ran out before the change was confirmed on every unit; the next attempt confirms it`,
      { syncGroup: this.deps.syncGroup },
    );
  }

  /**
   * Config-sync copies a unit's whole configuration: only from a unit read as ACTIVE just now (the
   * cluster sees this read too, and reads every unit again before its next choice).
   */
  private async assertStillActive(device: BigIpDevice, read?: Promise<DeviceStatus>): Promise<void> {
    const status = await (read ?? device.status());
    if (status.failoverState === 'ACTIVE') return;
    throw new BigIpError(
      `device ${device.name} is ${status.failoverState}, no longer ACTIVE: the change will be applied on the active unit`,
      { device: device.name, transient: true },
    );
  }

  private get ledgerKey(): string {
    return `${this.deps.cluster.name}#${this.deps.syncGroup}`;
  }

  private get syncLeaseMs(): number {
    return (this.deps.syncTimeoutMs ?? 30_000) + 15_000;
  }
}
