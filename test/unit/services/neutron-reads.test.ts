import { describe, expect, it } from 'vitest';
import type { NetworkCatalog } from '../../../functions/domain/networks.js';
import type { Caller } from '../../../functions/domain/octavia-policy.js';
import type { LoadBalancerTree, ResourceRecord } from '../../../functions/domain/resource-state.js';
import { NeutronReads } from '../../../functions/services/neutron-reads.js';

const NETWORK = '0b5c1f3e-8f5a-4d51-9a57-2f0a1b2c3d4e';
const SUBNET = '6d2e4a1b-3c5f-4e7a-8b9c-0d1e2f3a4b5c';
const OTHER_SUBNET = '7e3f5b2c-4d6a-4f8b-9cad-1e2f3a4b5c6d';
const PROJECT = 'f00dfeedf00dfeedf00dfeedf00dfeed';
// A load balancer id and its VIP port id: the port is the id with its first eight hex digits flipped (15 - d).
const LB = 'aaaaaaaa-1111-4222-8333-444444444444';
const PORT = '55555555-1111-4222-8333-444444444444';

const catalog: NetworkCatalog = {
  networks: [
    {
      id: NETWORK,
      name: 'public',
      subnets: [
        { id: SUBNET, name: 'public-v4', cidr: '10.20.0.0/24' },
        { id: OTHER_SUBNET, name: 'public-v6', cidr: '2001:db8:20::/64' },
      ],
    },
  ],
};

function tree(project = PROJECT): LoadBalancerTree {
  const root = {
    loadbalancerId: LB,
    type: 'loadbalancer',
    id: LB,
    tenantId: project,
    env: 'Test',
    desired: {
      id: LB,
      name: 'web',
      vip_address: '10.20.0.7',
      vip_subnet_id: SUBNET,
      vip_network_id: NETWORK,
      vip_port_id: PORT,
      admin_state_up: true,
    },
    provisioningStatus: 'ACTIVE',
    operatingStatus: 'ONLINE',
    revision: 1,
    requestId: 'r1',
    createdAt: 1,
    updatedAt: 1,
  } as unknown as ResourceRecord<'loadbalancer'>;
  return { root, listeners: [], pools: [], members: [], healthmonitors: [], l7policies: [], l7rules: [] };
}

const member = (projectId: string): Caller => ({ projectId, roles: ['load-balancer_member'] });

function reads(options: { noopCidr?: string; owner?: string } = {}) {
  const loaded: string[] = [];
  const neutron = new NeutronReads({
    networks: { ...catalog, ...(options.noopCidr ? { noopCidr: options.noopCidr } : {}) },
    policy: 'advanced',
    loadTree: async (id) => {
      loaded.push(id);
      return id === LB ? tree(options.owner) : undefined;
    },
  });
  return { neutron, loaded };
}

describe('NeutronReads', () => {
  it('finds a configured subnet by id and by name, in Neutron shape, and nothing for an unknown id', () => {
    const { neutron } = reads();
    const byId = neutron.subnets(member(PROJECT), { id: [SUBNET] }).body as {
      subnets: Record<string, unknown>[];
    };
    expect(byId.subnets).toHaveLength(1);
    expect(byId.subnets[0]).toMatchObject({
      id: SUBNET,
      name: 'public-v4',
      cidr: '10.20.0.0/24',
      ip_version: 4,
      network_id: NETWORK,
      gateway_ip: '10.20.0.1',
    });
    const byName = neutron.subnets(member(PROJECT), { name: ['public-v6'] }).body as {
      subnets: { id: string; ip_version: number }[];
    };
    expect(byName.subnets.map((s) => [s.id, s.ip_version])).toEqual([[OTHER_SUBNET, 6]]);
    const unknown = neutron.subnets(member(PROJECT), { id: ['00000000-0000-4000-8000-000000000000'] })
      .body as { subnets: unknown[] };
    expect(unknown.subnets).toEqual([]);
    expect(() => neutron.subnet(member(PROJECT), '00000000-0000-4000-8000-000000000000')).toThrow(
      expect.objectContaining({ status: 404 }),
    );
  });

  it('lists networks with their subnets and shows one', () => {
    const { neutron } = reads();
    const list = neutron.networks(member(PROJECT), {}).body as {
      networks: { id: string; subnets: string[] }[];
    };
    expect(list.networks).toEqual([
      expect.objectContaining({ id: NETWORK, subnets: [SUBNET, OTHER_SUBNET] }),
    ]);
    expect(neutron.networks(member(PROJECT), { name: ['private'] }).body).toEqual({ networks: [] });
    expect(neutron.network(member(PROJECT), NETWORK).body).toMatchObject({ network: { name: 'public' } });
  });

  it('answers any subnet id in no-op mode, as Octavia’s no-op network driver does', () => {
    const { neutron } = reads({ noopCidr: '198.51.100.0/24' });
    const id = '11111111-2222-4333-8444-555555555555';
    const body = neutron.subnets(member(PROJECT), { id: [id] }).body as {
      subnets: Record<string, unknown>[];
    };
    expect(body.subnets).toEqual([expect.objectContaining({ id, cidr: '198.51.100.0/24' })]);
  });

  it("shows a load balancer's VIP port to its project and hides it from another project", async () => {
    const { neutron, loaded } = reads();
    const shown = (await neutron.port(member(PROJECT), PORT)).body as { port: Record<string, unknown> };
    expect(shown.port).toMatchObject({
      id: PORT,
      network_id: NETWORK,
      fixed_ips: [{ subnet_id: SUBNET, ip_address: '10.20.0.7' }],
      project_id: PROJECT,
      device_owner: 'Octavia',
    });
    expect(loaded).toEqual([LB]);
    await expect(neutron.port(member('0123456789abcdef0123456789abcdef'), PORT)).rejects.toMatchObject({
      status: 404,
    });
  });

  it('reads no load balancer for a port id that is not an id, and lists ports only by id', async () => {
    const { neutron, loaded } = reads();
    await expect(neutron.port(member(PROJECT), '../../etc')).rejects.toMatchObject({ status: 404 });
    expect(loaded).toEqual([]);
    const listed = (await neutron.ports(member(PROJECT), { id: [PORT, 'nope'] })).body as {
      ports: unknown[];
    };
    expect(listed.ports).toHaveLength(1);
    expect((await neutron.ports(member(PROJECT), {})).body).toEqual({ ports: [] });
  });

  it('answers any network id in no-op mode; a port id of no load balancer, or another port of it, is not found', async () => {
    const { neutron, loaded } = reads({ noopCidr: '198.51.100.0/24' });
    const id = '22222222-3333-4444-8555-666666666666';
    expect(neutron.networks(member(PROJECT), { id: [id] }).body).toEqual({
      networks: [expect.objectContaining({ id, subnets: [id] })],
    });
    expect(() => reads().neutron.network(member(PROJECT), id)).toThrow(
      expect.objectContaining({ status: 404, message: `Network ${id} could not be found.` }),
    );
    // A port id whose load balancer does not exist.
    await expect(neutron.port(member(PROJECT), id)).rejects.toMatchObject({
      status: 404,
      message: `Port ${id} could not be found.`,
    });
    // An id of the same shape that is no load balancer's port.
    await expect(neutron.port(member(PROJECT), '5555555a-1111-4222-8333-444444444444')).rejects.toMatchObject(
      {
        status: 404,
      },
    );
    expect(loaded.length).toBeGreaterThan(0);
    // A filter on another field of the port.
    const filtered = (await neutron.ports(member(PROJECT), { id: [PORT], network_id: ['other'] })).body;
    expect(filtered).toEqual({ ports: [] });
  });
});
