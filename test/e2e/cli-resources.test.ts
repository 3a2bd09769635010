import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliAgainstLocalStack } from '../support/cli-runner.js';

const cli = cliAgainstLocalStack('lbaas-verbs-');
const { lbaas } = cli;

/** Runs a verb that must succeed; a failure shows what the CLI said. */
async function ok(...argv: string[]) {
  const r = await lbaas(...argv);
  expect(r.code, `lbaas ${argv.join(' ')}: ${r.stderr}`).toBe(0);
  return r;
}

const project = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

describe('lbaas verbs in OpenStack habits, end to end on the local cli.stack', () => {
  it('builds a load balancer by names, shows, lists, changes and deletes it', async () => {
    const lb = await ok(
      'loadbalancer',
      'create',
      '--project',
      project,
      '--vip-address',
      '10.12.0.1',
      '--name',
      'web',
      '--wait',
      '-f',
      'json',
    );
    const lbId = JSON.parse(lb.stdout).id as string;
    expect(JSON.parse(lb.stdout)).toMatchObject({
      name: 'web',
      vip_address: '10.12.0.1',
      provisioning_status: 'ACTIVE',
      project_id: project,
    });
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
      '10.12.1.1',
      '--protocol-port',
      '8080',
      '--name',
      'm1',
      'pool1',
      '--wait',
    );
    await ok(
      'member',
      'create',
      '--address',
      '10.12.1.2',
      '--protocol-port',
      '8080',
      '--name',
      'm2',
      'pool1',
      '--wait',
    );
    await ok(
      'healthmonitor',
      'create',
      '--type',
      'HTTP',
      '--delay',
      '5',
      '--timeout',
      '3',
      '--max-retries',
      '2',
      '--url-path',
      '/health',
      '--name',
      'hm',
      'pool1',
      '--wait',
    );

    // L7: a policy per verb, its rules under it, positions as Octavia keeps them
    await ok(
      'pool',
      'create',
      '--lb-algorithm',
      'ROUND_ROBIN',
      '--protocol',
      'HTTP',
      '--loadbalancer',
      'web',
      '--name',
      'api',
      '--wait',
    );
    const toApi = await ok(
      'l7policy',
      'create',
      '--action',
      'REDIRECT_TO_POOL',
      '--redirect-pool',
      'api',
      '--name',
      'to-api',
      'http',
      '--wait',
      '-f',
      'json',
    );
    expect(JSON.parse(toApi.stdout)).toMatchObject({
      name: 'to-api',
      position: 1,
      provisioning_status: 'ACTIVE',
    });
    await ok(
      'l7rule',
      'create',
      '--type',
      'PATH',
      '--compare-type',
      'STARTS_WITH',
      '--value',
      '/api',
      'to-api',
      '--wait',
    );
    await ok(
      'l7policy',
      'create',
      '--action',
      'REJECT',
      '--position',
      '1',
      '--name',
      'block',
      'http',
      '--wait',
    );
    const order = await ok(
      'l7policy',
      'list',
      '--listener',
      'http',
      '-f',
      'value',
      '-c',
      'name',
      '-c',
      'position',
    );
    expect(order.stdout.trim()).toBe('block 1\nto-api 2');
    const ruleRows = await ok(
      'l7rule',
      'list',
      'to-api',
      '-f',
      'value',
      '-c',
      'type',
      '-c',
      'compare_type',
      '-c',
      'value',
    );
    expect(ruleRows.stdout.trim()).toBe('PATH STARTS_WITH /api');
    const tree = await ok('status', 'web');
    expect(tree.stdout).toMatch(/l7policy \S+ \(block\)/);
    expect(tree.stdout).toMatch(/l7rule \S+\s+ACTIVE\s+ONLINE/);
    const regex = await lbaas(
      'l7rule',
      'create',
      '--type',
      'PATH',
      '--compare-type',
      'REGEX',
      '--value',
      '^/x',
      'to-api',
    );
    expect(regex.code).not.toBe(0);
    expect(regex.stderr).toMatch(/REGEX is not supported/);

    // show, in the three formats
    const shown = await ok('loadbalancer', 'show', 'web');
    expect(shown.stdout).toMatch(/^Field\s+Value/);
    expect(shown.stdout).toMatch(/provisioning_status\s+ACTIVE/);
    expect((await ok('loadbalancer', 'show', lbId, '-f', 'value', '-c', 'vip_address')).stdout.trim()).toBe(
      '10.12.0.1',
    );

    // lists: through the index, and within a parent
    const lbs = JSON.parse((await ok('loadbalancer', 'list', '--project', project, '-f', 'json')).stdout);
    expect(lbs).toEqual([expect.objectContaining({ id: lbId, name: 'web', vip_address: '10.12.0.1' })]);
    const members = (await ok('member', 'list', 'pool1', '-f', 'value', '-c', 'name', '-c', 'address')).stdout
      .trim()
      .split('\n');
    expect(members.sort()).toEqual(['m1 10.12.1.1', 'm2 10.12.1.2']);
    expect(
      (await ok('pool', 'list', '--loadbalancer', 'web', '-f', 'value', '-c', 'name')).stdout
        .trim()
        .split('\n')
        .sort(),
    ).toEqual(['api', 'pool1']);
    const host = (await cli.stack.client.operations.hostingAgent(lbId))?.binding.host as string;
    const onAgent = JSON.parse((await ok('loadbalancer', 'list', '--agent', host, '-f', 'json')).stdout);
    expect(onAgent.map((r: { id: string }) => r.id)).toContain(lbId);

    // set and delete by names
    await ok('member', 'set', 'pool1', 'm2', '--weight', '0', '--wait');
    const m2 = await ok(
      'member',
      'show',
      'pool1',
      'm2',
      '-f',
      'value',
      '-c',
      'weight',
      '-c',
      'operating_status',
    );
    expect(m2.stdout.trim()).toBe('0\nDRAINING');
    await ok('member', 'delete', 'pool1', 'm1', '--wait');
    expect((await ok('member', 'list', 'pool1', '-f', 'value', '-c', 'name')).stdout.trim()).toBe('m2');
    const hms = await ok(
      'healthmonitor',
      'list',
      '--pool',
      'pool1',
      '-f',
      'value',
      '-c',
      'name',
      '-c',
      'type',
    );
    expect(hms.stdout.trim()).toBe('hm HTTP');
  });

  it('imports certificates and serves them on a TERMINATED_HTTPS listener', async () => {
    const tls = (f: string) => join(import.meta.dirname, '..', 'fixtures', 'tls', f);
    await ok(
      'loadbalancer',
      'create',
      '--project',
      project,
      '--vip-address',
      '10.12.0.7',
      '--name',
      'secure',
      '--wait',
    );
    const www = await ok(
      'cert',
      'import',
      '--name',
      'www',
      '--project',
      project,
      '--cert',
      tls('www.example.com.pem'),
      '--key',
      tls('www.example.com.key'),
      '--chain',
      tls('sites-ca.pem'),
      '--json',
    );
    expect(JSON.parse(www.stdout)).toMatchObject({
      ref: `lbaas/Project/${project}/www`,
      serverNames: ['www.example.com'],
    });
    const passphrase = join(mkdtempSync(join(tmpdir(), 'lbaas-pass-')), 'passphrase');
    writeFileSync(passphrase, 'test-passphrase\n', { mode: 0o600 });
    const a = await ok(
      'cert',
      'import',
      '--name',
      'a',
      '--project',
      project,
      '--cert',
      tls('a.example.com.pem'),
      '--key',
      tls('a.example.com.enc.key'),
      '--passphrase-file',
      passphrase,
    );
    expect(a.stdout.trim()).toBe(`lbaas/Project/${project}/a`);
    const listener = await ok(
      'listener',
      'create',
      // A list option takes every value after it: the load balancer goes first.
      'secure',
      '--protocol',
      'TERMINATED_HTTPS',
      '--protocol-port',
      '443',
      '--name',
      'https',
      '--default-tls-container-ref',
      `lbaas/Project/${project}/www`,
      '--sni-container-refs',
      a.stdout.trim(),
      '--wait',
      '-f',
      'json',
    );
    await ok('listener', 'set', 'https', '--insert-headers', 'X-Forwarded-Proto=true', '--wait');
    expect(JSON.parse((await ok('listener', 'show', 'https', '-f', 'json')).stdout).insert_headers).toEqual({
      'X-Forwarded-Proto': 'true',
    });
    expect(JSON.parse(listener.stdout)).toMatchObject({
      protocol: 'TERMINATED_HTTPS',
      sni_container_refs: [`lbaas/Project/${project}/a`],
      provisioning_status: 'ACTIVE',
    });
    // A key that is not the certificate's, and an encrypted key without its passphrase, are refused.
    const importCert = (name: string, cert: string, key: string) =>
      lbaas('cert', 'import', '--name', name, '--project', project, '--cert', tls(cert), '--key', tls(key));
    const wrong = await importCert('bad', 'a.example.com.pem', 'b.example.com.key');
    expect(wrong.stderr).toMatch(/private_key does not belong to the certificate/);
    const locked = await importCert('bad', 'a.example.com.pem', 'a.example.com.enc.key');
    expect(locked.stderr).toMatch(/encrypted ones need passphrase/);
    const named = await importCert('two words', 'a.example.com.pem', 'a.example.com.key');
    expect(named.stderr).toMatch(
      /--name and --project make .*two words, which must be a certificate reference/,
    );
  });

  it('answers mistakes with what was wrong and what to do', async () => {
    const missing = await lbaas('listener', 'create', '--protocol-port', '80', 'web');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(
      /--protocol is required \(protocol: one of HTTP, HTTPS, TCP, TERMINATED_HTTPS, UDP\)/,
    );
    const choice = await lbaas('listener', 'create', '--protocol', 'FTP', '--protocol-port', '80', 'web');
    expect(choice.stderr).toMatch(/Allowed choices are HTTP, HTTPS, TCP, TERMINATED_HTTPS, UDP/);
    const notFound = await lbaas('pool', 'show', 'no-such-pool');
    expect(notFound.stderr).toMatch(/no pool with id or name no-such-pool in environment Project/);
    const number = await lbaas(
      'member',
      'create',
      '--address',
      '10.12.9.9',
      '--protocol-port',
      'eighty',
      'pool1',
    );
    expect(number.stderr).toMatch(/--protocol-port takes a whole number, not "eighty"/);
    const noProject = await lbaas('loadbalancer', 'create', '--vip-address', '10.12.0.9');
    expect(noProject.stderr).toMatch(/--project is required/);
  });

  it('prints shell completion for bash and zsh that knows the verbs', async () => {
    const bash = await lbaas('completion', 'bash');
    expect(bash.code).toBe(0);
    expect(bash.stdout).toMatch(/complete -F _lbaas lbaas/);
    expect(bash.stdout).toMatch(/loadbalancer/);
    expect(bash.stdout).toMatch(/--vip-address/);
    const zsh = await lbaas('completion', 'zsh');
    expect(zsh.stdout).toMatch(/#compdef lbaas/);
  });
});
