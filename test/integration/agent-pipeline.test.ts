import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { forwardable } from '../../functions/domain/lbaas-request.js';
import type { ResourceRecord } from '../../functions/domain/resource-state.js';
import { lbIds, requests, uuid } from '../support/factories.js';
import { captureMetrics } from '../support/scheduler-harness.js';
import { parsed } from '../support/service-fixtures.js';
import { type systemHarness, systemsClosedAfterEach } from '../support/system-harness.js';

type System = Awaited<ReturnType<typeof systemHarness>>;
const system = systemsClosedAfterEach();

const byType = (records: ResourceRecord[], type: string) => records.filter((r) => r.type === type);
const statuses = (records: ResourceRecord[]) =>
  Object.fromEntries(
    records.map((r) => [`${r.type}:${r.id.slice(0, 4)}`, `${r.provisioningStatus}/${r.operatingStatus}`]),
  );

/** A load balancer with an HTTP listener, a pool (listener_id), two members and an HTTP monitor. */
function fullLoadBalancer(ids = lbIds()) {
  const lb = requests.createLoadbalancer(ids, { vip_address: '10.0.0.10' });
  const listener = requests.createListener(ids, { protocol_port: 80 });
  const pool = requests.createPool(ids, {
    listener_id: listener.object.id,
    session_persistence: { type: 'SOURCE_IP' },
  });
  const m1 = requests.createMember(ids, pool.object.id as string, {
    address: '10.0.1.5',
    protocol_port: 8080,
  });
  const m2 = requests.createMember(ids, pool.object.id as string, {
    address: '2001:db8::5',
    protocol_port: 8080,
    weight: 2,
  });
  const hm = requests.createHealthMonitor(ids, pool.object.id as string);
  return { ids, lb, listener, pool, m1, m2, hm, all: [lb, listener, pool, m1, m2, hm] };
}

describe('agent pipeline: SQS → scheduler → agent → simulated BIG-IP → statuses', () => {
  it('builds a whole load balancer on the device and reports every object ACTIVE', async () => {
    const s = await system();
    const f = fullLoadBalancer();
    const { metrics } = await captureMetrics(() => s.submitAndSettle(...f.all));
    // Each applied request reports its submit-to-status time.
    expect(metrics.filter((m) => m.name === 'TimeToActive')).toHaveLength(6);

    const records = await s.resources.loadRecords(f.ids.loadbalancerId);
    expect(records.every((r) => r.provisioningStatus === 'ACTIVE')).toBe(true);
    // Monitored members before their monitor's first verdict: OFFLINE, as Octavia creates them; only
    // the status poller's reading makes them ONLINE (health-poller.test.ts).
    expect(byType(records, 'member').map((r) => r.operatingStatus)).toEqual(['OFFLINE', 'OFFLINE']);
    const p = `Project_${f.ids.tenantId}`.replace('Project', 'Test');
    const dump = s.sim.dump();
    expect(s.sim.partitions()).toEqual([p]);
    expect(dump['ltm/virtual-address']).toEqual([
      expect.objectContaining({
        fullPath: `/${p}/Test_${f.ids.loadbalancerId}`,
        address: '10.0.0.10',
        autoDelete: 'false',
      }),
    ]);
    expect(dump['ltm/virtual']).toEqual([
      expect.objectContaining({
        fullPath: `/${p}/Test_${f.listener.object.id}`,
        destination: `/${p}/10.0.0.10:80`,
        pool: `/${p}/Test_${f.pool.object.id}`,
        persist: [expect.objectContaining({ name: '/Common/source_addr' })],
        sourceAddressTranslation: { type: 'automap' },
      }),
    ]);
    expect(dump['ltm/pool']).toEqual([
      expect.objectContaining({ loadBalancingMode: 'ratio-member', monitor: `/${p}/Test_${f.hm.object.id}` }),
    ]);
    // Members and their nodes are in /Common, shared by tenants (device-facts.md §2.1).
    expect(
      (dump['ltm/pool/members'] as { fullPath: string; pool: string }[]).map((m) => [m.pool, m.fullPath]),
    ).toEqual(
      expect.arrayContaining([
        [`/${p}/Test_${f.pool.object.id}`, '/Common/10.0.1.5:8080'],
        [`/${p}/Test_${f.pool.object.id}`, '/Common/2001:db8::5.8080'],
      ]),
    );
    expect(dump['ltm/monitor/http']).toEqual([
      expect.objectContaining({ send: String.raw`GET /health HTTP/1.0\r\n\r\n`, interval: 5, timeout: 9 }),
    ]);
    expect((dump['ltm/node'] as { fullPath: string }[]).map((n) => n.fullPath).sort()).toEqual([
      '/Common/10.0.1.5',
      '/Common/2001:db8::5',
    ]);
  });

  it('applies requests whose desired tree is already ahead of them (all recorded before any apply)', async () => {
    const s = await system();
    const f = fullLoadBalancer();
    for (const body of f.all) await s.deliver([body]); // the scheduler records and forwards everything first
    await s.settle();
    const records = await s.resources.loadRecords(f.ids.loadbalancerId);
    expect(records.map((r) => `${r.type}:${r.provisioningStatus}`).sort()).toEqual([
      'healthmonitor:ACTIVE',
      'listener:ACTIVE',
      'loadbalancer:ACTIVE',
      'member:ACTIVE',
      'member:ACTIVE',
      'pool:ACTIVE',
    ]);
    // The only refusals were reads before the partition existed ("folder not found"); no write failed.
    expect(s.sim.calls.filter((c) => c.status >= 400 && c.method !== 'GET')).toEqual([]);
  });

  it('writes nothing when the same request is applied again', async () => {
    const s = await system();
    const f = fullLoadBalancer();
    await s.submitAndSettle(...f.all);
    s.sim.resetCalls();
    const agent = s.agent((await s.bindings.getBinding(f.ids.loadbalancerId))?.host as string);
    for (const [resource, id] of [
      ['member', f.m1.object.id],
      ['loadbalancer', f.ids.loadbalancerId],
    ] as const) {
      const result = await agent.deps.applier.apply({
        requestId: uuid(),
        tenantId: f.ids.tenantId,
        loadbalancerId: f.ids.loadbalancerId,
        resource,
        objectId: id as string,
        operation: resource === 'loadbalancer' ? 'sync' : 'update',
      });
      expect(result).toMatchObject({ outcome: 'applied', commands: 0 });
    }
    expect(s.sim.calls.filter((c) => c.method !== 'GET')).toEqual([]);
  });

  it('a recorded request forwarded again (its redelivery, after the queue’s de-duplication window) changes nothing', async () => {
    const s = await system();
    const f = fullLoadBalancer();
    await s.submitAndSettle(...f.all);
    const before = await s.resources.loadRecords(f.ids.loadbalancerId);
    s.sim.resetCalls();
    // The scheduler gets m1 again: recorded before, its object still holds it, so it forwards it again.
    const { metrics } = await captureMetrics(() => s.deliver([f.m1]));
    expect(metrics.map((m) => m.name)).toEqual(['DuplicateRequests']);
    // The same forward once more under another de-duplication id, as after the five-minute window.
    const host = (await s.bindings.getBinding(f.ids.loadbalancerId))?.host as string;
    const forward = {
      request: forwardable(parsed(f.m1)),
      scheduling: { kind: 'bound', host, scheduledAt: Date.now(), env: s.env },
    };
    await s.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: s.agentQueues[host]?.url,
        MessageBody: JSON.stringify(forward),
        MessageGroupId: f.ids.loadbalancerId,
        MessageDeduplicationId: `after-window-${f.m1.requestId}`,
      }),
    );
    await s.settle();
    // The worker's settled check answered both: not one device call, no record written again.
    expect(s.sim.calls).toEqual([]);
    expect(await s.resources.loadRecords(f.ids.loadbalancerId)).toEqual(before);
  });

  it('applies updates with only the differing attributes', async () => {
    const s = await system();
    const f = fullLoadBalancer();
    await s.submitAndSettle(...f.all);
    s.sim.resetCalls();
    await s.submitAndSettle(
      requests.update('member', f.ids, { id: f.m1.object.id, weight: 0 }),
      requests.update('listener', f.ids, {
        id: f.listener.object.id,
        admin_state_up: false,
        connection_limit: 100,
      }),
      requests.update('healthmonitor', f.ids, {
        id: f.hm.object.id,
        url_path: '/ready',
        expected_codes: '200-202',
      }),
    );
    const dump = s.sim.dump();
    expect((dump['ltm/pool/members'] as { session: string }[]).map((m) => m.session).sort()).toEqual([
      'user-disabled',
      'user-enabled',
    ]);
    expect(dump['ltm/virtual']).toEqual([expect.objectContaining({ disabled: true, connectionLimit: 100 })]);
    expect(dump['ltm/monitor/http']).toEqual([
      expect.objectContaining({
        send: String.raw`GET /ready HTTP/1.0\r\n\r\n`,
        recv: 'HTTP/1\\.(0|1) (200|201|202)',
      }),
    ]);
    const records = await s.resources.loadRecords(f.ids.loadbalancerId);
    expect(records.every((r) => r.provisioningStatus === 'ACTIVE')).toBe(true);
    expect(records.find((r) => r.id === f.m1.object.id)?.operatingStatus).toBe('DRAINING');
    expect(records.find((r) => r.id === f.listener.object.id)?.operatingStatus).toBe('OFFLINE');
  });

  it('checks a member at its alternate monitor target through a monitor of its own, follows the pool’s monitor, and removes it', async () => {
    const s = await system();
    const f = fullLoadBalancer();
    await s.submitAndSettle(...f.all);
    const p = `Test_${f.ids.tenantId}`;
    const own = `/${p}/Test_${f.m1.object.id}`;
    await s.submitAndSettle(
      requests.update('member', f.ids, {
        id: f.m1.object.id,
        monitor_address: '10.0.9.9',
        monitor_port: 8081,
      }),
    );
    const monitors = () => s.sim.dump()['ltm/monitor/http'] as Record<string, unknown>[];
    const members = () => s.sim.dump()['ltm/pool/members'] as Record<string, unknown>[];
    expect(monitors().find((m) => m.fullPath === own)).toMatchObject({
      destination: '10.0.9.9:8081',
      send: String.raw`GET /health HTTP/1.0\r\n\r\n`,
    });
    // The dump shows what was set: a member without a monitor of its own has none (the pool's).
    expect(members().find((m) => m.address === '10.0.1.5')?.monitor).toBe(own);
    expect(members().find((m) => m.address === '2001:db8::5')?.monitor).toBeUndefined();

    // The pool's monitor changes: so does the member's own.
    await s.submitAndSettle(
      requests.update('healthmonitor', f.ids, { id: f.hm.object.id, url_path: '/ready' }),
    );
    expect(monitors().find((m) => m.fullPath === own)).toMatchObject({
      destination: '10.0.9.9:8081',
      send: String.raw`GET /ready HTTP/1.0\r\n\r\n`,
    });

    await s.submitAndSettle(
      requests.update('member', f.ids, { id: f.m1.object.id, monitor_address: null, monitor_port: null }),
    );
    expect(monitors().map((m) => m.fullPath)).toEqual([`/${p}/Test_${f.hm.object.id}`]);
    expect(members().every((m) => m.monitor === undefined)).toBe(true);
    const records = await s.resources.loadRecords(f.ids.loadbalancerId);
    expect(records.every((r) => r.provisioningStatus === 'ACTIVE')).toBe(true);
  });

  it('builds a UDP listener beside a TCP one on the same port: a UDP virtual server with the UDP profile, a UDP monitor', async () => {
    const s = await system();
    const ids = lbIds();
    const lb = requests.createLoadbalancer(ids, { vip_address: '10.0.0.10' });
    const tcp = requests.createListener(ids, { protocol: 'TCP', protocol_port: 53 });
    const udp = requests.createListener(ids, { protocol: 'UDP', protocol_port: 53 });
    const pool = requests.createPool(ids, {
      protocol: 'UDP',
      lb_algorithm: 'SOURCE_IP_PORT',
      listener_id: udp.object.id,
      session_persistence: { type: 'SOURCE_IP' },
    });
    const member = requests.createMember(ids, pool.object.id as string, {
      address: '10.0.1.5',
      protocol_port: 53,
    });
    const hm = requests.createHealthMonitor(ids, pool.object.id as string, {
      type: 'UDP-CONNECT',
      http_method: undefined,
      url_path: undefined,
      expected_codes: undefined,
    });
    await s.submitAndSettle(lb, tcp, udp, pool, member, hm);
    const records = await s.resources.loadRecords(ids.loadbalancerId);
    expect(records.every((r) => r.provisioningStatus === 'ACTIVE')).toBe(true);
    const p = `Test_${ids.tenantId}`;
    const virtuals = s.sim.dump()['ltm/virtual'] as Record<string, unknown>[];
    const vs = (id: unknown) => virtuals.find((v) => v.fullPath === `/${p}/Test_${id}`);
    expect(vs(udp.object.id)).toMatchObject({
      destination: `/${p}/10.0.0.10:53`,
      ipProtocol: 'udp',
      profiles: [expect.objectContaining({ name: '/Common/udp' })],
      pool: `/${p}/Test_${pool.object.id}`,
      persist: [expect.objectContaining({ name: '/Common/source_addr' })],
    });
    expect(vs(tcp.object.id)).toMatchObject({ ipProtocol: 'tcp' });
    expect(s.sim.dump()['ltm/monitor/udp']).toEqual([
      expect.objectContaining({ fullPath: `/${p}/Test_${hm.object.id}`, interval: 5 }),
    ]);
    expect(s.sim.dump()['ltm/pool']).toEqual([
      expect.objectContaining({ loadBalancingMode: 'round-robin', monitor: `/${p}/Test_${hm.object.id}` }),
    ]);
  });

  it('puts a PROXY pool’s iRule on the device before the virtual server runs it, and removes it after', async () => {
    const s = await system();
    const ids = lbIds();
    const lb = requests.createLoadbalancer(ids, { vip_address: '10.0.0.10' });
    const listener = requests.createListener(ids, { protocol: 'TCP', protocol_port: 443 });
    const pool = requests.createPool(ids, { protocol: 'PROXY', listener_id: listener.object.id });
    const member = requests.createMember(ids, pool.object.id as string, {
      address: '10.0.1.5',
      protocol_port: 8443,
    });
    await s.submitAndSettle(lb, listener, pool, member);
    const p = `Test_${ids.tenantId}`;
    const rule = `/${p}/Test_${pool.object.id}_proxy`;
    expect(s.sim.dump()['ltm/rule']).toEqual([
      expect.objectContaining({ fullPath: rule, apiAnonymous: expect.stringContaining('TCP::respond') }),
    ]);
    expect(s.sim.dump()['ltm/virtual']).toEqual([
      expect.objectContaining({
        rules: [rule],
        profiles: [expect.objectContaining({ name: '/Common/tcp' })],
      }),
    ]);
    expect(
      (await s.resources.loadRecords(ids.loadbalancerId)).every((r) => r.provisioningStatus === 'ACTIVE'),
    ).toBe(true);

    // An operator attaches an iRule of their own by hand: our changes leave it where it is.
    s.sim.store.create('ltm/rule', {
      name: 'operator_log',
      partition: 'Common',
      apiAnonymous: 'when HTTP_REQUEST { log local0. "hit" }',
    });
    const vsPath = `/${p}/Test_${listener.object.id}`;
    s.sim.store.patch('ltm/virtual', vsPath, { rules: ['/Common/operator_log', rule] });
    await s.submitAndSettle(
      requests.update('member', ids, { id: member.object.id, pool_id: pool.object.id, weight: 2 }),
    );
    expect(s.sim.dump()['ltm/virtual']).toEqual([
      expect.objectContaining({ rules: ['/Common/operator_log', rule] }),
    ]);

    await s.submitAndSettle(requests.delete('pool', ids, pool.object.id as string));
    expect(s.sim.dump()['ltm/rule']).toBeUndefined();
    expect(s.sim.dump()['ltm/virtual']).toEqual([
      expect.objectContaining({
        rules: ['/Common/operator_log'],
        profiles: [expect.objectContaining({ name: '/Common/fastL4' })],
      }),
    ]);
  });

  it('reports a load balancer’s own update ACTIVE only once it is on the device, not when an earlier child’s apply lands', async () => {
    const s = await system();
    const f = fullLoadBalancer();
    await s.submitAndSettle(...f.all);
    // The scheduler records a member's update, then the load balancer's disable, before the agent
    // gets to either; the member's apply comes first (FIFO) and reads both.
    const member = requests.update('member', f.ids, { id: f.m1.object.id, weight: 3 });
    const disable = requests.update('loadbalancer', f.ids, {
      id: f.ids.loadbalancerId,
      admin_state_up: false,
    });
    await s.deliver([member]);
    await s.deliver([disable]);
    const root = async () =>
      (await s.resources.loadRecords(f.ids.loadbalancerId)).find((r) => r.type === 'loadbalancer');
    expect((await root())?.ownChangePending).toBe(true);
    // Only the load balancer's own request clears it (a child's request id does not).
    await s.resources.clearOwnChange(f.ids.loadbalancerId, member.requestId);
    expect((await root())?.ownChangePending).toBe(true);
    const host = (await s.bindings.getBinding(f.ids.loadbalancerId))?.host as string;
    await s.agent(host).deps.applier.apply({
      requestId: member.requestId,
      tenantId: f.ids.tenantId,
      loadbalancerId: f.ids.loadbalancerId,
      resource: 'member',
      objectId: f.m1.object.id as string,
      operation: 'update',
    });
    expect(s.sim.dump()['ltm/virtual']).toEqual([expect.objectContaining({ enabled: true })]);
    expect((await root())?.provisioningStatus).toBe('PENDING_UPDATE');
    await s.settle();
    expect(s.sim.dump()['ltm/virtual']).toEqual([expect.objectContaining({ disabled: true })]);
    expect(await root()).toMatchObject({ provisioningStatus: 'ACTIVE', operatingStatus: 'OFFLINE' });
    expect((await root())?.ownChangePending).toBeUndefined();
  });

  it('never deletes an operator’s node in /Common when our last member on its address goes (#27.4)', async () => {
    const s = await system();
    // A node made by hand, with a description and a connection limit.
    s.sim.store.create('ltm/node', {
      name: '10.44.0.1',
      partition: 'Common',
      address: '10.44.0.1',
      description: 'db primary (operator)',
      connectionLimit: 100,
    });
    const ids = lbIds();
    const pool = requests.createPool(ids);
    const ours = requests.createMember(ids, pool.object.id as string, {
      address: '10.44.0.1',
      protocol_port: 5432,
    });
    const mine = requests.createMember(ids, pool.object.id as string, {
      address: '10.44.0.2',
      protocol_port: 5432,
    });
    await s.submitAndSettle(requests.createLoadbalancer(ids), pool, ours, mine);
    await s.submitAndSettle(requests.delete('member', ids, ours.object.id as string));
    await s.submitAndSettle(requests.delete('member', ids, mine.object.id as string));
    const nodes = (s.sim.dump()['ltm/node'] ?? []) as { fullPath: string; description?: string }[];
    // The operator's stays as it was; the one the device made for our member is cleaned up.
    expect(nodes.map((n) => [n.fullPath, n.description])).toEqual([
      ['/Common/10.44.0.1', 'db primary (operator)'],
    ]);
  });

  it('deletes a member, then a pool with its members and monitor, then the load balancer and its partition', async () => {
    const s = await system();
    const f = fullLoadBalancer();
    await s.submitAndSettle(...f.all);
    const host = (await s.bindings.getBinding(f.ids.loadbalancerId))?.host as string;

    await s.submitAndSettle(requests.delete('member', f.ids, f.m1.object.id as string));
    expect((s.sim.dump()['ltm/pool/members'] as unknown[]).length).toBe(1);
    expect((s.sim.dump()['ltm/node'] as { fullPath: string }[]).map((n) => n.fullPath)).toEqual([
      '/Common/2001:db8::5',
    ]);
    expect(byType(await s.resources.loadRecords(f.ids.loadbalancerId), 'member')).toHaveLength(1);

    await s.submitAndSettle(requests.delete('pool', f.ids, f.pool.object.id as string));
    const afterPool = s.sim.dump();
    expect(afterPool['ltm/pool']).toBeUndefined();
    expect(afterPool['ltm/monitor/http']).toBeUndefined();
    expect(afterPool['ltm/node']).toBeUndefined();
    expect(afterPool['ltm/virtual']).toEqual([expect.not.objectContaining({ pool: expect.anything() })]);
    const remaining = await s.resources.loadRecords(f.ids.loadbalancerId);
    expect(remaining.map((r) => r.type).sort()).toEqual(['listener', 'loadbalancer']);
    expect(remaining.map((r) => `${r.type}:${r.provisioningStatus}/${r.operatingStatus}`).sort()).toEqual([
      'listener:ACTIVE/OFFLINE',
      'loadbalancer:ACTIVE/OFFLINE',
    ]);

    await s.submitAndSettle(requests.delete('loadbalancer', f.ids, f.ids.loadbalancerId));
    expect(s.sim.dump()).toEqual({});
    expect(await s.resources.loadRecords(f.ids.loadbalancerId)).toEqual([]);
    expect(await s.bindings.getBinding(f.ids.loadbalancerId)).toBeUndefined();
    expect(await s.bindings.getTenantAffinity('Test', f.ids.tenantId)).toEqual({
      hosts: [],
      claim: undefined,
    });
    expect((await s.registry.getAgent('Test', host))?.loadbalancerCount).toBe(0);
  });

  it("keeps a tenant's partition while another of its load balancers lives in it", async () => {
    const s = await system();
    const tenant = lbIds().tenantId;
    const a = fullLoadBalancer(lbIds({ tenantId: tenant }));
    const b = lbIds({ tenantId: tenant });
    await s.submitAndSettle(...a.all, requests.createLoadbalancer(b, { vip_address: '10.0.0.11' }));
    await s.submitAndSettle(requests.delete('loadbalancer', a.ids, a.ids.loadbalancerId));
    expect(s.sim.partitions()).toEqual([`Test_${tenant}`]);
    expect(s.sim.dump()['ltm/virtual-address']).toHaveLength(1);
    expect((await s.resources.loadRecords(b.loadbalancerId))[0]?.provisioningStatus).toBe('ACTIVE');
  });

  it('refuses a listener on a port its VIP already serves before any agent work, and keeps the load balancer healthy', async () => {
    const s = await system();
    const ids = lbIds();
    const first = requests.createListener(ids, { protocol_port: 80 });
    const clash = requests.createListener(ids, { protocol_port: 80 });
    await s.submitAndSettle(requests.createLoadbalancer(ids), first);
    const calls = s.sim.calls.length;
    const { metrics } = await captureMetrics(() => s.submitAndSettle(clash));
    expect(metrics).toContainEqual(
      expect.objectContaining({ name: 'RejectedRequests', dimensions: { Reason: 'conflict' } }),
    );
    expect(s.sim.calls.length).toBe(calls); // nothing reached the device
    const records = await s.resources.loadRecords(ids.loadbalancerId);
    expect(records.map((r) => r.id)).not.toContain(clash.object.id);
    expect(records.every((r) => r.provisioningStatus === 'ACTIVE')).toBe(true);
  });

  it('puts the object and its load balancer in ERROR with the BIG-IP message when the device refuses', async () => {
    const s = await system();
    const ids = lbIds();
    // A virtual address made by hand in /Common holds the VIP: the device refuses ours (§2.2).
    s.sim.store.create('ltm/virtual-address', { name: 'by-hand', partition: 'Common', address: '10.77.0.1' });
    const lb = requests.createLoadbalancer(ids, { vip_address: '10.77.0.1' });
    await s.submitAndSettle(lb);
    const [root] = await s.resources.loadRecords(ids.loadbalancerId);
    expect(root?.provisioningStatus).toBe('ERROR');
    expect(root?.statusReason).toBe(
      '0107176c:3: Invalid Virtual Address, the IP address 10.77.0.1 already exists.',
    );
    expect(await s.dlqDepth()).toBe(0);
  });

  it('rides out a busy device and a connection reset after commit without duplicates', async () => {
    const s = await system();
    const f = fullLoadBalancer();
    s.sim.injectFault({ kind: 'busy', path: '/mgmt/tm/transaction', times: 2 });
    s.sim.injectFault({ kind: 'reset-after-commit', method: 'PATCH', path: /\/mgmt\/tm\/transaction\/\d+/ });
    await s.submitAndSettle(...f.all);
    const records = await s.resources.loadRecords(f.ids.loadbalancerId);
    expect(statuses(records)).toEqual(
      Object.fromEntries(
        records.map((r) => [`${r.type}:${r.id.slice(0, 4)}`, expect.stringMatching(/^ACTIVE\//)]),
      ),
    );
    expect(s.sim.calls.filter((c) => c.status === 409)).toEqual([]);
    expect((s.sim.dump()['ltm/pool/members'] as unknown[]).length).toBe(2);
  });

  it('logs in again when the token expires mid-stream', async () => {
    const s = await system();
    const ids = lbIds();
    await s.submitAndSettle(requests.createLoadbalancer(ids));
    s.sim.injectFault({ kind: 'expire-tokens' });
    await s.submitAndSettle(requests.createListener(ids));
    expect(
      (await s.resources.loadRecords(ids.loadbalancerId)).every((r) => r.provisioningStatus === 'ACTIVE'),
    ).toBe(true);
    expect(s.sim.calls.filter((c) => c.status === 401)).toHaveLength(1);
  });

  it('retries a device that keeps failing, then marks ERROR and dead-letters the request', async () => {
    const s = await system({ maxAttempts: 2 });
    const ids = lbIds();
    s.sim.injectFault({ kind: 'mcpd-restart', path: '/mgmt/tm/ltm', times: Infinity });
    await s.submitAndSettle(requests.createLoadbalancer(ids));
    const [root] = await s.resources.loadRecords(ids.loadbalancerId);
    expect(root?.provisioningStatus).toBe('ERROR');
    expect(root?.statusReason).toMatch(/gave up after 2 attempts: .*connection to mcpd has been lost/);
    const host = (await s.bindings.getBinding(ids.loadbalancerId))?.host as string;
    const dead = await s.clients.sqs.send(
      new (await import('@aws-sdk/client-sqs')).ReceiveMessageCommand({
        QueueUrl: s.agentQueues[host]?.dlqUrl,
        WaitTimeSeconds: 1,
      }),
    );
    expect(dead.Messages).toHaveLength(1);
  });

  it('never lets two agents write one partition at the same time', async () => {
    const s = await system({ leaseWaitMs: 10_000 });
    const tenant = lbIds().tenantId;
    const lbs = [lbIds({ tenantId: tenant }), lbIds({ tenantId: tenant }), lbIds({ tenantId: tenant })];
    // Scheduled (desired state recorded) but not yet applied by any agent.
    await s.deliver(
      lbs.map((ids, i) => requests.createLoadbalancer(ids, { vip_address: `10.0.0.${20 + i}` })),
    );
    // From its first read to the end of its writes, an apply is in the partition's critical section.
    const inside = { now: 0, max: 0 };
    for (const a of s.agents) {
      const device = a.cluster.units[0] as unknown as Record<
        'read' | 'execute',
        (...args: never[]) => Promise<unknown>
      >;
      const read = device.read.bind(device);
      const execute = device.execute.bind(device);
      device.read = async (...args: never[]) => {
        inside.now += 1;
        inside.max = Math.max(inside.max, inside.now);
        return read(...args);
      };
      device.execute = async (...args: never[]) => {
        try {
          return await execute(...args);
        } finally {
          inside.now -= 1;
        }
      };
    }
    s.sim.injectFault({ kind: 'latency', delayMs: 100, times: Infinity });
    const results = await Promise.all(
      lbs.map((ids, i) =>
        s.agents[i]?.deps.applier.apply({
          requestId: uuid(),
          tenantId: ids.tenantId,
          loadbalancerId: ids.loadbalancerId,
          resource: 'loadbalancer',
          objectId: ids.loadbalancerId,
          operation: 'create',
        }),
      ),
    );
    s.sim.faults.clear();
    expect(results.map((r) => r?.outcome)).toEqual(['applied', 'applied', 'applied']);
    expect(inside.max).toBe(1);
    expect(s.sim.dump()['ltm/virtual-address']).toHaveLength(3);
    expect(s.sim.partitions()).toEqual([`Test_${tenant}`]);
    for (const host of Object.keys(s.agentQueues)) await s.drainAgent(host);
  });
});

describe('agent pipeline with an HA pair', () => {
  it('never config-syncs from a unit that went standby: the change is applied again on the active one', async () => {
    const s = await system({ pair: true, deviceGroup: 'failover-group', hosts: ['agent-1'] });
    const pair = s.pair as NonNullable<System['pair']>;
    const ids = lbIds();
    await s.submitAndSettle(requests.createLoadbalancer(ids));
    pair.failover(); // the agent still believes bigip-a is active (cached status)
    pair.a.resetCalls();
    const listener = requests.createListener(ids);
    await s.submitAndSettle(listener);
    // The stray write went to a (now standby) but was never synced from it…
    expect(pair.a.calls.some((c) => c.method === 'POST' && c.path === '/mgmt/tm/ltm/virtual')).toBe(true);
    expect(pair.a.calls.some((c) => c.method === 'POST' && c.path === '/mgmt/tm/cm')).toBe(false);
    // …the retry applied it on b and synced b → a.
    expect(pair.b.calls.some((c) => c.method === 'POST' && c.path === '/mgmt/tm/cm')).toBe(true);
    expect(pair.b.dump()['ltm/virtual']).toHaveLength(1);
    expect(pair.a.dump()).toEqual(pair.b.dump());
    const record = (await s.resources.loadRecords(ids.loadbalancerId)).find(
      (r) => r.id === listener.object.id,
    );
    expect(record?.provisioningStatus).toBe('ACTIVE');
  });

  it('reports a change ACTIVE only once the unit active after an asynchronous config-sync has it (§4.3)', async () => {
    const s = await system({
      pair: true,
      deviceGroup: 'failover-group',
      hosts: ['agent-1'],
      sim: { syncDelayMs: 200 },
    });
    const pair = s.pair as NonNullable<System['pair']>;
    const ids = lbIds();
    await s.submitAndSettle(requests.createLoadbalancer(ids));
    expect(pair.b.dump()).toEqual(pair.a.dump()); // waited for In Sync
    // The next sync's window: the pair fails over before the peer has the listener.
    pair.a.events.once('config-sync', () => pair.failover());
    const listener = requests.createListener(ids);
    await s.submitAndSettle(listener);
    const vsPath = `/Test_${ids.tenantId}/Test_${listener.object.id}`;
    // The sync from a failed; the retry put the listener on b, the unit active now.
    expect(pair.b.calls.some((c) => c.method === 'POST' && c.path === '/mgmt/tm/ltm/virtual')).toBe(true);
    expect((pair.b.dump()['ltm/virtual'] as { fullPath: string }[]).map((v) => v.fullPath)).toEqual([vsPath]);
    const record = (await s.resources.loadRecords(ids.loadbalancerId)).find(
      (r) => r.id === listener.object.id,
    );
    expect(record?.provisioningStatus).toBe('ACTIVE');
  });

  it('treats a failed config-sync as transient: retried until the group is In Sync, never ACTIVE before', async () => {
    const s = await system({ pair: true, deviceGroup: 'failover-group', hosts: ['agent-1'], maxAttempts: 2 });
    const pair = s.pair as NonNullable<System['pair']>;
    const ids = lbIds();
    pair.a.sync.injected = 'Disconnected'; // the peer cannot be reached: every sync fails
    await s.submitAndSettle(requests.createLoadbalancer(ids));
    const [root] = await s.resources.loadRecords(ids.loadbalancerId);
    expect(root?.provisioningStatus).toBe('ERROR');
    expect(root?.statusReason).toMatch(/config-sync of failover-group from bigip-a ended Disconnected/);
    expect(pair.b.partitions()).toEqual([]);

    // The peer is back: the next request for the load balancer finishes the sync, though it writes nothing new.
    pair.a.sync.injected = undefined;
    // A description is not on the device: this apply writes nothing, and still finishes the sync.
    await s.submitAndSettle(
      requests.update('loadbalancer', ids, { id: ids.loadbalancerId, description: 'again' }),
    );
    expect(pair.b.dump()).toEqual(pair.a.dump());
    expect((await s.resources.loadRecords(ids.loadbalancerId))[0]?.provisioningStatus).toBe('ACTIVE');
  });

  it('applies on the active unit while the standby hangs on every call', async () => {
    // Calls to the hung unit would wait a minute each: the apply must not wait for them at all.
    const s = await system({
      pair: true,
      deviceGroup: 'failover-group',
      hosts: ['agent-1'],
      restTimeoutMs: 60_000,
    });
    const pair = s.pair as NonNullable<System['pair']>;
    pair.b.injectFault({ kind: 'hang', times: Number.POSITIVE_INFINITY });
    const ids = lbIds();
    await s.submitAndSettle(requests.createLoadbalancer(ids));
    const [root] = await s.resources.loadRecords(ids.loadbalancerId);
    expect(root?.provisioningStatus).toBe('ACTIVE');
    expect(pair.a.partitions()).toEqual([`Test_${ids.tenantId}`]);
  });

  it('writes to the active unit, config-syncs the group, and follows a failover', async () => {
    const s = await system({ pair: true, deviceGroup: 'failover-group', hosts: ['agent-1'] });
    const pair = s.pair as NonNullable<System['pair']>;
    const ids = lbIds();
    await s.submitAndSettle(requests.createLoadbalancer(ids));
    expect(pair.a.calls.some((c) => c.method === 'POST' && c.path === '/mgmt/tm/cm')).toBe(true);
    expect(pair.b.dump()).toEqual(pair.a.dump());
    expect(pair.b.calls.filter((c) => c.method !== 'GET' && !c.path.includes('authn'))).toEqual([]);

    pair.failover();
    s.agents[0]?.cluster.invalidate(); // the next status poll would see it within the cache TTL
    await s.submitAndSettle(requests.createListener(ids));
    expect(pair.b.calls.some((c) => c.method === 'POST' && c.path === '/mgmt/tm/ltm/virtual')).toBe(true);
    expect(pair.a.dump()['ltm/virtual']).toHaveLength(1); // synced back from b
  });
});
