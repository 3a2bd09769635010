/** Faults a simulated device can be told to show, one-shot, N times, or with a probability. */
export type FaultKind =
  | 'latency' // delay, then answer normally
  | 'busy' // 503 "There is an active asynchronous task executing."
  | 'mcpd-restart' // 500 "The connection to mcpd has been lost, try again."
  | 'html-500' // Jetty's HTML "AsyncContext timeout" page
  | 'not-registered' // 404 restjavad "URI path ... not registered" (framework restarting)
  | 'false-404' // 404 "01020036:3: The requested … was not found." for an object that exists (mcpd reloading, bigip-rest.md A.6)
  | 'expire-tokens' // every token expires now (the request then gets 401 "has expired")
  | 'reset' // connection reset before the request is processed
  | 'reset-after-commit' // the request is processed, then the connection is reset instead of answered
  | 'hang'; // the request is never answered

export interface FaultSpec {
  kind: FaultKind;
  /** Only requests with this method (any if absent). */
  method?: string;
  /** Only requests whose path matches. */
  path?: RegExp | string;
  /** How many matching requests it affects (default 1; Infinity for "until cleared"). */
  times?: number;
  /** Chance of affecting a matching request (default 1). */
  probability?: number;
  /** For `latency`. */
  delayMs?: number;
}

interface ActiveFault extends FaultSpec {
  remaining: number;
}

export class FaultInjector {
  private faults: ActiveFault[] = [];
  constructor(private readonly random: () => number = Math.random) {}

  add(spec: FaultSpec): void {
    this.faults.push({ ...spec, remaining: spec.times ?? 1 });
  }

  clear(): void {
    this.faults = [];
  }

  get pending(): FaultSpec[] {
    return this.faults.map(({ remaining: _r, ...spec }) => spec);
  }

  /** The faults that apply to this request (latency first), consuming their counts. */
  take(method: string, path: string): FaultSpec[] {
    const hits: FaultSpec[] = [];
    for (const f of this.faults) {
      if (f.remaining <= 0) continue;
      if (f.method && f.method.toUpperCase() !== method.toUpperCase()) continue;
      if (f.path && !(typeof f.path === 'string' ? path.includes(f.path) : f.path.test(path))) continue;
      if ((f.probability ?? 1) < 1 && this.random() >= (f.probability ?? 1)) continue;
      f.remaining -= 1;
      hits.push(f);
    }
    this.faults = this.faults.filter((f) => f.remaining > 0);
    return hits.sort((a, b) => Number(b.kind === 'latency') - Number(a.kind === 'latency'));
  }
}
