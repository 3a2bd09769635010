import { describe, expect, it } from 'vitest';
import {
  cidrContains,
  findNetwork,
  findSubnet,
  loadBalancerOfPort,
  type NetworkCatalog,
  neutronSubnet,
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
