import { describe, expect, it } from 'vitest';
import {
  deriveHealth,
  type HealthScrape,
  loadBalancerRollUp,
  type MemberReading,
  memberHealth,
  poolRollUp,
} from '../../../functions/domain/device-health.js';
import type { OperatingStatus, ResourceRecord } from '../../../functions/domain/resource-state.js';
import { TreeBuilder } from '../../support/trees.js';

// Paths are spelled out here from the upstream naming rule (`<env>_<id>` in partition `<env>_<tenant>`),
// not computed with the naming module the code under test uses.
const paths = (b: TreeBuilder) => {
  const partition = `/Project_${b.ids.tenantId}`;
  return {
    pool: (id: string) => `${partition}/Project_${id}`,
    virtual: (id: string) => `${partition}/Project_${id}`,
    address: (id: string) => `${partition}/Project_${id}`,
  };
};

const up: MemberReading = { monitorStatus: 'up', enabled: true };
const down: MemberReading = { monitorStatus: 'down', enabled: true };

/** Records applied and already measured ONLINE by an earlier poll. */
function active(...records: ResourceRecord[]) {
  for (const r of records) {
    r.provisioningStatus = 'ACTIVE';
    r.operatingStatus = 'ONLINE';
  }
}

/** Records applied, never measured: the status an apply gives before the first reading. */
function unmeasured(...records: ResourceRecord[]) {
  for (const r of records) {
    r.provisioningStatus = 'ACTIVE';
    r.operatingStatus = 'OFFLINE';
  }
}

const counters = { bitsIn: 0, bitsOut: 0, curConns: 0, totConns: 0, slowKilled: 0 };

/** A load balancer with an HTTP listener whose default pool has a monitor and two members. */
function twoMembers() {
  const b = new TreeBuilder();
  const pool = b.pool();
  const listener = b.listener({ default_pool_id: pool.id });
  const m1 = b.member(pool.id, { address: '10.0.0.1', protocol_port: 80 });
  const m2 = b.member(pool.id, { address: '10.0.0.2', protocol_port: 80 });
  const hm = b.healthmonitor(pool.id);
  active(b.root, listener, pool, m1, m2, hm);
  const p = paths(b);
  const scrape = (members: Record<string, MemberReading>, withVirtual = true): HealthScrape => ({
    unit: 'bigip-a',
    virtuals: new Map(withVirtual ? [[p.virtual(listener.id), { ...counters, enabled: true }]] : []),
    addresses: new Map([[p.address(b.root.id), { enabled: true }]]),
    pools: new Map([[p.pool(pool.id), new Map(Object.entries(members))]]),
  });
  return { b, pool, listener, m1, m2, hm, scrape };
}

describe('member health from the device', () => {
  it.each([
    [{ monitorStatus: 'up', enabled: true }, 'ONLINE'],
    [{ monitorStatus: 'down', enabled: true }, 'ERROR'],
    [{ monitorStatus: 'addr-down', enabled: true }, 'ERROR'],
    [{ monitorStatus: 'checking', enabled: true }, undefined],
    [{ monitorStatus: 'unchecked', enabled: true }, undefined],
    [{ monitorStatus: 'user-down', enabled: true }, undefined],
    [{ monitorStatus: 'up', enabled: false }, undefined],
  ] as const)('%o → %s', (reading, expected) => {
    expect(memberHealth(reading)).toBe(expected);
  });
  it('has no opinion on a member the device does not show', () => {
    expect(memberHealth(undefined)).toBeUndefined();
  });
});

describe('roll-up', () => {
  it.each([
    [[], 'ONLINE'],
    [['ONLINE', 'ONLINE'], 'ONLINE'],
    [['ONLINE', 'ERROR'], 'DEGRADED'],
    [['ERROR', 'ERROR'], 'ERROR'],
    [['NO_MONITOR', 'NO_MONITOR'], 'ONLINE'],
    [['NO_MONITOR', 'ERROR'], 'DEGRADED'],
    // Not measured yet: nothing fails, so nothing can be said.
    [['ONLINE', undefined], undefined],
    [[undefined], undefined],
    [['NO_MONITOR', undefined], undefined],
    // One fails: at least degraded, whatever the unmeasured ones turn out to be.
    [['ERROR', undefined], 'DEGRADED'],
  ] as [
    (OperatingStatus | undefined)[],
    OperatingStatus | undefined,
  ][])('pool of serving members %o is %s', (members, expected) => {
    expect(poolRollUp(members)).toBe(expected);
  });

  it.each([
    [['ERROR'], [], 'ERROR'],
    [['ERROR', 'OFFLINE'], [], 'ERROR'],
    [['ERROR', 'ONLINE'], [], 'DEGRADED'],
    [['ONLINE'], ['DEGRADED'], 'DEGRADED'],
    [['ONLINE'], ['ONLINE'], 'ONLINE'],
    [[], ['ERROR'], 'DEGRADED'],
    [[], [], 'ONLINE'],
  ] as [
    OperatingStatus[],
    OperatingStatus[],
    OperatingStatus,
  ][])('load balancer with listeners %o and pools %o is %s', (listeners, pools, expected) => {
    expect(loadBalancerRollUp(listeners, pools)).toBe(expected);
  });
});

describe('deriveHealth', () => {
  it('one member down: member ERROR, pool, listener and load balancer DEGRADED', () => {
    const t = twoMembers();
    const v = deriveHealth(t.b.tree(), t.scrape({ '10.0.0.1:80': up, '10.0.0.2:80': down }), 'Project');
    expect(Object.fromEntries(v.statuses)).toEqual({
      [`member#${t.m1.id}`]: 'ONLINE',
      [`member#${t.m2.id}`]: 'ERROR',
      [`pool#${t.pool.id}`]: 'DEGRADED',
      [`listener#${t.listener.id}`]: 'DEGRADED',
      [`loadbalancer#${t.b.root.id}`]: 'DEGRADED',
    });
    expect(v.poolsAllDown).toEqual([]);
  });

  it('every member down: pool, listener and load balancer ERROR, and the pool is reported', () => {
    const t = twoMembers();
    const v = deriveHealth(t.b.tree(), t.scrape({ '10.0.0.1:80': down, '10.0.0.2:80': down }), 'Project');
    expect(v.statuses.get(`pool#${t.pool.id}`)).toBe('ERROR');
    expect(v.statuses.get(`listener#${t.listener.id}`)).toBe('ERROR');
    expect(v.statuses.get(`loadbalancer#${t.b.root.id}`)).toBe('ERROR');
    expect(v.poolsAllDown).toEqual([t.pool.id]);
  });

  it('a member not checked yet keeps its status, and counts with it', () => {
    const t = twoMembers();
    const v = deriveHealth(
      t.b.tree(),
      t.scrape({ '10.0.0.1:80': down, '10.0.0.2:80': { monitorStatus: 'checking', enabled: true } }),
      'Project',
    );
    expect(v.statuses.has(`member#${t.m2.id}`)).toBe(false);
    // m2 is still ONLINE from before, m1 fails: degraded, not down.
    expect(v.statuses.get(`pool#${t.pool.id}`)).toBe('DEGRADED');
  });

  it('configuration decides for members disabled, drained, or in an unmonitored pool', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    const off = b.member(pool.id, { address: '10.0.0.1', protocol_port: 80, admin_state_up: false });
    const drain = b.member(pool.id, { address: '10.0.0.2', protocol_port: 80, weight: 0 });
    const plain = b.member(pool.id, { address: '10.0.0.3', protocol_port: 80 });
    active(b.root, pool, off, drain, plain);
    const scrape: HealthScrape = {
      unit: 'a',
      virtuals: new Map(),
      addresses: new Map(),
      pools: new Map([
        [
          paths(b).pool(pool.id),
          new Map([
            ['10.0.0.1:80', { monitorStatus: 'unchecked', enabled: false }],
            ['10.0.0.2:80', { monitorStatus: 'unchecked', enabled: false }],
            ['10.0.0.3:80', { monitorStatus: 'unchecked', enabled: true }],
          ]),
        ],
      ]),
    };
    const v = deriveHealth(b.tree(), scrape, 'Project');
    expect(v.statuses.get(`member#${off.id}`)).toBe('OFFLINE');
    expect(v.statuses.get(`member#${drain.id}`)).toBe('DRAINING');
    expect(v.statuses.get(`member#${plain.id}`)).toBe('NO_MONITOR');
    expect(v.statuses.get(`pool#${pool.id}`)).toBe('ONLINE');
  });

  it('an object the device does not show keeps its status (a replaced or restarting device marks nothing down)', () => {
    const t = twoMembers();
    const empty: HealthScrape = { unit: 'a', virtuals: new Map(), addresses: new Map(), pools: new Map() };
    const v = deriveHealth(t.b.tree(), empty, 'Project');
    expect([...v.statuses.keys()]).toEqual([]);
  });

  it('an administratively down load balancer is OFFLINE with its listeners, whatever the device says', () => {
    const b = new TreeBuilder({ admin_state_up: false });
    const listener = b.listener();
    active(b.root, listener);
    const v = deriveHealth(
      b.tree(),
      { unit: 'a', virtuals: new Map(), addresses: new Map(), pools: new Map() },
      'Project',
    );
    expect(v.statuses.get(`loadbalancer#${b.root.id}`)).toBe('OFFLINE');
    expect(v.statuses.get(`listener#${listener.id}`)).toBe('OFFLINE');
  });

  it('ignores objects of other tenants and environments in the scrape', () => {
    const t = twoMembers();
    const scrape = t.scrape({ '10.0.0.1:80': up, '10.0.0.2:80': up });
    scrape.pools.set(`/Other_${t.b.ids.tenantId}/Other_${t.pool.id}`, new Map([['10.0.0.1:80', down]]));
    const v = deriveHealth(t.b.tree(), scrape, 'Project');
    expect(v.statuses.get(`pool#${t.pool.id}`)).toBe('ONLINE');
  });

  it('a monitored member not checked yet keeps its initial status, and its pool is not called ONLINE', () => {
    const t = twoMembers();
    unmeasured(t.b.root, t.listener, t.pool, t.m1, t.m2);
    const checking: MemberReading = { monitorStatus: 'checking', enabled: true };
    const v = deriveHealth(t.b.tree(), t.scrape({ '10.0.0.1:80': up, '10.0.0.2:80': checking }), 'Project');
    expect(v.statuses.get(`member#${t.m1.id}`)).toBe('ONLINE');
    expect(v.statuses.has(`member#${t.m2.id}`)).toBe(false);
    expect(v.statuses.has(`pool#${t.pool.id}`)).toBe(false);
    // The listener's virtual server and the load balancer's address are there: those are measured.
    expect(v.statuses.get(`listener#${t.listener.id}`)).toBe('ONLINE');
    expect(v.statuses.get(`loadbalancer#${t.b.root.id}`)).toBe('ONLINE');
  });

  it('a load balancer without listeners or pools is measured by its virtual address', () => {
    const b = new TreeBuilder();
    unmeasured(b.root);
    const scrape = (enabled: boolean | undefined): HealthScrape => ({
      unit: 'a',
      virtuals: new Map(),
      addresses: new Map(enabled === undefined ? [] : [[paths(b).address(b.root.id), { enabled }]]),
      pools: new Map(),
    });
    expect(deriveHealth(b.tree(), scrape(true), 'Project').statuses.get(`loadbalancer#${b.root.id}`)).toBe(
      'ONLINE',
    );
    // Not on the device yet, or disabled there while it is meant enabled (an apply is on its way).
    expect(deriveHealth(b.tree(), scrape(undefined), 'Project').statuses.size).toBe(0);
    expect(deriveHealth(b.tree(), scrape(false), 'Project').statuses.size).toBe(0);
  });

  it('a listener without a pool is measured by its virtual server', () => {
    const b = new TreeBuilder();
    const listener = b.listener();
    unmeasured(b.root, listener);
    const scrape = (enabled: boolean | undefined): HealthScrape => ({
      unit: 'a',
      virtuals: new Map(
        enabled === undefined ? [] : [[paths(b).virtual(listener.id), { ...counters, enabled }]],
      ),
      addresses: new Map(),
      pools: new Map(),
    });
    expect(deriveHealth(b.tree(), scrape(true), 'Project').statuses.get(`listener#${listener.id}`)).toBe(
      'ONLINE',
    );
    expect(deriveHealth(b.tree(), scrape(undefined), 'Project').statuses.size).toBe(0);
    expect(deriveHealth(b.tree(), scrape(false), 'Project').statuses.size).toBe(0);
  });

  it('an unmonitored pool is ONLINE once its members are on the device, and not before', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    const m1 = b.member(pool.id, { address: '10.0.0.1', protocol_port: 80 });
    const m2 = b.member(pool.id, { address: '10.0.0.2', protocol_port: 80 });
    unmeasured(b.root, pool);
    for (const m of [m1, m2]) {
      m.provisioningStatus = 'ACTIVE';
      m.operatingStatus = 'NO_MONITOR';
    }
    const unchecked: MemberReading = { monitorStatus: 'unchecked', enabled: true };
    const scrape = (members: Record<string, MemberReading> | undefined): HealthScrape => ({
      unit: 'a',
      virtuals: new Map(),
      addresses: new Map(),
      pools: new Map(members ? [[paths(b).pool(pool.id), new Map(Object.entries(members))]] : []),
    });
    const both = deriveHealth(
      b.tree(),
      scrape({ '10.0.0.1:80': unchecked, '10.0.0.2:80': unchecked }),
      'Project',
    );
    expect(both.statuses.get(`pool#${pool.id}`)).toBe('ONLINE');
    expect(both.statuses.get(`member#${m1.id}`)).toBe('NO_MONITOR');
    // One member still on its way to the device: the pool is not yet what it is meant to be.
    const one = deriveHealth(b.tree(), scrape({ '10.0.0.1:80': unchecked }), 'Project');
    expect(one.statuses.has(`pool#${pool.id}`)).toBe(false);
    // The pool itself not on the device: nothing read.
    expect(deriveHealth(b.tree(), scrape(undefined), 'Project').statuses.has(`pool#${pool.id}`)).toBe(false);
  });

  it('an empty pool on the device is ONLINE (nothing in it fails), as Octavia reports a backend without servers', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    unmeasured(b.root, pool);
    const scrape: HealthScrape = {
      unit: 'a',
      virtuals: new Map(),
      addresses: new Map(),
      pools: new Map([[paths(b).pool(pool.id), new Map()]]),
    };
    expect(deriveHealth(b.tree(), scrape, 'Project').statuses.get(`pool#${pool.id}`)).toBe('ONLINE');
  });
});
