import { describe, expect, it } from 'vitest';
import { scopeFor } from '../../../functions/domain/bigip-apply-plan.js';
import { translate } from '../../../functions/domain/bigip-translation.js';
import { deriveHealth, type HealthScrape } from '../../../functions/domain/device-health.js';
import type { ResourceRecord, StatusOutcome } from '../../../functions/domain/resource-state.js';
import { completions, refusedByDevice } from '../../../functions/domain/status-completion.js';
import { TreeBuilder } from '../../support/trees.js';

/** Outcomes as `kind type` strings, for readable expectations. */
function summary(outcomes: StatusOutcome[]): string[] {
  return outcomes
    .map((o) => `${o.kind}${o.kind === 'active' ? `/${o.operatingStatus}` : ''} ${o.record.type}`)
    .sort();
}

/** Marks records as an earlier apply left them, and a poll measured them ONLINE since. */
function applied(...records: ResourceRecord[]): void {
  for (const r of records) {
    r.provisioningStatus = 'ACTIVE';
    r.operatingStatus = 'ONLINE';
  }
}

function settle(
  b: TreeBuilder,
  target: ResourceRecord,
  operation: 'create' | 'update' | 'delete' = 'create',
) {
  const tree = b.tree();
  const t = translate(tree, { env: 'Project' });
  const scope = scopeFor(tree, t, { resource: target.type, id: target.id, operation });
  return completions(tree, t, scope, [{ resource: target.type, objectId: target.id }]);
}

/** Writes outcomes onto their records, as the store does. */
function record(outcomes: StatusOutcome[]): void {
  for (const o of outcomes) {
    if (o.kind !== 'active') continue;
    o.record.provisioningStatus = 'ACTIVE';
    o.record.operatingStatus = o.operatingStatus;
  }
}

describe('operating status across applies and readings', () => {
  it('an apply before any reading gives OFFLINE; a reading gives ONLINE; a later apply keeps it', () => {
    const b = new TreeBuilder();
    const listener = b.listener();
    b.status(b.root, 'PENDING_UPDATE');
    const lbKey = `loadbalancer#${b.root.id}`;
    const listenerKey = `listener#${listener.id}`;
    record(settle(b, listener));
    expect([b.root.operatingStatus, listener.operatingStatus]).toEqual(['OFFLINE', 'OFFLINE']);

    // The device shows the load balancer's virtual address and the listener's virtual server
    // (paths spelled out from the upstream naming rule, `<env>_<id>` in partition `<env>_<tenant>`).
    const partition = `/Project_${b.ids.tenantId}`;
    const scrape: HealthScrape = {
      unit: 'a',
      virtuals: new Map([
        [
          `${partition}/Project_${listener.id}`,
          { bitsIn: 0, bitsOut: 0, curConns: 0, totConns: 0, slowKilled: 0, enabled: true },
        ],
      ]),
      addresses: new Map([[`${partition}/Project_${b.root.id}`, { enabled: true }]]),
      pools: new Map(),
    };
    const verdict = deriveHealth(b.tree(), scrape, 'Project');
    expect([verdict.statuses.get(lbKey), verdict.statuses.get(listenerKey)]).toEqual(['ONLINE', 'ONLINE']);
    b.root.operatingStatus = 'ONLINE';
    listener.operatingStatus = 'ONLINE';

    // A new pool applied afterwards settles as OFFLINE itself and leaves the readings as they are.
    b.status(b.root, 'PENDING_UPDATE');
    const pool = b.pool({ listener_id: listener.id });
    const out = settle(b, pool);
    expect(summary(out)).toEqual(['active/OFFLINE pool', 'active/ONLINE loadbalancer']);
    record(out);
    expect(listener.operatingStatus).toBe('ONLINE');

    // Disabled, it is OFFLINE by configuration; enabled again, it waits for the next reading.
    b.root.desired.admin_state_up = false;
    b.status(b.root, 'PENDING_UPDATE');
    record(settle(b, b.root, 'update'));
    expect([b.root.operatingStatus, listener.operatingStatus]).toEqual(['OFFLINE', 'OFFLINE']);
    b.root.desired.admin_state_up = true;
    b.status(b.root, 'PENDING_UPDATE');
    record(settle(b, b.root, 'update'));
    expect([b.root.operatingStatus, listener.operatingStatus]).toEqual(['OFFLINE', 'OFFLINE']);
  });
});

describe('status completion (which statuses one apply settles)', () => {
  it('settles the object in scope and its pending load balancer once nothing else is pending', () => {
    const b = new TreeBuilder();
    b.status(b.root, 'PENDING_UPDATE');
    const listener = b.listener();
    expect(summary(settle(b, listener))).toEqual(['active/OFFLINE listener', 'active/OFFLINE loadbalancer']);
  });

  it('leaves the load balancer pending while another of its objects still waits for its own request', () => {
    const b = new TreeBuilder();
    b.status(b.root, 'PENDING_UPDATE');
    const pool = b.pool(); // its BIG-IP pool is all this apply touches
    b.listener(); // pending, waiting for its own request
    expect(summary(settle(b, pool))).toEqual(['active/OFFLINE pool']);
  });

  it('settles the load balancer with a listener, whose scope includes the virtual address', () => {
    const b = new TreeBuilder();
    b.status(b.root, 'PENDING_UPDATE');
    const listener = b.listener();
    b.pool();
    expect(summary(settle(b, listener))).toEqual(['active/OFFLINE listener', 'active/OFFLINE loadbalancer']);
  });

  it('a member of a pool without a monitor is NO_MONITOR; adding a monitor makes it OFFLINE until the monitor says', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    applied(b.root, pool);
    const member = b.member(pool.id);
    expect(summary(settle(b, member))).toEqual(['active/NO_MONITOR member']);
    member.provisioningStatus = 'ACTIVE';
    member.operatingStatus = 'NO_MONITOR';
    const monitor = b.healthmonitor(pool.id);
    expect(summary(settle(b, monitor))).toEqual(['active/OFFLINE member', 'active/ONLINE healthmonitor']);
  });

  it('deleting a pool settles its members and monitor as deleted too', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    const member = b.member(pool.id);
    const monitor = b.healthmonitor(pool.id);
    applied(b.root, pool, member, monitor);
    pool.provisioningStatus = 'PENDING_DELETE';
    expect(summary(settle(b, pool, 'delete'))).toEqual([
      'deleted healthmonitor',
      'deleted member',
      'deleted pool',
    ]);
  });

  it('a translation error puts the object and its pending load balancer in ERROR with the reason', () => {
    const b = new TreeBuilder();
    b.status(b.root, 'PENDING_UPDATE');
    // A listener naming a pool that does not exist cannot be translated.
    const listener = b.listener({ default_pool_id: '00000000-0000-4000-8000-000000000000' });
    const out = settle(b, listener);
    const errors = out.filter((o) => o.kind === 'error');
    expect(errors.map((o) => o.record.type).sort()).toEqual(['listener', 'loadbalancer']);
    expect(new Set(errors.map((o) => (o as { reason: string }).reason)).size).toBe(1);
  });

  it('a device refusal marks the request’s object and the load balancer, nothing else', () => {
    const b = new TreeBuilder();
    const listener = b.listener();
    b.pool();
    const out = refusedByDevice(b.tree(), { resource: 'listener', objectId: listener.id }, '01070333 clash');
    expect(out.map((o) => [o.kind, o.record.type])).toEqual([
      ['error', 'listener'],
      ['error', 'loadbalancer'],
    ]);
    expect(refusedByDevice(b.tree(), { resource: 'loadbalancer', objectId: b.root.id }, 'x')).toHaveLength(1);
  });

  it('settles a member a batch replaced by a new member on its address and port: deleted, not left pending (#27.9)', () => {
    const b = new TreeBuilder();
    applied(b.root);
    const pool = b.pool();
    applied(pool);
    const m1 = b.member(pool.id, { address: '10.0.0.1', protocol_port: 80 });
    applied(m1);
    // The batch drops M1 and lists a new member on M1's address and port.
    b.status(m1, 'PENDING_DELETE');
    b.member(pool.id, { address: '10.0.0.1', protocol_port: 80 });
    b.status(pool, 'PENDING_UPDATE').status(b.root, 'PENDING_UPDATE');
    const tree = b.tree();
    const t = translate(tree, { env: 'Project' });
    const scope = scopeFor(tree, t, { resource: 'pool', id: pool.id, operation: 'members' });
    const outcomes = completions(tree, t, scope, [{ resource: 'pool', objectId: pool.id }]);
    expect(outcomes.find((o) => o.record.id === m1.id)?.kind).toBe('deleted');
    expect(summary(outcomes)).toEqual([
      'active/NO_MONITOR member',
      'active/ONLINE loadbalancer',
      'active/ONLINE pool',
      'deleted member',
    ]);
  });
});
