import { describe, expect, it } from 'vitest';
import { APPLY_CADENCE } from '../../../functions/domain/apply-cadence.js';
import { applyTargetOf, LoadBalancerApplier } from '../../../functions/services/load-balancer-applier.js';
import { lbIds, requests } from '../../support/factories.js';
import { InMemoryAgentRegistry } from '../../support/fakes/in-memory-agent-registry.js';
import { InMemoryBigIp, InMemoryCluster } from '../../support/fakes/in-memory-bigip.js';
import { InMemoryBindingStore } from '../../support/fakes/in-memory-binding-store.js';
import { InMemoryHealthStore } from '../../support/fakes/in-memory-health-store.js';
import { InMemoryLease } from '../../support/fakes/in-memory-lease.js';
import { InMemoryResourceStore } from '../../support/fakes/in-memory-resource-store.js';
import { inMemoryWriter, parsed } from '../../support/service-fixtures.js';
import { VirtualTime } from '../../support/virtual-time.js';

const ENV = 'Unit';

/** An applier over in-memory ports on virtual time, paced by the cadence (or not: `maxWaitMs` 0). */
async function fixture(maxWaitMs = APPLY_CADENCE.maxWaitMs) {
  const time = new VirtualTime(1_000_000);
  const resources = new InMemoryResourceStore();
  const registry = new InMemoryAgentRegistry();
  registry.put({ env: ENV, host: 'a1', heartbeatAt: time.now });
  const lease = new InMemoryLease({ clock: time.clock });
  // An HA pair: every apply that changes something costs a config-sync.
  const cluster = new InMemoryCluster([
    new InMemoryBigIp('bigip1'),
    Object.assign(new InMemoryBigIp('bigip2'), { failoverState: 'STANDBY' }),
  ]);
  const { sync, writer } = inMemoryWriter(ENV, cluster, lease);
  const applier = new LoadBalancerApplier({
    env: ENV,
    host: 'a1',
    resources,
    bindings: new InMemoryBindingStore(),
    registry,
    writer,
    statistics: new InMemoryHealthStore(resources),
    cadence: { rule: { ...APPLY_CADENCE, maxWaitMs }, timers: time },
    clock: time.clock,
  });
  const record = async (message: Record<string, unknown>) => {
    const request = parsed(message);
    await resources.recordRequest(request, ENV, time.now);
    return request;
  };
  const ids = lbIds();
  await applier.apply(applyTargetOf(await record(requests.createLoadbalancer(ids))));
  const pool = await record(requests.createPool(ids));
  await applier.apply(applyTargetOf(pool));
  let n = 0;
  const member = () => {
    n += 1;
    return record(requests.createMember(ids, pool.object.id, { address: `10.0.1.${n}` }));
  };
  // Root reads after the settled check's: the cadence's looks.
  let rootReads = 0;
  const load = resources.loadObjects.bind(resources);
  resources.loadObjects = async (lb, objects) => {
    if (objects.length === 1 && objects[0]?.type === 'loadbalancer') rootReads += 1;
    return load(lb, objects);
  };
  const acquires = () => lease.events.filter((e) => e.startsWith('acquire')).length;
  const members = () =>
    [...resources.records.values()].filter(
      (r) => r.loadbalancerId === ids.loadbalancerId && r.type === 'member',
    );
  return {
    time,
    applier,
    sync,
    ids,
    member,
    members,
    acquires,
    syncs0: sync.syncs.length,
    acquires0: acquires(),
    looks: () => rootReads,
  };
}

/** Eight more member creates, one every 40 ms of virtual time (the tail of a ten-request burst). */
async function eightMore(f: Awaited<ReturnType<typeof fixture>>) {
  for (let i = 0; i < 8; i += 1) {
    await f.time.sleep(40);
    await f.member();
  }
}

describe('LoadBalancerApplier paced by the apply cadence', () => {
  it('applies a lone member create at once: no look, no wait', async () => {
    const f = await fixture();
    const request = await f.member();
    const started = f.time.now;
    const result = await f.time.run(f.applier.apply(applyTargetOf(request)));
    expect(result).toMatchObject({ outcome: 'applied', statuses: 2 });
    expect(f.looks()).toBe(0);
    expect(f.time.now).toBe(started);
    expect(f.members().map((m) => m.provisioningStatus)).toEqual(['ACTIVE']);
  });

  it('waits while a burst is being recorded, so one lease, one change and one config-sync cover it', async () => {
    const f = await fixture();
    const first = await f.member();
    // Nine more requests: one 5 ms later, before the apply's first look, then one every 40 ms.
    await f.time.run(f.time.sleep(5));
    await f.member();
    const burst = eightMore(f);
    const apply = f.applier.apply(applyTargetOf(first));
    await f.time.run(Promise.all([apply, burst]));
    expect(f.members()).toHaveLength(10);
    expect(f.members().every((m) => m.provisioningStatus === 'ACTIVE')).toBe(true);
    expect(f.acquires() - f.acquires0).toBe(1);
    expect(f.sync.syncs.length - f.syncs0).toBe(1);
    // Looks 150, 300 and 450 ms after the first saw it grow (the last request came at 320 ms), the one at 600 ms saw it still.
    expect(f.looks()).toBe(4);
  });

  it('without the cadence the same burst takes one apply for the first request and leaves the rest pending', async () => {
    const f = await fixture(0);
    const first = await f.member();
    await f.time.run(f.time.sleep(5));
    await f.member();
    const burst = eightMore(f);
    await f.time.run(Promise.all([f.applier.apply(applyTargetOf(first)), burst]));
    expect(f.looks()).toBe(0);
    const statuses = f.members().map((m) => m.provisioningStatus);
    expect(statuses.filter((s) => s === 'ACTIVE')).toHaveLength(2);
    expect(statuses.filter((s) => s === 'PENDING_CREATE')).toHaveLength(8);
  });

  it('a burst that never stops is applied after the most the cadence waits; what came later stays pending for the next apply', async () => {
    const f = await fixture();
    const first = await f.member();
    await f.time.run(f.time.sleep(5));
    await f.member();
    let applied: number | undefined;
    const apply = f.applier.apply(applyTargetOf(first)).then((r) => {
      applied = f.time.now;
      return r;
    });
    const started = f.time.now;
    const burst = (async () => {
      while (applied === undefined) {
        await f.time.sleep(50);
        await f.member();
      }
    })();
    await f.time.run(Promise.all([apply, burst]));
    expect((applied as number) - started).toBe(APPLY_CADENCE.maxWaitMs);
    expect(f.looks()).toBe(7);
    expect(f.acquires() - f.acquires0).toBe(1);
    // Everything recorded before the lease is ACTIVE; the request recorded as the apply ended is not lost: pending.
    const statuses = f.members().map((m) => m.provisioningStatus);
    expect(statuses.filter((s) => s === 'ACTIVE')).toHaveLength(statuses.length - 1);
    expect(statuses.at(-1)).toBe('PENDING_CREATE');
  });

  it('a later request of a burst an earlier apply covered needs no wait and no lease', async () => {
    const f = await fixture();
    const first = await f.member();
    const second = await f.member();
    await f.time.run(f.applier.apply(applyTargetOf(first)));
    const looks = f.looks();
    const acquires = f.acquires();
    const result = await f.time.run(f.applier.apply(applyTargetOf(second)));
    expect(result).toMatchObject({ outcome: 'applied', commands: 0, device: 'none' });
    expect(f.looks()).toBe(looks);
    expect(f.acquires()).toBe(acquires);
  });
});
