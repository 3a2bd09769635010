import { FORWARDED_DECISIONS } from '../../functions/domain/agent-scheduler.js';
import { type MetricEvent, metricEvents } from '../../functions/shared/telemetry.js';
import type { LocalStack } from '../local-stack.js';

/** One point of the console's charts. */
export interface Sample {
  t: number;
  /** Requests per second forwarded, by decision kind, since the previous sample. */
  decisions: Record<string, number>;
  /** Submit → ACTIVE of the requests finished since the previous sample (ms; null when none). */
  p50: number | null;
  p95: number | null;
  waiting: number;
  inFlight: number;
  /** Heartbeat age per agent (s; null before its first beat). */
  heartbeatAge: Record<string, number | null>;
  failovers: number;
  reclaimed: number;
}

/** Something an operator wants on the failover timeline. */
export interface TimelineEvent {
  t: number;
  kind: 'agent-down' | 'agent-up' | 'failover' | 'reclaimed' | 'device-failover';
  text: string;
}

/** 15 minutes at one sample every 2 s. */
const KEEP = 450;

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/**
 * The last 15 minutes of the local stack, sampled every 2 s: the time series behind the console's
 * charts, from the same metric events CloudWatch would get, and a failover timeline (an agent going
 * down, requests moving to failover agents, the agent coming back, a device failover).
 */
export class DashboardHistory {
  readonly samples: Sample[] = [];
  readonly events: TimelineEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly finished: number[] = [];
  private failovers = 0;
  private reclaimed = 0;
  private lastDecisions: Record<string, number> = {};
  private lastAt = Date.now();
  private alive = new Map<string, boolean>();
  private activeDevice: string | undefined;
  private readonly listen = (m: MetricEvent) => {
    if (m.name === 'TimeToActive') this.finished.push(m.value);
    if (m.name === 'FailoverDecisions') this.failovers += m.value;
    if (m.name === 'ReclaimedRequests') this.reclaimed += m.value;
  };

  constructor(
    private readonly stack: LocalStack,
    private readonly intervalMs = 2_000,
  ) {}

  start(): this {
    metricEvents.on('metric', this.listen);
    this.lastDecisions = { ...this.stack.decisions };
    this.timer = setInterval(() => void this.sample().catch(() => undefined), this.intervalMs);
    this.timer.unref();
    void this.sample().catch(() => undefined);
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    metricEvents.off('metric', this.listen);
  }

  async sample(): Promise<void> {
    const now = Date.now();
    const seconds = Math.max(0.001, (now - this.lastAt) / 1000);
    const [agents, queues] = await Promise.all([
      this.stack.client.operations.agents(this.stack.env),
      this.stack.client.queueDepths(),
    ]);
    const decisions: Record<string, number> = {};
    for (const kind of [...FORWARDED_DECISIONS, 'no-active-agent']) {
      const total = this.stack.decisions[kind] ?? 0;
      decisions[kind] = Math.round(((total - (this.lastDecisions[kind] ?? 0)) / seconds) * 100) / 100;
    }
    this.lastDecisions = { ...this.stack.decisions };
    this.lastAt = now;
    const done = this.finished.splice(0).sort((a, b) => a - b);
    const depth = Object.values(queues);
    const sample: Sample = {
      t: now,
      decisions,
      p50: percentile(done, 50),
      p95: percentile(done, 95),
      waiting: depth.reduce((n, q) => n + q.visible, 0),
      inFlight: depth.reduce((n, q) => n + q.inFlight, 0),
      heartbeatAge: Object.fromEntries(agents.map((a) => [a.host, a.heartbeatAgeSeconds ?? null])),
      failovers: this.failovers,
      reclaimed: this.reclaimed,
    };
    this.samples.push(sample);
    if (this.samples.length > KEEP) this.samples.splice(0, this.samples.length - KEEP);

    for (const a of agents) {
      const was = this.alive.get(a.host);
      if (was === true && !a.alive)
        this.event(now, 'agent-down', `${a.host} down: no heartbeat for ${a.heartbeatAgeSeconds ?? '?'} s`);
      if (was === false && a.alive) this.event(now, 'agent-up', `${a.host} back: heartbeating again`);
      this.alive.set(a.host, a.alive);
    }
    if (this.failovers > 0)
      this.event(now, 'failover', `${this.failovers} request(s) moved to a failover agent`);
    if (this.reclaimed > 0)
      this.event(
        now,
        'reclaimed',
        `${this.reclaimed} stranded request(s) reclaimed from a dead agent's queue`,
      );
    this.failovers = 0;
    this.reclaimed = 0;
    const active = this.stack.pair?.active.hostname;
    if (active && this.activeDevice && active !== this.activeDevice)
      this.event(now, 'device-failover', `device failover: ${active} is active`);
    this.activeDevice = active;
  }

  private event(t: number, kind: TimelineEvent['kind'], text: string): void {
    this.events.push({ t, kind, text });
    if (this.events.length > 200) this.events.splice(0, this.events.length - 200);
  }

  /** What the page draws: series aligned on time, and the timeline newest first. */
  view() {
    const s = this.samples;
    const hosts = [...new Set(s.flatMap((x) => Object.keys(x.heartbeatAge)))].sort();
    const kinds = [...FORWARDED_DECISIONS, 'no-active-agent'];
    return {
      t: s.map((x) => Math.round(x.t / 1000)),
      decisions: Object.fromEntries(kinds.map((k) => [k, s.map((x) => x.decisions[k] ?? 0)])),
      latency: { p50: s.map((x) => x.p50), p95: s.map((x) => x.p95) },
      queues: { waiting: s.map((x) => x.waiting), inFlight: s.map((x) => x.inFlight) },
      heartbeatAge: Object.fromEntries(hosts.map((h) => [h, s.map((x) => x.heartbeatAge[h] ?? null)])),
      moves: { failovers: s.map((x) => x.failovers), reclaimed: s.map((x) => x.reclaimed) },
      timeline: [...this.events].reverse().slice(0, 30),
    };
  }
}
