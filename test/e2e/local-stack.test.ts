import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/local-stack.js';
import { lbIds, requests } from '../support/factories.js';
import { eventually, testStack } from '../support/local-stack-fixture.js';

let stack: LocalStack;
beforeAll(async () => {
  stack = await testStack();
});
afterAll(async () => {
  await stack?.stop();
});

function loadBalancer(n: number) {
  const ids = lbIds();
  const listener = requests.createListener(ids, { protocol_port: 80 });
  const pool = requests.createPool(ids, {
    listener_id: listener.object.id,
    lb_algorithm: 'LEAST_CONNECTIONS',
  });
  const poolId = pool.object.id as string;
  const members = [1, 2].map((i) =>
    requests.createMember(ids, poolId, { address: `10.${n}.0.${i}`, protocol_port: 8080 }),
  );
  const monitor = requests.createHealthMonitor(ids, poolId, { type: 'TCP' });
  return {
    ids,
    members,
    all: [
      requests.createLoadbalancer(ids, { vip_address: `10.0.${n}.1` }),
      listener,
      pool,
      ...members,
      monitor,
    ],
  };
}

// Its own budget: the lifecycle below waits at most 30 + 20 + 20 + 30 + 20 + 20 + 30 + 30 s in its
// steps, so the global 30 s test timeout would cut a slow but healthy run short on a loaded 2-core machine.
const LIFECYCLE_BUDGET_MS = 240_000;

describe('end to end on the local stack (sample config: three agents, an HA pair, 25× faster liveness)', () => {
  it(
    'builds, fails over, recovers and tears down load balancers of several tenants',
    async () => {
      // Create four tenants' load balancers with listeners, pools, members and monitors.
      const lbs = [1, 2, 3, 4].map(loadBalancer);
      const created = await stack.client.submitMany(lbs.flatMap((l) => l.all));
      for (const l of lbs) {
        const mine = created.filter((c) => c.loadbalancerId === l.ids.loadbalancerId);
        const { records } = await stack.client.wait(l.ids.loadbalancerId, {
          timeoutMs: 30_000,
          requests: mine,
        });
        expect(records.map((r) => r.provisioningStatus)).toEqual(Array(6).fill('ACTIVE'));
      }
      const active = stack.pair?.active;
      const dump = active?.dump() ?? {};
      expect(active?.partitions()).toHaveLength(4);
      expect(dump['ltm/virtual']).toHaveLength(4);
      expect(dump['ltm/pool']).toHaveLength(4);
      expect(dump['ltm/pool/members']).toHaveLength(8);
      expect(dump['ltm/monitor/tcp']).toHaveLength(4);
      expect(stack.pair?.standby.dump()).toEqual(dump); // config-synced to the peer

      // Stop the agent hosting the first load balancer; its requests are served elsewhere, bindings kept.
      const first = lbs[0] as (typeof lbs)[number];
      const host = (await stack.client.operations.hostingAgent(first.ids.loadbalancerId))?.binding
        .host as string;
      await stack.agent(host).stop();
      await eventually(
        async () => !(await stack.client.operations.agents(stack.env)).find((a) => a.host === host)?.alive,
        `${host} to be declared dead`,
      );
      const update = requests.update('member', first.ids, { id: first.members[0]?.object.id, weight: 5 });
      const updated = await stack.client.submit(update);
      await eventually(
        async () => stack.recent.find((r) => r.requestId === update.requestId),
        'the update to be scheduled',
      );
      const served = stack.recent.find((r) => r.requestId === update.requestId);
      expect(served?.decision).toBe('failover');
      expect(served?.host).not.toBe(host);
      await stack.client.wait(first.ids.loadbalancerId, { requests: [updated] });
      expect(
        (await stack.client.records(first.ids.loadbalancerId)).every(
          (r) => r.provisioningStatus === 'ACTIVE',
        ),
      ).toBe(true);
      expect((await stack.client.operations.hostingAgent(first.ids.loadbalancerId))?.binding.host).toBe(host);

      // Start it again: requests for its load balancers go back to it.
      // (The scheduler caches the agent list for a moment, so the first request after the restart may still fail over.)
      await stack.agent(host).start();
      let weight = 2;
      const back = await eventually(async () => {
        const next = requests.update('member', first.ids, {
          id: first.members[1]?.object.id,
          weight: weight++,
        });
        await stack.client.submit(next);
        const scheduled = await eventually(
          async () => stack.recent.find((r) => r.requestId === next.requestId),
          'scheduling',
        );
        return scheduled.decision === 'bound' && scheduled;
      }, `requests to go back to ${host}`);
      expect(back).toMatchObject({ decision: 'bound', host });
      await stack.client.wait(first.ids.loadbalancerId);

      // Delete everything: nothing left on the devices, no binding, no affinity.
      const deletes = await stack.client.submitMany(
        lbs.map((l) => requests.delete('loadbalancer', l.ids, l.ids.loadbalancerId)),
      );
      for (const [i, l] of lbs.entries()) {
        const { tree } = await stack.client.wait(l.ids.loadbalancerId, {
          timeoutMs: 30_000,
          requests: [deletes[i] as (typeof deletes)[number]],
        });
        expect(tree).toBeUndefined();
      }
      for (const d of stack.devices) expect(d.dump()).toEqual({});
      for (const l of lbs) {
        // The agent releases the binding right after it wrote the deletion (records first).
        await eventually(
          async () => (await stack.client.operations.hostingAgent(l.ids.loadbalancerId)) === undefined,
          `the binding of ${l.ids.loadbalancerId} to be released`,
        );
        const { DynamoDbBindingStore } = await import('../../functions/adapters/dynamodb-binding-store.js');
        const { createDocumentClient } = await import('../../functions/adapters/aws-clients.js');
        const bindings = new DynamoDbBindingStore(createDocumentClient(stack.clients.dynamodb), stack.tables);
        // The tenant's empty affinity row, then its claim, go right after the binding.
        await eventually(async () => {
          const affinity = await bindings.getTenantAffinity(stack.env, l.ids.tenantId);
          return affinity.hosts.length === 0 && affinity.claim === undefined;
        }, `the affinity and claim of tenant ${l.ids.tenantId} to be dropped`);
      }
      await eventually(
        async () =>
          (await stack.client.operations.agents(stack.env)).every((a) => (a.loadbalancerCount ?? 0) === 0),
        'every agent to count 0 load balancers',
      );
      expect(await stack.client.dlqList()).toEqual([]);
    },
    LIFECYCLE_BUDGET_MS,
  );
});
