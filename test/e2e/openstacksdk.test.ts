import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/local-stack.js';
import { testStack } from '../support/local-stack-fixture.js';

const run = promisify(execFile);
// Debian's openstacksdk lives in the system interpreter (a pyenv python3 on PATH lacks it).
const PYTHON = '/usr/bin/python3';
const SCRIPT = join(import.meta.dirname, 'clients', 'openstacksdk-tree.py');

async function sdkMissing(): Promise<string | undefined> {
  try {
    await run(PYTHON, ['-c', 'import openstack.load_balancer.v2._proxy']);
    return undefined;
  } catch {
    return 'openstacksdk is not installed (apt-get install python3-openstacksdk)';
  }
}
const missing = await sdkMissing();

/** What the test asks for; every expectation below is read from here, not from our API's code. */
const spec = {
  subnet: 'public-subnet',
  // A project of its own, so its quota is this test's.
  project: randomUUID().replaceAll('-', ''),
  // The SDK's names of Octavia's quota fields (load_balancer, listener, …).
  quota: { load_balancers: 1, listeners: 3, pools: 4, health_monitors: 5, members: 6 },
  // The sample configuration's one device group (`default`) is an HA pair.
  flavor_profile: {
    name: 'sdk-pair',
    provider_name: 'bigip',
    flavor_data: JSON.stringify({ device_group: 'default', loadbalancer_topology: 'ACTIVE_STANDBY' }),
  },
  flavor: { name: 'sdk-flavor', description: 'an HA pair', is_enabled: true },
  zone_profile: {
    name: 'sdk-zone-profile',
    provider_name: 'bigip',
    availability_zone_data: JSON.stringify({ device_groups: ['default'] }),
  },
  zone: { name: 'sdk-zone', description: 'the default group', is_enabled: true },
  loadbalancer: { name: 'sdk-web', description: 'built by openstacksdk', tags: ['sdk', 'e2e'] },
  listener: { name: 'sdk-http', protocol: 'HTTP', protocol_port: 8081, connection_limit: 500 },
  pool: { name: 'sdk-pool', protocol: 'HTTP', lb_algorithm: 'LEAST_CONNECTIONS' },
  member: { name: 'sdk-m1', address: '10.0.0.7', protocol_port: 8080, weight: 3 },
  monitor: { name: 'sdk-hm', type: 'HTTP', delay: 5, timeout: 3, max_retries: 2, url_path: '/health' },
  policy: { name: 'sdk-reject', action: 'REJECT', position: 1 },
  rule: { type: 'PATH', compare_type: 'STARTS_WITH', value: '/admin' },
};

/**
 * openstacksdk, the library Ansible's openstack.cloud collection and many operators' scripts use:
 * its load-balancer proxy sets a project's quota, creates a flavor and an availability zone with
 * their profiles, then builds a whole tree with them one object at a time against the local
 * stack's Octavia API, waits with its own `wait_for_load_balancer` after each step, reads every
 * object back, lists, deletes the tree with `cascade=True` until the load balancer is gone, then
 * deletes the zone, the flavor and their profiles and resets the quota.
 */
describe.skipIf(missing !== undefined)(
  `openstacksdk against the local stack${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    let stack: LocalStack;

    beforeAll(async () => {
      stack = await testStack({ api: {} });
    }, 120_000);
    afterAll(async () => {
      await stack?.stop();
    });

    it('sets a quota, creates a flavor and a zone, a tree with them object by object, waits for each, reads it back and deletes it all', async () => {
      let out: string;
      try {
        ({ stdout: out } = await run(PYTHON, [SCRIPT, stack.api?.url as string, JSON.stringify(spec)], {
          timeout: 240_000,
        }));
      } catch (error) {
        const e = error as { stderr?: string };
        throw new Error(`openstacksdk script failed: ${e.stderr ?? String(error)}`);
      }
      type Shown = Record<string, unknown>;
      const read = JSON.parse(out) as {
        [kind in
          | 'loadbalancer'
          | 'listener'
          | 'pool'
          | 'member'
          | 'monitor'
          | 'policy'
          | 'rule'
          | 'quota'
          | 'flavor_profile'
          | 'flavor'
          | 'zone_profile'
          | 'zone'
          | 'quota_after_delete'
          | 'quota_defaults']: Shown;
      } & {
        members: string[];
        listed: string[];
        flavors: string[];
        zones: string[];
        gone: boolean;
        subnet_id: string;
        settings_left: Record<string, boolean>;
      };
      const active = { provisioning_status: 'ACTIVE', project_id: spec.project };

      // The quota as set; the flavor and zone with their profiles as created, found by name.
      // Octavia's quota show carries no project_id (only its list does).
      expect(read.quota).toMatchObject(spec.quota);
      expect(read.flavor_profile).toMatchObject(spec.flavor_profile);
      expect(read.flavor).toMatchObject({ ...spec.flavor, flavor_profile_id: read.flavor_profile.id });
      expect(read.flavors).toEqual([read.flavor.id]);
      expect(read.zone_profile).toMatchObject(spec.zone_profile);
      expect(read.zone).toMatchObject({ ...spec.zone, availability_zone_profile_id: read.zone_profile.id });
      expect(read.zones).toEqual([spec.zone.name]);

      // The SDK names some fields its own way (is_admin_state_up, rule_value): those are its mapping.
      expect(read.loadbalancer).toMatchObject({
        ...active,
        name: spec.loadbalancer.name,
        description: spec.loadbalancer.description,
        vip_subnet_id: read.subnet_id,
        is_admin_state_up: true,
        flavor_id: read.flavor.id,
        availability_zone: spec.zone.name,
      });
      expect([...(read.loadbalancer.tags as string[])].sort()).toEqual([...spec.loadbalancer.tags].sort());
      expect(read.loadbalancer.vip_address).toMatch(/^10\.0\.0\./);
      const lbId = read.loadbalancer.id;
      expect(read.listed).toEqual([lbId]);

      expect(read.listener).toMatchObject({ ...active, ...spec.listener, load_balancers: [{ id: lbId }] });
      expect(read.pool).toMatchObject({
        ...active,
        ...spec.pool,
        listeners: [{ id: read.listener.id }],
        health_monitor_id: read.monitor.id,
        members: [{ id: read.member.id }],
      });
      expect(read.listener.default_pool_id).toBe(read.pool.id);
      expect(read.member).toMatchObject({ ...active, ...spec.member, subnet_id: read.subnet_id });
      expect(read.members).toEqual([read.member.id]);
      expect(read.monitor).toMatchObject({ ...active, ...spec.monitor, pools: [{ id: read.pool.id }] });
      expect(read.policy).toMatchObject({
        ...active,
        ...spec.policy,
        listener_id: read.listener.id,
        rules: [{ id: read.rule.id }],
      });
      expect(read.rule).toMatchObject({
        ...active,
        type: spec.rule.type,
        compare_type: spec.rule.compare_type,
        rule_value: spec.rule.value,
        invert: false,
      });
      expect(read.gone).toBe(true);
      // Nothing left of the zone, the flavor and their profiles; the quota back to the defaults,
      // which the sample configuration leaves unlimited (-1, as Octavia's).
      expect(read.settings_left).toEqual({
        zone: false,
        zone_profile: false,
        flavor: false,
        flavor_profile: false,
      });
      const unlimited = Object.fromEntries(Object.keys(spec.quota).map((k) => [k, -1]));
      expect(read.quota_defaults).toMatchObject(unlimited);
      expect(read.quota_after_delete).toMatchObject(unlimited);
    }, 300_000);
  },
);
