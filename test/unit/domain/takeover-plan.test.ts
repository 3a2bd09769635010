import { describe, expect, it } from 'vitest';
import type { NetworkDefinition } from '../../../functions/domain/networks.js';
import {
  assertAgentPrefix,
  type InventoryItem,
  planTakeover,
} from '../../../functions/domain/takeover-plan.js';

const NET: NetworkDefinition = {
  id: 'net-existing',
  name: 'existing',
  subnets: [{ id: 'sub-1', name: 's', cidr: '10.1.0.0/24' }],
  segmentation: { existing: '/Common/trunk-vlan' },
  routeDomain: 7,
  selfIps: { default: { units: ['10.1.0.251'], floating: '10.1.0.250' } },
};
const net = (kind: InventoryItem['kind'], name: string, attrs: Record<string, unknown>): InventoryItem => ({
  kind,
  partition: 'Common',
  name,
  attrs,
});

function plan(items: InventoryItem[]) {
  return planTakeover({
    env: 'Lbaas',
    group: 'default',
    agentPrefix: 'Project',
    catalog: { networks: [NET] },
    loadBalancers: [],
    units: [{ name: 'u0', items }],
  }).map((e) => [e.action, e.path, e.target ?? '']);
}

describe('planTakeover: network objects', () => {
  it('adopts an existing VLAN as it is and our own objects; renames the agent’s ones of a configured network; leaves the rest', () => {
    expect(
      plan([
        net('vlan', 'trunk-vlan', { tag: 40 }),
        net('route-domain', 'Lbaas_rd7', { id: 7, description: 'lbaas Lbaas network net-existing' }),
        net('self-ip', 'local-u0-sub-1', { address: '10.1.0.251%7/24' }),
        net('self-ip', 'Lbaas_float7', { address: '10.1.0.250%7/24', description: 'made by hand' }),
        net('self-ip', 'stray', { address: '10.1.0.99%7/24' }),
        net('route-domain', '0', { id: 0 }),
        net('snatpool', 'Project_t', { members: ['/Common/10.9.0.1%9'] }),
      ]),
    ).toEqual([
      ['leave', '/Common/Lbaas_float7', ''],
      ['adopt', '/Common/Lbaas_rd7', ''],
      ['rename', '/Common/local-u0-sub-1', '/Common/Lbaas_self7_0'],
      ['leave', '/Common/Project_t', ''],
      ['leave', '/Common/stray', ''],
      ['adopt', '/Common/trunk-vlan', ''],
    ]);
  });

  it('leaves what is not the agent’s partition form, and refuses a prefix that could reach a pattern', () => {
    expect(plan([{ kind: 'folder', partition: '', name: 'Project_shared', attrs: {} }])).toEqual([]);
    expect(() => assertAgentPrefix('Project')).not.toThrow();
    for (const bad of ['', '1x', 'a.b', 'P_(', 'x'.repeat(17)])
      expect(() => assertAgentPrefix(bad)).toThrow();
  });
});
