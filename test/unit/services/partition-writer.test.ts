import { describe, expect, it } from 'vitest';
import type { ApplyPlan } from '../../../functions/domain/bigip-apply-plan.js';
import type { BigIpObject } from '../../../functions/domain/bigip-objects.js';
import { BigIpError, LeaseBusyError, OutOfTimeError } from '../../../functions/domain/errors.js';
import { changesDevice } from '../../../functions/services/partition-writer.js';
import { InMemoryBigIp, InMemoryCluster } from '../../support/fakes/in-memory-bigip.js';
import { InMemoryLease } from '../../support/fakes/in-memory-lease.js';
import { inMemoryWriter, manualClock } from '../../support/service-fixtures.js';

const ENV = 'Unit';
const PARTITION = `${ENV}_tenant1`;
const KEY = `${ENV}#cluster1#${PARTITION}`;
const TTL = 60_000;

const pool = (name: string): BigIpObject => ({ kind: 'pool', partition: PARTITION, name, attrs: {} });

function createPlan(...names: string[]): ApplyPlan {
  return {
    createFolder: true,
    commands: names.map((n) => ({ op: 'create', object: pool(n) })),
    atomic: true,
    nodeCleanup: [],
    removeFolder: false,
  };
}

const NOTHING: ApplyPlan = {
  createFolder: false,
  commands: [],
  atomic: false,
  nodeCleanup: [],
  removeFolder: false,
};

function fixture(
  devices = [new InMemoryBigIp('a'), Object.assign(new InMemoryBigIp('b'), { failoverState: 'STANDBY' })],
) {
  const clock = manualClock();
  const lease = new InMemoryLease({ ttlMs: TTL, clock: clock.now });
  const cluster = new InMemoryCluster(devices);
  const { sync, writer } = inMemoryWriter(ENV, cluster, lease);
  /** Everything that happened, in order: lease events, device calls, config-syncs. */
  const log: string[] = [];
  const acquire = lease.acquire.bind(lease);
  lease.acquire = async (k, o) => {
    const sendBy = await acquire(k, o);
    log.push('acquire');
    return sendBy;
  };
  const release = lease.release.bind(lease);
  lease.release = async (k, o) => {
    log.push('release');
    await release(k, o);
  };
  const renew = lease.renew.bind(lease);
  lease.renew = async (k, o) => {
    await renew(k, o);
    log.push('renew');
    return 123_456;
  };
  const confirm = sync.confirm.bind(sync);
  sync.confirm = async (device, onUnit, options) => {
    log.push(`confirm ${device.name} changed=${options.changed}`);
    await confirm(device, onUnit, options);
  };
  const [a] = devices as [InMemoryBigIp];
  const execute = a.execute.bind(a);
  const sendBys: (number | undefined)[] = [];
  a.execute = async (partition, plan, options) => {
    log.push(`execute ${plan.commands.length}`);
    sendBys.push(options?.sendBy);
    return execute(partition, plan, options);
  };
  return { clock, lease, cluster, sync, writer, log, a, b: devices[1] as InMemoryBigIp, sendBys };
}

// The rules every writer of a partition follows (the applier, the reconciler's repairs and orphan
// removal all write through PartitionWriter), each checked once here.
describe('PartitionWriter: how a change reaches a partition', () => {
  it('starts the work only once the lease is held, so a writer that waited plans from the newest state', async () => {
    const f = fixture();
    let desired = 'revision 1';
    // Another writer holds the partition and finishes its newer change while this one waits.
    f.lease.holders.set(KEY, 'other');
    f.lease.whileWaiting = async () => {
      desired = 'revision 2';
      f.lease.holders.delete(KEY);
    };
    const seen: string[] = [];
    const result = await f.writer.write(PARTITION, async () => {
      seen.push(desired);
      return desired;
    });
    expect(result).toEqual({ outcome: 'written', value: 'revision 2' });
    expect(seen).toEqual(['revision 2']);
  });

  it('answers busy without reading or sending anything while another writer keeps the lease', async () => {
    const f = fixture();
    f.lease.holders.set(KEY, 'other');
    let ran = false;
    const result = await f.writer.write(PARTITION, async () => {
      ran = true;
    });
    expect(result).toMatchObject({ outcome: 'busy', error: expect.any(LeaseBusyError) });
    expect(ran).toBe(false);
    expect(f.a.events).toEqual([]);
    expect(f.lease.holders.get(KEY)).toBe('other');
  });

  it('renews the lease right before sending, and hands the device the send-by time the renewal returned', async () => {
    const f = fixture();
    await f.writer.write(PARTITION, async (session) => {
      const device = await session.activeDevice();
      await session.read(device, []);
      // The reads took a while: most of the acquisition's sending window (half the TTL) is gone.
      f.clock.advance(TTL / 10 + 1);
      await session.send(device, createPlan('p1'));
    });
    expect(f.log.slice(0, 3)).toEqual(['acquire', 'renew', 'execute 1']);
    expect(f.sendBys).toEqual([123_456]);
  });

  it('sends a change planned right after the lease was taken under the acquisition’s own send-by time, without a renewal', async () => {
    const f = fixture();
    const takenAt = f.clock.now();
    await f.writer.write(PARTITION, async (session) => {
      const device = await session.activeDevice();
      await session.read(device, []);
      f.clock.advance(TTL / 10 - 1);
      await session.send(device, createPlan('p1'));
      // A second change later in the same write: the window left is short now, so it renews.
      f.clock.advance(2);
      await session.send(device, createPlan('p2'));
    });
    expect(f.log.slice(0, 4)).toEqual(['acquire', 'execute 1', 'renew', 'execute 1']);
    // No call is ever sent later than half a TTL after the lease was last written.
    expect(f.sendBys).toEqual([takenAt + TTL / 2, 123_456]);
  });

  it('lets a long change renew between its parts: a fresh grant is kept, a used one renewed, a lost one throws', async () => {
    const f = fixture();
    const takenAt = f.clock.now();
    const execute = f.a.execute.bind(f.a);
    const sendBys: number[] = [];
    let lost: unknown;
    const handed: boolean[] = [];
    f.a.execute = async (partition, plan, options) => {
      const renew = options?.renew;
      handed.push(renew !== undefined);
      if (!renew) return execute(partition, plan, options);
      sendBys.push(await renew());
      // Its first part took most of the window: the next asks the lease again.
      f.clock.advance(TTL / 10 + 1);
      sendBys.push(await renew());
      f.clock.advance(TTL + 1);
      f.lease.steal(KEY);
      lost = await renew().catch((e: unknown) => e);
      return execute(partition, plan, options);
    };
    await f.writer.write(PARTITION, async (session) => {
      const device = await session.activeDevice();
      await session.send(device, createPlan('p1'));
      // A plan that changes nothing sends nothing, so it is handed no renewal.
      await session.send(device, NOTHING);
    });
    expect(handed).toEqual([true, false]);
    expect(sendBys).toEqual([takenAt + TTL / 2, 123_456]);
    expect(lost).toBeInstanceOf(LeaseBusyError);
    expect(f.log.filter((e) => e === 'renew')).toHaveLength(1);
  });

  it('sends nothing once the lease was lost (a writer slowed past its TTL): the caller sees LeaseBusyError', async () => {
    const f = fixture();
    const result = await f.writer.write(PARTITION, async (session) => {
      const device = await session.activeDevice();
      f.clock.advance(TTL + 1);
      f.lease.steal(KEY);
      return session.send(device, createPlan('p1')).catch((e: unknown) => e);
    });
    expect(result).toMatchObject({ outcome: 'written', value: expect.any(LeaseBusyError) });
    expect(f.log).not.toContain('execute 1');
    expect(f.a.objects.size).toBe(0);
    expect(f.log.filter((e) => e.startsWith('confirm'))).toEqual([]);
  });

  it('releases the lease before the change is confirmed on the group, and confirms each unit written once', async () => {
    const f = fixture();
    const result = await f.writer.write(PARTITION, async (session) => {
      const device = await session.activeDevice();
      await session.send(device, createPlan('p1'));
      await session.send(device, createPlan('p2'));
      return 'done';
    });
    expect(result).toEqual({ outcome: 'written', value: 'done' });
    expect(f.log).toEqual(['acquire', 'execute 1', 'execute 1', 'release', 'confirm a changed=true']);
    // The group's sync is told of each change as it is sent (its failover read goes beside the write).
    expect(f.sync.prepared).toEqual(['a', 'a']);
    expect(f.sync.syncs).toEqual(['a']);
  });

  it('lets a confirmation’s sync be held for other writers unless the write says not (a network’s)', async () => {
    const f = fixture();
    const write = (options?: { holdSync?: boolean }) =>
      f.writer.write(
        PARTITION,
        async (session) => {
          await session.send(await session.activeDevice(), createPlan('p1'));
        },
        options,
      );
    await write();
    await write({ holdSync: false });
    expect(f.sync.mayHold).toEqual([true, false]);
  });

  it('asks the other units about every change it sent (each change’s own check)', async () => {
    const f = fixture();
    const asked: string[] = [];
    await f.writer.write(PARTITION, async (session) => {
      const device = await session.activeDevice();
      await session.send(device, createPlan('p1'), async (unit) => {
        asked.push(`p1 on ${unit.name}`);
        return true;
      });
      await session.send(device, createPlan('p2'), async (unit) => {
        asked.push(`p2 on ${unit.name}`);
        return true;
      });
    });
    expect(asked).toEqual(['p1 on b', 'p2 on b']);
  });

  it('neither renews nor syncs for a plan that changes nothing, but still has the peers asked', async () => {
    const f = fixture();
    await f.writer.write(PARTITION, async (session) => {
      await session.send(await session.activeDevice(), NOTHING);
    });
    expect(f.log).toEqual(['acquire', 'execute 0', 'release', 'confirm a changed=false']);
    expect(f.sendBys).toEqual([undefined]);
    expect(f.sync.prepared).toEqual([]);
    expect(f.sync.syncs).toEqual([]);
    expect(f.sync.checked).toEqual(['b']);
  });

  it('releases the lease and confirms nothing when the work fails', async () => {
    const f = fixture();
    f.a.fail = new BigIpError('reset', { device: 'a', transient: true });
    await expect(
      f.writer.write(PARTITION, async (session) => {
        await session.send(await session.activeDevice(), createPlan('p1'));
      }),
    ).rejects.toBeInstanceOf(BigIpError);
    expect(f.log).toEqual(['acquire', 'execute 1', 'release']);
    expect(f.lease.holders.size).toBe(0);
  });

  it('returns what the work did with the reason its changes are not confirmed on the group', async () => {
    const f = fixture();
    const timeout = new BigIpError('config-sync did not bring the change to every unit in time', {
      device: 'a',
      transient: true,
    });
    f.sync.fail = timeout;
    const result = await f.writer.write(PARTITION, async (session) => {
      await session.send(await session.activeDevice(), createPlan('p1'));
      return 'sent';
    });
    expect(result).toEqual({ outcome: 'written', value: 'sent', unconfirmed: timeout });
    expect(f.lease.holders.size).toBe(0);
  });

  it('confirms nothing for a single unit, and never for work that sent nothing', async () => {
    const f = fixture([new InMemoryBigIp('solo')]);
    await f.writer.write(PARTITION, async (session) => {
      await session.send(await session.activeDevice(), createPlan('p1'));
    });
    const idle = fixture();
    await idle.writer.write(PARTITION, async () => undefined);
    expect([...f.sync.syncs, ...idle.sync.syncs, ...idle.log.filter((e) => e.startsWith('confirm'))]).toEqual(
      [],
    );
  });

  it('never lets a call go after the caller’s own sending time, whatever the lease still allows', async () => {
    const f = fixture();
    const sendUntil = f.clock.now() + 10_000;
    // The lease would allow half its TTL from each renewal.
    f.lease.renew = async () => {
      f.log.push('renew');
      return f.clock.now() + TTL / 2;
    };
    const execute = f.a.execute.bind(f.a);
    let renewed: number | undefined;
    f.a.execute = async (partition, plan, options) => {
      const report = await execute(partition, plan, options);
      // A long change asks again between its parts, past the acquisition's fresh window.
      f.clock.advance(TTL / 10 + 1);
      renewed = await options?.renew?.();
      return report;
    };
    await f.writer.write(
      PARTITION,
      async (session) => session.send(await session.activeDevice(), createPlan('p1')),
      {
        sendUntil,
      },
    );
    expect(f.sendBys).toEqual([sendUntil]);
    expect(f.log).toContain('renew');
    expect(renewed).toBe(sendUntil);
  });

  it('sends and renews nothing once the caller’s sending time is over: OutOfTimeError, and the lease is let go', async () => {
    const f = fixture();
    const sendUntil = f.clock.now() + 1_000;
    const result = f.writer.write(
      PARTITION,
      async (session) => {
        const device = await session.activeDevice();
        await session.read(device, []);
        f.clock.advance(1_000);
        await session.send(device, createPlan('p1'));
      },
      { sendUntil },
    );
    await expect(result).rejects.toBeInstanceOf(OutOfTimeError);
    await expect(result).rejects.toMatchObject({ retryable: true });
    expect(f.log).toEqual(['acquire', 'release']);
    expect(f.a.objects.size).toBe(0);
    expect(f.lease.holders.size).toBe(0);
  });

  it('names a send that failed once that time was over as stopped by it (the device’s error as its cause); a refusal stays a refusal', async () => {
    for (const transient of [true, false]) {
      const f = fixture();
      const sendUntil = f.clock.now() + 1_000;
      const refusal = transient
        ? new BigIpError('ENOTSENT', { device: 'a', transient })
        : new BigIpError('01020036:3: not found', { device: 'a', status: 400, transient });
      f.a.execute = async () => {
        // Its calls went on until the cap, and the next was not sent.
        f.clock.advance(1_000);
        throw refusal;
      };
      const error = await f.writer
        .write(PARTITION, async (session) => session.send(await session.activeDevice(), createPlan('p1')), {
          sendUntil,
        })
        .catch((e: unknown) => e);
      if (transient) {
        expect(error).toBeInstanceOf(OutOfTimeError);
        expect((error as Error).cause).toBe(refusal);
      } else expect(error).toBe(refusal);
      expect(f.lease.holders.size).toBe(0);
    }
  });

  it('waits for the group only until the caller’s confirming time: the change is then unconfirmed (OutOfTimeError), its lease let go', async () => {
    const f = fixture();
    const confirmUntil = f.clock.now() + 50_000;
    // The group's sync (GroupSync, tested there) stops at that time.
    f.sync.fail = new OutOfTimeError('the invocation’s time ran out before the change was confirmed');
    const send = async (session: Parameters<Parameters<typeof f.writer.write>[1]>[0]) =>
      session.send(await session.activeDevice(), createPlan('p1'));
    const result = await f.writer.write(PARTITION, send, { sendUntil: confirmUntil - 10_000, confirmUntil });
    expect(f.sync.untils).toEqual([confirmUntil]);
    expect(result).toMatchObject({ outcome: 'written', unconfirmed: expect.any(OutOfTimeError) });
    expect(f.lease.holders.size).toBe(0);
    // Without an invocation's times (a run outside Lambda), nothing bounds the wait.
    await f.writer.write(PARTITION, send);
    expect(f.sync.untils).toEqual([confirmUntil, undefined]);
  });

  it('counts as a change whatever a plan would send: the folder, a command, a node clean-up, the folder’s removal', () => {
    expect(changesDevice(NOTHING)).toBe(false);
    expect(changesDevice({ ...NOTHING, createFolder: true })).toBe(true);
    expect(changesDevice(createPlan('p1'))).toBe(true);
    expect(changesDevice({ ...NOTHING, nodeCleanup: ['/Common/10.0.0.1'] })).toBe(true);
    expect(changesDevice({ ...NOTHING, removeFolder: true })).toBe(true);
  });
});
