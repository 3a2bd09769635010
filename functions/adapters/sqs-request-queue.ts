import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { deduplicationId, RECORDED_ATTRIBUTE, type RequestEnvelope } from '../domain/lbaas-request.js';
import type { RequestQueue } from '../domain/ports.js';
import { sqsBatches } from './sqs-batches.js';

/**
 * The environment's request queue as a producer sends to it: each request as the message every
 * producer sends (one FIFO group per load balancer, de-duplicated per tenant and request id), ten
 * to a SendMessageBatch, in order. A sender that recorded its requests says so in a message attribute.
 */
export class SqsRequestQueue implements RequestQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(requests: readonly RequestEnvelope[], options: { recorded: boolean }): Promise<void> {
    const entries = requests.map((request) => ({
      MessageBody: JSON.stringify(request),
      MessageGroupId: request.loadbalancerId,
      MessageDeduplicationId: deduplicationId(request),
      ...(options.recorded
        ? {
            MessageAttributes: { [RECORDED_ATTRIBUTE]: { DataType: 'String' as const, StringValue: 'true' } },
          }
        : {}),
    }));
    // In order, batch after batch (ten entries and 256 KiB at most each: a member batch's message is large).
    for (const chunk of sqsBatches(entries, (e) => e.MessageBody)) {
      const out = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: chunk.map((entry, n) => ({ Id: String(n), ...entry })),
        }),
      );
      // A batch can fail entry by entry; the later requests of the group must not overtake a lost one.
      const failed = out.Failed ?? [];
      if (failed.length > 0)
        throw new Error(
          `the request queue refused ${failed.length} of ${chunk.length} messages: ${failed.map((f) => f.Message ?? f.Code).join('; ')}`,
        );
    }
  }
}
