import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { StaticCredentials } from '../functions/adapters/device-credentials.js';
import { DEFAULT_GROUP, groupOf } from '../functions/domain/agent-scheduler.js';
import { capacityScore, type GroupUsage, ratios, usageOf } from '../functions/domain/capacity.js';
import { orderedPolicies } from '../functions/domain/l7-policies.js';
import {
  deduplicationId,
  isMemberBatch,
  type L7PolicySpec,
  type L7RuleSpec,
  parseRequest,
} from '../functions/domain/lbaas-request.js';
import { type Statistics, sumStatistics, toStatistics } from '../functions/domain/listener-statistics.js';
import type { NetworkDefinition } from '../functions/domain/networks.js';
import type {
  CertificateStore,
  GroupStore,
  HealthStore,
  Refusal,
  RefusalLog,
  ResourceStore,
} from '../functions/domain/ports.js';
import { isPending, type ResourceRecord } from '../functions/domain/resource-state.js';
import type { AgentOperations } from '../functions/services/agent-operations.js';
import type { ReconcileOptions, ReconcileReport } from '../functions/services/reconciler.js';
import type { TakeoverReport } from '../functions/services/takeover-survey.js';
import type { TableNames } from '../functions/shared/table-schema.js';
import { wireOperator } from '../functions/wiring/operator-wiring.js';
import { wireReconciler } from '../functions/wiring/reconciler-wiring.js';
import type { GroupSummary } from '../lib/config/lbaas-config.js';

/** Where one environment's queues and the shared tables are (from stack outputs or the local stack). */
export interface ClientTarget {
  env: string;
  requestQueueUrl: string;
  requestDlqUrl: string;
  /** Agent host → its queue and dead-letter queue. */
  agentQueues: Record<string, { url: string; dlqUrl: string }>;
  tables: TableNames;
  agentDownTimeSeconds: number;
  /** Where `sync` runs the reconciler: each device group's function (AWS), by group… */
  reconcilerFunctions?: Record<string, string>;
  region?: string;
  /** …or in this process, against the local stack's simulated devices (their admin account). */
  localGroups?: {
    name: string;
    devices: { name: string; baseUrl: string }[];
    deviceGroup?: string;
    clusterName: string;
    trafficGroup?: string;
    /** The environment's networks: the reconciler checks them and finds those nothing uses. */
    networks?: NetworkDefinition[];
  }[];
  /** The environment's device groups as configured (limits, agents, devices). */
  groups?: GroupSummary[];
}

export type { GroupSummary };

/** A device group as `lbaas groups` shows it: configuration, usage and liveness. */
export interface GroupStatus extends GroupSummary {
  enabled: boolean;
  agentsAlive: number;
  usage: GroupUsage;
  /** Each limited metric: used, limit, ratio. */
  ratios: ReturnType<typeof ratios>;
  score: number;
  /** When the status poller last counted and measured it. */
  measuredAt?: number;
}

/** What a sync answers: the reconciler's report, or the function's refusal of the invocation. */
export type SyncReport = ReconcileReport | { outcome: 'refused'; reason: string };

/** What a takeover dry run answers: the survey's report, or the function's refusal of the invocation. */
export type TakeoverAnswer = TakeoverReport | { outcome: 'refused'; reason: string };

/** What `lbaas sync` asks for. */
export interface SyncRequest {
  dryRun: boolean;
  removeOrphans: boolean;
  /** The device group to reconcile (default: the environment's only one). */
  group?: string;
  loadbalancerId?: string;
  tenantId?: string;
}

export interface StatusNode {
  type: ResourceRecord['type'];
  id: string;
  name: string;
  provisioningStatus: ResourceRecord['provisioningStatus'];
  operatingStatus: ResourceRecord['operatingStatus'];
  statusReason?: string;
  /** A member's backend, `address:port` (`[v6]:port`): which one is down, without another command. */
  address?: string;
  children: StatusNode[];
}

/** What `submit` returns: enough to wait for the request to take effect. */
export interface SubmittedRequest {
  requestId: string;
  tenantId: string;
  loadbalancerId: string;
  resource: ResourceRecord['type'];
  objectId: string;
  operation: 'create' | 'update' | 'delete';
}

export interface DeadLetter {
  queue: string;
  messageId: string;
  requestId?: string;
  loadbalancerId?: string;
  summary: string;
  receiveCount: number;
  sentAt?: string;
}

/** Octavia's statistics shape, and the listeners it sums (with when and where they were read). */
export interface LoadBalancerStats {
  stats: Statistics;
  listeners: { listenerId: string; observedAt: number; unit: string; stats: Statistics }[];
}

/**
 * The programmatic face of the system, used by the `lbaas` CLI, the local stack and the tests:
 * submit requests, read status trees, wait, operate agents, inspect and redrive dead letters.
 */
export class LbaasClient {
  readonly operations: AgentOperations;
  /** Where TERMINATED_HTTPS certificates are kept (set by the CLI for its target). */
  certificates: CertificateStore | undefined;
  private readonly resources: ResourceStore;
  private readonly health: HealthStore;
  private readonly groupStore: GroupStore;
  private readonly refusals: RefusalLog;

  /** The resources table as the CLI's listings and look-ups use it. */
  get resourceStore(): ResourceStore {
    return this.resources;
  }

  constructor(
    readonly target: ClientTarget,
    private readonly clients: { dynamodb: DynamoDBClient; sqs: SQSClient },
    clock: () => number = Date.now,
  ) {
    const wired = wireOperator(
      { tables: target.tables, agentDownTimeMs: target.agentDownTimeSeconds * 1000 },
      clients,
      { clock },
    );
    this.resources = wired.resources;
    this.health = wired.health;
    this.groupStore = wired.groups;
    this.refusals = wired.refusals;
    this.operations = wired.operations;
    this.clock = clock;
  }

  private readonly clock: () => number;

  /** The last refusal of a request naming this object (kept as long as the request's record). */
  async lastRefusal(objectId: string): Promise<Refusal | undefined> {
    return this.refusals.lastForObject(this.target.env, objectId.toLowerCase(), this.clock());
  }

  /**
   * A load balancer's statistics as the status poller last read them from the active unit
   * (Octavia's `GET /loadbalancers/{id}/stats`: the sum of its listeners), with each listener's.
   */
  async stats(loadbalancerId: string): Promise<LoadBalancerStats | undefined> {
    const records = await this.records(loadbalancerId);
    if (!records.some((r) => r.type === 'loadbalancer')) return undefined;
    const live = new Set(records.filter((r) => r.type === 'listener').map((r) => r.id));
    const kept = (await this.health.loadStatistics(loadbalancerId)).filter((s) => live.has(s.listenerId));
    const listeners = kept.map((s) => ({
      listenerId: s.listenerId,
      observedAt: s.observedAt,
      unit: s.unit,
      stats: toStatistics(s),
    }));
    return { stats: sumStatistics(listeners.map((l) => l.stats)), listeners };
  }

  /**
   * Runs the reconciler on demand (`lbaas sync`): in the environment's reconciler function, or, for
   * the local stack, in this process against its devices. Progress comes per load balancer when
   * run here; the function answers with the whole report.
   */
  async sync(request: SyncRequest, onProgress?: ReconcileOptions['onProgress']): Promise<SyncReport> {
    const invocation = {
      dryRun: request.dryRun,
      orphans: request.removeOrphans ? ('remove' as const) : ('report' as const),
      ...(request.loadbalancerId ? { loadbalancerId: request.loadbalancerId } : {}),
      ...(request.tenantId ? { tenantId: request.tenantId } : {}),
    };
    const group = request.group ?? this.onlyGroup();
    const local = this.target.localGroups;
    if (local) {
      const devices = local.find((g) => g.name === group);
      if (!devices) throw new Error(`no device group ${group} in environment ${this.target.env}`);
      const { reconciler, cluster } = wireReconciler(
        this.localReconcilerConfig(devices, group),
        this.clients,
        { credentials: new StaticCredentials({ username: 'admin', password: 'admin' }) },
      );
      try {
        return await reconciler.run({
          dryRun: invocation.dryRun,
          orphans: invocation.orphans,
          scope: {
            ...(invocation.loadbalancerId ? { loadbalancerId: invocation.loadbalancerId } : {}),
            ...(invocation.tenantId ? { tenantId: invocation.tenantId } : {}),
          },
          ...(onProgress ? { onProgress } : {}),
        });
      } finally {
        await cluster.close();
      }
    }
    return (await this.invokeReconciler(group, invocation)) as SyncReport;
  }

  /** The reconciler's configuration for a local group (the local stack's devices, their admin account). */
  private localReconcilerConfig(devices: NonNullable<ClientTarget['localGroups']>[number], group: string) {
    return {
      env: this.target.env,
      tables: this.target.tables,
      drift: 'repair' as const,
      orphans: 'report' as const,
      leaseMs: 60_000,
      devices: devices.devices,
      deviceSecretId: 'local',
      caBundle: undefined,
      deviceGroup: devices.deviceGroup,
      trafficGroup: devices.trafficGroup,
      clusterName: devices.clusterName,
      restTimeoutMs: 30_000,
      group,
      ...(devices.networks ? { networks: devices.networks } : {}),
    };
  }

  /** Invokes a device group's reconciler function with an operator's invocation, and reads its answer. */
  private async invokeReconciler(group: string, invocation: Record<string, unknown>): Promise<unknown> {
    const functionName = this.target.reconcilerFunctions?.[group];
    if (!functionName)
      throw new Error(
        this.target.reconcilerFunctions
          ? `no reconciler function for device group ${group} (groups: ${Object.keys(this.target.reconcilerFunctions).join(', ')})`
          : 'this environment has no reconciler function (deployed with an older version?)',
      );
    const lambda = new LambdaClient(this.target.region ? { region: this.target.region } : {});
    try {
      const out = await lambda.send(
        new InvokeCommand({
          FunctionName: functionName,
          Payload: new TextEncoder().encode(JSON.stringify(invocation)),
        }),
      );
      const text = new TextDecoder().decode(out.Payload ?? new Uint8Array());
      if (out.FunctionError) throw new Error(`the reconciler failed: ${text.slice(0, 500)}`);
      return JSON.parse(text);
    } finally {
      lambda.destroy();
    }
  }

  /**
   * The takeover's dry run (`lbaas takeover --dry-run`, docs/takeover.md): in the group's reconciler
   * function, or, for the local stack, in this process against its devices. Reads only.
   */
  async takeoverDryRun(request: { agentPrefix: string; group?: string }): Promise<TakeoverAnswer> {
    const group = request.group ?? this.onlyGroup();
    const local = this.target.localGroups;
    if (local) {
      const devices = local.find((g) => g.name === group);
      if (!devices) throw new Error(`no device group ${group} in environment ${this.target.env}`);
      const { takeover, cluster } = wireReconciler(this.localReconcilerConfig(devices, group), this.clients, {
        credentials: new StaticCredentials({ username: 'admin', password: 'admin' }),
      });
      try {
        return await takeover.dryRun(request.agentPrefix);
      } finally {
        await cluster.close();
      }
    }
    return (await this.invokeReconciler(group, {
      takeover: { dryRun: true, agentPrefix: request.agentPrefix },
    })) as TakeoverAnswer;
  }

  /** The environment's device group names (configured, or the reconcilers it has). */
  groupNames(): string[] {
    return (
      this.target.groups?.map((g) => g.name) ??
      this.target.localGroups?.map((g) => g.name) ??
      Object.keys(this.target.reconcilerFunctions ?? { [DEFAULT_GROUP]: '' })
    );
  }

  private onlyGroup(): string {
    const names = this.groupNames();
    if (names.length > 1)
      throw new Error(`environment ${this.target.env} has device groups ${names.join(', ')}: name one`);
    return names[0] ?? DEFAULT_GROUP;
  }

  /** Each device group: agents alive, devices, usage against each limit, score, enabled (`lbaas groups`). */
  async groups(): Promise<GroupStatus[]> {
    const env = this.target.env;
    const [rows, agents] = await Promise.all([this.groupStore.listGroups(env), this.operations.agents(env)]);
    const summaries =
      this.target.groups ?? this.groupNames().map((name) => ({ name, limits: {}, hosts: [], devices: [] }));
    return summaries.map((g) => {
      const row = rows.find((r) => r.name === g.name);
      const usage = usageOf(row);
      const members = agents.filter((a) => groupOf(a) === g.name);
      return {
        ...g,
        hosts: g.hosts.length > 0 ? g.hosts : members.map((a) => a.host),
        enabled: row?.adminStateUp ?? true,
        agentsAlive: members.filter((a) => a.active).length,
        usage,
        ratios: ratios(usage, g.limits),
        score: capacityScore(usage, g.limits),
        ...(row?.measuredAt !== undefined ? { measuredAt: row.measuredAt } : {}),
      };
    });
  }

  /** Opens or closes a device group to new tenants (`lbaas group-enable|group-disable`). */
  async setGroupEnabled(group: string, enabled: boolean): Promise<void> {
    const names = this.groupNames();
    if (!names.includes(group))
      throw new Error(
        `no device group ${group} in environment ${this.target.env} (groups: ${names.join(', ')})`,
      );
    await this.groupStore.setAdminState(this.target.env, group, enabled);
  }

  /** Fills in version and requestId if missing, then validates like the scheduler would. */
  prepare(message: Record<string, unknown>): SubmittedRequest & { body: string } {
    const full = { version: 1, requestId: randomUUID(), ...message };
    const parsed = parseRequest(JSON.stringify(full));
    if (!parsed.ok) throw new Error(parsed.reason);
    const r = parsed.request;
    // A member batch is done when its pool is: the pool carries the batch's request id.
    const target = isMemberBatch(r)
      ? { resource: 'pool' as const, objectId: r.object.pool_id, operation: 'update' as const }
      : { resource: r.resource, objectId: r.object.id, operation: r.operation };
    return {
      requestId: r.requestId,
      tenantId: r.tenantId,
      loadbalancerId: r.loadbalancerId,
      ...target,
      body: JSON.stringify(full),
    };
  }

  async submit(message: Record<string, unknown>): Promise<SubmittedRequest> {
    const { body, ...submitted } = this.prepare(message);
    const { loadbalancerId } = submitted;
    await this.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.target.requestQueueUrl,
        MessageBody: body,
        MessageGroupId: loadbalancerId,
        MessageDeduplicationId: deduplicationId(submitted),
      }),
    );
    return submitted;
  }

  /** Sends many requests, ten per SQS call, in order; every message is validated before any is sent. */
  async submitMany(
    messages: Record<string, unknown>[],
    onProgress?: (sent: number, total: number) => void,
    options: { redeliver?: boolean } = {},
  ): Promise<SubmittedRequest[]> {
    const prepared = messages.map((m, i) => {
      try {
        return this.prepare(m);
      } catch (error) {
        throw new Error(`request ${i + 1}: ${(error as Error).message}`);
      }
    });
    for (let i = 0; i < prepared.length; i += 10) {
      const batch = prepared.slice(i, i + 10);
      const out = await this.clients.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.target.requestQueueUrl,
          Entries: batch.map((p, j) => ({
            Id: String(j),
            MessageBody: p.body,
            MessageGroupId: p.loadbalancerId,
            // A redelivery (soak tests) is the same request under another de-duplication id.
            MessageDeduplicationId: options.redeliver
              ? `${p.requestId}-again-${randomUUID().slice(0, 8)}`
              : deduplicationId(p),
          })),
        }),
      );
      if (out.Failed?.length)
        throw new Error(`SQS refused ${out.Failed.length} message(s): ${out.Failed[0]?.Message}`);
      onProgress?.(Math.min(i + 10, prepared.length), prepared.length);
    }
    return prepared.map(({ body: _body, ...submitted }) => submitted);
  }

  async records(loadbalancerId: string): Promise<ResourceRecord[]> {
    return this.resources.loadRecords(loadbalancerId);
  }

  /** The status tree of a load balancer: listeners, pools with their members and monitor. */
  async status(loadbalancerId: string): Promise<StatusNode | undefined> {
    return statusTree(await this.records(loadbalancerId));
  }

  /**
   * Polls until nothing in the tree is PENDING_*; resolves with the tree, or undefined once the
   * load balancer is gone. Awaited requests are done when they took effect or were refused (the
   * scheduler's refusal, read by request id, ends the wait at once). Without awaited requests, a
   * load balancer not recorded yet (its create still queued) is waited for during `graceMs`.
   */
  async wait(
    loadbalancerId: string,
    options: {
      timeoutMs?: number;
      intervalMs?: number;
      graceMs?: number;
      /** Also wait until these requests took effect (a request still queued leaves no trace yet). */
      requests?: readonly SubmittedRequest[];
      onProgress?: (records: ResourceRecord[]) => void;
    } = {},
  ): Promise<{ tree: StatusNode | undefined; records: ResourceRecord[]; refused: Refusal[] }> {
    const started = Date.now();
    const deadline = started + (options.timeoutMs ?? 300_000);
    const awaited = [...(options.requests ?? [])];
    const recordedOnce = new Set<string>();
    const refused = new Map<string, Refusal>();
    let seen = false;
    for (;;) {
      const records = await this.records(loadbalancerId);
      options.onProgress?.(records);
      seen ||= records.length > 0;
      // A request is done when its object carries it (or a later one) and is settled; a delete when the object is gone.
      const done = (q: SubmittedRequest) => {
        if (refused.has(q.requestId)) return true;
        const record = records.find((r) => r.type === q.resource && r.id === q.objectId);
        if (q.operation === 'delete') return !record;
        if (!record) return false;
        if (record.requestId === q.requestId) recordedOnce.add(q.requestId);
        return recordedOnce.has(q.requestId) && !isPending(record.provisioningStatus);
      };
      // Those that left no trace on their object may have been refused: one read for each hundred.
      const untraced = awaited.filter((q) => !done(q) && !recordedOnce.has(q.requestId));
      if (untraced.length > 0)
        for (const r of await this.refusals.forRequests(this.target.env, untraced, this.clock()))
          refused.set(r.requestId, r);
      const allDone = awaited.every(done);
      const settled =
        records.length > 0
          ? allDone && !records.some((r) => isPending(r.provisioningStatus))
          : seen || (awaited.length > 0 ? allDone : Date.now() - started > (options.graceMs ?? 10_000));
      if (settled) return { tree: statusTree(records), records, refused: [...refused.values()] };
      if (Date.now() > deadline)
        throw new Error(`load balancer ${loadbalancerId} still pending after the timeout`);
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 500));
    }
  }

  async queueDepths(): Promise<Record<string, { visible: number; inFlight: number }>> {
    const queues: [string, string][] = [
      ['requests', this.target.requestQueueUrl],
      ['requests-dlq', this.target.requestDlqUrl],
      ...Object.entries(this.target.agentQueues).flatMap(([host, q]): [string, string][] => [
        [host, q.url],
        [`${host}-dlq`, q.dlqUrl],
      ]),
    ];
    const out: Record<string, { visible: number; inFlight: number }> = {};
    await Promise.all(
      queues.map(async ([name, url]) => {
        const a = await this.clients.sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: url,
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
          }),
        );
        out[name] = {
          visible: Number(a.Attributes?.ApproximateNumberOfMessages ?? 0),
          inFlight: Number(a.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
        };
      }),
    );
    return out;
  }

  private deadLetterQueues(): { name: string; dlq: string; source: string }[] {
    return [
      { name: 'requests', dlq: this.target.requestDlqUrl, source: this.target.requestQueueUrl },
      ...Object.entries(this.target.agentQueues).map(([host, q]) => ({
        name: host,
        dlq: q.dlqUrl,
        source: q.url,
      })),
    ];
  }

  /** Lists dead letters without consuming them (each is received and made visible again at once). */
  async dlqList(): Promise<DeadLetter[]> {
    const out: DeadLetter[] = [];
    for (const q of this.deadLetterQueues()) {
      for (const m of await this.peek(q.dlq)) out.push(describeDeadLetter(q.name, m));
    }
    return out;
  }

  /**
   * Sends every dead letter back to the queue it came from (requests to the scheduler, forwarded
   * requests to their agent) with a fresh de-duplication id, then deletes it from the DLQ.
   */
  async dlqRedrive(): Promise<{ redriven: number }> {
    let redriven = 0;
    for (const q of this.deadLetterQueues()) {
      for (;;) {
        const received = await this.clients.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: q.dlq,
            MaxNumberOfMessages: 10,
            VisibilityTimeout: 60,
            MessageSystemAttributeNames: ['All'],
          }),
        );
        const messages = received.Messages ?? [];
        if (messages.length === 0) break;
        for (const m of messages) {
          await this.clients.sqs.send(
            new SendMessageCommand({
              QueueUrl: q.source,
              MessageBody: m.Body ?? '',
              MessageGroupId: m.Attributes?.MessageGroupId ?? 'redrive',
              MessageDeduplicationId: `redrive-${randomUUID()}`,
            }),
          );
        }
        await this.clients.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: q.dlq,
            Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
          }),
        );
        redriven += messages.length;
      }
    }
    return { redriven };
  }

  private async peek(queueUrl: string): Promise<Message[]> {
    const seen = new Map<string, Message>();
    for (let round = 0; round < 20; round++) {
      const received = await this.clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 2,
          MessageSystemAttributeNames: ['All'],
        }),
      );
      const fresh = (received.Messages ?? []).filter((m) => !seen.has(m.MessageId as string));
      if (fresh.length === 0) break;
      for (const m of fresh) seen.set(m.MessageId as string, m);
    }
    return [...seen.values()];
  }
}

function describeDeadLetter(queue: string, m: Message): DeadLetter {
  let summary = (m.Body ?? '').slice(0, 80);
  let requestId: string | undefined;
  let loadbalancerId: string | undefined;
  try {
    const body = JSON.parse(m.Body ?? '');
    const request = body.request ?? body;
    requestId = request.requestId;
    loadbalancerId = request.loadbalancerId;
    summary = `${request.operation} ${request.resource} ${request.object?.id ?? ''}`.trim();
  } catch {
    // not JSON: keep the raw prefix
  }
  const sent = Number(m.Attributes?.SentTimestamp);
  return {
    queue,
    messageId: m.MessageId as string,
    ...(requestId ? { requestId } : {}),
    ...(loadbalancerId ? { loadbalancerId } : {}),
    summary,
    receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 0),
    ...(sent ? { sentAt: new Date(sent).toISOString() } : {}),
  };
}

/** Arranges a load balancer's records as a tree. */
export function statusTree(records: readonly ResourceRecord[]): StatusNode | undefined {
  const node = (r: ResourceRecord): StatusNode => ({
    type: r.type,
    id: r.id,
    name: String((r.desired as { name?: string }).name ?? ''),
    provisioningStatus: r.provisioningStatus,
    operatingStatus: r.operatingStatus,
    ...(r.statusReason ? { statusReason: r.statusReason } : {}),
    ...(r.type === 'member'
      ? { address: backend(r.desired as { address: string; protocol_port: number }) }
      : {}),
    children: [],
  });
  const root = records.find((r) => r.type === 'loadbalancer');
  if (!root) return undefined;
  const tree = node(root);
  const pools = new Map<string, StatusNode>();
  for (const r of records.filter((x) => x.type === 'pool')) pools.set(r.id, node(r));
  const listeners = new Map<string, StatusNode>();
  for (const r of records.filter((x) => x.type === 'listener')) {
    listeners.set(r.id, node(r));
    tree.children.push(listeners.get(r.id) as StatusNode);
  }
  // A listener's L7 policies in their order (first match first), each with its rules.
  const policies = new Map<string, StatusNode>();
  const byListener = new Map<string, ResourceRecord[]>();
  for (const r of records.filter((x) => x.type === 'l7policy')) {
    const listenerId = (r.desired as L7PolicySpec).listener_id;
    byListener.set(listenerId, [...(byListener.get(listenerId) ?? []), r]);
  }
  for (const [listenerId, list] of byListener) {
    for (const r of orderedPolicies(list)) {
      policies.set(r.id, node(r));
      (listeners.get(listenerId)?.children ?? tree.children).push(policies.get(r.id) as StatusNode);
    }
  }
  for (const r of records) {
    if (r.type === 'l7rule') {
      const policy = policies.get((r.desired as L7RuleSpec).l7policy_id);
      (policy?.children ?? tree.children).push(node(r));
    }
    if (r.type !== 'member' && r.type !== 'healthmonitor') continue;
    const pool = pools.get((r.desired as { pool_id: string }).pool_id);
    (pool?.children ?? tree.children).push(node(r));
  }
  tree.children.push(...pools.values());
  return tree;
}

/** A member's `address:port`, an IPv6 address in brackets. */
function backend(member: { address: string; protocol_port: number }): string {
  return member.address.includes(':')
    ? `[${member.address}]:${member.protocol_port}`
    : `${member.address}:${member.protocol_port}`;
}
