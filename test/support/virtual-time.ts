import type { Timers } from '../../functions/domain/ports.js';

/**
 * A clock and timers that move only when everything else waits on them: code that sleeps, polls
 * and races timeouts runs in milliseconds, and what it does never depends on how loaded the machine
 * is. `run` drives a piece of work to its end; whenever no promise can make progress, time jumps to
 * the next timer. Only for work over in-memory parts (real I/O would look idle to it).
 */
export class VirtualTime implements Timers {
  now: number;
  private timers: { at: number; seq: number; fire: () => void }[] = [];
  private seq = 0;

  constructor(start = 0) {
    this.now = start;
  }

  readonly clock = (): number => this.now;

  readonly sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      this.schedule(ms, resolve);
    });

  readonly within = async <T>(answer: Promise<T>, ms: number): Promise<T | 'late'> => {
    let cancel: () => void = () => undefined;
    const late = new Promise<'late'>((resolve) => {
      cancel = this.schedule(ms, () => resolve('late'));
    });
    answer.catch(() => undefined);
    try {
      return await Promise.race([answer, late]);
    } finally {
      cancel();
    }
  };

  /** Runs `work` to its end, moving time to the next timer whenever nothing else can run. */
  async run<T>(work: Promise<T>): Promise<T> {
    let settled = false;
    work.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    while (!settled) {
      // Every promise chain that can move has moved once the macrotask queue comes round.
      await new Promise((r) => setImmediate(r));
      if (settled) break;
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers[0];
      if (!next) throw new Error('virtual time: the work waits for something that is not a timer');
      this.now = Math.max(this.now, next.at);
      const due = this.timers.filter((t) => t.at <= this.now);
      this.timers = this.timers.filter((t) => t.at > this.now);
      for (const t of due) t.fire();
    }
    return work;
  }

  private schedule(ms: number, fire: () => void): () => void {
    const timer = { at: this.now + Math.max(0, ms), seq: this.seq++, fire };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }
}
