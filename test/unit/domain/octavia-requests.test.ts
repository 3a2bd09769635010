import { describe, expect, it } from 'vitest';
import { parseRequest } from '../../../functions/domain/lbaas-request.js';
import { postBody } from '../../../functions/domain/octavia-bodies.js';
import {
  checkMutable,
  chooseVip,
  type PlanContext,
  planDelete,
  planListenerCreate,
  planLoadBalancerCreate,
  planMemberBatch,
  planMemberCreate,
  planMonitorCreate,
  planPoolCreate,
} from '../../../functions/domain/octavia-requests.js';
import { memberView } from '../../../functions/domain/octavia-views.js';
import type { ResourceRecord } from '../../../functions/domain/resource-state.js';
import { uuid } from '../../support/factories.js';
import { TreeBuilder } from '../../support/trees.js';

function context(tenantId: string): PlanContext & { ids: string[] } {
  const ids: string[] = [];
  return {
    env: 'Project',
    tenantId,
    ids,
    newId: () => {
      const id = uuid();
      ids.push(id);
      return id;
    },
    newRequestId: () => `api-${uuid()}`,
  };
}

const SUBNET = '22222222-2222-4222-8222-222222222222';
const NETWORK = '11111111-1111-4111-8111-111111111111';
const catalog = {
  networks: [{ id: NETWORK, name: 'public', subnets: [{ id: SUBNET, name: 'v4', cidr: '10.0.0.0/24' }] }],
};

describe('Octavia writes as request messages', () => {
  it('every message of a plan is one the scheduler accepts', () => {
    const t = new TreeBuilder();
    const listener = t.listener();
    const plan = planPoolCreate(
      context(t.ids.tenantId),
      t.tree(),
      postBody('pool', {
        pool: {
          listener_id: listener.id,
          protocol: 'HTTP',
          lb_algorithm: 'ROUND_ROBIN',
          members: [{ address: '10.0.1.5', protocol_port: 80 }],
          healthmonitor: { type: 'HTTP', delay: 2, timeout: 3, max_retries: 3 },
        },
      }),
    );
    for (const m of plan.messages) expect(parseRequest(JSON.stringify(m))).toMatchObject({ ok: true });
    expect(plan.messages.map((m) => `${m.operation} ${m.resource}`)).toEqual([
      'create pool',
      'create member',
      'create healthmonitor',
      // Octavia's pool on a listener is the listener's default pool: set on the listener.
      'update listener',
    ]);
    expect(plan.messages[3]?.object).toEqual({ id: listener.id, default_pool_id: plan.subject.id });
    expect(plan.guard).toEqual({ revision: t.root.revision, statuses: ['ACTIVE'] });
  });

  it('a load balancer with its listeners and pools is one call: pools first, listeners naming them', () => {
    const ctx = context('0123456789abcdef0123456789abcdef');
    const lb = uuid();
    const body = postBody('loadbalancer', {
      loadbalancer: {
        vip_subnet_id: SUBNET,
        pools: [
          {
            name: 'p1',
            protocol: 'HTTP',
            lb_algorithm: 'ROUND_ROBIN',
            members: [{ address: '10.0.1.5', protocol_port: 80 }],
          },
        ],
        listeners: [
          {
            protocol: 'HTTP',
            protocol_port: 80,
            default_pool: { name: 'p1' },
            l7policies: [
              { action: 'REJECT', rules: [{ type: 'PATH', compare_type: 'STARTS_WITH', value: '/x' }] },
            ],
          },
        ],
      },
    });
    const plan = planLoadBalancerCreate(
      ctx,
      body,
      { address: '10.0.0.5', subnetId: SUBNET, networkId: NETWORK, portId: uuid() },
      lb,
    );
    expect(plan.messages.map((m) => `${m.operation} ${m.resource}`)).toEqual([
      'create loadbalancer',
      'create pool',
      'create member',
      'create listener',
      'create l7policy',
      'create l7rule',
    ]);
    const poolId = plan.messages[1]?.object.id;
    expect(plan.messages[3]?.object.default_pool_id).toBe(poolId);
    expect(plan.guard).toBeUndefined();
    for (const m of plan.messages) expect(m.loadbalancerId).toBe(lb);
  });

  it('refuses a pool named but never defined, and pools without names, with 400', () => {
    const ctx = context('0123456789abcdef0123456789abcdef');
    const vip = { address: '10.0.0.5', subnetId: SUBNET, networkId: NETWORK, portId: uuid() };
    const referenced = postBody('loadbalancer', {
      loadbalancer: {
        vip_subnet_id: SUBNET,
        listeners: [{ protocol: 'HTTP', protocol_port: 80, default_pool: { name: 'nope' } }],
      },
    });
    expect(() => planLoadBalancerCreate(ctx, referenced, vip, uuid())).toThrow(
      expect.objectContaining({ status: 400 }),
    );
    const unnamed = postBody('loadbalancer', {
      loadbalancer: { vip_subnet_id: SUBNET, pools: [{ protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN' }] },
    });
    expect(() => planLoadBalancerCreate(ctx, unnamed, vip, uuid())).toThrow(
      expect.objectContaining({ status: 400 }),
    );
  });

  it('refuses what Octavia refuses against the tree: 409 duplicates, 409 second monitor, 409 second default pool, 400 protocols', () => {
    const t = new TreeBuilder();
    const listener = t.listener({ protocol: 'HTTP', protocol_port: 80 });
    const pool = t.pool({ listener_id: listener.id });
    t.member(pool.id, { address: '10.0.1.5', protocol_port: 8080 });
    t.healthmonitor(pool.id);
    const tree = t.tree();
    const ctx = context(t.ids.tenantId);
    const lb = t.ids.loadbalancerId;
    const conflict = expect.objectContaining({ status: 409 });
    expect(() =>
      planListenerCreate(
        ctx,
        tree,
        postBody('listener', { listener: { loadbalancer_id: lb, protocol: 'TCP', protocol_port: 80 } }),
      ),
    ).toThrow(conflict);
    expect(() =>
      planMemberCreate(
        ctx,
        tree,
        pool.id,
        postBody('member', { member: { address: '10.0.1.5', protocol_port: 8080 } }),
      ),
    ).toThrow(conflict);
    expect(() =>
      planMonitorCreate(
        ctx,
        tree,
        postBody('healthmonitor', {
          healthmonitor: { pool_id: pool.id, type: 'TCP', delay: 2, timeout: 2, max_retries: 2 },
        }),
      ),
    ).toThrow(conflict);
    expect(() =>
      planPoolCreate(
        ctx,
        tree,
        postBody('pool', {
          pool: { listener_id: listener.id, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN' },
        }),
      ),
    ).toThrow(conflict);
    expect(() =>
      planListenerCreate(
        ctx,
        tree,
        postBody('listener', {
          listener: { loadbalancer_id: lb, protocol: 'HTTPS', protocol_port: 443, default_pool_id: pool.id },
        }),
      ),
    ).toThrow(
      expect.objectContaining({
        status: 400,
        message: expect.stringMatching(
          /pool protocol 'HTTP' is invalid while the listener protocol is 'HTTPS'/,
        ),
      }),
    );
  });

  it('keeps an address in its canonical form, and shows it back as written (Octavia echoes what it was sent)', () => {
    const t = new TreeBuilder();
    const pool = t.pool();
    t.member(pool.id, { address: '2001:db8::1', protocol_port: 80 });
    const ctx = context(t.ids.tenantId);
    const written = postBody('member', { member: { address: '2001:db8:0:0:0:0:0:2', protocol_port: 80 } });
    const plan = planMemberCreate(ctx, t.tree(), pool.id, written);
    const parsed = parseRequest(JSON.stringify(plan.messages[0]));
    expect(parsed).toMatchObject({
      ok: true,
      request: { object: { address: '2001:db8::2', written_address: '2001:db8:0:0:0:0:0:2' } },
    });
    const record = {
      ...t.tree().root,
      type: 'member',
      id: ctx.ids[0],
      desired: parsed.ok && parsed.request.object,
    };
    expect(memberView(record as ResourceRecord)).toMatchObject({ address: '2001:db8:0:0:0:0:0:2' });
    // The same endpoint written another way is still the same member (409).
    expect(() =>
      planMemberCreate(
        ctx,
        t.tree(),
        pool.id,
        postBody('member', { member: { address: '2001:db8:0:0:0:0:0:1', protocol_port: 80 } }),
      ),
    ).toThrow(expect.objectContaining({ status: 409 }));
  });

  it('applies Octavia’s immutability rule: 409 while the load balancer (or a member’s pool) is not ACTIVE', () => {
    const t = new TreeBuilder();
    const pool = t.pool();
    t.status(t.root, 'ACTIVE').status(pool, 'PENDING_UPDATE');
    expect(() => checkMutable(t.tree(), ['ACTIVE'], pool.id)).toThrow(
      expect.objectContaining({
        status: 409,
        message: `Pool ${pool.id} is immutable and cannot be updated.`,
      }),
    );
    t.status(pool, 'ACTIVE').status(t.root, 'PENDING_CREATE');
    expect(() => checkMutable(t.tree(), ['ACTIVE'])).toThrow(expect.objectContaining({ status: 409 }));
    t.status(t.root, 'ERROR');
    expect(() => checkMutable(t.tree(), ['ACTIVE', 'ERROR'])).not.toThrow();
  });

  it('a load balancer with children is deleted only with cascade (400 otherwise)', () => {
    const t = new TreeBuilder();
    t.listener();
    const ctx = context(t.ids.tenantId);
    expect(() => planDelete(ctx, t.tree(), 'loadbalancer', t.root.id)).toThrow(
      expect.objectContaining({ status: 400, message: expect.stringMatching(/it has children/) }),
    );
    const plan = planDelete(ctx, t.tree(), 'loadbalancer', t.root.id, { cascade: true });
    expect(plan.messages).toHaveLength(1);
    expect(plan.guard?.statuses).toEqual(['ACTIVE', 'ERROR']);
  });

  it('deleting a pool first lets go of it in the listeners using it as their default pool', () => {
    const t = new TreeBuilder();
    const pool = t.pool();
    const l1 = t.listener({ protocol_port: 80, default_pool_id: pool.id });
    const plan = planDelete(context(t.ids.tenantId), t.tree(), 'pool', pool.id);
    expect(plan.messages.map((m) => [m.operation, m.resource, m.object])).toEqual([
      ['update', 'listener', { id: l1.id, default_pool_id: null }],
      ['delete', 'pool', { id: pool.id }],
    ]);
  });

  it('a member batch keeps the ids of members it matches on address and port, and gives new ones ids', () => {
    const t = new TreeBuilder();
    const pool = t.pool();
    const kept = t.member(pool.id, { address: '10.0.1.5', protocol_port: 80 });
    t.member(pool.id, { address: '10.0.1.6', protocol_port: 80 });
    const ctx = context(t.ids.tenantId);
    const plan = planMemberBatch(
      ctx,
      t.tree(),
      pool.id,
      [
        { address: '10.0.1.5', protocol_port: 80, weight: 5 },
        { address: '10.0.1.7', protocol_port: 80 },
      ],
      false,
    );
    const batch = plan.messages[0]?.object as {
      members: { id: string; weight: number }[];
      additive_only: boolean;
    };
    expect(batch.members.map((m) => m.id)).toEqual([kept.id, ctx.ids[0]]);
    expect(batch.members[0]?.weight).toBe(5);
    expect(batch.additive_only).toBe(false);
    expect(parseRequest(JSON.stringify(plan.messages[0]))).toMatchObject({
      ok: true,
      request: { operation: 'batch_update' },
    });
    expect(plan.guard?.pool).toBe(pool.id);
  });

  describe('VIPs', () => {
    const none = () => undefined;
    it('takes the subnet, the network’s subnet holding the address, or its first IPv4 subnet', () => {
      expect(chooseVip({ vip_subnet_id: SUBNET }, catalog, none)).toMatchObject({
        subnet: { id: SUBNET },
        networkId: NETWORK,
      });
      expect(chooseVip({ vip_network_id: NETWORK, vip_address: '10.0.0.9' }, catalog, none)).toMatchObject({
        subnet: { id: SUBNET },
        address: '10.0.0.9',
      });
    });

    it('refuses what is not configured (400), an address outside its subnet (400) and a port in use (409)', () => {
      const bad = expect.objectContaining({ status: 400 });
      expect(() => chooseVip({}, catalog, none)).toThrow(bad);
      expect(() => chooseVip({ vip_subnet_id: uuid() }, catalog, none)).toThrow(bad);
      expect(() => chooseVip({ vip_network_id: uuid() }, catalog, none)).toThrow(bad);
      expect(() => chooseVip({ vip_subnet_id: SUBNET, vip_address: '10.9.9.9' }, catalog, none)).toThrow(bad);
      expect(() => chooseVip({ vip_port_id: uuid() }, catalog, () => 'lb-1')).toThrow(
        expect.objectContaining({ status: 409 }),
      );
    });

    it('accepts any id with no-op networks, as Octavia’s no-op network driver does', () => {
      const id = uuid();
      expect(
        chooseVip(
          { vip_subnet_id: id, vip_network_id: uuid() },
          { ...catalog, noopCidr: '198.19.0.0/16' },
          none,
        ),
      ).toMatchObject({
        subnet: { id, cidr: '198.19.0.0/16', configured: false },
      });
    });
  });

  it('keeps the parent of a member under its pool (a member of one pool is not found under another)', () => {
    const t = new TreeBuilder();
    const pool = t.pool();
    const m = t.member(pool.id) as ResourceRecord<'member'>;
    expect(m.desired.pool_id).toBe(pool.id);
  });
});
