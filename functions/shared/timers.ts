import type { Timers } from '../domain/ports.js';

/*
 * The one sleep and the one timeout of the functions. A sleep keeps the process alive (a
 * heartbeat sleeps between beats with nothing else pending); a timeout's timer does not (the
 * answer it races holds the process) and is cleared as soon as the answer comes.
 */

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** `answer`, or `'late'` when it takes longer than `ms` (the answer's later failure is nobody's business). */
export async function within<T>(answer: Promise<T>, ms: number): Promise<T | 'late'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), Math.max(0, ms));
    timer.unref?.();
  });
  answer.catch(() => undefined);
  try {
    return await Promise.race([answer, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The real timers, for the wiring to hand to services. */
export const systemTimers: Timers = { sleep, within };
