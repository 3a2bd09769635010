import { describe, expect, it } from 'vitest';
import { BigIpCluster } from '../../../functions/adapters/bigip-cluster.js';
import type { BigIpObject } from '../../../functions/domain/bigip-objects.js';
import { BigIpError } from '../../../functions/domain/errors.js';
import type { BigIpDevice, DeviceStatus } from '../../../functions/domain/ports.js';
import { InMemoryBigIp } from '../../support/fakes/in-memory-bigip.js';
import { InMemorySyncLedger } from '../../support/fakes/in-memory-sync-ledger.js';

/**
 * A unit whose config-sync copies its objects to the peer a little later (device-facts.md §4.3: it answers at once
 * and finishes in the background), one sync at a time, counting how many ever overlapped.
 */
class SyncingUnit extends InMemoryBigIp {
  peer: SyncingUnit | undefined;
  syncing = 0;
  syncsStarted = 0;
  maxConcurrentSyncs = 0;
  /** What the next sync does instead of copying. */
  nextSyncFails = false;
  hang = false;

  constructor(
    name: string,
    private readonly syncMs = 15,
  ) {
    super(name);
  }

  override async read(partition: string, units: Parameters<InMemoryBigIp['read']>[1]) {
    if (this.hang) await new Promise(() => {});
    return super.read(partition, units);
  }

  override async status(options: { withSync?: boolean } = {}): Promise<DeviceStatus> {
    const status: DeviceStatus = { failoverState: this.failoverState };
    if (options.withSync) status.syncStatus = this.syncing > 0 ? 'Not All Devices Synced' : 'In Sync';
    return status;
  }

  override async syncStatus(): Promise<string> {
    return this.syncing > 0 ? 'Not All Devices Synced' : 'In Sync';
  }

  override async configSync(group: string): Promise<void> {
    this.events.push(`sync ${group}`);
    this.syncing += 1;
    this.syncsStarted += 1;
    this.maxConcurrentSyncs = Math.max(this.maxConcurrentSyncs, this.syncing);
    const fails = this.nextSyncFails;
    this.nextSyncFails = false;
    setTimeout(() => {
      const peer = this.peer as SyncingUnit;
      if (!fails) {
        peer.objects.clear();
        for (const [k, o] of this.objects) peer.objects.set(k, structuredClone(o));
        peer.folders.clear();
        for (const f of this.folders) peer.folders.add(f);
      }
      this.syncing -= 1;
    }, this.syncMs);
  }
}

function pair() {
  const a = new SyncingUnit('a');
  const b = new SyncingUnit('b');
  a.peer = b;
  b.peer = a;
  b.failoverState = 'STANDBY';
  return { a, b };
}

function cluster(devices: SyncingUnit[], ledger = new InMemorySyncLedger(), owner = 'w1') {
  return new BigIpCluster(devices, {
    name: 'c1',
    deviceGroup: 'dg',
    ledger,
    owner,
    syncPollMs: 2,
    ledgerPollMs: 2,
    syncTimeoutMs: 2_000,
    unitCheckMs: 50,
  });
}

const pool = (name: string): BigIpObject => ({ kind: 'pool', partition: 'P', name, attrs: {} });

/** Writes an object on the unit, as an apply would. */
function write(unit: SyncingUnit, o: BigIpObject) {
  unit.folders.add(o.partition);
  unit.objects.set(`pool/${o.partition}/${o.name}`, o);
}

const holds = (name: string) => async (unit: BigIpDevice) =>
  (unit as SyncingUnit).objects.has(`pool/P/${name}`);

describe('config-sync of a device group (one at a time, shared by every writer)', () => {
  it('confirms a change only once the peer holds it, after a sync that started after the change', async () => {
    const { a, b } = pair();
    const c = cluster([a, b]);
    write(a, pool('p1'));
    await c.confirmOnGroup(a, holds('p1'), { changed: true });
    expect(b.objects.has('pool/P/p1')).toBe(true);
    expect(a.syncsStarted).toBe(1);
  });

  it('never runs two syncs at once, and covers many concurrent writers with few syncs', async () => {
    const { a, b } = pair();
    const ledger = new InMemorySyncLedger();
    // Twenty writers (as twenty agents or invocations would be), each with its own cluster object.
    const writers = Array.from({ length: 20 }, (_, i) => cluster([a, b], ledger, `w${i}`));
    await Promise.all(
      writers.map(async (c, i) => {
        await new Promise((r) => setTimeout(r, (i % 5) * 4));
        write(a, pool(`p${i}`));
        await c.confirmOnGroup(a, holds(`p${i}`), { changed: true });
      }),
    );
    for (let i = 0; i < 20; i++) expect(b.objects.has(`pool/P/p${i}`)).toBe(true);
    expect(a.maxConcurrentSyncs).toBe(1);
    expect(a.syncsStarted).toBeLessThan(20);
  });

  it('does not count a sync already running when the change landed: the next one covers it', async () => {
    const { a, b } = pair();
    const ledger = new InMemorySyncLedger();
    const first = cluster([a, b], ledger, 'w1');
    const second = cluster([a, b], ledger, 'w2');
    write(a, pool('early'));
    const one = first.confirmOnGroup(a, holds('early'), { changed: true });
    // Wait until the first sync runs, then change something it may not have taken.
    while (a.syncing === 0) await new Promise((r) => setTimeout(r, 1));
    write(a, pool('late'));
    await Promise.all([one, second.confirmOnGroup(a, holds('late'), { changed: true })]);
    expect(a.syncsStarted).toBe(2);
    expect(b.objects.has('pool/P/late')).toBe(true);
  });

  it('runs another sync when one ended without the change on the peer', async () => {
    const { a, b } = pair();
    const c = cluster([a, b]);
    a.nextSyncFails = true;
    write(a, pool('p1'));
    await c.confirmOnGroup(a, holds('p1'), { changed: true });
    expect(a.syncsStarted).toBe(2);
    expect(b.objects.has('pool/P/p1')).toBe(true);
  });

  it('needs no sync after an apply that changed nothing when the peer already holds it', async () => {
    const { a, b } = pair();
    const c = cluster([a, b]);
    write(a, pool('p1'));
    write(b, pool('p1'));
    await c.confirmOnGroup(a, holds('p1'), { changed: false });
    expect(a.syncsStarted).toBe(0);
    // …but an earlier sync that never finished is finished now.
    write(a, pool('p2'));
    await c.confirmOnGroup(a, holds('p2'), { changed: false });
    expect(a.syncsStarted).toBe(1);
  });

  it('refuses to sync from a unit that is no longer ACTIVE (the change is re-applied on the active one)', async () => {
    const { a, b } = pair();
    const c = cluster([a, b]);
    write(a, pool('p1'));
    a.failoverState = 'STANDBY';
    b.failoverState = 'ACTIVE';
    await expect(c.confirmOnGroup(a, holds('p1'), { changed: true })).rejects.toSatisfy(
      (e) => e instanceof BigIpError && e.transient,
    );
    expect(a.syncsStarted).toBe(0);
  });

  it('does not confirm a change whose writer lost ACTIVE inside the sync window, even if the peer holds its objects', async () => {
    const { a, b } = pair();
    const c = cluster([a, b]);
    write(a, pool('p1'));
    write(b, pool('p1')); // the objects in scope reached it earlier; what the writer cleaned up after did not
    a.nextSyncFails = true;
    const sync = a.configSync.bind(a);
    a.configSync = async (group) => {
      await sync(group);
      a.failoverState = 'STANDBY';
      b.failoverState = 'ACTIVE';
    };
    await expect(c.confirmOnGroup(a, holds('p1'), { changed: true })).rejects.toSatisfy(
      (e) => e instanceof BigIpError && e.transient,
    );
  });

  it('lets the writer’s sync status decide for a peer that does not answer (a hung management plane)', async () => {
    const { a, b } = pair();
    const c = cluster([a, b]);
    b.hang = true;
    write(a, pool('p1'));
    await c.confirmOnGroup(a, holds('p1'), { changed: true });
    expect(a.syncsStarted).toBe(1);
    // Asked once, then left alone while it stays hung: the next change does not wait for it again.
    write(a, pool('p2'));
    await c.confirmOnGroup(a, holds('p2'), { changed: true });
    expect(a.syncsStarted).toBe(2);
  });

  it('trusts a sync that ended well after the change when the peer is too slow to answer and the group is never In Sync', async () => {
    const { a, b } = pair();
    const c = cluster([a, b]);
    b.hang = true;
    // Another tenant's change is always pending on a busy group: its status never reads In Sync.
    a.status = async (options: { withSync?: boolean } = {}) => ({
      failoverState: a.failoverState,
      ...(options.withSync ? { syncStatus: 'Changes Pending' } : {}),
    });
    write(a, pool('p1'));
    await c.confirmOnGroup(a, holds('p1'), { changed: true });
    expect(a.syncsStarted).toBe(1);
  });

  it('does not trust a sync that ended badly: the next one must cover the change', async () => {
    const { a, b } = pair();
    const c = cluster([a, b]);
    let calls = 0;
    // The first sync ends Disconnected; the second one well.
    a.syncStatus = async () =>
      a.syncing > 0 ? 'Not All Devices Synced' : calls++ === 0 ? 'Disconnected' : 'In Sync';
    b.hang = true;
    write(a, pool('p1'));
    await expect(c.confirmOnGroup(a, holds('p1'), { changed: true })).rejects.toThrow(/ended Disconnected/);
    await c.confirmOnGroup(a, holds('p1'), { changed: true });
    expect(a.syncsStarted).toBe(2);
  });

  it('shares its ledger polls among the changes one writer confirms at once', async () => {
    const readsFor = async (writers: number) => {
      const a = new SyncingUnit('a', 60);
      const b = new SyncingUnit('b', 60);
      a.peer = b;
      b.peer = a;
      b.failoverState = 'STANDBY';
      const ledger = new InMemorySyncLedger();
      let reads = 0;
      const read = ledger.read.bind(ledger);
      ledger.read = (group, now) => {
        reads++;
        return read(group, now);
      };
      const c = new BigIpCluster([a, b], {
        name: 'c1',
        deviceGroup: 'dg',
        ledger,
        owner: 'w1',
        syncPollMs: 5,
        ledgerPollMs: 20,
        syncTimeoutMs: 5_000,
      });
      // A sync is already running when the changes land: each waits for the next one.
      await ledger.begin('c1#dg', 'someone-else', Date.now(), 1_000);
      setTimeout(() => void ledger.end('c1#dg', 'someone-else', 1, true), 100);
      await Promise.all(
        Array.from({ length: writers }, async (_, i) => {
          write(a, pool(`p${i}`));
          await c.confirmOnGroup(a, holds(`p${i}`), { changed: true });
        }),
      );
      return reads;
    };
    const one = await readsFor(1);
    const ten = await readsFor(10);
    // Unshared, ten waiters would read about ten times as often as one.
    expect(ten).toBeLessThan(one * 3);
  });

  it('does nothing for a single unit or a cluster without a device group', async () => {
    const single = new SyncingUnit('solo');
    await new BigIpCluster([single], { name: 'c1', deviceGroup: 'dg' }).confirmOnGroup(
      single,
      async () => false,
      { changed: true },
    );
    expect(single.syncsStarted).toBe(0);
  });

  it('polls a running sync at the last one’s duration, and recovers from an estimate taken under load', async () => {
    let now = 0;
    const { a, b } = pair();
    // The first sync takes 4 s (a loaded group), the later ones 2 s, on a manual clock.
    const durations = [4_000, ...Array(11).fill(2_000)];
    let startedAt = 0;
    let duration = 0;
    let polls = 0;
    let seenDoneAt = 0;
    a.configSync = async () => {
      a.syncsStarted += 1;
      startedAt = now;
      duration = durations[a.syncsStarted - 1] as number;
      for (const [k, o] of a.objects) b.objects.set(k, structuredClone(o));
    };
    a.syncStatus = async () => {
      polls += 1;
      if (now - startedAt < duration) return 'Not All Devices Synced';
      seenDoneAt ||= now;
      return 'In Sync';
    };
    const c = new BigIpCluster([a, b], {
      name: 'c1',
      deviceGroup: 'dg',
      ledger: new InMemorySyncLedger(),
      owner: 'w1',
      syncPollMs: 500,
      clock: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    });
    const reads: number[] = [];
    const late: number[] = [];
    for (const [i] of durations.entries()) {
      polls = 0;
      seenDoneAt = 0;
      write(a, pool(`p${i}`));
      await c.confirmOnGroup(a, holds(`p${i}`), { changed: true });
      reads.push(polls);
      late.push(Math.round(seenDoneAt - startedAt - duration));
    }
    // The first sync, with nothing to go by: 0.5, 1.25, 2.25, 3.25, 4.25 s. Then at the last one's
    // duration, shrinking by a tenth when a sync is done at the first read and by 30% when that
    // happens twice in a row, until a read finds one still running (4.25, 3.83, 2.68, 1.87 s);
    // from then on one or two reads, each sync seen at most a tenth late.
    expect(reads).toEqual([5, 1, 1, 1, 2, 1, 2, 1, 2, 1, 2, 1]);
    expect(late).toEqual([250, 2250, 1825, 678, 62, 62, 41, 41, 21, 21, 0, 0]);
    expect(a.syncsStarted).toBe(12);
  });

  it('asks the unit last seen ACTIVE alone, and every unit once it failed over or hangs', async () => {
    let now = 0;
    const { a, b } = pair();
    const reads: string[] = [];
    for (const unit of [a, b]) {
      const status = unit.status.bind(unit);
      unit.status = async (options) => {
        reads.push(unit.name);
        return status(options);
      };
    }
    const c = new BigIpCluster([a, b], {
      name: 'c1',
      statusTtlMs: 10,
      unitCheckMs: 50,
      clock: () => now,
    });
    expect((await c.activeDevice()).name).toBe('a');
    expect(reads.sort()).toEqual(['a', 'b']);
    reads.length = 0;
    now += 20;
    expect((await c.activeDevice()).name).toBe('a');
    expect(reads).toEqual(['a']);
    // A failover: the old unit says STANDBY, so both are asked.
    a.failoverState = 'STANDBY';
    b.failoverState = 'ACTIVE';
    reads.length = 0;
    now += 20;
    expect((await c.activeDevice()).name).toBe('b');
    expect(reads.sort()).toEqual(['a', 'b']);
    // The active unit hangs and the pair fails over: the peer's answer is not held up by it.
    reads.length = 0;
    now += 20;
    b.status = () => new Promise(() => {});
    a.failoverState = 'ACTIVE';
    expect((await c.activeDevice()).name).toBe('a');
  });
});
