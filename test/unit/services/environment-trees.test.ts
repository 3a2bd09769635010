import { describe, expect, it } from 'vitest';
import { environmentTrees } from '../../../functions/services/environment-trees.js';
import { lbIds, requests } from '../../support/factories.js';
import { InMemoryAgentRegistry } from '../../support/fakes/in-memory-agent-registry.js';
import { InMemoryBindingStore } from '../../support/fakes/in-memory-binding-store.js';
import { InMemoryResourceStore } from '../../support/fakes/in-memory-resource-store.js';
import { parsed } from '../../support/service-fixtures.js';

const ENV = 'Unit';

async function fixture() {
  const registry = new InMemoryAgentRegistry();
  const bindings = new InMemoryBindingStore();
  const resources = new InMemoryResourceStore();
  registry.put({ env: ENV, host: 'a1', group: 'g1' });
  registry.put({ env: ENV, host: 'a2', group: 'g1' });
  registry.put({ env: ENV, host: 'b1', group: 'g2' });
  const tenant = lbIds().tenantId;
  /** A load balancer recorded in `env` and bound to `host` in `group`. */
  const lb = async (host: string, group: string, options: { tenantId?: string; env?: string } = {}) => {
    const ids = lbIds({ tenantId: options.tenantId ?? tenant });
    await resources.recordRequest(parsed(requests.createLoadbalancer(ids)), options.env ?? ENV, 1);
    await bindings.bind({
      loadbalancerId: ids.loadbalancerId,
      env: ENV,
      host,
      tenantId: ids.tenantId,
      boundAt: 1,
      group,
    });
    return ids.loadbalancerId;
  };
  return { registry, bindings, resources, tenant, lb };
}

describe('environmentTrees: the trees a group’s scheduled functions walk', () => {
  it('walks every load balancer bound to the group’s agents, sorted by id, and nothing of other groups', async () => {
    const f = await fixture();
    const mine = [await f.lb('a1', 'g1'), await f.lb('a2', 'g1'), await f.lb('a1', 'g1')];
    await f.lb('b1', 'g2');
    const trees = await environmentTrees({ env: ENV, ...f, group: 'g1' });
    expect(trees.map((t) => t.root.id)).toEqual([...mine].sort());
    const all = await environmentTrees({ env: ENV, ...f });
    expect(all).toHaveLength(4);
  });

  it('keeps one tenant’s only, and never a tree of another environment or tenant', async () => {
    const f = await fixture();
    const mine = await f.lb('a1', 'g1');
    await f.lb('a1', 'g1', { tenantId: lbIds().tenantId });
    // Bound in this environment, but its records say another one: never returned, so never written.
    await f.lb('a1', 'g1', { env: 'Other' });
    expect(
      (await environmentTrees({ env: ENV, ...f }, { tenantId: f.tenant })).map((t) => t.root.id),
    ).toEqual([mine]);
  });

  it('takes named load balancers only when bound in its group (another group’s devices hold the rest)', async () => {
    const f = await fixture();
    const inG1 = await f.lb('a1', 'g1');
    const inG2 = await f.lb('b1', 'g2');
    const trees = await environmentTrees(
      { env: ENV, ...f, group: 'g1' },
      { loadbalancerIds: [inG1, inG2, 'unknown'] },
    );
    expect(trees.map((t) => t.root.id)).toEqual([inG1]);
    // Without a group, named load balancers need no agent list.
    let listed = 0;
    const registry = Object.assign(Object.create(f.registry), {
      listAgents: async () => {
        listed++;
        return [];
      },
    });
    const named = await environmentTrees({ env: ENV, ...f, registry }, { loadbalancerIds: [inG2] });
    expect(named.map((t) => t.root.id)).toEqual([inG2]);
    expect(listed).toBe(0);
  });
});
