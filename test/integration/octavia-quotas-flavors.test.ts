import { afterEach, describe, expect, it } from 'vitest';
import { apiHarness, randomProject, TEST_SUBNET } from '../support/api-harness.js';

/**
 * Quotas, flavors and availability zones through the Octavia API over HTTP, on DynamoDB Local and
 * fauxqs with the scheduler's real placement: concurrent creates at a quota (exactly the limit
 * gets through), and a flavor's and a zone's device groups deciding where a load balancer is bound.
 */

type Harness = Awaited<ReturnType<typeof apiHarness>>;
let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const lb = (project: string, extra: Record<string, unknown> = {}) => ({
  loadbalancer: { vip_subnet_id: TEST_SUBNET, project_id: project, ...extra },
});

describe('Octavia quotas on DynamoDB Local', () => {
  it('lets exactly the quota through when creates race, and answers the rest with Octavia’s 403', async () => {
    h = await apiHarness({ quotas: { load_balancer: 2 } });
    const project = randomProject();
    const results = await Promise.all(
      Array.from({ length: 6 }, () => h!.call('POST', '/v2.0/lbaas/loadbalancers', lb(project))),
    );
    const codes = results.map((r) => r.status).sort();
    expect(codes).toEqual([201, 201, 403, 403, 403, 403]);
    for (const r of results.filter((r) => r.status === 403))
      expect(r.body.faultstring).toBe('Quota has been met for resources: Load Balancer');
    const listed = await h.call('GET', `/v2.0/lbaas/loadbalancers?project_id=${project}`);
    expect((listed.body.loadbalancers as unknown[]).length).toBe(2);
    // Only the two created were queued; a project's own quota overrides the default.
    expect((await h.queued()).length).toBe(2);
    expect(
      (await h.call('PUT', `/v2.0/lbaas/quotas/${project}`, { quota: { load_balancer: 3 } })).status,
    ).toBe(202);
    expect((await h.call('POST', '/v2.0/lbaas/loadbalancers', lb(project))).status).toBe(201);
    expect((await h.call('POST', '/v2.0/lbaas/loadbalancers', lb(project))).status).toBe(403);
    // Another project has its own count.
    expect((await h.call('POST', '/v2.0/lbaas/loadbalancers', lb(randomProject()))).status).toBe(201);
  });
});

describe('Octavia flavors and availability zones on DynamoDB Local', () => {
  it('binds a load balancer in the group its flavor names, and in its zone’s groups', async () => {
    h = await apiHarness({
      hosts: ['a1', 'b1', 'c1'],
      groups: [
        { name: 'east', hosts: ['a1'], units: 2 },
        { name: 'west', hosts: ['b1'], units: 2 },
        { name: 'solo', hosts: ['c1'], units: 1 },
      ],
    });
    const post = async (path: string, body: unknown) => {
      const res = await h!.call('POST', `/v2.0/lbaas/${path}`, body);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body;
    };
    const fp = (await post('flavorprofiles', {
      flavorprofile: { name: 'west', provider_name: 'bigip', flavor_data: '{"device_group": "west"}' },
    })) as { flavorprofile: { id: string } };
    const flavor = (await post('flavors', {
      flavor: { name: 'west', flavor_profile_id: fp.flavorprofile.id },
    })) as {
      flavor: { id: string };
    };
    const azp = (await post('availabilityzoneprofiles', {
      availability_zone_profile: {
        name: 'single',
        provider_name: 'bigip',
        availability_zone_data: '{"device_groups": ["solo"]}',
      },
    })) as { availability_zone_profile: { id: string } };
    await post('availabilityzones', {
      availability_zone: { name: 'zone-1', availability_zone_profile_id: azp.availability_zone_profile.id },
    });

    for (let i = 0; i < 4; i++) {
      const created = (await post('loadbalancers', lb(randomProject(), { flavor_id: flavor.flavor.id }))) as {
        loadbalancer: { id: string; flavor_id: string };
      };
      expect(created.loadbalancer.flavor_id).toBe(flavor.flavor.id);
      expect((await h.bindings.getBinding(created.loadbalancer.id))?.group).toBe('west');
    }
    for (let i = 0; i < 4; i++) {
      const created = (await post('loadbalancers', lb(randomProject(), { availability_zone: 'zone-1' }))) as {
        loadbalancer: { id: string; availability_zone: string };
      };
      expect(created.loadbalancer.availability_zone).toBe('zone-1');
      expect((await h.bindings.getBinding(created.loadbalancer.id))?.group).toBe('solo');
    }
    // A project living in west cannot be given a load balancer in zone-1 (solo): 409, nothing bound.
    const project = randomProject();
    await post('loadbalancers', lb(project, { flavor_id: flavor.flavor.id }));
    const refused = await h.call(
      'POST',
      '/v2.0/lbaas/loadbalancers',
      lb(project, { availability_zone: 'zone-1' }),
    );
    expect(refused.status).toBe(409);
    expect(refused.body.faultstring).toMatch(/device group west/);
  });
});
