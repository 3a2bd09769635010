import { describe, expect, it } from 'vitest';
import { partitionName } from '../../functions/domain/bigip-names.js';
import type { LocalGroup } from '../../local/local-stack.js';
import { cliAgainstLocalStack } from '../support/cli-runner.js';
import { type LbIds, lbIds, requests, uniqueVip } from '../support/factories.js';
import { eventually } from '../support/local-stack-fixture.js';

// Two groups (east, west), an HA pair and two agents each, at most 5 load balancers per group.
const cli = cliAgainstLocalStack('lbaas-groups-', {
  configPath: 'local/two-groups.config.json',
  healthIntervalMs: 2 ** 30,
});
const { lbaas } = cli;

const group = (name: string) => cli.stack.groups.find((g) => g.name === name) as LocalGroup;
const partitionsOn = (g: LocalGroup) => g.pair?.active.partitions() ?? [];

/** A load balancer with a listener, a pool and two members; waits until all of it is ACTIVE. */
async function build(ids: LbIds) {
  const listener = requests.createListener(ids, { protocol_port: 80 });
  const pool = requests.createPool(ids, { listener_id: listener.object.id, lb_algorithm: 'ROUND_ROBIN' });
  const poolId = pool.object.id as string;
  const members = [1, 2].map((i) =>
    requests.createMember(ids, poolId, { address: `10.9.0.${i}`, protocol_port: 8080 }),
  );
  const sent = await cli.stack.client.submitMany([
    requests.createLoadbalancer(ids, { vip_address: uniqueVip() }),
    listener,
    pool,
    ...members,
  ]);
  const { records } = await cli.stack.client.wait(ids.loadbalancerId, { timeoutMs: 30_000, requests: sent });
  return { records, members };
}

async function groupOf(loadbalancerId: string) {
  return (await cli.stack.client.operations.hostingAgent(loadbalancerId))?.binding;
}

describe('two device groups on the local cli.stack (two HA pairs, two agents each)', () => {
  it('places tenants by capacity, keeps each on its group’s devices, fails over inside the group, and refuses when full', async () => {
    // Tenants one after another: each goes to the group with the lowest score (load balancers / 5).
    const tenants = [1, 2, 3, 4].map(() => lbIds());
    for (const ids of tenants) {
      const { records } = await build(ids);
      expect(records.map((r) => r.provisioningStatus)).toEqual(Array(5).fill('ACTIVE'));
    }
    const placed = await Promise.all(tenants.map((t) => groupOf(t.loadbalancerId)));
    expect(placed.filter((b) => b?.group === 'east')).toHaveLength(2);
    expect(placed.filter((b) => b?.group === 'west')).toHaveLength(2);
    // Each tenant's partition is on its group's pair (both units), and nowhere else.
    for (const [i, ids] of tenants.entries()) {
      const mine = group(placed[i]?.group as string);
      const other = group(placed[i]?.group === 'east' ? 'west' : 'east');
      expect(partitionsOn(mine)).toContain(partitionName('Project', ids.tenantId));
      expect(mine.pair?.standby.partitions()).toContain(partitionName('Project', ids.tenantId));
      expect(partitionsOn(other)).not.toContain(partitionName('Project', ids.tenantId));
      expect(mine.hosts).toContain(placed[i]?.host);
    }
    // A tenant's second load balancer joins it on its group.
    const sibling = lbIds({ tenantId: tenants[0]?.tenantId as string });
    await build(sibling);
    expect((await groupOf(sibling.loadbalancerId))?.group).toBe(placed[0]?.group);

    // An agent of each group dies: each group's other agent serves its load balancers, never the other group's.
    const stopped = ['east', 'west'].map((g) => placed.find((b) => b?.group === g)?.host as string);
    for (const host of stopped) await cli.stack.agent(host).stop();
    await eventually(async () => {
      const agents = await cli.stack.client.operations.agents(cli.stack.env);
      return stopped.every((h) => !agents.find((a) => a.host === h)?.alive);
    }, 'the two agents to be declared dead');
    for (const [i, ids] of tenants.entries()) {
      const update = requests.update('loadbalancer', ids, {
        id: ids.loadbalancerId,
        description: 'after failover',
      });
      const sent = await cli.stack.client.submit(update);
      const { records } = await cli.stack.client.wait(ids.loadbalancerId, {
        timeoutMs: 30_000,
        requests: [sent],
      });
      expect(records.every((r) => r.provisioningStatus === 'ACTIVE')).toBe(true);
      const decision = cli.stack.recent.find((r) => r.requestId === update.requestId);
      expect(group(placed[i]?.group as string).hosts).toContain(decision?.host);
      expect(stopped).not.toContain(decision?.host);
    }

    // The status poller counts each group's usage; `lbaas groups` shows it against the limits.
    await cli.stack.pollHealth();
    const listed = await lbaas('groups', '--json');
    expect(listed.code).toBe(0);
    const groups = JSON.parse(listed.stdout) as Awaited<ReturnType<typeof cli.stack.client.groups>>;
    const east = groups.find((g) => g.name === 'east');
    const eastLbs = placed.filter((b) => b?.group === 'east').length + (placed[0]?.group === 'east' ? 1 : 0);
    expect(east).toMatchObject({
      enabled: true,
      agentsAlive: 1,
      devices: ['east-a', 'east-b'],
      usage: { loadBalancers: eastLbs, listeners: eastLbs, members: 2 * eastLbs },
      score: eastLbs / 5,
    });
    const table = await lbaas('groups');
    expect(table.stdout).toMatch(/^GROUP\s+STATE\s+SCORE\s+AGENTS ALIVE\s+DEVICES\s+USAGE/);
    expect(table.stdout).toMatch(
      new RegExp(
        `east\\s+enabled\\s+${(eastLbs / 5).toFixed(2)}\\s+1/2 \\(east-1 east-2\\)\\s+east-a east-b\\s+loadBalancers ${eastLbs}/5`,
      ),
    );
    // Each group's reconciler finds its own devices in line with its own load balancers.
    const sync = await lbaas('sync', '--dry-run', '--json');
    expect(sync.code).toBe(0);
    const reports = JSON.parse(sync.stdout) as { group: string; report: { loadbalancers: unknown[] } }[];
    expect(reports.map((r) => [r.group, r.report.loadbalancers.length])).toEqual([
      ['east', eastLbs],
      ['west', 5 - eastLbs],
    ]);

    // West closed to new tenants: the next new tenant goes east, even though east is fuller.
    expect((await lbaas('group-disable', 'west')).stdout).toMatch(/device group west disabled/);
    expect((await lbaas('group-disable', 'north')).stderr).toMatch(
      /no device group north in environment Project \(groups: east, west\)/,
    );
    const newcomer = lbIds();
    await build(newcomer);
    expect((await groupOf(newcomer.loadbalancerId))?.group).toBe('east');
    // Fill east to its limit of five; the next load balancer of an east tenant is refused, not split.
    const eastTenant = newcomer.tenantId;
    for (let n = eastLbs + 1; n < 5; n++) await build(lbIds({ tenantId: eastTenant }));
    const refused = lbIds({ tenantId: eastTenant });
    const sent = await cli.stack.client.submit(
      requests.createLoadbalancer(refused, { vip_address: uniqueVip() }),
    );
    const { records } = await cli.stack.client.wait(refused.loadbalancerId, {
      timeoutMs: 30_000,
      requests: [sent],
    });
    expect(records[0]).toMatchObject({
      provisioningStatus: 'ERROR',
      statusReason: expect.stringContaining(
        'device group east of environment Project is at capacity (loadBalancers 5 of 5)',
      ),
    });
    expect(await groupOf(refused.loadbalancerId)).toBeUndefined();
    // No group takes a new tenant now (east full, west disabled).
    const nobody = lbIds();
    const sentNobody = await cli.stack.client.submit(
      requests.createLoadbalancer(nobody, { vip_address: uniqueVip() }),
    );
    const done = await cli.stack.client.wait(nobody.loadbalancerId, {
      timeoutMs: 30_000,
      requests: [sentNobody],
    });
    expect(done.records[0]?.statusReason).toContain('environment Project is at capacity');
    // West open again: new tenants land there.
    expect((await lbaas('group-enable', 'west')).code).toBe(0);
    const later = lbIds();
    await build(later);
    expect((await groupOf(later.loadbalancerId))?.group).toBe('west');
  }, 240_000);
});
