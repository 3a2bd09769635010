import { describe, expect, it } from 'vitest';
import { claimsOf, requestClaims } from '../../../functions/domain/claims.js';
import type { LbaasRequest, LoadBalancerSpec } from '../../../functions/domain/lbaas-request.js';
import { checkNetworks } from '../../../functions/domain/network-checks.js';
import { inRouteDomain, routeDomainOf } from '../../../functions/domain/networks.js';
import { lbIds, requests, uuid } from '../../support/factories.js';
import {
  NET_A,
  NET_B,
  NET_FLAT,
  overlappingCatalog,
  overlappingNetworks,
  SUBNET_A,
  SUBNET_B,
  SUBNET_FLAT,
} from '../../support/network-fixtures.js';
import { parsed } from '../../support/service-fixtures.js';

const lb = (object: Record<string, unknown>) => parsed(requests.createLoadbalancer(lbIds(), object));
const spec = (checked: ReturnType<typeof checkNetworks>) =>
  ('request' in checked ? checked.request.object : undefined) as LoadBalancerSpec | undefined;
const reason = (checked: ReturnType<typeof checkNetworks>) =>
  'refusal' in checked ? checked.refusal : undefined;

describe('network checks: where a VIP and a member live', () => {
  it('derives the route domain from the segmentation alone: the VLAN tag, or the id configured', () => {
    expect(routeDomainOf({ segmentation: { vlan: 2 } })).toBe(2);
    expect(routeDomainOf({ segmentation: { vlan: 2 }, routeDomain: 900 })).toBe(900);
    expect(routeDomainOf({ segmentation: { existing: '/Common/tunnel-x' }, routeDomain: 7 })).toBe(7);
    expect(routeDomainOf({})).toBe(0);
    expect(inRouteDomain('10.0.0.5', 2)).toBe('10.0.0.5%2');
    expect(inRouteDomain('10.0.0.5', 0)).toBe('10.0.0.5');
  });

  it('records a VIP with its subnet, network and route domain, from a subnet or a network', () => {
    expect(
      spec(checkNetworks(lb({ vip_address: '10.0.0.10', vip_subnet_id: SUBNET_A }), overlappingCatalog)),
    ).toMatchObject({
      vip_subnet_id: SUBNET_A,
      vip_network_id: NET_A,
      vip_route_domain: 2,
    });
    const byNetwork = lb({ vip_address: '10.0.0.10', vip_network_id: NET_B });
    delete (byNetwork.object as { vip_subnet_id?: string }).vip_subnet_id;
    expect(spec(checkNetworks(byNetwork, overlappingCatalog))).toMatchObject({
      vip_subnet_id: SUBNET_B,
      vip_network_id: NET_B,
      vip_route_domain: 3,
    });
    // An unsegmented network is route domain 0: nothing recorded.
    const flat = spec(
      checkNetworks(lb({ vip_address: '192.0.2.9', vip_subnet_id: SUBNET_FLAT }), overlappingCatalog),
    );
    expect(flat).toMatchObject({ vip_network_id: NET_FLAT });
    expect(flat?.vip_route_domain).toBeUndefined();
  });

  it('takes a VIP on a no-op network (the conformance run) at any address, in route domain 0; a configured subnet still holds its own', () => {
    const noop = { ...overlappingCatalog, noopCidr: '198.19.0.0/16' };
    const other = uuid();
    const bySubnet = spec(checkNetworks(lb({ vip_address: '198.18.33.33', vip_subnet_id: other }), noop));
    expect(bySubnet).toMatchObject({ vip_subnet_id: other, vip_address: '198.18.33.33' });
    expect(bySubnet?.vip_route_domain).toBeUndefined();
    const byNetwork = lb({ vip_address: '198.18.33.33', vip_network_id: other });
    delete (byNetwork.object as { vip_subnet_id?: string }).vip_subnet_id;
    expect(spec(checkNetworks(byNetwork, noop))?.vip_route_domain).toBeUndefined();
    expect(
      reason(checkNetworks(lb({ vip_address: '198.18.33.33', vip_subnet_id: SUBNET_A }), noop)),
    ).toBeDefined();
  });

  it("replaces a sender's own route domain", () => {
    const sent = lb({ vip_address: '10.0.0.10', vip_subnet_id: SUBNET_A, vip_route_domain: 3 });
    expect(spec(checkNetworks(sent, overlappingCatalog))?.vip_route_domain).toBe(2);
    const noNetworks = spec(checkNetworks(sent, { networks: [] }));
    expect(noNetworks?.vip_route_domain).toBeUndefined();
    const unnamed = lb({ vip_address: '10.0.0.10', vip_route_domain: 3 });
    delete (unnamed.object as { vip_subnet_id?: string }).vip_subnet_id;
    expect(spec(checkNetworks(unnamed, overlappingCatalog))?.vip_route_domain).toBeUndefined();
  });

  it('refuses an unknown subnet or network, an address outside its subnet, a self IP, with the reason', () => {
    const unknownSubnet = uuid();
    expect(
      reason(
        checkNetworks(lb({ vip_address: '10.0.0.10', vip_subnet_id: unknownSubnet }), overlappingCatalog),
      ),
    ).toEqual({
      category: 'not-found',
      reason: `vip_subnet_id ${unknownSubnet} is not a subnet of this environment`,
    });
    const unknownNetwork = uuid();
    expect(
      reason(
        checkNetworks(
          lb({ vip_address: '10.0.0.10', vip_network_id: unknownNetwork, vip_subnet_id: undefined }),
          overlappingCatalog,
        ),
      )?.reason,
    ).toBe(`vip_network_id ${unknownNetwork} is not a network of this environment`);
    expect(
      reason(checkNetworks(lb({ vip_address: '10.0.1.10', vip_subnet_id: SUBNET_A }), overlappingCatalog)),
    ).toEqual({
      category: 'invalid-message',
      reason: `VIP address 10.0.1.10 is not in subnet ${SUBNET_A} (10.0.0.0/24)`,
    });
    expect(
      reason(
        checkNetworks(
          lb({ vip_address: '10.0.0.10', vip_subnet_id: SUBNET_A, vip_network_id: NET_B }),
          overlappingCatalog,
        ),
      )?.reason,
    ).toBe(`subnet ${SUBNET_A} is not in network ${NET_B}`);
    expect(
      reason(checkNetworks(lb({ vip_address: '10.0.0.250', vip_subnet_id: SUBNET_A }), overlappingCatalog))
        ?.reason,
    ).toBe(`VIP address 10.0.0.250 is a self IP or SNAT address of network ${NET_A}`);
    const ids = lbIds();
    const outside = parsed(requests.createMember(ids, uuid(), { address: '10.9.0.5', subnet_id: SUBNET_B }));
    expect(reason(checkNetworks(outside, overlappingCatalog))?.reason).toMatch(
      `address 10.9.0.5 is not in subnet ${SUBNET_B} (10.0.0.0/24)`,
    );
    const onSnat = parsed(requests.createMember(ids, uuid(), { address: '10.0.0.241', subnet_id: SUBNET_B }));
    expect(reason(checkNetworks(onSnat, overlappingCatalog))?.reason).toMatch(
      /10\.0\.0\.241 is a self IP or SNAT address/,
    );
    const unknownMemberSubnet = parsed(
      requests.createMember(ids, uuid(), { address: '10.0.0.5', subnet_id: unknownSubnet }),
    );
    expect(reason(checkNetworks(unknownMemberSubnet, overlappingCatalog))?.category).toBe('not-found');
    const fine = parsed(requests.createMember(ids, uuid(), { address: '10.0.0.5', subnet_id: SUBNET_B }));
    expect(checkNetworks(fine, overlappingCatalog)).toEqual({ request: fine });
  });

  it("takes a member on a no-op network's subnet at any address (the conformance run's stand-in subnets)", () => {
    const member = parsed(
      requests.createMember(lbIds(), uuid(), { address: '192.0.2.77', subnet_id: uuid() }),
    );
    expect(checkNetworks(member, { networks: [], noopCidr: '198.51.100.0/24' })).toEqual({ request: member });
  });

  it('checks nothing in an environment without networks (every address in route domain 0)', () => {
    const any = lb({ vip_address: '10.0.0.10', vip_subnet_id: uuid() });
    expect('request' in checkNetworks(any, { networks: [] })).toBe(true);
  });

  it('claims a VIP per route domain: the same address on two networks is two claims, route domain 0 keeps its key', () => {
    const claimOf = (object: Record<string, unknown>) => {
      const checked = checkNetworks(lb(object), overlappingCatalog);
      if (!('request' in checked)) throw new Error('refused');
      return requestClaims(checked.request as LbaasRequest, 'E').find((c) => c.key.startsWith('vip#'))?.key;
    };
    const a = claimOf({ vip_address: '10.0.0.10', vip_subnet_id: SUBNET_A });
    const b = claimOf({ vip_address: '10.0.0.10', vip_subnet_id: SUBNET_B });
    expect(a).toBe('vip#E#10.0.0.10%2');
    expect(b).toBe('vip#E#10.0.0.10%3');
    expect(claimOf({ vip_address: '192.0.2.9', vip_subnet_id: SUBNET_FLAT })).toBe('vip#E#192.0.2.9');
    // What a delete releases is computed from the record alone, the same key.
    const stored = { vip_address: '10.0.0.10', vip_route_domain: 2 };
    expect(
      claimsOf('E', { type: 'loadbalancer', id: 'x', loadbalancerId: 'x', desired: stored })[0]?.key,
    ).toBe(a);
    expect(overlappingNetworks.map(routeDomainOf)).toEqual([2, 3, 0]);
  });
});
