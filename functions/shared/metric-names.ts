/**
 * Every metric the functions emit, with its dimensions (agent workers add `Agent` to everything
 * they emit, so their rejected/exhausted/received counts carry it too). The dashboard is built from this list and
 * a test checks both against each other, so a graph never shows a metric nobody sends.
 */
export const METRIC_NAMESPACE = 'BigIpLbaas';

export const METRICS = {
  /** Scheduler and agents: messages received per invocation (batch size). */
  messages: { name: 'MessagesReceived', dimensions: ['Environment'] },
  /** Agents: messages a worker took from its own queue while its batch waited on a busy device group (handlers/queued-work.ts). */
  messagesTaken: { name: 'MessagesTaken', dimensions: ['Environment', 'Agent'] },
  /** Scheduler: one per forwarded request; dimension Decision = bound|affinity|random|least-loaded|failover. */
  decisions: { name: 'SchedulerDecisions', dimensions: ['Environment', 'Decision'] },
  /** Scheduler: requests that found no active agent (retried, then dead-lettered). */
  noActiveAgent: { name: 'NoActiveAgent', dimensions: ['Environment'] },
  /** Scheduler and agents: requests rejected as invalid; dimension Reason = rejection category. */
  rejected: { name: 'RejectedRequests', dimensions: ['Environment', 'Reason'] },
  /** Scheduler and agents: requests that used their last attempt and go to the dead-letter queue. */
  exhausted: { name: 'RequestsExhausted', dimensions: ['Environment'] },
  /** Scheduler: deliveries of a request id already handled (no second effect). */
  duplicates: { name: 'DuplicateRequests', dimensions: ['Environment'] },
  /**
   * Agent: applies by outcome (applied|gone|device-error|retry|out-of-time: a change cut at its
   * invocation's sending or confirming time, resumed by the next attempt); dimension Agent = host.
   */
  applies: { name: 'Applies', dimensions: ['Environment', 'Agent', 'Outcome'] },
  /** Agent: BIG-IP REST calls per apply. */
  bigipCalls: { name: 'BigIpCalls', dimensions: ['Environment', 'Agent'] },
  /** Agent: BIG-IP REST call latency, milliseconds. */
  bigipLatency: { name: 'BigIpLatency', dimensions: ['Environment', 'Agent'] },
  /** Agent: BIG-IP errors by kind. */
  bigipErrors: { name: 'BigIpErrors', dimensions: ['Environment', 'Agent'] },
  /** Agent: milliseconds from submit (scheduler) to the object's ACTIVE/ERROR status. */
  timeToActive: { name: 'TimeToActive', dimensions: ['Environment', 'Agent'] },
  /** Heartbeat: active agents in the environment seen by a beat. */
  activeAgents: { name: 'ActiveAgents', dimensions: ['Environment'] },
  /**
   * Heartbeat: enabled agents of the environment whose last heartbeat is older than agentDownTime,
   * reported by every beat (0 when all beat): one is enough to have lost redundancy.
   */
  agentsDown: { name: 'AgentsDown', dimensions: ['Environment'] },
  /** Heartbeat: seconds since each agent's last heartbeat, reported by every beat. */
  heartbeatAge: { name: 'HeartbeatAge', dimensions: ['Environment', 'Agent'] },
  /** Heartbeat: 1 when a beat reached at least one device, 0 when none. */
  heartbeats: { name: 'Heartbeats', dimensions: ['Environment', 'Agent'] },
  /** Heartbeat: devices by failover state (active|standby|unreachable). */
  deviceStates: { name: 'DeviceFailoverState', dimensions: ['Environment', 'Agent', 'State'] },
  /** Heartbeat: registrations refused because the host name belongs to another agent. */
  refusedRegistrations: { name: 'RefusedRegistrations', dimensions: ['Environment'] },
  /** Reclaimer: requests moved from a dead agent's queue to the agent failover picks. */
  reclaimed: { name: 'ReclaimedRequests', dimensions: ['Environment'] },
  /** Heartbeat: load balancers moved off agents dead longer than rebindAfterSeconds. */
  rebinds: { name: 'Rebinds', dimensions: ['Environment'] },
  /** Scheduler: failover decisions (also counted under decisions). */
  failovers: { name: 'FailoverDecisions', dimensions: ['Environment'] },
  /** Health poller: polls by outcome (polled|skipped). */
  healthPolls: { name: 'HealthPolls', dimensions: ['Environment', 'Outcome'] },
  /** Health poller: operating statuses the devices changed. */
  statusChanges: { name: 'OperatingStatusChanges', dimensions: ['Environment'] },
  /** Health poller: load balancers whose operating status is ERROR (each poll, per device group). */
  loadbalancersInError: { name: 'LoadBalancersInError', dimensions: ['Environment', 'Group'] },
  /** Health poller: pools whose every serving member fails its monitor (each poll, per device group). */
  poolsAllDown: { name: 'PoolsAllMembersDown', dimensions: ['Environment', 'Group'] },
  /** Health poller: the device group's capacity score (highest usage / limit; 1 = full). */
  groupScore: { name: 'GroupCapacityScore', dimensions: ['Environment', 'Group'] },
  /** Health poller: the device group's usage; Metric = loadBalancers|listeners|members|connections|throughputMbps. */
  groupUsage: { name: 'GroupUsage', dimensions: ['Environment', 'Group', 'Metric'] },
  /** Health poller: active agents of the device group. */
  groupActiveAgents: { name: 'GroupActiveAgents', dimensions: ['Environment', 'Group'] },
  /** Reconciler: runs by outcome (done|aborted|skipped). */
  reconcileRuns: { name: 'ReconcileRuns', dimensions: ['Environment', 'Outcome'] },
  /** Reconciler: differences found (dry run or scheduled report), by object kind. */
  driftFound: { name: 'DriftFound', dimensions: ['Environment', 'Kind'] },
  /** Reconciler: differences repaired, by object kind. */
  driftRepaired: { name: 'DriftRepaired', dimensions: ['Environment', 'Kind'] },
  /** Reconciler: orphans found (named like ours, desired by nobody) and removed, by object kind. */
  orphansFound: { name: 'OrphansFound', dimensions: ['Environment', 'Kind'] },
  orphansRemoved: { name: 'OrphansRemoved', dimensions: ['Environment', 'Kind'] },
  /** Reconciler: load balancers put back whole on a device that had lost them (a replaced unit). */
  restored: { name: 'LoadBalancersRestored', dimensions: ['Environment'] },
  /** Reconciler: load balancers whose repair the device refused (they go to ERROR). */
  repairsFailed: { name: 'RepairsFailed', dimensions: ['Environment'] },
  /** Health poller: traffic of each load balancer since the last poll (bytes, connections opened). */
  lbBytesIn: { name: 'LoadBalancerBytesIn', dimensions: ['Environment', 'LoadBalancer'] },
  lbBytesOut: { name: 'LoadBalancerBytesOut', dimensions: ['Environment', 'LoadBalancer'] },
  lbNewConnections: { name: 'LoadBalancerNewConnections', dimensions: ['Environment', 'LoadBalancer'] },
  lbActiveConnections: { name: 'LoadBalancerActiveConnections', dimensions: ['Environment', 'LoadBalancer'] },
  lbRequestErrors: { name: 'LoadBalancerRequestErrors', dimensions: ['Environment', 'LoadBalancer'] },
  /** The same per listener. */
  listenerBytesIn: { name: 'ListenerBytesIn', dimensions: ['Environment', 'LoadBalancer', 'Listener'] },
  listenerBytesOut: { name: 'ListenerBytesOut', dimensions: ['Environment', 'LoadBalancer', 'Listener'] },
  listenerNewConnections: {
    name: 'ListenerNewConnections',
    dimensions: ['Environment', 'LoadBalancer', 'Listener'],
  },
  listenerActiveConnections: {
    name: 'ListenerActiveConnections',
    dimensions: ['Environment', 'LoadBalancer', 'Listener'],
  },
} as const;

export type MetricKey = keyof typeof METRICS;
