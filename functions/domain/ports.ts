import type { ApplyPlan } from './bigip-apply-plan.js';
import type { BigIpObject, DeviceSnapshot, ReadUnit } from './bigip-objects.js';
import type { HealthScrape } from './device-health.js';
import type { RejectionCategory } from './errors.js';
import type { LastApplied } from './last-applied.js';
import type { ForwardedRequest, LbaasRequest, RequestEnvelope, ResourceType } from './lbaas-request.js';
import type { ListenerStatistics } from './listener-statistics.js';
import type { AgentView } from './liveness.js';
import type { NetCommand, NetObject } from './network-objects.js';
import type { QuotaCheck, UsageChange } from './octavia-quotas.js';
import type { RecordGuard, RecordResult } from './refusals.js';
import type { ObjectRef, OperatingStatus, ResourceRecord, StatusOutcome } from './resource-state.js';
import type { InventoryItem } from './takeover-plan.js';
import type { CertificateMaterial } from './tls-translation.js';

/*
 * The ports: everything a service needs from the outside world, as interfaces. Services depend on
 * these alone; each adapter in functions/adapters/ implements exactly one of them, and the unit
 * tests use the in-memory fakes in test/support/fakes/.
 */

// ---- agents ----

/** An agent row: identity, operator intent, liveness and where to send it work. */
export interface AgentRecord extends AgentView {
  env: string;
  agentId: string;
  queueUrl: string | undefined;
  startedAt?: number;
  registeredAt?: number;
  devices?: Record<string, DeviceState>;
  configuration?: Record<string, unknown>;
}

/** What one heartbeat learned about one device. */
export interface DeviceState {
  reachable: boolean;
  failoverState?: string;
  syncStatus?: string;
  version?: string;
  message?: string;
  checkedAt: number;
}

/** One heartbeat as the registry records it. */
export interface HeartbeatReport {
  env: string;
  host: string;
  agentId: string;
  queueUrl: string;
  nowMs: number;
  /** Set on the agent's first beat after a start, like Neutron's start_flag. */
  started: boolean;
  /** False records device states without refreshing liveness (no device was reachable). */
  alive: boolean;
  devices: Record<string, DeviceState>;
  configuration: Record<string, unknown>;
  /** The device group whose devices the agent manages (from its configuration). */
  group?: string;
}

/** Agents of every environment (the agents table). */
export interface AgentRegistry {
  listAgents(env: string): Promise<AgentRecord[]>;
  getAgent(env: string, host: string): Promise<AgentRecord | undefined>;
  /** Best-effort count of bound load balancers, kept for listings and the least-loaded policy. */
  adjustLoadbalancerCount(env: string, host: string, delta: number): Promise<void>;
  /**
   * Registers (first beat) or refreshes an agent; never touches `adminStateUp` after creation.
   * Throws HostNameConflictError when another agent identity holds the host name.
   */
  heartbeat(report: HeartbeatReport): Promise<{ registered: boolean }>;
  /** Operator intent only; false if the agent does not exist. */
  setAdminState(env: string, host: string, adminStateUp: boolean): Promise<boolean>;
  deleteAgent(env: string, host: string): Promise<boolean>;
}

// ---- bindings and tenant affinity ----

export interface Binding {
  loadbalancerId: string;
  env: string;
  host: string;
  tenantId: string;
  boundAt: number;
  /** The device group of the agent it was bound to (whose load balancer count it holds). */
  group?: string;
}

export interface TenantAffinity {
  /** Hosts with affinity to the tenant, oldest first (ties by host name). */
  hosts: { host: string; since: number; loadbalancers: number }[];
  /**
   * The tenant's first-agent claim, taken before a random pick binds; guards concurrent first
   * binds, and names the device group the tenant lives in.
   */
  claim: { host: string; version: number; group?: string } | undefined;
}

export interface BindingPage {
  items: Binding[];
  /** Opaque cursor for the next page, absent on the last page. */
  cursor: string | undefined;
}

/** Bindings of load balancers to agents, and tenant affinity; both change together, atomically. */
export interface BindingStore {
  getBinding(loadbalancerId: string): Promise<Binding | undefined>;
  getTenantAffinity(env: string, tenantId: string): Promise<TenantAffinity>;
  /** Conditionally records `host` as the tenant's first agent; false if someone else changed the claim first. */
  claimTenant(
    env: string,
    tenantId: string,
    host: string,
    expectedVersion: number | undefined,
    nowMs: number,
    group?: string,
  ): Promise<boolean>;
  /**
   * Creates the binding and counts the affinity atomically; if the load balancer is already bound,
   * returns that binding. With `agentLiveAfter`, the same transaction checks that the agent still
   * exists, is enabled and beat after that time: a scheduler's cached agent list can never bind a
   * load balancer to an agent just deleted, disabled or dead. The binding's device group counts
   * it in the same transaction; with `maxLoadBalancers`, only while the group holds fewer; with
   * `groupEnabled` (a new tenant's first load balancer), only while the group is enabled; and
   * only if the tenant's claim names that group (or none).
   */
  bind(
    binding: Binding,
    options?: { agentLiveAfter?: number; maxLoadBalancers?: number; groupEnabled?: boolean },
  ): Promise<
    | { created: true }
    | { created: false; existing: Binding }
    | { created: false; agentUnavailable: true }
    | { created: false; groupRefused: true }
    | { created: false; claimChanged: true }
  >;
  /** Drops a binding, its share of affinity and of its group's count (only if still on `expectedHost`, when given). */
  release(loadbalancerId: string, expectedHost?: string): Promise<Binding | undefined>;
  /** Moves a binding with its affinity counts, only if it is still on `from`. */
  moveBinding(loadbalancerId: string, from: string, to: string, nowMs: number): Promise<boolean>;
  /** One page of an agent's load balancers (cost: that page only). */
  listOnAgent(env: string, host: string, page?: { limit?: number; cursor?: string }): Promise<BindingPage>;
  countOnAgent(env: string, host: string): Promise<number>;
}

// ---- device groups ----

/** One device group of an environment as the groups table holds it. */
export interface GroupRecord {
  env: string;
  name: string;
  /** False: closed to new tenants by an operator. */
  adminStateUp: boolean;
  /** Exact, counted with the bindings. */
  loadBalancers: number;
  /** Counted by the status poller from the desired state (each poll). */
  listeners: number;
  members: number;
  /** Measured on the group's active unit by the status poller, when it has read it. */
  connections?: number;
  throughputMbps?: number;
  measuredAt?: number;
}

/** The groups table: each group's usage and its operator switch. */
export interface GroupStore {
  listGroups(env: string): Promise<GroupRecord[]>;
  setAdminState(env: string, name: string, adminStateUp: boolean): Promise<void>;
  /** What the status poller counted and measured (never the load balancer count: bindings own it). */
  recordUsage(
    env: string,
    name: string,
    usage: { listeners: number; members: number; connections?: number; throughputMbps?: number },
    nowMs: number,
  ): Promise<void>;
}

// ---- desired state and statuses ----

/** Desired state and statuses of every object (the resources table). */
export interface ResourceStore {
  /**
   * Records the request's desired state and PENDING_* statuses in one conditional write, with the
   * request's guard (`requestGuardKey`, kept for the store's guard lifetime): a request recorded
   * before, its guard unexpired, is never recorded again (`duplicate`, nothing written). A write the
   * table refuses comes back as what it found (`RecordConflict`: the items and claims in the way,
   * and with a guard the load balancer and pool it guards), which the domain explains
   * (`explainRecordConflict`); a member batch's own plan may refuse it. A refused request leaves no guard.
   */
  recordRequest(
    request: LbaasRequest,
    env: string,
    nowMs: number,
    guard?: RecordGuard,
    quota?: QuotaCheck,
  ): Promise<RecordResult>;
  /**
   * Records a run of one load balancer's requests (the scheduler's path: no guard, no quota) in one
   * write, all or none, with the effect `recordRequest` on each in turn would have: the first
   * `mergeablePrefix` of them (merged-records.ts), their root's revision advanced by their number.
   * Answers how many were recorded: 0 when fewer than two are mergeable or the write was refused for
   * any reason (a guard that stands, a claim, a missing object); nothing is written then, and the
   * caller records each with `recordRequest`, whose answers say what stood in the way.
   */
  recordRequests(requests: readonly LbaasRequest[], env: string, nowMs: number): Promise<number>;
  /** True when the request was recorded and its guard has not expired (see `recordRequest`). */
  isGuarded(env: string, request: { tenantId: string; requestId: string }, nowMs: number): Promise<boolean>;
  /**
   * What a project holds, by type: the counters every recording keeps in its own transaction (a
   * create counts when its record is first written, a deleted record stops counting when it is
   * removed). A `QuotaCheck` on `recordRequest` refuses (`quota-exceeded`) a write that would pass
   * a limit, race-free.
   */
  loadUsage(env: string, tenantId: string): Promise<UsageChange>;
  /** Gives back counts a write took but did not use (the rest of an API call that failed to record). */
  releaseUsage(env: string, tenantId: string, counts: UsageChange): Promise<void>;
  /** Sets ERROR with a reason on a known object of the given tenant and environment (false otherwise). */
  markError(target: ObjectRef, reason: string, nowMs: number): Promise<boolean>;
  /**
   * A load balancer's own update `requestId` is on the device: clears `ownChangePending` unless a
   * newer update of it was recorded meanwhile (its children's requests do not count).
   */
  clearOwnChange(loadbalancerId: string, requestId: string): Promise<void>;
  /**
   * A listener's default pool was deleted: its `default_pool_id` is cleared (only if it still names
   * that pool; its status and revision stay). False when nothing was cleared.
   */
  clearDefaultPool(loadbalancerId: string, listenerId: string, poolId: string): Promise<boolean>;
  loadRecords(loadbalancerId: string): Promise<ResourceRecord[]>;
  /** Some objects of one load balancer (those that exist), without reading the whole tree. */
  loadObjects(
    loadbalancerId: string,
    objects: readonly { type: ResourceType; id: string }[],
  ): Promise<ResourceRecord[]>;
  /**
   * Writes what an apply achieved, each write conditional on the revision that was applied (a
   * newer request keeps its PENDING status). Returns how many were written.
   */
  recordOutcomes(outcomes: readonly StatusOutcome[], nowMs: number): Promise<number>;
  /**
   * Keeps what a change applied and read back on the resource records it came from (each record's
   * whole set, by its key `type#id`), whatever their revision: it describes the device, not a request.
   * A record that no longer exists is left alone. Returns how many were written.
   */
  recordLastApplied(
    loadbalancerId: string,
    records: readonly { key: string; lastApplied: Record<string, LastApplied> }[],
  ): Promise<number>;
  /**
   * The reconciler made the device match again: the object is ACTIVE with `note` as its reason
   * (what was repaired), if it is still at the revision read and not pending. False otherwise.
   */
  recordRepair(record: ResourceRecord, note: string, nowMs: number): Promise<boolean>;
  /** The load balancer holding a child object's id in an environment (its id claim), if any. */
  locate(env: string, id: string): Promise<{ loadbalancerId: string; type: ResourceType } | undefined>;
  /**
   * One page of an environment's objects of one type, by name (through an index: the cost is the
   * page, not the table). `name` keeps those with exactly that name; `tenantId` those of one project.
   */
  listObjects(
    env: string,
    type: ResourceType,
    options?: { tenantId?: string; name?: string; limit?: number; cursor?: string },
  ): Promise<{ items: ResourceRecord[]; cursor: string | undefined }>;
}

// ---- refusals ----

/** A request the scheduler refused for good, and why: what its sender is told. */
export interface Refusal {
  env: string;
  tenantId: string;
  requestId: string;
  category: RejectionCategory;
  reason: string;
  refusedAt: number;
  loadbalancerId?: string;
  operation?: string;
  /** The object the request named (a member batch: its pool). */
  resource?: ResourceType;
  objectId?: string;
}

/**
 * Where a refusal waits for its sender, as long as the request's idempotency record lives: read by
 * the request (the CLI's `--wait`, the only key a sender is sure of), and the last refusal of an
 * object by its id (`show` of an object that was never created).
 */
export interface RefusalLog {
  record(refusal: Refusal, expiresAtMs: number): Promise<void>;
  /** The refusals among these requests of an environment (each one key; a hundred per read). */
  forRequests(
    env: string,
    requests: readonly { tenantId: string; requestId: string }[],
    nowMs: number,
  ): Promise<Refusal[]>;
  lastForObject(env: string, objectId: string, nowMs: number): Promise<Refusal | undefined>;
}

/** An operating status the device reading changed, written only if the object is as it was read. */
export interface OperatingStatusChange {
  record: ResourceRecord;
  to: OperatingStatus;
}

/** What the health poller writes: operating statuses and listener statistics. */
export interface HealthStore {
  /**
   * Sets each object's operating status, only if it is still ACTIVE, at the revision and with the
   * status it was read with (an apply or a newer request in between wins). Returns how many were written.
   */
  writeOperatingStatuses(changes: readonly OperatingStatusChange[], nowMs: number): Promise<number>;
  loadStatistics(loadbalancerId: string): Promise<ListenerStatistics[]>;
  saveStatistics(statistics: readonly ListenerStatistics[]): Promise<void>;
  /** A deleted load balancer's statistics go with it (every listener's). */
  deleteStatistics(loadbalancerId: string): Promise<void>;
}

/** One writer per partition of a device cluster. */
export interface PartitionLease {
  /**
   * Waits (bounded) for the lease; throws LeaseBusyError when another writer keeps it. Returns the
   * send-by time the acquisition itself grants (half the TTL after it was taken), as `renew` does.
   */
  acquire(key: string, owner: string): Promise<number>;
  /**
   * Extends a lease its owner still holds, just before a device write: an apply slowed past the TTL
   * (a starved or paused function) may have lost it to another writer, and must then not write.
   * Throws LeaseBusyError when the lease is no longer the owner's. Returns when the writes it
   * covers must have been sent (half the TTL from now: the other half is for the device to take
   * them), since a lease cannot fence a write that reaches the device after it lapsed.
   */
  renew(key: string, owner: string): Promise<number>;
  release(key: string, owner: string): Promise<void>;
  /**
   * How many unexpired leases have keys starting with `prefix` (a cluster's writers:
   * `env#cluster#`): the writers that may be about to send to that cluster's units.
   */
  countHeld(prefix: string, nowMs: number): Promise<number>;
}

/** Where a device group's config-syncs stand: numbered as they start, across every agent. */
export interface SyncLedgerState {
  /** The number of the last sync started (0: none yet). */
  started: number;
  /** The highest number of a sync that has ended, however it ended. */
  ended: number;
  /** A runner holds the right to the current sync (and has not outlived its lease). */
  running: boolean;
  /** The highest number of a sync that ended well (the group left its in-progress states, connected). */
  lastGood: number;
  /**
   * The current sync is claimed but its config-sync command not sent yet (its runner waits for the
   * writers already sending): a change written before this was read is covered by it.
   */
  holding: boolean;
  /**
   * How long the group's last sync that ended well took, as its runner saw it (absent: none
   * recorded): a writer with no sync of its own yet (a new worker process) times its polls by it.
   */
  lastTookMs?: number;
}

/**
 * One config-sync at a time per device group, shared by every agent and invocation: a sync copies
 * the whole configuration, so one that starts after a change covers it and every other change
 * made before it started. Waiters read the numbers; one of them runs the next sync.
 */
export interface SyncLedger {
  read(group: string, nowMs: number): Promise<SyncLedgerState>;
  /**
   * Claims the next sync when none is running (or its runner died): its number; else the ledger as
   * it stood when the claim was refused (as fresh as a read, so a waiter needs no read of its own).
   * `hold`: the runner will wait before sending the command, and says so with `issue` (until then
   * the ledger reads `holding`).
   */
  begin(
    group: string,
    owner: string,
    nowMs: number,
    ttlMs: number,
    options?: { hold?: boolean },
  ): Promise<SyncClaim>;
  /**
   * A held sync's command is about to be sent: from now on a change written is not covered by it.
   * False when `n` is no longer this owner's current sync (its claim lapsed): it must not be sent.
   */
  issue(group: string, owner: string, n: number): Promise<boolean>;
  /** Sync `n` has ended (`ok`: well, having taken `tookMs`): the next may start. */
  end(group: string, owner: string, n: number, ok: boolean, options?: { tookMs?: number }): Promise<void>;
}

/**
 * A claim on the next config-sync: granted (its number, how long the group's last good sync took,
 * and `previousFailed` when the sync before it did not end well: failed, cut, or its runner gone,
 * so the device may still be running it), or refused while another runs.
 */
export type SyncClaim =
  | { started: number; lastTookMs?: number; previousFailed?: true }
  | { busy: SyncLedgerState };

// ---- queues ----

/** The agents' FIFO queues, as the scheduler and the reclaimer send to them. */
export interface AgentQueue {
  forward(queueUrl: string, message: ForwardedRequest): Promise<void>;
}

export interface QueuedMessage {
  body: string;
  receiptHandle: string;
}

/** Reading another consumer's queue (the reclaimer takes requests off a dead agent's queue). */
export interface QueueInbox {
  receive(queueUrl: string, options: { max: number; visibilitySeconds: number }): Promise<QueuedMessage[]>;
  /** Makes a received message visible again at once. */
  release(queueUrl: string, receiptHandle: string): Promise<void>;
  remove(queueUrl: string, receiptHandle: string): Promise<void>;
  /** Messages in the queue, visible or in flight (approximate, as SQS reports it). */
  depth(queueUrl: string): Promise<number>;
}

/**
 * An agent's own queue as its worker reads it between the event source's batches: the messages
 * queued behind a busy device group's sync (handlers/queued-work.ts). `M` is a message as the
 * worker's handler sees it.
 */
export interface QueueTaker<M> {
  /** Up to `max` messages, each kept invisible for `holdSeconds`; waits up to `waitSeconds` for the first. */
  take(max: number, waitSeconds: number, holdSeconds: number): Promise<M[]>;
  /** Deletes messages the worker handled (what Lambda does for the batch it invoked the worker with). */
  acknowledge(messages: readonly M[]): Promise<void>;
}

/** Pushes a message's next delivery back: the back-off between attempts of a retried message. */
export interface MessageVisibility {
  delay(receiptHandle: string, seconds: number): Promise<void>;
  /** Sets several in-flight messages' visibility in one call (the worker's in-flight hold; 0: visible again at once). */
  holdAll(receiptHandles: string[], seconds: number): Promise<void>;
}

// ---- devices ----

/** One device's management endpoint, as the agent reaches it. */
export interface BigIpEndpoint {
  /** Device name, used in logs, metrics and leases. */
  name: string;
  /** Base URL: the device (`https://10.0.0.5`) or its route through the VPC link's HTTP API. */
  baseUrl: string;
  /** PEM bundle the device's certificate must chain to; absent = the system's trust store. */
  caBundle?: string;
  /** Sign requests with SigV4 (API Gateway IAM authorisation of the VPC link). */
  signing?: { region: string; service?: string };
}

export interface BigIpCredentials {
  username: string;
  password: string;
  loginProviderName?: string;
}

/** Where device credentials come from (Secrets Manager in AWS, fixed ones locally). */
export interface CredentialsProvider {
  get(): Promise<BigIpCredentials>;
}

/** A certificate as an operator stores it: PEM text (the chain and passphrase optional). */
export interface CertificateBundle {
  certificate: string;
  /** Absent for a CA bundle (certificates that verify peers, never served). */
  private_key?: string;
  intermediates?: string;
  passphrase?: string;
}

/**
 * Where TERMINATED_HTTPS certificates are kept (Secrets Manager in AWS; a local stand-in for the
 * sandbox), by reference (`lbaas/<env>/<project>/<name>`). `read` checks the bundle (PEM, key
 * matching the certificate) and derives its fingerprint and DNS names; it throws with a reason an
 * operator can read. Nothing of a bundle is ever logged.
 */
export interface CertificateStore {
  read(ref: string): Promise<CertificateMaterial>;
  put(ref: string, bundle: CertificateBundle): Promise<void>;
}

/** Failover and sync state of one device, for heartbeats and for choosing where to write. */
export interface DeviceStatus {
  failoverState: string;
  syncStatus?: string;
  version?: string;
}

export interface ExecuteReport {
  /** Clean-up steps the device refused harmlessly (a node still in use, a partition not empty). */
  skipped: string[];
  /**
   * The device's answer to each object written by a call of its own (not enlisted in a
   * transaction), as `read` would show it, by object key: only for kinds whose answer carries every
   * attribute a read compares (none that is read with its subcollections). Absent: none.
   */
  answers?: Map<string, Record<string, unknown>>;
}

/** How a plan's calls are fenced by the writer's partition lease. */
export interface ExecuteOptions {
  /** No call of the plan is sent after this time (it fails unsent, to be retried). */
  sendBy?: number;
  /**
   * Asked between the parts of a long change (the commands of one sent one at a time, a clean-up's
   * hundreds of nodes) for a later send-by: the lease is renewed, or found lost (it throws), rather
   * than outlived.
   */
  renew?: () => Promise<number>;
}

/** One BIG-IP: reads what an apply needs, executes a plan, reports its state. */
export interface BigIpDevice {
  readonly name: string;
  read(partition: string, units: readonly ReadUnit[]): Promise<DeviceSnapshot>;
  execute(partition: string, plan: ApplyPlan, options?: ExecuteOptions): Promise<ExecuteReport>;
  status(options?: { withSync?: boolean; withVersion?: boolean }): Promise<DeviceStatus>;
  /** The device group's sync status alone (one call: what a running config-sync is polled with). */
  syncStatus(): Promise<string>;
  configSync(deviceGroup: string): Promise<void>;
  /**
   * Health and counters of the environment's objects in bulk (device-facts.md §5.2): every virtual server's stats
   * in one call, every virtual address (path and `enabled`) in one listing, and each pool's member
   * stats in one call per pool `wantPool` accepts. Only
   * partitions whose name starts with `partitionPrefix` are kept. Throws on any failure: a partial
   * reading is never returned.
   */
  readHealth(partitionPrefix: string, wantPool: (fullPath: string) => boolean): Promise<HealthScrape>;
  /**
   * Whether the device can be trusted to show its configuration (§5.1, `bigip-rest.md` A.5): `sys/ready`
   * says config ready and mcpd's phase is `running`. While mcpd reloads, a device answers 404 for
   * objects that exist (`bigip-rest.md` A.6): nothing may be concluded from its reads then.
   */
  readiness(): Promise<{ ready: boolean; reason?: string }>;
  /** Partitions (folders under `/`) whose name starts with `prefix`. */
  listPartitions(prefix: string): Promise<string[]>;
  /**
   * Every object of the kinds we manage in one partition (virtual servers, pools, monitors, virtual
   * addresses, cookie persistence profiles), by collection with a partition filter: names only,
   * members not included. A fixed number of calls per partition.
   */
  listPartition(partition: string): Promise<BigIpObject[]>;
  /**
   * Network objects in /Common (route domains, VLANs, self IPs, SNAT pools: device-facts.md
   * §2.5–§2.7), by `netObjectKey`, with the fields `objects` name; an absent key: not on this unit.
   */
  readNet(objects: readonly NetObject[]): Promise<Map<string, Record<string, unknown>>>;
  /**
   * Network commands in order, one call each, none sent after `sendBy`. A create that finds the
   * name taken is left for the caller's read to judge; a delete the device refuses (still in use)
   * ends the list and is returned with the device's words.
   */
  writeNet(commands: readonly NetCommand[], options?: { sendBy?: number }): Promise<{ refused?: string }>;
  /** The virtual addresses and nodes (full paths) whose address is in route domain `id`: what still uses it. */
  routeDomainUsers(id: number): Promise<string[]>;
  /**
   * Every object a takeover decides about, device-wide, with the fields it decides by
   * (takeover-plan.ts): folders, route domains, VLANs, self IPs, SNAT pools, nodes, virtual
   * addresses, virtual servers, pools with their members, monitors. Reads only: one GET per collection.
   */
  inventory(): Promise<InventoryItem[]>;
  /** Releases what the device holds for us (the login token) and the connections. */
  close(): Promise<void>;
}

/**
 * The device or HA pair of one device group: which unit to write to, and what each unit says.
 * Its cached failover states are kept true by what the units answer: an error from any call of a
 * unit it handed out, or a failover state read that contradicts the cache, makes the next choice
 * read every unit again (the pair may have failed over).
 */
export interface DeviceCluster {
  readonly name: string;
  /** The unit to write to; throws a transient BigIpError when none is ACTIVE. */
  activeDevice(): Promise<BigIpDevice>;
  /** The group's other units: what a config-sync copies to, and what is asked whether it holds a change. */
  peersOf(device: BigIpDevice): readonly BigIpDevice[];
  /**
   * Every unit's state for a heartbeat, by unit name (the sync status too when the group has two
   * units; the version when asked). A unit that has not answered within `budgetMs` is reported
   * hung, unreachable, and the others do not wait for it.
   */
  unitStates(options: { withVersion: boolean; budgetMs: number }): Promise<Record<string, DeviceState>>;
  close(): Promise<void>;
}

// ---- the Octavia API ----

/** The environment's request queue, as a producer sends to it. */
export interface RequestQueue {
  /**
   * Sends requests in order (one FIFO group per load balancer). `recorded`: the sender already
   * recorded them (the API), so the scheduler need not record them again.
   */
  send(messages: readonly RequestEnvelope[], options: { recorded: boolean }): Promise<void>;
}

/** Where a listing resumes: the last object of the previous page. */
export interface ListPosition {
  createdAt: number;
  id: string;
  loadbalancerId: string;
}

/** The API's reads of the resources and claims tables beyond one load balancer's records. */
export interface ObjectCatalog {
  /** One page of a project's objects of one type in creation order (created_at, then id): a page of an index; nothing for a type not `listedByProject`. */
  listByProject(
    env: string,
    type: ResourceType,
    tenantId: string,
    page: { limit: number; after?: ListPosition },
  ): Promise<{ items: ResourceRecord[]; more: boolean }>;
  /** Every project's objects of one type (an admin's listing: the environment's objects of that type). */
  listAll(env: string, type: ResourceType): Promise<ResourceRecord[]>;
  /** Which of these addresses a load balancer of the environment holds as its VIP. */
  claimedAddresses(env: string, addresses: readonly string[]): Promise<Set<string>>;
}

/** The Octavia API's objects that live outside load balancers: quotas, flavors, availability zones and their profiles. */
export type ApiObjectKind =
  | 'quota'
  | 'flavorprofile'
  | 'flavor'
  | 'availabilityzoneprofile'
  | 'availabilityzone';

/** One such object as stored: its id (a project's id for a quota, a name for an availability zone) and its fields. */
export interface ApiObject {
  id: string;
  data: Record<string, unknown>;
  /** Bumped by every write: a conditional write names the version it read. */
  version: number;
}

/** The API's objects outside load balancers, per environment and kind (one query lists a kind). */
export interface ApiObjectStore {
  get(env: string, kind: ApiObjectKind, id: string): Promise<ApiObject | undefined>;
  list(env: string, kind: ApiObjectKind): Promise<ApiObject[]>;
  /**
   * Writes an object: `expected` undefined creates it (false when one with the id exists), a number
   * replaces the one at that version (false when it changed or is gone).
   */
  put(
    env: string,
    kind: ApiObjectKind,
    id: string,
    data: Record<string, unknown>,
    expected?: number,
  ): Promise<boolean>;
  /** Removes an object (false when absent, or not at `expected` when given). */
  remove(env: string, kind: ApiObjectKind, id: string, expected?: number): Promise<boolean>;
}

/** What a validated token says: its project, roles and user, and until when it holds. */
export interface ValidatedToken {
  projectId: string | undefined;
  roles: string[];
  userId: string | undefined;
  system: boolean;
  expiresAt: number;
}

/** The service account the API validates tokens with (Secrets Manager in AWS; never logged). */
export interface KeystoneServiceCredentials {
  username: string;
  password: string;
  userDomainName?: string;
  projectName: string;
  projectDomainName?: string;
}

/** Where the API's Keystone service account is kept. */
export interface KeystoneCredentialsSource {
  get(): Promise<KeystoneServiceCredentials>;
}

/** Validates a bearer's token (Keystone's `GET /v3/auth/tokens`); undefined when it is not valid. */
export interface TokenValidator {
  validate(token: string): Promise<ValidatedToken | undefined>;
}

/** Waiting, as services need it: the wiring passes real timers, unit tests a virtual clock's. */
export interface Timers {
  sleep(ms: number): Promise<void>;
  /** `answer`, or `'late'` when it takes longer than `ms`. */
  within<T>(answer: Promise<T>, ms: number): Promise<T | 'late'>;
}

export type { ObjectRef, OperatingStatus, RecordGuard };
