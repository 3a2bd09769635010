import { describe, expect, it } from 'vitest';
import { BigIpCluster } from '../../../functions/adapters/bigip-cluster.js';
import { BigIpError } from '../../../functions/domain/errors.js';
import { InMemoryBigIp } from '../../support/fakes/in-memory-bigip.js';

/** Two in-memory units whose failover-state reads are counted by unit name. */
function pair() {
  const a = new InMemoryBigIp('a');
  const b = Object.assign(new InMemoryBigIp('b'), { failoverState: 'STANDBY' });
  const reads: string[] = [];
  for (const unit of [a, b]) {
    const status = unit.status.bind(unit);
    unit.status = async (options) => {
      reads.push(unit.name);
      return status(options);
    };
  }
  return { a, b, reads };
}

describe('BigIpCluster: which unit to write to, and its cached failover states', () => {
  it('asks the unit last seen ACTIVE alone, and every unit once it failed over or hangs', async () => {
    let now = 0;
    const { a, b, reads } = pair();
    const c = new BigIpCluster([a, b], { name: 'c1', statusTtlMs: 10, unitCheckMs: 50, clock: () => now });
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

  it('reads every unit again after an error of a unit it handed out (the pair may have failed over)', async () => {
    const { a, b, reads } = pair();
    const c = new BigIpCluster([a, b], { name: 'c1' });
    const unit = await c.activeDevice();
    reads.length = 0;
    expect((await c.activeDevice()).name).toBe('a');
    expect(reads).toEqual([]); // cached
    a.fail = new BigIpError('refused', { device: 'a', status: 400, transient: false });
    await expect(unit.execute('P', emptyPlan())).rejects.toBeInstanceOf(BigIpError);
    a.failoverState = 'STANDBY';
    b.failoverState = 'ACTIVE';
    expect((await c.activeDevice()).name).toBe('b');
    expect(reads.sort()).toEqual(['a', 'b']);
  });

  it('reads every unit again once a caller read the active unit as no longer ACTIVE', async () => {
    const { a, b, reads } = pair();
    const c = new BigIpCluster([a, b], { name: 'c1' });
    const unit = await c.activeDevice();
    a.failoverState = 'STANDBY';
    b.failoverState = 'ACTIVE';
    // A config-sync's check of its writer, say.
    expect((await unit.status()).failoverState).toBe('STANDBY');
    reads.length = 0;
    expect((await c.activeDevice()).name).toBe('b');
    expect(reads.sort()).toEqual(['a', 'b']);
  });

  it('refuses when no unit is ACTIVE (transient: the request is retried)', async () => {
    const { a, b } = pair();
    a.failoverState = 'STANDBY';
    const c = new BigIpCluster([a, b], { name: 'c1' });
    await expect(c.activeDevice()).rejects.toSatisfy((e) => e instanceof BigIpError && e.transient);
  });

  it('names each unit’s peers, and nothing for a single unit', async () => {
    const { a, b } = pair();
    const c = new BigIpCluster([a, b], { name: 'c1' });
    const active = await c.activeDevice();
    expect(c.peersOf(active).map((u) => u.name)).toEqual(['b']);
    const single = new BigIpCluster([new InMemoryBigIp('solo')], { name: 'c2' });
    expect(single.peersOf(await single.activeDevice())).toEqual([]);
  });

  it('reports each unit’s state for a heartbeat, a hung one as hung without waiting for it', async () => {
    const { a, b } = pair();
    a.status = async (options) => ({
      failoverState: 'ACTIVE',
      ...(options?.withSync ? { syncStatus: 'In Sync' } : {}),
      ...(options?.withVersion ? { version: '17.1.0' } : {}),
    });
    b.status = () => new Promise(() => {});
    const c = new BigIpCluster([a, b], { name: 'c1', clock: () => 42 });
    const states = await c.unitStates({ withVersion: true, budgetMs: 20 });
    expect(states).toEqual({
      a: {
        reachable: true,
        failoverState: 'ACTIVE',
        syncStatus: 'In Sync',
        version: '17.1.0',
        checkedAt: 42,
      },
      b: { reachable: false, message: 'device b: no answer within 20 ms (hung)', checkedAt: 42 },
    });
  });
});

function emptyPlan() {
  return {
    createFolder: false,
    commands: [
      { op: 'delete' as const, object: { kind: 'pool' as const, partition: 'P', name: 'x', attrs: {} } },
    ],
    atomic: false,
    nodeCleanup: [],
    removeFolder: false,
  };
}
