import { groupOf } from '../domain/agent-scheduler.js';
import type { AgentRecord, AgentRegistry, BindingStore, ResourceStore } from '../domain/ports.js';
import { buildTree, type LoadBalancerTree } from '../domain/resource-state.js';

/** Load balancers read at once from the resources table. */
const TREE_CONCURRENCY = 8;

/**
 * The trees of an environment's load balancers, as the scheduled functions that walk the whole
 * environment (or one device group of it) need them (status poller, reconciler): every load
 * balancer bound to one of its agents (of the group's agents, when a group is given)
 * (one tenant's only, or the ones named), sorted by id. A tree of another environment or tenant is
 * never returned, so nothing outside the scope is ever written.
 */
export async function environmentTrees(
  deps: {
    env: string;
    registry: AgentRegistry;
    bindings: BindingStore;
    resources: ResourceStore;
    /** Only the load balancers bound to this device group's agents (its devices hold them). */
    group?: string;
    /** The environment's agents, when the caller has read them already (not read again). */
    agents?: readonly AgentRecord[];
  },
  scope: { loadbalancerIds?: readonly string[]; tenantId?: string } = {},
): Promise<LoadBalancerTree[]> {
  const { env, registry, bindings, resources } = deps;
  let ids: string[] = scope.loadbalancerIds ? [...scope.loadbalancerIds] : [];
  // Named load balancers outside a group need no agent list.
  const needAgents = !scope.loadbalancerIds || deps.group !== undefined;
  const agents = deps.agents ?? (needAgents ? await registry.listAgents(env) : []);
  const groupAgents = agents.filter((a) => deps.group === undefined || groupOf(a) === deps.group);
  if (scope.loadbalancerIds && deps.group !== undefined) {
    // Named load balancers: only those bound in this group (another group's devices hold the rest).
    const hosts = new Set(groupAgents.map((a) => a.host));
    const bound = await Promise.all(ids.map((id) => bindings.getBinding(id)));
    ids = ids.filter((_, i) => {
      const b = bound[i];
      return b !== undefined && (b.group !== undefined ? b.group === deps.group : hosts.has(b.host));
    });
  }
  if (!scope.loadbalancerIds) {
    for (const agent of groupAgents) {
      let cursor: string | undefined;
      do {
        const page = await bindings.listOnAgent(env, agent.host, {
          limit: 500,
          ...(cursor ? { cursor } : {}),
        });
        for (const b of page.items)
          if (!scope.tenantId || b.tenantId === scope.tenantId) ids.push(b.loadbalancerId);
        cursor = page.cursor;
      } while (cursor);
    }
  }
  ids = [...new Set(ids)].sort();
  const trees: (LoadBalancerTree | undefined)[] = new Array(ids.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(TREE_CONCURRENCY, ids.length) }, async () => {
      while (next < ids.length) {
        const i = next++;
        const tree = buildTree(await resources.loadRecords(ids[i] as string));
        if (tree && tree.root.env === env && (!scope.tenantId || tree.root.tenantId === scope.tenantId))
          trees[i] = tree;
      }
    }),
  );
  return trees.filter((t): t is LoadBalancerTree => t !== undefined);
}
