import { randomUUID } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { lambdaRecordOf } from '../functions/adapters/sqs-queue-taker.js';
import { type InvocationTrace, inFunction, type LocalFunction } from './function-scope.js';

export interface PollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  /** The function under test: the same handler Lambda would run. */
  handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;
  functionName: string;
  batchSize?: number;
  /** Parallel receive loops, like Lambda's maximum concurrency for the event source. */
  concurrency?: number;
  waitTimeSeconds?: number;
  /** Reported to the handler as its remaining time (Lambda's function timeout). */
  timeoutMs?: number;
  onError?: (error: unknown) => void;
  /** The function this consumes for: its polling and its invocations run in that scope (function-scope.ts). */
  scope?: { fn: LocalFunction; host?: string };
  /** Told about each invocation once it returned (the benchmarks' stage times). */
  onInvocation?: (trace: InvocationTrace) => void;
  /**
   * Told when an invocation reached its timeout: middy's early answer (a TimeoutError just before
   * it, the batch failed whole) or a return after it. Lambda would have stopped the handler there;
   * here its work runs on in the background, so this is how a run shows it.
   */
  onOverrun?: () => void;
}

/**
 * Behaves like Lambda's SQS event source mapping: long-polls batches, hands the handler a
 * Lambda-shaped event, deletes what succeeded and leaves `batchItemFailures` (or the whole batch,
 * if the handler throws) to come back after their visibility timeout and, past the queue's
 * maxReceiveCount, to go to its dead-letter queue.
 */
export class EventSourcePoller {
  private running = false;
  private loops: Promise<void>[] = [];
  invocations = 0;
  processed = 0;
  failed = 0;

  constructor(private readonly options: PollerOptions) {}

  start(): this {
    if (this.running) return this;
    this.running = true;
    const n = this.options.concurrency ?? 1;
    const scope = this.options.scope;
    this.loops = Array.from({ length: n }, () =>
      scope ? inFunction({ ...scope, part: 'event-source' }, () => this.loop()) : this.loop(),
    );
    return this;
  }

  /**
   * Stops polling like a disabled event source mapping: the receive under way completes and its
   * batch is handed to the handler. Aborting it instead would lose messages SQS already delivered
   * (in flight, invisible until the queue's visibility timeout), which Lambda's poller never does.
   */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.allSettled(this.loops);
    this.loops = [];
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Receives and handles one batch; returns how many messages it saw. Used by tests to step. */
  async pollOnce(waitTimeSeconds = this.options.waitTimeSeconds ?? 0): Promise<number> {
    const { sqs, queueUrl } = this.options;
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: this.options.batchSize ?? 10,
        WaitTimeSeconds: waitTimeSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) return 0;
    await this.invoke(messages);
    return messages.length;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        await this.pollOnce(this.options.waitTimeSeconds ?? 1);
      } catch (error) {
        if (!this.running) return;
        this.options.onError?.(error);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  private async invoke(messages: Message[]): Promise<void> {
    const event: SQSEvent = { Records: messages.map((m) => this.toRecord(m)) };
    this.invocations += 1;
    let failedIds: Set<string>;
    const scope = this.options.scope;
    const trace: InvocationTrace | undefined = scope
      ? { ...scope, records: event.Records, startedAt: Date.now(), spans: [] }
      : undefined;
    const deadline = Date.now() + (this.options.timeoutMs ?? 30_000);
    const run = () => this.options.handler(event, this.context(deadline));
    let timedOut = false;
    try {
      const response = await (scope && trace
        ? inFunction({ ...scope, part: 'invocation', trace }, run)
        : run());
      failedIds = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (error) {
      // middy answers for a handler still running just before the timeout, as Lambda's end would.
      timedOut = error instanceof Error && error.name === 'TimeoutError';
      this.options.onError?.(error);
      failedIds = new Set(messages.map((m) => m.MessageId as string));
    }
    if (timedOut || Date.now() > deadline) this.options.onOverrun?.();
    if (trace) {
      trace.endedAt = Date.now();
      this.options.onInvocation?.(trace);
    }
    const done = messages.filter((m) => !failedIds.has(m.MessageId as string));
    this.processed += done.length;
    this.failed += failedIds.size;
    if (done.length > 0) {
      await this.options.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
        }),
      );
    }
  }

  private toRecord(m: Message): SQSRecord {
    return lambdaRecordOf(m, this.options.queueArn);
  }

  private context(deadline: number): Context {
    const name = this.options.functionName;
    return {
      callbackWaitsForEmptyEventLoop: false,
      functionName: name,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${name}`,
      memoryLimitInMB: '512',
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/${name}`,
      logStreamName: 'local',
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
  }
}
