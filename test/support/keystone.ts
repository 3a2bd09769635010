import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../local/free-port.js';

const run = promisify(execFile);

/** Why Keystone cannot run here, or undefined when Debian's keystone is installed. */
export function keystoneMissing(): string | undefined {
  for (const tool of ['/usr/bin/keystone-manage', '/usr/lib/python3/dist-packages/keystone/server/wsgi.py'])
    if (!existsSync(tool))
      return `Debian's Keystone is not installed (${tool} is missing): apt-get install -y --no-install-recommends keystone python3-keystone`;
  return undefined;
}

export interface Keystone {
  /** The v3 endpoint, e.g. http://127.0.0.1:PORT/v3 */
  url: string;
  adminPassword: string;
  /** A token of the bootstrap admin (project `admin`). */
  adminToken(): Promise<string>;
  /** Keystone's v3 API as the admin: JSON in, JSON out (throws on an unexpected status). */
  call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>>;
  /** Creates (or finds) a role, project or user; assigns roles. */
  ensureRole(name: string): Promise<string>;
  ensureProject(name: string): Promise<string>;
  ensureUser(name: string, password: string, projectId: string): Promise<string>;
  grant(userId: string, projectId: string, roles: readonly string[]): Promise<void>;
  /** A project-scoped token for a user (password authentication). */
  token(user: string, password: string, project: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A real Keystone (Debian's, on SQLite, fernet tokens) on loopback, bootstrapped with an admin in
 * project `admin` and the region RegionOne, as OpenStack's own test rigs run it (keystone-manage
 * db_sync, fernet_setup, credential_setup and bootstrap, then the WSGI application).
 */
export async function startKeystone(options: { log?: (line: string) => void } = {}): Promise<Keystone> {
  const dir = mkdtempSync(join(tmpdir(), 'keystone-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/v3`;
  const adminPassword = `admin-${Math.random().toString(36).slice(2, 10)}`;
  const conf = join(dir, 'keystone.conf');
  mkdirSync(join(dir, 'fernet-keys'));
  mkdirSync(join(dir, 'credential-keys'));
  writeFileSync(
    conf,
    [
      '[DEFAULT]',
      'use_stderr = true',
      'debug = false',
      '[database]',
      `connection = sqlite:///${join(dir, 'keystone.db')}?check_same_thread=False&timeout=30`,
      // Password hashing at its cheapest: every tempest credential logs in often, and a test rig's
      // passwords guard nothing (Keystone's default cost makes each login CPU-bound for a while).
      '[identity]',
      'password_hash_rounds = 4',
      '[token]',
      'provider = fernet',
      'expiration = 7200',
      '[fernet_tokens]',
      `key_repository = ${join(dir, 'fernet-keys')}`,
      '[credential]',
      `key_repository = ${join(dir, 'credential-keys')}`,
      // One process: its own memory is the cache (token validations and role look-ups stay cheap).
      '[cache]',
      'enabled = true',
      'backend = dogpile.cache.memory',
      '',
    ].join('\n'),
  );
  const manage = (...args: string[]) =>
    run('/usr/bin/keystone-manage', ['--config-file', conf, ...args], { timeout: 300_000 });
  await manage('db_sync');
  // Readers must not block writers (a pooled connection's open read otherwise makes writes fail
  // with "database is locked"): WAL is a property of the database file, set once.
  await run('/usr/bin/python3', [
    '-c',
    'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("PRAGMA journal_mode=WAL")',
    join(dir, 'keystone.db'),
  ]);
  // The key repositories belong to whoever runs this (root on CI machines, anyone else locally).
  const owner = [
    '--keystone-user',
    userInfo().username,
    '--keystone-group',
    (await run('id', ['-gn'])).stdout.trim(),
  ];
  await manage('fernet_setup', ...owner);
  await manage('credential_setup', ...owner);
  await manage(
    'bootstrap',
    '--bootstrap-password',
    adminPassword,
    '--bootstrap-admin-url',
    url,
    '--bootstrap-public-url',
    url,
    '--bootstrap-internal-url',
    url,
    '--bootstrap-region-id',
    'RegionOne',
  );
  // keystone-wsgi-public serves one request at a time; tempest and the API's validations come
  // together, so the same application runs on a threading WSGI server (SQLite in WAL mode copes).
  const serve = [
    'import os, socketserver, sys, wsgiref.simple_server as wss',
    'sys.argv = sys.argv[:1]',
    'from keystone.server.wsgi import initialize_public_application',
    'class Server(socketserver.ThreadingMixIn, wss.WSGIServer):',
    '    daemon_threads = True',
    'class Quiet(wss.WSGIRequestHandler):',
    '    def log_message(self, *args):',
    '        pass',
    "wss.make_server('127.0.0.1', int(os.environ['KEYSTONE_PORT']), initialize_public_application(), server_class=Server, handler_class=Quiet).serve_forever()",
  ].join('\n');
  const child: ChildProcess = spawn('/usr/bin/python3', ['-c', serve], {
    env: { ...process.env, OS_KEYSTONE_CONFIG_FILES: conf, KEYSTONE_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Never outlive the process that started it (a failed start or test leaves no server behind).
  const killChild = () => child.kill('SIGKILL');
  process.once('exit', killChild);
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line) continue;
      lines.push(line);
      if (lines.length > 200) lines.shift();
      options.log?.(line);
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  const passwordAuth = async (user: string, password: string, project: string) => {
    const res = await fetch(`${url}/auth/tokens`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: {
            methods: ['password'],
            password: { user: { name: user, domain: { id: 'default' }, password } },
          },
          scope: { project: { name: project, domain: { id: 'default' } } },
        },
      }),
    });
    const token = res.headers.get('x-subject-token');
    if (res.status !== 201 || !token)
      throw new Error(`Keystone refused ${user} (${res.status}): ${await res.text()}`);
    return token;
  };

  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`Keystone exited: ${lines.slice(-20).join('\n')}`);
    }
    try {
      await passwordAuth('admin', adminPassword, 'admin');
      break;
    } catch {
      if (Date.now() > deadline)
        throw new Error(`Keystone did not answer in time: ${lines.slice(-20).join('\n')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  let admin: string | undefined;
  const adminToken = async () => {
    admin ??= await passwordAuth('admin', adminPassword, 'admin');
    return admin;
  };
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { 'X-Auth-Token': await adminToken(), 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (res.status >= 300) throw new Error(`Keystone ${method} ${path}: ${res.status} ${await res.text()}`);
    return res.status === 204 ? {} : ((await res.json()) as Record<string, unknown>);
  };
  const find = async (collection: string, name: string) => {
    const out = (await call('GET', `/${collection}?name=${encodeURIComponent(name)}`)) as Record<
      string,
      { id: string }[]
    >;
    return out[collection]?.[0]?.id;
  };
  const ensure = async (
    collection: string,
    key: string,
    name: string,
    extra: Record<string, unknown> = {},
  ) => {
    const found = await find(collection, name);
    if (found) return found;
    const out = (await call('POST', `/${collection}`, { [key]: { name, ...extra } })) as Record<
      string,
      { id: string }
    >;
    return (out[key] as { id: string }).id;
  };

  return {
    url,
    adminPassword,
    adminToken,
    call,
    ensureRole: (name) => ensure('roles', 'role', name),
    ensureProject: (name) => ensure('projects', 'project', name, { domain_id: 'default' }),
    ensureUser: (name, password, projectId) =>
      ensure('users', 'user', name, { domain_id: 'default', password, default_project_id: projectId }),
    async grant(userId, projectId, roles) {
      for (const role of roles) {
        const roleId = await ensure('roles', 'role', role);
        await call('PUT', `/projects/${projectId}/users/${userId}/roles/${roleId}`);
      }
    },
    token: passwordAuth,
    async stop() {
      process.off('exit', killChild);
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 200));
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
