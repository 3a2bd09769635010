import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../lib/config/lbaas-config.js';
import { type LocalApiOptions, type LocalStack, startLocalStack } from '../../local/local-stack.js';

/**
 * The local stack on the test run's DynamoDB Local and fauxqs, with the sample configuration
 * (three agents, an HA pair) and liveness 25× faster: heartbeats every 1.2 s, agentDownTime 3 s.
 */
export async function testStack(
  options: {
    stateFile?: string | false;
    healthIntervalMs?: number;
    configPath?: string;
    /** Serve the Octavia API too (on a free port unless one is given). */
    api?: LocalApiOptions;
  } = {},
): Promise<LocalStack> {
  const config = parseConfig(
    JSON.parse(
      readFileSync(join(import.meta.dirname, '..', '..', options.configPath ?? 'lbaas.config.json'), 'utf8'),
    ),
  );
  const stack = await startLocalStack({
    config,
    services: {
      dynamodbEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB as string,
      sqsEndpoint: process.env.AWS_ENDPOINT_URL_SQS as string,
    },
    namePrefix: `e2e${randomUUID().slice(0, 6)}`,
    timeScale: 25,
    stateFile: options.stateFile ?? false,
    ...(options.healthIntervalMs ? { healthIntervalMs: options.healthIntervalMs } : {}),
    ...(options.api ? { api: { port: 0, ...options.api } } : {}),
  });
  // An agent's first heartbeat checks its devices and can miss on a loaded machine (the next comes
  // 1.2 s later): a test starts once every agent is active, as a deployed system would be.
  await eventually(
    async () => (await stack.client.operations.agents(stack.env)).every((a) => a.active),
    'every agent of the local stack active',
    30_000,
  );
  return stack;
}

/** Polls until `check` is truthy (behaviour, not timing: the deadline only bounds a broken run). */
export async function eventually<T>(
  check: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
