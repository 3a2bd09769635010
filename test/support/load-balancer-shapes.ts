import fc from 'fast-check';
import { lbIds, requests, uuid } from './factories.js';

/**
 * Load balancer trees of every shape the product supports, generated (fast-check), and the requests
 * that build one, in the order a producer sends them: what the convergence property tests apply
 * (test/integration/convergence*.test.ts).
 */

/** The TMOS versions the agent supports, as their simulators report them. */
export const VERSIONS = ['12.1.2', '13.1.0.4', '14.1.2.1', '15.1.0', '17.1.2.1'];

const octet = fc.integer({ min: 1, max: 254 });
const ipv4 = fc.tuple(octet, octet).map(([a, b]) => `10.${a}.${b}.7`);
const ipv6 = fc
  .tuple(fc.integer({ min: 1, max: 0xfffe }), fc.integer({ min: 1, max: 0xfffe }))
  .map(([a, b]) => `2001:db8:${a.toString(16)}::${b.toString(16)}`);
const address = fc.oneof(ipv4, ipv6);

const monitor = fc.record({
  type: fc.constantFrom('PING', 'TCP', 'HTTP', 'HTTPS', 'TLS-HELLO'),
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

/**
 * L7 policies on the first HTTP listener: each kind of rule and action (redirect codes, case
 * options), one or two rules each (conditions that must all match).
 */
const l7 = fc.array(
  fc.record({
    action: fc.constantFrom('REJECT', 'REDIRECT_TO_URL', 'REDIRECT_PREFIX', 'REDIRECT_TO_POOL'),
    code: fc.constantFrom(301, 302, 307),
    rules: fc.uniqueArray(
      fc.record({
        type: fc.constantFrom('HOST_NAME', 'PATH', 'FILE_TYPE', 'HEADER', 'COOKIE'),
        compare_type: fc.constantFrom('EQUAL_TO', 'STARTS_WITH', 'ENDS_WITH', 'CONTAINS'),
        invert: fc.boolean(),
      }),
      { minLength: 1, maxLength: 2, selector: (r) => r.type },
    ),
  }),
  { maxLength: 2 },
);

export const shape = fc.record({
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

export type Shape = typeof shape extends fc.Arbitrary<infer T> ? T : never;

/** The requests that build one load balancer of the shape, in the order a producer sends them. */
export function messagesFor(s: Shape) {
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
    out.push(policy);
    for (const rule of p.rules)
      out.push(
        requests.createL7Rule(ids, policy.object.id as string, {
          ...rule,
          value: {
            HOST_NAME: 'Shop.Example.com',
            PATH: '/Api',
            FILE_TYPE: 'JPG',
            HEADER: 'Yes',
            COOKIE: 'Yes',
          }[rule.type],
          ...(['HEADER', 'COOKIE'].includes(rule.type) ? { key: 'X-Test' } : {}),
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
