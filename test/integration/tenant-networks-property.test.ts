import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BigIpSimulator } from '../../local/bigip-simulator/bigip-simulator.js';
import { lbIds, requests } from '../support/factories.js';
import { overlappingNetworks, SUBNET_A, SUBNET_B, SUBNET_FLAT } from '../support/network-fixtures.js';
import { systemHarness } from '../support/system-harness.js';

/**
 * Issue #32's property: random creates and deletes of load balancers and members across three
 * networks (two overlapping segmented ones, VLANs 2 and 3, and a flat one), scheduled onto two
 * agents that write one HA pair, always end with both units holding the same route domains, VLANs,
 * floating self IPs and SNAT pools, each unit its own self IPs, route-domain ids equal to the
 * networks' VLAN tags, only for networks something uses, and nothing at all after the last delete.
 * The expectation is built from the operations alone (which networks hold a live VIP or member).
 */
const SUBNETS = [SUBNET_A, SUBNET_B, SUBNET_FLAT] as const;
/** The oracle's own reading of the fixture: network i's VLAN tag (0: flat), and its addresses. */
const TAG: readonly number[] = [2, 3, 0];
const PREFIX = ['10.0.0.', '10.0.0.', '192.0.2.'] as const;
const SNAT = [false, true, false] as const;

type Op =
  | { kind: 'lb'; net: number }
  | { kind: 'member'; lb: number; net: number; host: number }
  | { kind: 'delete-member'; lb: number; member: number }
  | { kind: 'delete-lb'; lb: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('lb' as const), net: fc.nat(2) }),
  fc.record({ kind: fc.constant('member' as const), lb: fc.nat(9), net: fc.nat(2), host: fc.nat(1) }),
  fc.record({ kind: fc.constant('delete-member' as const), lb: fc.nat(9), member: fc.nat(9) }),
  fc.record({ kind: fc.constant('delete-lb' as const), lb: fc.nat(9) }),
);

type Row = { fullPath: string; [k: string]: unknown };
const rows = (sim: BigIpSimulator, c: string) => (sim.dump()[c] as Row[] | undefined) ?? [];

/** What the network collections of a unit hold, as sorted lines. */
function networkState(unit: BigIpSimulator) {
  const line = (c: string, f: (r: Row) => string) => rows(unit, c).map(f).sort();
  return {
    routeDomains: line('net/route-domain', (r) => `${r.fullPath} id=${r.id} vlans=${String(r.vlans)}`),
    vlans: line('net/vlan', (r) => `${r.fullPath} tag=${r.tag}`),
    floating: line('net/self', (r) => `${r.fullPath} ${r.address} ${r.trafficGroup}`).filter((s) =>
      s.includes('traffic-group-1'),
    ),
    own: line('net/self', (r) => `${r.fullPath} ${r.address}`).filter((s) => /_self\d+_/.test(s)),
    snatpools: line('ltm/snatpool', (r) => `${r.fullPath} ${String(r.members)}`),
  };
}

describe('tenant networks under random creates and deletes (two agents, an HA pair)', () => {
  it('keeps the networks identical on both units, derived from the networks, and leaves nothing behind', async () => {
    const s = await systemHarness({
      pair: true,
      deviceGroup: 'failover-group',
      hosts: ['agent-1', 'agent-2'],
      networks: overlappingNetworks,
    });
    const pair = s.pair as NonNullable<typeof s.pair>;
    try {
      await s.beatRunning();
      let runs = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { minLength: 3, maxLength: 6 }),
          async (steps) => {
            runs++;
            type Lb = {
              ids: ReturnType<typeof lbIds>;
              net: number;
              pool: string;
              members: { id: string; net: number }[];
            };
            const lbs: Lb[] = [];
            let vip = 10;
            for (const step of steps) {
              const batch: { requestId: string; loadbalancerId: string }[] = [];
              for (const o of step) {
                if (o.kind === 'lb') {
                  const ids = lbIds();
                  const pool = requests.createPool(ids);
                  const net = o.net;
                  batch.push(
                    requests.createLoadbalancer(ids, {
                      vip_address: `${PREFIX[net]}${vip++}`,
                      vip_subnet_id: SUBNETS[net],
                    }),
                    pool,
                    requests.createListener(ids, { default_pool_id: pool.object.id, protocol_port: 80 }),
                  );
                  lbs.push({ ids, net, pool: pool.object.id as string, members: [] });
                  continue;
                }
                const lb = lbs.length > 0 ? lbs[o.lb % lbs.length] : undefined;
                if (!lb) continue;
                if (o.kind === 'member') {
                  const m = requests.createMember(lb.ids, lb.pool, {
                    address: `${PREFIX[o.net]}${5 + o.host}`,
                    protocol_port: 8080 + lb.members.length,
                    subnet_id: SUBNETS[o.net],
                  });
                  lb.members.push({ id: m.object.id as string, net: o.net });
                  batch.push(m);
                } else if (o.kind === 'delete-member' && lb.members.length > 0) {
                  const [gone] = lb.members.splice(o.member % lb.members.length, 1);
                  batch.push(requests.delete('member', lb.ids, (gone as { id: string }).id));
                } else if (o.kind === 'delete-lb') {
                  lbs.splice(lbs.indexOf(lb), 1);
                  batch.push(requests.delete('loadbalancer', lb.ids, lb.ids.loadbalancerId));
                }
              }
              await s.submitAndSettle(...batch);
              // Every live object applied (none refused, none stuck).
              for (const lb of lbs) {
                const records = await s.resources.loadRecords(lb.ids.loadbalancerId);
                expect(
                  records
                    .filter((r) => r.provisioningStatus !== 'ACTIVE')
                    .map((r) => `${r.type} ${r.statusReason}`),
                ).toEqual([]);
              }
              // The oracle: the networks a live VIP or member uses.
              const used = new Set<number>();
              for (const lb of lbs)
                for (const n of [lb.net, ...lb.members.map((m) => m.net)]) if (TAG[n]) used.add(n);
              const expected = [...used].sort((x, y) => (TAG[x] ?? 0) - (TAG[y] ?? 0));
              const a = networkState(pair.a);
              const b = networkState(pair.b);
              expect(a.routeDomains).toEqual(
                expected.map((n) => `/Common/Test_rd${TAG[n]} id=${TAG[n]} vlans=/Common/Test_vlan${TAG[n]}`),
              );
              expect(a.vlans).toEqual(expected.map((n) => `/Common/Test_vlan${TAG[n]} tag=${TAG[n]}`));
              expect(a.floating).toEqual(
                expected.map(
                  (n) => `/Common/Test_float${TAG[n]} 10.0.0.250%${TAG[n]}/24 /Common/traffic-group-1`,
                ),
              );
              expect(a.snatpools).toEqual(
                expected
                  .filter((n) => SNAT[n])
                  .map(
                    (n) =>
                      `/Common/Test_snat${TAG[n]} /Common/10.0.0.240%${TAG[n]},/Common/10.0.0.241%${TAG[n]}`,
                  ),
              );
              expect(a.own).toEqual(
                expected.map((n) => `/Common/Test_self${TAG[n]}_0 10.0.0.251%${TAG[n]}/24`),
              );
              expect(b.own).toEqual(
                expected.map((n) => `/Common/Test_self${TAG[n]}_1 10.0.0.252%${TAG[n]}/24`),
              );
              const { own: _a, ...syncedA } = a;
              const { own: _b, ...syncedB } = b;
              expect(syncedB).toEqual(syncedA);
            }
            // The last delete leaves nothing of ours on either unit.
            await s.submitAndSettle(
              ...lbs.map((lb) => requests.delete('loadbalancer', lb.ids, lb.ids.loadbalancerId)),
            );
            expect(pair.a.dump()).toEqual({});
            expect(pair.b.dump()).toEqual({});
          },
        ),
        { numRuns: 4, seed: 32, endOnFailure: true },
      );
      expect(runs).toBe(4);
      expect(await s.dlqDepth()).toBe(0);
    } finally {
      await s.close();
    }
  }, 300_000);
});
