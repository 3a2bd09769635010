import { describe, expect, it } from 'vitest';
import type { ReconcileReport } from '../../functions/services/reconciler.js';
import type { BigIpSimulator } from '../../local/bigip-simulator/bigip-simulator.js';
import { lbIds, requests } from '../support/factories.js';
import { captureMetrics } from '../support/scheduler-harness.js';
import { type systemHarness, systemsClosedAfterEach } from '../support/system-harness.js';

type System = Awaited<ReturnType<typeof systemHarness>>;
const system = systemsClosedAfterEach();

const writes = (sim: BigIpSimulator) =>
  sim.calls.filter((c) => c.method !== 'GET' && !c.path.includes('/authn/') && !c.path.includes('/cm'));
const policies = (s: System) =>
  (s.sim.dump()['ltm/policy'] ?? []) as {
    fullPath: string;
    status: string;
    rules: {
      name: string;
      ordinal: number;
      conditions: Record<string, unknown>[];
      actions: Record<string, unknown>[];
    }[];
  }[];
const virtual = (s: System, listenerId: string) =>
  ((s.sim.dump()['ltm/virtual'] ?? []) as { fullPath: string; policies: { name: string }[] }[]).find((v) =>
    v.fullPath.endsWith(`_${listenerId}`),
  );

/** A load balancer with an HTTP listener whose default pool is `web`, and a second pool `api`. */
async function site(s: System) {
  const ids = lbIds();
  const web = requests.createPool(ids, { name: 'web' });
  const api = requests.createPool(ids, { name: 'api' });
  const listener = requests.createListener(ids, { default_pool_id: web.object.id });
  await s.submitAndSettle(
    requests.createLoadbalancer(ids),
    web,
    api,
    listener,
    requests.createMember(ids, web.object.id as string, { address: '10.8.0.1', protocol_port: 80 }),
    requests.createMember(ids, api.object.id as string, { address: '10.8.0.2', protocol_port: 80 }),
  );
  return {
    ids,
    listenerId: listener.object.id as string,
    webId: web.object.id as string,
    apiId: api.object.id as string,
  };
}

describe('L7 policies and rules on the simulated BIG-IP (legacy LTM policies)', () => {
  it('puts a listener’s policies on the device as one first-match policy, in order, and reports them ACTIVE', async () => {
    const s = await system();
    const { ids, listenerId, apiId } = await site(s);
    const toApi = requests.createL7Policy(ids, listenerId, {
      action: 'REDIRECT_TO_POOL',
      redirect_pool_id: apiId,
    });
    const reject = requests.createL7Policy(ids, listenerId, { action: 'REJECT', position: 1 });
    s.sim.resetCalls();
    await s.submitAndSettle(
      toApi,
      requests.createL7Rule(ids, toApi.object.id as string, {
        type: 'PATH',
        compare_type: 'STARTS_WITH',
        value: '/api',
      }),
      requests.createL7Rule(ids, toApi.object.id as string, {
        type: 'HOST_NAME',
        compare_type: 'EQUAL_TO',
        value: 'shop.example.com',
      }),
      reject,
      requests.createL7Rule(ids, reject.object.id as string, {
        type: 'HEADER',
        key: 'X-Block',
        compare_type: 'EQUAL_TO',
        value: 'yes',
      }),
    );
    const records = await s.resources.loadRecords(ids.loadbalancerId);
    expect(
      records
        .filter((r) => r.type.startsWith('l7'))
        .map((r) => `${r.type} ${r.provisioningStatus}/${r.operatingStatus}`)
        .sort(),
    ).toEqual([
      'l7policy ACTIVE/ONLINE',
      'l7policy ACTIVE/ONLINE',
      'l7rule ACTIVE/ONLINE',
      'l7rule ACTIVE/ONLINE',
      'l7rule ACTIVE/ONLINE',
    ]);
    const [policy] = policies(s);
    const P = `Test_${ids.tenantId}`;
    expect(policy).toMatchObject({
      fullPath: `/${P}/wrapper_policy_${listenerId}`,
      status: 'legacy',
      strategy: '/Common/first-match',
    });
    expect(policy?.rules.map((r) => [r.name, r.ordinal, r.actions[0]])).toEqual([
      [`l7policy_${reject.object.id}`, 0, { name: '0', forward: true, reset: true, request: true }],
      [
        `l7policy_${toApi.object.id}`,
        1,
        { name: '0', forward: true, pool: `/${P}/Test_${apiId}`, request: true },
      ],
    ]);
    expect(virtual(s, listenerId)?.policies).toEqual([{ name: `/${P}/wrapper_policy_${listenerId}` }]);
    // Octavia's case rules, sent explicitly (a condition without a case option is stored
    // case-insensitive, device-facts.md §7.1): host names without case, the rest exactly.
    const conditions = policy?.rules.flatMap((r) => r.conditions) ?? [];
    expect(
      conditions
        .map((c) => [
          c.httpHost ? 'host' : c.httpHeader ? 'header' : 'path',
          c.caseSensitive === true,
          c.caseInsensitive === true,
        ])
        .sort(),
    ).toEqual([
      ['header', true, false],
      ['host', false, true],
      ['path', true, false],
    ]);
    // Every write was accepted (no 01071abb: the policy is written with legacy: true), and nothing
    // is left to do: an apply reads the policy back equal to what it wants.
    expect(writes(s.sim).filter((c) => c.status >= 400)).toEqual([]);
    s.sim.resetCalls();
    const again = await s.applyAgain(ids, 'l7policy', toApi.object.id as string);
    expect(again).toMatchObject({ outcome: 'applied', commands: 0 });
    expect(writes(s.sim)).toEqual([]);
  });

  it('moves, changes and removes policies and rules; the last one leaves the virtual without a policy', async () => {
    const s = await system();
    const { ids, listenerId } = await site(s);
    const a = requests.createL7Policy(ids, listenerId, { name: 'a' });
    const b = requests.createL7Policy(ids, listenerId, {
      name: 'b',
      action: 'REDIRECT_TO_URL',
      redirect_url: 'https://example.com/moved',
    });
    const ruleA = requests.createL7Rule(ids, a.object.id as string, { value: '/a' });
    await s.submitAndSettle(a, b, ruleA, requests.createL7Rule(ids, b.object.id as string, { value: '/b' }));
    const names = () => policies(s)[0]?.rules.map((r) => r.name);
    expect(names()).toEqual([`l7policy_${a.object.id}`, `l7policy_${b.object.id}`]);

    await s.submitAndSettle(
      requests.update('l7policy', ids, { id: b.object.id, position: 1, redirect_http_code: 308 }),
    );
    expect(names()).toEqual([`l7policy_${b.object.id}`, `l7policy_${a.object.id}`]);
    expect(policies(s)[0]?.rules[0]?.actions[0]).toMatchObject({
      location: 'https://example.com/moved',
      code: 308,
    });

    await s.submitAndSettle(
      requests.update('l7rule', ids, { id: ruleA.object.id, compare_type: 'CONTAINS', invert: true }),
    );
    expect(policies(s)[0]?.rules[1]?.conditions).toEqual([
      expect.objectContaining({ httpUri: true, path: true, contains: true, not: true, values: ['/a'] }),
    ]);

    await s.submitAndSettle(requests.delete('l7rule', ids, ruleA.object.id as string));
    // Policy a has no rule left: Octavia applies nothing for it.
    expect(names()).toEqual([`l7policy_${b.object.id}`]);
    await s.submitAndSettle(requests.delete('l7policy', ids, b.object.id as string));
    expect(policies(s)).toEqual([]);
    expect(virtual(s, listenerId)?.policies).toEqual([]);
    const left = await s.resources.loadRecords(ids.loadbalancerId);
    expect(left.filter((r) => r.type.startsWith('l7')).map((r) => [r.id, r.provisioningStatus])).toEqual([
      [a.object.id, 'ACTIVE'],
    ]);
    expect(writes(s.sim).filter((c) => c.status >= 400)).toEqual([]);
  });

  it('deletes a listener with its policies and rules, the virtual first', async () => {
    const s = await system();
    const { ids, listenerId } = await site(s);
    const p = requests.createL7Policy(ids, listenerId);
    await s.submitAndSettle(p, requests.createL7Rule(ids, p.object.id as string));
    await s.submitAndSettle(requests.delete('listener', ids, listenerId));
    expect(policies(s)).toEqual([]);
    expect(virtual(s, listenerId)).toBeUndefined();
    const left = await s.resources.loadRecords(ids.loadbalancerId);
    expect(left.filter((r) => r.type === 'listener' || r.type.startsWith('l7'))).toEqual([]);
  });

  it('refuses what the device or Octavia cannot do, before anything reaches the device', async () => {
    const s = await system();
    const { ids, listenerId, apiId } = await site(s);
    const tcp = requests.createListener(ids, { protocol: 'TCP', protocol_port: 5432 });
    await s.submitAndSettle(tcp);
    const toApi = requests.createL7Policy(ids, listenerId, {
      action: 'REDIRECT_TO_POOL',
      redirect_pool_id: apiId,
    });
    await s.submitAndSettle(toApi, requests.createL7Rule(ids, toApi.object.id as string));
    s.sim.resetCalls();
    const onTcp = requests.createL7Policy(ids, tcp.object.id as string);
    // A REGEX outside the syntax Tcl, Python and JavaScript share (look-ahead): refused as invalid.
    const regex = requests.createL7Rule(ids, toApi.object.id as string, {
      compare_type: 'REGEX',
      value: '^/x(?=y)',
    });
    const { metrics } = await captureMetrics(() =>
      s.submitAndSettle(onTcp, regex, requests.delete('pool', ids, apiId)),
    );
    expect(metrics.filter((m) => m.name === 'RejectedRequests').map((m) => m.dimensions.Reason)).toEqual([
      'unsupported',
      'invalid-message',
      'conflict',
    ]);
    expect(writes(s.sim)).toEqual([]);
    const records = await s.resources.loadRecords(ids.loadbalancerId);
    expect(records.find((r) => r.id === onTcp.object.id)).toBeUndefined();
    expect(records.find((r) => r.id === regex.object.id)).toBeUndefined();
    // The pool's deletion was refused (as Octavia answers 409): the pool stays as it was.
    expect(records.find((r) => r.id === apiId)?.provisioningStatus).toBe('ACTIVE');
  });

  it('sends a redirect’s code only from 14.0 (before, the device reads it back as 0): nothing to write again', async () => {
    for (const [version, sent] of [
      ['13.1.0.4', undefined],
      ['14.1.2.1', 301],
    ] as const) {
      const s = await system({ sim: { version } });
      const { ids, listenerId } = await site(s);
      const moved = requests.createL7Policy(ids, listenerId, {
        action: 'REDIRECT_TO_URL',
        redirect_url: 'https://new.example.com/',
        redirect_http_code: 301,
      });
      await s.submitAndSettle(
        moved,
        requests.createL7Rule(ids, moved.object.id as string, {
          type: 'HOST_NAME',
          compare_type: 'EQUAL_TO',
          value: 'old.example.com',
        }),
      );
      const records = await s.resources.loadRecords(ids.loadbalancerId);
      expect(records.every((r) => r.provisioningStatus === 'ACTIVE')).toBe(true);
      const [policy] = policies(s);
      expect(policy?.rules[0]?.actions[0]).toMatchObject({ redirect: true });
      expect(policy?.rules[0]?.actions[0]?.code).toBe(sent);
      s.sim.resetCalls();
      const again = await s.applyAgain(ids, 'l7policy', moved.object.id as string);
      expect(again).toMatchObject({ outcome: 'applied', commands: 0 });
      expect(writes(s.sim)).toEqual([]);
    }
  });

  it('finds no drift in a legacy policy it wrote, and repairs a rule changed by hand', async () => {
    const s = await system();
    const { ids, listenerId } = await site(s);
    const p = requests.createL7Policy(ids, listenerId);
    await s.submitAndSettle(p, requests.createL7Rule(ids, p.object.id as string, { value: '/private' }));
    const { reconciler } = s.reconciler();
    const done = (r: ReconcileReport) => {
      if (r.outcome === 'skipped') throw new Error(r.reason);
      return r;
    };
    s.sim.resetCalls();
    expect(done(await reconciler.run({ dryRun: true, orphans: 'report' })).loadbalancers[0]?.outcome).toBe(
      'in-sync',
    );
    // Someone edits the rule on the device.
    const [policy] = policies(s);
    const stored = s.sim.store.get('ltm/policy', String(policy?.fullPath));
    const rules = stored?.attrs.rules as { conditions: { values: string[] }[] }[];
    (rules[0]?.conditions[0] as { values: string[] }).values = ['/public'];
    const repaired = done(await reconciler.run({ dryRun: false, orphans: 'report' }));
    expect(repaired.loadbalancers[0]?.drift).toEqual([
      { action: 'change', kind: 'ltm-policy', path: policy?.fullPath, fields: ['rules'] },
    ]);
    expect(policies(s)[0]?.rules[0]?.conditions[0]?.values).toEqual(['/private']);
  });
});
