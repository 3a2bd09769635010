import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/free-port.js';
import type { LocalStack } from '../../local/local-stack.js';
import { type LbIds, lbIds, requests } from '../support/factories.js';
import { backend, curl } from '../support/http-backends.js';
import { eventually, testStack } from '../support/local-stack-fixture.js';

/**
 * Issue 32's sandbox case (docs/tenant-networks.md, "The sandbox"): two projects on two networks
 * that both use 10.0.0.0/24 (VLANs 2 and 3, so route domains 2 and 3), each with member
 * 10.0.0.5:<port> behind VIP 10.0.0.10. The sandbox serves route domain N's addresses on
 * 127.N.0.0/16, so the two members are two servers (127.2.0.5 and 127.3.0.5) and the VIPs are
 * reached at 127.2.0.10 and 127.3.0.10.
 */
const SUBNET_A = '0a0a0a0a-0000-4000-8000-0000000000a1';
const SUBNET_B = '0b0b0b0b-0000-4000-8000-0000000000b1';

let stack: LocalStack;
const stops: (() => Promise<void>)[] = [];
beforeAll(async () => {
  stack = await testStack({ healthIntervalMs: 500, configPath: 'local/two-networks.config.json' });
});
afterAll(async () => {
  for (const s of stops) await s().catch(() => undefined);
  await stack?.stop();
});

async function deploy(ids: LbIds, messages: Parameters<LocalStack['client']['submitMany']>[0]) {
  const submitted = await stack.client.submitMany(messages);
  await stack.client.wait(ids.loadbalancerId, { requests: submitted, timeoutMs: 30_000 });
}

describe('two tenants, one address, two networks, in the sandbox', () => {
  it('answers each VIP only from its own network’s backend, and a stopped backend changes only its own load balancer’s health', async () => {
    const memberPort = await freePort();
    const listenerPort = await freePort();
    const a = await backend('tenant-a', 200, { host: '127.2.0.5', port: memberPort });
    const b = await backend('tenant-b', 200, { host: '127.3.0.5', port: memberPort });
    stops.push(a.stop, b.stop);
    const tenants = [
      { ids: lbIds(), subnet: SUBNET_A, vip: '127.2.0.10' },
      { ids: lbIds(), subnet: SUBNET_B, vip: '127.3.0.10' },
    ];
    const members: string[] = [];
    for (const t of tenants) {
      const pool = requests.createPool(t.ids, { lb_algorithm: 'ROUND_ROBIN' });
      const poolId = pool.object.id as string;
      const member = requests.createMember(t.ids, poolId, {
        address: '10.0.0.5',
        protocol_port: memberPort,
        subnet_id: t.subnet,
      });
      members.push(member.object.id as string);
      await deploy(t.ids, [
        requests.createLoadbalancer(t.ids, { vip_address: '10.0.0.10', vip_subnet_id: t.subnet }),
        pool,
        requests.createListener(t.ids, {
          protocol: 'HTTP',
          protocol_port: listenerPort,
          default_pool_id: poolId,
        }),
        member,
        requests.createHealthMonitor(t.ids, poolId, {
          type: 'HTTP',
          delay: 1,
          timeout: 1,
          max_retries: 1,
          url_path: '/',
          expected_codes: '200',
        }),
      ]);
    }
    const memberStatus = async (i: number) =>
      (await stack.client.records((tenants[i] as (typeof tenants)[number]).ids.loadbalancerId)).find(
        (r) => r.id === members[i],
      )?.operatingStatus;
    await eventually(
      async () => (await memberStatus(0)) === 'ONLINE' && (await memberStatus(1)) === 'ONLINE',
      'both members ONLINE',
    );
    for (let i = 0; i < 3; i++) {
      expect(await curl('127.2.0.10', listenerPort)).toBe('tenant-a');
      expect(await curl('127.3.0.10', listenerPort)).toBe('tenant-b');
    }

    await a.stop();
    await eventually(async () => (await memberStatus(0)) === 'ERROR', 'tenant A’s member ERROR', 30_000);
    expect(await memberStatus(1)).toBe('ONLINE');
    const [treeA, treeB] = await Promise.all(tenants.map((t) => stack.client.status(t.ids.loadbalancerId)));
    expect(treeA?.operatingStatus).toBe('ERROR');
    expect(treeB?.operatingStatus).toBe('ONLINE');
    for (let i = 0; i < 3; i++) expect(await curl('127.3.0.10', listenerPort)).toBe('tenant-b');
    // Tenant A's VIP has no member to go to: reset, never tenant B's server.
    expect(await curl('127.2.0.10', listenerPort)).not.toBe('tenant-b');
  }, 120_000);
});
