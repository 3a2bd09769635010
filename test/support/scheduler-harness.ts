import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { CapacityLimits } from '../../functions/domain/capacity.js';
import type { NetworkDefinition } from '../../functions/domain/networks.js';
import type { SchedulerConfig } from '../../functions/shared/config.js';
import type { TableNames } from '../../functions/shared/table-schema.js';
import type { MetricEvent } from '../../functions/shared/telemetry.js';
import { metricEvents } from '../../functions/shared/telemetry.js';
import { wireScheduler } from '../../functions/wiring/scheduler-wiring.js';
import type { FifoQueuePair } from '../../local/provision.js';
import { lambdaContext, sqsEvent, sqsRecord } from './factories.js';
import { freshQueue, freshTables, localClients } from './local-aws.js';

export interface HarnessOptions {
  env?: string;
  hosts?: string[];
  maxAttempts?: number;
  random?: () => number;
  /** How long the scheduler may reuse its list of agents and groups (default 0: always read). */
  agentCacheMs?: number;
  /** Device groups: each agent's group (hosts not named are in none) and the groups' limits. */
  groups?: { name: string; hosts: string[]; limits?: CapacityLimits }[];
  /** The environment's networks (tenant-networks.md): the scheduler checks against them, the agents put them on the devices. */
  networks?: NetworkDefinition[];
}

/** The scheduler wired to fresh tables and queues on the local stand-ins, with a controllable clock. */
export async function schedulerHarness(options: HarnessOptions = {}) {
  const env = options.env ?? 'Test';
  const clients = localClients();
  const tables: TableNames = await freshTables(clients.dynamodb);
  const requestQueue = await freshQueue(clients.sqs, 'requests', {
    maxReceiveCount: options.maxAttempts ?? 3,
  });
  const hosts = options.hosts ?? ['agent-1', 'agent-2', 'agent-3'];
  const agentQueues: Record<string, FifoQueuePair> = {};
  for (const host of hosts) agentQueues[host] = await freshQueue(clients.sqs, host);

  let now = Date.now();
  const clock = () => now;

  const config: SchedulerConfig = {
    env,
    requestQueueUrl: requestQueue.url,
    tables,
    agentDownTimeMs: 75_000,
    agentCacheMs: options.agentCacheMs ?? 0,
    maxAttempts: options.maxAttempts ?? 3,
    retry: { baseSeconds: 1, maxSeconds: 1 },
    selection: 'random',
    idempotencyTtlSeconds: 3600,
    ...(options.groups
      ? { groups: options.groups.map((g) => ({ name: g.name, limits: g.limits ?? {} })) }
      : {}),
    ...(options.networks ? { networks: options.networks } : {}),
  };
  const groupOfHost = new Map(options.groups?.flatMap((g) => g.hosts.map((h) => [h, g.name] as const)) ?? []);
  const { deps, handler, registry, bindings, resources } = wireScheduler(config, clients, {
    clock,
    random: options.random ?? Math.random,
  });

  const beat = async (host: string, overrides: { at?: number; agentId?: string } = {}) =>
    registry.heartbeat({
      env,
      host,
      agentId: overrides.agentId ?? `id-${host}`,
      queueUrl: agentQueues[host]?.url ?? 'http://invalid/none',
      nowMs: overrides.at ?? now,
      started: false,
      alive: true,
      devices: {},
      configuration: {},
      ...(groupOfHost.has(host) ? { group: groupOfHost.get(host) as string } : {}),
    });
  for (const host of hosts) await beat(host);

  return {
    env,
    clients,
    tables,
    config,
    deps,
    handler,
    registry,
    bindings,
    resources,
    requestQueue,
    agentQueues,
    clock,
    advance(ms: number) {
      now += ms;
    },
    beat,
    /** Delivers messages to the handler as one batch, the way Lambda's event source would. */
    async deliver(bodies: unknown[], options: { receiveCount?: number } = {}) {
      const records = bodies.map((b) => sqsRecord(b, options));
      const response = await handler(sqsEvent(records), lambdaContext());
      return { records, failures: response.batchItemFailures.map((f) => f.itemIdentifier) };
    },
    /** Drains an agent's queue, returning the parsed messages and their SQS attributes. */
    async drainAgent(host: string) {
      return drainQueue(clients.sqs, agentQueues[host]?.url as string);
    },
  };
}

export async function drainQueue(sqs: SQSClient, queueUrl: string) {
  const out: { body: Record<string, unknown>; groupId: string | undefined; dedupId: string | undefined }[] =
    [];
  for (;;) {
    const r = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const messages = r.Messages ?? [];
    if (messages.length === 0) return out;
    // Delete as we go: a FIFO group stays locked while one of its messages is in flight.
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
      }),
    );
    for (const m of messages) {
      out.push({
        body: JSON.parse(m.Body ?? '{}'),
        groupId: m.Attributes?.MessageGroupId,
        dedupId: m.Attributes?.MessageDeduplicationId,
      });
    }
  }
}

/** Collects the metrics emitted while `fn` runs. */
export async function captureMetrics<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; metrics: MetricEvent[] }> {
  const metrics: MetricEvent[] = [];
  // All but the per-invocation batch-size count, which every handler emits.
  const listener = (m: MetricEvent) => {
    if (m.name !== 'MessagesReceived') metrics.push(m);
  };
  metricEvents.on('metric', listener);
  try {
    const result = await fn();
    return { result, metrics };
  } finally {
    metricEvents.off('metric', listener);
  }
}
