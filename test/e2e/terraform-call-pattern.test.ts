import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/local-stack.js';
import { testStack } from '../support/local-stack-fixture.js';

/**
 * Terraform's `openstack_lb_*_v2` resources, replayed call by call until a Terraform binary can be
 * had here (none is installable). Everything this client does is written from
 * terraform-provider-openstack at commit 27f261252ad269a00fb42b43778c42b820d5a642 (files under
 * `openstack/`) and gophercloud v2.13.0, which it pins:
 *
 * - Waits (`lb_v2_shared.go`, waitForLBV2*): polled at 0, 1, 2, 4, 8 s, then every 10 s (the
 *   plugin SDK's StateChangeConf with MinTimeout 1 s), scaled here by {@link SCALE}. Waiting for
 *   ACTIVE, PENDING_CREATE and PENDING_UPDATE mean "keep waiting" and any other state fails at once;
 *   waiting for deletion, ERROR, PENDING_UPDATE, PENDING_DELETE and ACTIVE mean "keep waiting" and
 *   only a 404 ends it.
 * - A child's wait (resourceLBV2*RefreshFunc) reads its load balancer first: while that is neither
 *   ACTIVE nor ERROR its status is the state; otherwise the child's own `provisioning_status`. The
 *   load balancer's id comes from the child (`loadbalancers[0].id`, a pool's via its listener).
 * - Writes other than the load balancer's POST retry 409, 500, 502, 503 and 504
 *   (`util.go` checkForRetryableError) at 0, 0.5, 1, 2, 4, 8 s, then every 10 s, scaled likewise.
 * - Every load balancer Read also reads its VIP port, `GET /v2.0/ports/{vip_port_id}` on the
 *   network endpoint, and uses its `security_groups`; an error there fails the Read.
 * - `openstack_lb_members_v2` sends the whole desired set in one `PUT /pools/{id}/members` (202
 *   expected), never `additive_only`, each entry with `backup` and `subnet_id` (null when unset),
 *   and waits on the pool; its delete sends `{"members": []}`.
 * - The load balancer's delete sends no `cascade`; resources are deleted children first.
 */
const SCALE = 1 / 20;
const WAIT_SCHEDULE_S = [0, 1, 2, 4, 8];
const RETRY_SCHEDULE_S = [0, 0.5, 1, 2, 4, 8];
const RETRYABLE = new Set([409, 500, 502, 503, 504]);
const PENDING = ['PENDING_CREATE', 'PENDING_UPDATE'];
const PENDING_DELETE = ['ERROR', 'PENDING_UPDATE', 'PENDING_DELETE', 'ACTIVE'];

type Json = Record<string, unknown>;
interface Answer {
  status: number;
  body: Json;
}

const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000 * SCALE));
const delays = (schedule: number[]) =>
  function* () {
    yield* schedule;
    for (;;) yield 10;
  };

describe('Terraform (terraform-provider-openstack) call pattern against the local stack', () => {
  let stack: LocalStack;
  let base: string;
  const calls: string[] = [];
  let retried = 0;

  const call = async (method: string, path: string, body?: unknown): Promise<Answer> => {
    calls.push(`${method} ${path}`);
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
  };
  const ok = (answer: Answer, codes: number[], what: string): Json => {
    if (!codes.includes(answer.status)) {
      throw new Error(`${what}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    return answer.body;
  };
  /** A write inside the provider's RetryContext. */
  const retrying = async (method: string, path: string, body: unknown, codes: number[]): Promise<Json> => {
    for (const delay of delays(RETRY_SCHEDULE_S)()) {
      await sleep(delay);
      const answer = await call(method, path, body);
      if (!RETRYABLE.has(answer.status)) return ok(answer, codes, `${method} ${path}`);
      retried += 1;
      if (retried > 200) break;
    }
    throw new Error(`${method} ${path}: still refused after retries`);
  };

  /** StateChangeConf: refresh until a target state, failing on a state neither target nor pending. */
  const waitFor = async (
    what: string,
    refresh: () => Promise<string>,
    target: string,
    pending: string[],
  ): Promise<void> => {
    const deadline = Date.now() + 120_000;
    for (const delay of delays(WAIT_SCHEDULE_S)()) {
      await sleep(delay);
      const state = await refresh();
      if (state === target) return;
      if (!pending.includes(state))
        throw new Error(`${what}: unexpected state ${state}, waiting for ${target}`);
      if (Date.now() > deadline) break;
    }
    throw new Error(`${what}: timed out waiting for ${target}`);
  };
  const lbState = async (lbId: string): Promise<string> => {
    const answer = await call('GET', `/v2.0/lbaas/loadbalancers/${lbId}`);
    if (answer.status === 404) return 'DELETED';
    return (ok(answer, [200], 'GET load balancer').loadbalancer as Json).provisioning_status as string;
  };
  const waitLb = (lbId: string, target = 'ACTIVE') =>
    waitFor(
      `load balancer ${lbId}`,
      () => lbState(lbId),
      target,
      target === 'DELETED' ? PENDING_DELETE : PENDING,
    );
  /** A child's wait: its load balancer's state while that is busy, then its own. */
  const waitChild = (lbId: string, path: string, key: string, target = 'ACTIVE') =>
    waitFor(
      path,
      async () => {
        const lb = await lbState(lbId);
        if (lb !== 'ACTIVE' && lb !== 'ERROR') return lb;
        const answer = await call('GET', path);
        if (answer.status === 404) return 'DELETED';
        return (ok(answer, [200], `GET ${path}`)[key] as Json).provisioning_status as string;
      },
      target,
      target === 'DELETED' ? PENDING_DELETE : PENDING,
    );
  const get = async (path: string, key: string): Promise<Json> =>
    ok(await call('GET', path), [200], `GET ${path}`)[key] as Json;
  /** resourceLoadBalancerV2Read: the load balancer, then its VIP port's security groups. */
  const readLb = async (lbId: string) => {
    const lb = await get(`/v2.0/lbaas/loadbalancers/${lbId}`, 'loadbalancer');
    const port = await get(`/v2.0/ports/${lb.vip_port_id as string}`, 'port');
    return { lb, securityGroups: port.security_groups };
  };

  beforeAll(async () => {
    stack = await testStack({ api: {} });
    base = stack.api?.url as string;
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('creates, updates and deletes a tree as the provider does, and every wait ends where it expects', async () => {
    const subnets = await call('GET', '/v2.0/subnets?name=public-subnet');
    const subnetId = ((ok(subnets, [200], 'subnets').subnets as Json[])[0] as Json).id as string;

    // openstack_lb_loadbalancer_v2: one POST, never retried, then wait, then Read.
    const created = ok(
      await call('POST', '/v2.0/lbaas/loadbalancers', {
        loadbalancer: {
          name: 'tf-lb',
          description: 'terraform',
          vip_subnet_id: subnetId,
          admin_state_up: true,
          tags: ['tf'],
        },
      }),
      [201, 202],
      'POST load balancer',
    ).loadbalancer as Json;
    const lbId = created.id as string;
    expect(created.vip_port_id).toEqual(expect.any(String));
    await waitLb(lbId);
    const read = await readLb(lbId);
    expect(read.lb).toMatchObject({
      name: 'tf-lb',
      description: 'terraform',
      provisioning_status: 'ACTIVE',
      tags: ['tf'],
    });
    expect(read.securityGroups).toEqual(expect.any(Array));

    // openstack_lb_listener_v2: wait for the load balancer, POST, wait for the listener.
    await waitLb(lbId);
    const listener = (
      await retrying(
        'POST',
        '/v2.0/lbaas/listeners',
        {
          listener: {
            protocol: 'HTTP',
            protocol_port: 80,
            loadbalancer_id: lbId,
            name: 'tf-http',
            admin_state_up: true,
            connection_limit: 100,
          },
        },
        [201, 202],
      )
    ).listener as Json;
    const listenerPath = `/v2.0/lbaas/listeners/${listener.id as string}`;
    await waitChild(((listener.loadbalancers as Json[])[0] as Json).id as string, listenerPath, 'listener');

    // openstack_lb_pool_v2 on a listener: GET the listener, wait for it, POST, wait for the pool
    // (its load balancer found through pool.loadbalancers[0]).
    await get(listenerPath, 'listener');
    await waitChild(lbId, listenerPath, 'listener');
    const pool = (
      await retrying(
        'POST',
        '/v2.0/lbaas/pools',
        {
          pool: {
            lb_algorithm: 'ROUND_ROBIN',
            protocol: 'HTTP',
            listener_id: listener.id,
            name: 'tf-pool',
            admin_state_up: true,
          },
        },
        [201, 202],
      )
    ).pool as Json;
    const poolPath = `/v2.0/lbaas/pools/${pool.id as string}`;
    expect(((pool.loadbalancers as Json[])[0] as Json).id).toBe(lbId);
    await waitChild(lbId, poolPath, 'pool');

    // openstack_lb_monitor_v2: http_version goes out as a float.
    await get(poolPath, 'pool');
    await waitChild(lbId, poolPath, 'pool');
    const monitor = (
      await retrying(
        'POST',
        '/v2.0/lbaas/healthmonitors',
        {
          healthmonitor: {
            pool_id: pool.id,
            type: 'HTTP',
            delay: 5,
            timeout: 3,
            max_retries: 3,
            max_retries_down: 3,
            url_path: '/health',
            http_method: 'GET',
            http_version: 1.1,
            expected_codes: '200',
            name: 'tf-hm',
            admin_state_up: true,
          },
        },
        [201, 202],
      )
    ).healthmonitor as Json;
    await waitChild(lbId, `/v2.0/lbaas/healthmonitors/${monitor.id as string}`, 'healthmonitor');

    // openstack_lb_members_v2: the whole set in one PUT, then a wait on the pool.
    const entry = (address: string, port: number, weight = 1) => ({
      address,
      protocol_port: port,
      name: '',
      weight,
      admin_state_up: true,
      subnet_id: null,
      backup: false,
    });
    const putMembers = async (members: unknown[]) => {
      await get(poolPath, 'pool');
      await waitChild(lbId, poolPath, 'pool');
      await retrying('PUT', `${poolPath}/members`, { members }, [202]);
      await waitChild(lbId, poolPath, 'pool');
      return (await get(`${poolPath}/members`, 'members')) as unknown as Json[];
    };
    const first = await putMembers([
      entry('10.0.0.11', 8080),
      entry('10.0.0.12', 8080),
      entry('10.0.0.13', 8080),
    ]);
    expect(first.map((m) => `${m.address as string}:${m.protocol_port as number}`).sort()).toEqual([
      '10.0.0.11:8080',
      '10.0.0.12:8080',
      '10.0.0.13:8080',
    ]);
    expect(first.every((m) => m.provisioning_status === 'ACTIVE' && m.backup === false)).toBe(true);
    const idOf = (members: Json[], address: string) => members.find((m) => m.address === address)?.id;

    // A changed set: .12 reweighted, .13 dropped, .14 added. Matched on address and port, so .11
    // and .12 keep their ids; .13 goes.
    const second = await putMembers([
      entry('10.0.0.11', 8080),
      entry('10.0.0.12', 8080, 5),
      entry('10.0.0.14', 8080),
    ]);
    expect(second.map((m) => m.address).sort()).toEqual(['10.0.0.11', '10.0.0.12', '10.0.0.14']);
    expect(idOf(second, '10.0.0.11')).toBe(idOf(first, '10.0.0.11'));
    expect(idOf(second, '10.0.0.12')).toBe(idOf(first, '10.0.0.12'));
    expect(second.find((m) => m.address === '10.0.0.12')?.weight).toBe(5);
    expect((await call('GET', `${poolPath}/members/${idOf(first, '10.0.0.13') as string}`)).status).toBe(404);

    // openstack_lb_l7policy_v2 and openstack_lb_l7rule_v2.
    await get(listenerPath, 'listener');
    await waitChild(lbId, listenerPath, 'listener');
    const policy = (
      await retrying(
        'POST',
        '/v2.0/lbaas/l7policies',
        {
          l7policy: {
            name: 'tf-reject',
            action: 'REJECT',
            listener_id: listener.id,
            position: 1,
            admin_state_up: true,
          },
        },
        [201, 202],
      )
    ).l7policy as Json;
    const policyPath = `/v2.0/lbaas/l7policies/${policy.id as string}`;
    await waitChild(lbId, policyPath, 'l7policy');
    await get(policyPath, 'l7policy');
    await get(listenerPath, 'listener');
    await waitChild(lbId, policyPath, 'l7policy');
    const rule = (
      await retrying(
        'POST',
        `${policyPath}/rules`,
        {
          rule: {
            type: 'PATH',
            compare_type: 'STARTS_WITH',
            value: '/admin',
            invert: false,
            admin_state_up: true,
          },
        },
        [201, 202],
      )
    ).rule as Json;
    const rulePath = `${policyPath}/rules/${rule.id as string}`;
    await waitChild(lbId, rulePath, 'rule');
    // An update of the rule always sends `key`, null when unset.
    await retrying('PUT', rulePath, { rule: { key: null, value: '/private' } }, [200, 201, 202]);
    await waitChild(lbId, rulePath, 'rule');
    expect(await get(rulePath, 'rule')).toMatchObject({
      value: '/private',
      key: null,
      provisioning_status: 'ACTIVE',
    });

    // Updates: the load balancer's changed fields only, waited on both sides; the listener likewise.
    await waitLb(lbId);
    await retrying(
      'PUT',
      `/v2.0/lbaas/loadbalancers/${lbId}`,
      { loadbalancer: { name: 'tf-lb-2', tags: [] } },
      [200, 202],
    );
    await waitLb(lbId);
    expect((await readLb(lbId)).lb).toMatchObject({ name: 'tf-lb-2', tags: [] });
    await get(listenerPath, 'listener');
    await waitChild(lbId, listenerPath, 'listener');
    await retrying(
      'PUT',
      listenerPath,
      { listener: { connection_limit: 200, default_pool_id: pool.id } },
      [200, 202],
    );
    await waitChild(lbId, listenerPath, 'listener');
    expect(await get(listenerPath, 'listener')).toMatchObject({
      connection_limit: 200,
      default_pool_id: pool.id,
    });

    // Terraform runs independent resources in parallel: two listeners created at once on one load
    // balancer. Both waited for it ACTIVE; whichever lands second meets PENDING_UPDATE and its 409 is
    // retried until the first is applied.
    const before = retried;
    await waitLb(lbId);
    const both = await Promise.all(
      [8081, 8082].map((port) =>
        retrying(
          'POST',
          '/v2.0/lbaas/listeners',
          {
            listener: {
              protocol: 'TCP',
              protocol_port: port,
              loadbalancer_id: lbId,
              name: `tf-tcp-${port}`,
              admin_state_up: true,
            },
          },
          [201, 202],
        ),
      ),
    );
    for (const answer of both) {
      await waitChild(lbId, `/v2.0/lbaas/listeners/${(answer.listener as Json).id as string}`, 'listener');
    }
    expect(retried - before).toBeGreaterThan(0);

    // Deletes, children first, each waited until its GET answers 404.
    const deleteChild = async (path: string, key: string) => {
      await get(path, key);
      await retrying('DELETE', path, undefined, [202, 204]);
      await waitChild(lbId, path, key, 'DELETED');
    };
    await deleteChild(rulePath, 'rule');
    await deleteChild(policyPath, 'l7policy');
    expect(await putMembers([])).toEqual([]);
    await deleteChild(`/v2.0/lbaas/healthmonitors/${monitor.id as string}`, 'healthmonitor');
    // The listener names the pool as its default; Terraform's graph deletes the pool first.
    await deleteChild(poolPath, 'pool');
    for (const answer of both)
      await deleteChild(`/v2.0/lbaas/listeners/${(answer.listener as Json).id as string}`, 'listener');
    await deleteChild(listenerPath, 'listener');
    await retrying('DELETE', `/v2.0/lbaas/loadbalancers/${lbId}`, undefined, [202, 204]);
    await waitLb(lbId, 'DELETED');
    expect((await call('GET', `/v2.0/lbaas/loadbalancers/${lbId}`)).status).toBe(404);

    // The pattern's own shape: every write came after a wait, and only ever for the paths above.
    expect(calls.filter((c) => c.startsWith('POST /v2.0/lbaas/loadbalancers'))).toHaveLength(1);
    expect(calls.filter((c) => c.startsWith('GET /v2.0/ports/'))).toHaveLength(2);
  }, 300_000);
});
