import { randomUUID } from 'node:crypto';
import { ThrottlingException } from '@aws-sdk/client-dynamodb';
import type { SubmittedRequest } from '../../cli/lbaas-client.js';
import { isPending } from '../../functions/domain/resource-state.js';
import type { ReconcileReport } from '../../functions/services/reconciler.js';
import { type MetricEvent, metricEvents } from '../../functions/shared/telemetry.js';
import { TIMING_MODELS } from '../../local/bigip-simulator/timing-model.js';
import { type LocalStack, startLocalStack } from '../../local/local-stack.js';
import { CallCounter } from './call-counter.js';
import { compareWithDevice, type ExpectedLoadBalancer } from './device-oracle.js';
import { summarize } from './stats.js';

export interface SoakOptions {
  /** Requests per second submitted (before duplicates). */
  rate: number;
  durationSeconds: number;
  tenants: number;
  faults: boolean;
  /** Run the reconciler this often during the soak (none by default). */
  reconcileIntervalMs?: number;
  /** Its orphan mode: `remove` deletes what it finds orphaned (the long soak runs it so). */
  reconcileOrphans?: 'report' | 'remove';
  /** Use running stand-ins (tests) instead of starting them. */
  services?: { dynamodbEndpoint: string; sqsEndpoint: string };
  /**
   * How long the devices' config-syncs take (default: instant). At 200 ms or more a busy group's
   * syncs are held and its waiting workers take their queues' next messages, which instant syncs
   * never do.
   */
  syncMs?: number;
  log?: (line: string) => void;
}

export interface SoakReport {
  options: Omit<SoakOptions, 'services' | 'log'>;
  submitted: number;
  duplicatesSent: number;
  seconds: number;
  throughputPerSecond: number;
  latencyMs: ReturnType<typeof summarize>;
  perRequest: { dynamodb: number; sqs: number; bigip: number };
  outcome: {
    active: number;
    error: number;
    deleted: number;
    deadLettered: number;
    lost: number;
    stuck: number;
  };
  errorReasons: Record<string, number>;
  /** Differences between the device and what the requests sent must have put there (independent oracle). */
  deviceMismatches: string[];
  /**
   * The same comparison on the pair's other unit: every change was confirmed on it (a config-sync
   * and the peer asked) before its status said ACTIVE, so it must hold the same (absent: no pair).
   */
  standbyMismatches?: string[];
  /** Load balancers with an ERROR or a dead letter, each with its reason (left out of the device comparison). */
  errorsAccounted: string[];
  faultsInjected: string[];
  /** Messages the workers took from their own queues while waiting on a busy group (not the event source's batches). */
  takenByWorkers: number;
  /** Invocations that reached their function timeout, each one Lambda would have stopped (LocalStack.overruns). */
  invocationsPastTimeout: number;
  lostRequests: string[];
  stuckObjects: string[];
  /** The reconciler's scheduled runs during the soak, and what they changed. */
  reconcile: {
    runs: number;
    skipped: number;
    repaired: number;
    orphansRemoved: number;
    /** Objects it removed that belonged to a load balancer alive at the end (must be none). */
    liveObjectsRemoved: string[];
  };
}

type Live = ExpectedLoadBalancer & { step: number };

/**
 * Drives the local stack with a mix of LBaaS requests over many tenants, optionally under faults
 * (an agent killed mid-run, 503 storms, token expiry, resets after commit, a device failover,
 * every message delivered twice, DynamoDB throttling), then accounts for every request: ACTIVE,
 * ERROR with a reason, deleted, or dead-lettered; nothing lost, nothing PENDING; and every device
 * configuration equal to the desired state.
 */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? (() => undefined);
  const counter = new CallCounter();
  let throttle = 0;
  let takenByWorkers = 0;
  const reconcileReports: ReconcileReport[] = [];
  const stack: LocalStack = await startLocalStack({
    ...(options.reconcileIntervalMs
      ? {
          reconcileIntervalMs: options.reconcileIntervalMs,
          reconcileOrphans: options.reconcileOrphans ?? 'report',
          onReconcile: (report: ReconcileReport) => reconcileReports.push(report),
        }
      : {}),
    timeScale: 10,
    ...(options.syncMs
      ? { timing: { ...TIMING_MODELS.zero, name: `sync ${options.syncMs} ms`, syncMs: options.syncMs } }
      : {}),
    stateFile: false,
    namePrefix: `soak${randomUUID().slice(0, 5)}`,
    visibilityTimeoutSeconds: 10,
    ...(options.services ? { services: options.services } : {}),
    configureClients: (clients) => {
      counter.attach(clients.dynamodb, 'dynamodb');
      counter.attach(clients.sqs, 'sqs');
      // DynamoDB throttling: a share of calls answer ThrottlingException (the SDK retries, then the queue does).
      clients.dynamodb.middlewareStack.add(
        (next) => async (args) => {
          if (throttle > 0 && Math.random() < throttle) {
            throw new ThrottlingException({
              message: 'Rate of requests exceeds the allowed throughput.',
              $metadata: {},
            });
          }
          return next(args);
        },
        { step: 'finalizeRequest', name: 'soakThrottling' },
      );
    },
  });
  const latencies: number[] = [];
  const onMetric = (m: MetricEvent) => {
    if (m.name === 'TimeToActive') latencies.push(m.value);
    if (m.name === 'MessagesTaken') takenByWorkers += m.value;
  };
  metricEvents.on('metric', onMetric);
  const faults: string[] = [];
  const submitted: SubmittedRequest[] = [];
  let duplicates = 0;
  try {
    const lbs: Live[] = [];
    let vip = 0;
    const newLb = (): Live => {
      vip += 1;
      const live: Live = {
        tenantId: randomUUID().replaceAll('-', '').slice(0, 32),
        lb: randomUUID(),
        pool: undefined,
        members: [],
        listeners: [],
        monitor: undefined,
        step: 0,
        deleted: false,
        vip: `10.${100 + Math.floor(vip / 250)}.${vip % 250}.1`,
      };
      // Several load balancers per tenant: reuse tenants.
      const existing = lbs[Math.floor(Math.random() * Math.min(lbs.length, options.tenants))];
      if (existing && lbs.length >= options.tenants) live.tenantId = existing.tenantId;
      lbs.push(live);
      return live;
    };
    /** The next request of a load balancer's lifecycle. */
    const next = (l: Live): Record<string, unknown> | undefined => {
      const base = { tenantId: l.tenantId, loadbalancerId: l.lb };
      l.step += 1;
      if (l.step === 1)
        return {
          ...base,
          operation: 'create',
          resource: 'loadbalancer',
          object: { id: l.lb, vip_address: l.vip },
        };
      if (l.step === 2) {
        const id = randomUUID();
        l.listeners.push({ id, port: 80 });
        return {
          ...base,
          operation: 'create',
          resource: 'listener',
          object: { id, protocol: 'HTTP', protocol_port: 80 },
        };
      }
      if (l.step === 3) {
        const id = randomUUID();
        const listener = l.listeners[0]?.id as string;
        l.pool = { id, listener };
        return {
          ...base,
          operation: 'create',
          resource: 'pool',
          object: { id, protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN', listener_id: listener },
        };
      }
      if (l.step <= 6) {
        const id = randomUUID();
        const member = {
          id,
          address: `172.16.${l.step}.${(vip % 250) + 1}`,
          port: 8000 + l.step,
          weight: 1,
          up: true,
        };
        l.members.push(member);
        return {
          ...base,
          operation: 'create',
          resource: 'member',
          object: { id, pool_id: l.pool?.id, address: member.address, protocol_port: member.port },
        };
      }
      if (l.step === 7) {
        const id = randomUUID();
        l.monitor = { id, delay: 5, timeout: 3, maxRetries: 3 };
        return {
          ...base,
          operation: 'create',
          resource: 'healthmonitor',
          object: { id, pool_id: l.pool?.id, type: 'TCP', delay: 5, timeout: 3, max_retries: 3 },
        };
      }
      if (l.step <= 10) {
        const m = l.members[Math.floor(Math.random() * l.members.length)] as Live['members'][number];
        m.weight = 1 + Math.floor(Math.random() * 5);
        m.up = Math.random() > 0.2;
        return {
          ...base,
          operation: 'update',
          resource: 'member',
          object: { id: m.id, weight: m.weight, admin_state_up: m.up },
        };
      }
      if (l.step === 11 && l.members.length > 0) {
        const m = l.members.pop() as { id: string };
        return { ...base, operation: 'delete', resource: 'member', object: { id: m.id } };
      }
      if (l.step === 12 && Math.random() < 0.5) {
        l.deleted = true;
        return { ...base, operation: 'delete', resource: 'loadbalancer', object: { id: l.lb } };
      }
      return undefined;
    };

    const started = Date.now();
    const total = Math.round(options.rate * options.durationSeconds);
    let sent = 0;
    const active = () => lbs.filter((l) => !l.deleted && l.step < 12);
    const faultAt = (fraction: number) => started + fraction * options.durationSeconds * 1000;
    const schedule = options.faults
      ? [
          {
            at: faultAt(0.15),
            name: '503 storm on every device (20 % of calls, 3 s)',
            run: () =>
              stack.devices.map((d) =>
                d.injectFault({ kind: 'busy', probability: 0.2, times: Math.round(options.rate * 3) }),
              ),
          },
          {
            at: faultAt(0.25),
            name: 'all device tokens expire',
            run: () => stack.devices.map((d) => d.expireAllTokens()),
          },
          {
            at: faultAt(0.3),
            name: 'connection resets after commit (transactions, 10 %)',
            run: () =>
              stack.devices.map((d) =>
                d.injectFault({
                  kind: 'reset-after-commit',
                  method: 'PATCH',
                  path: /transaction\/\d+/,
                  probability: 0.1,
                  times: 50,
                }),
              ),
          },
          {
            at: faultAt(0.4),
            name: 'agent-1 killed mid-run (stays dead)',
            run: () => void stack.agent('agent-1').stop(),
          },
          {
            at: faultAt(0.5),
            name: 'DynamoDB throttling (5 % of calls, 3 s)',
            run: () => {
              throttle = 0.05;
              setTimeout(() => {
                throttle = 0;
              }, 3_000);
            },
          },
          { at: faultAt(0.6), name: 'device pair fails over', run: () => stack.pair?.failover() },
        ]
      : [];
    const fired = new Set<number>();
    while (sent < total) {
      for (const [i, f] of schedule.entries()) {
        if (!fired.has(i) && Date.now() >= f.at) {
          fired.add(i);
          faults.push(f.name);
          log(`fault: ${f.name}`);
          f.run();
        }
      }
      const batch: Record<string, unknown>[] = [];
      const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * options.rate)) - sent;
      for (let i = 0; i < due; i++) {
        const pool = active();
        const l =
          pool.length < options.tenants * 2 || Math.random() < 0.1
            ? newLb()
            : (pool[Math.floor(Math.random() * pool.length)] as Live);
        const r = next(l);
        if (r) batch.push(r);
      }
      if (batch.length > 0) {
        const result = await stack.client.submitMany(batch);
        submitted.push(...result);
        sent += batch.length;
        if (options.faults) {
          // Every message delivered twice: the same request again, under another de-duplication id.
          await stack.client.submitMany(
            batch.map((b, i) => ({ ...b, requestId: result[i]?.requestId })),
            undefined,
            { redeliver: true },
          );
          duplicates += batch.length;
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (Date.now() - started) / 1000;
    log(`submitted ${sent} requests (+${duplicates} duplicates) in ${seconds.toFixed(1)} s; settling…`);

    // Settle: every queue empty (the dead agent's queue is reclaimed), nothing pending.
    const deadline = Date.now() + 180_000;
    for (;;) {
      const depths = await stack.client.queueDepths();
      const busy = Object.entries(depths).filter(
        ([q, d]) => !q.endsWith('-dlq') && d.visible + d.inFlight > 0,
      );
      const pending = await anyPending(stack, lbs);
      if (busy.length === 0 && !pending) break;
      if (Date.now() > deadline) {
        log(`not settled: ${JSON.stringify(busy)} pending=${pending}`);
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    const settledSeconds = (Date.now() - started) / 1000;

    // Accounting.
    const deadLetters = new Set((await stack.client.dlqList()).map((d) => d.requestId).filter(Boolean));
    const records = new Map(
      await Promise.all(lbs.map(async (l) => [l.lb, await stack.client.records(l.lb)] as const)),
    );
    const outcome = { active: 0, error: 0, deleted: 0, deadLettered: 0, lost: 0, stuck: 0 };
    const errorReasons: Record<string, number> = {};
    const lostRequests: string[] = [];
    const stuckObjects: string[] = [];
    const lbDeleted = new Set(
      submitted
        .filter((s) => s.resource === 'loadbalancer' && s.operation === 'delete')
        .map((s) => s.loadbalancerId),
    );
    const objectDeleted = new Set(
      submitted.filter((s) => s.operation === 'delete').map((s) => `${s.resource}#${s.objectId}`),
    );
    for (const s of submitted) {
      const record = records.get(s.loadbalancerId)?.find((r) => r.type === s.resource && r.id === s.objectId);
      if (deadLetters.has(s.requestId)) outcome.deadLettered += 1;
      else if (record?.provisioningStatus === 'ACTIVE') outcome.active += 1;
      else if (record?.provisioningStatus === 'ERROR') {
        outcome.error += 1;
        const reason = (record.statusReason ?? '(no reason)').replace(/[0-9a-f-]{36}/g, '<id>').slice(0, 90);
        errorReasons[reason] = (errorReasons[reason] ?? 0) + 1;
      } else if (
        !record &&
        (lbDeleted.has(s.loadbalancerId) || objectDeleted.has(`${s.resource}#${s.objectId}`))
      )
        outcome.deleted += 1;
      else if (record && isPending(record.provisioningStatus)) {
        outcome.stuck += 1;
        stuckObjects.push(`${s.resource} ${s.objectId} ${record.provisioningStatus}`);
      } else {
        outcome.lost += 1;
        lostRequests.push(`${s.operation} ${s.resource} ${s.objectId} (request ${s.requestId})`);
      }
    }

    // Every ERROR and dead letter accounted for, with its reason; every other load balancer's
    // objects on the active device exactly as the requests sent say.
    const errorsAccounted: string[] = [];
    for (const l of lbs) {
      const errors = (records.get(l.lb) ?? []).filter((r) => r.provisioningStatus === 'ERROR');
      const dead = submitted.filter((s) => s.loadbalancerId === l.lb && deadLetters.has(s.requestId));
      if (errors.length === 0 && dead.length === 0) continue;
      l.accountedFor = true;
      for (const e of errors)
        errorsAccounted.push(`${l.lb} ${e.type} ${e.id}: ${e.statusReason ?? '(no reason!)'}`);
      for (const d of dead) errorsAccounted.push(`${l.lb} ${d.operation} ${d.resource}: dead-lettered`);
    }
    const device = stack.pair?.active ?? stack.devices[0];
    const deviceMismatches = device
      ? compareWithDevice(stack.env, lbs, device.dump() as Record<string, Record<string, unknown>[]>)
      : ['no device'];
    const standby = stack.pair?.standby;
    const standbyMismatches = standby
      ? compareWithDevice(stack.env, lbs, standby.dump() as Record<string, Record<string, unknown>[]>)
      : undefined;
    // What the reconciler removed as orphans must never belong to a load balancer still alive: its
    // objects are named after their ids (`<env>_<id>`; an LTM policy `wrapper_policy_<listener id>`).
    const liveIds = new Set(
      lbs
        .filter((l) => !l.deleted)
        .flatMap(
          (l) =>
            [l.lb, ...l.listeners.map((x) => x.id), l.pool?.id, l.monitor?.id].filter(Boolean) as string[],
        ),
    );
    const done = reconcileReports.filter((r) => r.outcome !== 'skipped');
    const removed = done.flatMap((r) => ('orphans' in r ? r.orphans.filter((o) => o.removed) : []));
    const reconcile = {
      runs: reconcileReports.length,
      skipped: reconcileReports.length - done.length,
      repaired: done.reduce(
        (n, r) =>
          n +
          ('loadbalancers' in r
            ? r.loadbalancers.filter((l) => l.outcome === 'repaired' || l.outcome === 'restored').length
            : 0),
        0,
      ),
      orphansRemoved: removed.reduce((n, o) => n + o.objects.length, 0),
      liveObjectsRemoved: removed
        .flatMap((o) => o.objects.map((x) => x.path))
        .filter((path) => [...liveIds].some((id) => path.includes(id))),
    };
    const calls = counter.snapshot();
    const bigip = stack.devices.reduce((n, d) => n + d.calls.length, 0);
    return {
      options: {
        rate: options.rate,
        durationSeconds: options.durationSeconds,
        tenants: options.tenants,
        faults: options.faults,
        ...(options.reconcileIntervalMs
          ? {
              reconcileIntervalMs: options.reconcileIntervalMs,
              reconcileOrphans: options.reconcileOrphans ?? 'report',
            }
          : {}),
        ...(options.syncMs ? { syncMs: options.syncMs } : {}),
      },
      submitted: submitted.length,
      duplicatesSent: duplicates,
      seconds: settledSeconds,
      throughputPerSecond: Math.round((submitted.length / settledSeconds) * 10) / 10,
      latencyMs: summarize(latencies),
      perRequest: {
        dynamodb: round2(
          Object.entries(calls)
            .filter(([k]) => k.startsWith('dynamodb.'))
            .reduce((n, [, v]) => n + v, 0) / submitted.length,
        ),
        sqs: round2(
          Object.entries(calls)
            .filter(([k]) => k.startsWith('sqs.'))
            .reduce((n, [, v]) => n + v, 0) / submitted.length,
        ),
        bigip: round2(bigip / submitted.length),
      },
      outcome,
      errorReasons,
      deviceMismatches: deviceMismatches.slice(0, 50),
      ...(standbyMismatches ? { standbyMismatches: standbyMismatches.slice(0, 50) } : {}),
      errorsAccounted: errorsAccounted.slice(0, 50),
      faultsInjected: faults,
      takenByWorkers,
      invocationsPastTimeout: stack.overruns,
      lostRequests: lostRequests.slice(0, 20),
      stuckObjects: stuckObjects.slice(0, 20),
      reconcile,
    };
  } finally {
    metricEvents.off('metric', onMetric);
    await stack.stop();
  }
}

const round2 = (n: number) => Math.round(n * 100) / 100;

async function anyPending(stack: LocalStack, lbs: Live[]): Promise<boolean> {
  for (const l of lbs) {
    if ((await stack.client.records(l.lb)).some((r) => isPending(r.provisioningStatus))) return true;
  }
  return false;
}
