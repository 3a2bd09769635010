import { StaticCredentials } from '../../functions/adapters/device-credentials.js';
import { type ApplyTarget, LoadBalancerApplier } from '../../functions/services/load-balancer-applier.js';
import { wirePartitionWriter } from '../../functions/wiring/device-cluster-wiring.js';
import { BigIpSimulator } from '../../local/bigip-simulator/bigip-simulator.js';
import { uuid } from './factories.js';
import { InMemoryAgentRegistry } from './fakes/in-memory-agent-registry.js';
import { InMemoryBindingStore } from './fakes/in-memory-binding-store.js';
import { InMemoryHealthStore } from './fakes/in-memory-health-store.js';
import { InMemoryLease } from './fakes/in-memory-lease.js';
import { InMemoryResourceStore } from './fakes/in-memory-resource-store.js';
import { InMemorySyncLedger } from './fakes/in-memory-sync-ledger.js';

/**
 * One agent's applier on real devices (iControl REST client → the given URLs, wired as the agent
 * function wires it), its stores in memory: what the convergence tests apply load balancers with.
 */
export function deviceApplier(o: {
  env: string;
  /** The units' URLs, in order (`bigip1`, `bigip2`, …). */
  urls: readonly string[];
  /** Set for an HA pair: writes are followed by a config-sync to this device group. */
  deviceGroup?: string;
  syncPollMs?: number;
}) {
  const resources = new InMemoryResourceStore();
  const { cluster, writer, sync } = wirePartitionWriter(
    {
      devices: o.urls.map((baseUrl, i) => ({ name: `bigip${i + 1}`, baseUrl })),
      deviceSecretId: 'local',
      caBundle: undefined,
      deviceGroup: o.deviceGroup,
      trafficGroup: undefined,
      clusterName: 'c1',
      restTimeoutMs: 5_000,
    },
    {
      env: o.env,
      lease: new InMemoryLease(),
      ledger: new InMemorySyncLedger(),
      owner: 'agent-1',
      newOwner: uuid,
      credentials: new StaticCredentials({ username: 'admin', password: 'admin' }),
      ...(o.syncPollMs === undefined ? {} : { syncPollMs: o.syncPollMs }),
    },
  );
  const applier = new LoadBalancerApplier({
    env: o.env,
    host: 'agent-1',
    resources,
    bindings: new InMemoryBindingStore(),
    registry: new InMemoryAgentRegistry(),
    writer,
    statistics: new InMemoryHealthStore(resources),
    clock: Date.now,
  });
  return { resources, cluster, writer, sync, applier };
}

/** One agent's applier on a fresh simulated BIG-IP, both closed by the caller's `closers`. */
export async function simulatedApplier(env: string, closers: (() => Promise<void>)[]) {
  const sim = new BigIpSimulator();
  const url = await sim.listen();
  const wired = deviceApplier({ env, urls: [url] });
  closers.push(
    () => wired.cluster.close(),
    () => sim.close(),
  );
  return { sim, ...wired };
}

/** What a load balancer's create asks its applier to converge: the whole tree, as the worker asks. */
export function loadBalancerTarget(ids: { tenantId: string; loadbalancerId: string }): ApplyTarget {
  return {
    requestId: 'r',
    tenantId: ids.tenantId,
    loadbalancerId: ids.loadbalancerId,
    resource: 'loadbalancer',
    objectId: ids.loadbalancerId,
    operation: 'create',
  };
}
