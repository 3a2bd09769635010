import { describe, expect, it } from 'vitest';
import type { BigIpSimulator } from '../../local/bigip-simulator/bigip-simulator.js';
import { lbIds, requests } from '../support/factories.js';
import { overlappingNetworks, SUBNET_A, SUBNET_B } from '../support/network-fixtures.js';
import { systemsClosedAfterEach } from '../support/system-harness.js';

/**
 * Tenants' networks on an HA pair through the whole pipeline (SQS → scheduler → two agents →
 * simulated pair), the simulator answering with the device's rules for route domains
 * (device-facts.md §2.4–§2.7): overlapping addresses on two networks are two objects.
 */
const system = systemsClosedAfterEach();

type Row = { fullPath: string; [k: string]: unknown };
const rows = (sim: BigIpSimulator, c: string) => ((sim.dump()[c] as Row[] | undefined) ?? []).map((r) => r);
const paths = (sim: BigIpSimulator, c: string) =>
  rows(sim, c)
    .map((r) => r.fullPath)
    .sort();

function loadBalancer(ids: ReturnType<typeof lbIds>, subnet: string) {
  const pool = requests.createPool(ids);
  return [
    requests.createLoadbalancer(ids, { vip_address: '10.0.0.10', vip_subnet_id: subnet }),
    pool,
    requests.createListener(ids, { default_pool_id: pool.object.id, protocol_port: 80 }),
    requests.createMember(ids, pool.object.id as string, {
      address: '10.0.0.5',
      protocol_port: 8080,
      subnet_id: subnet,
    }),
  ];
}

describe('two projects, one address, two networks', () => {
  it('puts member 10.0.0.5:8080 of each project in its own route domain: two nodes, two VIPs at 10.0.0.10, networks identical on both units, nothing left after the deletes', async () => {
    const s = await system({
      pair: true,
      deviceGroup: 'failover-group',
      hosts: ['agent-1', 'agent-2'],
      networks: overlappingNetworks,
    });
    await s.beatRunning();
    const a = lbIds();
    const b = lbIds();
    await s.submitAndSettle(...loadBalancer(a, SUBNET_A), ...loadBalancer(b, SUBNET_B));
    for (const ids of [a, b]) {
      const records = await s.resources.loadRecords(ids.loadbalancerId);
      expect(records.map((r) => `${r.type}:${r.provisioningStatus}:${r.statusReason ?? ''}`).sort()).toEqual([
        'listener:ACTIVE:',
        'loadbalancer:ACTIVE:',
        'member:ACTIVE:',
        'pool:ACTIVE:',
      ]);
    }
    const pair = s.pair as NonNullable<typeof s.pair>;
    for (const unit of [pair.a, pair.b]) {
      expect(paths(unit, 'ltm/node')).toEqual(['/Common/10.0.0.5%2', '/Common/10.0.0.5%3']);
      expect(
        rows(unit, 'ltm/virtual-address')
          .map((v) => v.address)
          .sort(),
      ).toEqual(['10.0.0.10%2', '10.0.0.10%3']);
      expect(rows(unit, 'net/route-domain').map((r) => [r.fullPath, r.id])).toEqual([
        ['/Common/Test_rd2', 2],
        ['/Common/Test_rd3', 3],
      ]);
      expect(paths(unit, 'net/vlan')).toEqual(['/Common/Test_vlan2', '/Common/Test_vlan3']);
      expect(paths(unit, 'ltm/snatpool')).toEqual(['/Common/Test_snat3']);
    }
    // Each unit keeps its own self IP per network (never synced), and both have the floating ones.
    const selfs = (unit: BigIpSimulator) =>
      rows(unit, 'net/self')
        .map((r) => `${r.fullPath} ${r.address}`)
        .sort();
    expect(selfs(pair.a)).toEqual([
      '/Common/Test_float2 10.0.0.250%2/24',
      '/Common/Test_float3 10.0.0.250%3/24',
      '/Common/Test_self2_0 10.0.0.251%2/24',
      '/Common/Test_self3_0 10.0.0.251%3/24',
    ]);
    expect(selfs(pair.b)).toEqual([
      '/Common/Test_float2 10.0.0.250%2/24',
      '/Common/Test_float3 10.0.0.250%3/24',
      '/Common/Test_self2_1 10.0.0.252%2/24',
      '/Common/Test_self3_1 10.0.0.252%3/24',
    ]);
    // Network B's virtual translates to its SNAT pool, network A's automaps.
    const sat = rows(pair.active, 'ltm/virtual').map((v) => v.sourceAddressTranslation);
    expect(sat).toEqual(
      expect.arrayContaining([{ type: 'automap' }, { type: 'snat', pool: '/Common/Test_snat3' }]),
    );

    await s.submitAndSettle(requests.delete('loadbalancer', a, a.loadbalancerId));
    // The route-domain suffix travels escaped in URLs (`%` as `%25`, bigip-rest.md A.3.1).
    const nodeCalls = [...pair.a.calls, ...pair.b.calls].filter((c) =>
      c.path.startsWith('/mgmt/tm/ltm/node/'),
    );
    expect(nodeCalls.map((c) => `${c.method} ${c.path}`)).toContain(
      'DELETE /mgmt/tm/ltm/node/~Common~10.0.0.5%252',
    );
    expect(nodeCalls.every((c) => /%25\d/.test(c.path))).toBe(true);
    for (const unit of [pair.a, pair.b]) {
      expect(paths(unit, 'ltm/node')).toEqual(['/Common/10.0.0.5%3']);
      expect(rows(unit, 'net/route-domain').map((r) => r.id)).toEqual([3]);
    }
    await s.submitAndSettle(requests.delete('loadbalancer', b, b.loadbalancerId));
    expect(pair.a.dump()).toEqual({});
    expect(pair.b.dump()).toEqual({});
    expect(await s.dlqDepth()).toBe(0);
  }, 120_000);

  it('reconciler: a unit that lost its own self IP gets it back; a dry run only reports it', async () => {
    const s = await system({
      pair: true,
      deviceGroup: 'failover-group',
      hosts: ['agent-1'],
      networks: overlappingNetworks,
    });
    await s.beatRunning();
    const b = lbIds();
    await s.submitAndSettle(...loadBalancer(b, SUBNET_B));
    const pair = s.pair as NonNullable<typeof s.pair>;
    pair.b.store.remove('net/self', '/Common/Test_self3_1');
    const { reconciler } = s.reconciler();
    const dry = await reconciler.run({ dryRun: true, orphans: 'report' });
    expect(dry.outcome === 'done' && dry.networks).toEqual([
      { routeDomain: 3, unit: 'bigip-b', objects: ['create self-ip /Common/Test_self3_1'], foreign: [] },
    ]);
    expect(paths(pair.b, 'net/self')).not.toContain('/Common/Test_self3_1');
    const repaired = await reconciler.run({ dryRun: false, orphans: 'report' });
    expect(repaired.outcome === 'done' && repaired.networks?.length).toBe(1);
    expect(paths(pair.b, 'net/self')).toContain('/Common/Test_self3_1');
    const again = await reconciler.run({ dryRun: true, orphans: 'report' });
    expect(again.outcome === 'done' && again.networks).toEqual([]);
  }, 120_000);

  it("reconciler's orphan pass: a network no load balancer uses any more (left by a crash before its removal) is removed from both units, ours only, never while used", async () => {
    const s = await system({
      pair: true,
      deviceGroup: 'failover-group',
      hosts: ['agent-1'],
      networks: overlappingNetworks,
    });
    await s.beatRunning();
    const b = lbIds();
    await s.submitAndSettle(...loadBalancer(b, SUBNET_B));
    const pair = s.pair as NonNullable<typeof s.pair>;
    const { reconciler, networks } = s.reconciler();
    // What a crash between network A's last user's delete and the network's removal leaves: the
    // network put there by the production path, no load balancer on it.
    await (networks as NonNullable<typeof networks>).ensure([2]);
    const synced = (unit: BigIpSimulator) =>
      ['net/route-domain', 'net/vlan', 'net/self', 'ltm/snatpool'].flatMap((c) => paths(unit, c)).sort();
    const networkB = {
      a: [
        '/Common/Test_float3',
        '/Common/Test_rd3',
        '/Common/Test_self3_0',
        '/Common/Test_snat3',
        '/Common/Test_vlan3',
      ],
      b: [
        '/Common/Test_float3',
        '/Common/Test_rd3',
        '/Common/Test_self3_1',
        '/Common/Test_snat3',
        '/Common/Test_vlan3',
      ],
    };
    const networkA = {
      a: ['/Common/Test_float2', '/Common/Test_rd2', '/Common/Test_self2_0', '/Common/Test_vlan2'],
    };
    expect(synced(pair.a)).toEqual([...networkA.a, ...networkB.a].sort());
    expect(synced(pair.b)).toContain('/Common/Test_self2_1');

    // Found, not removed, unless told.
    const reported = await reconciler.run({ dryRun: false, orphans: 'report' });
    expect(reported.outcome === 'done' && reported.unusedNetworks).toEqual([
      { routeDomain: 2, removed: false },
    ]);
    const dry = await reconciler.run({ dryRun: true, orphans: 'remove' });
    expect(dry.outcome === 'done' && dry.unusedNetworks).toEqual([{ routeDomain: 2, removed: false }]);
    expect(synced(pair.a)).toEqual([...networkA.a, ...networkB.a].sort());

    // An operator's node in route domain 2 uses it: kept, with the user named.
    pair.a.store.create('ltm/node', { name: '10.0.0.9%2', partition: 'Common', address: '10.0.0.9%2' });
    const used = await reconciler.run({ dryRun: false, orphans: 'remove' });
    expect(used.outcome === 'done' && used.unusedNetworks).toEqual([
      { routeDomain: 2, removed: false, kept: 'in use: /Common/10.0.0.9%2' },
    ]);
    expect(synced(pair.a)).toEqual([...networkA.a, ...networkB.a].sort());
    pair.a.store.remove('ltm/node', '/Common/10.0.0.9%2');

    const removed = await reconciler.run({ dryRun: false, orphans: 'remove' });
    expect(removed.outcome === 'done' && removed.unusedNetworks).toEqual([{ routeDomain: 2, removed: true }]);
    // Both units: the synced objects by config-sync, each unit's own self IP written to it.
    expect(synced(pair.a)).toEqual(networkB.a);
    expect(synced(pair.b)).toEqual(networkB.b);
    // Network B's load balancer is untouched and still whole.
    const records = await s.resources.loadRecords(b.loadbalancerId);
    expect(records.every((r) => r.provisioningStatus === 'ACTIVE')).toBe(true);
    for (const unit of [pair.a, pair.b]) expect(paths(unit, 'ltm/node')).toEqual(['/Common/10.0.0.5%3']);
    const again = await reconciler.run({ dryRun: false, orphans: 'remove' });
    expect(again.outcome === 'done' && again.unusedNetworks).toEqual([]);

    // Its last load balancer deleted, network B goes with it (the agent's own removal): nothing for the pass.
    await s.submitAndSettle(requests.delete('loadbalancer', b, b.loadbalancerId));
    expect(pair.a.dump()).toEqual({});
    expect(pair.b.dump()).toEqual({});
  }, 120_000);

  it("refuses a network whose route-domain id is an operator's route domain, and leaves that route domain as it was", async () => {
    // Network A without self IPs: nothing after the route domain would meet the operator's.
    const bare = overlappingNetworks.map(({ selfIps: _selfIps, ...n }) => n);
    const s = await system({ networks: bare, hosts: ['agent-1'] });
    await s.beatRunning();
    // The operator's own route domain 2, on its own VLAN, made by hand (the store's create, as a POST would).
    s.sim.store.create('net/vlan', { name: 'ops-vlan', partition: 'Common', tag: 99 });
    s.sim.store.create('net/route-domain', {
      name: 'ops-rd',
      partition: 'Common',
      id: 2,
      vlans: ['/Common/ops-vlan'],
    });
    const before = JSON.stringify(rows(s.sim, 'net/route-domain'));
    const a = lbIds();
    await s.submitAndSettle(...loadBalancer(a, SUBNET_A));
    const lb = (await s.resources.loadRecords(a.loadbalancerId)).find((r) => r.type === 'loadbalancer');
    expect(lb?.provisioningStatus).toBe('ERROR');
    expect(lb?.statusReason).toMatch(/route domain|Test_rd2/i);
    expect(JSON.stringify(rows(s.sim, 'net/route-domain'))).toBe(before);
    expect(rows(s.sim, 'ltm/virtual-address')).toEqual([]);
  }, 120_000);
});
