import type { NetworkCatalog, NetworkDefinition } from '../../functions/domain/networks.js';

/**
 * Two tenants' networks with the same address range (10.0.0.0/24), on VLANs 2 and 3: the case
 * route domains exist for. Route domains, by the rule (VLAN tag): 2 and 3.
 */
export const NET_A = '0a0a0a0a-0000-4000-8000-00000000000a';
export const SUBNET_A = '0a0a0a0a-0000-4000-8000-0000000000a1';
export const NET_B = '0b0b0b0b-0000-4000-8000-00000000000b';
export const SUBNET_B = '0b0b0b0b-0000-4000-8000-0000000000b1';
/** A network the devices know as route domain 0 (no segmentation). */
export const NET_FLAT = '0c0c0c0c-0000-4000-8000-00000000000c';
export const SUBNET_FLAT = '0c0c0c0c-0000-4000-8000-0000000000c1';

export const overlappingNetworks: NetworkDefinition[] = [
  {
    id: NET_A,
    name: 'tenant-a',
    subnets: [{ id: SUBNET_A, name: 'a', cidr: '10.0.0.0/24' }],
    segmentation: { vlan: 2 },
    selfIps: { default: { units: ['10.0.0.251', '10.0.0.252'], floating: '10.0.0.250' } },
  },
  {
    id: NET_B,
    name: 'tenant-b',
    subnets: [{ id: SUBNET_B, name: 'b', cidr: '10.0.0.0/24' }],
    segmentation: { vlan: 3 },
    snat: { pool: ['10.0.0.240', '10.0.0.241'] },
    selfIps: { default: { units: ['10.0.0.251', '10.0.0.252'], floating: '10.0.0.250' } },
  },
  {
    id: NET_FLAT,
    name: 'flat',
    subnets: [{ id: SUBNET_FLAT, name: 'flat', cidr: '192.0.2.0/24' }],
  },
];

export const overlappingCatalog: NetworkCatalog = { networks: overlappingNetworks };
