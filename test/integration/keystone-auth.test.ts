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
      ['mia', ['member']],
      ['pat', ['admin']],
    ] as const) {
      projects[user] = await keystone.ensureProject(`project-${user}`);
      const id = await keystone.ensureUser(user, `${user}-pw`, projects[user] as string);
      await keystone.grant(id, projects[user] as string, roles);
    }
    // System-scoped accounts: a role assignment on the system, not on a project.
    for (const [user, role] of [
      ['sam', 'admin'],
      ['sara', 'reader'],
    ] as const) {
      const id = await keystone.ensureUser(
        user,
        `${user}-pw`,
        await keystone.ensureProject(`project-${user}`),
      );
      await keystone.call('PUT', `/system/users/${id}/roles/${await keystone.ensureRole(role)}`);
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

  it('applies Octavia’s keystone_default_roles_scoped policy: the scope comes from Keystone’s token body, never a header', async () => {
    const h = await apiHarness({ validator, policy: 'keystone_default_roles_scoped' });
    try {
      const as = async (user: string) => ({
        'X-Auth-Token': await keystone.token(user, `${user}-pw`, `project-${user}`),
      });
      const system = async (user: string) => ({
        'X-Auth-Token': await systemToken(keystone, user, `${user}-pw`),
      });
      const sam = await system('sam');
      expect(await validator.validate(sam['X-Auth-Token'])).toMatchObject({
        system: true,
        projectId: undefined,
      });

      const mia = await as('mia');
      const created = await h.call(
        'POST',
        '/v2/lbaas/loadbalancers',
        { loadbalancer: { vip_subnet_id: TEST_SUBNET } },
        mia,
      );
      expect(created.status).toBe(201);
      const lb = created.body.loadbalancer as { id: string };
      await h.queued();
      await h.settle(lb.id);
      const show = async (headers: Record<string, string>) =>
        (await h.call('GET', `/v2/lbaas/loadbalancers/${lb.id}`, undefined, headers)).status;
      const rename = async (headers: Record<string, string>) =>
        (await h.call('PUT', `/v2/lbaas/loadbalancers/${lb.id}`, { loadbalancer: { name: 'x' } }, headers))
          .status;
      const listed = async (headers: Record<string, string>) =>
        ((await h.call('GET', '/v2/lbaas/loadbalancers', undefined, headers)).body.loadbalancers as unknown[])
          .length;

      // A project-scoped admin is its own project's member only, whatever headers it adds.
      const pat = await as('pat');
      expect(await show(pat)).toBe(403);
      expect(await listed(pat)).toBe(0);
      const patClaimingSystem = {
        ...pat,
        'OpenStack-System-Scope': 'all',
        'X-System-Scope': 'all',
        'X-Roles': 'admin',
      };
      expect(await show(patClaimingSystem)).toBe(403);
      expect(await listed(patClaimingSystem)).toBe(0);
      // A system reader reads every project and writes none; a system admin does both.
      const sara = await system('sara');
      expect(await show(sara)).toBe(200);
      expect(await listed(sara)).toBe(1);
      expect(await rename(sara)).toBe(403);
      expect(await show(sam)).toBe(200);
      expect(await listed(sam)).toBe(1);
      expect(await rename(sam)).toBe(200);
      // The owner's member reads it; only the system admin's rename was queued.
      expect(await show(mia)).toBe(200);
      expect(await h.queued()).toHaveLength(1);
    } finally {
      await h.stop();
    }
  }, 120_000);
});

/** A system-scoped token (`scope: {system: {all: true}}`) for a user with a role on the system. */
async function systemToken(keystone: Keystone, user: string, password: string): Promise<string> {
  const res = await fetch(`${keystone.url}/auth/tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: user, domain: { id: 'default' }, password } },
        },
        scope: { system: { all: true } },
      },
    }),
  });
  const token = res.headers.get('x-subject-token');
  if (res.status !== 201 || !token)
    throw new Error(`Keystone refused ${user} (${res.status}): ${await res.text()}`);
  return token;
}
