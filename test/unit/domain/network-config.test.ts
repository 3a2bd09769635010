import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rules } from '../../../functions/shared/config-rules.js';
import { parseConfig } from '../../../lib/config/lbaas-config.js';
import { overlappingNetworks } from '../../support/network-fixtures.js';

const net = (over: Record<string, unknown>, id = '11111111-1111-4111-8111-111111111111') => ({
  id,
  name: 'n',
  subnets: [{ id: id.replace(/^1/, '2'), name: 's', cidr: '10.0.0.0/24' }],
  ...over,
});
const issues = (list: unknown[]) => {
  const parsed = rules.networks.safeParse(list);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe("the configuration's networks", () => {
  it('accepts segmented networks with the same range on two VLANs, SNAT and self IPs', () => {
    expect(issues(overlappingNetworks)).toEqual([]);
    expect(issues([net({ segmentation: { existing: '/Common/tunnel-a' }, routeDomain: 40 })])).toEqual([]);
  });

  it('refuses what would make route domains or addresses ambiguous, saying where', () => {
    expect(issues([net({ segmentation: { existing: '/Common/tunnel-a' } })])).toEqual([
      '0.routeDomain: is required with an existing VLAN or tunnel (a name gives no id)',
    ]);
    expect(
      issues([
        net({ segmentation: { vlan: 7 } }),
        net({ segmentation: { vlan: 8 }, routeDomain: 7 }, '13333333-3333-4333-8333-333333333333'),
      ]),
    ).toEqual(["1.routeDomain: route domain 7 is also network 11111111-1111-4111-8111-111111111111's"]);
    expect(issues([net({ routeDomain: 5 })])).toEqual([
      '0.routeDomain: needs segmentation (an unsegmented network is route domain 0)',
    ]);
    expect(
      issues([
        net({
          segmentation: { vlan: 7 },
          selfIps: { default: { units: ['10.0.1.1'], floating: '10.0.0.9' } },
          snat: { pool: ['10.0.0.9'] },
        }),
      ]),
    ).toEqual([
      '0.selfIps.default.units.0: 10.0.1.1 is not in any subnet of the network',
      '0.snat.pool.0: 10.0.0.9 is used twice',
    ]);
    expect(issues([net({ segmentation: { vlan: 5000 } })]).join()).toMatch(/^0\.segmentation/);
    expect(issues([net({ segmentation: { existing: 'tunnel-a' } })]).join()).toMatch(/^0\.segmentation/);
  });

  it("checks a network's self IPs against the environment's device groups (one address per unit)", () => {
    const sample = JSON.parse(readFileSync(new URL('../../../lbaas.config.json', import.meta.url), 'utf8'));
    const withSelfIps = (selfIps: unknown) => {
      const raw = structuredClone(sample);
      raw.environments[0].networks = [net({ segmentation: { vlan: 7 }, selfIps })];
      return () => parseConfig(raw);
    };
    expect(
      withSelfIps({ default: { units: ['10.0.0.251', '10.0.0.252'], floating: '10.0.0.250' } }),
    ).not.toThrow();
    expect(withSelfIps({ other: { units: ['10.0.0.251', '10.0.0.252'], floating: '10.0.0.250' } })).toThrow(
      /networks\.0\.selfIps\.other: names no device group of this environment \(default\)/,
    );
    expect(withSelfIps({ default: { units: ['10.0.0.251'], floating: '10.0.0.250' } })).toThrow(
      /selfIps\.default\.units: needs one address per unit of group default \(2\)/,
    );
  });
});
