import { randomUUID } from 'node:crypto';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { CapacityLimits } from '../../functions/domain/capacity.js';
import type { NetworkCatalog } from '../../functions/domain/networks.js';
import type { PolicyMode } from '../../functions/domain/octavia-policy.js';
import type { TokenValidator } from '../../functions/domain/ports.js';
import type { ResourceRecord } from '../../functions/domain/resource-state.js';
import { quotaDefaults } from '../../functions/shared/config-rules.js';
import { wireApi } from '../../functions/wiring/api-wiring.js';
import { type ApiServer, startApiServer } from '../../local/octavia-api-server.js';
import { freshQueue, freshTables, localClients } from './local-aws.js';

/** A configured network for the tests: one IPv4 subnet (a /28: 13 addresses for VIPs). */
export const TEST_NETWORK = '6f1d2c3b-4a59-4e8f-9a0b-1c2d3e4f5a60';
export const TEST_SUBNET = '7a2e3d4c-5b6a-4f90-8b1c-2d3e4f5a6b71';
export const TEST_CIDR = '10.20.30.0/28';
export const TEST_PROJECT = '0123456789abcdef0123456789abcdef';

export interface ApiHarnessOptions {
  env?: string;
  policy?: PolicyMode;
  /** A validator for X-Auth-Token; noauth (acting for TEST_PROJECT unless X-Project-Id says otherwise) when absent. */
  validator?: TokenValidator;
  networks?: NetworkCatalog;
  /** Agents alive for placement (default two); none: placement finds no agent. */
  hosts?: string[];
  groups?: { name: string; hosts: string[]; limits?: CapacityLimits; units?: number }[];
  /** Default quotas by Octavia's names (-1 unlimited; left out: every one unlimited). */
  quotas?: Partial<
    Record<
      'load_balancer' | 'listener' | 'pool' | 'health_monitor' | 'member' | 'l7policy' | 'l7rule',
      number
    >
  >;
}

/**
 * The Octavia API wired to fresh tables and a fresh request queue on the test run's DynamoDB Local
 * and fauxqs, served on a loopback port, with agents registered so it can place load balancers.
 * Nothing takes requests off the queue: `queued()` reads what the API sent.
 */
export async function apiHarness(options: ApiHarnessOptions = {}) {
  const env = options.env ?? 'Test';
  const clients = localClients();
  // Every DynamoDB command the API sends, by name (what a read costs).
  const dynamoCalls: string[] = [];
  clients.dynamodb.middlewareStack.add(
    (next, context) => async (args) => {
      dynamoCalls.push(context.commandName as string);
      return next(args);
    },
    { step: 'initialize', name: 'countCalls' },
  );
  const tables = await freshTables(clients.dynamodb);
  const requestQueue = await freshQueue(clients.sqs, 'api-requests');
  const networks = options.networks ?? {
    networks: [
      {
        id: TEST_NETWORK,
        name: 'public',
        subnets: [{ id: TEST_SUBNET, name: 'public-subnet', cidr: TEST_CIDR }],
      },
    ],
  };
  const graph = wireApi(
    {
      env,
      requestQueueUrl: requestQueue.url,
      tables,
      policy: options.policy && options.policy !== 'noauth' ? options.policy : 'advanced',
      networks: [...networks.networks],
      agentDownTimeMs: 75_000,
      agentCacheMs: 0,
      selection: 'random',
      ...(options.groups
        ? {
            groups: options.groups.map((g) => ({
              name: g.name,
              limits: g.limits ?? {},
              ...(g.units ? { units: g.units } : {}),
            })),
          }
        : {}),
      ...(options.quotas
        ? {
            quotas: quotaDefaults.parse(options.quotas),
          }
        : {}),
    },
    clients,
    {
      networks,
      ...(options.validator ? {} : { policy: 'noauth' as const, defaultProject: TEST_PROJECT }),
      ...(options.policy && options.validator ? { policy: options.policy } : {}),
    },
  );
  const { registry } = graph;
  const hosts = options.hosts ?? ['agent-1', 'agent-2'];
  const groupOf = new Map(options.groups?.flatMap((g) => g.hosts.map((h) => [h, g.name] as const)) ?? []);
  for (const host of hosts)
    await registry.heartbeat({
      env,
      host,
      agentId: `${env}.${host}`,
      queueUrl: `https://sqs.invalid/${host}`,
      nowMs: Date.now(),
      started: true,
      alive: true,
      devices: {},
      configuration: {},
      ...(groupOf.get(host) ? { group: groupOf.get(host) as string } : {}),
    });
  const server: ApiServer = await startApiServer({
    handler: graph.handler,
    auth: options.validator
      ? { mode: 'keystone', validator: options.validator }
      : { mode: 'noauth', defaultProject: TEST_PROJECT },
    port: 0,
  });
  const { resources } = graph;

  /** One HTTP call: status and parsed body. */
  const call = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  return {
    env,
    clients,
    tables,
    requestQueue,
    registry,
    resources,
    bindings: graph.bindings,
    url: server.url,
    api: graph.api,
    /** The DynamoDB commands sent since the last call (and forgets them). */
    dynamoCalls(): string[] {
      return dynamoCalls.splice(0);
    },
    call,
    /** The messages the API put on the request queue since the last call (taken off the queue). */
    async queued(): Promise<{ body: Record<string, unknown>; recorded: boolean; group: string }[]> {
      return drain(clients.sqs, requestQueue.url);
    },
    /** Every record of a load balancer (what the resources table holds). */
    records: (loadbalancerId: string) => resources.loadRecords(loadbalancerId),
    /**
     * Settles a load balancer's pending objects as an agent's apply would (ACTIVE, or gone if
     * deleted), with the OFFLINE an apply gives before the status poller has measured anything.
     */
    async settle(loadbalancerId: string): Promise<void> {
      const records = await resources.loadRecords(loadbalancerId);
      await resources.recordOutcomes(
        records
          .filter((r) => r.provisioningStatus.startsWith('PENDING_'))
          .map((r: ResourceRecord) =>
            r.provisioningStatus === 'PENDING_DELETE'
              ? { kind: 'deleted' as const, record: r }
              : { kind: 'active' as const, record: r, operatingStatus: 'OFFLINE' as const },
          ),
        Date.now(),
      );
    },
    async stop() {
      await server.close();
    },
  };
}

async function drain(sqs: SQSClient, queueUrl: string) {
  const out: { body: Record<string, unknown>; recorded: boolean; group: string }[] = [];
  for (;;) {
    const res = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 300,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['MessageGroupId'],
      }),
    );
    const messages = res.Messages ?? [];
    if (messages.length === 0) return out;
    for (const m of messages)
      out.push({
        body: JSON.parse(m.Body ?? '{}') as Record<string, unknown>,
        recorded: m.MessageAttributes?.recorded?.StringValue === 'true',
        group: m.Attributes?.MessageGroupId ?? '',
      });
    // A FIFO group stays locked while its messages are in flight: take them off for good.
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
      }),
    );
  }
}

export const randomProject = () => randomUUID().replaceAll('-', '');
