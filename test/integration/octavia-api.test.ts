import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESOURCES_BY_PROJECT_INDEX } from '../../functions/shared/table-schema.js';
import { wireApi } from '../../functions/wiring/api-wiring.js';
import { wireScheduler } from '../../functions/wiring/scheduler-wiring.js';
import {
  apiHarness,
  randomProject,
  TEST_NETWORK,
  TEST_PROJECT,
  TEST_SUBNET,
} from '../support/api-harness.js';
import { lambdaContext, sqsEvent, sqsRecord } from '../support/factories.js';
import { freshQueue } from '../support/local-aws.js';

const lbBody = (extra: Record<string, unknown> = {}) => ({
  loadbalancer: { vip_subnet_id: TEST_SUBNET, ...extra },
});

describe('Octavia API over DynamoDB Local and fauxqs', () => {
  let h: Awaited<ReturnType<typeof apiHarness>>;
  beforeAll(async () => {
    h = await apiHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('answers version discovery without a token, with the current microversion', async () => {
    const res = await h.call('GET', '/');
    const versions = res.body.versions as { id: string; status: string; links: { href: string }[] }[];
    expect(versions.at(-1)).toMatchObject({
      id: 'v2.26',
      status: 'CURRENT',
      links: [{ href: `${h.url}/v2` }],
    });
    expect(versions.filter((v) => v.status === 'CURRENT')).toHaveLength(1);
  });

  it('records a create as PENDING_CREATE, answers 201 with it, and queues the message every producer sends', async () => {
    const res = await h.call('POST', '/v2/lbaas/loadbalancers', lbBody({ name: 'web', tags: ['t1'] }));
    expect(res.status).toBe(201);
    const lb = res.body.loadbalancer as Record<string, unknown>;
    expect(lb).toMatchObject({
      name: 'web',
      provisioning_status: 'PENDING_CREATE',
      operating_status: 'OFFLINE',
      project_id: TEST_PROJECT,
      vip_subnet_id: TEST_SUBNET,
      vip_network_id: TEST_NETWORK,
      provider: 'bigip',
      tags: ['t1'],
      listeners: [],
      pools: [],
    });
    // A VIP allocated from the configured subnet, and a VIP port that leads back to the load balancer.
    expect(lb.vip_address).toMatch(/^10\.20\.30\.(1[0-4]|[2-9])$/);
    const port = await h.call('GET', `/v2.0/ports/${lb.vip_port_id}`);
    expect(port.body.port).toMatchObject({
      id: lb.vip_port_id,
      device_owner: 'Octavia',
      network_id: TEST_NETWORK,
      fixed_ips: [{ subnet_id: TEST_SUBNET, ip_address: lb.vip_address }],
    });

    const queued = await h.queued();
    expect(queued).toEqual([
      {
        recorded: true,
        group: lb.id,
        body: {
          version: 1,
          requestId: expect.stringMatching(/^api-/),
          operation: 'create',
          resource: 'loadbalancer',
          tenantId: TEST_PROJECT,
          loadbalancerId: lb.id,
          object: expect.objectContaining({ id: lb.id, vip_address: lb.vip_address, tags: ['t1'] }),
        },
      },
    ]);
    const [record] = await h.records(lb.id as string);
    expect(record).toMatchObject({
      provisioningStatus: 'PENDING_CREATE',
      requestId: queued[0]?.body.requestId,
    });
  });

  it('the scheduler forwards a request the API recorded without recording it again, and records one it did not', async () => {
    const lb = (
      (await h.call('POST', '/v2/lbaas/loadbalancers', lbBody())).body.loadbalancer as { id: string }
    ).id;
    await h.queued();
    await h.settle(lb);
    const update = await h.call('PUT', `/v2/lbaas/loadbalancers/${lb}`, {
      loadbalancer: { description: 'd2' },
    });
    expect(update.status).toBe(200);
    expect(update.body.loadbalancer).toMatchObject({
      provisioning_status: 'PENDING_UPDATE',
      description: 'd2',
    });
    const [message] = await h.queued();
    const revision = (await h.records(lb))[0]?.revision;

    const agentQueue = await freshQueue(h.clients.sqs, 'agent');
    for (const host of ['agent-1', 'agent-2'])
      await h.registry.heartbeat({
        env: h.env,
        host,
        agentId: `${h.env}.${host}`,
        queueUrl: agentQueue.url,
        nowMs: Date.now(),
        started: false,
        alive: true,
        devices: {},
        configuration: {},
      });
    const forwarded: unknown[] = [];
    const scheduler = wireScheduler(
      {
        env: h.env,
        requestQueueUrl: h.requestQueue.url,
        tables: h.tables,
        agentDownTimeMs: 75_000,
        agentCacheMs: 0,
        maxAttempts: 3,
        retry: { baseSeconds: 1, maxSeconds: 1 },
        selection: 'random',
        idempotencyTtlSeconds: 3600,
      },
      h.clients,
      { onScheduled: (request) => forwarded.push(request.requestId) },
    );
    // The API wrote the request's guard with its record.
    const apiRequest = message?.body as { tenantId: string; requestId: string };
    expect(await scheduler.resources.isGuarded(h.env, apiRequest, Date.now())).toBe(true);
    const out = await scheduler.handler(
      sqsEvent([sqsRecord(message?.body, { attributes: { recorded: 'true' } })]),
      lambdaContext(),
    );
    expect(out.batchItemFailures).toEqual([]);
    expect(forwarded).toEqual([message?.body.requestId]);
    // Recorded once: the scheduler did not bump the revision again.
    expect((await h.records(lb))[0]).toMatchObject({ revision, provisioningStatus: 'PENDING_UPDATE' });

    // The attribute is a hint, checked against the record: a request nobody recorded is recorded.
    await h.settle(lb);
    const unrecorded = {
      ...(message?.body as object),
      requestId: 'sqs-producer-1',
      object: { id: lb, description: 'd3' },
    };
    await scheduler.handler(
      sqsEvent([sqsRecord(unrecorded, { attributes: { recorded: 'true' } })]),
      lambdaContext(),
    );
    const newer = {
      revision: (revision as number) + 1,
      requestId: 'sqs-producer-1',
      desired: expect.objectContaining({ description: 'd3' }),
    };
    expect((await h.records(lb))[0]).toMatchObject(newer);
    // The API's request again, without its attribute: its guard stops it; d2 never overwrites d3.
    await scheduler.handler(sqsEvent([sqsRecord(message?.body)]), lambdaContext());
    expect((await h.records(lb))[0]).toMatchObject(newer);
    expect(forwarded).toEqual([apiRequest.requestId, 'sqs-producer-1']);
  });

  it('creates a whole tree in one call, queued in order in the load balancer’s group', async () => {
    const res = await h.call(
      'POST',
      '/v2/lbaas/loadbalancers',
      lbBody({
        name: 'tree',
        listeners: [{ name: 'l1', protocol: 'HTTP', protocol_port: 80, default_pool: { name: 'p1' } }],
        pools: [
          {
            name: 'p1',
            protocol: 'HTTP',
            lb_algorithm: 'ROUND_ROBIN',
            healthmonitor: { type: 'HTTP', delay: 2, timeout: 3, max_retries: 3 },
            members: [
              { address: '10.0.1.5', protocol_port: 80 },
              { address: '10.0.1.6', protocol_port: 80 },
            ],
          },
        ],
      }),
    );
    expect(res.status).toBe(201);
    const lb = res.body.loadbalancer as {
      id: string;
      listeners: { default_pool_id: string }[];
      pools: { id: string; members: unknown[]; healthmonitor_id: string }[];
    };
    // The full response of a single-call create: listeners and pools as objects.
    expect(lb.listeners[0]?.default_pool_id).toBe(lb.pools[0]?.id);
    expect(lb.pools[0]?.members).toHaveLength(2);
    const queued = await h.queued();
    expect(queued.map((m) => `${m.body.operation} ${m.body.resource}`)).toEqual([
      'create loadbalancer',
      'create pool',
      'create member',
      'create member',
      'create healthmonitor',
      'create listener',
    ]);
    expect(new Set(queued.map((m) => m.group))).toEqual(new Set([lb.id]));
    expect(queued.every((m) => m.recorded)).toBe(true);

    await h.settle(lb.id);
    const status = await h.call('GET', `/v2/lbaas/loadbalancers/${lb.id}/status`);
    expect(status.body).toMatchObject({
      statuses: {
        loadbalancer: {
          id: lb.id,
          provisioning_status: 'ACTIVE',
          listeners: [
            { name: 'l1', pools: [{ name: 'p1', health_monitor: { type: 'HTTP' }, members: [{}, {}] }] },
          ],
        },
      },
    });
    const stats = await h.call('GET', `/v2/lbaas/loadbalancers/${lb.id}/stats`);
    expect(stats.body).toEqual({
      stats: { bytes_in: 0, bytes_out: 0, active_connections: 0, total_connections: 0, request_errors: 0 },
    });

    // A batch member update: one message for the pool, answered 202 without a body.
    const batch = await h.call('PUT', `/v2/lbaas/pools/${lb.pools[0]?.id}/members`, {
      members: [{ address: '10.0.1.5', protocol_port: 80, weight: 0 }],
    });
    expect(batch).toEqual({ status: 202, body: {} });
    expect((await h.queued()).map((m) => `${m.body.operation} ${m.body.resource}`)).toEqual([
      'batch_update member',
    ]);
    await h.settle(lb.id);

    // A cascade delete: one message; the tree goes PENDING_DELETE.
    const del = await h.call('DELETE', `/v2/lbaas/loadbalancers/${lb.id}?cascade=true`);
    expect(del.status).toBe(204);
    expect((await h.queued()).map((m) => `${m.body.operation} ${m.body.resource}`)).toEqual([
      'delete loadbalancer',
    ]);
    expect((await h.call('GET', `/v2/lbaas/loadbalancers/${lb.id}`)).body.loadbalancer).toMatchObject({
      provisioning_status: 'PENDING_DELETE',
    });
  });

  it('takes SOURCE_IP_PORT pools and members with an alternate monitor target, shown as written, cleared with null', async () => {
    const lb = (await h.call('POST', '/v2/lbaas/loadbalancers', lbBody())).body.loadbalancer as {
      id: string;
    };
    await h.settle(lb.id);
    const pool = await h.call('POST', '/v2/lbaas/pools', {
      pool: { loadbalancer_id: lb.id, protocol: 'TCP', lb_algorithm: 'SOURCE_IP_PORT' },
    });
    expect(pool.status).toBe(201);
    const poolId = (pool.body.pool as { id: string; lb_algorithm: string }).id;
    expect(pool.body.pool).toMatchObject({ lb_algorithm: 'SOURCE_IP_PORT' });
    await h.settle(lb.id);
    const created = await h.call('POST', `/v2/lbaas/pools/${poolId}/members`, {
      member: {
        address: '2001:db8::5',
        protocol_port: 80,
        monitor_address: '2001:db8:0:0:0:0:0:2',
        monitor_port: 8080,
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.member).toMatchObject({
      monitor_address: '2001:db8:0:0:0:0:0:2',
      monitor_port: 8080,
    });
    const memberId = (created.body.member as { id: string }).id;
    const queued = await h.queued();
    expect(queued.at(-1)?.body.object).toMatchObject({
      monitor_address: '2001:db8:0:0:0:0:0:2',
      monitor_port: 8080,
    });
    await h.settle(lb.id);
    const cleared = await h.call('PUT', `/v2/lbaas/pools/${poolId}/members/${memberId}`, {
      member: { monitor_address: null, monitor_port: null },
    });
    expect(cleared.status).toBe(200);
    await h.settle(lb.id);
    const shown = await h.call('GET', `/v2/lbaas/pools/${poolId}/members/${memberId}`);
    expect(shown.body.member).toMatchObject({ monitor_address: null, monitor_port: null });
  });

  it('takes UDP listeners beside TCP ones on a port, UDP pools with SOURCE_IP persistence and UDP-CONNECT monitors, with Octavia’s checks', async () => {
    const lb = (await h.call('POST', '/v2/lbaas/loadbalancers', lbBody())).body.loadbalancer as {
      id: string;
    };
    await h.settle(lb.id);
    const listener = (protocol: string) =>
      h.call('POST', '/v2/lbaas/listeners', {
        listener: { loadbalancer_id: lb.id, protocol, protocol_port: 53 },
      });
    expect((await listener('TCP')).status).toBe(201);
    await h.settle(lb.id);
    const udp = await listener('UDP');
    expect(udp.status).toBe(201);
    await h.settle(lb.id);
    // One port per transport: a second UDP (or TCP-based) listener on it is Octavia's 409.
    expect((await listener('UDP')).status).toBe(409);
    expect((await listener('HTTP')).status).toBe(409);
    const udpId = (udp.body.listener as { id: string }).id;
    const pool = (body: Record<string, unknown>) =>
      h.call('POST', '/v2/lbaas/pools', { pool: { lb_algorithm: 'ROUND_ROBIN', ...body } });
    expect((await pool({ listener_id: udpId, protocol: 'TCP' })).status).toBe(400);
    expect((await pool({ listener_id: udpId, protocol: 'PROXY' })).status).toBe(400);
    expect((await pool({ loadbalancer_id: lb.id, protocol: 'PROXY' })).status).toBe(201);
    await h.settle(lb.id);
    const cookie = await pool({
      loadbalancer_id: lb.id,
      protocol: 'UDP',
      session_persistence: { type: 'HTTP_COOKIE' },
    });
    expect(cookie.status).toBe(400);
    expect(cookie.body.faultstring).toMatch(/not supported for UDP protocol pools/);
    const tuned = await pool({
      loadbalancer_id: lb.id,
      protocol: 'UDP',
      session_persistence: { type: 'SOURCE_IP', persistence_timeout: 60 },
    });
    // Built (pool-protocols.test.ts): the pool's own source-address profile.
    expect(tuned.status).toBe(201);
    expect(tuned.body.pool).toMatchObject({ session_persistence: { persistence_timeout: 60 } });
    await h.settle(lb.id);
    const created = await pool({
      listener_id: udpId,
      protocol: 'UDP',
      session_persistence: { type: 'SOURCE_IP' },
    });
    expect(created.status).toBe(201);
    const poolId = (created.body.pool as { id: string }).id;
    await h.settle(lb.id);
    const monitor = (pool_id: string, type: string) =>
      h.call('POST', '/v2/lbaas/healthmonitors', {
        healthmonitor: { pool_id, type, delay: 3, timeout: 2, max_retries: 2 },
      });
    expect((await monitor(poolId, 'HTTPS')).status).toBe(400);
    const other = await pool({ loadbalancer_id: lb.id, protocol: 'HTTP' });
    await h.settle(lb.id);
    expect((await monitor((other.body.pool as { id: string }).id, 'UDP-CONNECT')).status).toBe(400);
    const hm = await monitor(poolId, 'UDP-CONNECT');
    expect(hm.status).toBe(201);
    expect(hm.body.healthmonitor).toMatchObject({ type: 'UDP-CONNECT', pools: [{ id: poolId }] });
  });

  it('a GET costs one DynamoDB read once the process knows the object’s load balancer; a list page, the index page and its load balancers', async () => {
    const lb = (
      await h.call(
        'POST',
        '/v2/lbaas/loadbalancers',
        lbBody({ listeners: [{ protocol: 'TCP', protocol_port: 22 }] }),
      )
    ).body.loadbalancer as { id: string; listeners: { id: string }[] };
    const listener = lb.listeners[0]?.id as string;
    await h.queued();

    h.dynamoCalls();
    expect((await h.call('GET', `/v2/lbaas/loadbalancers/${lb.id}`)).status).toBe(200);
    expect(h.dynamoCalls()).toEqual(['QueryCommand']);
    expect((await h.call('GET', `/v2/lbaas/listeners/${listener}`)).status).toBe(200);
    expect(h.dynamoCalls()).toEqual(['QueryCommand']);

    // A process that never saw the listener reads its id claim once, then knows where it lives.
    const cold = wireApi(
      {
        env: h.env,
        requestQueueUrl: h.requestQueue.url,
        tables: h.tables,
        policy: 'advanced',
        networks: [],
        agentDownTimeMs: 75_000,
        agentCacheMs: 0,
        selection: 'random',
      },
      h.clients,
      { policy: 'noauth' },
    );
    const caller = { noauth: true, projectId: TEST_PROJECT, roles: [] };
    await cold.api.show('listener', caller, listener, {});
    expect(h.dynamoCalls()).toEqual(['GetItemCommand', 'QueryCommand']);
    await cold.api.show('listener', caller, listener, {});
    expect(h.dynamoCalls()).toEqual(['QueryCommand']);

    // A project's default page: one page of the by-project index, then each load balancer on it.
    const page = await h.call('GET', `/v2/lbaas/loadbalancers?project_id=${TEST_PROJECT}&limit=2`);
    expect((page.body.loadbalancers as unknown[]).length).toBe(2);
    expect(page.body.loadbalancers_links).toEqual([expect.objectContaining({ rel: 'next' })]);
    const calls = h.dynamoCalls();
    expect(calls.filter((c) => c === 'ScanCommand')).toEqual([]);
    expect(calls).toEqual(['QueryCommand', 'QueryCommand', 'QueryCommand']);
  });

  it('keeps a pool’s members and a policy’s rules out of the by-project index, and lists them through their parent', async () => {
    const project = randomProject();
    const res = await h.call(
      'POST',
      '/v2/lbaas/loadbalancers',
      lbBody({
        project_id: project,
        listeners: [
          {
            protocol: 'HTTP',
            protocol_port: 80,
            default_pool: { name: 'p1' },
            l7policies: [
              {
                action: 'REJECT',
                rules: [{ type: 'PATH', compare_type: 'STARTS_WITH', value: '/admin' }],
              },
            ],
          },
        ],
        pools: [
          {
            name: 'p1',
            protocol: 'HTTP',
            lb_algorithm: 'ROUND_ROBIN',
            healthmonitor: { type: 'HTTP', delay: 2, timeout: 3, max_retries: 3 },
            members: [
              { address: '10.0.1.5', protocol_port: 80 },
              { address: '10.0.1.6', protocol_port: 80 },
            ],
          },
        ],
      }),
    );
    expect(res.status).toBe(201);
    const lb = res.body.loadbalancer as {
      id: string;
      listeners: { l7policies: { id: string }[] }[];
      pools: { id: string }[];
    };
    await h.queued();
    await h.settle(lb.id);
    // What the index holds of this project, per type: its items are the index's own (a Query of it).
    const indexed = async (type: string) =>
      (
        await h.clients.dynamodb.send(
          new QueryCommand({
            TableName: h.tables.resources,
            IndexName: RESOURCES_BY_PROJECT_INDEX,
            KeyConditionExpression: 'projectKey = :pk',
            ExpressionAttributeValues: { ':pk': { S: `${h.env}#${type}#${project}` } },
          }),
        )
      ).Items?.length;
    expect({
      loadbalancer: await indexed('loadbalancer'),
      listener: await indexed('listener'),
      pool: await indexed('pool'),
      healthmonitor: await indexed('healthmonitor'),
      l7policy: await indexed('l7policy'),
      member: await indexed('member'),
      l7rule: await indexed('l7rule'),
    }).toEqual({
      loadbalancer: 1,
      listener: 1,
      pool: 1,
      healthmonitor: 1,
      l7policy: 1,
      member: 0,
      l7rule: 0,
    });
    const members = await h.call('GET', `/v2/lbaas/pools/${lb.pools[0]?.id}/members`);
    expect((members.body.members as { address: string }[]).map((m) => m.address).sort()).toEqual([
      '10.0.1.5',
      '10.0.1.6',
    ]);
    const policy = lb.listeners[0]?.l7policies[0]?.id;
    const rules = await h.call('GET', `/v2/lbaas/l7policies/${policy}/rules`);
    expect((rules.body.rules as { value: string }[]).map((r) => r.value)).toEqual(['/admin']);
  });

  it('lists with Octavia’s fields, filters, sort, pagination and tags', async () => {
    const project = 'fedcba9876543210fedcba9876543210';
    const made: string[] = [];
    for (const [name, tags] of [
      ['a', ['x']],
      ['b', ['x', 'y']],
      ['c', []],
    ] as const) {
      const res = await h.call(
        'POST',
        '/v2/lbaas/loadbalancers',
        lbBody({ name, tags, project_id: project }),
      );
      made.push((res.body.loadbalancer as { id: string }).id);
    }
    await h.queued();
    const list = async (query: string) =>
      (await h.call('GET', `/v2/lbaas/loadbalancers?project_id=${project}&${query}`)).body
        .loadbalancers as Record<string, unknown>[];
    expect((await list('')).map((l) => l.name)).toEqual(['a', 'b', 'c']);
    expect((await list('sort=name:desc')).map((l) => l.name)).toEqual(['c', 'b', 'a']);
    expect(await list('fields=name&fields=id&name=b')).toEqual([{ id: made[1], name: 'b' }]);
    expect((await list('tags=x')).map((l) => l.name)).toEqual(['a', 'b']);
    expect((await list('not-tags-any=y')).map((l) => l.name)).toEqual(['a', 'c']);
    const page2 = await list(`limit=1&marker=${made[0]}`);
    expect(page2.map((l) => l.name)).toEqual(['b']);
  });

  it('answers the Neutron reads the openstack client makes before a create', async () => {
    const byId = await h.call('GET', `/v2.0/subnets?id=${TEST_SUBNET}`);
    expect(byId.body.subnets).toEqual([
      expect.objectContaining({ id: TEST_SUBNET, network_id: TEST_NETWORK, cidr: '10.20.30.0/28' }),
    ]);
    const byName = await h.call('GET', '/v2.0/subnets?name=public-subnet');
    expect((byName.body.subnets as { id: string }[]).map((s) => s.id)).toEqual([TEST_SUBNET]);
    expect((await h.call('GET', '/v2.0/subnets?name=nope')).body.subnets).toEqual([]);
    expect((await h.call('GET', `/v2.0/networks/${TEST_NETWORK}`)).body.network).toMatchObject({
      subnets: [TEST_SUBNET],
    });
    const missing = await h.call('GET', `/v2.0/networks/${TEST_SUBNET}`);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ NeutronError: { type: 'NotFound' } });
  });
});
