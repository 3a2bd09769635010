import { randomUUID } from 'node:crypto';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';

/** A Keystone-style project id: 32 hex digits. */
export function tenantId(): string {
  return randomUUID().replaceAll('-', '');
}

export function uuid(): string {
  return randomUUID();
}

type Msg = {
  version: 1;
  requestId: string;
  operation: 'create' | 'update' | 'delete' | 'batch_update';
  resource: string;
  tenantId: string;
  loadbalancerId: string;
  object: Record<string, unknown>;
};

function message(
  resource: string,
  operation: Msg['operation'],
  ids: { tenantId: string; loadbalancerId: string },
  object: Record<string, unknown>,
  requestId = randomUUID(),
): Msg {
  return { version: 1, requestId, operation, resource, ...ids, object };
}

export interface LbIds {
  tenantId: string;
  loadbalancerId: string;
}

export function lbIds(overrides: Partial<LbIds> = {}): LbIds {
  return { tenantId: tenantId(), loadbalancerId: uuid(), ...overrides };
}

let vips = 0;

/** A VIP no other load balancer of the test run has (VIPs are claimed per environment). */
export function uniqueVip(): string {
  vips += 1;
  return `10.${100 + Math.floor(vips / 62_500)}.${Math.floor(vips / 250) % 250}.${(vips % 250) + 1}`;
}

export const requests = {
  createLoadbalancer: (ids: LbIds, object: Record<string, unknown> = {}) =>
    message('loadbalancer', 'create', ids, {
      id: ids.loadbalancerId,
      name: 'web',
      // No subnet: route domain 0, whatever networks the environment configures (tenant-networks.md).
      vip_address: uniqueVip(),
      admin_state_up: true,
      ...object,
    }),
  createListener: (ids: LbIds, object: Record<string, unknown> = {}) =>
    message('listener', 'create', ids, {
      id: uuid(),
      name: 'http',
      protocol: 'HTTP',
      protocol_port: 80,
      admin_state_up: true,
      ...object,
    }),
  createPool: (ids: LbIds, object: Record<string, unknown> = {}) =>
    message('pool', 'create', ids, {
      id: uuid(),
      name: 'pool',
      protocol: 'HTTP',
      lb_algorithm: 'ROUND_ROBIN',
      admin_state_up: true,
      ...object,
    }),
  createMember: (ids: LbIds, poolId: string, object: Record<string, unknown> = {}) =>
    message('member', 'create', ids, {
      id: uuid(),
      pool_id: poolId,
      address: '10.0.1.5',
      protocol_port: 8080,
      weight: 1,
      admin_state_up: true,
      ...object,
    }),
  createHealthMonitor: (ids: LbIds, poolId: string, object: Record<string, unknown> = {}) =>
    message('healthmonitor', 'create', ids, {
      id: uuid(),
      pool_id: poolId,
      type: 'HTTP',
      delay: 5,
      timeout: 3,
      max_retries: 3,
      http_method: 'GET',
      url_path: '/health',
      expected_codes: '200',
      admin_state_up: true,
      ...object,
    }),
  createL7Policy: (ids: LbIds, listenerId: string, object: Record<string, unknown> = {}) =>
    message('l7policy', 'create', ids, {
      id: uuid(),
      listener_id: listenerId,
      action: 'REJECT',
      admin_state_up: true,
      ...object,
    }),
  createL7Rule: (ids: LbIds, policyId: string, object: Record<string, unknown> = {}) =>
    message('l7rule', 'create', ids, {
      id: uuid(),
      l7policy_id: policyId,
      type: 'PATH',
      compare_type: 'STARTS_WITH',
      value: '/api',
      admin_state_up: true,
      ...object,
    }),
  update: (resource: string, ids: LbIds, object: Record<string, unknown>) =>
    message(resource, 'update', ids, object),
  delete: (resource: string, ids: LbIds, id: string) => message(resource, 'delete', ids, { id }),
  /** Octavia's batch member update: the pool's whole member list (ids given, as the provider API has them). */
  memberBatch: (ids: LbIds, poolId: string, members: Record<string, unknown>[], additive_only = false) =>
    message('member', 'batch_update', ids, { pool_id: poolId, members, additive_only }),
};

let sequence = 0;

/** An SQS record as Lambda's event source hands it over. */
export function sqsRecord(
  body: unknown,
  options: {
    receiveCount?: number;
    groupId?: string;
    messageId?: string;
    /** String message attributes (the API's `recorded`, say). */
    attributes?: Record<string, string>;
  } = {},
): SQSRecord {
  sequence += 1;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const groupId =
    options.groupId ?? (typeof body === 'object' && body ? String((body as Msg).loadbalancerId) : 'group');
  return {
    messageId: options.messageId ?? randomUUID(),
    receiptHandle: `receipt-${sequence}`,
    body: text,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: String(Date.now()),
      SenderId: 'TEST',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
      MessageGroupId: groupId,
      MessageDeduplicationId: randomUUID(),
      SequenceNumber: String(sequence),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(options.attributes ?? {}).map(([k, v]) => [
        k,
        { stringValue: v, dataType: 'String', stringListValues: [], binaryListValues: [] },
      ]),
    ),
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:test.fifo',
    awsRegion: 'us-east-1',
  };
}

export function sqsEvent(records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

export function lambdaContext(remainingMs = 60_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'test-function',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:test-function',
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/test-function',
    logStreamName: 'test',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
