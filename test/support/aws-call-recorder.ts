import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuthorisedCall } from './iam-policy.js';

/** An AWS call seen on the wire: who made it (the access key it was signed with) and what IAM checks. */
export interface RecordedCall extends AuthorisedCall {
  /** The access key id of the signature (each function's role has its own). */
  principal: string;
  service: string;
  /** The operation as sent (`TransactWriteItems`, `SendMessageBatch`, …). */
  operation: string;
  status: number;
}

/** The access key id of a SigV4 `Authorization` header (`Credential=AKID/date/region/service/aws4_request`). */
export function principalOf(headers: IncomingHttpHeaders): string {
  return /Credential=([^/]+)\//.exec(String(headers.authorization ?? ''))?.[1] ?? 'anonymous';
}

export interface ArnLookup {
  table(name: string): string;
  /** The queue's ARN from its URL (or name, for GetQueueUrl); undefined if the local stack has no such queue. */
  queue(urlOrName: string): string | undefined;
}

type Body = Record<string, unknown>;

/**
 * What IAM authorises for a DynamoDB request (the service's authorisation reference): the action of
 * the operation on the table, or on `table/<name>/index/<index>` when a query or scan names an index;
 * batch operations on each table they name; a transaction item by item (Put → PutItem, Update →
 * UpdateItem, Delete → DeleteItem, ConditionCheck → ConditionCheckItem, Get → GetItem).
 */
export function dynamoDbAuthorisation(operation: string, body: Body, arns: ArnLookup): AuthorisedCall[] {
  const on = (action: string, table: unknown, index?: unknown): AuthorisedCall => ({
    action: `dynamodb:${action}`,
    resource: `${arns.table(String(table))}${index ? `/index/${String(index)}` : ''}`,
  });
  switch (operation) {
    case 'BatchGetItem':
    case 'BatchWriteItem':
      return Object.keys((body.RequestItems ?? {}) as Body).map((t) => on(operation, t));
    case 'TransactWriteItems':
    case 'TransactGetItems': {
      const actions: Record<string, string> = {
        Put: 'PutItem',
        Update: 'UpdateItem',
        Delete: 'DeleteItem',
        ConditionCheck: 'ConditionCheckItem',
        Get: 'GetItem',
      };
      return ((body.TransactItems ?? []) as Body[]).flatMap((item) =>
        Object.entries(item).map(([kind, detail]) => on(actions[kind] ?? kind, (detail as Body).TableName)),
      );
    }
    case 'ListTables':
      return [{ action: 'dynamodb:ListTables', resource: '*' }];
    default:
      return [on(operation, body.TableName, body.IndexName)];
  }
}

/** What IAM authorises for an SQS request: the batch forms need the single-message action, on the queue. */
export function sqsAuthorisation(operation: string, body: Body, arns: ArnLookup): AuthorisedCall[] {
  const action = operation.replace(/Batch$/, '');
  if (operation === 'ListQueues') return [{ action: 'sqs:ListQueues', resource: '*' }];
  const queue = operation === 'GetQueueUrl' ? String(body.QueueName) : String(body.QueueUrl);
  return [{ action: `sqs:${action}`, resource: arns.queue(queue) ?? `unknown-queue:${queue}` }];
}

export interface RecordingProxy {
  endpoint: string;
  calls: RecordedCall[];
  close(): Promise<void>;
}

/**
 * A loopback proxy in front of a JSON-protocol AWS stand-in (DynamoDB Local, fauxqs): it forwards each
 * request unchanged and records the call as IAM would authorise it (`X-Amz-Target` names the
 * operation, the body the table, index or queue).
 */
export async function startRecordingProxy(options: {
  target: string;
  service: 'dynamodb' | 'sqs';
  arns: ArnLookup;
}): Promise<RecordingProxy> {
  const target = new URL(options.target);
  const calls: RecordedCall[] = [];
  const authorise = options.service === 'dynamodb' ? dynamoDbAuthorisation : sqsAuthorisation;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const operation =
        String(req.headers['x-amz-target'] ?? '')
          .split('.')
          .pop() ?? '';
      let body: Body = {};
      try {
        body = JSON.parse(raw.toString('utf8') || '{}') as Body;
      } catch {
        // Not JSON: recorded with what the target says.
      }
      const upstream = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: target.host },
        },
        (answer) => {
          const status = answer.statusCode ?? 0;
          for (const call of authorise(operation, body, options.arns)) {
            calls.push({
              ...call,
              principal: principalOf(req.headers),
              service: options.service,
              operation,
              status,
            });
          }
          res.writeHead(status, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', (error) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(String(error));
      });
      upstream.end(raw);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
