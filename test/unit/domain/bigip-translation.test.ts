import { describe, expect, it } from 'vitest';
import type { BigIpObject } from '../../../functions/domain/bigip-objects.js';
import { operatingStatusFor, translate } from '../../../functions/domain/bigip-translation.js';
import { TreeBuilder } from '../../support/trees.js';

const env = 'Project';
const find = (objects: Map<string, BigIpObject>, kind: string, name?: string) =>
  [...objects.values()].find((o) => o.kind === kind && (!name || o.name === name));

describe('translate: load balancer tree → BIG-IP objects (upstream naming)', () => {
  it('maps the load balancer to a partition and a virtual address', () => {
    const b = new TreeBuilder({ vip_address: '10.0.0.10', name: 'web', admin_state_up: false });
    const t = translate(b.tree(), { env });
    expect(t.partition).toBe(`Project_${b.ids.tenantId}`);
    expect(find(t.present, 'folder')).toMatchObject({ name: t.partition });
    expect(find(t.present, 'virtual-address')).toEqual({
      kind: 'virtual-address',
      partition: t.partition,
      name: `Project_${b.ids.loadbalancerId}`,
      attrs: {
        address: '10.0.0.10',
        enabled: 'no',
        autoDelete: 'false',
        trafficGroup: '/Common/traffic-group-1',
        description: 'web',
      },
    });
  });

  it('maps listeners by protocol, with port, connection limit, admin state and default pool', () => {
    const b = new TreeBuilder({ vip_address: '10.0.0.10' });
    const pool = b.pool();
    const http = b.listener({
      protocol: 'HTTP',
      protocol_port: 80,
      connection_limit: 500,
      default_pool_id: pool.id,
      name: 'web',
    });
    const https = b.listener({ protocol: 'HTTPS', protocol_port: 443, admin_state_up: false });
    const tcp = b.listener({ protocol: 'TCP', protocol_port: 5432 });
    const t = translate(b.tree(), { env });
    const vs = (id: string) => find(t.present, 'virtual', `Project_${id}`)?.attrs;
    expect(vs(http.id)).toEqual({
      destination: `/${t.partition}/10.0.0.10:80`,
      mask: '255.255.255.255',
      ipProtocol: 'tcp',
      pool: `/${t.partition}/Project_${pool.id}`,
      // The device adds /Common/tcp to an HTTP virtual (device-facts.md §1.2): it is sent, so it compares equal.
      profiles: ['/Common/http', '/Common/oneconnect', '/Common/tcp'],
      persist: [],
      sourceAddressTranslation: { type: 'automap' },
      connectionLimit: 500,
      enabled: true,
      description: 'web',
    });
    expect(vs(https.id)).toMatchObject({
      profiles: ['/Common/fastL4'],
      enabled: false,
      pool: '',
      connectionLimit: 0,
    });
    expect(vs(tcp.id)).toMatchObject({
      profiles: ['/Common/fastL4'],
      destination: `/${t.partition}/10.0.0.10:5432`,
    });
  });

  it('uses a dot before the port and an all-ones mask for an IPv6 VIP', () => {
    const b = new TreeBuilder({ vip_address: '2001:db8::10' });
    b.listener({ protocol_port: 443, protocol: 'TCP' });
    const t = translate(b.tree(), { env });
    expect(find(t.present, 'virtual')?.attrs).toMatchObject({
      destination: `/${t.partition}/2001:db8::10.443`,
      mask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    });
  });

  it('maps a pool created with listener_id as that listener default pool', () => {
    const b = new TreeBuilder();
    const listener = b.listener();
    const pool = b.pool({ listener_id: listener.id });
    const t = translate(b.tree(), { env });
    expect(find(t.present, 'virtual')?.attrs.pool).toBe(`/${t.partition}/Project_${pool.id}`);
  });

  it.each([
    ['ROUND_ROBIN', 1, 'round-robin'],
    ['ROUND_ROBIN', 5, 'ratio-member'],
    ['LEAST_CONNECTIONS', 1, 'least-connections-member'],
    ['LEAST_CONNECTIONS', 3, 'ratio-least-connections-member'],
    ['SOURCE_IP', 1, 'least-connections-node'],
    ['SOURCE_IP_PORT', 1, 'round-robin'],
    ['SOURCE_IP_PORT', 4, 'ratio-member'],
  ])('maps lb_algorithm %s with weight %i to %s', (algorithm, weight, mode) => {
    const b = new TreeBuilder();
    const pool = b.pool({ lb_algorithm: algorithm });
    b.member(pool.id, { weight });
    expect(find(translate(b.tree(), { env }).present, 'pool')?.attrs.loadBalancingMode).toBe(mode);
  });

  it.each([
    [{ type: 'SOURCE_IP' }, 'HTTP', ['/Common/source_addr']],
    [{ type: 'HTTP_COOKIE' }, 'HTTP', ['/Common/cookie']],
    [null, 'TCP', []],
  ])('maps session persistence %j on a %s listener', (persistence, protocol, persist) => {
    const b = new TreeBuilder();
    const pool = b.pool({ session_persistence: persistence });
    b.listener({ protocol, default_pool_id: pool.id });
    expect(find(translate(b.tree(), { env }).present, 'virtual')?.attrs.persist).toEqual(persist);
  });

  it('maps APP_COOKIE to a cookie-hash persistence profile in the partition', () => {
    const b = new TreeBuilder();
    const pool = b.pool({ session_persistence: { type: 'APP_COOKIE', cookie_name: 'JSESSIONID' } });
    b.listener({ default_pool_id: pool.id });
    const t = translate(b.tree(), { env });
    const profile = find(t.present, 'persistence-cookie');
    expect(profile).toMatchObject({
      name: `Project_${pool.id}_cookie`,
      attrs: { method: 'hash', cookieName: 'JSESSIONID', defaultsFrom: '/Common/cookie' },
    });
    expect(find(t.present, 'virtual')?.attrs.persist).toEqual([`/${t.partition}/Project_${pool.id}_cookie`]);
  });

  it('gives a member with an alternate monitor address or port a monitor of its own, aimed there', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    const hm = b.healthmonitor(pool.id, { type: 'HTTP', url_path: '/health' });
    const v4 = b.member(pool.id, { address: '10.0.1.5', monitor_address: '10.0.9.9', monitor_port: 8081 });
    const v6 = b.member(pool.id, { address: '2001:db8::5', monitor_address: '2001:db8:0:0:0:0:0:9' });
    const portOnly = b.member(pool.id, { address: '10.0.1.6', monitor_port: 9000 });
    const plain = b.member(pool.id, { address: '10.0.1.7' });
    const t = translate(b.tree(), { env });
    const pooled = find(t.present, 'monitor', `Project_${hm.id}`);
    const own = (id: string) => find(t.present, 'monitor', `Project_${id}`);
    // The pool's settings, with an alias destination (IPv6 canonical, a dot before its port).
    expect(own(v4.id)).toEqual({
      ...pooled,
      name: `Project_${v4.id}`,
      attrs: { ...pooled?.attrs, destination: '10.0.9.9:8081' },
    });
    expect(own(v6.id)?.attrs.destination).toBe('2001:db8::9.*');
    expect(own(portOnly.id)?.attrs.destination).toBe('*:9000');
    expect(own(plain.id)).toBeUndefined();
    const memberMonitor = (address: string) =>
      [...t.present.values()].find((o) => o.kind === 'member' && o.attrs.address === address)?.attrs.monitor;
    expect(memberMonitor('10.0.1.5')).toBe(`/${t.partition}/Project_${v4.id}`);
    expect(memberMonitor('10.0.1.7')).toBe('default');
  });

  it('gives a member no monitor of its own while its pool is unchecked (no monitor, or a disabled one)', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    const member = b.member(pool.id, { monitor_address: '10.0.9.9' });
    const bare = translate(b.tree(), { env });
    expect(find(bare.present, 'monitor')).toBeUndefined();
    b.healthmonitor(pool.id, { admin_state_up: false });
    const disabled = translate(b.tree(), { env });
    expect(find(disabled.present, 'monitor', `Project_${member.id}`)).toBeUndefined();
    expect(find(disabled.present, 'member')?.attrs.monitor).toBe('default');
    // Still listed: one left on a device is found and removed.
    expect(disabled.memberMonitors.has(`/${disabled.partition}/Project_${member.id}`)).toBe(true);
  });

  it('opens a PROXY pool’s server connections with a PROXY header: an iRule owned by the pool, run by the virtuals using it', () => {
    const b = new TreeBuilder();
    const proxy = b.pool({ protocol: 'PROXY' });
    const plain = b.pool({ protocol: 'HTTP' });
    const tcp = b.listener({ protocol: 'TCP', protocol_port: 1234, default_pool_id: proxy.id });
    const http = b.listener({ protocol: 'HTTP', protocol_port: 80, default_pool_id: plain.id });
    const other = b.listener({ protocol: 'HTTP', protocol_port: 81, default_pool_id: plain.id });
    b.l7policy(http.id, { action: 'REDIRECT_TO_POOL', redirect_pool_id: proxy.id });
    const t = translate(b.tree(), { env });
    const rulePath = `/${t.partition}/Project_${proxy.id}_proxy`;
    const rule = find(t.present, 'rule');
    expect(rule?.name).toBe(`Project_${proxy.id}_proxy`);
    // Only for connections to this pool, and nothing in it but the pool's own (checked) name.
    expect(rule?.attrs.apiAnonymous).toContain(`[LB::server pool] eq "/${t.partition}/Project_${proxy.id}"`);
    expect(rule?.attrs.apiAnonymous).toContain(String.raw`[TCP::remote_port] [TCP::local_port]\r\n"`);
    const vs = (id: string) => find(t.present, 'virtual', `Project_${id}`)?.attrs;
    // A full TCP proxy instead of fastL4, and no connection reuse behind HTTP.
    expect(vs(tcp.id)).toMatchObject({ rules: [rulePath], profiles: ['/Common/tcp'] });
    expect(vs(http.id)).toMatchObject({ rules: [rulePath], profiles: ['/Common/http', '/Common/tcp'] });
    expect(vs(other.id)).toMatchObject({
      rules: [],
      profiles: ['/Common/http', '/Common/oneconnect', '/Common/tcp'],
    });

    b.status(proxy, 'PENDING_DELETE');
    const gone = translate(b.tree(), { env });
    expect(find(gone.absent, 'rule')?.name).toBe(`Project_${proxy.id}_proxy`);
    expect(find(gone.present, 'virtual', `Project_${tcp.id}`)?.attrs).toMatchObject({
      rules: [],
      profiles: ['/Common/fastL4'],
    });
  });

  it('leaves the iRules of virtual servers alone in a load balancer without PROXY pools', () => {
    const b = new TreeBuilder();
    b.listener({ default_pool_id: b.pool().id });
    expect(find(translate(b.tree(), { env }).present, 'virtual')?.attrs).not.toHaveProperty('rules');
  });

  it('gives SOURCE_IP pools source-address persistence, as upstream does', () => {
    const b = new TreeBuilder();
    const pool = b.pool({ lb_algorithm: 'SOURCE_IP' });
    b.listener({ default_pool_id: pool.id });
    expect(find(translate(b.tree(), { env }).present, 'virtual')?.attrs.persist).toEqual([
      '/Common/source_addr',
    ]);
  });

  it('refuses cookie persistence behind a TCP listener, on the listener', () => {
    const b = new TreeBuilder();
    const pool = b.pool({ session_persistence: { type: 'HTTP_COOKIE' } });
    const listener = b.listener({ protocol: 'TCP', default_pool_id: pool.id });
    const t = translate(b.tree(), { env });
    expect(t.errors.get(`listener#${listener.id}`)).toMatch(
      /HTTP_COOKIE persistence .* needs an HTTP listener/,
    );
    expect(find(t.present, 'virtual')).toBeUndefined();
  });

  it('maps members with ip:port names (IPv6 ip.port), ratio = weight, weight 0 or admin down disabled', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    b.member(pool.id, { address: '10.0.1.5', protocol_port: 8080, weight: 3, name: 'a' });
    b.member(pool.id, { address: '2001:db8::5', protocol_port: 80, weight: 0 });
    b.member(pool.id, { address: '10.0.1.6', protocol_port: 80, admin_state_up: false });
    const members = [...translate(b.tree(), { env }).present.values()].filter((o) => o.kind === 'member');
    expect(members.map((m) => [m.name, m.attrs.ratio, m.attrs.session]).sort()).toEqual([
      ['10.0.1.5:8080', 3, 'user-enabled'],
      ['10.0.1.6:80', 1, 'user-disabled'],
      ['2001:db8::5.80', 1, 'user-disabled'],
    ]);
    expect(members[0]?.pool).toBe(`Project_${pool.id}`);
  });

  it('maps backup members to priority group activation: backups in the lower group, others above', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    const plain = b.pool();
    b.member(pool.id, { address: '10.0.1.5', protocol_port: 80 });
    b.member(pool.id, { address: '10.0.1.6', protocol_port: 80, backup: true });
    b.member(plain.id, { address: '10.0.1.7', protocol_port: 80 });
    const t = translate(b.tree(), { env });
    const objects = [...t.present.values()];
    const pools = objects.filter((o) => o.kind === 'pool');
    expect(pools.find((p) => p.name === `Project_${pool.id}`)?.attrs.minActiveMembers).toBe(1);
    // A pool without backups keeps the device's defaults: nothing to write for existing pools.
    expect(pools.find((p) => p.name === `Project_${plain.id}`)?.attrs.minActiveMembers).toBe(0);
    const members = objects.filter((o) => o.kind === 'member');
    expect(members.map((m) => [m.name, m.attrs.priorityGroup]).sort()).toEqual([
      ['10.0.1.5:80', 1],
      ['10.0.1.6:80', 0],
      ['10.0.1.7:80', 0],
    ]);
  });

  it('disables every member of an admin-down pool', () => {
    const b = new TreeBuilder();
    const pool = b.pool({ admin_state_up: false });
    b.member(pool.id);
    expect(find(translate(b.tree(), { env }).present, 'member')?.attrs.session).toBe('user-disabled');
  });

  it('refuses a second member at the same address and port in one pool', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    b.member(pool.id, { address: '10.0.0.1', protocol_port: 80 });
    const twin = b.member(pool.id, { address: '10.0.0.1', protocol_port: 80 });
    expect(translate(b.tree(), { env }).errors.get(`member#${twin.id}`)).toMatch(/already has member/);
  });

  it.each([
    ['PING', 'gateway-icmp', { interval: 10, timeout: 15, description: '' }],
    ['TCP', 'tcp', { interval: 10, timeout: 15, description: '' }],
  ])('maps a %s health monitor to a %s monitor (timeout = retries × timeout)', (type, monitorType, attrs) => {
    const b = new TreeBuilder();
    const pool = b.pool();
    b.healthmonitor(pool.id, { type, delay: 10, timeout: 5, max_retries: 3, name: '' });
    const t = translate(b.tree(), { env });
    expect(find(t.present, 'monitor')).toMatchObject({ monitorType, attrs });
    expect(find(t.present, 'pool')?.attrs.monitor).toMatch(/^\/Project_.*\/Project_/);
  });

  it('takes a disabled health monitor off its pool (no checks, members NO_MONITOR) and puts it back once enabled (#27.8)', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    const member = b.member(pool.id);
    const hm = b.healthmonitor(pool.id, { admin_state_up: false });
    const off = translate(b.tree(), { env });
    expect(find(off.present, 'pool')?.attrs.monitor).toBe('');
    // The monitor itself stays on the device, checking nothing, ready to be put back.
    expect(find(off.present, 'monitor')).toBeDefined();
    expect(operatingStatusFor(b.tree(), member)).toBe('NO_MONITOR');
    expect(operatingStatusFor(b.tree(), hm)).toBe('OFFLINE');
    (hm.desired as { admin_state_up: boolean }).admin_state_up = true;
    const on = translate(b.tree(), { env });
    expect(find(on.present, 'pool')?.attrs.monitor).toBe(`/${on.partition}/Project_${hm.id}`);
    expect(operatingStatusFor(b.tree(), member)).not.toBe('NO_MONITOR');
  });

  it('maps HTTP(S) monitors with method, URL path and expected codes', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    b.healthmonitor(pool.id, {
      type: 'HTTPS',
      http_method: 'HEAD',
      url_path: '/status?full=1',
      expected_codes: '200,202-204',
      delay: 7,
      timeout: 2,
      max_retries: 4,
    });
    expect(find(translate(b.tree(), { env }).present, 'monitor')).toMatchObject({
      monitorType: 'https',
      attrs: {
        interval: 7,
        timeout: 8,
        // The escaped form every F5 client sends (§1.4): backslash-r backslash-n, not CR LF.
        send: String.raw`HEAD /status?full=1 HTTP/1.0\r\n\r\n`,
        recv: 'HTTP/1\\.(0|1) (200|202|203|204)',
      },
    });
  });

  it('sends HTTP/1.1 with the Host header when the monitor names its version and domain', () => {
    const b = new TreeBuilder();
    b.healthmonitor(b.pool().id, {
      type: 'HTTP',
      url_path: '/healthz',
      http_version: 1.1,
      domain_name: 'app.example.com',
    });
    b.healthmonitor(b.pool().id, { type: 'HTTP', url_path: '/v11', http_version: 1.1 });
    const sends = [...translate(b.tree(), { env }).present.values()]
      .filter((o) => o.kind === 'monitor')
      .map((o) => String(o.attrs.send))
      .sort();
    expect(sends).toEqual([
      String.raw`GET /healthz HTTP/1.1\r\nHost: app.example.com\r\n\r\n`,
      String.raw`GET /v11 HTTP/1.1\r\n\r\n`,
    ]);
  });

  it.each([
    // delay, timeout, retries → BIG-IP interval/timeout; 13.0+ keeps interval below timeout (§1.3).
    [5, 3, 1, { interval: 5, timeout: 6 }],
    [10, 10, 1, { interval: 10, timeout: 11 }],
    [30, 10, 1, { interval: 30, timeout: 31 }],
    [5, 5, 3, { interval: 5, timeout: 15 }],
  ])('keeps a monitor’s interval below its timeout (delay %i, timeout %i, retries %i)', (delay, timeout, max_retries, attrs) => {
    const b = new TreeBuilder();
    const pool = b.pool();
    b.healthmonitor(pool.id, { type: 'TCP', delay, timeout, max_retries });
    const monitor = find(translate(b.tree(), { env }).present, 'monitor') as {
      attrs: Record<string, number>;
    };
    expect(monitor.attrs).toMatchObject(attrs);
    expect(monitor.attrs.interval).toBeLessThan(monitor.attrs.timeout as number);
  });

  it('lists deleted objects, and the children of a deleted pool, as absent', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    const hm = b.healthmonitor(pool.id);
    b.member(pool.id);
    const listener = b.listener({ default_pool_id: pool.id });
    b.status(pool, 'PENDING_DELETE');
    const t = translate(b.tree(), { env });
    expect([...t.absent.values()].map((o) => o.kind).sort()).toEqual([
      'monitor',
      'persistence-cookie',
      'persistence-source-addr',
      'pool',
    ]);
    expect(find(t.present, 'virtual')?.attrs.pool).toBe('');
    expect(t.owner.get([...t.absent.keys()].find((k) => k.startsWith('monitor')) as string)).toBe(
      `healthmonitor#${hm.id}`,
    );
    expect(listener).toBeDefined();
  });

  it('lists everything absent when the load balancer is being deleted', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    b.listener({ default_pool_id: pool.id });
    b.member(pool.id);
    b.status(b.root, 'PENDING_DELETE');
    const t = translate(b.tree(), { env });
    expect(t.loadbalancerDeleted).toBe(true);
    expect(t.present.size).toBe(0);
    expect([...t.absent.values()].map((o) => o.kind).sort()).toEqual([
      'persistence-cookie',
      'persistence-source-addr',
      'pool',
      'virtual',
      'virtual-address',
    ]);
  });

  it('reports references to pools that do not exist', () => {
    const b = new TreeBuilder();
    const orphan = b.member('11111111-2222-4333-8444-555555555555');
    const listener = b.listener({ default_pool_id: '11111111-2222-4333-8444-555555555555' });
    const t = translate(b.tree(), { env });
    expect(t.errors.get(`member#${orphan.id}`)).toMatch(/pool 11111111-.* does not exist/);
    expect(t.errors.get(`listener#${listener.id}`)).toMatch(/default pool .* does not exist/);
  });

  it('derives operating statuses from configuration', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    const m1 = b.member(pool.id);
    const m2 = b.member(pool.id, { address: '10.0.0.2', weight: 0 });
    const tree = b.tree();
    expect(operatingStatusFor(tree, m1)).toBe('NO_MONITOR');
    expect(operatingStatusFor(tree, m2)).toBe('DRAINING');
    // Monitored, or healthy by configuration: nothing has measured it yet, so it is OFFLINE (as
    // Octavia's API creates it), never an assumed ONLINE.
    b.healthmonitor(pool.id);
    expect(operatingStatusFor(b.tree(), m1)).toBe('OFFLINE');
    expect(operatingStatusFor(tree, tree.root)).toBe('OFFLINE');
    expect(operatingStatusFor(tree, pool)).toBe('OFFLINE');
  });

  it('keeps a status the device measured, and only that', () => {
    const b = new TreeBuilder();
    const pool = b.pool();
    const m1 = b.member(pool.id);
    b.healthmonitor(pool.id);
    for (const measured of ['ONLINE', 'DEGRADED', 'ERROR'] as const) {
      b.root.operatingStatus = measured;
      m1.operatingStatus = measured;
      expect(operatingStatusFor(b.tree(), b.root)).toBe(measured);
      expect(operatingStatusFor(b.tree(), m1)).toBe(measured);
    }
    // NO_MONITOR and OFFLINE are configuration's or the initial value: neither is kept as a reading.
    m1.operatingStatus = 'NO_MONITOR';
    expect(operatingStatusFor(b.tree(), m1)).toBe('OFFLINE');
    // Configuration wins over a reading: a disabled load balancer is OFFLINE whatever was read.
    b.root.desired.admin_state_up = false;
    expect(operatingStatusFor(b.tree(), b.root)).toBe('OFFLINE');
  });
});
