import type { ForwardedRequest } from '../../../functions/domain/lbaas-request.js';
import type { AgentQueue, QueuedMessage, QueueInbox } from '../../../functions/domain/ports.js';

/** The agents' queues in memory: what was forwarded where, and a FIFO inbox per queue URL. */
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
    const visible = (this.waiting.get(queueUrl) ?? []).filter((m) => !m.hidden).slice(0, options.max);
    for (const m of visible) m.hidden = true;
    return visible.map((m) => ({ ...m.message }));
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
