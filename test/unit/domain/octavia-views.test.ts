import { describe, expect, it } from 'vitest';
import { vipPortId } from '../../../functions/domain/networks.js';
import {
  hiddenFields,
  l7PolicyView,
  loadBalancerView,
  poolView,
  statusTree,
  timestamp,
  viewOf,
} from '../../../functions/domain/octavia-views.js';
import { TreeBuilder } from '../../support/trees.js';

// How objects are shown through the Octavia v2 API (its api-ref's response bodies), from a tree.
describe('Octavia views', () => {
  it('a load balancer without a recorded VIP port shows the port derived from its id, and Octavia’s fixed fields', () => {
    const t = new TreeBuilder();
    const listener = t.listener();
    const pool = t.pool();
    const view = loadBalancerView(t.tree());
    expect(view).toMatchObject({
      id: t.root.id,
      vip_address: '10.0.0.10',
      vip_port_id: vipPortId(t.root.id),
      provider: 'bigip',
      additional_vips: [],
      listeners: [{ id: listener.id }],
      pools: [{ id: pool.id }],
      flavor_id: null,
      vip_qos_policy_id: null,
      availability_zone: null,
      project_id: t.ids.tenantId,
      tenant_id: t.ids.tenantId,
    });
    expect(timestamp(0)).toBe('1970-01-01T00:00:00.000');
  });

  it('a pool created on a listener is that listener’s default pool; a redirect pool is one of the listener’s pools in the status tree', () => {
    const t = new TreeBuilder();
    const listener = t.listener();
    const byListener = t.pool({ listener_id: listener.id });
    const redirect = t.pool();
    t.l7policy(listener.id, { action: 'REDIRECT_TO_POOL', redirect_pool_id: redirect.id });
    const tree = t.tree();
    expect(viewOf(tree, listener).default_pool_id).toBe(byListener.id);
    expect(poolView(tree, byListener).listeners).toEqual([{ id: listener.id }]);
    expect(poolView(tree, redirect).listeners).toEqual([]);
    const pools = statusTree(tree).statuses.loadbalancer.listeners[0]?.pools.map((p) => p.id);
    expect(pools?.sort()).toEqual([byListener.id, redirect.id].sort());
  });

  it('policies show their position among the listener’s policies (1-based), in the order they apply', () => {
    const t = new TreeBuilder();
    const listener = t.listener();
    const first = t.l7policy(listener.id, { action: 'REJECT', position: 1 });
    const second = t.l7policy(listener.id, { action: 'REJECT' });
    // Inserted at position 1: the others move down.
    const front = t.l7policy(listener.id, { action: 'REJECT', position: 1 });
    const tree = t.tree();
    expect(l7PolicyView(tree, front).position).toBe(1);
    expect(l7PolicyView(tree, first).position).toBe(2);
    expect(l7PolicyView(tree, second).position).toBe(3);
    expect(viewOf(tree, listener).l7policies).toEqual([
      { id: front.id },
      { id: first.id },
      { id: second.id },
    ]);
  });

  it('a member hides its pool and a rule its policy; a monitor of a non-HTTP type shows no HTTP fields', () => {
    const t = new TreeBuilder();
    const pool = t.pool();
    const member = t.member(pool.id);
    const monitor = t.healthmonitor(pool.id, { type: 'TCP' });
    const listener = t.listener();
    const policy = t.l7policy(listener.id);
    const rule = t.l7rule(policy.id);
    const tree = t.tree();
    expect(viewOf(tree, member)).not.toHaveProperty('pool_id');
    expect(viewOf(tree, rule)).not.toHaveProperty('l7policy_id');
    expect(hiddenFields('member')).toEqual(['pool_id']);
    expect(hiddenFields('pool')).toEqual([]);
    expect(viewOf(tree, monitor)).toMatchObject({
      type: 'TCP',
      http_method: null,
      url_path: null,
      expected_codes: null,
    });
    expect(viewOf(tree, member)).toMatchObject({ backup: false, subnet_id: null, monitor_address: null });
  });
});
