import type { ForwardedRequest } from '../../../functions/domain/lbaas-request.js';
import type { AgentQueue, QueuedMessage, QueueInbox } from '../../../functions/domain/ports.js';

/**
 * The agents' queues in memory: what was forwarded where, and a FIFO inbox per queue URL with SQS
 * FIFO's order rule: one message group per load balancer, and no message of a group is handed out
 * while an earlier one of that group is in flight.
 */
export class InMemoryQueues implements AgentQueue, QueueInbox {
  /** Messages waiting per queue URL, oldest first. */
  readonly waiting = new Map<string, { message: QueuedMessage; hidden: boolean }[]>();
  readonly forwarded: { queueUrl: string; message: ForwardedRequest }[] = [];
  private sequence = 0;

  async forward(queueUrl: string, message: ForwardedRequest): Promise<void> {
    this.forwarded.push({ queueUrl, message: structuredClone(message) });
    this.enqueue(queueUrl, JSON.stringify(message));
  }

  enqueue(queueUrl: string, body: string): void {
    const list = this.waiting.get(queueUrl) ?? [];
    list.push({ message: { body, receiptHandle: `r-${++this.sequence}` }, hidden: false });
    this.waiting.set(queueUrl, list);
  }

  /** Messages waiting in a queue, now (for assertions). */
  count(queueUrl: string): number {
    return this.waiting.get(queueUrl)?.length ?? 0;
  }

  async depth(queueUrl: string): Promise<number> {
    return this.waiting.get(queueUrl)?.length ?? 0;
  }

  async receive(queueUrl: string, options: { max: number }): Promise<QueuedMessage[]> {
    const blocked = new Set<string>();
    const out: { message: QueuedMessage; hidden: boolean }[] = [];
    for (const m of this.waiting.get(queueUrl) ?? []) {
      const group = messageGroup(m.message.body);
      if (m.hidden) blocked.add(group);
      else if (!blocked.has(group) && out.length < options.max) out.push(m);
    }
    for (const m of out) m.hidden = true;
    return out.map((m) => ({ ...m.message }));
  }

  async release(queueUrl: string, receiptHandle: string): Promise<void> {
    const m = this.waiting.get(queueUrl)?.find((x) => x.message.receiptHandle === receiptHandle);
    if (m) m.hidden = false;
  }

  async remove(queueUrl: string, receiptHandle: string): Promise<void> {
    const list = this.waiting.get(queueUrl) ?? [];
    this.waiting.set(
      queueUrl,
      list.filter((x) => x.message.receiptHandle !== receiptHandle),
    );
  }
}

/** A forwarded request's message group: its load balancer (what `SqsAgentQueue` sends). */
function messageGroup(body: string): string {
  try {
    return String((JSON.parse(body) as ForwardedRequest).request?.loadbalancerId ?? '');
  } catch {
    return '';
  }
}
