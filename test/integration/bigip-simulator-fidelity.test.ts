// biome-ignore-all lint/suspicious/noExplicitAny: these tests walk raw device JSON, as a REST client would
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BigIpPair } from '../../local/bigip-simulator/bigip-pair.js';
import { BigIpSimulator, type SimulatorOptions } from '../../local/bigip-simulator/bigip-simulator.js';

/**
 * The simulator models the device: each test names the fact of docs/reference/device-facts.md
 * it reproduces, over plain HTTP (no code of ours in between).
 */
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

async function device(options: SimulatorOptions = {}) {
  const sim = new BigIpSimulator(options);
  const base = await sim.listen();
  open.push(sim);
  return { sim, ...client(base) };
}

function client(base: string) {
  const auth = `Basic ${Buffer.from('admin:admin').toString('base64')}`;
  const req = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: auth, 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, any> };
  };
  return { req };
}

type Req = ReturnType<typeof client>['req'];

async function tenant(req: Req, partition = 'P1') {
  expect((await req('POST', '/mgmt/tm/sys/folder', { name: partition, subPath: '/' })).status).toBe(200);
}

describe('§1 what the device stores is not always what was sent', () => {
  it('§1.1 reads a destination back through the name of its virtual address (IPv4 :port, IPv6 .port)', async () => {
    const { req } = await device();
    await tenant(req);
    await req('POST', '/mgmt/tm/ltm/virtual-address', {
      name: 'Env_lb1',
      partition: 'P1',
      address: '10.0.0.10',
    });
    await req('POST', '/mgmt/tm/ltm/virtual-address', {
      name: 'Env_lb6',
      partition: 'P1',
      address: '2001:db8::10',
    });
    await req('POST', '/mgmt/tm/ltm/virtual', {
      name: 'vs4',
      partition: 'P1',
      destination: '/P1/10.0.0.10:80',
    });
    await req('POST', '/mgmt/tm/ltm/virtual', {
      name: 'vs6',
      partition: 'P1',
      destination: '/P1/2001:db8::10.443',
    });
    expect((await req('GET', '/mgmt/tm/ltm/virtual/~P1~vs4')).body.destination).toBe('/P1/Env_lb1:80');
    expect((await req('GET', '/mgmt/tm/ltm/virtual/~P1~vs6')).body.destination).toBe('/P1/Env_lb6.443');
    // A destination may also be sent by the virtual address's name.
    const named = await req('POST', '/mgmt/tm/ltm/virtual', {
      name: 'vs8',
      partition: 'P1',
      destination: '/P1/Env_lb1:8080',
    });
    expect(named.status).toBe(200);
    expect(named.body.destination).toBe('/P1/Env_lb1:8080');
  });

  it('§1.2 adds /Common/tcp to a standard virtual without a TCP profile; a fastL4 virtual stays as sent', async () => {
    const { req } = await device();
    await tenant(req);
    await req('POST', '/mgmt/tm/ltm/virtual', {
      name: 'http',
      partition: 'P1',
      destination: '/P1/10.0.0.1:80',
      profiles: [{ name: '/Common/http' }, { name: '/Common/oneconnect' }],
    });
    await req('POST', '/mgmt/tm/ltm/virtual', {
      name: 'l4',
      partition: 'P1',
      destination: '/P1/10.0.0.1:443',
      profiles: [{ name: '/Common/fastL4' }],
    });
    const names = async (vs: string) =>
      (await req('GET', `/mgmt/tm/ltm/virtual/~P1~${vs}/profiles`)).body.items
        .map((p: { fullPath: string }) => p.fullPath)
        .sort();
    expect(await names('http')).toEqual(['/Common/http', '/Common/oneconnect', '/Common/tcp']);
    expect(await names('l4')).toEqual(['/Common/fastL4']);
  });

  it.each([
    ['13.1.0.4', 9],
    ['12.1.2', 30],
  ])('§1.3 on %s an interval not below the timeout reads back as %i (30/10 monitor)', async (version, interval) => {
    const { req } = await device({ version });
    await tenant(req);
    await req('POST', '/mgmt/tm/ltm/monitor/tcp', { name: 'm', partition: 'P1', interval: 30, timeout: 10 });
    expect((await req('GET', '/mgmt/tm/ltm/monitor/tcp/~P1~m')).body).toMatchObject({
      interval,
      timeout: 10,
    });
  });

  it('§1.4 keeps an escaped send string as sent; refuses raw CR/LF (stated decision: no source says what a device does)', async () => {
    const { req } = await device();
    await tenant(req);
    const escaped = String.raw`GET / HTTP/1.0\r\n\r\n`;
    await req('POST', '/mgmt/tm/ltm/monitor/http', { name: 'ok', partition: 'P1', send: escaped });
    expect((await req('GET', '/mgmt/tm/ltm/monitor/http/~P1~ok')).body.send).toBe(escaped);
    const raw = await req('POST', '/mgmt/tm/ltm/monitor/http', {
      name: 'raw',
      partition: 'P1',
      send: 'GET / HTTP/1.0\r\n\r\n',
    });
    expect(raw.status).toBe(400);
  });

  it.each([
    ['12.1.2', '/Common/http '],
    ['14.1.2.1', '/Common/http'],
  ])('§1.5 on %s a pool monitor reads back as %j', async (version, monitor) => {
    const { req } = await device({ version });
    await tenant(req);
    await req('POST', '/mgmt/tm/ltm/pool', { name: 'p', partition: 'P1', monitor: '/Common/http' });
    expect((await req('GET', '/mgmt/tm/ltm/pool/~P1~p')).body.monitor).toBe(monitor);
  });

  it('§1.6 objects carry defaults the client never sent, and persistence references point at the profile', async () => {
    const { req } = await device({ version: '13.1.0.4' });
    await tenant(req);
    await req('POST', '/mgmt/tm/ltm/pool', { name: 'p', partition: 'P1' });
    await req('POST', '/mgmt/tm/ltm/pool/~P1~p/members', { name: '10.0.1.5:80', partition: 'P1' });
    await req('POST', '/mgmt/tm/ltm/virtual', {
      name: 'vs',
      partition: 'P1',
      destination: '/P1/10.0.0.1:80',
      persist: [{ name: '/Common/source_addr' }],
    });
    const vs = (await req('GET', '/mgmt/tm/ltm/virtual/~P1~vs')).body;
    expect(vs).toMatchObject({ source: '0.0.0.0/0', translateAddress: 'enabled', vlansDisabled: true });
    expect(vs.policiesReference).toBeDefined();
    expect(vs.persist[0].nameReference.link).toMatch(
      /\/mgmt\/tm\/ltm\/persistence\/source-addr\/~Common~source_addr\?ver=13\.1\.0\.4$/,
    );
    const member = (await req('GET', '/mgmt/tm/ltm/pool/~P1~p/members/~P1~10.0.1.5:80')).body;
    expect(member).toMatchObject({ monitor: 'default', priorityGroup: 0 });
    const va = (await req('GET', '/mgmt/tm/ltm/virtual-address/~P1~10.0.0.1')).body;
    expect(va).toMatchObject({ arp: 'enabled', mask: '255.255.255.255', inheritedTrafficGroup: 'false' });
    expect(va.trafficGroupReference.link).toContain('traffic-group-1');
  });

  it('§1.7 keeps folder attributes as sent', async () => {
    const { req } = await device();
    await req('POST', '/mgmt/tm/sys/folder', {
      name: 'P1',
      subPath: '/',
      deviceGroup: 'none',
      trafficGroup: 'none',
      noRefCheck: 'true',
    });
    expect((await req('GET', '/mgmt/tm/sys/folder/~P1')).body).toMatchObject({
      deviceGroup: 'none',
      trafficGroup: 'none',
      noRefCheck: 'true',
      inheritedDevicegroup: 'false',
    });
  });
});

describe('§2 uniqueness is per route domain, not per partition', () => {
  it('§2.1 refuses a member whose node IP is a node of another partition (0107003a); shared /Common nodes work', async () => {
    const { req } = await device();
    await tenant(req, 'T1');
    await tenant(req, 'T2');
    for (const p of ['T1', 'T2']) await req('POST', '/mgmt/tm/ltm/pool', { name: 'p', partition: p });
    expect(
      (await req('POST', '/mgmt/tm/ltm/pool/~T1~p/members', { name: '10.0.3.110:80', partition: 'T1' }))
        .status,
    ).toBe(200);
    const clash = await req('POST', '/mgmt/tm/ltm/pool/~T2~p/members', {
      name: '10.0.3.110:80',
      partition: 'T2',
    });
    expect(clash.status).toBe(400);
    expect(clash.body.message).toBe(
      '0107003a:3: Pool member node (/T2/10.0.3.110) and existing node (/T1/10.0.3.110) cannot use the same IP Address.',
    );
    // Members of both tenants on one node in /Common.
    for (const p of ['T1', 'T2'])
      expect(
        (
          await req('POST', `/mgmt/tm/ltm/pool/~${p}~p/members`, {
            name: '10.0.3.111:80',
            partition: 'Common',
          })
        ).status,
      ).toBe(200);
    expect((await req('DELETE', '/mgmt/tm/ltm/node/~Common~10.0.3.111')).status).toBe(400); // still in use
  });

  it('§2.2 refuses a virtual address IP another partition has (0107176c), and a virtual on the same IP:port (01070333)', async () => {
    const { req } = await device();
    await tenant(req, 'T1');
    await tenant(req, 'T2');
    await req('POST', '/mgmt/tm/ltm/virtual-address', {
      name: 'va',
      partition: 'T1',
      address: '192.168.1.1',
    });
    const va = await req('POST', '/mgmt/tm/ltm/virtual-address', {
      name: 'va',
      partition: 'T2',
      address: '192.168.1.1',
    });
    expect(va.body.message).toBe(
      '0107176c:3: Invalid Virtual Address, the IP address 192.168.1.1 already exists.',
    );
    await req('POST', '/mgmt/tm/ltm/virtual', { name: 'a', partition: 'T1', destination: '/T1/10.9.9.9:80' });
    const vs = await req('POST', '/mgmt/tm/ltm/virtual', {
      name: 'b',
      partition: 'T1',
      destination: '/T1/10.9.9.9:80',
    });
    expect(vs.body.message).toMatch(
      /^01070333:3: Virtual Server \/T1\/b illegally shares destination address/,
    );
  });
});

describe('§3 errors the agent must recognise', () => {
  it('§3.1 refuses to delete a folder with items, hidden ones included, with 010713f9', async () => {
    const { sim, req } = await device();
    await tenant(req, 'ABC');
    await req('POST', '/mgmt/tm/ltm/pool', { name: 'p', partition: 'ABC' });
    const full = await req('DELETE', '/mgmt/tm/sys/folder/~ABC');
    expect(full.body.message).toBe(
      '010713f9:3: The folder /ABC cannot be deleted because it contains configuration item (pool /ABC/p)',
    );
    await req('DELETE', '/mgmt/tm/ltm/pool/~ABC~p');
    sim.store.addHiddenItem('ABC', 'monitor test results /ABC/ABC-Test-Monitor 1');
    const hidden = await req('DELETE', '/mgmt/tm/sys/folder/~ABC');
    expect(hidden.status).toBe(400);
    expect(hidden.body.message).toContain('(monitor test results /ABC/ABC-Test-Monitor 1)');
    expect((await req('GET', '/mgmt/tm/ltm/pool?$filter=partition eq ABC')).body.items).toEqual([]);
  });

  it.each([
    400, 404,
  ] as const)('§3.2 a GET in a missing partition answers %i on a device so configured; writes answer 400', async (variant) => {
    const { req } = await device({ missingPartitionGet: variant });
    const get = await req('GET', '/mgmt/tm/ltm/pool/~Nope~p');
    expect(get.status).toBe(variant);
    expect(get.body.message).toMatch(
      variant === 400 ? /The requested folder \(\/Nope\) was not found\./ : /^01020036:3:/,
    );
    const patch = await req('PATCH', '/mgmt/tm/ltm/pool/~Nope~p', { description: 'x' });
    expect(patch.status).toBe(400);
  });
});

describe('§3.4 LTM policies: published policies are not edited directly (12.1+)', () => {
  const rules = [
    {
      name: 'r1',
      ordinal: 0,
      conditions: [
        { name: '0', httpUri: true, path: true, startsWith: true, request: true, values: ['/api'] },
      ],
      actions: [{ name: '0', forward: true, reset: true, request: true }],
    },
  ];
  const policy = {
    name: 'pol',
    partition: 'P1',
    strategy: 'first-match',
    requires: ['http'],
    controls: ['forwarding'],
    rules,
  };

  it('refuses a direct create with 01071abb; legacy: true creates and modifies it as before 12.1', async () => {
    const { req } = await device({ version: '13.1.0' });
    await tenant(req);
    const direct = await req('POST', '/mgmt/tm/ltm/policy', policy);
    expect(direct).toMatchObject({
      status: 400,
      body: {
        message:
          "01071abb:3: Cannot create/modify published policy '/P1/pol' directly, try specifying a draft folder like '/P1/Drafts/pol'",
      },
    });
    expect((await req('POST', '/mgmt/tm/ltm/policy', { ...policy, legacy: true })).status).toBe(200);
    const read = await req('GET', '/mgmt/tm/ltm/policy/~P1~pol');
    expect(read.body).toMatchObject({
      status: 'legacy',
      strategy: '/Common/first-match',
      fullPath: '/P1/pol',
    });
    expect((await req('PATCH', '/mgmt/tm/ltm/policy/~P1~pol', { rules: [] })).body.message).toMatch(
      /^01071abb/,
    );
    expect((await req('PATCH', '/mgmt/tm/ltm/policy/~P1~pol', { legacy: true, rules: [] })).status).toBe(200);
  });

  it('works through Drafts: create, publish, reopen with createDraft; a draft named like a published one is refused', async () => {
    const { req } = await device({ version: '14.1.2' });
    await tenant(req);
    expect((await req('POST', '/mgmt/tm/ltm/policy', { ...policy, subPath: 'Drafts' })).status).toBe(200);
    // Only published policies can be applied to a virtual server.
    const attached = await req('POST', '/mgmt/tm/ltm/virtual', {
      name: 'vs',
      partition: 'P1',
      destination: '/P1/10.0.0.1:80',
      profiles: ['/Common/http'],
      policies: [{ name: '/P1/Drafts/pol' }],
    });
    expect(attached.body.message).toMatch(/^01070712:3: .*foreign key index \(vs_FK\)/);
    expect(
      (await req('POST', '/mgmt/tm/ltm/policy', { command: 'publish', name: '/P1/Drafts/pol' })).status,
    ).toBe(200);
    expect((await req('GET', '/mgmt/tm/ltm/policy/~P1~Drafts~pol')).status).toBe(404);
    expect((await req('GET', '/mgmt/tm/ltm/policy/~P1~pol')).body.status).toBe('published');
    expect((await req('POST', '/mgmt/tm/ltm/policy', { ...policy, subPath: 'Drafts' })).body.message).toBe(
      // §7.3: the recorded text, the path quoted.
      '01070734:3: Configuration error: Published policy "/P1/pol" exists, use create-draft to create a draft copy .',
    );
    expect((await req('PATCH', '/mgmt/tm/ltm/policy/~P1~pol', { createDraft: true })).status).toBe(200);
    expect((await req('PATCH', '/mgmt/tm/ltm/policy/~P1~Drafts~pol', { rules: [] })).status).toBe(200);
  });

  it('reads rules back with what a recorded device lists besides what was sent; refuses deleting an attached policy', async () => {
    const { req } = await device();
    await tenant(req);
    await req('POST', '/mgmt/tm/ltm/policy', { ...policy, legacy: true });
    await req('POST', '/mgmt/tm/ltm/virtual', {
      name: 'vs',
      partition: 'P1',
      destination: '/P1/10.0.0.1:80',
      profiles: ['/Common/http'],
      policies: [{ name: '/P1/pol' }],
    });
    const expanded = await req('GET', '/mgmt/tm/ltm/policy/~P1~pol/rules?expandSubcollections=true');
    const [rule] = expanded.body.items;
    expect(rule.conditionsReference.items[0]).toMatchObject({
      name: '0',
      index: 0,
      external: true,
      present: true,
      remote: true,
      startsWith: true,
      values: ['/api'],
    });
    expect(rule.actionsReference.items[0]).toMatchObject({
      code: 0,
      expirySecs: 0,
      reset: true,
      forward: true,
    });
    const vs = await req('GET', '/mgmt/tm/ltm/virtual/~P1~vs?expandSubcollections=true');
    expect(vs.body.policiesReference.items).toEqual([expect.objectContaining({ fullPath: '/P1/pol' })]);
    expect((await req('DELETE', '/mgmt/tm/ltm/policy/~P1~pol')).body.message).toMatch(
      /^01070265:3: The Policy \(\/P1\/pol\) cannot be deleted because it is in use by a Virtual Server/,
    );
  });
});

describe('iRules (ltm/rule): kept as sent, referenced by virtuals, not deleted while in use', () => {
  it('creates an iRule, attaches it, refuses deleting it while attached (01070265), and refuses a missing one', async () => {
    const { req } = await device();
    await tenant(req);
    const tcl = 'when HTTP_REQUEST { HTTP::respond 403 }';
    expect(
      (await req('POST', '/mgmt/tm/ltm/rule', { name: 'deny', partition: 'P1', apiAnonymous: tcl })).status,
    ).toBe(200);
    expect((await req('GET', '/mgmt/tm/ltm/rule/~P1~deny')).body).toMatchObject({
      fullPath: '/P1/deny',
      apiAnonymous: tcl,
    });
    const missing = await req('POST', '/mgmt/tm/ltm/virtual', {
      name: 'v0',
      partition: 'P1',
      destination: '/P1/10.0.0.2:80',
      rules: ['/P1/nope'],
    });
    expect(missing.body.message).toMatch(/^01070712:3: .*foreign key index \(rule_FK\)/);
    await req('POST', '/mgmt/tm/ltm/virtual', {
      name: 'v',
      partition: 'P1',
      destination: '/P1/10.0.0.1:80',
      rules: ['/P1/deny'],
    });
    expect((await req('GET', '/mgmt/tm/ltm/virtual/~P1~v')).body.rules).toEqual(['/P1/deny']);
    expect((await req('DELETE', '/mgmt/tm/ltm/rule/~P1~deny')).body.message).toBe(
      '01070265:3: The Rule (/P1/deny) cannot be deleted because it is in use by a Virtual Server (/P1/v).',
    );
    await req('PATCH', '/mgmt/tm/ltm/virtual/~P1~v', { rules: [] });
    expect((await req('DELETE', '/mgmt/tm/ltm/rule/~P1~deny')).status).toBe(200);
  });
});

describe('§4 transactions and config-sync', () => {
  it('§4.1, §4.2 answers an enlisted command with its real shape, and validates the commit as a whole', async () => {
    const { req } = await device();
    await tenant(req);
    const tx = (await req('POST', '/mgmt/tm/transaction', {})).body.transId as number;
    const h = { 'X-F5-REST-Coordination-Id': String(tx) };
    // F5's own example order: virtual → member → pool.
    const first = await req(
      'POST',
      '/mgmt/tm/ltm/virtual',
      { name: 'vs', partition: 'P1', destination: '/P1/10.0.0.2:80', pool: '/P1/p' },
      h,
    );
    expect(first.body).toMatchObject({
      method: 'POST',
      uri: 'https://localhost/mgmt/tm/ltm/virtual',
      evalOrder: 1,
      commandId: 1,
      kind: 'tm:transaction:commandsstate',
    });
    expect(first.body.selfLink).toMatch(new RegExp(`/mgmt/tm/transaction/${tx}/commands/1\\?ver=`));
    await req('POST', '/mgmt/tm/ltm/pool/~P1~p/members', { name: '10.0.1.1:80', partition: 'P1' }, h);
    await req('POST', '/mgmt/tm/ltm/pool', { name: 'p', partition: 'P1' }, h);
    expect((await req('PATCH', `/mgmt/tm/transaction/${tx}`, { state: 'VALIDATING' })).body.state).toBe(
      'COMPLETED',
    );
    expect((await req('GET', '/mgmt/tm/ltm/virtual/~P1~vs')).body.pool).toBe('/P1/p');
  });

  it('§4.3, §4.4 syncs asynchronously: Not All Devices Synced, then In Sync; a failover inside the window loses the change', async () => {
    const pair = BigIpPair.create({ syncDelayMs: 150 });
    const [a] = await pair.listen();
    open.push(pair);
    const { req } = client(a);
    pair.a.deviceGroup = 'dg';
    const sync = () => req('POST', '/mgmt/tm/cm', { command: 'run', utilCmdArgs: 'config-sync to-group dg' });
    const status = async () => {
      const entry = Object.values((await req('GET', '/mgmt/tm/cm/sync-status')).body.entries)[0] as any;
      const details = Object.values(
        entry.nestedStats.entries['https://localhost/mgmt/tm/cm/syncStatus/0/details'].nestedStats.entries,
      ).map((d: any) => d.nestedStats.entries.details.description);
      return { status: entry.nestedStats.entries.status.description as string, details };
    };
    await tenant(req);
    expect((await status()).status).toBe('Changes Pending');
    expect((await sync()).status).toBe(200);
    expect((await status()).status).toBe('Not All Devices Synced');
    await new Promise((r) => setTimeout(r, 300));
    expect((await status()).status).toBe('In Sync');
    expect(pair.b.partitions()).toEqual(['P1']);

    await tenant(req, 'P2');
    await sync();
    pair.failover(); // inside the window
    await new Promise((r) => setTimeout(r, 300));
    expect(pair.b.partitions()).toEqual(['P1']); // the new active unit lacks P2
    const failed = await status();
    expect(failed.status).toBe('Changes Pending');
    expect(failed.details.join('\n')).toContain('Recommended action: Synchronize');
  });
});

describe('§5 readiness, stats and tokens', () => {
  it('§5.1 answers the readiness endpoints F5’s own client checks', async () => {
    const { req } = await device();
    for (const path of [
      '/mgmt/shared/echo/available',
      '/mgmt/shared/identified-devices/config/device-info/available',
      '/mgmt/tm/sys/available',
      '/mgmt/tm/cm/available',
    ])
      expect((await req('GET', path)).status).toBe(200);
    const mcp = (await req('GET', '/mgmt/tm/sys/mcp-state')).body;
    expect((Object.values(mcp.entries)[0] as any).nestedStats.entries.phase.description).toBe('running');
    expect((await req('GET', '/mgmt/shared/identified-devices/config/device-info')).body.version).toBe(
      '17.1.2.1',
    );
  });

  it('§5.2 answers stats in the nested shape, with counters in bits and member monitor states', async () => {
    const { sim, req } = await device();
    await tenant(req);
    await req('POST', '/mgmt/tm/ltm/pool', { name: 'p', partition: 'P1', monitor: '/Common/http' });
    await req('POST', '/mgmt/tm/ltm/pool/~P1~p/members', { name: '10.0.1.1:80', partition: 'P1' });
    await req('POST', '/mgmt/tm/ltm/virtual', {
      name: 'vs',
      partition: 'P1',
      destination: '/P1/10.0.0.3:80',
      pool: '/P1/p',
    });
    Object.assign(sim.stats.virtual('/P1/vs'), { bitsIn: 8000, bitsOut: 16000, curConns: 2, totConns: 7 });
    sim.stats.setMember('/P1/p|/P1/10.0.1.1:80', 'down');
    const vs = (await req('GET', '/mgmt/tm/ltm/virtual/stats')).body.entries;
    const entries = (vs['https://localhost/mgmt/tm/ltm/virtual/~P1~vs/stats'] as any).nestedStats.entries;
    expect(entries['clientside.bitsIn'].value).toBe(8000);
    expect(entries['clientside.totConns'].value).toBe(7);
    expect(entries['status.availabilityState'].description).toBe('offline');
    const members = (await req('GET', '/mgmt/tm/ltm/pool/~P1~p/members/stats')).body.entries;
    const m = (Object.values(members)[0] as any).nestedStats.entries;
    expect(m.monitorStatus.description).toBe('down');
    expect(m['status.availabilityState'].description).toBe('offline');
  });

  it('§5.3 caps live tokens at 100 per user; deleting one frees a slot', async () => {
    const { sim } = await device();
    const login = () =>
      fetch(`${sim.baseUrl}/mgmt/shared/authn/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: 'admin', loginProviderName: 'tmos' }),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    const tokens: string[] = [];
    for (let i = 0; i < 100; i++) tokens.push((await login()).body.token.token);
    const refused = await login();
    expect(refused.status).toBe(400);
    expect(refused.body.message).toBe('User admin has reached maximum active login tokens.');
    const del = await fetch(`${sim.baseUrl}/mgmt/shared/authz/tokens/${tokens[0]}`, {
      method: 'DELETE',
      headers: { 'x-f5-auth-token': tokens[1] as string },
    });
    expect(del.status).toBe(200);
    expect((await login()).status).toBe(200);
  });
});

const pem = (file: string) => readFileSync(join(import.meta.dirname, '..', 'fixtures', 'tls', file), 'utf8');

/** Uploads a file as F5's clients do (one chunk, `Content-Range: 0-(n-1)/n`). */
async function upload(sim: BigIpSimulator, name: string, text: string) {
  const bytes = Buffer.from(text, 'utf8');
  const res = await fetch(`${sim.baseUrl}/mgmt/shared/file-transfer/uploads/${name}`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}`,
      'content-type': 'application/octet-stream',
      'content-range': `0-${bytes.length - 1}/${bytes.length}`,
    },
    body: bytes,
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** A certificate and key in a partition, the §7.8 way. */
async function certificate(sim: BigIpSimulator, req: Req, partition: string, base: string, site: string) {
  await upload(sim, `${base}.crt`, pem(`${site}.pem`));
  await upload(sim, `${base}.key`, pem(`${site}.key`));
  const source = (n: string) => `file:///var/config/rest/downloads/${n}`;
  const cert = await req('POST', '/mgmt/tm/sys/file/ssl-cert', {
    name: `${base}.crt`,
    partition,
    sourcePath: source(`${base}.crt`),
  });
  const key = await req('POST', '/mgmt/tm/sys/file/ssl-key', {
    name: `${base}.key`,
    partition,
    sourcePath: source(`${base}.key`),
  });
  return { cert, key };
}

/** The single stats entry of a stats body: its key and fields. */
function onlyEntry(body: Record<string, any>): [string, Record<string, any>] {
  const [key, value] = Object.entries(body.entries)[0] as [string, any];
  return [key, value.nestedStats.entries];
}

describe('§7 policies, TLS profiles, files, sync status and version traits', () => {
  const forward = {
    name: 'pol',
    partition: 'P1',
    legacy: true,
    strategy: 'first-match',
    requires: ['http'],
    controls: ['forwarding'],
    rules: [
      {
        name: 'r1',
        ordinal: 0,
        conditions: [
          { name: '0', httpHeader: true, tmName: 'X-Foo', equals: true, request: true, values: ['a'] },
          {
            name: '1',
            httpUri: true,
            pathSegment: true,
            index: 2,
            equals: true,
            request: true,
            values: ['x'],
          },
        ],
        actions: [{ name: '0', forward: true, pool: '/P1/api', request: true }],
      },
    ],
  };

  it('§7.1 reads a condition sent without a case option back caseInsensitive; caseSensitive stays as sent', async () => {
    const { req } = await device({ version: '12.1.2' });
    await tenant(req);
    await req('POST', '/mgmt/tm/ltm/pool', { name: 'api', partition: 'P1' });
    const path = { httpUri: true, path: true, startsWith: true, request: true, values: ['/api'] };
    await req('POST', '/mgmt/tm/ltm/policy', {
      ...forward,
      rules: [
        {
          name: 'r1',
          conditions: [
            { name: '0', ...path },
            { name: '1', ...path, caseSensitive: true },
          ],
          actions: forward.rules[0]?.actions,
        },
      ],
    });
    const read = (await req('GET', '/mgmt/tm/ltm/policy/~P1~pol?expandSubcollections=true')).body;
    const [plain, sensitive] = read.rulesReference.items[0].conditionsReference.items;
    expect(plain.caseInsensitive).toBe(true);
    expect(plain.caseSensitive).toBeUndefined();
    expect(sensitive.caseSensitive).toBe(true);
    expect(sensitive.caseInsensitive).toBeUndefined();
  });

  it('§7.2 expands a policy deeply: rules with their conditions and actions; select, poolReference, all, index', async () => {
    const { req } = await device({ version: '12.1.2' });
    await tenant(req);
    await req('POST', '/mgmt/tm/ltm/pool', { name: 'api', partition: 'P1' });
    expect((await req('POST', '/mgmt/tm/ltm/policy', forward)).status).toBe(200);
    const read = (await req('GET', '/mgmt/tm/ltm/policy/~P1~pol?expandSubcollections=true')).body;
    const [rule] = read.rulesReference.items;
    expect(rule.name).toBe('r1');
    const [header, segment] = rule.conditionsReference.items;
    expect(header).toMatchObject({ httpHeader: true, tmName: 'X-Foo', all: true, index: 0 });
    expect(segment).toMatchObject({ httpUri: true, pathSegment: true, index: 2 });
    expect(segment.all).toBeUndefined();
    expect(rule.actionsReference.items[0]).toMatchObject({
      forward: true,
      select: true,
      pool: '/P1/api',
      poolReference: { link: 'https://localhost/mgmt/tm/ltm/pool/~P1~api?ver=12.1.2' },
    });
    // Without expandSubcollections, links only.
    const plain = (await req('GET', '/mgmt/tm/ltm/policy/~P1~pol')).body;
    expect(plain.rulesReference.items).toBeUndefined();
  });

  it('§7.4 reads a redirect’s code back as 0 before 14.0, as sent from 14.0', async () => {
    for (const [version, code] of [
      ['13.1.0', 0],
      ['14.1.2.1', 301],
    ] as const) {
      const { req } = await device({ version });
      await tenant(req);
      const redirect = {
        name: '0',
        httpReply: true,
        redirect: true,
        location: 'https://x/',
        code: 301,
        request: true,
      };
      await req('POST', '/mgmt/tm/ltm/policy', {
        ...forward,
        rules: [{ name: 'r1', conditions: [], actions: [redirect] }],
      });
      const read = (await req('GET', '/mgmt/tm/ltm/policy/~P1~pol?expandSubcollections=true')).body;
      expect(read.rulesReference.items[0].actionsReference.items[0]).toMatchObject({ redirect: true, code });
    }
  });

  it('§7.5 reads a client-ssl profile back with string flags, serverName none and certificate links', async () => {
    const { sim, req } = await device({ version: '13.1.0' });
    await tenant(req);
    await certificate(sim, req, 'P1', 'www', 'www.example.com');
    const created = await req('POST', '/mgmt/tm/ltm/profile/client-ssl', {
      name: 'prof',
      partition: 'P1',
      sniDefault: true,
      certKeyChain: [{ name: 'default', cert: '/P1/www.crt', key: '/P1/www.key' }],
    });
    expect(created.status).toBe(200);
    const read = (await req('GET', '/mgmt/tm/ltm/profile/client-ssl/~P1~prof')).body;
    expect(read).toMatchObject({ sniDefault: 'true', serverName: 'none', defaultsFrom: '/Common/clientssl' });
    expect(read.certKeyChain).toEqual([
      {
        name: 'default',
        cert: '/P1/www.crt',
        certReference: { link: 'https://localhost/mgmt/tm/sys/file/ssl-cert/~P1~www.crt?ver=13.1.0' },
        key: '/P1/www.key',
        keyReference: { link: 'https://localhost/mgmt/tm/sys/file/ssl-key/~P1~www.key?ver=13.1.0' },
        chain: 'none',
      },
    ]);
  });

  it('§7.6 refuses two SNI-default profiles (01071809) and two with one server name (0107149e) on a virtual', async () => {
    const { sim, req } = await device({ version: '14.1.1' });
    await tenant(req);
    await certificate(sim, req, 'P1', 'www', 'www.example.com');
    const profile = (name: string, extra: Record<string, unknown>) =>
      req('POST', '/mgmt/tm/ltm/profile/client-ssl', {
        name,
        partition: 'P1',
        certKeyChain: [{ name: 'default', cert: '/P1/www.crt', key: '/P1/www.key' }],
        ...extra,
      });
    await profile('d1', { sniDefault: true });
    await profile('d2', { sniDefault: true });
    await profile('a1', { sniDefault: false, serverName: 'a.example.com' });
    await profile('a2', { sniDefault: false, serverName: 'a.example.com' });
    const virtual = (profiles: string[]) =>
      req('POST', '/mgmt/tm/ltm/virtual', {
        name: 'vs',
        partition: 'P1',
        destination: '/P1/10.0.0.1:443',
        profiles: ['/Common/http', ...profiles],
      });
    expect((await virtual(['/P1/d1', '/P1/d2'])).body).toMatchObject({
      code: 400,
      message:
        '01071809:3: Virtual Server /P1/vs has more than one clientssl/serverssl profile that is default for SNI.',
    });
    expect((await virtual(['/P1/d1', '/P1/a1', '/P1/a2'])).body).toMatchObject({
      code: 400,
      message:
        '0107149e:3: Virtual server /P1/vs has more than one clientssl/serverssl profile with same server name.',
    });
    expect((await virtual(['/P1/d1', '/P1/a1'])).status).toBe(200);
    // One key pair per key type in a profile (inferred; the wording is the simulator's).
    await certificate(sim, req, 'P1', 'a', 'a.example.com');
    const twoRsa = await profile('both', {
      certKeyChain: [
        { name: 'www', cert: '/P1/www.crt', key: '/P1/www.key' },
        { name: 'a', cert: '/P1/a.crt', key: '/P1/a.key' },
      ],
    });
    expect(twoRsa.body.message).toMatch(/^01070712:3: simulator: .*two key pairs of one key type/);
  });

  it('§7.7 answers an upload with its recorded reply', async () => {
    const { sim } = await device();
    const text = pem('www.example.com.pem');
    const answer = await upload(sim, 'www.crt', text);
    const n = Buffer.byteLength(text);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      remainingByteCount: 0,
      usedChunks: { '0': n },
      totalByteCount: n,
      localFilePath: '/var/config/rest/downloads/www.crt',
      generation: 0,
    });
    expect(typeof answer.body.temporaryFilePath).toBe('string');
    expect(typeof answer.body.lastUpdateMicros).toBe('number');
  });

  it('§7.8 creates certificates and keys in a partition from sourcePath; reads carry checksum, sourcePath and keyType', async () => {
    const { sim, req } = await device();
    await tenant(req);
    const { cert, key } = await certificate(sim, req, 'P1', 'www', 'www.example.com');
    expect([cert.status, key.status]).toEqual([200, 200]);
    const text = pem('www.example.com.pem');
    const read = (await req('GET', '/mgmt/tm/sys/file/ssl-cert/~P1~www.crt')).body;
    expect(read).toMatchObject({
      fullPath: '/P1/www.crt',
      partition: 'P1',
      sourcePath: 'file:///var/config/rest/downloads/www.crt',
      keyType: 'rsa-public',
      checksum: `SHA1:${Buffer.byteLength(text)}:${createHash('sha1').update(text).digest('hex')}`,
    });
    const keyRead = (await req('GET', '/mgmt/tm/sys/file/ssl-key/~P1~www.key')).body;
    expect(keyRead).toMatchObject({ keyType: 'rsa-private', fullPath: '/P1/www.key' });
    expect(JSON.stringify(keyRead)).not.toContain('PRIVATE KEY');
    // A file that was never uploaded, and a partition that does not exist, are refused.
    expect(
      (
        await req('POST', '/mgmt/tm/sys/file/ssl-cert', {
          name: 'x.crt',
          partition: 'P1',
          sourcePath: 'file:///var/config/rest/downloads/x.crt',
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await req('POST', '/mgmt/tm/sys/file/ssl-cert', {
          name: 'www2.crt',
          partition: 'Nope',
          sourcePath: 'file:///var/config/rest/downloads/www.crt',
        })
      ).body.message,
    ).toMatch(/folder does not exist/);
  });

  it('§7.9 reads a monitored member’s state as its monitor’s verdict; unchecked only without a monitor', async () => {
    const { sim, req } = await device();
    await tenant(req);
    await req('POST', '/mgmt/tm/ltm/pool', { name: 'm', partition: 'P1', monitor: '/Common/http' });
    await req('POST', '/mgmt/tm/ltm/pool', { name: 'u', partition: 'P1' });
    await req('POST', '/mgmt/tm/ltm/pool/~P1~m/members', { name: '10.0.1.1:80', partition: 'Common' });
    await req('POST', '/mgmt/tm/ltm/pool/~P1~u/members', { name: '10.0.1.2:80', partition: 'Common' });
    const member = async (pool: string, name: string) =>
      (await req('GET', `/mgmt/tm/ltm/pool/~P1~${pool}/members/~Common~${name}`)).body;
    expect(await member('m', '10.0.1.1:80')).toMatchObject({ state: 'checking', session: 'monitor-enabled' });
    sim.stats.setMember('/P1/m|/Common/10.0.1.1:80', 'up');
    expect(await member('m', '10.0.1.1:80')).toMatchObject({ state: 'up', session: 'monitor-enabled' });
    sim.stats.setMember('/P1/m|/Common/10.0.1.1:80', 'down');
    expect((await member('m', '10.0.1.1:80')).state).toBe('down');
    expect(await member('u', '10.0.1.2:80')).toMatchObject({ state: 'unchecked', session: 'user-enabled' });
    const [, stats] = onlyEntry((await req('GET', '/mgmt/tm/ltm/pool/~P1~m/members/stats')).body);
    expect(typeof stats['status.statusReason'].description).toBe('string');
  });

  it('§7.10 keys a single object’s stats by version: nested before 14.0, flat from 14.0', async () => {
    for (const [version, nested] of [
      ['13.1.0', true],
      ['14.1.2.1', false],
    ] as const) {
      const { req } = await device({ version });
      await tenant(req);
      await req('POST', '/mgmt/tm/ltm/pool', { name: 'p', partition: 'P1' });
      await req('POST', '/mgmt/tm/ltm/pool/~P1~p/members', { name: '10.0.1.1:80', partition: 'Common' });
      await req('POST', '/mgmt/tm/ltm/virtual', {
        name: 'vs',
        partition: 'P1',
        destination: '/P1/10.0.0.3:80',
        pool: '/P1/p',
      });
      const base = 'https://localhost/mgmt/tm/ltm';
      const [vsKey, vs] = onlyEntry((await req('GET', '/mgmt/tm/ltm/virtual/~P1~vs/stats')).body);
      expect(vsKey).toBe(nested ? `${base}/virtual/~P1~vs/~P1~vs/stats` : `${base}/virtual/~P1~vs/stats`);
      expect(vs['clientside.bitsIn'].value).toBe(0);
      const memberPath = 'pool/~P1~p/members/~Common~10.0.1.1:80';
      const [memberKey, member] = onlyEntry((await req('GET', `/mgmt/tm/ltm/${memberPath}/stats`)).body);
      expect(memberKey).toBe(
        nested ? `${base}/${memberPath}/~Common~10.0.1.1:80/stats` : `${base}/${memberPath}/stats`,
      );
      expect(member.monitorStatus.description).toBe('unchecked');
      expect((await req('GET', '/mgmt/tm/ltm/virtual/~P1~nope/stats')).status).toBe(404);
    }
  });

  it('§7.11 shows the worst device group device-wide, with a detail line per group; a standalone unit as recorded', async () => {
    const pair = BigIpPair.create();
    const [a] = await pair.listen();
    open.push(pair);
    const { req } = client(a);
    const status = async () => {
      const [, e] = onlyEntry((await req('GET', '/mgmt/tm/cm/sync-status')).body);
      const details = Object.values(
        e['https://localhost/mgmt/tm/cm/syncStatus/0/details'].nestedStats.entries,
      ).map((d: any) => d.nestedStats.entries.details.description as string);
      return {
        status: e.status.description,
        summary: e.summary.description,
        mode: e.mode.description,
        details,
      };
    };
    expect(await status()).toMatchObject({
      status: 'In Sync',
      summary: 'All devices in the device group are in sync',
      mode: 'high-availability',
    });
    pair.setOtherGroup('datasync-global-dg', 'In Sync');
    pair.setOtherGroup('sync-only-dg', 'Awaiting Initial Sync');
    const worst = await status();
    expect(worst.status).toBe('Awaiting Initial Sync');
    expect(worst.details).toEqual(
      expect.arrayContaining([
        'failover-group (In Sync): All devices in the device group are in sync',
        'datasync-global-dg (In Sync): All devices in the device group are in sync',
        expect.stringMatching(/^sync-only-dg \(Awaiting Initial Sync\): /),
      ]),
    );
    const { req: one } = await device();
    const [, e] = onlyEntry((await one('GET', '/mgmt/tm/cm/sync-status')).body);
    expect(e.status.description).toBe('Standalone');
    expect(e.mode.description).toBe('standalone');
    expect(
      Object.values(e['https://localhost/mgmt/tm/cm/syncStatus/0/details'].nestedStats.entries).map(
        (d: any) => d.nestedStats.entries.details.description,
      ),
    ).toEqual(['Optional action: Add a device to the trust domain']);
  });

  it('§7.12 serves sys/ready from 13.1 only', async () => {
    expect((await (await device({ version: '12.1.2' })).req('GET', '/mgmt/tm/sys/ready')).body).toMatchObject(
      {
        code: 404,
        message: 'Public URI path not registered: /tm/sys/ready',
      },
    );
    const [, ready] = onlyEntry(
      (await (await device({ version: '13.1.0' })).req('GET', '/mgmt/tm/sys/ready')).body,
    );
    expect(ready.configReady.description).toBe('yes');
  });

  it('§7.12 lists endPlatformIdReceived, lastLoad and phase in sys/mcp-state', async () => {
    const { req } = await device({ version: '14.1.2.1' });
    const [, mcp] = onlyEntry((await req('GET', '/mgmt/tm/sys/mcp-state')).body);
    expect(Object.keys(mcp).sort()).toEqual(['endPlatformIdReceived', 'lastLoad', 'phase']);
    expect(mcp.phase.description).toBe('running');
  });

  it('§7.13 refuses a direct node POST whose address a node of another partition has', async () => {
    const { req } = await device();
    await tenant(req, 'Project_t1');
    expect(
      (
        await req('POST', '/mgmt/tm/ltm/node', {
          name: '10.0.3.110',
          partition: 'Project_t1',
          address: '10.0.3.110',
        })
      ).status,
    ).toBe(200);
    const clash = await req('POST', '/mgmt/tm/ltm/node', {
      name: '10.0.3.110',
      partition: 'Common',
      address: '10.0.3.110',
    });
    expect(clash.status).toBe(400);
    expect(clash.body.message).toMatch(
      /^0107003a:3: .*\(\/Common\/10\.0\.3\.110\) and existing node \(\/Project_t1\/10\.0\.3\.110\) cannot use the same IP Address/,
    );
    // Another route domain is another address (§2.4), once the device has that route domain (§2.5).
    await req('POST', '/mgmt/tm/net/vlan', { name: 'vlan-2', tag: 2 });
    await req('POST', '/mgmt/tm/net/route-domain', { name: 'rd-2', id: 2, vlans: ['vlan-2'] });
    expect(
      (
        await req('POST', '/mgmt/tm/ltm/node', {
          name: '10.0.3.110%2',
          partition: 'Common',
          address: '10.0.3.110%2',
        })
      ).status,
    ).toBe(200);
  });
});
