import { describe, expect, it } from 'vitest';
import { translate } from '../../../functions/domain/bigip-translation.js';
import { deriveHealth } from '../../../functions/domain/device-health.js';
import {
  memberRouteDomain,
  netObjectKey,
  networkOnGroup,
  planNetwork,
  removalOrder,
  sourceTranslation,
} from '../../../functions/domain/network-objects.js';
import type { NetworkDefinition } from '../../../functions/domain/networks.js';
import {
  NET_A,
  NET_B,
  overlappingCatalog,
  overlappingNetworks,
  SUBNET_B,
} from '../../support/network-fixtures.js';
import { TreeBuilder } from '../../support/trees.js';

const [netA, netB, flat] = overlappingNetworks as [NetworkDefinition, NetworkDefinition, NetworkDefinition];
const options = { env: 'Project', group: 'default' };

describe('a network on a device group (network-objects.ts)', () => {
  it('names its route domain, VLAN, self IPs and SNAT pool from the configuration alone, with the route domain id its VLAN tag', () => {
    const b = networkOnGroup(netB, options);
    expect(b?.routeDomain).toBe(3);
    expect(b?.synced).toEqual([
      {
        kind: 'vlan',
        name: 'Project_vlan3',
        attrs: { tag: 3, description: `lbaas Project network ${NET_B}` },
      },
      {
        kind: 'route-domain',
        name: 'Project_rd3',
        attrs: {
          id: 3,
          vlans: ['/Common/Project_vlan3'],
          strict: 'enabled',
          description: `lbaas Project network ${NET_B}`,
        },
      },
      {
        kind: 'self-ip',
        name: 'Project_float3',
        attrs: {
          address: '10.0.0.250%3/24',
          vlan: '/Common/Project_vlan3',
          trafficGroup: '/Common/traffic-group-1',
          description: `lbaas Project network ${NET_B}`,
        },
      },
      {
        kind: 'snatpool',
        name: 'Project_snat3',
        attrs: {
          members: ['/Common/10.0.0.240%3', '/Common/10.0.0.241%3'],
          description: `lbaas Project network ${NET_B}`,
        },
      },
    ]);
    // Each unit's own self IP, in the group's unit order, never synced.
    expect(b?.local.map((o) => [o.name, o.attrs.address, o.attrs.trafficGroup])).toEqual([
      ['Project_self3_0', '10.0.0.251%3/24', '/Common/traffic-group-local-only'],
      ['Project_self3_1', '10.0.0.252%3/24', '/Common/traffic-group-local-only'],
    ]);
    // The same on every call: two agents or two units cannot disagree.
    expect(networkOnGroup(netB, options)).toEqual(b);
  });

  it('makes nothing for route domain 0, no VLAN for an existing one, no self IPs for a group the network names none for', () => {
    expect(networkOnGroup(flat, options)).toBeUndefined();
    const existing: NetworkDefinition = {
      ...netA,
      segmentation: { existing: '/Common/tenant-vlan' },
      routeDomain: 40,
    };
    const on = networkOnGroup(existing, { ...options, group: 'other' });
    expect(on?.synced.map((o) => o.kind)).toEqual(['route-domain']);
    expect(on?.synced[0]?.attrs.vlans).toEqual(['/Common/tenant-vlan']);
    expect(on?.local).toEqual([]);
  });

  it('plans creates for what is missing, updates for what differs, and never touches an object of our name it did not make', () => {
    const a = networkOnGroup(netA, options);
    if (!a) throw new Error('no objects');
    const [vlan, rd, floating] = a.synced as [
      (typeof a.synced)[0],
      (typeof a.synced)[0],
      (typeof a.synced)[0],
    ];
    const actual = new Map<string, Record<string, unknown>>([
      [netObjectKey(vlan), { ...vlan.attrs }],
      [netObjectKey(rd), { ...rd.attrs, strict: 'disabled' }],
      [netObjectKey(floating), { ...floating.attrs, description: 'made by hand' }],
    ]);
    const plan = planNetwork(a.synced, actual, 'Project');
    expect(plan.commands).toEqual([{ op: 'update', object: rd, changes: { strict: 'enabled' } }]);
    expect(plan.foreign).toEqual(['/Common/Project_float2']);
    // Removal: ours only, SNAT pool and self IPs before the route domain, the VLAN last.
    const all = [...a.synced, ...a.local];
    const onDevice = new Map(all.map((o) => [netObjectKey(o), { ...o.attrs }]));
    onDevice.set(netObjectKey(floating), { ...floating.attrs, description: 'made by hand' });
    expect(removalOrder(all, onDevice, 'Project').map((c) => `${c.op} ${c.object.name}`)).toEqual([
      'delete Project_self2_0',
      'delete Project_self2_1',
      'delete Project_rd2',
      'delete Project_vlan2',
    ]);
  });

  it("puts a member in its subnet's route domain, else its load balancer's; an unknown subnet is refused where networks are configured", () => {
    expect(memberRouteDomain(overlappingCatalog, SUBNET_B, 2)).toBe(3);
    expect(memberRouteDomain(overlappingCatalog, undefined, 2)).toBe(2);
    expect(memberRouteDomain(overlappingCatalog, '99999999-0000-4000-8000-000000000000', 2)).toBeUndefined();
    expect(memberRouteDomain({ networks: [] }, '99999999-0000-4000-8000-000000000000', 0)).toBe(0);
    expect(sourceTranslation(netB, 'Project')).toEqual({ type: 'snat', pool: '/Common/Project_snat3' });
    expect(sourceTranslation(netA, 'Project')).toEqual({ type: 'automap' });
  });
});

describe('translation in route domains', () => {
  function onNetwork(rd: number | undefined, member: Record<string, unknown>) {
    const b = new TreeBuilder({
      vip_address: '10.0.0.10',
      ...(rd ? { vip_route_domain: rd, vip_network_id: NET_A } : {}),
    });
    const pool = b.pool();
    const listener = b.listener({ default_pool_id: pool.id, protocol_port: 80 });
    const m = b.member(pool.id, { address: '10.0.0.5', protocol_port: 8080, ...member });
    return { b, pool, listener, m };
  }

  it('writes the VIP, the destination, the member and its node with %<route domain>, and the SNAT of the network', () => {
    const { b } = onNetwork(2, { subnet_id: SUBNET_B });
    const t = translate(b.tree(), { env: 'Project', networks: overlappingCatalog });
    const objects = [...t.present.values()];
    expect(objects.find((o) => o.kind === 'virtual-address')?.attrs.address).toBe('10.0.0.10%2');
    const vs = objects.find((o) => o.kind === 'virtual');
    expect(vs?.attrs.destination).toBe(`/${t.partition}/10.0.0.10%2:80`);
    expect(vs?.attrs.sourceAddressTranslation).toEqual({ type: 'automap' });
    // The member's own subnet (network B, route domain 3) wins over its load balancer's.
    const member = objects.find((o) => o.kind === 'member');
    expect(member?.name).toBe('10.0.0.5%3:8080');
    expect(member?.attrs.address).toBe('10.0.0.5%3');
    expect([...t.routeDomains.live].sort()).toEqual([2, 3]);
    expect(t.errors.size).toBe(0);
  });

  it('writes no suffix in route domain 0 and needs no network there', () => {
    const { b } = onNetwork(undefined, {});
    const t = translate(b.tree(), { env: 'Project', networks: overlappingCatalog });
    const objects = [...t.present.values()];
    expect(objects.find((o) => o.kind === 'virtual-address')?.attrs.address).toBe('10.0.0.10');
    expect(objects.find((o) => o.kind === 'member')?.name).toBe('10.0.0.5:8080');
    expect(t.routeDomains.live.size).toBe(0);
  });

  it('refuses every object of a VIP recorded in a route domain this agent has no network for, rather than write it into route domain 0', () => {
    const { b } = onNetwork(2, {});
    const t = translate(b.tree(), { env: 'Project' });
    expect(t.present.size).toBe(0);
    expect(t.errors.size).toBe(b.all.length);
    expect([...t.errors.values()][0]).toMatch(/route domain 2 .* no network configured/);
  });

  it('names the route domains a deleted load balancer or member leaves (released), none it still uses', () => {
    const { b, m } = onNetwork(2, { subnet_id: SUBNET_B });
    b.status(m, 'PENDING_DELETE');
    let t = translate(b.tree(), { env: 'Project', networks: overlappingCatalog });
    expect([...t.routeDomains.live]).toEqual([2]);
    expect([...t.routeDomains.released]).toEqual([3]);
    b.status(b.root, 'PENDING_DELETE');
    t = translate(b.tree(), { env: 'Project', networks: overlappingCatalog });
    expect([...t.routeDomains.released].sort()).toEqual([2, 3]);
    expect(t.routeDomains.live.size).toBe(0);
  });

  it('keeps the SNAT pool of a network that has one on its virtual servers', () => {
    const b = new TreeBuilder({ vip_address: '10.0.0.10', vip_route_domain: 3, vip_network_id: NET_B });
    const pool = b.pool();
    b.listener({ default_pool_id: pool.id });
    const t = translate(b.tree(), { env: 'Project', networks: overlappingCatalog });
    const vs = [...t.present.values()].find((o) => o.kind === 'virtual');
    expect(vs?.attrs.sourceAddressTranslation).toEqual({ type: 'snat', pool: '/Common/Project_snat3' });
  });

  it("reads a member's health under its name in its route domain (10.0.0.5%3:8080), not another network's", () => {
    const { b, pool, m } = onNetwork(2, { subnet_id: SUBNET_B });
    const poolPath = `/Project_${b.ids.tenantId}/Project_${pool.id}`;
    const scrape = {
      addresses: new Map(),
      unit: 'bigip1',
      virtuals: new Map(),
      pools: new Map([
        [
          poolPath,
          new Map([
            ['10.0.0.5:8080', { monitorStatus: 'up', enabled: true }],
            ['10.0.0.5%3:8080', { monitorStatus: 'down', enabled: true }],
          ]),
        ],
      ]),
    };
    b.healthmonitor(pool.id, { type: 'TCP' });
    const verdict = deriveHealth(b.tree(), scrape, 'Project', overlappingCatalog);
    expect(verdict.statuses.get(`member#${m.id}`)).toBe('ERROR');
  });
});
