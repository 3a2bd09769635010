import { afterEach, describe, expect, it } from 'vitest';
import { BigIpRestClient } from '../../functions/adapters/bigip-rest-client.js';
import { StaticCredentials } from '../../functions/adapters/device-credentials.js';
import { IControlBigIpDevice } from '../../functions/adapters/icontrol-bigip-device.js';
import type { ApplyPlan } from '../../functions/domain/bigip-apply-plan.js';
import { LeaseBusyError } from '../../functions/domain/errors.js';
import { BigIpSimulator } from '../../local/bigip-simulator/bigip-simulator.js';

/**
 * A load balancer's delete frees a node per member address. Each DELETE is a configuration write
 * the device runs one at a time, so a pool of hundreds freed hundreds of writes in a row (a
 * thousand-member load balancer took four minutes to delete under the benchmarks' timing model).
 * More than a few nodes now go in one transaction per hundred; a node still in use fails its
 * transaction whole (device-facts.md §4.2), and that part goes one DELETE each, as before. A long
 * change asks for its lease's renewal between its parts, and stops once the lease is lost.
 */
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const PARTITION = 'Project_t1';

async function setup(nodeCount: number, handMade: readonly string[] = []) {
  const sim = new BigIpSimulator();
  const baseUrl = await sim.listen();
  const client = new BigIpRestClient(
    { name: 'bigip1', baseUrl },
    new StaticCredentials({ username: 'admin', password: 'admin' }),
    { retryBaseMs: 5, timeoutMs: 5_000 },
  );
  cleanups.push(
    () => client.close(),
    () => sim.close(),
  );
  sim.store.create('sys/folder', { name: PARTITION });
  // Nodes as the device makes them for members of ours: in /Common, named by their address.
  const addresses = Array.from(
    { length: nodeCount },
    (_, i) => `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`,
  );
  for (const address of addresses)
    sim.store.create('ltm/node', {
      name: address,
      partition: 'Common',
      address,
      ...(handMade.includes(address) ? { description: 'kept by the operator' } : {}),
    });
  const nodes = () =>
    ((sim.dump()['ltm/node'] ?? []) as { fullPath: string }[]).map((n) => n.fullPath).sort();
  const cleanup = (paths: readonly string[]): ApplyPlan => ({
    createFolder: false,
    commands: [],
    atomic: false,
    nodeCleanup: [...paths],
    removeFolder: false,
  });
  const deletes = () =>
    sim.calls.filter((c) => c.method === 'DELETE' && c.path.startsWith('/mgmt/tm/ltm/node/'));
  const reads = () => sim.calls.filter((c) => c.method === 'GET' && c.path.startsWith('/mgmt/tm/ltm/node'));
  const transactions = () =>
    sim.calls.filter((c) => c.method === 'POST' && c.path === '/mgmt/tm/transaction');
  return {
    sim,
    device: new IControlBigIpDevice(client),
    paths: addresses.map((a) => `/Common/${a}`),
    nodes,
    cleanup,
    deletes,
    reads,
    transactions,
  };
}

describe('node clean-up', () => {
  it('deletes a few nodes one DELETE each, outside any transaction', async () => {
    const s = await setup(3);
    const report = await s.device.execute(PARTITION, s.cleanup(s.paths));
    expect(s.nodes()).toEqual([]);
    expect(s.transactions()).toHaveLength(0);
    expect(s.deletes()).toHaveLength(3);
    expect(s.deletes().every((c) => c.transactionId === undefined)).toBe(true);
    expect(report.skipped).toEqual([]);
    // Read one GET each (fewer than a round of reads).
    expect(s.reads().map((c) => c.path)).toEqual(
      s.paths.map((p) => `/mgmt/tm/ltm/node/${p.replaceAll('/', '~')}`),
    );
  });

  it('reads more than a round of nodes in one listing of their partition, and skips one already gone', async () => {
    const s = await setup(12, ['10.1.0.7']);
    // One went meanwhile (an operator, or an earlier attempt of this change).
    s.sim.store.delete('ltm/node', '/Common/10.1.0.2');
    const report = await s.device.execute(PARTITION, s.cleanup(s.paths));
    expect(s.reads().map((c) => `${c.path}${decodeURIComponent(c.query)}`)).toEqual([
      '/mgmt/tm/ltm/node?$filter=partition+eq+Common&$select=name,partition,description,connectionLimit,rateLimit,ratio,dynamicRatio,logging,monitor',
    ]);
    // The operator's node is still told apart from the listing, and kept.
    expect(s.nodes()).toEqual(['/Common/10.1.0.7']);
    expect(report.skipped).toEqual(['node /Common/10.1.0.7 kept: made or changed by hand']);
    expect(s.deletes()).toHaveLength(10);
  });

  it('deletes more than a few in one transaction: one create, an enlisted DELETE each, one commit', async () => {
    const s = await setup(12);
    await s.device.execute(PARTITION, s.cleanup(s.paths));
    expect(s.nodes()).toEqual([]);
    expect(s.transactions()).toHaveLength(1);
    expect(s.deletes()).toHaveLength(12);
    const id = s.deletes()[0]?.transactionId;
    expect(id).toBeDefined();
    expect(s.deletes().every((c) => c.transactionId === id)).toBe(true);
    const commits = s.sim.calls.filter(
      (c) => c.method === 'PATCH' && c.path === `/mgmt/tm/transaction/${id}`,
    );
    expect(commits.map((c) => c.status)).toEqual([200]);
  });

  it('falls back to one DELETE each when a node is still in use, and keeps that one', async () => {
    const s = await setup(12);
    // Another pool (an operator's, or a load balancer not in this change) still uses the third node.
    s.sim.store.create('ltm/pool', {
      name: 'other',
      partition: PARTITION,
      members: [{ name: '10.1.0.3:80', partition: 'Common' }],
    });
    const report = await s.device.execute(PARTITION, s.cleanup(s.paths));
    expect(s.nodes()).toEqual(['/Common/10.1.0.3']);
    expect(report.skipped).toEqual(['node /Common/10.1.0.3 still in use']);
    // The refused transaction changed nothing; then each node alone.
    expect(s.transactions()).toHaveLength(1);
    expect(s.deletes().filter((c) => c.transactionId === undefined)).toHaveLength(12);
  });

  it('never deletes a node made or changed by hand, in a transaction or not', async () => {
    const s = await setup(12, ['10.1.0.7']);
    const report = await s.device.execute(PARTITION, s.cleanup(s.paths));
    expect(s.nodes()).toEqual(['/Common/10.1.0.7']);
    expect(report.skipped).toEqual(['node /Common/10.1.0.7 kept: made or changed by hand']);
    expect(s.deletes()).toHaveLength(11);
  });

  it('renews the lease between transactions of a hundred, and sends nothing once it is lost', async () => {
    const s = await setup(250);
    let renewals = 0;
    await s.device.execute(PARTITION, s.cleanup(s.paths), {
      sendBy: Date.now() + 60_000,
      renew: async () => {
        renewals += 1;
        return Date.now() + 60_000;
      },
    });
    expect(s.nodes()).toEqual([]);
    expect(s.transactions()).toHaveLength(3);
    expect(renewals).toBe(2);

    // The lease lost at the first renewal: the first hundred went, nothing after it was sent.
    const t = await setup(250);
    const lost = await t.device
      .execute(PARTITION, t.cleanup(t.paths), {
        sendBy: Date.now() + 60_000,
        renew: async () => {
          throw new LeaseBusyError('partition lease held by another writer');
        },
      })
      .catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(LeaseBusyError);
    expect(t.nodes()).toHaveLength(150);
    expect(t.transactions()).toHaveLength(1);
    expect(t.deletes()).toHaveLength(100);
  });

  it('sends the calls after a renewal by its send-by time, not the first grant’s', async () => {
    const s = await setup(150);
    // A renewal that answers a time already past: the second hundred's calls must not be sent.
    const error = await s.device
      .execute(PARTITION, s.cleanup(s.paths), {
        sendBy: Date.now() + 60_000,
        renew: async () => Date.now() - 1,
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(s.nodes()).toHaveLength(50);
    expect(s.transactions()).toHaveLength(1);
  });
});

describe('a change sent one command at a time', () => {
  it('asks for a renewal between its commands, and sends nothing more once the lease is lost', async () => {
    const s = await setup(0);
    for (const name of ['p1', 'p2', 'p3']) s.sim.store.create('ltm/pool', { name, partition: PARTITION });
    const plan: ApplyPlan = {
      ...s.cleanup([]),
      // A load balancer's delete: dependency-ordered deletes, no transaction.
      commands: ['p1', 'p2', 'p3'].map((name) => ({
        op: 'delete',
        object: { kind: 'pool', partition: PARTITION, name, attrs: {} },
      })),
    };
    let renewals = 0;
    const lost = await s.device
      .execute(PARTITION, plan, {
        sendBy: Date.now() + 60_000,
        renew: async () => {
          renewals += 1;
          if (renewals === 2) throw new LeaseBusyError('partition lease held by another writer');
          return Date.now() + 60_000;
        },
      })
      .catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(LeaseBusyError);
    const pools = ((s.sim.dump()['ltm/pool'] ?? []) as { fullPath: string }[]).map((p) => p.fullPath);
    expect(pools).toEqual([`/${PARTITION}/p3`]);
    expect(s.sim.calls.filter((c) => c.method === 'DELETE')).toHaveLength(2);
  });
});
