import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { MessageVisibility } from '../domain/ports.js';

/** Pushes a message's next delivery back: the back-off between attempts of a retried message. */
export class SqsMessageVisibility implements MessageVisibility {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async delay(receiptHandle: string, seconds: number): Promise<void> {
    await this.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: Math.round(seconds),
      }),
    );
  }

  async holdAll(receiptHandles: string[], seconds: number): Promise<void> {
    // SQS takes at most ten entries per batch call; a Lambda batch for this queue is at most ten.
    for (let i = 0; i < receiptHandles.length; i += 10) {
      const out = await this.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: receiptHandles.slice(i, i + 10).map((handle, n) => ({
            Id: String(n),
            ReceiptHandle: handle,
            VisibilityTimeout: Math.round(seconds),
          })),
        }),
      );
      if (out.Failed && out.Failed.length > 0) {
        throw new Error(`visibility change refused: ${out.Failed.map((f) => f.Code).join(', ')}`);
      }
    }
  }
}
