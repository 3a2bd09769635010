import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tableNames } from '../../functions/shared/table-schema.js';
import { freePort } from '../../local/free-port.js';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'cli', 'bin', 'lbaas.js');

/** Runs the real `lbaas` command; resolves with its exit code and output whatever the code. */
async function lbaas(env: Record<string, string>, ...argv: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...argv], {
      env: { ...process.env, ...env },
    });
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
});
