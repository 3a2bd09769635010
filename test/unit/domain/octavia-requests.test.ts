import { describe, expect, it } from 'vitest';
import { parseRequest } from '../../../functions/domain/lbaas-request.js';
import { postBody, putBody } from '../../../functions/domain/octavia-bodies.js';
import {
  checkMemberSubnet,
  checkMutable,
  chooseVip,
  missing,
  type PlanContext,
  planDelete,
  planFailover,
  planListenerCreate,
  planLoadBalancerCreate,
  planMemberBatch,
  planMemberCreate,
  planMonitorCreate,
  planMonitorUpdate,
  planPolicyCreate,
  planPolicyUpdate,
  planPoolCreate,
  planPoolUpdate,
  planRuleCreate,
  projectRecords,
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

  describe('more of Octavia’s checks', () => {
    const rule = { type: 'PATH', compare_type: 'STARTS_WITH', value: '/x' };
    const fiftyOne = Array.from({ length: 51 }, () => rule);

    it('a VIP: a subnet outside the network named (400), a network without subnets (400), a port with no-op networks', () => {
      const none = () => undefined;
      const other = '44444444-4444-4444-8444-444444444444';
      const two = {
        networks: [
          ...catalog.networks,
          { id: other, name: 'other', subnets: [{ id: uuid(), name: 'o', cidr: '10.1.0.0/24' }] },
          { id: uuid(), name: 'empty', subnets: [] },
        ],
      };
      expect(() => chooseVip({ vip_network_id: other, vip_subnet_id: SUBNET }, two, none)).toThrow(
        expect.objectContaining({
          status: 400,
          message: `Validation failure: Subnet ${SUBNET} is not in network ${other}.`,
        }),
      );
      const empty = two.networks[2]?.id as string;
      expect(() => chooseVip({ vip_network_id: empty }, two, none)).toThrow(
        expect.objectContaining({
          message: 'Validation failure: Supplied network does not contain a subnet.',
        }),
      );
      const port = uuid();
      expect(
        chooseVip(
          { vip_port_id: port, vip_address: '198.19.0.9' },
          { ...catalog, noopCidr: '198.19.0.0/16' },
          none,
        ),
      ).toMatchObject({ portId: port, address: '198.19.0.9', subnet: { id: port, configured: false } });
      expect(() => checkMemberSubnet(catalog, uuid())).toThrow(expect.objectContaining({ status: 400 }));
      expect(() => checkMemberSubnet(catalog, SUBNET)).not.toThrow();
      expect(() => checkMemberSubnet(catalog, undefined)).not.toThrow();
    });

    it('parents named by id must exist in the load balancer (404), and protocols must pair (400)', () => {
      const t = new TreeBuilder();
      const listener = t.listener({ protocol: 'HTTP', protocol_port: 80 });
      const tcpPool = t.pool({ protocol: 'TCP' });
      const ctx = context(t.ids.tenantId);
      const lb = t.ids.loadbalancerId;
      const ghost = uuid();
      expect(() =>
        planListenerCreate(
          ctx,
          t.tree(),
          postBody('listener', {
            listener: { loadbalancer_id: lb, protocol: 'HTTP', protocol_port: 81, default_pool_id: ghost },
          }),
        ),
      ).toThrow(expect.objectContaining({ status: 404, message: `Pool ${ghost} not found.` }));
      expect(() =>
        planPoolCreate(
          ctx,
          t.tree(),
          postBody('pool', { pool: { listener_id: ghost, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN' } }),
        ),
      ).toThrow(expect.objectContaining({ status: 404, message: `Listener ${ghost} not found.` }));
      expect(() =>
        planPoolCreate(
          ctx,
          t.tree(),
          postBody('pool', {
            pool: { listener_id: listener.id, protocol: 'TCP', lb_algorithm: 'ROUND_ROBIN' },
          }),
        ),
      ).toThrow(
        expect.objectContaining({
          message:
            "Validation failure: The pool protocol 'TCP' is invalid while the listener protocol is 'HTTP'.",
        }),
      );
      expect(() =>
        planPolicyCreate(
          ctx,
          t.tree(),
          postBody('l7policy', { l7policy: { listener_id: ghost, action: 'REJECT' } }),
        ),
      ).toThrow(expect.objectContaining({ status: 404 }));
      // A TCP listener may take a TCP pool.
      const plan = planListenerCreate(
        ctx,
        t.tree(),
        postBody('listener', {
          listener: { loadbalancer_id: lb, protocol: 'TCP', protocol_port: 22, default_pool_id: tcpPool.id },
        }),
      );
      expect(plan.messages[0]?.object).toMatchObject({ default_pool_id: tcpPool.id, protocol: 'TCP' });
    });

    it('a policy holds at most 50 rules (409), created with it or one by one', () => {
      const t = new TreeBuilder();
      const listener = t.listener();
      const policy = t.l7policy(listener.id);
      const ctx = context(t.ids.tenantId);
      expect(() =>
        planPolicyCreate(
          ctx,
          t.tree(),
          postBody('l7policy', { l7policy: { listener_id: listener.id, action: 'REJECT', rules: fiftyOne } }),
        ),
      ).toThrow(
        expect.objectContaining({
          status: 409,
          message: expect.stringMatching(/^Too many rules on L7 policy/),
        }),
      );
      for (let i = 0; i < 50; i++) t.l7rule(policy.id);
      expect(() => planRuleCreate(ctx, t.tree(), policy.id, postBody('l7rule', { rule }))).toThrow(
        expect.objectContaining({ status: 409, message: `Too many rules on L7 policy ${policy.id}` }),
      );
      const vip = { address: '10.0.0.5', subnetId: SUBNET, networkId: NETWORK, portId: uuid() };
      const body = postBody('loadbalancer', {
        loadbalancer: {
          vip_subnet_id: SUBNET,
          listeners: [
            { protocol: 'HTTP', protocol_port: 80, l7policies: [{ action: 'REJECT', rules: fiftyOne }] },
          ],
        },
      });
      expect(() => planLoadBalancerCreate(ctx, body, vip, uuid())).toThrow(
        expect.objectContaining({ status: 409 }),
      );
    });

    it('a graph create reuses a pool named twice, and a policy may redirect to a pool of the same call', () => {
      const ctx = context('0123456789abcdef0123456789abcdef');
      const vip = { address: '10.0.0.5', subnetId: SUBNET, networkId: NETWORK, portId: uuid() };
      const plan = planLoadBalancerCreate(
        ctx,
        postBody('loadbalancer', {
          loadbalancer: {
            vip_subnet_id: SUBNET,
            pools: [{ name: 'web', protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN' }],
            listeners: [
              {
                protocol: 'HTTP',
                protocol_port: 80,
                default_pool: { name: 'web' },
                l7policies: [{ action: 'REDIRECT_TO_POOL', redirect_pool: { name: 'web' } }],
              },
              {
                protocol: 'HTTP',
                protocol_port: 8080,
                default_pool: { name: 'api', protocol: 'HTTP', lb_algorithm: 'SOURCE_IP' },
              },
            ],
          },
        }),
        vip,
        uuid(),
      );
      const pools = plan.messages.filter((m) => m.resource === 'pool');
      expect(pools.map((p) => p.object.name)).toEqual(['web', 'api']);
      const [l1, l2] = plan.messages.filter((m) => m.resource === 'listener');
      const policy = plan.messages.find((m) => m.resource === 'l7policy');
      expect(l1?.object.default_pool_id).toBe(pools[0]?.object.id);
      expect(policy?.object.redirect_pool_id).toBe(pools[0]?.object.id);
      expect(l2?.object.default_pool_id).toBe(pools[1]?.object.id);
    });

    it('a monitor of a non-HTTP type takes no HTTP fields (400); an HTTP one gets Octavia’s defaults', () => {
      const t = new TreeBuilder();
      const pool = t.pool();
      const other = t.pool();
      const ctx = context(t.ids.tenantId);
      expect(() =>
        planMonitorCreate(
          ctx,
          t.tree(),
          postBody('healthmonitor', {
            healthmonitor: {
              pool_id: pool.id,
              type: 'PING',
              delay: 1,
              timeout: 1,
              max_retries: 1,
              expected_codes: '200',
            },
          }),
        ),
      ).toThrow(
        expect.objectContaining({
          status: 400,
          message: 'expected_codes is not a valid option for health monitors of type PING',
        }),
      );
      const plan = planMonitorCreate(
        ctx,
        t.tree(),
        postBody('healthmonitor', {
          healthmonitor: {
            pool_id: other.id,
            type: 'HTTPS',
            delay: 1,
            timeout: 1,
            max_retries: 1,
            expected_codes: '200-204',
          },
        }),
      );
      expect(plan.messages[0]?.object).toMatchObject({
        http_method: 'GET',
        url_path: '/',
        expected_codes: '200-204',
        max_retries_down: 3,
      });
      expect(plan.guard?.pool).toBe(other.id);
    });

    it('a monitor’s HTTP version and Host name: kept as sent; a name needs 1.1 (Octavia’s 400s), on create and against the stored monitor on update', () => {
      const t = new TreeBuilder();
      const pools = [t.pool(), t.pool(), t.pool()];
      const ctx = context(t.ids.tenantId);
      const hm = (poolId: string, extra: Record<string, unknown>) =>
        postBody('healthmonitor', {
          healthmonitor: { pool_id: poolId, type: 'HTTP', delay: 1, timeout: 1, max_retries: 1, ...extra },
        });
      const plan = planMonitorCreate(
        ctx,
        t.tree(),
        hm(pools[0]?.id as string, { http_version: 1.1, domain_name: 'app.example.com' }),
      );
      expect(plan.messages[0]?.object).toMatchObject({ http_version: 1.1, domain_name: 'app.example.com' });
      expect(parseRequest(JSON.stringify(plan.messages[0]))).toMatchObject({ ok: true });
      expect(() =>
        planMonitorCreate(ctx, t.tree(), hm(pools[1]?.id as string, { domain_name: 'app.example.com' })),
      ).toThrow(
        expect.objectContaining({
          status: 400,
          message: expect.stringMatching(/'http_version' must be specified/),
        }),
      );
      expect(() =>
        planMonitorCreate(
          ctx,
          t.tree(),
          hm(pools[1]?.id as string, { http_version: 1.0, domain_name: 'app.example.com' }),
        ),
      ).toThrow(expect.objectContaining({ status: 400, message: expect.stringMatching(/use 1\.1/) }));

      const stored = t.healthmonitor(pools[2]?.id as string, {
        type: 'HTTP',
        http_version: 1,
        domain_name: null,
      });
      expect(() =>
        planMonitorUpdate(
          ctx,
          t.tree(),
          stored.id,
          putBody('healthmonitor', { healthmonitor: { domain_name: 'a.example' } }),
        ),
      ).toThrow(expect.objectContaining({ status: 400 }));
      const update = planMonitorUpdate(
        ctx,
        t.tree(),
        stored.id,
        putBody('healthmonitor', { healthmonitor: { http_version: 1.1, domain_name: 'a.example' } }),
      );
      expect(update.messages[0]?.object).toMatchObject({ http_version: 1.1, domain_name: 'a.example' });
    });

    it('a UDP pool takes Octavia’s monitor types only (UDP-CONNECT/SCTP/TCP/HTTP, not PING), a UDP-CONNECT probe at most every 3 s, on create and update', () => {
      const t = new TreeBuilder();
      const udp = t.pool({ protocol: 'UDP' });
      const tcp = t.pool({ protocol: 'TCP' });
      const ctx = context(t.ids.tenantId);
      const hm = (poolId: string, type: string, delay = 5) =>
        postBody('healthmonitor', {
          healthmonitor: { pool_id: poolId, type, delay, timeout: 1, max_retries: 1 },
        });
      // Octavia's texts (api/v2/controllers/health_monitor.py), written out here, not built from our list.
      expect(() => planMonitorCreate(ctx, t.tree(), hm(udp.id, 'PING'))).toThrow(
        expect.objectContaining({
          status: 400,
          message:
            'Validation failure: The associated pool protocol is UDP, so only a UDP-CONNECT/SCTP/TCP/HTTP health monitor is supported.',
        }),
      );
      expect(() => planMonitorCreate(ctx, t.tree(), hm(tcp.id, 'UDP-CONNECT'))).toThrow(
        expect.objectContaining({
          status: 400,
          message: 'Validation failure: The UDP-CONNECT type is only supported for pools of type UDP/SCTP.',
        }),
      );
      expect(() => planMonitorCreate(ctx, t.tree(), hm(udp.id, 'UDP-CONNECT', 2))).toThrow(
        expect.objectContaining({
          status: 400,
          message:
            'Validation failure: The request delay value 2 should be larger than 3 for UDP-CONNECT health monitor type.',
        }),
      );
      for (const type of ['UDP-CONNECT', 'TCP', 'HTTP'])
        expect(planMonitorCreate(ctx, t.tree(), hm(udp.id, type, 3)).messages[0]?.object).toMatchObject({
          type,
        });
      const stored = t.healthmonitor(udp.id, { type: 'UDP-CONNECT', delay: 5 });
      expect(() =>
        planMonitorUpdate(
          ctx,
          t.tree(),
          stored.id,
          putBody('healthmonitor', { healthmonitor: { delay: 1 } }),
        ),
      ).toThrow(
        expect.objectContaining({ status: 400, message: expect.stringMatching(/delay value 1 should be/) }),
      );
      expect(
        planMonitorUpdate(ctx, t.tree(), stored.id, putBody('healthmonitor', { healthmonitor: { delay: 3 } }))
          .messages[0]?.object,
      ).toMatchObject({ delay: 3 });
    });

    it('updates: a persistence without a type takes the stored one; a policy keeps its stored redirect', () => {
      const t = new TreeBuilder();
      const listener = t.listener();
      const pool = t.pool({ session_persistence: { type: 'APP_COOKIE', cookie_name: 'a' } });
      const policy = t.l7policy(listener.id, { action: 'REDIRECT_TO_URL', redirect_url: 'http://a.test/' });
      const ctx = context(t.ids.tenantId);
      const plan = planPoolUpdate(
        ctx,
        t.tree(),
        pool.id,
        putBody('pool', { pool: { session_persistence: { cookie_name: 'b' } } }),
      );
      expect(plan.messages[0]?.object).toEqual({
        id: pool.id,
        session_persistence: { type: 'APP_COOKIE', cookie_name: 'b' },
      });
      const kept = planPolicyUpdate(
        ctx,
        t.tree(),
        policy.id,
        putBody('l7policy', { l7policy: { action: 'REDIRECT_TO_URL', name: 'n' } }),
      );
      expect(kept.messages[0]?.object).toEqual({ id: policy.id, name: 'n', action: 'REDIRECT_TO_URL' });
      expect(() =>
        planPolicyUpdate(
          ctx,
          t.tree(),
          policy.id,
          putBody('l7policy', { l7policy: { action: 'REDIRECT_TO_POOL' } }),
        ),
      ).toThrow(expect.objectContaining({ status: 400 }));
    });

    it('a failover may run on a load balancer in ERROR; a member or monitor delete guards its pool', () => {
      const t = new TreeBuilder();
      const pool = t.pool();
      const m = t.member(pool.id);
      const hm = t.healthmonitor(pool.id);
      const ctx = context(t.ids.tenantId);
      const failover = planFailover(ctx, t.tree());
      expect(failover.guard?.statuses).toEqual(['ACTIVE', 'ERROR']);
      expect(failover.messages[0]).toMatchObject({ operation: 'update', resource: 'loadbalancer' });
      expect(planDelete(ctx, t.tree(), 'member', m.id).guard?.pool).toBe(pool.id);
      expect(planDelete(ctx, t.tree(), 'healthmonitor', hm.id).guard?.pool).toBe(pool.id);
      expect(planDelete(ctx, t.tree(), 'pool', pool.id).guard?.pool).toBeUndefined();
      expect(missing('l7policy', 'p1')).toMatchObject({
        status: 500,
        message: 'L7 Policy p1 was recorded but cannot be read back.',
      });
    });

    it('a member being deleted is not matched by a batch (a listed one on its endpoint is new)', () => {
      const t = new TreeBuilder();
      const pool = t.pool();
      const leaving = t.member(pool.id, { address: '10.0.1.5', protocol_port: 80 });
      t.status(leaving, 'PENDING_DELETE');
      const ctx = context(t.ids.tenantId);
      const plan = planMemberBatch(
        ctx,
        t.tree(),
        pool.id,
        [{ address: '10.0.1.5', protocol_port: 80 }],
        true,
      );
      const listed = (plan.messages[0]?.object as { members: { id: string }[] } | undefined)?.members ?? [];
      expect(listed.map((x) => x.id)).toEqual([ctx.ids[0]]);
      expect(listed[0]?.id).not.toBe(leaving.id);
    });

    it('projects what the table will hold: a batch creates, updates and deletes members; others go PENDING', () => {
      const t = new TreeBuilder();
      const pool = t.pool();
      const kept = t.member(pool.id, { address: '10.0.1.5', protocol_port: 80 });
      const dropped = t.member(pool.id, { address: '10.0.1.6', protocol_port: 80 });
      const ctx = context(t.ids.tenantId);
      const tree = t.tree();
      const records = [tree.root, ...tree.pools, ...tree.members];
      const batch = planMemberBatch(
        ctx,
        tree,
        pool.id,
        [
          { address: '10.0.1.5', protocol_port: 80, weight: 9 },
          { address: '10.0.1.7', protocol_port: 80 },
        ],
        false,
      );
      const parsed = parseRequest(JSON.stringify(batch.messages[0]));
      if (!parsed.ok) throw new Error(parsed.reason);
      const after = projectRecords(records, parsed.request, 'Project', 5_000);
      const status = (id: string) => after.find((r) => r.id === id)?.provisioningStatus;
      expect(status(kept.id)).toBe('PENDING_UPDATE');
      expect(after.find((r) => r.id === kept.id)?.desired).toMatchObject({ weight: 9 });
      expect(status(dropped.id)).toBe('PENDING_DELETE');
      expect(status(ctx.ids[0] as string)).toBe('PENDING_CREATE');
      expect(status(pool.id)).toBe('PENDING_UPDATE');
      expect(status(t.root.id)).toBe('PENDING_UPDATE');
      // The records given are not changed.
      expect(records.find((r) => r.id === dropped.id)?.provisioningStatus).toBe('PENDING_CREATE');

      const additive = planMemberBatch(
        ctx,
        tree,
        pool.id,
        [{ address: '10.0.1.8', protocol_port: 80 }],
        true,
      );
      const parsedAdditive = parseRequest(JSON.stringify(additive.messages[0]));
      if (!parsedAdditive.ok) throw new Error(parsedAdditive.reason);
      const kept2 = projectRecords(records, parsedAdditive.request, 'Project', 6_000);
      expect(kept2.find((r) => r.id === dropped.id)?.provisioningStatus).toBe('PENDING_CREATE');

      const del = planDelete(ctx, tree, 'member', dropped.id);
      const parsedDelete = parseRequest(JSON.stringify(del.messages[0]));
      if (!parsedDelete.ok) throw new Error(parsedDelete.reason);
      const deleted = projectRecords(records, parsedDelete.request, 'Project', 7_000);
      expect(deleted.find((r) => r.id === dropped.id)).toMatchObject({
        provisioningStatus: 'PENDING_DELETE',
        updatedAt: 7_000,
      });
      expect(deleted.find((r) => r.id === t.root.id)?.provisioningStatus).toBe('PENDING_UPDATE');
    });
  });
});
