import type { InvocationTrace, Span } from '../../local/function-scope.js';
import { summarize } from './stats.js';

/** Where a request's time went, in milliseconds, from its submission to its last worker invocation's end. */
export interface RequestTimes {
  /** Submitted → its scheduler invocation started (the request queue, and the event source's polling). */
  requestQueue: number;
  /** The scheduler invocation started → the request was forwarded to its agent's queue. */
  scheduler: number;
  /** Forwarded → the worker invocation that finished it started. */
  agentQueue: number;
  /** That invocation started → the first device call for its partition (settled check, lease, tree, certificates). */
  worker: number;
  /** First device call → its partition's lease released (reads, planning, the write). */
  device: number;
  /** Lease released → the first status write of its load balancer (config-sync and the peers' confirmation). */
  configSync: number;
  /** First → last status write of its load balancer. */
  statuses: number;
  /** Its statuses written → the invocation returned (the batch's other load balancers). */
  batch: number;
  /** Submitted → the invocation that finished it returned. */
  total: number;
}

export const STAGE_TIMES = [
  'requestQueue',
  'scheduler',
  'agentQueue',
  'worker',
  'device',
  'configSync',
  'statuses',
  'batch',
  'total',
] as const;

const about = (s: Span, subject: string) => s.subjects?.some((x) => x.includes(subject)) ?? false;
const isStatusWrite = (s: Span, lb: string) =>
  s.kind === 'dynamodb' && /^resources\.(Update|TransactWrite|Delete)$/.test(s.detail ?? '') && about(s, lb);
const isLeaseRelease = (s: Span, partition: string) =>
  s.kind === 'dynamodb' && s.detail === 'leases.Delete' && about(s, partition);
/** A device call of the change itself (failover and config-sync calls are `/mgmt/tm/cm…`). */
const isDeviceWork = (s: Span) => s.kind === 'device' && !(s.detail ?? '').startsWith('/mgmt/tm/cm');

interface Worked {
  trace: InvocationTrace;
  loadbalancerId: string;
  partition: string;
}

/**
 * Collects the scheduler's and workers' invocation traces and turns them into each request's
 * stage times. A worker invocation applies several load balancers at once: a request's device
 * phase runs from the first call naming its partition (or, with none, the invocation's first) to
 * its partition's lease release, its statuses are its load balancer's writes, and what is left of
 * the invocation is `batch` (its message is deleted only when the whole batch is done).
 */
export class StageTimes {
  private submitted = new Map<string, number>();
  private scheduled = new Map<string, number>();
  private forwarded = new Map<string, number>();
  private worked = new Map<string, Worked>();

  readonly onInvocation = (trace: InvocationTrace): void => {
    for (const record of trace.records) {
      for (const body of bodiesOf(record.body)) {
        if (trace.fn === 'scheduler' && body.requestId) {
          const sent = Number(record.attributes?.SentTimestamp);
          if (!this.submitted.has(body.requestId) && sent > 0) this.submitted.set(body.requestId, sent);
          this.scheduled.set(body.requestId, trace.startedAt);
        } else if (trace.fn === 'worker' && body.request?.requestId) {
          const { requestId, tenantId, loadbalancerId } = body.request;
          if (body.scheduling?.scheduledAt) this.forwarded.set(requestId, body.scheduling.scheduledAt);
          this.worked.set(requestId, {
            trace,
            loadbalancerId: String(loadbalancerId),
            partition: `${body.scheduling?.env}_${tenantId}`,
          });
        }
      }
    }
  };

  /**
   * Each request's raw path for profiling (`bench:pipeline -- --traces FILE`): when it was
   * submitted, scheduled and forwarded, and what the invocation that finished it waited on, in
   * milliseconds from its submission.
   */
  traces(requestIds: readonly string[]) {
    return requestIds.map((id) => {
      const submitted = this.submitted.get(id) ?? 0;
      const worked = this.worked.get(id);
      const at = (t: number | undefined) => (t === undefined ? undefined : t - submitted);
      return {
        requestId: id,
        scheduled: at(this.scheduled.get(id)),
        forwarded: at(this.forwarded.get(id)),
        workerStarted: at(worked?.trace.startedAt),
        workerEnded: at(worked?.trace.endedAt),
        records: worked?.trace.records.length,
        spans: (worked?.trace.spans ?? []).map((s) => ({
          kind: s.kind,
          detail: s.detail,
          start: s.start - submitted,
          ms: s.end - s.start,
        })),
      };
    });
  }

  /** Stage times of these requests (those seen through the whole path). */
  of(requestIds: readonly string[]): RequestTimes[] {
    const out: RequestTimes[] = [];
    for (const id of requestIds) {
      const submitted = this.submitted.get(id);
      const scheduled = this.scheduled.get(id);
      const forwarded = this.forwarded.get(id);
      const worked = this.worked.get(id);
      if (
        submitted === undefined ||
        scheduled === undefined ||
        forwarded === undefined ||
        !worked?.trace.endedAt
      )
        continue;
      const { trace, loadbalancerId: lb, partition } = worked;
      const end = trace.endedAt as number;
      const spans = trace.spans;
      const device = spans.filter(isDeviceWork);
      const firstDevice =
        min(device.filter((s) => about(s, partition)).map((s) => s.start)) ?? min(device.map((s) => s.start));
      const released = max(spans.filter((s) => isLeaseRelease(s, partition)).map((s) => s.end));
      const writes = spans.filter(
        (s) => isStatusWrite(s, lb) && (released === undefined || s.start >= released),
      );
      const firstStatus = min(writes.map((s) => s.start));
      const lastStatus = max(writes.map((s) => s.end));
      const workerEnd = firstDevice ?? firstStatus ?? end;
      const deviceEnd = firstDevice === undefined ? workerEnd : (released ?? firstStatus ?? end);
      const syncEnd = firstDevice === undefined ? workerEnd : (firstStatus ?? end);
      const statusEnd = lastStatus ?? syncEnd;
      out.push({
        requestQueue: scheduled - submitted,
        scheduler: forwarded - scheduled,
        agentQueue: trace.startedAt - forwarded,
        worker: workerEnd - trace.startedAt,
        device: deviceEnd - workerEnd,
        configSync: syncEnd - deviceEnd,
        statuses: statusEnd - syncEnd,
        batch: end - statusEnd,
        total: end - submitted,
      });
    }
    return out;
  }
}

type Body = {
  requestId?: string;
  request?: { requestId?: string; tenantId?: string; loadbalancerId?: string };
  scheduling?: { scheduledAt?: number; env?: string };
};

/** The request a message carries. */
function bodiesOf(raw: string): Body[] {
  try {
    return [JSON.parse(raw) as Body];
  } catch {
    return [];
  }
}

/** Each stage's p50 / p95 / max / mean over requests, in seconds. */
export function summarizeTimes(times: readonly RequestTimes[]) {
  return Object.fromEntries(
    STAGE_TIMES.map((k) => {
      const s = summarize(times.map((t) => t[k] / 1000));
      return [k, { p50: s.p50, p95: s.p95, max: s.max, mean: round2(mean(times.map((t) => t[k] / 1000))) }];
    }),
  ) as Record<(typeof STAGE_TIMES)[number], { p50: number; p95: number; max: number; mean: number }>;
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const mean = (xs: readonly number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
const min = (xs: readonly number[]) => (xs.length === 0 ? undefined : Math.min(...xs));
const max = (xs: readonly number[]) => (xs.length === 0 ? undefined : Math.max(...xs));
