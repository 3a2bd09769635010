import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';

/**
 * Counts the commands an SDK client sends (by command name), through the SDK's own middleware
 * stack, so benchmarks report DynamoDB and SQS calls per request exactly.
 */
export class CallCounter {
  private counts = new Map<string, number>();

  attach(client: DynamoDBClient | SQSClient, label: string): void {
    (client.middlewareStack as DynamoDBClient['middlewareStack']).add(
      (next, context) => async (args) => {
        const name = `${label}.${String(context.commandName ?? 'unknown').replace(/Command$/, '')}`;
        this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
        return next(args);
      },
      { step: 'initialize', name: `callCounter-${label}`, override: true },
    );
  }

  reset(): void {
    this.counts.clear();
  }

  total(prefix = ''): number {
    let sum = 0;
    for (const [name, n] of this.counts) if (name.startsWith(prefix)) sum += n;
    return sum;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort());
  }
}
