import { describe, expect, it } from 'vitest';
import type { BigIpSimulator } from '../../local/bigip-simulator/bigip-simulator.js';
import { lbIds, requests } from '../support/factories.js';
import { type systemHarness, systemsClosedAfterEach } from '../support/system-harness.js';

type System = Awaited<ReturnType<typeof systemHarness>>;
const system = systemsClosedAfterEach();

const writes = (sim: BigIpSimulator) =>
  sim.calls.filter((c) => c.method !== 'GET' && !c.path.includes('/authn/') && !c.path.includes('/cm'));
const iRules = (s: System) =>
  ((s.sim.dump()['ltm/rule'] ?? []) as { fullPath: string; apiAnonymous: string }[])
    .map((r) => r.fullPath)
    .sort();
const virtual = (s: System, listenerId: string) =>
  ((s.sim.dump()['ltm/virtual'] ?? []) as { fullPath: string; rules: string[]; policies: unknown[] }[]).find(
    (v) => v.fullPath.endsWith(`_${listenerId}`),
  );
const statuses = async (s: System, loadbalancerId: string) =>
  (await s.resources.loadRecords(loadbalancerId)).map((r) => `${r.type} ${r.provisioningStatus}`).sort();

describe('a listener’s iRules on the simulated BIG-IP (allowed_cidrs, REGEX L7 rules)', () => {
  it('puts allowed_cidrs on the device as the listener’s iRule, keeps an operator’s iRule, and removes its own when the list empties', async () => {
    const s = await system();
    const ids = lbIds();
    const listener = requests.createListener(ids, { protocol: 'TCP', allowed_cidrs: ['10.20.0.0/16'] });
    const listenerId = listener.object.id as string;
    await s.submitAndSettle(requests.createLoadbalancer(ids), listener);
    const P = `Test_${ids.tenantId}`;
    const own = `/${P}/Test_${listenerId}_cidrs`;
    expect(iRules(s)).toContain(own);
    expect(virtual(s, listenerId)?.rules).toEqual([own]);
    expect(await statuses(s, ids.loadbalancerId)).toEqual(['listener ACTIVE', 'loadbalancer ACTIVE']);
    // An operator attaches an iRule of their own by hand.
    s.sim.store.create('ltm/rule', {
      name: 'operator_log',
      partition: 'Common',
      apiAnonymous: 'when CLIENT_ACCEPTED { log local0. "hit" }',
    });
    s.sim.store.patch('ltm/virtual', `/${P}/Test_${listenerId}`, { rules: [own, '/Common/operator_log'] });

    await s.submitAndSettle(
      requests.update('listener', ids, { id: listenerId, allowed_cidrs: ['10.20.0.0/16', '192.0.2.0/24'] }),
    );
    const text = ((s.sim.dump()['ltm/rule'] ?? []) as { fullPath: string; apiAnonymous: string }[]).find(
      (r) => r.fullPath === own,
    )?.apiAnonymous;
    expect(text).toContain('equals 192.0.2.0/24');
    expect(virtual(s, listenerId)?.rules).toEqual([own, '/Common/operator_log']);

    await s.submitAndSettle(requests.update('listener', ids, { id: listenerId, allowed_cidrs: [] }));
    expect(iRules(s)).not.toContain(own);
    expect(virtual(s, listenerId)?.rules).toEqual(['/Common/operator_log']);
    expect(writes(s.sim).filter((c) => c.status >= 400)).toEqual([]);
  });

  it('routes a listener with a REGEX rule by its iRule, back to the LTM policy when the REGEX goes, and removes both with the listener', async () => {
    const s = await system();
    const ids = lbIds();
    const web = requests.createPool(ids, { name: 'web' });
    const api = requests.createPool(ids, { name: 'api' });
    const listener = requests.createListener(ids, { default_pool_id: web.object.id });
    const listenerId = listener.object.id as string;
    const toApi = requests.createL7Policy(ids, listenerId, {
      action: 'REDIRECT_TO_POOL',
      redirect_pool_id: api.object.id,
    });
    const regex = requests.createL7Rule(ids, toApi.object.id as string, {
      type: 'PATH',
      compare_type: 'REGEX',
      value: '^/api/v[0-9]+/',
    });
    await s.submitAndSettle(requests.createLoadbalancer(ids), web, api, listener, toApi, regex);
    const P = `Test_${ids.tenantId}`;
    const own = `/${P}/Test_${listenerId}_l7`;
    expect(iRules(s)).toEqual([own]);
    expect(virtual(s, listenerId)?.rules).toEqual([own]);
    // No LTM policy is left with nothing to do.
    expect(s.sim.dump()['ltm/policy'] ?? []).toEqual([]);
    expect(await statuses(s, ids.loadbalancerId)).toEqual([
      'l7policy ACTIVE',
      'l7rule ACTIVE',
      'listener ACTIVE',
      'loadbalancer ACTIVE',
      'pool ACTIVE',
      'pool ACTIVE',
    ]);
    s.sim.resetCalls();
    expect(await s.applyAgain(ids, 'l7rule', regex.object.id as string)).toMatchObject({
      outcome: 'applied',
      commands: 0,
    });

    await s.submitAndSettle(
      requests.update('l7rule', ids, { id: regex.object.id, compare_type: 'STARTS_WITH', value: '/api/' }),
    );
    expect(iRules(s)).toEqual([]);
    expect(virtual(s, listenerId)?.rules).toEqual([]);
    expect((s.sim.dump()['ltm/policy'] ?? []).length).toBe(1);

    await s.submitAndSettle(
      requests.update('l7rule', ids, { id: regex.object.id, compare_type: 'REGEX', value: '\\.php$' }),
    );
    expect(iRules(s)).toEqual([own]);
    await s.submitAndSettle(requests.delete('listener', ids, listenerId));
    expect(iRules(s)).toEqual([]);
    expect(virtual(s, listenerId)).toBeUndefined();
    expect(writes(s.sim).filter((c) => c.status >= 400)).toEqual([]);
  });
});

describe('a listener’s idle timeout on the simulated BIG-IP', () => {
  it('creates the listener’s TCP profile, puts it on its virtual in place of fastL4, changes it, and removes it on reset', async () => {
    const s = await system();
    const ids = lbIds();
    const listener = requests.createListener(ids, { protocol: 'TCP', idle_timeout_ms: 120_000 });
    const listenerId = listener.object.id as string;
    await s.submitAndSettle(requests.createLoadbalancer(ids), listener);
    const P = `Test_${ids.tenantId}`;
    const own = `/${P}/Test_${listenerId}_tcp`;
    const profiles = () =>
      ((s.sim.dump()['ltm/profile/tcp'] ?? []) as { fullPath: string; idleTimeout: number }[]).filter((p) =>
        p.fullPath.startsWith(`/${P}/`),
      );
    const names = () =>
      (virtual(s, listenerId) as unknown as { profiles: { name: string }[] }).profiles.map((p) => p.name);
    expect(profiles()).toEqual([
      expect.objectContaining({ fullPath: own, idleTimeout: 120, defaultsFrom: '/Common/tcp' }),
    ]);
    expect(names()).toEqual([own]);
    s.sim.resetCalls();
    expect(await s.applyAgain(ids, 'listener', listenerId)).toMatchObject({
      outcome: 'applied',
      commands: 0,
    });

    await s.submitAndSettle(requests.update('listener', ids, { id: listenerId, idle_timeout_ms: 30_000 }));
    expect(profiles()).toEqual([expect.objectContaining({ fullPath: own, idleTimeout: 30 })]);
    await s.submitAndSettle(requests.update('listener', ids, { id: listenerId, idle_timeout_ms: null }));
    expect(profiles()).toEqual([]);
    expect(names()).toEqual(['/Common/fastL4']);
    expect(writes(s.sim).filter((c) => c.status >= 400)).toEqual([]);
  });
});
