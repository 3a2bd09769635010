import { AsyncLocalStorage } from 'node:async_hooks';
import type { SQSRecord } from 'aws-lambda';

/** Which of the local stack's functions a piece of work belongs to. */
export type LocalFunction =
  | 'producer'
  | 'scheduler'
  | 'worker'
  | 'heartbeat'
  | 'reclaimer'
  | 'health-poller'
  | 'reconciler';

/** Something an invocation waited on (an AWS call, a device call), for the benchmarks' stage times. */
export interface Span {
  kind: string;
  start: number;
  end: number;
  detail?: string;
  /** What it was about: load balancer ids, lease keys, partitions (to tell an invocation's load balancers apart). */
  subjects?: string[];
}

/** One invocation of a queue consumer: its records, when it ran and what it waited on. */
export interface InvocationTrace {
  fn: LocalFunction;
  host?: string;
  records: readonly SQSRecord[];
  startedAt: number;
  endedAt?: number;
  spans: Span[];
}

/**
 * Where the current work runs: a function (and, for a queue consumer, either its event source's
 * polling or the handler's invocation). In AWS each function has its own process; here they share
 * one, so the benchmarks tell their AWS calls apart by this scope, not by client.
 */
export interface FunctionScope {
  fn: LocalFunction;
  host?: string;
  part: 'event-source' | 'invocation';
  trace?: InvocationTrace;
}

const scopes = new AsyncLocalStorage<FunctionScope>();

/** Runs `work` as part of a function (everything it awaits stays in that scope). */
export function inFunction<T>(scope: FunctionScope, work: () => T): T {
  return scopes.run(scope, work);
}

/** The scope of the work running now, if it belongs to a function. */
export function currentFunction(): FunctionScope | undefined {
  return scopes.getStore();
}
