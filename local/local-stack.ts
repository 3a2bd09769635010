import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { type ClientTarget, LbaasClient } from '../cli/lbaas-client.js';
import { withoutSdkLogLines } from '../functions/adapters/aws-clients.js';
import type { RestCall } from '../functions/adapters/bigip-rest-client.js';
import { FileCertificates } from '../functions/adapters/certificate-stores.js';
import { StaticCredentials } from '../functions/adapters/device-credentials.js';
import type { KeystoneServiceCredentials } from '../functions/adapters/keystone-token-validator.js';
import {
  DEFAULT_GROUP,
  type DecisionKind,
  FORWARDED_DECISIONS,
} from '../functions/domain/agent-scheduler.js';
import type { PolicyMode } from '../functions/domain/octavia-policy.js';
import type { Refusal } from '../functions/domain/ports.js';
import { wrapQueueHandler } from '../functions/handlers/lambda-shape.js';
import type { PollReport } from '../functions/services/health-poller.js';
import type { ReconcileReport } from '../functions/services/reconciler.js';
import {
  type AgentConfig,
  type DeviceAccessConfig,
  type HeartbeatConfig,
  inFlightHoldMsFor,
  type SchedulerConfig,
} from '../functions/shared/config.js';
import { SETTINGS } from '../functions/shared/config-rules.js';
import { type TableNames, tableNames } from '../functions/shared/table-schema.js';
import { type MetricEvent, metricEvents } from '../functions/shared/telemetry.js';
import { wireAgentWorker } from '../functions/wiring/agent-worker-wiring.js';
import { wireApi, wireApiAuthorizer } from '../functions/wiring/api-wiring.js';
import { wireHealthPoller } from '../functions/wiring/health-poller-wiring.js';
import { wireHeartbeat } from '../functions/wiring/heartbeat-wiring.js';
import { wireReclaimer } from '../functions/wiring/reclaimer-wiring.js';
import { wireReconciler } from '../functions/wiring/reconciler-wiring.js';
import { wireScheduler } from '../functions/wiring/scheduler-wiring.js';
import {
  agentIdOf,
  type EnvironmentConfig,
  groupSummaries,
  type LbaasConfig,
  loadConfig,
} from '../lib/config/lbaas-config.js';
import { BigIpPair } from './bigip-simulator/bigip-pair.js';
import { BigIpSimulator } from './bigip-simulator/bigip-simulator.js';
import type { TimingModel } from './bigip-simulator/timing-model.js';
import { startDynamoDbLocal } from './dynamodb-local.js';
import { EventSourcePoller } from './event-source-poller.js';
import { currentFunction, type InvocationTrace, inFunction } from './function-scope.js';
import { type ApiServer, OCTAVIA_PORT, startApiServer } from './octavia-api-server.js';
import { createFifoQueue, createTables, type FifoQueuePair } from './provision.js';
import { startSqsLocal } from './sqs-local.js';
import { unmeasuredStatuses } from './unmeasured-statuses.js';

export interface LocalStackOptions {
  /** The configuration (default: lbaas.config.json). Devices are replaced by simulators. */
  config?: LbaasConfig;
  configPath?: string;
  /** Environment prefix to run (default: the first). */
  environment?: string;
  /** Divide heartbeat interval and agent down time by this (fast demos and benchmarks). */
  timeScale?: number;
  /** Use running stand-ins instead of starting DynamoDB Local and fauxqs. */
  services?: { dynamodbEndpoint: string; sqsEndpoint: string };
  /** Name prefix of tables and queues (default: the config's name). */
  namePrefix?: string;
  /** Where to write endpoints for the CLI in another terminal (false: nowhere). */
  stateFile?: string | false;
  /**
   * The certificate store's stand-in (Secrets Manager in AWS): a directory of one file per
   * certificate, beside the state file (`.local/certificates`), or a fresh temporary one.
   */
  certificateDir?: string;
  /** Scheduler retry back-off base, seconds (default 1 locally, so a demo does not wait). */
  retryBaseSeconds?: number;
  /** Queue visibility timeout, seconds (a message in flight when its consumer dies waits this long). */
  visibilityTimeoutSeconds?: number;
  /** Called with the SDK clients before anything uses them (tests add fault-injecting middleware). */
  configureClients?: (clients: { dynamodb: DynamoDBClient; sqs: SQSClient }) => void;
  /** How long the simulated devices take (default `zero`; `real` is the model of device-facts.md §6). */
  timing?: TimingModel;
  /** Concurrent invocations of each agent's worker (default 2 locally; `workerConcurrency` of the environment in AWS, 5 by default). */
  workerConcurrency?: number;
  /** The most an apply waits for a burst still being recorded (apply-cadence.ts; default 1 s, 0: never). */
  applyWaitMs?: number;
  /**
   * How often the status poller reads the active unit (default 5 s locally: the sandbox has no
   * device CPU to protect; deployed environments poll every healthIntervalSeconds, 30 s at least).
   */
  healthIntervalMs?: number;
  /**
   * How often the reconciler runs by itself (drift repaired, orphans reported; every 15 minutes in
   * AWS). Default: never (tests and benchmarks count device calls); `npm start` runs it each minute.
   * `stack.reconcile()`, the dashboard and `lbaas sync` run it on demand.
   */
  reconcileIntervalMs?: number;
  /** What the scheduled reconciler does with orphans: report (default) or remove (the long soak). */
  reconcileOrphans?: 'report' | 'remove';
  /** Told about every scheduled run's report (the soak counts what it repaired and removed). */
  onReconcile?: (report: ReconcileReport) => void;
  /** Run the simulated devices' data plane: monitors probe loopback members, loopback VIPs carry traffic (default true). */
  dataPlane?: boolean;
  /** Serve the Octavia v2 API (local/octavia-api-server.ts); off unless given. */
  api?: LocalApiOptions;
  /**
   * Statuses as Octavia's no-op drivers leave them (the conformance run): nothing is measured, so
   * no status poller runs (load balancers, listeners and pools stay OFFLINE as applied) and members
   * stay NO_MONITOR whatever their configuration (local/unmeasured-statuses.ts).
   */
  unmeasuredStatuses?: boolean;
  /** Told about every request the scheduler refused (npm start prints them). */
  onRefused?: (refusal: Refusal) => void;
  /**
   * Told about each scheduler and worker invocation once it returned: its records, its time and
   * what it waited on (device calls here; the benchmarks add AWS calls), for per-stage times.
   */
  onInvocation?: (trace: InvocationTrace) => void;
}

export interface LocalApiOptions {
  /** Default 9876 (Octavia's); 0 picks a free port. */
  port?: number;
  /** noauth (the default: everyone is an admin, for `defaultProject` unless the request names one) or Keystone. */
  auth?:
    | { mode: 'noauth'; defaultProject?: string }
    | { mode: 'keystone'; url: string; credentials: KeystoneServiceCredentials; tokenCacheMs?: number };
  /** Octavia's policy mode with Keystone (default: the environment's, else `advanced`). */
  policy?: PolicyMode;
  /** No-op networks (Octavia's no-op network driver): any network or subnet id is accepted, VIPs come from this CIDR. */
  noopNetworkCidr?: string;
  /** How long a write's answer may wait for its change (default: the environment's `api.settleSeconds`). */
  settleMs?: number;
}

/** The project a noauth caller acts for when nothing names one (the README's tour uses it). */
export const DEFAULT_LOCAL_PROJECT = '3f2a9c0d7e6b4d1a8c5e9f0a1b2c3d4e';

export interface RecentRequest {
  requestId: string;
  operation: string;
  resource: string;
  loadbalancerId: string;
  tenantId: string;
  /** Where the scheduler sent it, or `refused` (then `host` is empty and `reason` says why). */
  decision: DecisionKind | 'refused';
  host: string;
  at: number;
  reason?: string;
}

export interface LocalAgent {
  host: string;
  readonly running: boolean;
  /** Stops the agent's heartbeat and worker (as if its path to the devices went down). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** BIG-IP calls this agent made. */
  calls: RestCall[];
}

export interface LocalGroup {
  name: string;
  devices: BigIpSimulator[];
  pair: BigIpPair | undefined;
  endpoints: { name: string; url: string }[];
  /** Its agents. */
  hosts: string[];
  access: DeviceAccessConfig;
}

export interface LocalStack {
  env: string;
  environment: EnvironmentConfig;
  endpoints: { dynamodb: string; sqs: string; devices: { name: string; url: string }[] };
  /** How the environment's functions reach the first group's simulated devices (benchmarks wire their own from it). */
  deviceAccess: DeviceAccessConfig;
  /** Each device group: its simulated devices and how its functions reach them. */
  groups: LocalGroup[];
  tables: TableNames;
  requestQueue: FifoQueuePair;
  agentQueues: Record<string, FifoQueuePair>;
  agents: LocalAgent[];
  agent(host: string): LocalAgent;
  /** Every simulated device, of every group. */
  devices: BigIpSimulator[];
  /** The first group's HA pair (if it has two units). */
  pair: BigIpPair | undefined;
  client: LbaasClient;
  target: ClientTarget;
  /** The local stand-in of Secrets Manager for TERMINATED_HTTPS certificates. */
  certificates: FileCertificates;
  certificateDir: string;
  clients: { dynamodb: DynamoDBClient; sqs: SQSClient };
  agentDownTimeMs: number;
  heartbeatIntervalMs: number;
  /** Forwarded and refused requests, newest last (bounded). */
  recent: RecentRequest[];
  decisions: Record<string, number>;
  healthIntervalMs: number;
  /** The status poller's last reports, newest last (bounded). */
  healthReports: PollReport[];
  /**
   * Runs a status poll of every group now (after the one running, if any, so it reads the devices
   * as they are at the call) and returns the first group's report.
   */
  pollHealth(): Promise<PollReport | undefined>;
  /** The scheduled reconciler's last run and, while one runs, its progress. */
  reconciliation: {
    last: { at: number; report: ReconcileReport } | undefined;
    progress: { done: number; total: number } | undefined;
  };
  /** Runs the scheduled reconciler now (or joins the run going). */
  reconcile(): Promise<ReconcileReport>;
  /** The Octavia v2 API, when it was asked for. */
  api: { url: string; auth: 'noauth' | 'keystone' } | undefined;
  /**
   * Queue-fed invocations (scheduler, workers) that reached their function timeout (middy's early
   * TimeoutError, or a return after it): each one Lambda would have stopped mid-way, where here its
   * work ran on in the background. The local pollers cannot stop a handler; they count.
   */
  readonly overruns: number;
  stop(): Promise<void>;
}

const DEFAULT_STATE_FILE = process.env.LBAAS_LOCAL_STATE ?? '.local/stack.json';

/**
 * The whole system on one machine: DynamoDB Local and fauxqs, simulated BIG-IPs (an HA pair for a
 * two-unit environment), and the same scheduler, agent and heartbeat handler code, driven by
 * event-source pollers that behave like Lambda's SQS event source and by heartbeat timers.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const config = options.config ?? loadConfig(options.configPath ?? 'lbaas.config.json');
  const environment = options.environment
    ? config.environments.find((e) => e.prefix === options.environment)
    : config.environments[0];
  if (!environment) throw new Error(`no environment ${options.environment} in the configuration`);
  const env = environment.prefix;
  const scale = options.timeScale ?? 1;
  const stateFile = options.stateFile === undefined ? DEFAULT_STATE_FILE : options.stateFile;
  const certificateDir =
    options.certificateDir ??
    (stateFile
      ? join(dirname(resolve(stateFile)), 'certificates')
      : mkdtempSync(join(tmpdir(), 'lbaas-certs-')));
  const certificates = new FileCertificates(certificateDir);
  const agentDownTimeMs = (environment.agentDownTimeSeconds * 1000) / scale;
  const heartbeatIntervalMs = (environment.heartbeatIntervalSeconds * 1000) / scale;

  const started: { stop(): Promise<void> }[] = [];
  const services = options.services ?? (await startServices(started));
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const dynamodb = withoutSdkLogLines(
    new DynamoDBClient({
      endpoint: services.dynamodbEndpoint,
      region: 'us-east-1',
      credentials,
      maxAttempts: 4,
    }),
  );
  const sqs = withoutSdkLogLines(
    new SQSClient({
      endpoint: services.sqsEndpoint,
      region: 'us-east-1',
      credentials,
      useQueueUrlAsEndpoint: false,
      maxAttempts: 4,
    }),
  );
  const clients = { dynamodb, sqs };
  options.configureClients?.(clients);

  const prefix = options.namePrefix ?? config.name;
  const tables = tableNames(prefix);
  await createTables(dynamodb, tables);
  const visibility = options.visibilityTimeoutSeconds ?? 60;
  const requestQueue = await createFifoQueue(sqs, `${prefix}-${env}-requests`, {
    maxReceiveCount: environment.maxAttempts,
    visibilityTimeoutSeconds: visibility,
  });
  const agentQueues: Record<string, FifoQueuePair> = {};
  for (const a of environment.agents) {
    agentQueues[a.host] = await createFifoQueue(sqs, `${prefix}-${env}-agent-${a.host}`, {
      maxReceiveCount: environment.maxAttempts,
      visibilityTimeoutSeconds: visibility,
    });
  }

  // Devices per device group: two or more units run as an HA pair (config-sync between them), one as a standalone unit.
  const timing = {
    ...(options.timing ? { timing: options.timing } : {}),
    dataPlane: options.dataPlane ?? true,
  };
  const groups: LocalGroup[] = [];
  for (const g of environment.groups) {
    const units = g.devices.units;
    const pair = units.length >= 2 ? BigIpPair.create(timing) : undefined;
    const devices = pair
      ? [pair.a, pair.b]
      : [new BigIpSimulator({ hostname: `${units[0]?.name}.local`, ...timing })];
    if (pair && g.devices.deviceGroup) {
      pair.a.deviceGroup = g.devices.deviceGroup;
      pair.b.deviceGroup = g.devices.deviceGroup;
    }
    const urls = await Promise.all(devices.map((d) => d.listen()));
    const endpoints = devices.map((_, i) => ({
      name: units[i]?.name ?? `bigip-${i}`,
      url: urls[i] as string,
    }));
    const suffix = g.name === DEFAULT_GROUP ? '' : `-${g.name}`;
    groups.push({
      name: g.name,
      devices,
      pair,
      endpoints,
      hosts: g.agents.map((a) => a.host),
      access: {
        devices: endpoints.map((e) => ({ name: e.name, baseUrl: e.url })),
        deviceSecretId: 'local',
        caBundle: undefined,
        deviceGroup: pair ? g.devices.deviceGroup : undefined,
        trafficGroup: g.devices.trafficGroup,
        clusterName: `${env}${suffix}-devices`,
        restTimeoutMs: 10_000,
        group: g.name,
        // The agents put segmented networks on the devices, the reconciler checks them (tenant-networks.md).
        networks: environment.networks,
        ...(options.api?.noopNetworkCidr ? { noopNetworkCidr: options.api.noopNetworkCidr } : {}),
      },
    });
  }
  const groupOf = (host: string) => groups.find((g) => g.hosts.includes(host)) as LocalGroup;
  const first = groups[0] as LocalGroup;
  const access = first.access;
  const endpoints = groups.flatMap((g) => g.endpoints);
  const devices = groups.flatMap((g) => g.devices);
  const pair = first.pair;
  const groupDefinitions = environment.groups.map((g) => ({
    name: g.name,
    limits: g.capacity,
    units: g.devices.units.length,
  }));
  const deviceCredentials = new StaticCredentials({ username: 'admin', password: 'admin' });

  const recent: RecentRequest[] = [];
  const decisions: Record<string, number> = {
    ...Object.fromEntries(FORWARDED_DECISIONS.map((d) => [d, 0])),
    'no-active-agent': 0,
  };
  const onMetric = (m: MetricEvent) => {
    if (m.name === 'SchedulerDecisions' && m.dimensions.Decision)
      decisions[m.dimensions.Decision] = (decisions[m.dimensions.Decision] ?? 0) + 1;
    if (m.name === 'NoActiveAgent') decisions['no-active-agent'] = (decisions['no-active-agent'] ?? 0) + 1;
  };
  metricEvents.on('metric', onMetric);

  // The scheduler ("driver"), with several concurrent copies like Lambda's event source.
  const schedulerConfig: SchedulerConfig = {
    env,
    requestQueueUrl: requestQueue.url,
    tables,
    agentDownTimeMs,
    agentCacheMs: Math.min(2_000, heartbeatIntervalMs / 2),
    maxAttempts: environment.maxAttempts,
    retry: {
      baseSeconds: options.retryBaseSeconds ?? 1,
      maxSeconds: Math.max(1, environment.retryMaxSeconds / scale),
    },
    selection: environment.selection,
    idempotencyTtlSeconds: 86_400,
    groups: groupDefinitions,
    networks: environment.networks,
  };
  const remember = (entry: RecentRequest) => {
    recent.push(entry);
    if (recent.length > 500) recent.splice(0, recent.length - 500);
  };
  const scheduler = wireScheduler(schedulerConfig, clients, {
    ...(options.api?.noopNetworkCidr
      ? { networks: { networks: environment.networks, noopCidr: options.api.noopNetworkCidr } }
      : {}),
    onScheduled: (request, outcome) =>
      remember({
        requestId: request.requestId,
        operation: request.operation,
        resource: request.resource,
        loadbalancerId: request.loadbalancerId,
        tenantId: request.tenantId,
        decision: outcome.decision.kind,
        host: outcome.decision.host,
        at: Date.now(),
      }),
    onRefused: (refusal) => {
      remember({
        requestId: refusal.requestId,
        operation: refusal.operation ?? '?',
        resource: refusal.resource ?? '?',
        loadbalancerId: refusal.loadbalancerId ?? '',
        tenantId: refusal.tenantId,
        decision: 'refused',
        host: '',
        at: refusal.refusedAt,
        reason: refusal.reason,
      });
      options.onRefused?.(refusal);
    },
  });
  let overruns = 0;
  const onOverrun = () => {
    overruns += 1;
  };
  const schedulerHandler = wrapQueueHandler(scheduler.handler, scheduler.telemetry);
  const schedulerPoller = new EventSourcePoller({
    sqs,
    queueUrl: requestQueue.url,
    queueArn: requestQueue.arn,
    handler: schedulerHandler,
    functionName: `${env}-scheduler`,
    scope: { fn: 'scheduler' },
    ...(options.onInvocation ? { onInvocation: options.onInvocation } : {}),
    onOverrun,
    concurrency: Math.min(4, environment.schedulerConcurrency),
    timeoutMs: Math.min(30_000, visibility * 800),
  }).start();

  const agents: LocalAgent[] = environment.agents.map((definition) => {
    const host = definition.host;
    const queue = agentQueues[host] as FifoQueuePair;
    const calls: RestCall[] = [];
    const agentConfig: AgentConfig = {
      ...groupOf(host).access,
      env,
      host,
      agentQueueUrl: queue.url,
      tables,
      maxAttempts: environment.maxAttempts,
      retry: {
        baseSeconds: options.retryBaseSeconds ?? 1,
        maxSeconds: Math.max(1, environment.retryMaxSeconds / scale),
      },
      leaseMs: 60_000,
      inFlightHoldMs: inFlightHoldMsFor(agentDownTimeMs),
    };
    const heartbeatConfig: HeartbeatConfig = {
      ...groupOf(host).access,
      env,
      host,
      agentId: agentIdOf(environment, definition),
      agentQueueUrl: queue.url,
      tables,
      agentDownTimeMs,
      heartbeatIntervalMs,
      beatsPerInvocation: 1,
      rebindAfterMs: environment.rebindAfterSeconds
        ? (environment.rebindAfterSeconds * 1000) / scale
        : undefined,
    };
    // Each agent has its own clients: its own path (and tokens) to the devices.
    const workerGraph = wireAgentWorker(agentConfig, clients, {
      credentials: deviceCredentials,
      certificates,
      onCall: (c) => {
        calls.push(c);
        // What the invocation waited on the device for (its stage times in the benchmarks).
        const now = Date.now();
        const partition = /~([^~]+)~/.exec(c.path)?.[1];
        currentFunction()?.trace?.spans.push({
          kind: 'device',
          start: now - c.ms,
          end: now,
          detail: c.path,
          ...(partition ? { subjects: [partition] } : {}),
        });
      },
      ...(options.unmeasuredStatuses ? { resources: unmeasuredStatuses } : {}),
      ...(options.applyWaitMs !== undefined ? { applyWaitMs: options.applyWaitMs } : {}),
    });
    const worker = wrapQueueHandler(workerGraph.handler, workerGraph.telemetry);
    const workerCluster = workerGraph.cluster;
    const beatGraph = wireHeartbeat(heartbeatConfig, clients, { credentials: deviceCredentials });
    const beat = beatGraph.handler;
    const beatCluster = beatGraph.cluster;

    let poller: EventSourcePoller | undefined;
    let timer: NodeJS.Timeout | undefined;
    const beatOnce = () =>
      inFunction({ fn: 'heartbeat', host, part: 'invocation' }, () => beat()).catch(() => undefined);
    const agent: LocalAgent = {
      host,
      calls,
      get running() {
        return poller !== undefined;
      },
      async start() {
        if (poller) return;
        poller = new EventSourcePoller({
          sqs,
          queueUrl: queue.url,
          queueArn: queue.arn,
          handler: worker,
          functionName: `${env}-agent-${host}`,
          scope: { fn: 'worker', host },
          ...(options.onInvocation ? { onInvocation: options.onInvocation } : {}),
          onOverrun,
          concurrency: options.workerConcurrency ?? 2,
          timeoutMs: Math.min(60_000, visibility * 800),
        }).start();
        await beatOnce();
        timer = setInterval(beatOnce, heartbeatIntervalMs);
      },
      async stop() {
        if (timer) clearInterval(timer);
        timer = undefined;
        const p = poller;
        poller = undefined;
        await p?.stop();
      },
    };
    return Object.assign(agent, {
      close: async () => {
        await Promise.all([workerCluster.close(), beatCluster.close()]);
      },
    });
  });
  await Promise.all(agents.map((a) => a.start()));

  // The environment's reclaimer: moves requests stranded on dead agents' queues (a schedule in AWS).
  const sweep = wireReclaimer(
    {
      env,
      tables,
      agentDownTimeMs,
      sweepsPerInvocation: 1,
      intervalMs: heartbeatIntervalMs,
      agentQueues: Object.fromEntries(Object.entries(agentQueues).map(([host, q]) => [host, q.url])),
    },
    clients,
  ).handler;
  const reclaimTimer = setInterval(
    () => inFunction({ fn: 'reclaimer', part: 'invocation' }, () => sweep()).catch(() => undefined),
    heartbeatIntervalMs,
  );

  // Each device group's status poller: operating statuses, statistics and usage from its active unit (a schedule in AWS).
  const healthIntervalMs = options.healthIntervalMs ?? 5_000;
  const pollers = groups.map((g) =>
    wireHealthPoller(
      {
        ...g.access,
        env,
        tables,
        agentDownTimeMs,
        groups: groupDefinitions,
        intervalMs: healthIntervalMs,
        pollsPerInvocation: 1,
      },
      clients,
      { credentials: deviceCredentials },
    ),
  );
  const healthReports: PollReport[] = [];
  let polling: Promise<unknown> | undefined;
  const pollHealth = () => {
    polling ??= Promise.all(
      pollers.map((health) =>
        inFunction({ fn: 'health-poller', part: 'invocation' }, () => health.handler())
          .then(({ polls }) => {
            healthReports.push(...polls);
            if (healthReports.length > 20) healthReports.splice(0, healthReports.length - 20);
          })
          .catch(() => undefined),
      ),
    ).finally(() => {
      polling = undefined;
    });
    return polling;
  };
  const healthTimer = options.unmeasuredStatuses ? undefined : setInterval(pollHealth, healthIntervalMs);

  // Each device group's reconciler: drift repaired, orphans reported (a 15-minute schedule in AWS).
  const reconcilers = groups.map((g) =>
    wireReconciler(
      { ...g.access, env, tables, drift: 'repair', orphans: 'report', leaseMs: 60_000 },
      clients,
      { credentials: deviceCredentials, certificates },
    ),
  );
  const reconciliation: LocalStack['reconciliation'] = { last: undefined, progress: undefined };
  let reconciling: Promise<ReconcileReport> | undefined;
  // Groups one after another (the last group's report is the one returned; each is logged by its run).
  const runReconcile = () => {
    reconciling ??= inFunction({ fn: 'reconciler', part: 'invocation' }, async () => {
      let report: ReconcileReport = { outcome: 'skipped', reason: 'no device group' };
      for (const reconcile of reconcilers) {
        report = await reconcile.reconciler.run({
          dryRun: false,
          orphans: options.reconcileOrphans ?? 'report',
          onProgress: (done, total) => {
            reconciliation.progress = { done, total };
          },
        });
        reconciliation.last = { at: Date.now(), report };
        options.onReconcile?.(report);
      }
      return report;
    }).finally(() => {
      reconciliation.progress = undefined;
      reconciling = undefined;
    });
    return reconciling;
  };
  const reconcileTimer = options.reconcileIntervalMs
    ? setInterval(() => void runReconcile().catch(() => undefined), options.reconcileIntervalMs)
    : undefined;

  const target: ClientTarget = {
    env,
    requestQueueUrl: requestQueue.url,
    requestDlqUrl: requestQueue.dlqUrl,
    agentQueues: Object.fromEntries(
      Object.entries(agentQueues).map(([h, q]) => [h, { url: q.url, dlqUrl: q.dlqUrl }]),
    ),
    tables,
    agentDownTimeSeconds: agentDownTimeMs / 1000,
    // `lbaas sync` runs the reconciler in its own process against these (their admin account).
    localGroups: groups.map((g) => ({
      name: g.name,
      devices: g.access.devices.map((d) => ({ name: d.name, baseUrl: d.baseUrl })),
      ...(g.access.deviceGroup ? { deviceGroup: g.access.deviceGroup } : {}),
      clusterName: g.access.clusterName,
      ...(g.access.trafficGroup ? { trafficGroup: g.access.trafficGroup } : {}),
      ...(g.access.networks?.length ? { networks: g.access.networks } : {}),
    })),
    groups: groupSummaries(environment),
  };
  const client = new LbaasClient(target, clients);

  // The Octavia v2 API: the same handler the `api` function runs behind API Gateway.
  let apiServer: ApiServer | undefined;
  if (options.api) {
    const a = options.api;
    const auth = a.auth ?? { mode: 'noauth' as const };
    const apiGraph = wireApi(
      {
        env,
        requestQueueUrl: requestQueue.url,
        tables,
        policy: a.policy && a.policy !== 'noauth' ? a.policy : (environment.api?.policy ?? 'advanced'),
        networks: environment.networks,
        agentDownTimeMs,
        agentCacheMs: Math.min(2_000, heartbeatIntervalMs / 2),
        selection: environment.selection,
        groups: groupDefinitions,
        ...(environment.api?.quotas ? { quotas: environment.api.quotas } : {}),
        settleMs: a.settleMs ?? (environment.api?.settleSeconds ?? SETTINGS.settleSeconds.default) * 1000,
      },
      clients,
      {
        ...(auth.mode === 'noauth'
          ? { policy: 'noauth' as const, defaultProject: auth.defaultProject ?? DEFAULT_LOCAL_PROJECT }
          : {}),
        networks: {
          networks: environment.networks,
          ...(a.noopNetworkCidr ? { noopCidr: a.noopNetworkCidr } : {}),
        },
      },
    );
    apiServer = await startApiServer({
      handler: apiGraph.handler,
      auth:
        auth.mode === 'noauth'
          ? { mode: 'noauth', defaultProject: auth.defaultProject ?? DEFAULT_LOCAL_PROJECT }
          : {
              mode: 'keystone',
              validator: wireApiAuthorizer(
                {
                  env,
                  keystoneUrl: auth.url,
                  keystoneSecretId: 'local',
                  tokenCacheMs: auth.tokenCacheMs ?? 300_000,
                },
                // A local Keystone shares the machine's CPUs with everything else: give it time.
                { credentials: auth.credentials, timeoutMs: 30_000 },
              ).validator,
            },
      port: a.port ?? OCTAVIA_PORT,
    });
  }
  if (stateFile) {
    mkdirSync(dirname(resolve(stateFile)), { recursive: true });
    writeFileSync(
      stateFile,
      `${JSON.stringify({ pid: process.pid, endpoints: { dynamodb: services.dynamodbEndpoint, sqs: services.sqsEndpoint }, target, certificateDir }, null, 2)}\n`,
    );
  }

  return {
    env,
    environment,
    endpoints: { dynamodb: services.dynamodbEndpoint, sqs: services.sqsEndpoint, devices: endpoints },
    deviceAccess: access,
    tables,
    requestQueue,
    agentQueues,
    agents,
    agent: (host) => {
      const a = agents.find((x) => x.host === host);
      if (!a) throw new Error(`no agent ${host}`);
      return a;
    },
    get overruns() {
      return overruns;
    },
    devices,
    pair,
    groups,
    client,
    target,
    certificates,
    certificateDir,
    clients,
    agentDownTimeMs,
    heartbeatIntervalMs,
    recent,
    decisions,
    healthIntervalMs,
    healthReports,
    pollHealth: async () => {
      await polling;
      const before = healthReports.length;
      await pollHealth();
      return healthReports.slice(before)[0] ?? healthReports.at(-1);
    },
    reconciliation,
    reconcile: runReconcile,
    api: apiServer ? { url: apiServer.url, auth: options.api?.auth?.mode ?? 'noauth' } : undefined,
    async stop() {
      await apiServer?.close();
      metricEvents.off('metric', onMetric);
      clearInterval(reclaimTimer);
      if (healthTimer) clearInterval(healthTimer);
      if (reconcileTimer) clearInterval(reconcileTimer);
      await polling;
      await reconciling?.catch(() => undefined);
      await Promise.all(reconcilers.map((r) => r.cluster.close()));
      await Promise.all(pollers.map((h) => h.cluster.close()));
      await schedulerPoller.stop();
      await Promise.all(agents.map((a) => a.stop()));
      // Agents give their tokens back before the devices go away.
      await Promise.all(agents.map((a) => (a as LocalAgent & { close(): Promise<void> }).close()));
      await Promise.all(devices.map((d) => d.close()));
      dynamodb.destroy();
      sqs.destroy();
      if (stateFile) rmSync(stateFile, { force: true });
      for (const s of started.reverse()) await s.stop();
    },
  };
}

async function startServices(started: { stop(): Promise<void> }[]) {
  const [dynamo, queue] = await Promise.all([startDynamoDbLocal(), startSqsLocal()]);
  started.push(dynamo, queue);
  return { dynamodbEndpoint: dynamo.endpoint, sqsEndpoint: queue.endpoint };
}
