// biome-ignore-all lint/suspicious/noExplicitAny: these tests walk raw device JSON, as a REST client would
import { afterEach, describe, expect, it } from 'vitest';
import { BigIpPair } from '../../local/bigip-simulator/bigip-pair.js';
import { BigIpSimulator } from '../../local/bigip-simulator/bigip-simulator.js';

/**
 * The simulator's route domains, VLANs, self IPs and SNAT pools, each test naming the fact of
 * docs/reference/device-facts.md (§2.4–§2.7) it reproduces, over plain HTTP.
 */
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

function client(base: string) {
  const auth = `Basic ${Buffer.from('admin:admin').toString('base64')}`;
  return async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: auth, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, any> };
  };
}

async function device() {
  const sim = new BigIpSimulator();
  open.push(sim);
  return client(await sim.listen());
}

type Req = Awaited<ReturnType<typeof device>>;

/** A tenant network on VLAN `tag`, as route domain `tag`. */
async function network(req: Req, tag: number) {
  expect((await req('POST', '/mgmt/tm/net/vlan', { name: `vlan-${tag}`, tag })).status).toBe(200);
  const rd = await req('POST', '/mgmt/tm/net/route-domain', {
    name: `rd-${tag}`,
    partition: 'Common',
    id: tag,
    strict: 'enabled',
    vlans: [`/Common/vlan-${tag}`],
  });
  expect(rd.status).toBe(200);
}

describe('§2.4–§2.7 route domains, VLANs, self IPs and SNAT on the simulator', () => {
  it('§2.5 has route domain 0 from the start, and it cannot be deleted', async () => {
    const req = await device();
    const rds = (await req('GET', '/mgmt/tm/net/route-domain')).body.items;
    expect(rds.map((r: any) => [r.fullPath, r.id])).toEqual([['/Common/0', 0]]);
    const del = await req('DELETE', '/mgmt/tm/net/route-domain/~Common~0');
    expect(del.status).toBe(400);
    expect(del.body.message).toMatch(/default route domain 0 cannot be deleted/);
  });

  it('§2.4 keeps one address in two route domains as two addresses (virtual addresses, nodes, self IPs), and refuses it twice in one', async () => {
    const req = await device();
    await req('POST', '/mgmt/tm/sys/folder', { name: 'P1', subPath: '/' });
    await network(req, 2);
    await network(req, 3);
    for (const rd of [2, 3]) {
      expect(
        (
          await req('POST', '/mgmt/tm/ltm/virtual-address', {
            name: `va${rd}`,
            partition: 'P1',
            address: `10.0.0.10%${rd}`,
          })
        ).status,
      ).toBe(200);
      expect(
        (await req('POST', '/mgmt/tm/ltm/node', { name: `10.0.0.5%${rd}`, partition: 'P1' })).status,
      ).toBe(200);
      const self = await req('POST', '/mgmt/tm/net/self', {
        name: `self-${rd}`,
        vlan: `vlan-${rd}`,
        address: `10.0.0.251%${rd}/24`,
      });
      expect(self.status).toBe(200);
      expect(self.body.trafficGroup).toBe('/Common/traffic-group-local-only');
    }
    const again = await req('POST', '/mgmt/tm/ltm/virtual-address', {
      name: 'va2b',
      partition: 'P1',
      address: '10.0.0.10%2',
    });
    expect(again.body.message).toMatch(
      /0107176c:3: Invalid Virtual Address, the IP address 10\.0\.0\.10 already exists/,
    );
    const node = await req('POST', '/mgmt/tm/ltm/node', {
      name: 'n2',
      partition: 'P1',
      address: '10.0.0.5%2',
    });
    expect(node.body.message).toMatch(/0107003a/);
    const self = await req('POST', '/mgmt/tm/net/self', {
      name: 'self-2b',
      vlan: 'vlan-2',
      address: '10.0.0.251%2/24',
    });
    expect(self.status).toBe(400);
    // The members of two pools at one address in two route domains are two nodes.
    for (const rd of [2, 3])
      expect(
        (
          await req('POST', '/mgmt/tm/ltm/pool', {
            name: `pool${rd}`,
            partition: 'P1',
            members: [{ name: `10.0.0.6%${rd}:8080` }],
          })
        ).status,
      ).toBe(200);
    const nodes = (await req('GET', '/mgmt/tm/ltm/node')).body.items.map((n: any) => n.address).sort();
    expect(nodes).toEqual(['10.0.0.5%2', '10.0.0.5%3', '10.0.0.6%2', '10.0.0.6%3']);
  });

  it('§2.5 refuses an address in a route domain the device does not have', async () => {
    const req = await device();
    await req('POST', '/mgmt/tm/sys/folder', { name: 'P1', subPath: '/' });
    for (const [path, body] of [
      ['/mgmt/tm/ltm/virtual-address', { name: 'va', partition: 'P1', address: '10.0.0.10%9' }],
      ['/mgmt/tm/ltm/node', { name: '10.0.0.5%9', partition: 'P1' }],
      ['/mgmt/tm/ltm/virtual', { name: 'vs', partition: 'P1', destination: '/P1/10.0.0.10%9:80' }],
      ['/mgmt/tm/ltm/pool', { name: 'p', partition: 'P1', members: [{ name: '10.0.0.5%9:80' }] }],
      ['/mgmt/tm/ltm/snatpool', { name: 'snat', partition: 'P1', members: ['10.0.0.240%9'] }],
    ] as const) {
      const res = await req('POST', path, body);
      expect(res.status, path).toBe(400);
      expect(res.body.message).toMatch(/route domain 9 .*does not exist/);
    }
  });

  it('§2.5/§2.6 refuses to delete a route domain or VLAN in use, and a self IP on a VLAN outside its route domain', async () => {
    const req = await device();
    await req('POST', '/mgmt/tm/sys/folder', { name: 'P1', subPath: '/' });
    await network(req, 2);
    await req('POST', '/mgmt/tm/net/vlan', { name: 'vlan-7', tag: 7 });
    const outside = await req('POST', '/mgmt/tm/net/self', {
      name: 's7',
      vlan: 'vlan-7',
      address: '10.0.0.9%2/24',
    });
    expect(outside.body.message).toMatch(/vlan \/Common\/vlan-7 is not in route domain 2/);
    await req('POST', '/mgmt/tm/ltm/virtual-address', {
      name: 'va',
      partition: 'P1',
      address: '10.0.0.10%2',
    });
    const busy = await req('DELETE', '/mgmt/tm/net/route-domain/~Common~rd-2');
    expect(busy.status).toBe(400);
    expect(busy.body.message).toMatch(/route domain \/Common\/rd-2 \(2\) is in use by \/P1\/va/);
    expect((await req('DELETE', '/mgmt/tm/net/vlan/~Common~vlan-2')).body.message).toMatch(
      /in use by \/Common\/rd-2/,
    );
    // Emptied, in order: the users, the route domain, its VLAN.
    expect((await req('DELETE', '/mgmt/tm/ltm/virtual-address/~P1~va')).status).toBe(200);
    expect((await req('DELETE', '/mgmt/tm/net/route-domain/~Common~rd-2')).status).toBe(200);
    expect((await req('DELETE', '/mgmt/tm/net/vlan/~Common~vlan-2')).status).toBe(200);
    // A duplicate id is refused: ids are the route domains' identity.
    await network(req, 4);
    const twice = await req('POST', '/mgmt/tm/net/route-domain', { name: 'other', id: 4 });
    expect(twice.status).toBe(409);
  });

  it('§2.7 a SNAT pool a virtual uses is refused deletion (01070320); a virtual naming a missing one is refused', async () => {
    const req = await device();
    await req('POST', '/mgmt/tm/sys/folder', { name: 'P1', subPath: '/' });
    await network(req, 2);
    expect(
      (
        await req('POST', '/mgmt/tm/ltm/snatpool', {
          name: 'snat2',
          partition: 'P1',
          members: ['10.0.0.240%2'],
        })
      ).body.members,
    ).toEqual(['/P1/10.0.0.240%2']);
    const missing = await req('POST', '/mgmt/tm/ltm/virtual', {
      name: 'vs0',
      partition: 'P1',
      destination: '/P1/10.0.0.10%2:80',
      sourceAddressTranslation: { type: 'snat', pool: '/P1/nothing' },
    });
    expect(missing.body.message).toMatch(/01070712/);
    await req('POST', '/mgmt/tm/ltm/virtual', {
      name: 'vs',
      partition: 'P1',
      destination: '/P1/10.0.0.10%2:80',
      sourceAddressTranslation: { type: 'snat', pool: '/P1/snat2' },
    });
    const del = await req('DELETE', '/mgmt/tm/ltm/snatpool/~P1~snat2');
    expect(del.body.message).toBe('01070320:3: Snatpool snat2 is still referenced by a virtual server.');
  });

  it("§2.6 config-sync carries route domains, VLANs and floating self IPs, never a unit's own self IPs", async () => {
    const pair = BigIpPair.create();
    const [a, b] = await pair.listen();
    open.push(pair);
    const reqA = client(a);
    const reqB = client(b);
    pair.a.deviceGroup = 'dg';
    await network(reqA, 2);
    await reqA('POST', '/mgmt/tm/net/self', { name: 'own-a', vlan: 'vlan-2', address: '10.0.0.251%2/24' });
    await reqA('POST', '/mgmt/tm/net/self', {
      name: 'floating',
      vlan: 'vlan-2',
      address: '10.0.0.250%2/24',
      trafficGroup: '/Common/traffic-group-1',
    });
    const sync = () =>
      reqA('POST', '/mgmt/tm/cm', { command: 'run', utilCmdArgs: 'config-sync to-group dg' });
    expect((await sync()).status).toBe(200);
    // Unit b's own self IP, written to it directly, stays through the next sync.
    expect(
      (await reqB('POST', '/mgmt/tm/net/self', { name: 'own-b', vlan: 'vlan-2', address: '10.0.0.252%2/24' }))
        .status,
    ).toBe(200);
    expect((await sync()).status).toBe(200);
    const selves = async (req: Req) =>
      (await req('GET', '/mgmt/tm/net/self')).body.items.map((s: any) => s.fullPath).sort();
    expect(await selves(reqA)).toEqual(['/Common/floating', '/Common/own-a']);
    expect(await selves(reqB)).toEqual(['/Common/floating', '/Common/own-b']);
    const rds = (await reqB('GET', '/mgmt/tm/net/route-domain')).body.items.map((r: any) => r.id).sort();
    expect(rds).toEqual([0, 2]);
  });
});
