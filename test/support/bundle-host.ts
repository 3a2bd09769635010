import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';

const RUNTIME = join(import.meta.dirname, 'lambda-runtime.mjs');

/**
 * The Node binary the bundles run under: `LBAAS_LAMBDA_NODE` when set (CI installs Lambda's major
 * version, see docs/testing.md), else the one running the tests.
 */
export function lambdaNode(): { path: string; version: string } {
  const path = process.env.LBAAS_LAMBDA_NODE || process.execPath;
  const version = spawnSync(path, ['--version'], { encoding: 'utf8' }).stdout.trim();
  if (!version) throw new Error(`LBAAS_LAMBDA_NODE=${path} is not a runnable node binary`);
  return { path, version };
}

export interface InvocationResult {
  ok: boolean;
  value?: unknown;
  error?: { name: string; message: string; stack?: string };
  /** Time inside the handler, measured in the function's process. */
  ms: number;
  read?: string[];
}

export interface BundleProcess {
  name: string;
  /** Time to import the handler module (the cold start's init, without process start-up). */
  loadMs: number;
  /** From starting the process to the handler loaded (process start-up included). */
  readyMs: number;
  /** Time inside the handler of each invocation so far, in order. */
  durations: number[];
  /** Everything the function printed (its JSON logs and EMF metrics), line by line. */
  output: string[];
  /** The environment variables the function's code has read so far (at load and in invocations). */
  read: Set<string>;
  invoke(event: unknown): Promise<InvocationResult>;
  stop(): Promise<void>;
}

/**
 * Starts a function's bundle in its own process, as a Lambda execution environment: the asset
 * directory is the task root and the working directory, the environment is only what Lambda would
 * set (nothing of the test process leaks in), and the handler module is imported once. Invocations
 * past the function's timeout end the process, as Lambda does.
 */
export async function startBundle(options: {
  name: string;
  assetDir: string;
  env: Record<string, string>;
  timeoutSeconds: number;
  functionArn: string;
  node?: string;
}): Promise<BundleProcess> {
  const begun = performance.now();
  const child: ChildProcess = fork(RUNTIME, [], {
    cwd: options.assetDir,
    env: options.env,
    execPath: options.node ?? lambdaNode().path,
    execArgv: [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
  });
  const output: string[] = [];
  const collect = (chunk: Buffer) => output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const pending = new Map<string, (result: InvocationResult) => void>();
  const read = new Set<string>();
  const durations: number[] = [];
  let crash: InvocationResult['error'] | undefined;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.on(
    'message',
    (message: { type: string; id?: string; error?: InvocationResult['error'] } & InvocationResult) => {
      for (const name of message.read ?? []) read.add(name);
      if (message.type === 'result' && message.id) pending.get(message.id)?.(message);
      if (message.type === 'crashed') crash = message.error;
    },
  );
  void exited.then(() => {
    for (const [id, settle] of pending) {
      pending.delete(id);
      settle({
        ok: false,
        error: crash ?? { name: 'Runtime.ExitError', message: 'the process exited' },
        ms: 0,
      });
    }
  });

  const loaded = await new Promise<{ type: string; ms: number; error?: InvocationResult['error'] }>(
    (resolve) => {
      child.once('message', (m) => resolve(m as { type: string; ms: number }));
      void exited.then(() =>
        resolve({
          type: 'load-failed',
          ms: 0,
          error: { name: 'Runtime.ExitError', message: output.join('\n') },
        }),
      );
    },
  );
  if (loaded.type !== 'loaded') {
    await exited;
    throw new Error(
      `${options.name}: the bundle did not load: ${loaded.error?.name}: ${loaded.error?.message}\n${output.join('\n')}`,
    );
  }

  return {
    name: options.name,
    loadMs: loaded.ms,
    readyMs: performance.now() - begun,
    durations,
    output,
    read,
    invoke(event) {
      const id = randomUUID();
      return new Promise<InvocationResult>((resolve) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          child.kill('SIGKILL');
          resolve({
            ok: false,
            error: {
              name: 'Sandbox.Timedout',
              message: `Task timed out after ${options.timeoutSeconds} seconds`,
            },
            ms: options.timeoutSeconds * 1000,
          });
        }, options.timeoutSeconds * 1000);
        pending.set(id, (result) => {
          clearTimeout(timer);
          durations.push(result.ms);
          pending.delete(id);
          resolve(result);
        });
        child.send({
          type: 'invoke',
          id,
          event,
          timeoutMs: options.timeoutSeconds * 1000,
          requestId: id,
          functionArn: options.functionArn,
        });
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
