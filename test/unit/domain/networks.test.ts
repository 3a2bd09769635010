import { describe, expect, it } from 'vitest';
import {
  cidrContains,
  findNetwork,
  findSubnet,
  ipVersionOf,
  loadBalancerOfPort,
  type NetworkCatalog,
  networkOfSubnet,
  neutronSubnet,
  parseCidr,
  usableAddresses,
  vipCandidates,
  vipPortId,
} from '../../../functions/domain/networks.js';

const catalog: NetworkCatalog = {
  networks: [
    {
      id: '11111111-1111-4111-8111-111111111111',
      name: 'public',
      subnets: [
        { id: '22222222-2222-4222-8222-222222222222', name: 'v4', cidr: '10.0.0.0/24' },
        { id: '33333333-3333-4333-8333-333333333333', name: 'v6', cidr: 'fd00:1::/64' },
      ],
    },
  ],
};

describe('networks', () => {
  it('knows which addresses a CIDR holds, in both families', () => {
    expect(cidrContains('10.0.0.0/24', '10.0.0.255')).toBe(true);
    expect(cidrContains('10.0.0.0/24', '10.0.1.0')).toBe(false);
    expect(cidrContains('fd00:1::/64', 'fd00:1::abcd')).toBe(true);
    expect(cidrContains('fd00:1::/64', 'fd00:2::1')).toBe(false);
    expect(cidrContains('10.0.0.0/24', 'fd00:1::1')).toBe(false);
  });

  it('offers a VIP the usable addresses of a subnet: not the network, gateway or broadcast address', () => {
    expect(usableAddresses('10.0.0.0/24')).toBe(253);
    const all = vipCandidates('10.0.0.0/24', 0, 1000);
    expect(all).toHaveLength(253);
    expect(all[0]).toBe('10.0.0.2');
    expect(all.at(-1)).toBe('10.0.0.254');
    expect(new Set(all).size).toBe(253);
    // From an offset, wrapping around.
    expect(vipCandidates('10.0.0.0/24', 252, 3)).toEqual(['10.0.0.254', '10.0.0.2', '10.0.0.3']);
    expect(vipCandidates('fd00:1::/64', 0, 2)).toEqual(['fd00:1::2', 'fd00:1::3']);
    expect(usableAddresses('10.0.0.0/31')).toBe(0);
  });

  it('finds configured subnets and networks, and any id with no-op networks only', () => {
    expect(findSubnet(catalog, '33333333-3333-4333-8333-333333333333')).toMatchObject({
      networkId: '11111111-1111-4111-8111-111111111111',
      ipVersion: 6,
      configured: true,
    });
    expect(findSubnet(catalog, '44444444-4444-4444-8444-444444444444')).toBeUndefined();
    expect(findNetwork(catalog, '44444444-4444-4444-8444-444444444444')).toBeUndefined();
    const noop = { ...catalog, noopCidr: '198.19.0.0/16' };
    expect(findSubnet(noop, '44444444-4444-4444-8444-444444444444')).toMatchObject({
      cidr: '198.19.0.0/16',
      configured: false,
    });
  });

  it('names a VIP port after its load balancer so the port leads back to it, and never equals it', () => {
    const lb = '0123abcd-1111-4111-8111-111111111111';
    const port = vipPortId(lb);
    expect(port).not.toBe(lb);
    expect(port).toMatch(/^[0-9a-f]{8}-1111-4111-8111-111111111111$/);
    expect(loadBalancerOfPort(port)).toBe(lb);
  });

  it('shows a subnet in Neutron’s shape, with its gateway and allocation pool', () => {
    const s = neutronSubnet(findSubnet(catalog, '22222222-2222-4222-8222-222222222222') as never, 'p1');
    expect(s).toMatchObject({
      id: '22222222-2222-4222-8222-222222222222',
      network_id: '11111111-1111-4111-8111-111111111111',
      cidr: '10.0.0.0/24',
      ip_version: 4,
      gateway_ip: '10.0.0.1',
      allocation_pools: [{ start: '10.0.0.2', end: '10.0.0.254' }],
      project_id: 'p1',
    });
  });
});

describe('CIDRs and addresses as written', () => {
  it('parses both families and refuses what is no CIDR', () => {
    expect(parseCidr('10.1.2.3/16')).toEqual({ version: 4, base: 0x0a010000n, prefix: 16 });
    expect(parseCidr('2001:db8::1/32')).toMatchObject({ version: 6, prefix: 32 });
    for (const bad of ['10.0.0.0', '10.0.0.0/33', '10.0.0.0/x', '2001:db8::/129', 'host/8', '10.0.0/8'])
      expect(parseCidr(bad), bad).toBeUndefined();
  });

  it('reads IPv6 in its compressed, full and IPv4-embedded forms, and refuses malformed ones', () => {
    expect(ipVersionOf('::1')).toBe(6);
    expect(ipVersionOf('2001:db8:0:0:0:0:0:1')).toBe(6);
    expect(ipVersionOf('::ffff:10.0.0.1')).toBe(6);
    expect(ipVersionOf('10.0.0.1')).toBe(4);
    expect(cidrContains('::ffff:0:0/96', '::ffff:10.0.0.1')).toBe(true);
    for (const bad of [
      '1:2:3:4:5:6:7:8:9',
      '1::2::3',
      '1:::2',
      '12345::',
      'g::1',
      '1:2:3:4:5:6:7',
      '::ffff:300.0.0.1',
      '1.2.3',
    ])
      expect(ipVersionOf(bad), bad).toBeUndefined();
    expect(cidrContains('10.0.0.0/8', '2001:db8::1')).toBe(false);
    expect(cidrContains('not-a-cidr', '10.0.0.1')).toBe(false);
  });

  it('offers no VIP addresses in a subnet too small for any, or one that is not a CIDR', () => {
    expect(vipCandidates('10.0.0.0/31', 0, 5)).toEqual([]);
    expect(usableAddresses('10.0.0.0/31')).toBe(0);
    expect(vipCandidates('nonsense', 0, 5)).toEqual([]);
    expect(usableAddresses('nonsense')).toBe(0);
    // IPv6: everything but the network address and the gateway, shown in canonical form.
    expect(vipCandidates('2001:db8::/126', 0, 5)).toEqual(['2001:db8::2', '2001:db8::3']);
    // A large subnet offers at most 2^20 candidates.
    expect(usableAddresses('2001:db8::/64')).toBe(2 ** 20);
  });

  it('knows the network of a configured subnet, and with no-op networks takes any id', () => {
    expect(networkOfSubnet(catalog, '33333333-3333-4333-8333-333333333333')?.name).toBe('public');
    expect(networkOfSubnet(catalog, '44444444-4444-4444-8444-444444444444')).toBeUndefined();
    const noop = { ...catalog, noopCidr: '198.18.0.0/15' };
    const id = '55555555-5555-4555-8555-555555555555';
    expect(findNetwork(noop, id)).toEqual({
      id,
      name: '',
      subnets: [{ id, name: '', cidr: '198.18.0.0/15' }],
    });
    expect(findSubnet(noop, id)).toMatchObject({ id, configured: false, ipVersion: 4 });
  });
});
