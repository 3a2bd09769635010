import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { QueueTaker } from '../../../functions/domain/ports.js';
import { type QueuedWorkOptions, takeQueuedWork } from '../../../functions/handlers/queued-work.js';

const record = (id: string) => ({ messageId: id, receiptHandle: `rh-${id}`, body: id }) as SQSRecord;

/** A queue of ids: what `take` hands out, what was deleted, and every look at it. */
function queue(ids: string[]) {
  const waiting = [...ids];
  const deleted: string[] = [];
  const looks: number[] = [];
  const taker: QueueTaker<SQSRecord> = {
    async take(max) {
      looks.push(max);
      await Promise.resolve();
      return waiting.splice(0, max).map(record);
    },
    async acknowledge(records) {
      deleted.push(...records.map((r) => r.messageId));
    },
  };
  return { taker, waiting, deleted, looks };
}

function deferred() {
  let resolve: () => void = () => undefined;
  let reject: (e: unknown) => void = () => undefined;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const options = (taker: QueueTaker<SQSRecord>, over: Partial<QueuedWorkOptions> = {}): QueuedWorkOptions => ({
  taker,
  busy: () => true,
  holdSeconds: 25,
  waitSeconds: 1,
  pollMs: 1,
  hasTime: () => true,
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  onError: (e) => {
    throw e;
  },
  ...over,
});

describe('takeQueuedWork', () => {
  it('never looks at the queue of a group that is not busy: a quiet change costs no call', async () => {
    const q = queue(['m1']);
    const own = deferred();
    const taking = takeQueuedWork(
      own.promise,
      async () => new Set(),
      options(q.taker, { busy: () => false }),
    );
    await new Promise((r) => setTimeout(r, 20));
    own.resolve();
    expect(await taking).toBe(0);
    expect(q.looks).toEqual([]);
    expect(q.waiting).toEqual(['m1']);
  });

  it('takes what is queued while its own batch waits, runs it, and deletes only what did not fail', async () => {
    const q = queue(Array.from({ length: 13 }, (_, i) => `m${i}`));
    const own = deferred();
    const ran: string[][] = [];
    const taking = takeQueuedWork(
      own.promise,
      async (records) => {
        ran.push(records.map((r) => r.messageId));
        // m4 failed (its back-off is already set): it must stay on the queue.
        return new Set(records.filter((r) => r.messageId === 'm4').map((r) => r.messageId));
      },
      options(q.taker),
    );
    while (q.waiting.length > 0) await new Promise((r) => setTimeout(r, 1));
    own.resolve();
    expect(await taking).toBe(13);
    // Ten at most per look, as SQS hands them out.
    expect(ran.map((r) => r.length)).toEqual([10, 3]);
    expect(q.deleted.sort()).toEqual(
      Array.from({ length: 13 }, (_, i) => `m${i}`)
        .filter((id) => id !== 'm4')
        .sort(),
    );
  });

  it('stops looking once its own batch is done, and ends only when what it took has ended', async () => {
    const q = queue(['m1']);
    const own = deferred();
    const taken = deferred();
    let tookOwnEnd = false;
    const taking = takeQueuedWork(
      own.promise,
      async () => {
        await taken.promise;
        return new Set<string>();
      },
      options(q.taker),
    ).then((n) => {
      tookOwnEnd = true;
      return n;
    });
    while (q.waiting.length > 0) await new Promise((r) => setTimeout(r, 1));
    own.resolve();
    await new Promise((r) => setTimeout(r, 10));
    const looks = q.looks.length;
    expect(tookOwnEnd).toBe(false);
    expect(q.deleted).toEqual([]);
    taken.resolve();
    expect(await taking).toBe(1);
    expect(q.deleted).toEqual(['m1']);
    // No look after the batch ended.
    expect(q.looks.length).toBe(looks);
  });

  it('ends with its own batch even when that batch fails', async () => {
    const q = queue([]);
    const own = deferred();
    const taking = takeQueuedWork(own.promise, async () => new Set(), options(q.taker));
    own.reject(new Error('own batch failed'));
    await expect(own.promise).rejects.toThrow();
    expect(await taking).toBe(0);
  });

  it('takes nothing when the invocation has no time left for it', async () => {
    const q = queue(['m1']);
    const own = deferred();
    const taking = takeQueuedWork(
      own.promise,
      async () => new Set(),
      options(q.taker, { hasTime: () => false }),
    );
    own.resolve();
    expect(await taking).toBe(0);
    expect(q.looks).toEqual([]);
  });

  it('a look or a delete that fails is reported and loses nothing: the message comes back after its hold', async () => {
    const errors: unknown[] = [];
    let looks = 0;
    const deleted: string[] = [];
    const taker: QueueTaker<SQSRecord> = {
      async take() {
        looks += 1;
        if (looks === 1) throw new Error('throttled');
        return looks === 2 ? [record('m1')] : [];
      },
      async acknowledge(records) {
        if (records.some((r) => r.messageId === 'm1')) throw new Error('delete refused');
        deleted.push(...records.map((r) => r.messageId));
      },
    };
    const own = deferred();
    const taking = takeQueuedWork(
      own.promise,
      async () => new Set(),
      options(taker, { onError: (e) => errors.push(e) }),
    );
    while (looks < 3) await new Promise((r) => setTimeout(r, 1));
    own.resolve();
    expect(await taking).toBe(1);
    expect(errors.map((e) => (e as Error).message)).toEqual(['throttled', 'delete refused']);
    expect(deleted).toEqual([]);
  });
});
