import { randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { EventSourcePoller } from '../../local/event-source-poller.js';
import type { BundleProcess } from './bundle-host.js';
import type { TemplateFunction } from './cloud-assembly.js';
import type { LocalDeployment, Trigger } from './local-deployment.js';

/**
 * The event shapes the bundle tests can deliver, by what triggers a function in the template. A
 * function with another trigger (API Gateway, say) fails the tests until its shape is added here:
 * one entry naming the trigger and how to build its event.
 */
export const EVENT_SHAPES = {
  /** An SQS event source mapping: batches received with the function's role, as Lambda's poller does. */
  sqs: 'SQS batch (Records with messageGroupId/messageDeduplicationId attributes, eventSourceARN)',
  /** An EventBridge schedule. */
  schedule: 'EventBridge "Scheduled Event"',
} as const satisfies Partial<Record<Trigger['kind'], string>>;

/** An EventBridge schedule's event, as the rule delivers it. */
export function scheduledEvent(deployment: LocalDeployment, trigger: Extract<Trigger, { kind: 'schedule' }>) {
  const ruleArn = deployment.resolver.resolveString({ 'Fn::GetAtt': [trigger.rule, 'Arn'] }, trigger.stack);
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: deployment.accountId,
    time: `${new Date().toISOString().slice(0, 19)}Z`,
    region: deployment.region,
    resources: [ruleArn],
    detail: {},
  };
}

/**
 * Plays a function's SQS event source mapping: receives batches from its queue with the function's
 * role, invokes the bundle with Lambda's SQS event, deletes what it did not report as failed
 * (local/event-source-poller.ts, the same poller `npm start` uses). Runs until the queue gives
 * nothing; returns the events delivered and the invocations that failed.
 */
export async function drainQueue(
  deployment: LocalDeployment,
  fn: TemplateFunction,
  bundle: BundleProcess,
): Promise<{ events: SQSEvent[]; failures: string[] }> {
  const trigger = deployment.triggersOf(fn).find((t) => t.kind === 'sqs');
  if (trigger?.kind !== 'sqs') throw new Error(`${fn.logicalId} has no SQS event source`);
  const queue = deployment.queue(trigger.stack, trigger.queue);
  const events: SQSEvent[] = [];
  const failures: string[] = [];
  const { sqs } = deployment.clientsAs(fn);
  const poller = new EventSourcePoller({
    sqs,
    queueUrl: queue.url,
    queueArn: queue.arn,
    batchSize: trigger.batchSize,
    functionName: deployment.functionName(fn),
    timeoutMs: fn.timeoutSeconds * 1000,
    handler: async (event) => {
      events.push(event);
      const result = await bundle.invoke(event);
      if (!result.ok) {
        failures.push(`${result.error?.name}: ${result.error?.message}`);
        throw new Error(result.error?.message);
      }
      const response = result.value as SQSBatchResponse | null;
      for (const failure of response?.batchItemFailures ?? [])
        failures.push(`batch item ${failure.itemIdentifier}`);
      return response ?? undefined;
    },
  });
  try {
    while ((await poller.pollOnce(0)) > 0) {
      // Until the queue hands out nothing more.
    }
  } finally {
    sqs.destroy();
  }
  return { events, failures };
}
