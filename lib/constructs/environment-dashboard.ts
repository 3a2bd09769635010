import { Duration } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  SingleValueWidget,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FORWARDED_DECISIONS } from '../../functions/domain/agent-scheduler.js';
import { METRIC_NAMESPACE, METRICS, type MetricKey } from '../../functions/shared/metric-names.js';

export interface EnvironmentDashboardProps {
  env: string;
  hosts: string[];
  requestQueue: IQueue;
  requestDlq: IQueue;
  agentQueues: Record<string, { queue: IQueue; dlq: IQueue }>;
  /** Label → function, for the errors graph and alarm. */
  functions: Record<string, NodejsFunction>;
  alarmTopic: ITopic;
  /** Alarm when the oldest request waits longer than this. */
  oldestMessageAlarm?: Duration;
  /** Minutes a load balancer stays in operating status ERROR before its alarm fires (default 5). */
  healthAlarmMinutes?: number;
  /** The environment's device groups and their agents. */
  groups: { name: string; hosts: string[] }[];
  /** A group's capacity alarm fires when its score reaches this (default 0.8). */
  capacityAlarmScore?: number;
  /** The Octavia API, when the environment has one: its calls, errors and latency. */
  api?: RestApi;
}

/**
 * One CloudWatch dashboard per environment, and its alarms. Every custom metric comes from
 * METRICS (functions/shared/metric-names.ts), the list the functions emit from; a test checks the
 * synthesized dashboard against it.
 */
export class EnvironmentDashboard extends Construct {
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: EnvironmentDashboardProps) {
    super(scope, id);
    const { env, hosts } = props;
    const custom = (key: MetricKey, dims: Record<string, string>, statistic = 'Sum', label?: string) => {
      const def = METRICS[key];
      return new Metric({
        namespace: METRIC_NAMESPACE,
        metricName: def.name,
        dimensionsMap: { Environment: env, ...dims },
        statistic,
        period: Duration.minutes(1),
        ...(label ? { label } : {}),
      });
    };
    const perAgent = (key: MetricKey, statistic: string, extra: Record<string, string> = {}) =>
      hosts.map((h) => custom(key, { Agent: h, ...extra }, statistic, h));

    // Per-load-balancer metrics have ids no stack knows: a search over the dimension, busiest first.
    const search = (name: string, statistic: string, label: string) =>
      new MathExpression({
        expression: `SORT(SEARCH('{${METRIC_NAMESPACE},Environment,LoadBalancer} MetricName="${name}" Environment="${env}"', '${statistic}', 60), SUM, DESC, 10)`,
        usingMetrics: {},
        period: Duration.minutes(1),
        label,
      });
    const dlqDepth = (queue: IQueue, label: string) =>
      queue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
        label,
      });
    const decisions = FORWARDED_DECISIONS.map((d) => custom('decisions', { Decision: d }, 'Sum', d));
    /** One metric summed over every agent (a period an agent did not report counts 0). */
    const allAgents = (key: MetricKey, extra: Record<string, string>, label: string) => {
      // Metric ids are unique per graph: named after what the sum is of.
      const id = (i: number) =>
        `${key}_${Object.values(extra)
          .join('_')
          .replace(/[^A-Za-z0-9]/g, '')}_${i}`;
      return new MathExpression({
        expression: hosts.map((_, i) => `FILL(${id(i)}, 0)`).join(' + '),
        usingMetrics: Object.fromEntries(hosts.map((h, i) => [id(i), custom(key, { Agent: h, ...extra })])),
        period: Duration.minutes(1),
        label,
      });
    };
    const functionErrors = Object.entries(props.functions).map(([label, f]) =>
      f.metricErrors({ period: Duration.minutes(1), label }),
    );

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `bigip-lbaas-${env}`,
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new TextWidget({
            markdown: `# bigip-lbaas · ${env}\nRequests, scheduling, agents and BIG-IP calls of environment **${env}** (agents: ${hosts.join(', ')}).`,
            width: 24,
            height: 2,
          }),
        ],
        [
          new GraphWidget({
            title: 'Requests submitted / age of the oldest waiting request',
            left: [
              props.requestQueue.metricNumberOfMessagesSent({
                period: Duration.minutes(1),
                label: 'submitted',
              }),
            ],
            right: [
              props.requestQueue.metricApproximateAgeOfOldestMessage({
                period: Duration.minutes(1),
                statistic: 'Maximum',
                label: 'oldest (s)',
              }),
            ],
            width: 8,
          }),
          new GraphWidget({ title: 'Scheduler decisions by kind', left: decisions, stacked: true, width: 8 }),
          new GraphWidget({
            title: 'No active agent / rejected / dead-lettered',
            left: [
              custom('noActiveAgent', {}, 'Sum', 'no active agent'),
              custom('exhausted', {}, 'Sum', 'gave up (scheduler)'),
              ...(
                [
                  'invalid-message',
                  'tenant-mismatch',
                  'not-found',
                  'conflict',
                  'immutable-field',
                  'group-at-capacity',
                  'environment-at-capacity',
                ] as const
              ).map((r) => custom('rejected', { Reason: r }, 'Sum', `rejected: ${r}`)),
            ],
            width: 8,
          }),
        ],
        [
          new GraphWidget({
            title: 'Dead-letter queues (messages)',
            left: [
              dlqDepth(props.requestDlq, 'requests'),
              ...hosts.map((h) => dlqDepth(props.agentQueues[h]?.dlq as IQueue, h)),
            ],
            width: 8,
          }),
          new SingleValueWidget({
            title: 'Active agents',
            metrics: [custom('activeAgents', {}, 'Minimum', 'active agents')],
            width: 4,
          }),
          new GraphWidget({
            title: 'Heartbeat age per agent (s)',
            left: perAgent('heartbeatAge', 'Maximum'),
            width: 6,
          }),
          new GraphWidget({
            title: 'Failovers and reclaimed requests',
            left: [
              custom('failovers', {}, 'Sum', 'failover decisions'),
              custom('reclaimed', {}, 'Sum', 'reclaimed'),
              custom('rebinds', {}, 'Sum', 'rebound'),
            ],
            width: 6,
          }),
        ],
        [
          new GraphWidget({
            title: 'BIG-IP call latency per agent (ms, average per apply)',
            left: perAgent('bigipLatency', 'Average'),
            width: 8,
          }),
          new GraphWidget({
            title: 'BIG-IP calls and errors per agent',
            left: perAgent('bigipCalls', 'Sum'),
            right: perAgent('bigipErrors', 'Sum'),
            width: 8,
          }),
          new GraphWidget({
            title: 'Submit → ACTIVE (ms, p90 per agent)',
            left: perAgent('timeToActive', 'p90'),
            width: 8,
          }),
        ],
        [
          new GraphWidget({
            title: 'Applies by outcome (all agents): retried, and cut at the invocation’s time',
            left: (
              [
                ['applied', 'applied'],
                ['gone', 'deleted'],
                ['device-error', 'refused by the device'],
                ['retry', 'retried'],
                ['out-of-time', 'cut at the invocation’s time (resumed)'],
              ] as const
            ).map(([outcome, label]) => allAgents('applies', { Outcome: outcome }, label)),
            width: 12,
          }),
          new GraphWidget({
            title: 'Messages a waiting worker took from its own queue (busy device group)',
            left: perAgent('messagesTaken', 'Sum'),
            width: 12,
          }),
        ],
        [
          new GraphWidget({
            title: 'Devices by failover state (reported by heartbeats)',
            left: hosts.flatMap((h) =>
              ['active', 'standby', 'unreachable'].map((s) =>
                custom('deviceStates', { Agent: h, State: s }, 'Maximum', `${h} ${s}`),
              ),
            ),
            width: 12,
          }),
          new GraphWidget({ title: 'Function errors', left: functionErrors, width: 12 }),
        ],
        [
          new GraphWidget({
            title: 'Health (status poller): load balancers in ERROR, pools with every member down',
            left: props.groups.flatMap((g) => [
              custom(
                'loadbalancersInError',
                { Group: g.name },
                'Maximum',
                `${g.name}: load balancers in ERROR`,
              ),
              custom('poolsAllDown', { Group: g.name }, 'Maximum', `${g.name}: pools all down`),
            ]),
            right: [custom('statusChanges', {}, 'Sum', 'status changes')],
            width: 8,
          }),
          new GraphWidget({
            title: 'Status polls',
            left: ['polled', 'skipped', 'failed'].map((o) => custom('healthPolls', { Outcome: o }, 'Sum', o)),
            width: 4,
          }),
          new GraphWidget({
            title: 'Traffic: bytes in/out per load balancer (busiest 10)',
            left: [search('LoadBalancerBytesIn', 'Sum', 'in')],
            right: [search('LoadBalancerBytesOut', 'Sum', 'out')],
            width: 6,
          }),
          new GraphWidget({
            title: 'Reconciler: runs, drift found / repaired, orphans, restores, failed repairs',
            left: [
              ...['done', 'aborted', 'skipped'].map((o) =>
                custom('reconcileRuns', { Outcome: o }, 'Sum', `runs ${o}`),
              ),
              custom('restored', {}, 'Sum', 'load balancers restored'),
              custom('repairsFailed', {}, 'Sum', 'repairs failed'),
            ],
            right: [
              ...['virtual', 'pool', 'member', 'monitor', 'virtual-address'].flatMap((k) => [
                custom('driftFound', { Kind: k }, 'Sum', `drift ${k}`),
                custom('driftRepaired', { Kind: k }, 'Sum', `repaired ${k}`),
              ]),
              ...['virtual', 'pool', 'monitor'].flatMap((k) => [
                custom('orphansFound', { Kind: k }, 'Sum', `orphan ${k}`),
                custom('orphansRemoved', { Kind: k }, 'Sum', `orphan removed ${k}`),
              ]),
            ],
            width: 24,
          }),
          new GraphWidget({
            title: 'Connections per load balancer: active / new (busiest 10)',
            left: [search('LoadBalancerActiveConnections', 'Maximum', 'active')],
            right: [search('LoadBalancerNewConnections', 'Sum', 'new')],
            width: 6,
          }),
        ],
        // Device groups: how full each is (1 = full: no new tenants, no new load balancers) and who serves it.
        props.groups.flatMap((g) => [
          new GraphWidget({
            title: `Group ${g.name}: capacity score (1 = full) and active agents`,
            left: [custom('groupScore', { Group: g.name }, 'Maximum', 'score')],
            right: [
              custom(
                'groupActiveAgents',
                { Group: g.name },
                'Minimum',
                `active agents (of ${g.hosts.length})`,
              ),
            ],
            width: 8,
          }),
          new GraphWidget({
            title: `Group ${g.name}: usage`,
            left: (['loadBalancers', 'listeners', 'members'] as const).map((m) =>
              custom('groupUsage', { Group: g.name, Metric: m }, 'Maximum', m),
            ),
            right: (['connections', 'throughputMbps'] as const).map((m) =>
              custom('groupUsage', { Group: g.name, Metric: m }, 'Maximum', m),
            ),
            width: 16,
          }),
        ]),
      ],
    });
    if (props.api) this.addApiWidgets(props.api);

    const alarm = (
      id: string,
      metric: IMetric,
      threshold: number,
      description: string,
      comparison = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods = 1,
      missingData = TreatMissingData.NOT_BREACHING,
    ) => {
      const a = new Alarm(this, id, {
        alarmName: `bigip-lbaas-${env}-${id}`,
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods,
        comparisonOperator: comparison,
        treatMissingData: missingData,
      });
      a.addAlarmAction(new SnsAction(props.alarmTopic));
      this.alarms.push(a);
      return a;
    };
    alarm(
      'RequestsDeadLettered',
      dlqDepth(props.requestDlq, 'requests'),
      1,
      `${env}: requests in the dead-letter queue (lbaas dlq list)`,
    );
    for (const h of hosts) {
      alarm(
        `Agent-${h}-DeadLettered`,
        dlqDepth(props.agentQueues[h]?.dlq as IQueue, h),
        1,
        `${env}: ${h} dead-lettered requests (lbaas dlq list)`,
      );
    }
    alarm('NoActiveAgent', custom('noActiveAgent', {}, 'Sum'), 1, `${env}: requests found no active agent`);
    // One agent down is redundancy lost, before any request finds no agent at all. Every live
    // agent's heartbeat reports the count each minute, so no data means no agent beats.
    alarm(
      'AgentDown',
      custom('agentsDown', {}, 'Maximum'),
      1,
      `${env}: an enabled agent has not heartbeat for agentDownTime (redundancy lost; lbaas agents shows which)`,
      ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      1,
      TreatMissingData.BREACHING,
    );
    alarm(
      'OldestRequest',
      props.requestQueue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      (props.oldestMessageAlarm ?? Duration.minutes(5)).toSeconds(),
      `${env}: a request has waited longer than ${(props.oldestMessageAlarm ?? Duration.minutes(5)).toHumanString()}`,
    );
    const healthMinutes = props.healthAlarmMinutes ?? 5;
    const capacityScore = props.capacityAlarmScore ?? 0.8;
    for (const g of props.groups) {
      // The only group keeps the alarm names it had before groups existed.
      const suffix = props.groups.length === 1 ? '' : `-${g.name}`;
      alarm(
        `LoadBalancerInError${suffix}`,
        custom('loadbalancersInError', { Group: g.name }, 'Minimum'),
        1,
        `${env}/${g.name}: a load balancer has been in operating status ERROR for ${healthMinutes} minutes (lbaas status <lb> shows which part fails)`,
        ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        healthMinutes,
      );
      alarm(
        `PoolAllMembersDown${suffix}`,
        custom('poolsAllDown', { Group: g.name }, 'Maximum'),
        1,
        `${env}/${g.name}: a pool has every member failing its health monitor`,
      );
      alarm(
        `Group-${g.name}-Capacity`,
        custom('groupScore', { Group: g.name }, 'Maximum'),
        capacityScore,
        `${env}: device group ${g.name} passed capacity score ${capacityScore} (at 1 it takes no new tenant and its tenants no new load balancer; lbaas groups)`,
      );
    }
    alarm(
      'GroupAtCapacity',
      custom('rejected', { Reason: 'group-at-capacity' }, 'Sum'),
      1,
      `${env}: a tenant's new load balancer was refused: its device group is full (lbaas groups; delete load balancers or raise the group's limits)`,
    );
    alarm(
      'EnvironmentAtCapacity',
      custom('rejected', { Reason: 'environment-at-capacity' }, 'Sum'),
      1,
      `${env}: a new tenant's load balancer was refused: every device group is full or disabled (lbaas groups)`,
    );
    // A change cut at its invocation's time is resumed by its next attempt (one big delete is cut
    // once or twice); cuts that keep coming mean changes, or the device group's config-syncs,
    // outgrow an invocation, which a function timeout would have shown before they were cut.
    alarm(
      'ChangesOutgrowInvocation',
      allAgents('applies', { Outcome: 'out-of-time' }, 'changes cut at the invocation’s time'),
      3,
      `${env}: changes keep being cut at their invocation's time (at least 3 a minute for 5 minutes): config-syncs or changes outgrow the worker's timeout (dashboard: applies by outcome)`,
      ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      5,
    );
    alarm(
      'RepairsFailed',
      custom('repairsFailed', {}, 'Sum'),
      1,
      `${env}: the device refused to repair a load balancer; it is in ERROR with the reason (lbaas sync --dry-run)`,
    );
    // An alarm's math expression takes at most 10 metrics: one alarm per ten functions.
    const chunks: IMetric[][] = [];
    for (let i = 0; i < functionErrors.length; i += 10) chunks.push(functionErrors.slice(i, i + 10));
    chunks.forEach((chunk, c) => {
      alarm(
        chunks.length === 1 ? 'FunctionErrors' : `FunctionErrors-${c + 1}`,
        new MathExpression({
          expression: chunk.map((_, i) => `e${i}`).join('+'),
          usingMetrics: Object.fromEntries(chunk.map((m, i) => [`e${i}`, m])),
          period: Duration.minutes(1),
          label: 'function errors',
        }),
        1,
        `${env}: a function failed (timeouts, crashes)${chunks.length === 1 ? '' : ` (functions ${c * 10 + 1}–${c * 10 + chunk.length})`}`,
      );
    });
  }

  /** The Octavia API's row: calls and their 4xx/5xx answers, latency (p50, p99) and the integration's share. */
  private addApiWidgets(api: RestApi): void {
    const period = Duration.minutes(1);
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Octavia API: calls, 4xx and 5xx answers',
        left: [api.metricCount({ period, statistic: 'Sum', label: 'calls' })],
        right: [
          api.metricClientError({ period, statistic: 'Sum', label: '4xx' }),
          api.metricServerError({ period, statistic: 'Sum', label: '5xx' }),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'Octavia API: latency (ms)',
        left: [
          api.metricLatency({ period, statistic: 'p50', label: 'p50' }),
          api.metricLatency({ period, statistic: 'p99', label: 'p99' }),
          api.metricIntegrationLatency({ period, statistic: 'p99', label: 'function p99' }),
        ],
        width: 12,
      }),
    );
  }
}
