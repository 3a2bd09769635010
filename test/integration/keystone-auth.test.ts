import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeystoneTokenValidator } from '../../functions/adapters/keystone-token-validator.js';
import { apiHarness, TEST_SUBNET } from '../support/api-harness.js';
import { type Keystone, keystoneMissing, startKeystone } from '../support/keystone.js';

const missing = keystoneMissing();

/**
 * Token validation against a real Keystone (Debian's, started on loopback), and Octavia's default
 * policy through the API with those tokens: who sees and changes which project's objects.
 */
describe.skipIf(missing !== undefined)(`Keystone tokens${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let keystone: Keystone;
  const projects: Record<string, string> = {};
  let now = Date.now();
  let validator: KeystoneTokenValidator;

  beforeAll(async () => {
    keystone = await startKeystone();
    const service = await keystone.ensureProject('service');
    const api = await keystone.ensureUser('lbaas-api', 'api-pw', service);
    await keystone.grant(api, service, ['service']);
    for (const [user, roles] of [
      ['alice', ['load-balancer_member']],
      ['bob', ['load-balancer_member']],
      ['olga', ['load-balancer_observer', 'reader']],
      ['glen', ['load-balancer_global_observer', 'reader']],
      ['nora', ['member']],
    ] as const) {
      projects[user] = await keystone.ensureProject(`project-${user}`);
      const id = await keystone.ensureUser(user, `${user}-pw`, projects[user] as string);
      await keystone.grant(id, projects[user] as string, roles);
    }
    validator = new KeystoneTokenValidator({
      url: keystone.url,
      credentials: async () => ({ username: 'lbaas-api', password: 'api-pw', projectName: 'service' }),
      cacheMs: 60_000,
      clock: () => now,
    });
  }, 600_000);
  afterAll(async () => {
    await keystone?.stop();
  });

  it('validates a token: its project, roles and user; refuses a bad one', async () => {
    const token = await keystone.token('alice', 'alice-pw', 'project-alice');
    const validated = await validator.validate(token);
    expect(validated).toMatchObject({ projectId: projects.alice, system: false });
    expect(validated?.roles).toContain('load-balancer_member');
    expect(validated?.expiresAt).toBeGreaterThan(Date.now());
    expect(await validator.validate(`${token}x`)).toBeUndefined();
  });

  it('caches a validation until the cache time (or the token’s expiry) passes', async () => {
    const token = await keystone.token('bob', 'bob-pw', 'project-bob');
    const calls: string[] = [];
    const original = globalThis.fetch;
    globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
      calls.push(String(input));
      return original(input, init);
    }) as typeof fetch;
    try {
      await validator.validate(token);
      const first = calls.length;
      expect(first).toBeGreaterThan(0);
      await validator.validate(token);
      expect(calls.length).toBe(first);
      now += 61_000;
      await validator.validate(token);
      expect(calls.length).toBeGreaterThan(first);
    } finally {
      globalThis.fetch = original;
    }
  });

  it('applies Octavia’s default policy to Keystone callers: members write their project, observers read it, others get 403', async () => {
    const h = await apiHarness({ validator, policy: 'advanced' });
    try {
      const as = async (user: string) => ({
        'X-Auth-Token': await keystone.token(user, `${user}-pw`, `project-${user}`),
      });
      const alice = await as('alice');
      const created = await h.call(
        'POST',
        '/v2/lbaas/loadbalancers',
        { loadbalancer: { vip_subnet_id: TEST_SUBNET } },
        alice,
      );
      expect(created.status).toBe(201);
      const lb = created.body.loadbalancer as { id: string; project_id: string };
      expect(lb.project_id).toBe(projects.alice);
      await h.queued();

      expect((await h.call('GET', `/v2/lbaas/loadbalancers/${lb.id}`, undefined, alice)).status).toBe(200);
      // Another project's member, an observer and a plain member of another project: Octavia's 403.
      for (const user of ['bob', 'olga', 'nora'])
        expect(
          (await h.call('GET', `/v2/lbaas/loadbalancers/${lb.id}`, undefined, await as(user))).status,
          user,
        ).toBe(403);
      // A global observer reads every project, and writes none.
      const glen = await as('glen');
      expect((await h.call('GET', `/v2/lbaas/loadbalancers/${lb.id}`, undefined, glen)).status).toBe(200);
      expect(
        ((await h.call('GET', '/v2/lbaas/loadbalancers', undefined, glen)).body.loadbalancers as unknown[])
          .length,
      ).toBe(1);
      expect(
        (await h.call('PUT', `/v2/lbaas/loadbalancers/${lb.id}`, { loadbalancer: { name: 'x' } }, glen))
          .status,
      ).toBe(403);
      // A member's listing shows its own project only; an observer of another project sees nothing.
      expect(
        (await h.call('GET', '/v2/lbaas/loadbalancers', undefined, await as('bob'))).body.loadbalancers,
      ).toEqual([]);
      // Nothing was queued by the refused calls.
      expect(await h.queued()).toEqual([]);
      // No token, a bad token: 401.
      expect((await h.call('GET', '/v2/lbaas/loadbalancers')).status).toBe(401);
      expect(
        (await h.call('GET', '/v2/lbaas/loadbalancers', undefined, { 'X-Auth-Token': 'nope' })).status,
      ).toBe(401);
    } finally {
      await h.stop();
    }
  }, 120_000);
});
