import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * fauxqs 1.9.2 (the last release that runs on Node 20) hands out at most one message per FIFO
 * message group per receive: with a1, a2, a3 in group a and b1 in group b, `MaxNumberOfMessages: 10`
 * returns [a1, b1]. SQS returns as many messages of one group as it can, in order ([a1, a2, a3, b1]),
 * and so do Lambda's FIFO batches. The difference decides how a load balancer's burst of requests
 * travels (one message per invocation instead of ten), so the local stack and the tests take their
 * batches as SQS shapes them: this replaces fauxqs's FIFO receive with one that does, and puts
 * messages that come back from flight (visibility 0, or expired) into their group by sequence number,
 * since several of a group can now be in flight at once.
 */
let applied: Promise<void> | undefined;

export function receiveFifoBatchesAsSqs(): Promise<void> {
  applied ??= patch();
  return applied;
}

/** The parts of fauxqs's queue this touches (its `SqsQueue`, dist/sqs/sqsStore.js). */
interface StoredMessage {
  messageId: string;
  messageGroupId?: string;
  sequenceNumber?: string;
  body: string;
  md5OfBody: string;
  md5OfMessageAttributes?: string;
  messageAttributes: Record<string, unknown>;
  approximateReceiveCount: number;
  approximateFirstReceiveTimestamp?: number;
}
interface FifoQueue {
  name: string;
  attributes: Record<string, string>;
  spy?: { addMessage(event: Record<string, unknown>): void };
  fifoMessages: Map<string, StoredMessage[]>;
  fifoLockedGroups: Map<string, number>;
  inflightMessages: Map<
    string,
    { message: StoredMessage; receiptHandle: string; visibilityDeadline: number }
  >;
  processTimers(): void;
  enqueue(message: StoredMessage): void;
}
type DlqResolver = (arn: string) => FifoQueue | undefined;

async function patch(): Promise<void> {
  const require = createRequire(import.meta.url);
  // The package exports only its entry point; the queue class lives next to it.
  const dir = (require.resolve.paths('fauxqs') ?? [])
    .map((d) => join(d, 'fauxqs'))
    .find((d) => existsSync(join(d, 'dist', 'sqs', 'sqsStore.js')));
  if (!dir) throw new Error('fauxqs not found: run npm ci');
  const store = (await import(pathToFileURL(join(dir, 'dist', 'sqs', 'sqsStore.js')).href)) as {
    SqsQueue: { prototype: Record<string, unknown> };
  };
  const proto = store.SqsQueue.prototype;
  if (typeof proto.dequeueFifo !== 'function' || typeof proto.processTimers !== 'function')
    throw new Error('fauxqs changed: its FIFO receive can no longer be matched to SQS');

  proto.dequeueFifo = function dequeueFifo(
    this: FifoQueue,
    maxCount: number,
    visibilityTimeoutOverride: number | undefined,
    dlqResolver: DlqResolver | undefined,
  ) {
    this.processTimers();
    const visibilityMs =
      (visibilityTimeoutOverride ?? Number.parseInt(this.attributes.VisibilityTimeout ?? '30', 10)) * 1000;
    const redrive = redrivePolicy(this.attributes.RedrivePolicy);
    const count = Math.min(maxCount, 10);
    const out: Record<string, unknown>[] = [];
    for (const [groupId, messages] of this.fifoMessages) {
      if (out.length >= count) break;
      // Nothing more of a group while one of its messages is in flight (SQS's order guarantee).
      if (this.fifoLockedGroups.has(groupId)) continue;
      // As many of this group as fit, in order (the one-per-group `break` is what differs).
      while (out.length < count && messages.length > 0) {
        const message = messages.shift() as StoredMessage;
        message.approximateReceiveCount += 1;
        message.approximateFirstReceiveTimestamp ??= Date.now();
        const dlq =
          redrive && dlqResolver && message.approximateReceiveCount > redrive.maxReceiveCount
            ? dlqResolver(redrive.deadLetterTargetArn)
            : undefined;
        if (dlq) {
          this.spy?.addMessage({
            service: 'sqs',
            queueName: this.name,
            messageId: message.messageId,
            body: message.body,
            messageAttributes: message.messageAttributes,
            status: 'dlq',
            timestamp: Date.now(),
          });
          dlq.enqueue(message);
          continue;
        }
        const receiptHandle = randomUUID();
        this.inflightMessages.set(receiptHandle, {
          message,
          receiptHandle,
          visibilityDeadline: Date.now() + visibilityMs,
        });
        this.fifoLockedGroups.set(groupId, (this.fifoLockedGroups.get(groupId) ?? 0) + 1);
        out.push({
          MessageId: message.messageId,
          ReceiptHandle: receiptHandle,
          MD5OfBody: message.md5OfBody,
          Body: message.body,
          ...(message.md5OfMessageAttributes
            ? { MD5OfMessageAttributes: message.md5OfMessageAttributes }
            : {}),
          ...(Object.keys(message.messageAttributes).length > 0
            ? { MessageAttributes: message.messageAttributes }
            : {}),
        });
      }
      if (messages.length === 0) this.fifoMessages.delete(groupId);
    }
    return out;
  };

  // fauxqs puts a message back at the front of its group; with several of a group in flight they
  // would come back in reverse. SQS keeps a group in sequence order.
  for (const name of ['processTimers', 'changeVisibility'] as const) {
    const original = proto[name] as (this: FifoQueue, ...args: unknown[]) => unknown;
    proto[name] = function (this: FifoQueue, ...args: unknown[]) {
      const result = original.apply(this, args);
      if (this.fifoMessages instanceof Map)
        for (const messages of this.fifoMessages.values()) inSequence(messages);
      return result;
    };
  }
}

function redrivePolicy(
  raw: string | undefined,
): { maxReceiveCount: number; deadLetterTargetArn: string } | undefined {
  if (!raw) return undefined;
  try {
    const policy = JSON.parse(raw) as { maxReceiveCount?: number; deadLetterTargetArn?: string };
    if (!policy.deadLetterTargetArn) return undefined;
    return {
      maxReceiveCount: Number(policy.maxReceiveCount ?? Number.POSITIVE_INFINITY),
      deadLetterTargetArn: policy.deadLetterTargetArn,
    };
  } catch {
    return undefined;
  }
}

/** Sorts a group by sequence number (zero-padded, so as strings), only when out of order. */
function inSequence(messages: StoredMessage[]): void {
  for (let i = 1; i < messages.length; i++) {
    if ((messages[i - 1]?.sequenceNumber ?? '') > (messages[i]?.sequenceNumber ?? '')) {
      messages.sort((a, b) => ((a.sequenceNumber ?? '') < (b.sequenceNumber ?? '') ? -1 : 1));
      return;
    }
  }
}
