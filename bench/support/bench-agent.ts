import { randomUUID } from 'node:crypto';
import { StaticCredentials } from '../../functions/adapters/device-credentials.js';
import type { NetworkDefinition } from '../../functions/domain/networks.js';
import { tableNames } from '../../functions/shared/table-schema.js';
import { type AgentWorkerOverrides, wireAgentWorker } from '../../functions/wiring/agent-worker-wiring.js';
import { createTables } from '../../local/provision.js';
import type { startBenchServices } from './local-services.js';

/**
 * One agent worker's own graph against one device, on fresh tables, for benchmarks that drive its
 * applier directly (no queue in between).
 */
export async function benchAgent(
  services: Awaited<ReturnType<typeof startBenchServices>>,
  options: {
    env: string;
    baseUrl: string;
    tablePrefix: string;
    overrides?: AgentWorkerOverrides;
    /** The environment's networks (the agent puts segmented ones on the device). */
    networks?: NetworkDefinition[];
  },
) {
  const tables = tableNames(`${options.tablePrefix}-${randomUUID().slice(0, 6)}`);
  await createTables(services.dynamodb, tables);
  return wireAgentWorker(
    {
      env: options.env,
      host: 'agent-1',
      agentQueueUrl: 'http://127.0.0.1/000000000000/unused.fifo',
      tables,
      maxAttempts: 3,
      retry: { baseSeconds: 1, maxSeconds: 1 },
      leaseMs: 30_000,
      inFlightHoldMs: 30_000,
      devices: [{ name: 'bigip1', baseUrl: options.baseUrl }],
      deviceSecretId: 'local',
      caBundle: undefined,
      deviceGroup: undefined,
      trafficGroup: undefined,
      clusterName: 'bench',
      restTimeoutMs: 10_000,
      ...(options.networks ? { networks: options.networks } : {}),
    },
    services,
    { credentials: new StaticCredentials({ username: 'admin', password: 'admin' }), ...options.overrides },
  );
}
