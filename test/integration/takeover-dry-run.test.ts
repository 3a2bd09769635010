import { describe, expect, it } from 'vitest';
import { formatTakeover } from '../../cli/format.js';
import type { Collection } from '../../local/bigip-simulator/ltm-types.js';
import { lbIds, requests, tenantId, uuid } from '../support/factories.js';
import { overlappingNetworks, SUBNET_A, SUBNET_B } from '../support/network-fixtures.js';
import { parsed } from '../support/service-fixtures.js';
import { systemsClosedAfterEach } from '../support/system-harness.js';

/**
 * The takeover's dry run (docs/takeover.md) on an HA pair loaded with the layout F5's OpenStack
 * agent writes (its `environment_prefix` `Project`; names as docs/takeover.md lists them): each
 * object is loaded with the action and target the test expects for it, from which tenants, ids and
 * networks the test put in the records and the configuration; the listing must be exactly that,
 * and the devices must not change.
 */
const system = systemsClosedAfterEach();

type Expect = { action: 'adopt' | 'rename' | 'leave'; target?: string; units?: 'a' | 'b' };
interface Loaded {
  collection: Collection;
  body: Record<string, unknown>;
  /** Where the units differ (the agent writes each unit its own self IP). */
  only?: 'a' | 'b';
  /** The object's path in the listing (a member: /P/pool/member) and its kind. */
  kind: string;
  path: string;
  expect: Expect;
}

describe('lbaas takeover --dry-run on a device group configured by F5’s agent', () => {
  it('lists each object as adopted, renamed or left, as the records and the networks say, and changes nothing on either unit', async () => {
    // Our environment uses the agent's prefix, so LTM objects of known load balancers keep their names.
    const s = await system({
      env: 'Project',
      pair: true,
      deviceGroup: 'failover-group',
      hosts: ['agent-1'],
      networks: overlappingNetworks,
    });
    const pair = s.pair as NonNullable<typeof s.pair>;

    // In our records: project 1's load balancer on network A (route domain 2 by its VLAN tag),
    // project 2's on network B (route domain 3). Project 3 is not in our records.
    const one = lbIds();
    const two = lbIds();
    const t3 = tenantId();
    const listener1 = uuid();
    const pool1 = uuid();
    const hm1 = uuid();
    const pool2 = uuid();
    const strayPool = uuid();
    for (const message of [
      requests.createLoadbalancer(one, {
        vip_address: '10.0.0.10',
        vip_subnet_id: SUBNET_A,
        vip_route_domain: 2,
      }),
      requests.createPool(one, { id: pool1 }),
      requests.createListener(one, { id: listener1, default_pool_id: pool1 }),
      requests.createMember(one, pool1, { address: '10.0.0.5', protocol_port: 8080, subnet_id: SUBNET_A }),
      requests.createHealthMonitor(one, pool1, { id: hm1 }),
      requests.createLoadbalancer(two, {
        vip_address: '10.0.0.10',
        vip_subnet_id: SUBNET_B,
        vip_route_domain: 3,
      }),
      requests.createPool(two, { id: pool2 }),
      requests.createMember(two, pool2, { address: '10.0.0.5', protocol_port: 8080, subnet_id: SUBNET_B }),
    ])
      await s.resources.recordRequest(parsed(message), 'Project', 1_000);

    const p1 = `Project_${one.tenantId}`;
    const p2 = `Project_${two.tenantId}`;
    const p3 = `Project_${t3}`;
    const subnetC = uuid();
    const loaded: Loaded[] = [
      // Project 1: the agent's route domain happens to have network A's id (2), in the tenant's partition.
      {
        collection: 'sys/folder',
        body: { name: p1 },
        kind: 'folder',
        path: `/${p1}`,
        expect: { action: 'adopt' },
      },
      {
        collection: 'net/vlan',
        body: { name: 'vlan-2', partition: p1, tag: 2 },
        kind: 'vlan',
        path: `/${p1}/vlan-2`,
        expect: { action: 'rename', target: '/Common/Project_vlan2' },
      },
      {
        collection: 'net/route-domain',
        body: { name: p1, partition: p1, id: 2, vlans: [`/${p1}/vlan-2`] },
        kind: 'route-domain',
        path: `/${p1}/${p1}`,
        expect: { action: 'rename', target: '/Common/Project_rd2' },
      },
      {
        collection: 'net/self',
        body: {
          name: `local-bigip-a-${SUBNET_A}`,
          partition: p1,
          address: '10.0.0.251%2/24',
          vlan: `/${p1}/vlan-2`,
        },
        only: 'a',
        kind: 'self-ip',
        path: `/${p1}/local-bigip-a-${SUBNET_A}`,
        expect: { action: 'rename', target: '/Common/Project_self2_0', units: 'a' },
      },
      {
        collection: 'net/self',
        body: {
          name: `local-bigip-b-${SUBNET_A}`,
          partition: p1,
          address: '10.0.0.252%2/24',
          vlan: `/${p1}/vlan-2`,
        },
        only: 'b',
        kind: 'self-ip',
        path: `/${p1}/local-bigip-b-${SUBNET_A}`,
        expect: { action: 'rename', target: '/Common/Project_self2_1', units: 'b' },
      },
      {
        collection: 'ltm/monitor/http',
        body: {
          name: `Project_${hm1}`,
          partition: p1,
          interval: 5,
          timeout: 9,
          send: 'GET /health HTTP/1.0\\r\\n\\r\\n',
        },
        kind: 'monitor',
        path: `/${p1}/Project_${hm1}`,
        expect: { action: 'adopt' },
      },
      {
        collection: 'ltm/pool',
        body: {
          name: `Project_${pool1}`,
          partition: p1,
          monitor: `/${p1}/Project_${hm1}`,
          members: [{ name: '10.0.0.5%2:8080', address: '10.0.0.5%2' }],
        },
        kind: 'pool',
        path: `/${p1}/Project_${pool1}`,
        expect: { action: 'adopt' },
      },
      // The member the pool above carries, and the node the device made for it in the partition.
      {
        collection: 'ltm/pool/members',
        body: {},
        kind: 'member',
        path: `/${p1}/Project_${pool1}/10.0.0.5%2:8080`,
        expect: { action: 'adopt' },
      },
      {
        collection: 'ltm/node',
        body: {},
        kind: 'node',
        path: `/${p1}/10.0.0.5%2`,
        expect: { action: 'adopt' },
      },
      {
        collection: 'ltm/virtual-address',
        body: { name: `Project_${one.loadbalancerId}`, partition: p1, address: '10.0.0.10%2' },
        kind: 'virtual-address',
        path: `/${p1}/Project_${one.loadbalancerId}`,
        expect: { action: 'adopt' },
      },
      {
        collection: 'ltm/virtual',
        body: {
          name: `Project_${listener1}`,
          partition: p1,
          destination: `/${p1}/10.0.0.10%2:80`,
          pool: `/${p1}/Project_${pool1}`,
          sourceAddressTranslation: { type: 'automap' },
        },
        kind: 'virtual',
        path: `/${p1}/Project_${listener1}`,
        expect: { action: 'adopt' },
      },
      // A pool of the agent's whose id our records do not have, and an operator's pool.
      {
        collection: 'ltm/pool',
        body: { name: `Project_${strayPool}`, partition: p1 },
        kind: 'pool',
        path: `/${p1}/Project_${strayPool}`,
        expect: { action: 'leave' },
      },
      {
        collection: 'ltm/pool',
        body: { name: 'ops_pool', partition: p1 },
        kind: 'pool',
        path: `/${p1}/ops_pool`,
        expect: { action: 'leave' },
      },

      // Project 2: the agent allocated route domain 4 on network B's VLAN (tag 3); ours is 3.
      {
        collection: 'sys/folder',
        body: { name: p2 },
        kind: 'folder',
        path: `/${p2}`,
        expect: { action: 'adopt' },
      },
      {
        collection: 'net/vlan',
        body: { name: 'vlan-3', partition: 'Common', tag: 3 },
        kind: 'vlan',
        path: '/Common/vlan-3',
        expect: { action: 'rename', target: '/Common/Project_vlan3' },
      },
      {
        collection: 'net/route-domain',
        body: { name: p2, partition: p2, id: 4, vlans: ['/Common/vlan-3'] },
        kind: 'route-domain',
        path: `/${p2}/${p2}`,
        expect: { action: 'rename', target: '/Common/Project_rd3' },
      },
      {
        collection: 'ltm/snatpool',
        body: { name: p2, partition: p2, members: ['10.0.0.240%4'] },
        kind: 'snatpool',
        path: `/${p2}/${p2}`,
        expect: { action: 'leave' },
      },
      {
        collection: 'ltm/pool',
        body: {
          name: `Project_${pool2}`,
          partition: p2,
          members: [{ name: '10.0.0.5%4:8080', address: '10.0.0.5%4' }],
        },
        kind: 'pool',
        path: `/${p2}/Project_${pool2}`,
        expect: { action: 'adopt' },
      },
      {
        collection: 'ltm/pool/members',
        body: {},
        kind: 'member',
        path: `/${p2}/Project_${pool2}/10.0.0.5%4:8080`,
        expect: { action: 'rename', target: `/${p2}/Project_${pool2}/10.0.0.5%3:8080` },
      },
      {
        collection: 'ltm/node',
        body: {},
        kind: 'node',
        path: `/${p2}/10.0.0.5%4`,
        expect: { action: 'rename', target: '/Common/10.0.0.5%3' },
      },
      {
        collection: 'ltm/virtual-address',
        body: { name: `Project_${two.loadbalancerId}`, partition: p2, address: '10.0.0.10%4' },
        kind: 'virtual-address',
        path: `/${p2}/Project_${two.loadbalancerId}`,
        expect: { action: 'rename', target: `/${p2}/Project_${two.loadbalancerId}` },
      },

      // Project 3: nobody we know; its route domain is no configured network's.
      {
        collection: 'sys/folder',
        body: { name: p3 },
        kind: 'folder',
        path: `/${p3}`,
        expect: { action: 'leave' },
      },
      {
        collection: 'net/vlan',
        body: { name: 'vlan-9', partition: p3, tag: 9 },
        kind: 'vlan',
        path: `/${p3}/vlan-9`,
        expect: { action: 'leave' },
      },
      {
        collection: 'net/route-domain',
        body: { name: p3, partition: p3, id: 5, vlans: [`/${p3}/vlan-9`] },
        kind: 'route-domain',
        path: `/${p3}/${p3}`,
        expect: { action: 'leave' },
      },
      {
        collection: 'net/self',
        body: {
          name: `local-bigip-a-${subnetC}`,
          partition: p3,
          address: '172.16.0.2%5/24',
          vlan: `/${p3}/vlan-9`,
        },
        only: 'a',
        kind: 'self-ip',
        path: `/${p3}/local-bigip-a-${subnetC}`,
        expect: { action: 'leave', units: 'a' },
      },
      {
        collection: 'ltm/virtual-address',
        body: { name: `Project_${uuid()}`, partition: p3, address: '172.16.0.10%5' },
        kind: 'virtual-address',
        path: '',
        expect: { action: 'leave' },
      },
    ];
    // The last one's path from its name.
    const lastVa = loaded.at(-1) as Loaded;
    lastVa.path = `/${p3}/${String(lastVa.body.name)}`;

    for (const [unit, sim] of [
      ['a', pair.a],
      ['b', pair.b],
    ] as const)
      for (const l of loaded) {
        if (l.only && l.only !== unit) continue;
        if (l.collection === 'ltm/pool/members' || l.collection === 'ltm/node') continue; // made with their pool
        sim.store.create(l.collection, l.body);
      }
    // Loaded as the agent leaves it: every unit written directly, no config-sync.
    const before = { a: JSON.stringify(pair.a.dump()), b: JSON.stringify(pair.b.dump()) };
    pair.a.calls.length = 0;
    pair.b.calls.length = 0;

    const { takeover } = s.reconciler();
    const report = await takeover.dryRun('Project');
    if (report.outcome !== 'done') throw new Error(report.reason);
    const unitName = { a: 'bigip-a', b: 'bigip-b' };
    const expected = loaded
      .map((l) => ({
        kind: l.kind,
        path: l.path,
        action: l.expect.action,
        ...(l.expect.target ? { target: l.expect.target } : {}),
        units: l.expect.units ? [unitName[l.expect.units]] : [unitName.a, unitName.b],
      }))
      .sort((x, y) => x.path.localeCompare(y.path) || x.kind.localeCompare(y.kind));
    expect(report.entries.map(({ reason: _r, ...e }) => e)).toEqual(expected);
    // Every entry says why, in words that name what decided it.
    for (const e of report.entries) expect(e.reason.length).toBeGreaterThan(10);
    const byPath = (p: string) => report.entries.find((e) => e.path === p)?.reason;
    expect(byPath(`/${p2}/${p2}`)).toMatch(/id 4; ours has id 3/);
    expect(byPath(`/${p3}`)).toMatch(new RegExp(`no load balancer of project ${t3}`));
    expect(byPath(`/${p1}/Project_${strayPool}`)).toMatch(new RegExp(`no pool ${strayPool} in our records`));
    expect(report.counts).toEqual({
      adopt: expected.filter((e) => e.action === 'adopt').length,
      rename: expected.filter((e) => e.action === 'rename').length,
      leave: expected.filter((e) => e.action === 'leave').length,
    });

    // Nothing changed on either unit, and nothing but reads was sent.
    expect(JSON.stringify(pair.a.dump())).toBe(before.a);
    expect(JSON.stringify(pair.b.dump())).toBe(before.b);
    const writes = [...pair.a.calls, ...pair.b.calls].filter(
      (c) => c.method !== 'GET' && !c.path.includes('/authn/') && !c.path.includes('/auth/'),
    );
    expect(writes.map((c) => `${c.method} ${c.path}`)).toEqual([]);

    // The CLI's table prints one row per object and the counts.
    const text = formatTakeover(report);
    expect(text.split('\n').length).toBeGreaterThan(expected.length);
    expect(text).toContain(`${report.counts.adopt} to adopt`);
  }, 120_000);
});
