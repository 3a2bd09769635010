import type { DecisionKind } from './agent-scheduler.js';
import type { LbaasRequest, ResourceType } from './lbaas-request.js';
import type { AgentView } from './liveness.js';
import type { OperatingStatus, ResourceRecord } from './resource-state.js';

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

export interface DeviceState {
  reachable: boolean;
  failoverState?: string;
  syncStatus?: string;
  version?: string;
  message?: string;
  checkedAt: number;
}

/** Agents of every environment (the agents table). */
export interface AgentRegistry {
  listAgents(env: string): Promise<AgentRecord[]>;
  getAgent(env: string, host: string): Promise<AgentRecord | undefined>;
  /** Best-effort count of bound load balancers, kept for listings and the least-loaded policy. */
  adjustLoadbalancerCount(env: string, host: string, delta: number): Promise<void>;
}

export interface Binding {
  loadbalancerId: string;
  env: string;
  host: string;
  tenantId: string;
  boundAt: number;
}

export interface TenantAffinity {
  /** Hosts with affinity to the tenant, oldest first (ties by host name). */
  hosts: { host: string; since: number; loadbalancers: number }[];
  /** The tenant's first-agent claim, taken before a random pick binds; guards concurrent first binds. */
  claim: { host: string; version: number } | undefined;
}

/** Bindings of load balancers to agents, and tenant affinity (bindings + affinity tables). */
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
  ): Promise<boolean>;
  /** Creates the binding and counts the affinity atomically; if the load balancer is already bound, returns that binding. */
  bind(binding: Binding): Promise<{ created: true } | { created: false; existing: Binding }>;
}

/** Desired state and statuses of every object (the resources table). */
export interface ResourceStore {
  /** Records the request's desired state and PENDING_* statuses; rejects requests that cannot apply. */
  recordRequest(request: LbaasRequest, env: string, nowMs: number): Promise<void>;
  /** Sets ERROR with a reason on a known object of the given tenant and environment (no-op otherwise). */
  markError(target: ObjectRef, reason: string, nowMs: number): Promise<boolean>;
  /** Sets ERROR on a request's object and its load balancer (a request that will not be applied). */
  markRequestFailed(
    request: { loadbalancerId: string; tenantId: string; resource: ResourceType; object: { id: string } },
    env: string,
    reason: string,
    nowMs: number,
  ): Promise<void>;
  loadRecords(loadbalancerId: string): Promise<ResourceRecord[]>;
}

export interface ObjectRef {
  loadbalancerId: string;
  type: ResourceType;
  id: string;
  tenantId: string;
  env: string;
}

/** A request as forwarded to an agent: the original plus the scheduler's decision. */
export interface ForwardedRequest {
  request: LbaasRequest;
  scheduling: {
    kind: DecisionKind;
    host: string;
    scheduledAt: number;
    env: string;
    /** When the producer sent the request (SQS SentTimestamp), for submit-to-ACTIVE time. */
    submittedAt?: number;
  };
}

/** The agents' FIFO queues. */
export interface AgentQueue {
  forward(queueUrl: string, message: ForwardedRequest): Promise<void>;
}

export type { OperatingStatus };
