import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, vi } from 'vitest';
import type { LocalStack } from '../../local/local-stack.js';
import { testStack } from './local-stack-fixture.js';

/** Runs the CLI's `main` in-process and captures what it prints. */
export async function runCli(main: (argv: string[]) => Promise<number>, argv: string[]) {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/**
 * The local stack for a CLI test file, and the CLI run in-process against it. The CLI finds the
 * stack through a state file (npm start writes .local/stack.json), whose path it reads when its
 * module loads: so this sets it first, and the CLI is imported only once the stack runs.
 */
export function cliAgainstLocalStack(
  prefix: string,
  options: Omit<Parameters<typeof testStack>[0] & object, 'stateFile'> = {},
) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  process.env.LBAAS_LOCAL_STATE = join(dir, 'stack.json');
  let stack: LocalStack | undefined;
  let main: ((argv: string[]) => Promise<number>) | undefined;
  beforeAll(async () => {
    stack = await testStack({ ...options, stateFile: process.env.LBAAS_LOCAL_STATE as string });
    ({ main } = await import('../../cli/lbaas.js'));
  });
  afterAll(async () => {
    await stack?.stop();
  });
  const lbaas = (...argv: string[]) => runCli(main as (argv: string[]) => Promise<number>, argv);
  return {
    /** Scratch space for files the CLI reads. */
    dir,
    get stack(): LocalStack {
      if (!stack) throw new Error('the local stack is not running (beforeAll has not run)');
      return stack;
    },
    /** Runs the CLI in-process and captures what it prints. */
    lbaas,
    /** The same, expecting exit 0 (a failure shows the command and what it printed on stderr). */
    async ok(...argv: string[]) {
      const r = await lbaas(...argv);
      expect(r.code, `lbaas ${argv.join(' ')}: ${r.stderr}`).toBe(0);
      return r;
    },
  };
}
