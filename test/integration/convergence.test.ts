import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaticCredentials } from '../../functions/adapters/device-credentials.js';
import { LoadBalancerApplier } from '../../functions/services/load-balancer-applier.js';
import { wirePartitionWriter } from '../../functions/wiring/device-cluster-wiring.js';
import { BigIpSimulator } from '../../local/bigip-simulator/bigip-simulator.js';
import { lbIds, requests, uuid } from '../support/factories.js';
import { InMemoryAgentRegistry } from '../support/fakes/in-memory-agent-registry.js';
import { InMemoryBindingStore } from '../support/fakes/in-memory-binding-store.js';
import { InMemoryHealthStore } from '../support/fakes/in-memory-health-store.js';
import { InMemoryLease } from '../support/fakes/in-memory-lease.js';
import { InMemoryResourceStore } from '../support/fakes/in-memory-resource-store.js';
import { InMemorySyncLedger } from '../support/fakes/in-memory-sync-ledger.js';
import { parsed } from '../support/service-fixtures.js';

/**
 * Convergence on a device that behaves like a real one (device-facts.md §1): for every shape
 * the product supports, applying a load balancer a second time, unchanged, makes no write at all.
 * The stores are in memory; the device path is real: iControl REST client → simulator.
 */
const ENV = 'Conv';
const VERSIONS = ['12.1.2', '13.1.0.4', '14.1.2.1', '15.1.0', '17.1.2.1'];
const sims = new Map<string, BigIpSimulator>();
const urls = new Map<string, string>();

beforeAll(async () => {
  for (const version of VERSIONS) {
    const sim = new BigIpSimulator({ version });
    urls.set(version, await sim.listen());
    sims.set(version, sim);
  }
});
afterAll(async () => {
  for (const sim of sims.values()) await sim.close();
});

const octet = fc.integer({ min: 1, max: 254 });
const ipv4 = fc.tuple(octet, octet).map(([a, b]) => `10.${a}.${b}.7`);
const ipv6 = fc
  .tuple(fc.integer({ min: 1, max: 0xfffe }), fc.integer({ min: 1, max: 0xfffe }))
  .map(([a, b]) => `2001:db8:${a.toString(16)}::${b.toString(16)}`);
const address = fc.oneof(ipv4, ipv6);

const monitor = fc.record({
  type: fc.constantFrom('PING', 'TCP', 'HTTP', 'HTTPS'),
  delay: fc.integer({ min: 1, max: 30 }),
  ratio: fc.double({ min: 0.05, max: 1, noNaN: true }),
  max_retries: fc.integer({ min: 1, max: 3 }),
  http_method: fc.constantFrom('GET', 'HEAD'),
  url_path: fc.constantFrom('/', '/health', '/status?full=1'),
  expected_codes: fc.constantFrom('200', '200,202', '200-204'),
});

const member = fc.record({
  address,
  protocol_port: fc.integer({ min: 1, max: 65535 }),
  weight: fc.integer({ min: 0, max: 5 }),
  admin_state_up: fc.boolean(),
  // Backup members: the pool's priority group activation must converge too.
  backup: fc.boolean(),
});

/** L7 policies on the first HTTP listener: each kind of rule and action (redirect codes, case options). */
const l7 = fc.array(
  fc.record({
    action: fc.constantFrom('REJECT', 'REDIRECT_TO_URL', 'REDIRECT_PREFIX', 'REDIRECT_TO_POOL'),
    code: fc.constantFrom(301, 302, 307),
    rule: fc.record({
      type: fc.constantFrom('HOST_NAME', 'PATH', 'FILE_TYPE', 'HEADER', 'COOKIE'),
      compare_type: fc.constantFrom('EQUAL_TO', 'STARTS_WITH', 'ENDS_WITH', 'CONTAINS'),
      invert: fc.boolean(),
    }),
  }),
  { maxLength: 2 },
);

const shape = fc.record({
  version: fc.constantFrom(...VERSIONS),
  vip: address,
  lbUp: fc.boolean(),
  listeners: fc.uniqueArray(
    fc.record({
      protocol: fc.constantFrom('HTTP', 'HTTPS', 'TCP'),
      protocol_port: fc.integer({ min: 1, max: 65535 }),
      admin_state_up: fc.boolean(),
      connection_limit: fc.constantFrom(-1, 0, 100),
    }),
    { minLength: 1, maxLength: 3, selector: (l) => l.protocol_port },
  ),
  pool: fc.record({
    lb_algorithm: fc.constantFrom('ROUND_ROBIN', 'LEAST_CONNECTIONS', 'SOURCE_IP'),
    persistence: fc.constantFrom(null, 'SOURCE_IP', 'HTTP_COOKIE', 'APP_COOKIE'),
    admin_state_up: fc.boolean(),
    members: fc.uniqueArray(member, { maxLength: 4, selector: (m) => `${m.address}|${m.protocol_port}` }),
    monitor: fc.option(monitor, { nil: undefined }),
  }),
  l7,
});

type Shape = typeof shape extends fc.Arbitrary<infer T> ? T : never;

/** The requests that build one load balancer of the shape, in the order a producer sends them. */
function messagesFor(s: Shape) {
  const ids = lbIds();
  const poolId = uuid();
  const http = s.listeners.find((l) => l.protocol === 'HTTP');
  // Cookie persistence needs an HTTP listener: attach the pool to one when there is one.
  const persistence = s.pool.persistence?.endsWith('COOKIE') && !http ? 'SOURCE_IP' : s.pool.persistence;
  const owner = persistence?.endsWith('COOKIE') ? http : s.listeners[0];
  const listeners = s.listeners.map((l) => ({ ...l, id: uuid() }));
  const out: Record<string, unknown>[] = [
    requests.createLoadbalancer(ids, { vip_address: s.vip, admin_state_up: s.lbUp }),
  ];
  for (const l of listeners) out.push(requests.createListener(ids, { ...l }));
  const ownerId = listeners[s.listeners.indexOf(owner ?? (s.listeners[0] as Shape['listeners'][number]))]?.id;
  out.push(
    requests.createPool(ids, {
      id: poolId,
      protocol: 'HTTP',
      lb_algorithm: s.pool.lb_algorithm,
      admin_state_up: s.pool.admin_state_up,
      listener_id: ownerId,
      session_persistence: persistence
        ? { type: persistence, ...(persistence === 'APP_COOKIE' ? { cookie_name: 'JSESSIONID' } : {}) }
        : null,
    }),
  );
  for (const m of s.pool.members) out.push(requests.createMember(ids, poolId, { ...m }));
  const httpListener = listeners.find((l) => l.protocol === 'HTTP');
  for (const p of httpListener ? s.l7 : []) {
    const policy = requests.createL7Policy(ids, httpListener?.id as string, {
      action: p.action,
      ...(p.action === 'REDIRECT_TO_URL'
        ? { redirect_url: 'https://new.example.com/', redirect_http_code: p.code }
        : {}),
      ...(p.action === 'REDIRECT_PREFIX'
        ? { redirect_prefix: 'https://new.example.com', redirect_http_code: p.code }
        : {}),
      ...(p.action === 'REDIRECT_TO_POOL' ? { redirect_pool_id: poolId } : {}),
    });
    out.push(
      policy,
      requests.createL7Rule(ids, policy.object.id as string, {
        ...p.rule,
        value: {
          HOST_NAME: 'Shop.Example.com',
          PATH: '/Api',
          FILE_TYPE: 'JPG',
          HEADER: 'Yes',
          COOKIE: 'Yes',
        }[p.rule.type],
        ...(['HEADER', 'COOKIE'].includes(p.rule.type) ? { key: 'X-Test' } : {}),
      }),
    );
  }
  if (s.pool.monitor) {
    const { ratio, ...hm } = s.pool.monitor;
    out.push(
      requests.createHealthMonitor(ids, poolId, {
        ...hm,
        timeout: Math.max(1, Math.floor(hm.delay * ratio)),
      }),
    );
  }
  return { ids, messages: out };
}

describe('re-applying an unchanged load balancer writes nothing (every supported shape)', () => {
  it('holds for generated trees on BIG-IP 12.1, 13.1, 14.1, 15.1 and 17.1', async () => {
    await fc.assert(
      fc.asyncProperty(shape, async (s) => {
        const sim = sims.get(s.version) as BigIpSimulator;
        const resources = new InMemoryResourceStore();
        const { cluster, writer } = wirePartitionWriter(
          {
            devices: [{ name: 'bigip1', baseUrl: urls.get(s.version) as string }],
            deviceSecretId: 'local',
            caBundle: undefined,
            deviceGroup: undefined,
            trafficGroup: undefined,
            clusterName: 'c1',
            restTimeoutMs: 5_000,
          },
          {
            env: ENV,
            lease: new InMemoryLease(),
            ledger: new InMemorySyncLedger(),
            owner: 'agent-1',
            newOwner: uuid,
            credentials: new StaticCredentials({ username: 'admin', password: 'admin' }),
          },
        );
        const applier = new LoadBalancerApplier({
          env: ENV,
          host: 'agent-1',
          resources,
          bindings: new InMemoryBindingStore(),
          registry: new InMemoryAgentRegistry(),
          writer,
          statistics: new InMemoryHealthStore(resources),
          clock: Date.now,
        });
        const { ids, messages } = messagesFor(s);
        for (const m of messages) await resources.recordRequest(parsed(m), ENV, Date.now());
        const target = {
          requestId: 'r',
          tenantId: ids.tenantId,
          loadbalancerId: ids.loadbalancerId,
          resource: 'loadbalancer' as const,
          objectId: ids.loadbalancerId,
          operation: 'create' as const,
        };
        try {
          const first = await applier.apply(target);
          expect(first.outcome).toBe('applied');
          const records = await resources.loadRecords(ids.loadbalancerId);
          expect(
            records
              .filter((r) => r.provisioningStatus !== 'ACTIVE')
              .map((r) => `${r.type}: ${r.statusReason}`),
          ).toEqual([]);
          const before = sim.calls.length;
          const second = await applier.apply(target);
          const writes = sim.calls.slice(before).filter((c) => c.method !== 'GET');
          expect(second).toMatchObject({ outcome: 'applied', commands: 0 });
          expect(writes.map((c) => `${c.method} ${c.path}`)).toEqual([]);
        } finally {
          // Leave the device empty for the next tree (a delete applies the whole load balancer).
          await resources.recordRequest(
            parsed(requests.delete('loadbalancer', ids, ids.loadbalancerId)),
            ENV,
            Date.now(),
          );
          await applier.apply({ ...target, operation: 'delete' });
          await cluster.close();
        }
      }),
      { numRuns: 40 },
    );
    for (const sim of sims.values()) expect(sim.dump()).toEqual({});
  }, 120_000);
});
