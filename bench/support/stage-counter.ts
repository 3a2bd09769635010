import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { currentFunction, type FunctionScope } from '../../local/function-scope.js';

/**
 * The stages of a request's path, in order. AWS calls are told apart by the function they run in
 * (`local/function-scope.ts`), not by client: every function of the local stack shares its clients.
 *
 * - `producer`: the sender's SendMessage(Batch) to the request queue;
 * - `request queue`: the scheduler's event source (receives that brought messages, deletes);
 * - `scheduler`: what a scheduler invocation reads and writes (the request's record with its guard,
 *   the binding, the agents, refusals), and its visibility changes;
 * - `agent queue`: the scheduler's forwards and the worker's event source (receives, deletes);
 * - `worker`: a worker invocation's calls except status writes (in-flight hold, the settled check,
 *   the lease, the tree, the config-sync ledger);
 * - `statuses`: a worker's writes to the resources table (statuses, cleared flags, deleted records)
 *   and the bindings it releases;
 * - `background`: heartbeats, the reclaimer, status poller, reconciler, and receives that found
 *   nothing (idle long polls), which run whether or not anything is requested.
 *
 * Calls made outside any function (the benchmark's own reads while it waits) are not counted.
 */
export const STAGES = [
  'producer',
  'request queue',
  'scheduler',
  'agent queue',
  'worker',
  'statuses',
  'background',
] as const;
export type Stage = (typeof STAGES)[number];

/** What a stage cost: DynamoDB and SQS calls by kind, and the items they carried. */
export interface StageCost {
  dynamodb: {
    reads: number;
    readItems: number;
    writes: number;
    transactions: number;
    transactionItems: number;
  };
  sqs: {
    sends: number;
    sentMessages: number;
    receives: number;
    receivedMessages: number;
    deletes: number;
    visibility: number;
    other: number;
  };
  calls: number;
}

const DYNAMODB_READS = new Set(['Get', 'Query', 'Scan', 'BatchGet', 'TransactGet']);
const DYNAMODB_WRITES = new Set(['Put', 'Update', 'Delete', 'BatchWrite']);

/** `GetItem` and lib-dynamodb's `Get` are one operation. */
function operationOf(commandName: string | undefined): string {
  return String(commandName ?? 'unknown')
    .replace(/Command$/, '')
    .replace(/Item(s)?$/, '');
}

type Keyed = { Key?: Record<string, unknown>; Item?: Record<string, unknown> };
type Input = Keyed & {
  ExpressionAttributeValues?: Record<string, unknown>;
  TableName?: string;
  QueueUrl?: string;
  RequestItems?: Record<string, { Keys?: unknown[] } | unknown[]>;
  TransactItems?: Record<string, { TableName?: string }>[];
  Entries?: unknown[];
};

function tablesOf(input: Input): string[] {
  if (input.TableName) return [input.TableName];
  if (input.RequestItems) return Object.keys(input.RequestItems);
  if (input.TransactItems)
    return [
      ...new Set(input.TransactItems.flatMap((t) => Object.values(t).map((x) => String(x?.TableName)))),
    ];
  return [];
}

/** The load balancers and lease keys a DynamoDB call is about. */
function subjectsOf(input: Input): string[] {
  const keyed: Keyed[] = [input];
  for (const t of input.TransactItems ?? []) keyed.push(...(Object.values(t) as Keyed[]));
  for (const r of Object.values(input.RequestItems ?? {}))
    if (!Array.isArray(r))
      keyed.push(...((r.Keys ?? []) as Record<string, unknown>[]).map((Key) => ({ Key })));
  const out = new Set<string>();
  for (const k of keyed) {
    for (const o of [k.Key, k.Item]) {
      if (typeof o?.loadbalancerId === 'string') out.add(o.loadbalancerId);
      if (typeof o?.leaseKey === 'string') out.add(o.leaseKey);
    }
  }
  const lb = input.ExpressionAttributeValues?.[':lb'];
  if (typeof lb === 'string') out.add(lb);
  return [...out];
}

function itemsOf(op: string, input: Input, output: Record<string, unknown> | undefined): number {
  if (op === 'ReceiveMessage') return Array.isArray(output?.Messages) ? output.Messages.length : 0;
  if (input.TransactItems) return input.TransactItems.length;
  if (input.RequestItems)
    return Object.values(input.RequestItems).reduce(
      (n, r) => n + (Array.isArray(r) ? r.length : (r.Keys?.length ?? 0)),
      0,
    );
  if (input.Entries) return input.Entries.length;
  if (output && typeof output.Count === 'number') return output.Count;
  return 1;
}

function emptyCost(): StageCost {
  return {
    dynamodb: { reads: 0, readItems: 0, writes: 0, transactions: 0, transactionItems: 0 },
    sqs: {
      sends: 0,
      sentMessages: 0,
      receives: 0,
      receivedMessages: 0,
      deletes: 0,
      visibility: 0,
      other: 0,
    },
    calls: 0,
  };
}

/**
 * Counts the AWS calls of the local stack by stage, kind, table and operation, through the SDK's
 * own middleware, and adds each call of an invocation to its trace (the stage times).
 */
export class StageCounter {
  private costs = new Map<Stage, StageCost>();
  /** `stage table.operation` → calls (the detail behind the figures). */
  private detail = new Map<string, number>();
  private shortNames = new Map<string, string>();

  /** Table names as the report shows them (`resources`, `leases`, …). */
  nameTables(tables: Record<string, string>): void {
    for (const [short, full] of Object.entries(tables)) this.shortNames.set(full, short);
  }

  attach(client: DynamoDBClient | SQSClient, service: 'dynamodb' | 'sqs'): void {
    (client.middlewareStack as DynamoDBClient['middlewareStack']).add(
      (next, context) => async (args) => {
        const scope = currentFunction();
        const start = Date.now();
        let output: Record<string, unknown> | undefined;
        try {
          const result = await next(args);
          output = result.output as unknown as Record<string, unknown>;
          return result;
        } finally {
          const input = args.input as Input;
          const op = operationOf(context.commandName);
          const tables = tablesOf(input).map((t) => this.shortNames.get(t) ?? t);
          this.count(scope, service, op, tables, itemsOf(op, input, output));
          scope?.trace?.spans.push({
            kind: service,
            start,
            end: Date.now(),
            detail: `${tables.join('+')}.${op}`,
            subjects: subjectsOf(input),
          });
        }
      },
      { step: 'initialize', name: `stageCounter-${service}`, override: true },
    );
  }

  private count(
    scope: FunctionScope | undefined,
    service: 'dynamodb' | 'sqs',
    op: string,
    tables: readonly string[],
    items: number,
  ): void {
    const stage = stageOf(scope, service, op, tables, items);
    if (!stage) return;
    const cost = this.costs.get(stage) ?? emptyCost();
    this.costs.set(stage, cost);
    cost.calls += 1;
    const key = `${stage} ${service}.${tables.join('+') || '-'}.${op}`;
    this.detail.set(key, (this.detail.get(key) ?? 0) + 1);
    if (service === 'dynamodb') {
      if (op === 'TransactWrite') {
        cost.dynamodb.transactions += 1;
        cost.dynamodb.transactionItems += items;
      } else if (DYNAMODB_READS.has(op)) {
        cost.dynamodb.reads += 1;
        cost.dynamodb.readItems += items;
      } else if (DYNAMODB_WRITES.has(op)) cost.dynamodb.writes += 1;
      return;
    }
    if (op === 'SendMessage' || op === 'SendMessageBatch') {
      cost.sqs.sends += 1;
      cost.sqs.sentMessages += items;
    } else if (op === 'ReceiveMessage') {
      cost.sqs.receives += 1;
      cost.sqs.receivedMessages += items;
    } else if (op === 'DeleteMessage' || op === 'DeleteMessageBatch') cost.sqs.deletes += 1;
    else if (op.startsWith('ChangeMessageVisibility')) cost.sqs.visibility += 1;
    else cost.sqs.other += 1;
  }

  reset(): void {
    this.costs.clear();
    this.detail.clear();
  }

  snapshot(): { stages: Record<Stage, StageCost>; detail: Record<string, number> } {
    const stages = Object.fromEntries(STAGES.map((s) => [s, this.costs.get(s) ?? emptyCost()])) as Record<
      Stage,
      StageCost
    >;
    return { stages, detail: Object.fromEntries([...this.detail.entries()].sort()) };
  }
}

function stageOf(
  scope: FunctionScope | undefined,
  service: 'dynamodb' | 'sqs',
  op: string,
  tables: readonly string[],
  items: number,
): Stage | undefined {
  if (!scope) return undefined;
  // A long poll that found nothing costs the same whether anything is requested or not.
  if (op === 'ReceiveMessage' && items === 0) return 'background';
  switch (scope.fn) {
    case 'producer':
      return 'producer';
    case 'scheduler':
      if (scope.part === 'event-source') return 'request queue';
      return service === 'sqs' && op.startsWith('SendMessage') ? 'agent queue' : 'scheduler';
    case 'worker':
      if (scope.part === 'event-source') return 'agent queue';
      if (service === 'dynamodb' && !DYNAMODB_READS.has(op) && tables.some((t) => STATUS_TABLES.has(t)))
        return 'statuses';
      return 'worker';
    default:
      return 'background';
  }
}

/** Where a worker's outcomes go: the records, and the binding a deleted load balancer releases. */
const STATUS_TABLES = new Set([
  'resources',
  'claims',
  'bindings',
  'affinity',
  'groups',
  'statistics',
  'agents',
]);

/** A stage's cost divided by the requests (two decimals). */
export function perRequest(cost: StageCost, requests: number): StageCost {
  const div = (n: number) => Math.round((n / Math.max(1, requests)) * 100) / 100;
  const map = <T extends Record<string, number>>(o: T): T =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, div(v)])) as T;
  return { dynamodb: map(cost.dynamodb), sqs: map(cost.sqs), calls: div(cost.calls) };
}

/** Sum of several stages' costs. */
export function addCosts(costs: readonly StageCost[]): StageCost {
  const out = emptyCost();
  for (const c of costs) {
    out.calls += c.calls;
    for (const k of Object.keys(out.dynamodb) as (keyof StageCost['dynamodb'])[])
      out.dynamodb[k] += c.dynamodb[k];
    for (const k of Object.keys(out.sqs) as (keyof StageCost['sqs'])[]) out.sqs[k] += c.sqs[k];
  }
  return out;
}
