import { ArnFormat, CfnOutput, Duration, Stack, type StackProps, Token, Validations } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { DEFAULT_GROUP } from '../functions/domain/agent-scheduler.js';
import { ENV_VARS, pollsPerMinute } from '../functions/shared/config.js';
import type { TableId } from '../functions/shared/table-schema.js';
import { agentIdOf, type EnvironmentConfig, type LbaasConfig } from './config/lbaas-config.js';
import { OUTPUTS } from './config/stack-outputs.js';
import { DeviceAccess } from './constructs/device-access.js';
import { EnvironmentDashboard } from './constructs/environment-dashboard.js';
import { FifoQueuePair } from './constructs/fifo-queue-pair.js';
import { LbaasFunction } from './constructs/lbaas-function.js';
import { OctaviaApi } from './constructs/octavia-api.js';
import type { SharedStack } from './shared-stack.js';

export interface EnvironmentStackProps extends StackProps {
  config: LbaasConfig;
  environment: EnvironmentConfig;
  shared: SharedStack;
  configDir: string;
}

const SCHEDULER_TIMEOUT = Duration.seconds(30);
const WORKER_TIMEOUT = Duration.seconds(60);
/** AWS's guidance for a queue that feeds a Lambda function: visibility ≥ 6 × the function timeout. */
const VISIBILITY_FACTOR = 6;
/**
 * A partition lease must outlive the longest apply that holds it, or a second writer could take it
 * while the first still writes: the worker's timeout, plus a margin for the release write.
 */
export const LEASE_SECONDS = WORKER_TIMEOUT.toSeconds() + 30;
/** Where the devices' CA bundle lands in an agent function's package. */
const CA_BUNDLE_FILE = 'ca-bundle.pem';

/**
 * One environment: its request queue and scheduler, and per agent a queue, a worker and a
 * heartbeat; the reclaimer; the path to the devices; the dashboard and alarms. Every function
 * gets exactly the access it uses.
 */
export class EnvironmentStack extends Stack {
  constructor(scope: Construct, id: string, props: EnvironmentStackProps) {
    super(scope, id, props);
    const { config, environment: e, shared } = props;
    const base = `${config.name}-${e.prefix}`;
    const tables = shared.tables;
    // Each function gets only the variables its configuration reader reads (the bundles suite checks it).
    const common = {
      [ENV_VARS.environment]: e.prefix,
      POWERTOOLS_METRICS_NAMESPACE: 'BigIpLbaas',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    };
    const liveness = { [ENV_VARS.agentDownTimeSeconds]: String(e.agentDownTimeSeconds) };
    // The queue consumers' retry back-off and last attempt.
    const retries = {
      [ENV_VARS.maxAttempts]: String(e.maxAttempts),
      [ENV_VARS.retryBaseSeconds]: String(e.retryBaseSeconds),
      [ENV_VARS.retryMaxSeconds]: String(e.retryMaxSeconds),
    };
    const use = (fn: LbaasFunction, grants: Partial<Record<TableId, 'read' | 'readWrite'>>) => {
      for (const [tableId, access] of Object.entries(grants) as [TableId, 'read' | 'readWrite'][]) {
        fn.useTable(tableId, tables[tableId], access);
      }
      return fn;
    };

    const requests = new FifoQueuePair(this, 'Requests', {
      queueName: `${base}-requests`,
      maxReceiveCount: e.maxAttempts,
      visibilityTimeout: Duration.seconds(SCHEDULER_TIMEOUT.toSeconds() * VISIBILITY_FACTOR),
    });
    const agentQueues = Object.fromEntries(
      e.agents.map((a) => [
        a.host,
        new FifoQueuePair(this, `Agent-${a.host}-Queue`, {
          queueName: `${base}-agent-${a.host}`,
          maxReceiveCount: e.maxAttempts,
          visibilityTimeout: Duration.seconds(WORKER_TIMEOUT.toSeconds() * VISIBILITY_FACTOR),
        }),
      ]),
    );
    // Each device group has its own path to its devices, and its own functions that read them.
    const groups = e.groups.map((group) => {
      const named = group.name !== DEFAULT_GROUP;
      const suffix = named ? `-${group.name}` : '';
      const devices = new DeviceAccess(this, `Devices${suffix}`, {
        name: config.name,
        env: e.prefix,
        group,
        configDir: props.configDir,
      });
      const deviceEnv = {
        [ENV_VARS.devices]: JSON.stringify(
          devices.endpoints.map(({ caBundle: _ca, ...endpoint }) => endpoint),
        ),
        [ENV_VARS.deviceSecretId]: devices.secret.secretArn,
        [ENV_VARS.clusterName]: `${e.prefix}${suffix}-devices`,
        [ENV_VARS.group]: group.name,
        ...(devices.caBundlePath ? { [ENV_VARS.caBundleFile]: CA_BUNDLE_FILE } : {}),
        ...(group.devices.deviceGroup && group.devices.units.length > 1
          ? { [ENV_VARS.deviceGroup]: group.devices.deviceGroup }
          : {}),
        ...(group.devices.trafficGroup ? { [ENV_VARS.trafficGroup]: group.devices.trafficGroup } : {}),
        // The agents write each segmented network's objects; the reconciler checks them (tenant-networks.md).
        ...(e.networks.length > 0 ? { [ENV_VARS.networks]: JSON.stringify(e.networks) } : {}),
      };
      return { group, suffix, devices, deviceEnv };
    });

    const groupLimits = JSON.stringify(e.groups.map((g) => ({ name: g.name, limits: g.capacity })));

    // The scheduler: many concurrent copies, one request queue.
    const scheduler = use(
      new LbaasFunction(this, 'Scheduler', {
        handler: 'scheduler',
        description: `${e.prefix}: schedules LBaaS requests onto agents`,
        timeout: SCHEDULER_TIMEOUT,
        environment: {
          ...common,
          ...liveness,
          ...retries,
          [ENV_VARS.selection]: e.selection,
          [ENV_VARS.agentCacheSeconds]: '2',
          [ENV_VARS.groups]: groupLimits,
          // A request's subnets and addresses are checked against them (network-checks.ts).
          ...(e.networks.length > 0 ? { [ENV_VARS.networks]: JSON.stringify(e.networks) } : {}),
        },
      }),
      // agents: read for decisions, write for each agent's load balancer count; groups: usage and counts.
      {
        agents: 'readWrite',
        bindings: 'readWrite',
        affinity: 'readWrite',
        resources: 'readWrite',
        idempotency: 'readWrite',
        claims: 'readWrite',
        groups: 'readWrite',
      },
    );
    scheduler.consumes(requests.queue, ENV_VARS.requestQueueUrl);
    for (const pair of Object.values(agentQueues)) scheduler.sendsTo(pair.queue);
    scheduler.fn.addEventSource(
      new SqsEventSource(requests.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: e.schedulerConcurrency,
      }),
    );

    const functions: Record<string, LbaasFunction> = { scheduler };
    const heartbeatBeats = Math.max(1, Math.floor(60 / e.heartbeatIntervalSeconds));
    for (const agent of e.agents) {
      const { devices, deviceEnv } = groups.find(
        (g) => g.group.name === agent.group,
      ) as (typeof groups)[number];
      const pair = agentQueues[agent.host] as FifoQueuePair;
      const placement = devices.placementFor(agent);
      const agentEnv = {
        ...common,
        ...liveness,
        ...deviceEnv,
        [ENV_VARS.agentHost]: agent.host,
        [ENV_VARS.agentQueueUrl]: pair.queue.queueUrl,
      };

      const worker = use(
        new LbaasFunction(this, `Agent-${agent.host}-Worker`, {
          handler: 'agent-worker',
          description: `${e.prefix}/${agent.host}: applies requests to the BIG-IP devices`,
          timeout: WORKER_TIMEOUT,
          memorySize: 512,
          environment: { ...agentEnv, ...retries, [ENV_VARS.leaseSeconds]: String(LEASE_SECONDS) },
          ...(placement ?? {}),
          ...(devices.caBundlePath ? { files: { [CA_BUNDLE_FILE]: devices.caBundlePath } } : {}),
        }),
        {
          agents: 'readWrite',
          bindings: 'readWrite',
          affinity: 'readWrite',
          resources: 'readWrite',
          leases: 'readWrite',
          claims: 'readWrite',
          groups: 'readWrite',
          // A deleted load balancer's statistics are removed with it.
          statistics: 'readWrite',
        },
      );
      worker.consumes(pair.queue, ENV_VARS.agentQueueUrl);
      worker.fn.addEventSource(
        new SqsEventSource(pair.queue, {
          batchSize: 10,
          reportBatchItemFailures: true,
          maxConcurrency: e.workerConcurrency,
        }),
      );
      devices.grantAccess(worker.fn);
      this.grantCertificateRead(worker.fn, e.prefix);

      const heartbeat = use(
        new LbaasFunction(this, `Agent-${agent.host}-Heartbeat`, {
          handler: 'heartbeat',
          description: `${e.prefix}/${agent.host}: heartbeat through the agent's own path`,
          timeout: Duration.seconds(Math.min(900, heartbeatBeats * e.heartbeatIntervalSeconds + 20)),
          memorySize: 128,
          // Throttling elsewhere in the account must not stop heartbeats and mark healthy agents dead.
          reservedConcurrency: e.heartbeatReservedConcurrency,
          environment: {
            ...agentEnv,
            [ENV_VARS.agentId]: agentIdOf(e, agent),
            [ENV_VARS.heartbeatIntervalSeconds]: String(e.heartbeatIntervalSeconds),
            [ENV_VARS.beatsPerInvocation]: String(heartbeatBeats),
            ...(e.rebindAfterSeconds ? { [ENV_VARS.rebindAfterSeconds]: String(e.rebindAfterSeconds) } : {}),
          },
          ...(placement ?? {}),
          ...(devices.caBundlePath ? { files: { [CA_BUNDLE_FILE]: devices.caBundlePath } } : {}),
        }),
        {
          agents: 'readWrite',
          bindings: e.rebindAfterSeconds ? 'readWrite' : 'read',
          affinity: e.rebindAfterSeconds ? 'readWrite' : 'read',
        },
      );
      devices.grantAccess(heartbeat.fn);
      new Rule(this, `Agent-${agent.host}-HeartbeatSchedule`, {
        description: `${e.prefix}/${agent.host}: ${heartbeatBeats} heartbeat(s) a minute`,
        schedule: Schedule.rate(Duration.minutes(1)),
        targets: [new LambdaFunction(heartbeat.fn, { retryAttempts: 0 })],
      });
      functions[`${agent.host} worker`] = worker;
      functions[`${agent.host} heartbeat`] = heartbeat;
    }

    // The reclaimer moves requests stranded on dead agents' queues.
    const reclaimer = use(
      new LbaasFunction(this, 'Reclaimer', {
        handler: 'reclaimer',
        description: `${e.prefix}: moves requests stranded on dead agents to live ones`,
        timeout: Duration.seconds(Math.min(900, heartbeatBeats * e.heartbeatIntervalSeconds + 30)),
        environment: {
          ...common,
          ...liveness,
          [ENV_VARS.heartbeatIntervalSeconds]: String(e.heartbeatIntervalSeconds),
          [ENV_VARS.beatsPerInvocation]: String(heartbeatBeats),
          [ENV_VARS.agentQueues]: this.toJsonString(
            Object.fromEntries(
              Object.entries(agentQueues).map(([host, pair]) => [host, pair.queue.queueUrl]),
            ),
          ),
        },
      }),
      { agents: 'read', bindings: 'read', affinity: 'read' },
    );
    for (const pair of Object.values(agentQueues)) {
      pair.queue.grantConsumeMessages(reclaimer.fn);
      pair.queue.grant(reclaimer.fn, 'sqs:ChangeMessageVisibility');
      pair.queue.grantSendMessages(reclaimer.fn);
    }
    new Rule(this, 'ReclaimerSchedule', {
      description: `${e.prefix}: reclaim requests stranded on dead agents`,
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [new LambdaFunction(reclaimer.fn, { retryAttempts: 0 })],
    });
    functions.reclaimer = reclaimer;

    // The status poller and the reconciler: one of each per device group, reading its active unit.
    const polls = pollsPerMinute(e.healthIntervalSeconds * 1000);
    const reconcilers: Record<string, string> = {};
    for (const { group, suffix, devices, deviceEnv } of groups) {
      const of = group.name === DEFAULT_GROUP ? '' : ` (group ${group.name})`;
      const firstAgent = group.agents[0];
      const pollerPlacement = firstAgent
        ? devices.placementFor({ ...firstAgent, host: `health-poller${suffix}` })
        : undefined;
      const healthPoller = use(
        new LbaasFunction(this, `HealthPoller${suffix}`, {
          handler: 'health-poller',
          description: `${e.prefix}${of}: operating statuses, statistics and capacity from the active BIG-IP`,
          timeout: Duration.seconds(Math.min(900, polls * e.healthIntervalSeconds + 30)),
          memorySize: 256,
          // One poll at a time per cluster: overlapping scrapes load device CPUs (and a quiet poll writes nothing).
          reservedConcurrency: 1,
          environment: {
            ...common,
            ...liveness,
            ...deviceEnv,
            [ENV_VARS.healthIntervalSeconds]: String(e.healthIntervalSeconds),
            // Its group's limits give the capacity score its alarm watches.
            [ENV_VARS.groups]: groupLimits,
          },
          ...(pollerPlacement ?? {}),
          ...(devices.caBundlePath ? { files: { [CA_BUNDLE_FILE]: devices.caBundlePath } } : {}),
        }),
        {
          agents: 'read',
          bindings: 'read',
          resources: 'readWrite',
          statistics: 'readWrite',
          groups: 'readWrite',
        },
      );
      devices.grantAccess(healthPoller.fn);
      // A schedule that fires while a poll still runs is throttled (reserved concurrency 1): drop it
      // rather than let Lambda queue it, so polls never pile up behind a slow device.
      healthPoller.fn.configureAsyncInvoke({ maxEventAge: Duration.minutes(1), retryAttempts: 0 });
      new Rule(this, `HealthPollerSchedule${suffix}`, {
        description: `${e.prefix}${of}: ${polls} status poll(s) a minute`,
        schedule: Schedule.rate(Duration.minutes(Math.max(1, Math.round(e.healthIntervalSeconds / 60)))),
        targets: [new LambdaFunction(healthPoller.fn, { retryAttempts: 0 })],
      });
      functions[`health poller${of}`] = healthPoller;

      // The reconciler: drift, orphans and replaced units, on a schedule and on demand (`lbaas sync`).
      const reconciler = use(
        new LbaasFunction(this, `Reconciler${suffix}`, {
          handler: 'reconciler',
          description: `${e.prefix}${of}: finds and repairs drift between the BIG-IPs and the desired state`,
          // A run that needs longer (restoring a large replaced unit) goes on where it stopped next time.
          timeout: Duration.minutes(15),
          memorySize: 512,
          reservedConcurrency: 1,
          environment: {
            ...common,
            ...deviceEnv,
            [ENV_VARS.reconcileDrift]: e.reconcileDrift,
            [ENV_VARS.reconcileOrphans]: e.reconcileOrphans,
            [ENV_VARS.leaseSeconds]: String(LEASE_SECONDS),
          },
          ...(pollerPlacement ?? {}),
          ...(devices.caBundlePath ? { files: { [CA_BUNDLE_FILE]: devices.caBundlePath } } : {}),
        }),
        { agents: 'read', bindings: 'read', resources: 'readWrite', leases: 'readWrite' },
      );
      devices.grantAccess(reconciler.fn);
      this.grantCertificateRead(reconciler.fn, e.prefix);
      reconciler.fn.configureAsyncInvoke({ maxEventAge: Duration.minutes(5), retryAttempts: 0 });
      new Rule(this, `ReconcilerSchedule${suffix}`, {
        description: `${e.prefix}${of}: reconcile every ${e.reconcileIntervalMinutes} minutes (drift: ${e.reconcileDrift}, orphans: ${e.reconcileOrphans})`,
        schedule: Schedule.rate(Duration.minutes(e.reconcileIntervalMinutes)),
        targets: [new LambdaFunction(reconciler.fn, { retryAttempts: 0 })],
      });
      functions[`reconciler${of}`] = reconciler;
      reconcilers[group.name] = reconciler.fn.functionName;
    }

    // Alarms go to an encrypted, TLS-only topic.
    const topicKey = new Key(this, 'AlarmTopicKey', {
      enableKeyRotation: true,
      description: `${base} alarm topic`,
    });
    topicKey.addToResourcePolicy(
      new PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        resources: ['*'],
      }),
    );
    const alarmTopic = new Topic(this, 'Alarms', {
      topicName: `${base}-alarms`,
      masterKey: topicKey,
      enforceSSL: true,
    });
    if (config.alarmEmail) alarmTopic.addSubscription(new EmailSubscription(config.alarmEmail));
    // The Octavia v2 API, when the environment configures one.
    const octavia = e.api
      ? new OctaviaApi(this, 'OctaviaApi', {
          base,
          environment: e,
          settings: e.api,
          common,
          tables,
          requestQueue: requests.queue,
          alarmTopic,
        })
      : undefined;
    if (octavia) {
      functions.api = octavia.fn;
      functions['api authorizer'] = octavia.authorizerFn;
    }
    new EnvironmentDashboard(this, 'Observability', {
      env: e.prefix,
      hosts: e.agents.map((a) => a.host),
      requestQueue: requests.queue,
      requestDlq: requests.deadLetterQueue,
      agentQueues: Object.fromEntries(
        Object.entries(agentQueues).map(([h, p]) => [h, { queue: p.queue, dlq: p.deadLetterQueue }]),
      ),
      functions: Object.fromEntries(Object.entries(functions).map(([k, f]) => [k, f.fn])),
      alarmTopic,
      healthAlarmMinutes: e.healthAlarmMinutes,
      groups: e.groups.map((g) => ({ name: g.name, hosts: g.agents.map((a) => a.host) })),
      capacityAlarmScore: e.capacityAlarmScore,
      ...(octavia ? { api: octavia.api } : {}),
    });

    // What the lbaas CLI reads to find this environment.
    const output = (key: string, value: string, description: string) =>
      new CfnOutput(this, key, { value, description });
    output(
      OUTPUTS.requestQueueUrl,
      requests.queue.queueUrl,
      'Submit LBaaS requests here (FIFO: group = load balancer id)',
    );
    output(OUTPUTS.requestDlqUrl, requests.deadLetterQueue.queueUrl, 'Requests that could not be scheduled');
    output(
      OUTPUTS.agentQueuePrefix,
      `https://sqs.${this.region}.amazonaws.com/${this.account}/${base}-agent-`,
      'Agent queue URLs are this prefix + host + .fifo (-dlq.fifo for dead letters)',
    );
    output(OUTPUTS.agentHosts, e.agents.map((a) => a.host).join(','), 'Agent host names');
    output(
      OUTPUTS.reconcilerFunction,
      this.toJsonString(reconcilers),
      'lbaas sync invokes these functions (one reconciler per device group)',
    );
    output(OUTPUTS.tables, this.toJsonString(shared.names), 'Shared table names');
    if (octavia)
      output(
        OUTPUTS.octaviaApiUrl,
        octavia.api.url,
        'The Octavia v2 API (openstack --os-endpoint, openstacksdk, Terraform)',
      );
    output(
      OUTPUTS.agentDownTimeSeconds,
      String(e.agentDownTimeSeconds),
      'Heartbeat age after which an agent is dead',
    );
    Validations.of(this).acknowledge({
      id: 'AwsSolutions::AwsSolutions-L1',
      reason: 'Functions run Node.js 24, the newest runtime aws-cdk-lib offers.',
    });
  }

  /**
   * TERMINATED_HTTPS certificates: the environment's secrets only (`lbaas/<env>/*`, what `lbaas cert
   * import` creates), read-only. Secrets encrypted with the account's default key need no KMS grant.
   */
  private grantCertificateRead(fn: IFunction, env: string): void {
    const resourceName = `lbaas/${env}/*`;
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [
          this.formatArn({
            service: 'secretsmanager',
            resource: 'secret',
            resourceName,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
    const literal = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<${pseudo}>` : value);
    const arn = `arn:${literal(this.partition, 'AWS::Partition')}:secretsmanager:${literal(this.region, 'AWS::Region')}:${literal(this.account, 'AWS::AccountId')}:secret:${resourceName}`;
    Validations.of(fn.role ?? fn).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::${arn}]`,
      reason: `Certificates are one secret each, created later by lbaas cert import under lbaas/${env}/: their names are not known at deploy time, only their prefix.`,
    });
  }
}
