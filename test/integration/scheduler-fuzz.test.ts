import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lbIds, requests } from '../support/factories.js';
import { schedulerHarness } from '../support/scheduler-harness.js';

describe('scheduler batches of hostile messages (DynamoDB Local, fauxqs)', () => {
  it('never crashes a batch: bad messages are acknowledged, good ones go through, nothing else is touched', async () => {
    const h = await schedulerHarness({ env: 'Fuzz' });
    const owner = lbIds();
    await h.deliver([requests.createLoadbalancer(owner)]);
    await h.drainAgent((await h.bindings.getBinding(owner.loadbalancerId))?.host as string);
    const before = await h.resources.loadRecords(owner.loadbalancerId);
    const junk = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.json(),
      fc.constant(JSON.stringify({ ...requests.createListener(owner), tenantId: lbIds().tenantId })),
      fc.constant(
        JSON.stringify({ ...requests.createListener(owner), object: { id: '../../x', protocol: 'HTTP' } }),
      ),
      fc.constant(
        JSON.stringify({
          ...requests.update('loadbalancer', owner, { id: owner.loadbalancerId, name: '<b>x</b>' }),
        }),
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(junk, { minLength: 1, maxLength: 10 }), async (bodies) => {
        const good = requests.createLoadbalancer(lbIds());
        const { failures } = await h.deliver([...bodies, good]);
        expect(failures).toEqual([]);
        expect(await h.bindings.getBinding(good.loadbalancerId)).toBeDefined();
      }),
      { numRuns: 15 },
    );
    // The owner's load balancer was never modified by any of it (an invalid update of it marks it ERROR at most).
    const after = await h.resources.loadRecords(owner.loadbalancerId);
    expect(after.map((r) => r.id)).toEqual(before.map((r) => r.id));
    expect(after[0]?.desired).toEqual(before[0]?.desired);
  });
});
