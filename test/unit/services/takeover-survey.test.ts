import { describe, expect, it } from 'vitest';
import { TakeoverSurvey } from '../../../functions/services/takeover-survey.js';
import { lbIds, requests } from '../../support/factories.js';
import { InMemoryBigIp, InMemoryCluster } from '../../support/fakes/in-memory-bigip.js';
import { InMemoryResourceStore } from '../../support/fakes/in-memory-resource-store.js';
import { overlappingCatalog, SUBNET_A } from '../../support/network-fixtures.js';
import { parsed } from '../../support/service-fixtures.js';

/**
 * The takeover's dry run over in-memory ports: our environment `Lbaas`, the agent's prefix
 * `Project`, so every object of a known load balancer is to be renamed (docs/takeover.md).
 */
async function fixture() {
  const a = new InMemoryBigIp('bigip-a');
  const b = new InMemoryBigIp('bigip-b');
  b.failoverState = 'STANDBY';
  const resources = new InMemoryResourceStore();
  const ids = lbIds();
  const pool = requests.createPool(ids);
  for (const m of [
    requests.createLoadbalancer(ids, {
      vip_address: '10.0.0.10',
      vip_subnet_id: SUBNET_A,
      vip_route_domain: 2,
    }),
    pool,
    requests.createMember(ids, pool.object.id as string, { address: '10.0.0.5', subnet_id: SUBNET_A }),
  ])
    await resources.recordRequest(parsed(m), 'Lbaas', 1);
  const agentPartition = `Project_${ids.tenantId}`;
  for (const unit of [a, b]) {
    unit.folders.add(agentPartition);
    unit.objects.set(`pool/${agentPartition}/Project_${pool.object.id}`, {
      kind: 'pool',
      partition: agentPartition,
      name: `Project_${pool.object.id}`,
      attrs: {},
    });
  }
  const survey = new TakeoverSurvey({
    env: 'Lbaas',
    group: 'default',
    cluster: new InMemoryCluster([b, a]),
    resources,
    catalog: overlappingCatalog,
    unitNames: ['bigip-a', 'bigip-b'],
  });
  return { a, b, survey, ids, pool, agentPartition };
}

describe('TakeoverSurvey', () => {
  it('reads every unit (in the group’s order) and the records, and lists what would become of each object; reads only', async () => {
    const f = await fixture();
    const report = await f.survey.dryRun('Project');
    expect(report).toMatchObject({ outcome: 'done', dryRun: true, units: ['bigip-a', 'bigip-b'] });
    if (report.outcome !== 'done') return;
    expect(report.entries.map((e) => [e.action, e.path, e.target])).toEqual([
      ['rename', `/${f.agentPartition}`, `/Lbaas_${f.ids.tenantId}`],
      [
        'rename',
        `/${f.agentPartition}/Project_${f.pool.object.id}`,
        `/Lbaas_${f.ids.tenantId}/Lbaas_${f.pool.object.id}`,
      ],
    ]);
    expect(report.counts).toEqual({ adopt: 0, rename: 2, leave: 0 });
    // Reads only: an inventory of each unit, nothing written.
    expect([...f.a.events, ...f.b.events]).toEqual(['inventory', 'inventory']);
  });

  it('reads nothing from a unit that is not ready, and refuses a prefix that is not one', async () => {
    const f = await fixture();
    await expect(f.survey.dryRun('Pro.*')).rejects.toThrow(/letters and digits/);
    f.a.ready = { ready: false, reason: 'mcpd reloading' };
    expect(await f.survey.dryRun('Project')).toEqual({
      outcome: 'skipped',
      reason: 'device bigip-a is not ready: mcpd reloading',
    });
    expect([...f.a.events, ...f.b.events]).toEqual([]);
  });
});
