import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { deduplicationId, RECORDED_ATTRIBUTE, type RequestEnvelope } from '../domain/lbaas-request.js';
import type { RequestQueue } from '../domain/ports.js';

/**
 * The environment's request queue as a producer sends to it: each request as the message every
 * producer sends (one FIFO group per load balancer, de-duplicated per tenant and request id), ten
 * at a time in order. A sender that recorded its requests says so in a message attribute.
 */
export class SqsRequestQueue implements RequestQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(requests: readonly RequestEnvelope[], options: { recorded: boolean }): Promise<void> {
    for (let i = 0; i < requests.length; i += 10) {
      const chunk = requests.slice(i, i + 10);
      const out = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: chunk.map((request, n) => ({
            Id: String(n),
            MessageBody: JSON.stringify(request),
            MessageGroupId: request.loadbalancerId,
            MessageDeduplicationId: deduplicationId(request),
            ...(options.recorded
              ? { MessageAttributes: { [RECORDED_ATTRIBUTE]: { DataType: 'String', StringValue: 'true' } } }
              : {}),
          })),
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
