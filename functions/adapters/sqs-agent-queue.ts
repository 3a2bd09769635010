import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { deduplicationId, type ForwardedRequest } from '../domain/lbaas-request.js';
import type { AgentQueue } from '../domain/ports.js';

/**
 * Forwards a scheduled request to an agent's FIFO queue: one message group per load balancer
 * keeps its requests in order, and the request id de-duplicates repeated forwards.
 */
export class SqsAgentQueue implements AgentQueue {
  constructor(private readonly sqs: SQSClient) {}

  async forward(queueUrl: string, message: ForwardedRequest): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(message),
        MessageGroupId: message.request.loadbalancerId,
        MessageDeduplicationId: deduplicationId(message.request),
        MessageAttributes: {
          decision: { DataType: 'String', StringValue: message.scheduling.kind },
          scheduledAt: { DataType: 'Number', StringValue: String(message.scheduling.scheduledAt) },
        },
      }),
    );
  }
}
