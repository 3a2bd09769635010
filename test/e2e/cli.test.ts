import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliAgainstLocalStack } from '../support/cli-runner.js';
import { lbIds, requests } from '../support/factories.js';
import { eventually } from '../support/local-stack-fixture.js';

const cli = cliAgainstLocalStack('lbaas-cli-');
const { lbaas, dir } = cli;

function writeJson(name: string, body: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(body));
  return file;
}

describe('lbaas CLI against the local cli.stack', () => {
  const ids = lbIds();

  it('submits from flags, waits, and shows the status tree', async () => {
    const created = await lbaas(
      'submit',
      '--resource',
      'loadbalancer',
      '--tenant',
      ids.tenantId,
      '--lb',
      ids.loadbalancerId,
      '--object',
      '{"vip_address":"10.9.0.1","name":"web"}',
      '--wait',
    );
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^submitted \S+ \(load balancer /);
    // On the device, not measured yet: OFFLINE, as Octavia creates it.
    expect(created.stdout).toMatch(
      new RegExp(`loadbalancer ${ids.loadbalancerId} \\(web\\)\\s+ACTIVE\\s+OFFLINE`),
    );
    // The status poller reads its virtual address on the active unit: ONLINE, and the tree shows it.
    expect(await cli.stack.pollHealth()).toMatchObject({ outcome: 'polled' });
    const status = await lbaas('status', ids.loadbalancerId, '--json');
    expect(JSON.parse(status.stdout)).toMatchObject({
      type: 'loadbalancer',
      provisioningStatus: 'ACTIVE',
      operatingStatus: 'ONLINE',
      children: [],
    });
  });

  it('submits NDJSON in bulk and waits for all of it', async () => {
    const pool = requests.createPool(ids);
    const file = join(dir, 'requests.ndjson');
    const lines = [requests.createListener(ids), pool, requests.createMember(ids, pool.object.id as string)];
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n'));
    const sent = await lbaas('submit', '--file', file, '--wait');
    expect(sent.code).toBe(0);
    expect(sent.stdout.match(/^submitted /gm)).toHaveLength(3);
    expect(sent.stdout).toMatch(/member \S+ 10\.0\.1\.5:8080\s+ACTIVE\s+NO_MONITOR/);
  });

  it("prints a load balancer's statistics in Octavia's shape, read from the active unit", async () => {
    // Traffic the active unit counted on the listener's virtual server (bits, as a BIG-IP counts).
    const device = cli.stack.pair?.active ?? (cli.stack.devices[0] as (typeof cli.stack.devices)[number]);
    const vs = device.store.all('ltm/virtual').find((v) => v.partition.endsWith(ids.tenantId));
    if (!vs) throw new Error('no virtual server for the listener');
    Object.assign(device.stats.virtual(vs.fullPath), {
      bitsIn: 8 * 1500,
      bitsOut: 8 * 9000,
      curConns: 2,
      totConns: 7,
    });
    expect(await cli.stack.pollHealth()).toMatchObject({ outcome: 'polled' });
    const stats = await lbaas('stats', ids.loadbalancerId, '--json');
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout)).toEqual({
      stats: {
        bytes_in: 1500,
        bytes_out: 9000,
        active_connections: 2,
        total_connections: 7,
        request_errors: 0,
      },
    });
    const table = await lbaas('stats', ids.loadbalancerId);
    expect(table.stdout).toMatch(/^LISTENER\s+BYTES IN\s+BYTES OUT/);
    expect(table.stdout).toMatch(/\(total\)\s+1500\s+9000\s+2\s+7\s+0/);
    expect((await lbaas('stats', '00000000-0000-4000-8000-000000000000')).code).not.toBe(0);
  });

  it('syncs: a dry run prints the drift made by hand and changes nothing, then a sync repairs it', async () => {
    const device = cli.stack.pair?.active ?? (cli.stack.devices[0] as (typeof cli.stack.devices)[number]);
    const vs = device.store.all('ltm/virtual').find((v) => v.partition.endsWith(ids.tenantId));
    if (!vs) throw new Error('no virtual server for the listener');
    device.store.delete('ltm/virtual', vs.fullPath);

    const dry = await lbaas('sync', '--dry-run', '--lb', ids.loadbalancerId);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(
      new RegExp(`\\[1/1\\] load balancer ${ids.loadbalancerId}: drift \\(1 difference\\)`),
    );
    expect(dry.stdout).toMatch(new RegExp(`${ids.loadbalancerId}\\s+create\\s+virtual\\s+${vs.fullPath}`));
    expect(dry.stdout).toMatch(/dry run: nothing changed/);
    expect(device.store.get('ltm/virtual', vs.fullPath)).toBeUndefined();

    const repaired = await lbaas('sync', '--lb', ids.loadbalancerId, '--json');
    expect(repaired.code).toBe(0);
    expect(JSON.parse(repaired.stdout)).toMatchObject({
      outcome: 'done',
      dryRun: false,
      loadbalancers: [{ loadbalancerId: ids.loadbalancerId, outcome: 'repaired' }],
    });
    expect(device.store.get('ltm/virtual', vs.fullPath)).toBeDefined();
    const status = await lbaas('status', ids.loadbalancerId);
    expect(status.stdout).toMatch(/drift repaired on .*: 1 created; create virtual/);
    expect((await lbaas('sync', '--lb', ids.loadbalancerId, '--tenant', ids.tenantId)).code).not.toBe(0);
  });

  it('submits a batch member update from flags and waits for the pool', async () => {
    const pool = requests.createPool(ids);
    expect((await lbaas('submit', '--file', writeJson('pool.json', pool), '--wait')).code).toBe(0);
    const members = ['10.9.1.1', '10.9.1.2', '10.9.1.3'].map((address) => ({
      id: crypto.randomUUID(),
      address,
      protocol_port: 80,
    }));
    const sent = await lbaas(
      'submit',
      '--operation',
      'batch_update',
      '--resource',
      'member',
      '--tenant',
      ids.tenantId,
      '--lb',
      ids.loadbalancerId,
      '--object',
      JSON.stringify({ pool_id: pool.object.id, members }),
      '--wait',
    );
    expect(sent.code).toBe(0);
    const tree = JSON.parse((await lbaas('status', ids.loadbalancerId, '--json')).stdout);
    const listed = JSON.stringify(tree);
    for (const m of members) expect(listed).toContain(m.id);
  });

  it('exits 2 from wait when an object ends in ERROR, with a one-line reason', async () => {
    // A virtual address made by hand on the devices holds the VIP: the device refuses ours (device-facts.md §2.2).
    for (const device of cli.stack.devices)
      device.store.create('ltm/virtual-address', {
        name: 'by-hand',
        partition: 'Common',
        address: '10.66.0.1',
      });
    const own = lbIds();
    const refused = requests.createLoadbalancer(own, { vip_address: '10.66.0.1' });
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify(refused));
    const result = await lbaas('submit', '--file', file, '--wait');
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('lbaas: 1 object(s) in ERROR');
    expect(result.stdout).toContain(
      '0107176c:3: Invalid Virtual Address, the IP address 10.66.0.1 already exists.',
    );
    // A load balancer in ERROR can still be deleted (and leaves nothing bound for the next tests).
    writeFileSync(file, JSON.stringify(requests.delete('loadbalancer', own, own.loadbalancerId)));
    expect((await lbaas('submit', '--file', file, '--wait')).code).toBe(0);
    // The agent releases the binding right after it removes the records the wait watches.
    await eventually(
      async () => (await cli.stack.client.operations.hostingAgent(own.loadbalancerId)) === undefined,
      'the binding released',
    );
  });

  it('refuses invalid input before sending anything', async () => {
    const result = await lbaas(
      'submit',
      '--resource',
      'member',
      '--tenant',
      ids.tenantId,
      '--lb',
      ids.loadbalancerId,
      '--object',
      '{"address":"nope"}',
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^lbaas: request 1: invalid request: object\.pool_id/);
  });

  it('shows agents, the hosting agent and the load balancers on an agent', async () => {
    const agents = JSON.parse((await lbaas('agents', '--json')).stdout);
    expect(agents.map((a: { host: string; alive: boolean }) => [a.host, a.alive])).toEqual([
      ['agent-1', true],
      ['agent-2', true],
      ['agent-3', true],
    ]);
    const hosting = JSON.parse((await lbaas('hosting-agent', ids.loadbalancerId, '--json')).stdout);
    const listed = JSON.parse((await lbaas('list-on-agent', hosting.binding.host, '--json')).stdout);
    expect(listed.loadbalancers.map((b: { loadbalancerId: string }) => b.loadbalancerId)).toContain(
      ids.loadbalancerId,
    );
    const text = await lbaas('agents');
    expect(text.stdout).toMatch(/^HOST\s+ALIVE\s+ADMIN\s+HEARTBEAT AGE\s+LOAD BALANCERS\s+DEVICES\s+GROUP/);
    expect(text.stdout).toMatch(/agent-1\s+alive.*\sdefault$/m);
  });

  it('disables, enables, refuses to delete a busy agent, drains it, then deletes it', async () => {
    const host = JSON.parse((await lbaas('hosting-agent', ids.loadbalancerId, '--json')).stdout).binding
      .host as string;
    expect((await lbaas('agent-disable', host)).stdout).toBe(`agent ${host} disabled\n`);
    expect((await lbaas('agent-enable', host)).stdout).toBe(`agent ${host} enabled\n`);
    const refused = await lbaas('agent-delete', host);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `lbaas: agent ${host} still hosts 1 load balancer(s): ${ids.loadbalancerId}`,
    );
    const drained = await lbaas('agent-drain', host);
    expect(drained.code).toBe(0);
    expect(drained.stdout).toMatch(new RegExp(`moved ${ids.loadbalancerId} → agent-\\d \\(least-loaded\\)`));
    await cli.stack.agent(host).stop(); // its heartbeat would register it again
    expect((await lbaas('agent-delete', host)).stdout).toBe(`agent ${host} deleted\n`);
  });

  it('lists and redrives dead letters', async () => {
    const listed = await lbaas('dlq', 'list', '--json');
    expect(JSON.parse(listed.stdout)).toEqual([]);
    expect((await lbaas('dlq', 'redrive')).stdout).toBe('0 message(s) redriven\n');
  });

  it('answers unknown things with one line and a non-zero exit', async () => {
    const missing = await lbaas('status', lbIds().loadbalancerId);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^lbaas: no loadbalancer with id or name \S+ in environment Project\n$/);
    expect((await lbaas('frobnicate')).code).toBe(1);
    expect((await lbaas('--help')).code).toBe(0);
  });
});
