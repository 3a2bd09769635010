import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { dashboardState } from '../../local/dashboard/dashboard-state.js';
import { cliAgainstLocalStack } from '../support/cli-runner.js';
import { eventually } from '../support/local-stack-fixture.js';

/*
 * What an operator meets on the local stack (issue 28): refusals reach the person who asked, at
 * once; `set`/`delete --wait` print how the object ended; ranges in errors; `-c` one column each;
 * the CLI from a subdirectory; who serves a load balancer whose agent is dead.
 */
const cli = cliAgainstLocalStack('lbaas-operator-');
const { lbaas, ok } = cli;
const project = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'cli', 'bin', 'lbaas.js');

const idOf = (stdout: string) => (JSON.parse(stdout) as { id: string }).id;

describe('refusals reach the person who asked', () => {
  it('a load balancer on a VIP already used: --wait ends at once, exit 3, naming the holder; show says why', async () => {
    const first = await ok(
      'loadbalancer',
      'create',
      '--project',
      project,
      '--vip-address',
      '10.40.0.10',
      '--name',
      'web',
      '--wait',
      '-f',
      'json',
    );
    const holder = idOf(first.stdout);
    // A wait that is not cut short by the refusal would end at this timeout with another message.
    const second = await lbaas(
      'loadbalancer',
      'create',
      '--project',
      project,
      '--vip-address',
      '10.40.0.10',
      '--name',
      'web-again',
      '--wait',
      '--wait-timeout',
      '120',
    );
    expect(second.code).toBe(3);
    expect(second.stdout).toBe('');
    const refused = /^lbaas: loadbalancer (\S+) was refused \(request (\S+), create, \S+\): (.*)\n$/.exec(
      second.stderr.split('\n').slice(1).join('\n'),
    );
    expect(refused, second.stderr).not.toBeNull();
    const [, id, requestId, reason] = refused as RegExpExecArray;
    expect(second.stderr).toMatch(new RegExp(`^submitted ${requestId}\\n`));
    expect(reason).toContain('VIP 10.40.0.10');
    expect(reason).toContain(holder);

    // Later, by its id: never created, refused, and why (as long as the request's record lives).
    const show = await lbaas('loadbalancer', 'show', id as string);
    expect(show.code).toBe(1);
    expect(show.stderr).toBe(
      `lbaas: loadbalancer ${id} was refused (request ${requestId}, create, ${
        (/, create, (\S+)\)/.exec(second.stderr) as RegExpExecArray)[1]
      }): ${reason}\n`,
    );
    const status = await lbaas('status', id as string);
    expect(status.stderr).toContain(`loadbalancer ${id} was refused`);

    // The stack's own record of it: the console's recent requests, with the reason.
    const recent = (await dashboardState(cli.stack)).recent.find((r) => r.requestId === requestId);
    expect(recent).toMatchObject({ decision: 'refused', status: 'REFUSED', reason });
  });

  it('a listener on a port its VIP already serves: refused at once with --wait; without, show says why', async () => {
    await ok(
      'listener',
      'create',
      '--protocol',
      'HTTP',
      '--protocol-port',
      '80',
      '--name',
      'http',
      'web',
      '--wait',
    );
    const waited = await lbaas(
      'listener',
      'create',
      '--protocol',
      'TCP',
      '--protocol-port',
      '80',
      'web',
      '--wait',
      '--wait-timeout',
      '120',
    );
    expect(waited.code).toBe(3);
    expect(waited.stderr).toMatch(/lbaas: listener \S+ was refused \(request \S+, create, \S+\): .*port 80/);

    // Without --wait it is only submitted; its id then says what became of it.
    const sent = await ok(
      'listener',
      'create',
      '--protocol',
      'TCP',
      '--protocol-port',
      '80',
      'web',
      '-f',
      'json',
    );
    expect(JSON.parse(sent.stdout)).toMatchObject({ provisioning_status: 'PENDING_CREATE' });
    const id = idOf(sent.stdout);
    const show = await eventually(async () => {
      const r = await lbaas('listener', 'show', id);
      return r.code !== 0 && r.stderr.includes('was refused') ? r : undefined;
    }, 'the refusal of the listener');
    expect(show.code).toBe(1);
    expect(show.stderr).toMatch(
      new RegExp(`^lbaas: listener ${id} was refused \\(request \\S+, create, \\S+\\): .*port 80`),
    );
    // A listener that does exist is shown as before.
    const http = await ok('listener', 'show', 'http', '-f', 'value', '-c', 'protocol_port');
    expect(http.stdout).toBe('80\n');
  });

  it('submit --wait reports each refused request and exits 3', async () => {
    const lb = JSON.parse((await ok('loadbalancer', 'show', 'web', '-f', 'json')).stdout) as { id: string };
    const r = await lbaas(
      'submit',
      '--resource',
      'listener',
      '--tenant',
      project,
      '--lb',
      lb.id,
      '--object',
      '{"protocol":"HTTP","protocol_port":80}',
      '--wait',
      '--timeout',
      '120',
    );
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^refused \S+ \(create listener \S+\): .*port 80/m);
    expect(r.stderr).toBe('lbaas: 1 request(s) refused\n');
  });
});

describe('set and delete with --wait print how the object ended', () => {
  it('member set --wait prints the member, delete --wait prints it DELETED', async () => {
    await ok(
      'pool',
      'create',
      '--lb-algorithm',
      'ROUND_ROBIN',
      '--protocol',
      'HTTP',
      '--listener',
      'http',
      '--name',
      'pool1',
      '--wait',
    );
    await ok(
      'member',
      'create',
      '--address',
      '10.40.1.5',
      '--protocol-port',
      '8080',
      '--name',
      'm1',
      'pool1',
      '--wait',
    );
    const set = await ok('member', 'set', 'pool1', 'm1', '--weight', '0', '--wait', '-f', 'json');
    expect(JSON.parse(set.stdout)).toMatchObject({
      name: 'm1',
      address: '10.40.1.5',
      protocol_port: 8080,
      weight: 0,
      provisioning_status: 'ACTIVE',
    });
    const table = await ok('listener', 'set', 'http', '--name', 'http2', '--wait');
    expect(table.stdout).toMatch(/^Field\s+Value\n/);
    expect(table.stdout).toMatch(/\nname\s+http2\n/);
    expect(table.stdout).toMatch(/\nprovisioning_status\s+ACTIVE\n/);
    await ok('listener', 'set', 'http2', '--name', 'http', '--wait');

    const id = (await ok('member', 'show', 'pool1', 'm1', '-f', 'value', '-c', 'id')).stdout.trim();
    const gone = await ok('member', 'delete', 'pool1', 'm1', '--wait', '-f', 'json');
    expect(JSON.parse(gone.stdout)).toEqual({ id, provisioning_status: 'DELETED' });
    // Without --wait, set says only that it was submitted (as before).
    await ok(
      'member',
      'create',
      '--address',
      '10.40.1.6',
      '--protocol-port',
      '8080',
      '--name',
      'm2',
      'pool1',
      '--wait',
    );
    const quiet = await ok('member', 'set', 'pool1', 'm2', '--weight', '3');
    expect(quiet.stdout).toBe('');
    expect(quiet.stderr).toMatch(/^submitted \S+\n$/);
  });

  it('lbaas status names each member by address:port, beside its name', async () => {
    const id = (await ok('member', 'show', 'pool1', 'm2', '-f', 'value', '-c', 'id')).stdout.trim();
    const tree = await ok('status', 'web');
    expect(tree.stdout).toMatch(
      new RegExp(`member ${id} \\(m2\\) 10\\.40\\.1\\.6:8080\\s+(ACTIVE|PENDING_UPDATE)\\s`),
    );
    const json = JSON.parse((await ok('status', 'web', '--json')).stdout) as {
      children: { children: { id: string; address?: string }[] }[];
    };
    const members = json.children.flatMap((c) => c.children).filter((c) => c.id === id);
    expect(members).toEqual([expect.objectContaining({ name: 'm2', address: '10.40.1.6:8080' })]);
  });
});

describe('errors that say what to do', () => {
  it('a port out of range names the allowed range', async () => {
    for (const port of ['0', '70000']) {
      const r = await lbaas('listener', 'create', '--protocol', 'HTTP', '--protocol-port', port, 'web');
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        'lbaas: invalid request: object.protocol_port: must be a whole number from 1 to 65535\n',
      );
    }
    const weight = await lbaas('member', 'set', 'pool1', 'm2', '--weight', '300');
    expect(weight.stderr).toBe(
      'lbaas: invalid request: object.weight: must be a whole number from 0 to 256\n',
    );
  });

  it('-c takes one column each and leaves the positional arguments alone', async () => {
    // --wait: without it the create is only queued, and the list below could run before the
    // scheduler records it (a flake CI met once).
    const r = await ok(
      'l7policy',
      'create',
      '--wait',
      '--action',
      'REJECT',
      '--name',
      'deny',
      '-f',
      'value',
      '-c',
      'id',
      'http',
    );
    expect(r.stdout).toMatch(/^[0-9a-f-]{36}\n$/);
    const two = await ok(
      'l7policy',
      'list',
      '--listener',
      'http',
      '-f',
      'value',
      '-c',
      'name',
      '-c',
      'action',
    );
    expect(two.stdout).toBe('deny REJECT\n');
  });

  it('works from a subdirectory of the project with the stack npm start recorded there', async () => {
    // A project of its own: its configuration, and the state file npm start would write beside it.
    const root = realpathSync(mkdtempSync(join(tmpdir(), 'lbaas-project-')));
    copyFileSync(join(ROOT, 'lbaas.config.json'), join(root, 'lbaas.config.json'));
    mkdirSync(join(root, '.local'));
    copyFileSync(process.env.LBAAS_LOCAL_STATE as string, join(root, '.local', 'stack.json'));
    const sub = join(root, 'cli');
    mkdirSync(sub);
    const { LBAAS_LOCAL_STATE: _state, ...env } = process.env;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [BIN, 'loadbalancer', 'list', '-f', 'value', '-c', 'name', '-c', 'vip_address'],
      { cwd: sub, env },
    );
    expect(stdout).toBe('web 10.40.0.10\n');
  });
});

describe('hosting-agent shows who serves the load balancer now', () => {
  it('the bound agent while it lives; during its outage, the failover agent', async () => {
    const alive = await ok('hosting-agent', 'web', '--json');
    const hosting = JSON.parse(alive.stdout) as { binding: { host: string }; servedBy: { host: string } };
    const bound = hosting.binding.host;
    expect(hosting.servedBy).toEqual({ host: bound, decision: 'bound' });

    await cli.stack.agent(bound).stop();
    try {
      const during = await eventually(async () => {
        const r = await ok('hosting-agent', 'web');
        return /\bdead\b/.test(r.stdout) ? r : undefined;
      }, `${bound} declared dead`);
      const [header, row] = during.stdout.trim().split('\n');
      expect(header).toMatch(/^HOST\s+GROUP\s+ALIVE\s+ADMIN\s+HEARTBEAT AGE\s+SERVED BY$/);
      const cells = (row as string).split(/\s{2,}/);
      expect(cells[0]).toBe(bound);
      expect(cells[2]).toBe('dead');
      const served = /^(\S+) \(failover\)$/.exec(cells[5] as string);
      expect(served, row).not.toBeNull();
      expect(served?.[1]).not.toBe(bound);
      // The same agent the scheduler then sends its requests to.
      const renamed = await ok(
        'loadbalancer',
        'set',
        'web',
        '--description',
        'during the outage',
        '--wait',
        '-f',
        'json',
      );
      expect(JSON.parse(renamed.stdout)).toMatchObject({ provisioning_status: 'ACTIVE' });
      const requestId = /^submitted (\S+)/.exec(renamed.stderr)?.[1];
      expect(cli.stack.recent.find((r) => r.requestId === requestId)).toMatchObject({
        decision: 'failover',
        host: served?.[1],
      });
    } finally {
      await cli.stack.agent(bound).start();
    }
  });
});
