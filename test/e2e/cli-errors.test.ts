import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tableNames } from '../../functions/shared/table-schema.js';
import { freePort } from '../../local/free-port.js';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'cli', 'bin', 'lbaas.js');

const ROOT = join(import.meta.dirname, '..', '..');

/** This environment without AWS settings (the test run's point at its local stand-ins). */
const withoutAws = () =>
  Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && k !== 'LBAAS_LOCAL_STATE'),
  );

/** Runs the real `lbaas` command; resolves with its exit code and output whatever the code. */
async function lbaas(env: Record<string, string>, ...argv: string[]) {
  return lbaasIn({ env: { ...process.env, ...env } }, ...argv);
}

async function lbaasIn(options: { env: NodeJS.ProcessEnv; cwd?: string }, ...argv: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...argv], options);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('CLI errors a person can act on', () => {
  it('says to run npm start when there is no local stack', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lbaas-none-'));
    const r = await lbaas({ LBAAS_LOCAL_STATE: join(dir, 'missing.json') }, 'agents', '--local');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^lbaas: no local stack: .*missing\.json not found \(run npm start\)\n$/);
  });

  it('says npm start is no longer running when the recorded stack does not answer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lbaas-stale-'));
    const [dynamo, sqs] = [await freePort(), await freePort()];
    const file = join(dir, 'stack.json');
    writeFileSync(
      file,
      JSON.stringify({
        endpoints: { dynamodb: `http://127.0.0.1:${dynamo}`, sqs: `http://127.0.0.1:${sqs}` },
        target: {
          env: 'Project',
          requestQueueUrl: `http://127.0.0.1:${sqs}/q`,
          requestDlqUrl: `http://127.0.0.1:${sqs}/d`,
          agentQueues: {},
          tables: tableNames('gone'),
          agentDownTimeSeconds: 75,
        },
      }),
    );
    const r = await lbaas({ LBAAS_LOCAL_STATE: file }, 'agents');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach the local stack .*is `npm start` still running\?/);
  });

  it('prints its version, and only its version', async () => {
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string })
      .version;
    for (const flag of ['--version', '-V']) {
      const r = await lbaas({}, flag);
      expect(r).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    }
  });

  it("marks each create's required flags in its help", async () => {
    // Octavia's client's required arguments, written out here.
    const required: Record<string, string[]> = {
      loadbalancer: ['--project', '--vip-address'],
      listener: ['--protocol', '--protocol-port'],
      pool: ['--lb-algorithm', '--protocol'],
      member: ['--address', '--protocol-port'],
      healthmonitor: ['--type', '--delay', '--timeout', '--max-retries'],
      l7policy: ['--action'],
      l7rule: ['--type', '--compare-type', '--value'],
    };
    for (const [type, flags] of Object.entries(required)) {
      const r = await lbaas({}, type, 'create', '--help');
      expect(r.code).toBe(0);
      const marked = r.stdout
        .split('\n')
        .filter((line) => /\(required\)/.test(line))
        .map((line) => line.trim().split(' ')[0]);
      expect(marked.sort(), type).toEqual([...flags].sort());
    }
    const pool = await lbaas({}, 'pool', 'create', '--help');
    expect(pool.stdout.replace(/\s+/g, ' ')).toContain(
      '--listener <listener> the listener it serves (this or --loadbalancer is required)',
    );
  }, 90_000); // eight commands started one after another

  it('says that no local stack is running and which AWS environment it tried, without --local', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lbaas-nostack-'));
    copyFileSync(join(ROOT, 'lbaas.config.json'), join(dir, 'lbaas.config.json'));
    const r = await lbaasIn({ env: withoutAws(), cwd: dir }, 'agents');
    expect(r.code).toBe(1);
    const config = join(realpathSync(dir), 'lbaas.config.json');
    expect(r.stderr).toBe(
      `lbaas: no local stack is running (${join(realpathSync(dir), '.local', 'stack.json')} not found: run npm start), and AWS stack lbaas-Project (environment Project, region us-east-1, ${config}) cannot be read: Could not load credentials from any providers (give credentials for its account: AWS_PROFILE, or the AWS_ACCESS_KEY_ID family)\n`,
    );
    // Asked for AWS by name: no word of the local stack, but which stack it is.
    const named = await lbaasIn({ env: withoutAws(), cwd: dir }, '--stack', 'lbaas-Other', 'agents');
    expect(named.stderr).toMatch(
      /^lbaas: AWS stack lbaas-Other \(environment Project, region us-east-1, .*\) cannot be read: /,
    );
    expect(named.stderr).not.toMatch(/local stack/);
  });

  it('finds the configuration upward from a subdirectory, as git finds its repository, and names it in --help', async () => {
    const project = realpathSync(mkdtempSync(join(tmpdir(), 'lbaas-project-')));
    copyFileSync(join(ROOT, 'lbaas.config.json'), join(project, 'lbaas.config.json'));
    const sub = join(project, 'cli', 'deeper');
    mkdirSync(sub, { recursive: true });
    const help = await lbaasIn({ env: withoutAws(), cwd: sub }, '--help');
    expect(help.stdout.replace(/\s+/g, ' ')).toContain(
      `--config <path> configuration file (default: ${join(project, 'lbaas.config.json')}, the nearest lbaas.config.json upward from the working directory)`,
    );
    expect(help.stdout.replace(/\s+/g, ' ')).toContain(`(${join(project, '.local', 'stack.json')})`);
    const r = await lbaasIn({ env: withoutAws(), cwd: sub }, 'agents');
    expect(r.stderr).not.toMatch(/ENOENT/);
    expect(r.stderr).toContain(
      `AWS stack lbaas-Project (environment Project, region us-east-1, ${join(project, 'lbaas.config.json')})`,
    );
    // Nowhere above: says so.
    const none = realpathSync(mkdtempSync(join(tmpdir(), 'lbaas-bare-')));
    const bare = await lbaasIn({ env: withoutAws(), cwd: none }, 'agents');
    expect(bare.stderr).toMatch(new RegExp(`no lbaas.config.json in ${none} or any directory above it`));
  });
});
