import { afterAll, describe, expect, it } from 'vitest';
import { type ApplyTarget, applyTargetOf } from '../../functions/services/load-balancer-applier.js';
import { simulatedApplier } from '../support/device-applier.js';
import { lbIds, requests } from '../support/factories.js';
import { parsed } from '../support/service-fixtures.js';

/**
 * A member delete whose transaction committed but whose node delete after it never ran (the
 * connection reset after the commit, device-facts.md §3) leaves its node in /Common. Its retry may
 * come in one change with its load balancer's delete (one FIFO group, the next batch): the node
 * must still go (found by the long soak: `/Common/172.16.6.227` left after every record was gone).
 */
const ENV = 'NodeRetry';
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closers) await close();
});

describe('node clean-up after a committed member delete', () => {
  it('removes the node when the member delete is retried together with its load balancer’s delete', async () => {
    const { sim, resources, applier } = await simulatedApplier(ENV, closers);
    const ids = lbIds();
    const target = (m: ReturnType<typeof requests.delete>): ApplyTarget => applyTargetOf(parsed(m));
    const record = (m: Parameters<typeof parsed>[0]) => resources.recordRequest(parsed(m), ENV, Date.now());
    const lb = requests.createLoadbalancer(ids);
    const listener = requests.createListener(ids);
    const pool = requests.createPool(ids, { listener_id: listener.object.id });
    const keep = requests.createMember(ids, pool.object.id as string, { address: '172.16.4.227' });
    // Weight 3: its delete also changes the pool (two commands: an iControl transaction).
    const gone = requests.createMember(ids, pool.object.id as string, { address: '172.16.6.227', weight: 3 });
    for (const m of [lb, listener, pool, keep, gone]) await record(m);
    expect((await applier.apply(target(lb))).outcome).not.toBe('device-error');
    const nodes = () =>
      ((sim.dump()['ltm/node'] ?? []) as { fullPath: string }[]).map((n) => n.fullPath).sort();
    expect(nodes()).toEqual(['/Common/172.16.4.227', '/Common/172.16.6.227']);

    const del = requests.delete('member', ids, gone.object.id as string);
    await record(del);
    sim.injectFault({ kind: 'reset-after-commit', method: 'PATCH', path: /\/mgmt\/tm\/transaction\/\d+/ });
    const [first] = await applier.applyAll([[target(del)]]);
    expect(first?.status).toBe('rejected');
    // Committed: the member is gone, its node is not.
    const members = (sim.dump()['ltm/pool/members'] ?? []) as { address: string }[];
    expect(members.map((m) => m.address)).toEqual(['172.16.4.227']);
    expect(nodes()).toContain('/Common/172.16.6.227');

    const lbDelete = requests.delete('loadbalancer', ids, ids.loadbalancerId);
    await record(lbDelete);
    const results = await applier.applyAll([[target(del), target(lbDelete)]]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled']);
    expect(await resources.loadRecords(ids.loadbalancerId)).toEqual([]);
    expect(nodes()).toEqual([]);
  });
});
