import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LOCAL_PROJECT, type LocalStack } from '../../local/local-stack.js';
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
 * its load-balancer proxy builds a whole tree one object at a time against the local stack's
 * Octavia API, waits with its own `wait_for_load_balancer` after each step, reads every object
 * back, lists, and deletes the tree with `cascade=True` until the load balancer is gone.
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

    it('creates a tree object by object, waits for each, reads it back and cascade-deletes it', async () => {
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
        [kind in 'loadbalancer' | 'listener' | 'pool' | 'member' | 'monitor' | 'policy' | 'rule']: Shown;
      } & { members: string[]; listed: string[]; gone: boolean; subnet_id: string };
      const active = { provisioning_status: 'ACTIVE', project_id: DEFAULT_LOCAL_PROJECT };

      // The SDK names some fields its own way (is_admin_state_up, rule_value): those are its mapping.
      expect(read.loadbalancer).toMatchObject({
        ...active,
        name: spec.loadbalancer.name,
        description: spec.loadbalancer.description,
        vip_subnet_id: read.subnet_id,
        is_admin_state_up: true,
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
    }, 300_000);
  },
);
