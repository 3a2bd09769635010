import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { ForwardRefusedError } from '../domain/errors.js';
import { deduplicationId, type ForwardedRequest } from '../domain/lbaas-request.js';
import type { AgentQueue } from '../domain/ports.js';
import { sqsBatches } from './sqs-batches.js';

interface Pending {
  entry: Omit<SendMessageBatchRequestEntry, 'Id'> & { MessageGroupId: string; MessageBody: string };
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Forwards a scheduled request to an agent's FIFO queue: one message group per load balancer
 * keeps its requests in order, and the request id de-duplicates repeated forwards.
 *
 * Forwards asked for side by side (a scheduler batch's load balancers, each handled in its own
 * order) to one queue go out together: whatever is asked before the event loop's next turn is sent
 * as one SendMessageBatch. Each caller still waits for its own message, and gets its own entry's
 * failure, so a request counts as forwarded exactly when SQS took it. A load balancer's requests
 * asked for together (a scheduler batch's, recorded one after the other) keep their order: entries in
 * the order asked, and a queue's batches (more than ten, or 256 KiB) one after the other.
 */
export class SqsAgentQueue implements AgentQueue {
  private readonly pending = new Map<string, Pending[]>();

  constructor(private readonly sqs: SQSClient) {}

  forward(queueUrl: string, message: ForwardedRequest): Promise<void> {
    const entry = {
      MessageBody: JSON.stringify(message),
      MessageGroupId: message.request.loadbalancerId,
      MessageDeduplicationId: deduplicationId(message.request),
      MessageAttributes: {
        decision: { DataType: 'String', StringValue: message.scheduling.kind },
        scheduledAt: { DataType: 'Number', StringValue: String(message.scheduling.scheduledAt) },
      },
    };
    return new Promise<void>((resolve, reject) => {
      const queued = this.pending.get(queueUrl);
      if (queued) queued.push({ entry, resolve, reject });
      else {
        this.pending.set(queueUrl, [{ entry, resolve, reject }]);
        setImmediate(() => void this.flush(queueUrl));
      }
    });
  }

  private async flush(queueUrl: string): Promise<void> {
    const all = this.pending.get(queueUrl) ?? [];
    this.pending.delete(queueUrl);
    const batches = sqsBatches(all, (p) => p.entry.MessageBody);
    // One after the other: a load balancer's requests may span two batches, and FIFO keeps the order
    // sent; so a group that failed in one batch sends nothing more (its later requests fail too and
    // are retried behind it, never delivered before it).
    const failedGroups = new Set<string>();
    for (const batch of batches) {
      const blocked = batch.filter((p) => failedGroups.has(p.entry.MessageGroupId));
      for (const p of blocked)
        p.reject(new ForwardRefusedError('an earlier forward of this load balancer failed', { queueUrl }));
      const ready = batch.filter((p) => !blocked.includes(p));
      if (ready.length === 0) continue;
      for (const failed of await this.send(queueUrl, ready)) failedGroups.add(failed.entry.MessageGroupId);
    }
  }

  /** Sends one batch; answers the entries that were not taken (their callers are rejected). */
  private async send(queueUrl: string, batch: readonly Pending[]): Promise<Pending[]> {
    const notTaken: Pending[] = [];
    const refuse = (p: Pending, error: unknown) => {
      p.reject(error);
      notTaken.push(p);
    };
    try {
      if (batch.length === 1) {
        const [only] = batch as [Pending];
        await this.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, ...only.entry }));
        only.resolve();
        return notTaken;
      }
      const answer = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((p, i) => ({ Id: String(i), ...p.entry })),
        }),
      );
      const failed = new Map((answer.Failed ?? []).map((f) => [f.Id, f]));
      const taken = new Set((answer.Successful ?? []).map((s) => s.Id));
      batch.forEach((p, i) => {
        const failure = failed.get(String(i));
        if (taken.has(String(i))) p.resolve();
        else
          refuse(
            p,
            new ForwardRefusedError(
              `SQS did not take the forward: ${failure?.Code ?? 'no answer'} ${failure?.Message ?? ''}`.trim(),
              { queueUrl, code: failure?.Code, senderFault: failure?.SenderFault },
            ),
          );
      });
    } catch (error) {
      for (const p of batch) refuse(p, error);
    }
    return notTaken;
  }
}
