import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LOCAL_PROJECT, type LocalStack } from '../../local/local-stack.js';
import { testStack } from '../support/local-stack-fixture.js';

const run = promisify(execFile);
const OPENSTACK = '/usr/bin/openstack';
const missing = existsSync(OPENSTACK)
  ? undefined
  : 'the openstack client is not installed (apt-get install python3-openstackclient python3-octaviaclient)';

/**
 * The real client: Debian's `openstack loadbalancer` (python3-octaviaclient) drives the local
 * stack through the Octavia API with no identity service, as the README's tour does: the VIP
 * subnet named as configured (the client resolves it through `GET /v2.0/subnets`), no
 * `--project` (the stack's default project), `--wait` on every write.
 */
describe.skipIf(missing !== undefined)(
  `openstack loadbalancer against the local stack${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    let stack: LocalStack;
    let env: NodeJS.ProcessEnv;
    const os = async (...args: string[]) => {
      try {
        const out = await run(OPENSTACK, args, { env, timeout: 120_000 });
        return out.stdout;
      } catch (error) {
        const e = error as { stderr?: string; stdout?: string };
        throw new Error(`openstack ${args.join(' ')} failed: ${e.stderr ?? ''}${e.stdout ?? ''}`);
      }
    };
    const json = async (...args: string[]) =>
      JSON.parse(await os(...args, '-f', 'json')) as Record<string, unknown>;

    beforeAll(async () => {
      stack = await testStack({ api: {} });
      env = { ...process.env, OS_AUTH_TYPE: 'none', OS_ENDPOINT: stack.api?.url as string };
    }, 120_000);
    afterAll(async () => {
      await stack?.stop();
    });

    // The client's quota commands resolve the project through Keystone, which this no-auth tour
    // does not have: quotas are checked over HTTP (test/integration/octavia-quotas-flavors.test.ts).
    it('creates a flavor profile and flavor on the device group, and a load balancer with it', async () => {
      const profile = await json(
        'loadbalancer',
        'flavorprofile',
        'create',
        '--name',
        'on-default',
        '--provider',
        'bigip',
        '--flavor-data',
        '{"device_group": "default"}',
      );
      const flavor = await json(
        'loadbalancer',
        'flavor',
        'create',
        '--name',
        'standard',
        '--flavorprofile',
        String(profile.id),
        '--enable',
      );
      const lb = await json(
        'loadbalancer',
        'create',
        '--vip-subnet-id',
        'public-subnet',
        '--name',
        'flavored',
        '--flavor',
        'standard',
        '--wait',
      );
      expect(lb).toMatchObject({ flavor_id: flavor.id, provisioning_status: 'ACTIVE' });
      await os('loadbalancer', 'delete', 'flavored', '--wait');
      await os('loadbalancer', 'flavor', 'delete', 'standard');
      await os('loadbalancer', 'flavorprofile', 'delete', 'on-default');
    }, 300_000);

    it('runs the tour: create, list, show, set, status, stats, weight 0, delete of each, cascade delete', async () => {
      const lb = await json(
        'loadbalancer',
        'create',
        '--vip-subnet-id',
        'public-subnet',
        '--name',
        'web',
        '--wait',
      );
      expect(lb).toMatchObject({
        name: 'web',
        provisioning_status: 'ACTIVE',
        project_id: DEFAULT_LOCAL_PROJECT,
      });
      expect(lb.vip_address).toMatch(/^10\.0\.0\./);
      expect(await json('loadbalancer', 'show', 'web')).toMatchObject({
        id: lb.id,
        vip_subnet_id: lb.vip_subnet_id,
      });
      expect(await os('loadbalancer', 'list', '-f', 'value', '-c', 'name')).toMatch(/^web$/m);

      const listener = await json(
        'loadbalancer',
        'listener',
        'create',
        '--protocol',
        'HTTP',
        '--protocol-port',
        '80',
        '--name',
        'web-http',
        'web',
        '--wait',
      );
      expect(listener).toMatchObject({ protocol: 'HTTP', protocol_port: 80, provisioning_status: 'ACTIVE' });
      const pool = await json(
        'loadbalancer',
        'pool',
        'create',
        '--lb-algorithm',
        'ROUND_ROBIN',
        '--protocol',
        'HTTP',
        '--listener',
        'web-http',
        '--name',
        'web-pool',
        '--wait',
      );
      expect(pool).toMatchObject({ lb_algorithm: 'ROUND_ROBIN', provisioning_status: 'ACTIVE' });
      expect(await json('loadbalancer', 'listener', 'show', 'web-http')).toMatchObject({
        default_pool_id: pool.id,
      });
      await json(
        'loadbalancer',
        'member',
        'create',
        '--address',
        '10.0.0.5',
        '--protocol-port',
        '8080',
        '--subnet-id',
        'public-subnet',
        '--name',
        'm1',
        'web-pool',
        '--wait',
      );
      const m2 = await json(
        'loadbalancer',
        'member',
        'create',
        '--address',
        '10.0.1.6',
        '--protocol-port',
        '8080',
        '--weight',
        '0',
        '--name',
        'm2',
        'web-pool',
        '--wait',
      );
      expect(m2).toMatchObject({ weight: 0, provisioning_status: 'ACTIVE' });
      const hm = await json(
        'loadbalancer',
        'healthmonitor',
        'create',
        '--delay',
        '5',
        '--timeout',
        '3',
        '--max-retries',
        '3',
        '--type',
        'HTTP',
        '--name',
        'web-hm',
        'web-pool',
        '--wait',
      );
      expect(hm).toMatchObject({ type: 'HTTP', provisioning_status: 'ACTIVE' });
      expect(await os('loadbalancer', 'member', 'list', 'web-pool', '-f', 'value', '-c', 'name')).toMatch(
        /m1\nm2/,
      );

      // set on every resource, each visible in show
      await os('loadbalancer', 'set', '--description', 'tour', 'web', '--wait');
      await os('loadbalancer', 'listener', 'set', '--connection-limit', '100', 'web-http', '--wait');
      await os('loadbalancer', 'pool', 'set', '--lb-algorithm', 'LEAST_CONNECTIONS', 'web-pool', '--wait');
      await os('loadbalancer', 'member', 'set', '--weight', '5', 'web-pool', 'm1', '--wait');
      await os('loadbalancer', 'healthmonitor', 'set', '--delay', '10', 'web-hm', '--wait');
      expect(await json('loadbalancer', 'show', 'web')).toMatchObject({
        description: 'tour',
        provisioning_status: 'ACTIVE',
      });
      expect(await json('loadbalancer', 'listener', 'show', 'web-http')).toMatchObject({
        connection_limit: 100,
      });
      expect(await json('loadbalancer', 'pool', 'show', 'web-pool')).toMatchObject({
        lb_algorithm: 'LEAST_CONNECTIONS',
      });
      expect(await json('loadbalancer', 'member', 'show', 'web-pool', 'm1')).toMatchObject({ weight: 5 });
      expect(await json('loadbalancer', 'healthmonitor', 'show', 'web-hm')).toMatchObject({ delay: 10 });

      const status = JSON.parse(await os('loadbalancer', 'status', 'show', 'web')) as {
        loadbalancer: {
          provisioning_status: string;
          listeners: { pools: { members: { name: string; operating_status: string }[] }[] }[];
        };
      };
      expect(status.loadbalancer.provisioning_status).toBe('ACTIVE');
      const members = status.loadbalancer.listeners[0]?.pools[0]?.members ?? [];
      expect(members.map((m) => m.name).sort()).toEqual(['m1', 'm2']);
      // Weight 0 is configuration, not measurement: DRAINING.
      expect(members.find((m) => m.name === 'm2')?.operating_status).toBe('DRAINING');
      expect(await json('loadbalancer', 'stats', 'show', 'web')).toEqual({
        active_connections: 0,
        bytes_in: 0,
        bytes_out: 0,
        request_errors: 0,
        total_connections: 0,
      });

      // delete of each child, then the rest in one cascade
      await os('loadbalancer', 'member', 'delete', 'web-pool', 'm2', '--wait');
      await os('loadbalancer', 'healthmonitor', 'delete', 'web-hm', '--wait');
      expect(await os('loadbalancer', 'member', 'list', 'web-pool', '-f', 'value', '-c', 'name')).toBe(
        'm1\n',
      );
      await os('loadbalancer', 'pool', 'delete', 'web-pool', '--wait');
      await os('loadbalancer', 'listener', 'delete', 'web-http', '--wait');
      await os(
        'loadbalancer',
        'listener',
        'create',
        '--protocol',
        'TCP',
        '--protocol-port',
        '22',
        '--name',
        'ssh',
        'web',
        '--wait',
      );
      await os('loadbalancer', 'delete', '--cascade', 'web', '--wait');
      expect(await os('loadbalancer', 'list', '-f', 'value', '-c', 'name')).toBe('');
    }, 600_000);
  },
);
