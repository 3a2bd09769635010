import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import type { QueueTaker } from '../domain/ports.js';

/**
 * A message as Lambda's SQS event source hands it to a function (the same fields, the same
 * spelling), so a message a worker takes itself goes through the handler's own path.
 */
export function lambdaRecordOf(m: Message, queueArn: string): SQSRecord {
  const attributes = Object.fromEntries(
    Object.entries(m.Attributes ?? {}).map(([k, v]) => [k, String(v)]),
  ) as unknown as SQSRecord['attributes'];
  return {
    messageId: m.MessageId as string,
    receiptHandle: m.ReceiptHandle as string,
    body: m.Body ?? '',
    attributes,
    messageAttributes: Object.fromEntries(
      Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [
        k,
        {
          dataType: v.DataType as string,
          ...(v.StringValue !== undefined ? { stringValue: v.StringValue } : {}),
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    ),
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: queueArn.split(':')[3] ?? '',
  };
}

/** An agent's own queue, read by its worker between the event source's batches (queued-work.ts). */
export class SqsQueueTaker implements QueueTaker<SQSRecord> {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly queueArn = '',
  ) {}

  async take(max: number, waitSeconds: number, holdSeconds: number): Promise<SQSRecord[]> {
    const out = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: Math.min(10, max),
        WaitTimeSeconds: waitSeconds,
        VisibilityTimeout: holdSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    return (out.Messages ?? []).map((m) => lambdaRecordOf(m, this.queueArn));
  }

  async acknowledge(records: readonly SQSRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += 10) {
      const out = await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: records
            .slice(i, i + 10)
            .map((r, n) => ({ Id: String(n), ReceiptHandle: r.receiptHandle })),
        }),
      );
      if (out.Failed && out.Failed.length > 0)
        throw new Error(`delete refused: ${out.Failed.map((f) => f.Code).join(', ')}`);
    }
  }
}
