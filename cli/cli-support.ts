import type { Command } from 'commander';
import { LbaasClient } from './lbaas-client.js';
import { resolveTarget, type TargetOptions } from './target.js';

/** Thrown for a clean, one-line failure with a specific exit code. */
export class CliExit extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
  }
}

export const out = (text: string) => process.stdout.write(`${text}\n`);
export const json = (value: unknown) => out(JSON.stringify(value, null, 2));

/** What a connection failure means for the person at the terminal. */
function actionable(error: unknown, where: string): unknown {
  const e = error as Error & { code?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code ?? '';
  if (/ECONNREFUSED|ECONNRESET|EHOSTUNREACH/.test(code) || /ECONNREFUSED/.test(e.message)) {
    return new CliExit(
      where.startsWith('local')
        ? `cannot reach the ${where}: is \`npm start\` still running? (start it, or pass --stack to use AWS)`
        : `cannot reach ${where}: ${e.message}`,
    );
  }
  if (e.name === 'ResourceNotFoundException')
    return new CliExit(`${where}: a table or queue is missing (${e.message}); deployed with this version?`);
  return error;
}

export async function withClient<T>(command: Command, fn: (client: LbaasClient) => Promise<T>): Promise<T> {
  const options = command.optsWithGlobals() as TargetOptions;
  const { target, clients, certificates, where } = await resolveTarget(options);
  try {
    const client = new LbaasClient(target, clients);
    client.certificates = certificates;
    return await fn(client);
  } catch (error) {
    throw actionable(error, where);
  } finally {
    clients.dynamodb.destroy();
    clients.sqs.destroy();
  }
}
