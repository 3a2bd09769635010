import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import {
  readAgentConfig,
  readApiConfig,
  readAuthorizerConfig,
  readHealthPollerConfig,
  readHeartbeatConfig,
  readReclaimerConfig,
  readReconcilerConfig,
  readSchedulerConfig,
} from '../../functions/shared/config.js';
import { METRIC_NAMESPACE, METRICS } from '../../functions/shared/metric-names.js';
import { buildApp } from '../../lib/app.js';
import { ConfigError, parseConfig } from '../../lib/config/lbaas-config.js';

const ROOT = join(import.meta.dirname, '..', '..');
const sample = () => JSON.parse(readFileSync(join(ROOT, 'lbaas.config.json'), 'utf8'));

/** Synthesizes the app for a configuration (esbuild skipped: the bundles are not under test here). */
function synth(config: unknown = sample()) {
  const dir = join(ROOT, 'test', 'fixtures');
  const path = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(config));
  try {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    buildApp(app, path);
    const assembly = app.synth();
    const template = (name: string) => Template.fromJSON(assembly.getStackByName(name).template);
    return { app, assembly, template };
  } finally {
    rmSync(path);
  }
}

const twoEnvironments = () => {
  const config = sample();
  const second = structuredClone(config.environments[0]);
  second.prefix = 'Staging';
  second.devices.credentialsSecretName = 'bigip-lbaas/Staging/devices';
  // An environment without the Octavia API (it is deployed only where configured).
  delete second.api;
  second.devices.access = 'direct';
  second.agents = ['s1', 's2', 's3'].map((host, i) => ({ host, subnetIds: [`subnet-0a1b2c3d4e5f6071${i}`] }));
  config.environments.push(second);
  return config;
};

describe('the devices’ CA bundle', () => {
  it('ships as a file in the agent functions’ package: every environment stays under Lambda’s 4 KB with three certificates', () => {
    const config = sample();
    const tls = join(ROOT, 'test', 'fixtures', 'tls');
    const bundle = join(tls, `bundle-${Math.random().toString(36).slice(2)}.pem`);
    writeFileSync(
      bundle,
      ['ca.pem', 'other-ca.pem', 'device.pem'].map((f) => readFileSync(join(tls, f), 'utf8')).join('\n'),
    );
    try {
      config.environments[0].devices.access = 'direct';
      config.environments[0].devices.caBundleFile = bundle;
      const { template } = synth(config);
      const functions = Object.values(template('lbaas-Project').findResources('AWS::Lambda::Function')) as {
        Properties: { Environment: { Variables: Record<string, unknown> } };
      }[];
      for (const fn of functions) {
        const variables = fn.Properties.Environment.Variables;
        // Lambda counts keys and values; tokens resolve to ARNs and URLs of about 100 characters.
        const size = Object.entries(variables).reduce(
          (sum, [k, v]) => sum + k.length + (typeof v === 'string' ? v.length : 100),
          0,
        );
        expect(size, String(variables.POWERTOOLS_SERVICE_NAME)).toBeLessThan(4096);
        expect(JSON.stringify(variables)).not.toContain('BEGIN CERTIFICATE');
        if (['agent-worker', 'heartbeat'].includes(String(variables.POWERTOOLS_SERVICE_NAME)))
          expect(variables.LBAAS_CA_BUNDLE_FILE).toBe('ca-bundle.pem');
      }
    } finally {
      rmSync(bundle);
    }
  });

  it('is read from the package root at cold start', () => {
    const tls = join(ROOT, 'test', 'fixtures', 'tls');
    const env = {
      LBAAS_ENVIRONMENT: 'Project',
      LBAAS_AGENT_HOST: 'agent-1',
      LBAAS_AGENT_QUEUE_URL: 'https://sqs.example/0/q.fifo',
      LBAAS_DEVICES: JSON.stringify([{ name: 'bigip-a', baseUrl: 'https://10.0.0.5' }]),
      LBAAS_DEVICE_SECRET_ID: 'arn:secret',
      LBAAS_CA_BUNDLE_FILE: 'ca.pem',
      LAMBDA_TASK_ROOT: tls,
      ...Object.fromEntries(
        ['AGENTS', 'BINDINGS', 'AFFINITY', 'RESOURCES', 'LEASES', 'CLAIMS', 'GROUPS', 'STATISTICS'].map(
          (t) => [`LBAAS_TABLE_${t}`, 't'],
        ),
      ),
    };
    const config = readAgentConfig(env);
    expect(config.devices[0]?.caBundle).toBe(readFileSync(join(tls, 'ca.pem'), 'utf8'));
    expect(() => readAgentConfig({ ...env, LBAAS_CA_BUNDLE_FILE: 'missing.pem' })).toThrow(
      /LBAAS_CA_BUNDLE_FILE names .*missing\.pem/,
    );
  });
});

describe('CDK stacks (sample configuration)', () => {
  const { template, assembly, app } = synth();
  const shared = template('lbaas-shared');
  const env = template('lbaas-Project');

  it('gives every function the environment its own configuration reader needs (it would fail at cold start otherwise)', () => {
    // CloudFormation tokens (queue URLs, table names, API routes) become a placeholder URL.
    const resolve = (v: unknown): string => {
      if (typeof v === 'string') return v;
      const join = (v as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
      if (join) return join[1].map(resolve).join(join[0]);
      return 'https://token.invalid/x';
    };
    const readers: Record<string, (env: Record<string, string>) => unknown> = {
      scheduler: readSchedulerConfig,
      'agent-worker': readAgentConfig,
      heartbeat: readHeartbeatConfig,
      reclaimer: readReclaimerConfig,
      'health-poller': readHealthPollerConfig,
      reconciler: readReconcilerConfig,
      api: readApiConfig,
      'api-authorizer': readAuthorizerConfig,
    };
    const functions = Object.values(env.findResources('AWS::Lambda::Function')) as {
      Properties: { Environment?: { Variables?: Record<string, unknown> } };
    }[];
    const seen: string[] = [];
    for (const fn of functions) {
      const variables = fn.Properties.Environment?.Variables ?? {};
      const kind = variables.POWERTOOLS_SERVICE_NAME as string | undefined;
      const reader = kind ? readers[kind] : undefined;
      if (!reader) continue;
      const resolved = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, resolve(v)]));
      expect(() => reader(resolved), `${kind}`).not.toThrow();
      seen.push(kind as string);
    }
    expect([...new Set(seen)].sort()).toEqual([
      'agent-worker',
      'api',
      'api-authorizer',
      'health-poller',
      'heartbeat',
      'reclaimer',
      'reconciler',
      'scheduler',
    ]);
  });

  it('gives the status poller its groups’ limits, as the scheduler (its capacity score feeds the capacity alarm)', () => {
    const config = sample();
    config.environments[0].capacity = { maxLoadBalancers: 40 };
    const functions = Object.values(
      synth(config).template('lbaas-Project').findResources('AWS::Lambda::Function'),
    ) as { Properties: { Environment: { Variables: Record<string, unknown> } } }[];
    const groupsOf = (service: string) =>
      functions
        .map((f) => f.Properties.Environment.Variables)
        .filter((v) => v.POWERTOOLS_SERVICE_NAME === service)
        .map((v) => v.LBAAS_GROUPS);
    const expected = JSON.stringify([{ name: 'default', limits: { maxLoadBalancers: 40 } }]);
    expect(groupsOf('health-poller')).toEqual([expected]);
    expect(groupsOf('scheduler')).toEqual([expected]);
  });

  it('has the shared tables: on-demand, point-in-time recovery, KMS, deletion protection, TTL, the by-agent index', () => {
    shared.resourceCountIs('AWS::DynamoDB::GlobalTable', 10);
    shared.allResourcesProperties('AWS::DynamoDB::GlobalTable', {
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: Match.objectLike({ SSEEnabled: true, SSEType: 'KMS' }),
      Replicas: [
        Match.objectLike({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          DeletionProtectionEnabled: true,
        }),
      ],
    });
    shared.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: 'lbaas-leases',
      TimeToLiveSpecification: { AttributeName: 'expiresAtSeconds', Enabled: true },
    });
    shared.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: 'lbaas-idempotency',
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
    });
    shared.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: 'lbaas-bindings',
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: 'by-agent',
          KeySchema: [
            { AttributeName: 'agentKey', KeyType: 'HASH' },
            { AttributeName: 'loadbalancerId', KeyType: 'RANGE' },
          ],
        }),
      ],
    });
    shared.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('has the request FIFO queue with its dead-letter queue, and a queue pair per agent', () => {
    env.resourceCountIs('AWS::SQS::Queue', 8);
    env.allResourcesProperties('AWS::SQS::Queue', { FifoQueue: true, SqsManagedSseEnabled: true });
    env.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'lbaas-Project-requests.fifo',
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 8 },
    });
    for (const host of ['agent-1', 'agent-2', 'agent-3']) {
      env.hasResourceProperties('AWS::SQS::Queue', {
        QueueName: `lbaas-Project-agent-${host}.fifo`,
        RedrivePolicy: Match.anyValue(),
      });
    }
    // TLS only.
    env.allResourcesProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('runs Node.js 24 on ARM64, with timeouts below their queues’ visibility timeouts', () => {
    const functions = env.findResources('AWS::Lambda::Function');
    // Scheduler, a worker and a heartbeat per agent, the reclaimer, the status poller, the reconciler,
    // the Octavia API and its authorizer.
    expect(Object.keys(functions)).toHaveLength(1 + 3 * 2 + 1 + 1 + 1 + 2);
    for (const f of Object.values(functions)) {
      expect(f.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
    }
    const queues = env.findResources('AWS::SQS::Queue');
    const mappings = env.findResources('AWS::Lambda::EventSourceMapping');
    expect(Object.keys(mappings)).toHaveLength(4);
    // Agents' workers at the environment's workerConcurrency (5 by default), the scheduler at its own.
    const concurrencies = Object.values(mappings).map((m) => m.Properties.ScalingConfig.MaximumConcurrency);
    expect(concurrencies.sort()).toEqual([10, 5, 5, 5].sort());
    for (const m of Object.values(mappings)) {
      expect(m.Properties).toMatchObject({
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: expect.any(Number) },
      });
      const fn = functions[m.Properties.FunctionName.Ref];
      const queue = queues[m.Properties.EventSourceArn['Fn::GetAtt'][0]];
      expect(fn?.Properties.Timeout).toBeLessThan(queue?.Properties.VisibilityTimeout);
    }
  });

  it('reconciles every 15 minutes, repairing drift and reporting orphans by default, one run at a time', () => {
    const reconciler = Object.values(env.findResources('AWS::Lambda::Function')).find(
      (f) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'reconciler',
    );
    expect(reconciler?.Properties).toMatchObject({
      Timeout: 900,
      ReservedConcurrentExecutions: 1,
      Environment: { Variables: { LBAAS_RECONCILE_DRIFT: 'repair', LBAAS_RECONCILE_ORPHANS: 'report' } },
    });
    const variables = Object.keys(reconciler?.Properties.Environment.Variables ?? {});
    expect(variables.filter((v) => v.startsWith('LBAAS_TABLE_')).sort()).toEqual([
      'LBAAS_TABLE_AGENTS',
      'LBAAS_TABLE_BINDINGS',
      'LBAAS_TABLE_LEASES',
      'LBAAS_TABLE_RESOURCES',
    ]);
    env.hasOutput('ReconcilerFunctionName', Match.anyValue());
  });

  it('polls device health once a minute, one poll at a time, reading and writing only what it needs', () => {
    env.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          LBAAS_HEALTH_INTERVAL_SECONDS: '60',
          LBAAS_TABLE_STATISTICS: Match.anyValue(),
          LBAAS_DEVICES: Match.anyValue(),
        }),
      },
      ReservedConcurrentExecutions: 1,
    });
    const poller = Object.entries(env.findResources('AWS::Lambda::Function')).find(
      ([, f]) => f.Properties.Environment?.Variables?.LBAAS_HEALTH_INTERVAL_SECONDS,
    );
    const variables = Object.keys(poller?.[1].Properties.Environment.Variables ?? {});
    // No claims, affinity, leases or idempotency table: it never writes requests or bindings.
    expect(variables.filter((v) => v.startsWith('LBAAS_TABLE_')).sort()).toEqual([
      'LBAAS_TABLE_AGENTS',
      'LBAAS_TABLE_BINDINGS',
      'LBAAS_TABLE_GROUPS',
      'LBAAS_TABLE_RESOURCES',
      'LBAAS_TABLE_STATISTICS',
    ]);
    // A schedule that fires while a poll runs is dropped, not queued.
    env.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumEventAgeInSeconds: 60,
      MaximumRetryAttempts: 0,
    });
  });

  it('beats every agent from its own one-minute schedule (two beats per invocation), and reclaims once a minute', () => {
    // A heartbeat per agent, the reclaimer, the status poller (each minute), the reconciler (15 minutes).
    env.resourceCountIs('AWS::Events::Rule', 6);
    const schedules = Object.values(env.findResources('AWS::Events::Rule')).map(
      (r) => r.Properties.ScheduleExpression,
    );
    expect(schedules.sort()).toEqual([...Array(5).fill('rate(1 minute)'), 'rate(15 minutes)'].sort());
    env.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          LBAAS_AGENT_HOST: 'agent-2',
          LBAAS_BEATS_PER_INVOCATION: '2',
          LBAAS_HEARTBEAT_INTERVAL_SECONDS: '30',
          LBAAS_AGENT_ID: 'Project.agent-2',
        }),
      },
      Timeout: 80,
    });
  });

  it('reaches the devices through an IAM-authorised HTTP API, a VPC link and an internal NLB, 443 only', () => {
    env.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internal',
      Type: 'network',
    });
    env.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 2);
    env.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      TargetType: 'ip',
      Port: 443,
      Targets: [{ Id: '10.20.0.11', Port: 443 }],
    });
    env.resourceCountIs('AWS::ApiGatewayV2::VpcLink', 1);
    env.resourceCountIs('AWS::ApiGatewayV2::Route', 2);
    env.allResourcesProperties('AWS::ApiGatewayV2::Route', { AuthorizationType: 'AWS_IAM' });
    env.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'ANY /bigip-a/{proxy+}' });
    env.hasResourceProperties('AWS::ApiGatewayV2::Stage', { AccessLogSettings: Match.anyValue() });
    const egress = Object.values(env.findResources('AWS::EC2::SecurityGroup')).flatMap(
      (sg) => sg.Properties.SecurityGroupEgress ?? [],
    );
    const toDevices = egress.filter((r: { CidrIp?: string }) => r.CidrIp);
    expect(
      toDevices.map((r: { CidrIp: string; FromPort: number }) => `${r.CidrIp}:${r.FromPort}`).sort(),
    ).toEqual(['10.20.0.11/32:443', '10.20.0.12/32:443']);
  });

  it('gives every function least privilege: named actions only, its own queue, its environment’s secret', () => {
    const policies = env.findResources('AWS::IAM::Policy');
    const statements = Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
    for (const s of statements) {
      for (const action of [s.Action].flat()) expect(String(action)).not.toMatch(/\*/);
    }
    // The agent-1 worker consumes only its own queue.
    const worker = Object.entries(policies).find(([id]) =>
      id.startsWith('Agentagent1WorkerRoleDefaultPolicy'),
    )?.[1];
    const receive = worker?.Properties.PolicyDocument.Statement.filter((s: { Action: string[] }) =>
      [s.Action].flat().includes('sqs:ReceiveMessage'),
    );
    expect(receive).toHaveLength(1);
    expect(JSON.stringify(receive[0].Resource)).toContain('Agentagent1Queue');
    expect(JSON.stringify(worker?.Properties.PolicyDocument)).not.toContain('Agentagent2Queue');
    expect(JSON.stringify(worker?.Properties.PolicyDocument)).toContain('DevicesDeviceCredentials');
    // A Scan only of the leases table (small by construction), by the writers that hold its leases.
    const scans = Object.entries(policies).flatMap(([id, p]) =>
      (p.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[])
        .filter((st) => [st.Action].flat().includes('dynamodb:Scan'))
        .map((st) => ({ id, resource: JSON.stringify(st.Resource) })),
    );
    expect(scans.length).toBeGreaterThan(0);
    for (const { id, resource } of scans) {
      expect(resource).toMatch(/[Ll]eases/);
      expect(resource).not.toMatch(/[Rr]esources|[Bb]indings|[Aa]gents/);
      expect(id).toMatch(/Worker|Reconciler/);
    }
  });

  it('lets only agent workers and reconcilers read certificates, and only the environment’s (lbaas/<env>/*)', () => {
    const policies = Object.entries(env.findResources('AWS::IAM::Policy'));
    const readers = policies.filter(([, p]) =>
      JSON.stringify(p.Properties.PolicyDocument).includes('secretsmanager:GetSecretValue'),
    );
    const certificateReaders = readers.filter(([, p]) =>
      JSON.stringify(p.Properties.PolicyDocument).includes(':secret:lbaas/Project/*'),
    );
    expect(
      certificateReaders
        .map(([id]) => id.replace(/ServiceRoleDefaultPolicy.*$/, '').replace(/[0-9A-F]{8}$/, ''))
        .sort(),
    ).toEqual(expect.arrayContaining([expect.stringMatching(/Worker/), expect.stringMatching(/Reconciler/)]));
    for (const [id, p] of certificateReaders) {
      expect(id).toMatch(/Worker|Reconciler/);
      const statement = (
        p.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[]
      ).find((st) => JSON.stringify(st).includes(':secret:lbaas/Project/*'));
      expect(statement?.Action).toBe('secretsmanager:GetSecretValue');
    }
  });

  it('scopes every function’s log permissions to its own log group; no role uses the managed basic execution role', () => {
    const roles = env.findResources('AWS::IAM::Role');
    for (const role of Object.values(roles)) {
      expect(JSON.stringify(role.Properties.ManagedPolicyArns ?? [])).not.toContain(
        'AWSLambdaBasicExecutionRole',
      );
    }
    const functions = env.findResources('AWS::Lambda::Function');
    const policies = Object.values(env.findResources('AWS::IAM::Policy'));
    for (const fn of Object.values(functions)) {
      const roleId = fn.Properties.Role['Fn::GetAtt'][0] as string;
      const logGroupId = fn.Properties.LoggingConfig.LogGroup.Ref as string;
      const own = policies.filter((p) => JSON.stringify(p.Properties.Roles).includes(roleId));
      const logs = own
        .flatMap((p) => p.Properties.PolicyDocument.Statement)
        .filter((st: { Action: string[] }) => [st.Action].flat().some((a) => String(a).startsWith('logs:')));
      expect(logs).toHaveLength(1);
      // Every resource of the statement is this function's own log group (or its streams).
      for (const r of [logs[0].Resource].flat()) expect(JSON.stringify(r)).toContain(logGroupId);
    }
  });

  it('keeps the limits nothing else checks: queue visibility ≥ 6 × timeout, lease ≥ worker timeout, reserved heartbeats', () => {
    const functions = Object.values(env.findResources('AWS::Lambda::Function')) as {
      Properties: {
        Timeout: number;
        ReservedConcurrentExecutions?: number;
        Environment: { Variables: Record<string, unknown> };
      };
    }[];
    const queues = Object.values(env.findResources('AWS::SQS::Queue')) as {
      Properties: { QueueName: string; VisibilityTimeout?: number };
    }[];
    const timeoutOf = (service: string) =>
      Math.max(
        ...functions
          .filter((f) => f.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME === service)
          .map((f) => f.Properties.Timeout),
      );
    for (const q of queues.filter((x) => !x.Properties.QueueName.includes('-dlq'))) {
      const consumer = q.Properties.QueueName.includes('-requests') ? 'scheduler' : 'agent-worker';
      expect(q.Properties.VisibilityTimeout, q.Properties.QueueName).toBeGreaterThanOrEqual(
        6 * timeoutOf(consumer),
      );
    }
    for (const f of functions) {
      const v = f.Properties.Environment.Variables;
      if (v.POWERTOOLS_SERVICE_NAME === 'agent-worker')
        expect(Number(v.LBAAS_LEASE_SECONDS)).toBeGreaterThanOrEqual(f.Properties.Timeout);
      if (v.POWERTOOLS_SERVICE_NAME === 'heartbeat')
        expect(f.Properties.ReservedConcurrentExecutions).toBe(2);
    }
  });

  it('passes cdk-nag AwsSolutions checks with no unacknowledged findings (each acknowledgement says why)', () => {
    // buildApp registered the plugin; synth() above would have thrown on a finding.
    expect(assembly.stacks.map((s) => s.stackName).sort()).toEqual(['lbaas-Project', 'lbaas-shared']);
    const acknowledged: [string, string][] = [];
    for (const c of app.node.findAll()) {
      for (const m of c.node.metadata) {
        if (m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          acknowledged.push(...Object.entries(m.data as Record<string, string>));
      }
    }
    expect(acknowledged.length).toBeGreaterThan(10);
    for (const [id, reason] of acknowledged) expect(reason.length, `reason for ${id}`).toBeGreaterThan(30);
  });

  it('exports what the CLI needs', () => {
    for (const key of [
      'RequestQueueUrl',
      'RequestDlqUrl',
      'AgentQueueUrlPrefix',
      'AgentHosts',
      'Tables',
      'AgentDownTimeSeconds',
    ]) {
      env.hasOutput(key, Match.anyValue());
    }
    env.hasOutput('AgentHosts', { Value: 'agent-1,agent-2,agent-3' });
  });

  it('alarms on dead letters, no active agent, the oldest request and function errors, to an encrypted topic', () => {
    env.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    env.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'netops@example.com',
    });
    const alarms = Object.values(env.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => a.Properties.AlarmName,
    );
    expect(alarms.sort()).toEqual(
      [
        'RequestsDeadLettered',
        'Agent-agent-1-DeadLettered',
        'Agent-agent-2-DeadLettered',
        'Agent-agent-3-DeadLettered',
        'NoActiveAgent',
        'AgentDown',
        'OldestRequest',
        // Twelve functions: one errors alarm per ten (an alarm's expression takes ten metrics).
        'FunctionErrors-1',
        'FunctionErrors-2',
        'LoadBalancerInError',
        'PoolAllMembersDown',
        'RepairsFailed',
        'ChangesOutgrowInvocation',
        'Group-default-Capacity',
        'GroupAtCapacity',
        'EnvironmentAtCapacity',
        'Api5xxRate',
        'ApiP99Latency',
      ]
        .map((n) => `bigip-lbaas-Project-${n}`)
        .sort(),
    );
    env.allResourcesProperties('AWS::CloudWatch::Alarm', { AlarmActions: [Match.anyValue()] });
  });

  it('alarms when changes keep being cut at their invocation’s time (every agent’s cuts summed), not at one big change’s', () => {
    const alarm = Object.values(env.findResources('AWS::CloudWatch::Alarm'))
      .map((a) => a.Properties)
      .find((p) => p.AlarmName === 'bigip-lbaas-Project-ChangesOutgrowInvocation');
    expect(alarm).toMatchObject({
      Threshold: 3,
      EvaluationPeriods: 5,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    const metrics = alarm.Metrics as {
      Expression?: string;
      MetricStat?: { Metric: { MetricName: string; Dimensions: { Name: string; Value: string }[] } };
    }[];
    const summed = metrics.filter((m) => m.MetricStat);
    expect(
      summed.map((m) => m.MetricStat?.Metric.Dimensions.find((d) => d.Name === 'Agent')?.Value).sort(),
    ).toEqual(['agent-1', 'agent-2', 'agent-3']);
    for (const m of summed) {
      expect(m.MetricStat?.Metric.MetricName).toBe('Applies');
      expect(m.MetricStat?.Metric.Dimensions).toContainEqual({ Name: 'Outcome', Value: 'out-of-time' });
    }
  });

  it('alarms as soon as one enabled agent stops heartbeating (redundancy lost), and when no agent beats at all (#27.13)', () => {
    env.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'bigip-lbaas-Project-AgentDown',
      Namespace: METRIC_NAMESPACE,
      MetricName: 'AgentsDown',
      Dimensions: [{ Name: 'Environment', Value: 'Project' }],
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 1,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      // Every live agent's heartbeat reports it each minute: no data at all means none beats.
      TreatMissingData: 'breaching',
      AlarmActions: [Match.anyValue()],
    });
  });

  it('puts only metrics on the dashboard that the functions emit, with the dimensions they emit them with', () => {
    const dashboards = Object.values(env.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const body = dashboards[0]?.Properties.DashboardBody;
    const text = (body['Fn::Join'][1] as unknown[])
      .map((p) => (typeof p === 'string' ? p : '"TOKEN"'))
      .join('')
      .replaceAll('""TOKEN""', '"TOKEN"');
    const widgets = JSON.parse(text).widgets as { properties: { metrics?: unknown[][] } }[];
    const custom = widgets
      .flatMap((w) => w.properties.metrics ?? [])
      .filter((m) => m[0] === METRIC_NAMESPACE);
    expect(custom.length).toBeGreaterThan(20);
    const definitions = Object.values(METRICS);
    const source = readdirSync(join(ROOT, 'functions'), { recursive: true })
      .filter((f) => String(f).endsWith('.ts'))
      .map((f) => readFileSync(join(ROOT, 'functions', String(f)), 'utf8'))
      .join('\n');
    for (const metric of custom) {
      const [, name, ...rest] = metric as string[];
      const dims = rest.filter((x) => typeof x === 'string').filter((_, i) => i % 2 === 0);
      const def = definitions.find((d) => d.name === name);
      expect(def, `${name} is not a defined metric`).toBeDefined();
      expect([...dims].sort(), `${name} dimensions`).toEqual([...(def?.dimensions ?? [])].sort());
      const key = Object.entries(METRICS).find(([, d]) => d === def)?.[0];
      expect(source, `${name} is never emitted`).toContain(`METRICS.${key}.name`);
    }
  });

  it('serves the Octavia API: a regional REST API, a cached Keystone token authorizer, a throttled stage with access logs', () => {
    env.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Name: 'lbaas-Project-octavia',
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
    env.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'TOKEN',
      IdentitySource: 'method.request.header.X-Auth-Token',
      AuthorizerResultTtlInSeconds: 300,
    });
    env.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'octavia',
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('status') },
      MethodSettings: [
        Match.objectLike({
          ThrottlingRateLimit: 100,
          ThrottlingBurstLimit: 200,
          HttpMethod: '*',
          ResourcePath: '/*',
        }),
      ],
    });
    // Every method but version discovery goes through the authorizer.
    const methods = Object.values(env.findResources('AWS::ApiGateway::Method')).map((m) => m.Properties);
    expect(methods.map((m) => [m.HttpMethod, m.AuthorizationType]).sort()).toEqual([
      ['ANY', 'CUSTOM'],
      ['GET', 'NONE'],
    ]);
    env.hasOutput('OctaviaApiUrl', Match.anyValue());
    // The API function: its tables and the request queue, nothing it does not use; the authorizer: its Keystone secret only.
    const policies = Object.entries(env.findResources('AWS::IAM::Policy'));
    const doc = (prefix: string) =>
      JSON.stringify(policies.find(([id]) => id.startsWith(prefix))?.[1].Properties.PolicyDocument);
    const api = doc('OctaviaApiFunctionRoleDefaultPolicy');
    expect(api).toContain('sqs:SendMessage');
    expect(api).not.toContain('sqs:ReceiveMessage');
    expect(api).not.toContain('LeasesTable');
    expect(api).not.toContain('secretsmanager');
    const authorizer = doc('OctaviaApiAuthorizerRoleDefaultPolicy');
    expect(authorizer).toContain('secretsmanager:GetSecretValue');
    expect(authorizer).toContain('OctaviaApiKeystoneCredentials');
    expect(authorizer).not.toContain('dynamodb');
  });

  it('synthesizes two environments of three agents each, one of them with direct access from the VPC', () => {
    const two = synth(twoEnvironments());
    const staging = two.template('lbaas-Staging');
    staging.resourceCountIs('AWS::Lambda::Function', 10);
    staging.resourceCountIs('AWS::ApiGatewayV2::Api', 0);
    const agentFunctions = Object.values(staging.findResources('AWS::Lambda::Function')).filter(
      (f) => f.Properties.VpcConfig,
    );
    // Workers and heartbeats of three agents, the status poller and the reconciler.
    expect(agentFunctions).toHaveLength(8);
    staging.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: { SubnetIds: ['subnet-0a1b2c3d4e5f60711'], SecurityGroupIds: Match.anyValue() },
      Environment: {
        Variables: Match.objectLike({
          LBAAS_AGENT_HOST: 's2',
          LBAAS_DEVICES: Match.stringLikeRegexp('https://10.20.0.11:443'),
        }),
      },
    });
    expect(two.assembly.stacks.map((s) => s.stackName).sort()).toEqual([
      'lbaas-Project',
      'lbaas-Staging',
      'lbaas-shared',
    ]);
  });
});

describe('configuration validation', () => {
  const errorOf = (mutate: (c: ReturnType<typeof sample>) => void) => {
    const config = sample();
    mutate(config);
    try {
      parseConfig(config);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    return 'accepted';
  };

  it('refuses a CA bundle where the agents reach API Gateway (vpc-link), whose certificate is public', () => {
    expect(errorOf((c) => (c.environments[0].devices.caBundleFile = 'ca.pem'))).toContain(
      'environments.0.devices.caBundleFile: applies to access "direct" only',
    );
  });

  it('names the field of every problem', () => {
    expect(errorOf((c) => c.environments[0].agents.push({ host: 'agent-2' }))).toContain(
      'environments.0.agents.3.host: duplicate host name agent-2',
    );
    expect(errorOf((c) => (c.environments[0].prefix = 'my_env'))).toContain(
      'environments.0.prefix: must start with a letter',
    );
    expect(errorOf((c) => (c.environments[0].colour = 'blue'))).toContain(
      'environments.0: Unrecognized key: "colour"',
    );
    expect(errorOf((c) => (c.environments[0].devices.units[0].managementAddress = 'bigip.local'))).toContain(
      'environments.0.devices.units.0.managementAddress: must be an IP address',
    );
    expect(errorOf((c) => (c.environments[0].agentDownTimeSeconds = 40))).toContain(
      'environments.0.agentDownTimeSeconds: must be at least twice heartbeatIntervalSeconds',
    );
    expect(errorOf((c) => (c.environments[0].workerConcurrency = 1))).toContain(
      'environments.0.workerConcurrency',
    );
    // Overlapping scrapes overload device CPUs: never below 30 s.
    expect(errorOf((c) => (c.environments[0].healthIntervalSeconds = 10))).toContain(
      'environments.0.healthIntervalSeconds',
    );
    expect(errorOf((c) => c.environments.push(structuredClone(c.environments[0])))).toContain(
      'environments.1.prefix: duplicate prefix Project',
    );
    expect(errorOf((c) => delete c.environments[0].devices.vpcId)).toContain(
      'environments.0.devices.vpcId: is required',
    );
    expect(errorOf((c) => (c.environments[0].devices.subnetIds = []))).toContain(
      'environments.0.devices.subnetIds: needs at least one subnet',
    );
    expect(errorOf(() => undefined)).toBe('accepted');
  });
});

/** The sample environment as two device groups (an HA pair each, three agents each, limits on one). */
const twoGroups = () => {
  const config = sample();
  const e = config.environments[0];
  const { devices, agents } = e;
  delete e.devices;
  delete e.agents;
  e.groups = [
    { name: 'east', devices, agents, capacity: { maxLoadBalancers: 500, maxConnections: 200000 } },
    {
      name: 'west',
      devices: {
        ...devices,
        credentialsSecretName: 'bigip-lbaas/Project/west-devices',
        units: [
          { name: 'bigip-c', managementAddress: '10.30.0.11' },
          { name: 'bigip-d', managementAddress: '10.30.0.12' },
        ],
      },
      agents: [{ host: 'agent-4' }, { host: 'agent-5' }],
    },
  ];
  e.capacityAlarmScore = 0.75;
  return config;
};

describe('device groups in the configuration and the stacks', () => {
  it('accepts the one-group shape and the groups shape, and refuses mixes, shared hosts and shared secrets', () => {
    const one = parseConfig(sample()).environments[0];
    expect(one?.groups.map((g) => g.name)).toEqual(['default']);
    expect(one?.agents.every((a) => a.group === 'default')).toBe(true);
    const two = parseConfig(twoGroups()).environments[0];
    expect(two?.groups.map((g) => [g.name, g.capacity])).toEqual([
      ['east', { maxLoadBalancers: 500, maxConnections: 200000 }],
      ['west', {}],
    ]);
    expect(two?.agents.map((a) => `${a.group}/${a.host}`)).toEqual([
      'east/agent-1',
      'east/agent-2',
      'east/agent-3',
      'west/agent-4',
      'west/agent-5',
    ]);

    const mixed = twoGroups();
    mixed.environments[0].agents = [{ host: 'x' }];
    expect(() => parseConfig(mixed)).toThrow(/groups: use either groups or devices\/agents\/capacity/);
    const shared = twoGroups();
    shared.environments[0].groups[1].agents = [{ host: 'agent-2' }];
    expect(() => parseConfig(shared)).toThrow(/groups\.1\.agents\.0\.host: duplicate host name agent-2/);
    const secret = twoGroups();
    secret.environments[0].groups[1].devices.credentialsSecretName = 'bigip-lbaas/Project/devices';
    expect(() => parseConfig(secret)).toThrow(/its own credentials secret name/);
    const none = sample();
    delete none.environments[0].devices;
    expect(() => parseConfig(none)).toThrow(/devices: is required/);
  });

  it('gives each group its own device path, status poller and reconciler, and each agent its group’s devices', () => {
    const { template } = synth(twoGroups());
    const env = template('lbaas-Project');
    // One HTTP API (VPC link) per group, each routing to its own devices only.
    const apis = Object.values(env.findResources('AWS::ApiGatewayV2::Api')).map((a) => a.Properties.Name);
    expect(apis.sort()).toEqual(['lbaas-Project-east-devices', 'lbaas-Project-west-devices']);
    const routes = Object.values(env.findResources('AWS::ApiGatewayV2::Route')).map(
      (r) => r.Properties.RouteKey,
    );
    expect(routes.sort()).toEqual(
      ['bigip-a', 'bigip-b', 'bigip-c', 'bigip-d'].map((d) => `ANY /${d}/{proxy+}`).sort(),
    );

    const functions = Object.values(env.findResources('AWS::Lambda::Function')).map(
      (f) => f.Properties.Environment?.Variables ?? {},
    );
    const of = (kind: string) => functions.filter((v) => v.POWERTOOLS_SERVICE_NAME === kind);
    const devicesOf = (v: Record<string, unknown>) => JSON.stringify(v.LBAAS_DEVICES);
    for (const kind of ['health-poller', 'reconciler'])
      expect(
        of(kind)
          .map((v) => v.LBAAS_GROUP)
          .sort(),
      ).toEqual(['east', 'west']);
    for (const v of of('agent-worker')) {
      const west = ['agent-4', 'agent-5'].includes(v.LBAAS_AGENT_HOST as string);
      expect(v.LBAAS_GROUP).toBe(west ? 'west' : 'east');
      expect(devicesOf(v)).toContain(west ? 'bigip-c' : 'bigip-a');
      expect(devicesOf(v)).not.toContain(west ? 'bigip-a' : 'bigip-c');
      expect(v.LBAAS_CLUSTER_NAME).toBe(west ? 'Project-west-devices' : 'Project-east-devices');
    }
    const scheduler = of('scheduler')[0] as Record<string, string>;
    expect(JSON.parse(scheduler.LBAAS_GROUPS as string)).toEqual([
      { name: 'east', limits: { maxLoadBalancers: 500, maxConnections: 200000 } },
      { name: 'west', limits: {} },
    ]);
    // Each group's functions may call only its own devices.
    const policies = Object.values(env.findResources('AWS::IAM::Policy'));
    const invokes = policies.flatMap((p) =>
      p.Properties.PolicyDocument.Statement.filter(
        (s: { Action: unknown }) => s.Action === 'execute-api:Invoke',
      ),
    );
    for (const s of invokes) {
      const text = JSON.stringify(s.Resource);
      expect(text.includes('/bigip-a/') && text.includes('/bigip-c/')).toBe(false);
    }

    const alarms = Object.values(env.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const names = alarms.map((a) => a.AlarmName);
    for (const n of [
      'Group-east-Capacity',
      'Group-west-Capacity',
      'EnvironmentAtCapacity',
      'LoadBalancerInError-east',
      'PoolAllMembersDown-west',
    ])
      expect(names).toContain(`bigip-lbaas-Project-${n}`);
    expect(alarms.find((a) => a.AlarmName === 'bigip-lbaas-Project-Group-west-Capacity')).toMatchObject({
      Threshold: 0.75,
      MetricName: 'GroupCapacityScore',
      Dimensions: expect.arrayContaining([{ Name: 'Group', Value: 'west' }]),
    });
    const dashboard = JSON.stringify(Object.values(env.findResources('AWS::CloudWatch::Dashboard'))[0]);
    for (const title of ['Group east: capacity score', 'Group west: usage'])
      expect(dashboard).toContain(title);
    const output = env.findOutputs('ReconcilerFunctionName');
    expect(JSON.stringify(output)).toContain('west');
  });
});
