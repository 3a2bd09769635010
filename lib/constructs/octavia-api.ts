import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  EndpointType,
  IdentitySource,
  LambdaIntegration,
  LogGroupLogDestination,
  ResponseType,
  RestApi,
  TokenAuthorizer,
} from 'aws-cdk-lib/aws-apigateway';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV_VARS } from '../../functions/shared/config.js';
import type { TableId } from '../../functions/shared/table-schema.js';
import type { EnvironmentConfig } from '../config/lbaas-config.js';
import { LbaasFunction } from './lbaas-function.js';

export interface OctaviaApiProps {
  base: string;
  environment: EnvironmentConfig;
  settings: NonNullable<EnvironmentConfig['api']>;
  /** Variables every function of the environment gets. */
  common: Record<string, string>;
  tables: Record<TableId, TableV2>;
  requestQueue: IQueue;
  alarmTopic: ITopic;
}

/** The stage clients call: `https://<api>.execute-api.<region>.amazonaws.com/octavia/v2/lbaas/...`. */
export const API_STAGE = 'octavia';

/**
 * The Octavia v2 API of an environment: an API Gateway REST API (regional) in front of the `api`
 * function, with a Lambda authorizer validating Keystone tokens (API Gateway caches its answer per
 * token), stage throttling and JSON access logs, alarms on the 5xx rate and the p99 latency. The
 * function records and queues requests like any producer; it may write only what that needs.
 */
export class OctaviaApi extends Construct {
  readonly api: RestApi;
  readonly fn: LbaasFunction;
  readonly authorizerFn: LbaasFunction;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: OctaviaApiProps) {
    super(scope, id);
    const { environment: e, settings, tables } = props;

    // The API's Keystone service account: a placeholder the operator replaces with a real account.
    const secret = new Secret(this, 'KeystoneCredentials', {
      secretName: settings.keystoneSecretName,
      description: `${e.prefix}: Keystone service account of the Octavia API ({"username","password","projectName"})`,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username: 'octavia', projectName: 'service' }),
        generateStringKey: 'password',
      },
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SMG4',
      reason:
        'The Keystone service account’s password rotates in Keystone; there is no Lambda rotation for it.',
    });

    this.authorizerFn = new LbaasFunction(this, 'Authorizer', {
      handler: 'api-authorizer',
      description: `${e.prefix}: validates Keystone tokens for the Octavia API`,
      timeout: Duration.seconds(10),
      memorySize: 256,
      environment: {
        ...props.common,
        [ENV_VARS.keystoneUrl]: settings.keystoneUrl,
        [ENV_VARS.keystoneSecretId]: secret.secretArn,
        [ENV_VARS.tokenCacheSeconds]: String(settings.tokenCacheSeconds),
      },
    });
    secret.grantRead(this.authorizerFn.fn);

    this.fn = new LbaasFunction(this, 'Function', {
      handler: 'api',
      description: `${e.prefix}: the Octavia v2 API (records, places and queues requests)`,
      timeout: Duration.seconds(28),
      memorySize: 512,
      environment: {
        ...props.common,
        [ENV_VARS.apiPolicy]: settings.policy,
        [ENV_VARS.networks]: JSON.stringify(e.networks),
        [ENV_VARS.selection]: e.selection,
        [ENV_VARS.agentCacheSeconds]: '2',
        [ENV_VARS.settleSeconds]: String(settings.settleSeconds),
        [ENV_VARS.groups]: JSON.stringify(
          e.groups.map((g) => ({ name: g.name, limits: g.capacity, units: g.devices.units.length })),
        ),
        [ENV_VARS.apiQuotas]: JSON.stringify(settings.quotas),
      },
    });
    // Recording a request (resources, claims) and placing a new load balancer (agents' counts,
    // bindings, affinity, group counts); statistics are only read; quotas, flavors and
    // availability zones (apiObjects) are the API's alone.
    const grants: [TableId, 'read' | 'readWrite'][] = [
      ['apiObjects', 'readWrite'],
      ['agents', 'readWrite'],
      ['bindings', 'readWrite'],
      ['affinity', 'readWrite'],
      ['resources', 'readWrite'],
      ['claims', 'readWrite'],
      // Each request's guard, written with its record (the scheduler records it once).
      ['idempotency', 'readWrite'],
      ['groups', 'readWrite'],
      ['statistics', 'read'],
    ];
    for (const [tableId, access] of grants) this.fn.useTable(tableId, tables[tableId], access);
    this.fn.sendsTo(props.requestQueue, ENV_VARS.requestQueueUrl);

    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new RestApi(this, 'Api', {
      restApiName: `${props.base}-octavia`,
      description: `${e.prefix}: Octavia v2 API (bigip-lbaas)`,
      endpointConfiguration: { types: [EndpointType.REGIONAL] },
      cloudWatchRole: false,
      deployOptions: {
        stageName: API_STAGE,
        throttlingRateLimit: settings.rateLimit,
        throttlingBurstLimit: settings.burstLimit,
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields({
          caller: false,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: true,
        }),
        metricsEnabled: true,
      },
    });
    const authorizer = new TokenAuthorizer(this, 'Keystone', {
      handler: this.authorizerFn.fn,
      identitySource: IdentitySource.header('X-Auth-Token'),
      resultsCacheTtl: Duration.seconds(settings.tokenCacheSeconds),
    });
    const integration = new LambdaIntegration(this.fn.fn, { proxy: true });
    // Version discovery is public, as Octavia's is; everything else needs a token.
    const discovery = this.api.root.addMethod('GET', integration);
    this.api.root.addResource('{proxy+}').addMethod('ANY', integration, { authorizer });
    // API Gateway's own refusals in Octavia's fault shape.
    for (const [type, status, message] of [
      [ResponseType.UNAUTHORIZED, '401', 'The request you have made requires authentication.'],
      [ResponseType.ACCESS_DENIED, '403', 'Policy does not allow this request to be performed.'],
      [ResponseType.THROTTLED, '429', 'Too many requests: the API’s rate limit was reached; try again.'],
    ] as const)
      this.api.addGatewayResponse(`Fault${status}`, {
        type,
        statusCode: status,
        templates: {
          'application/json': JSON.stringify({ faultcode: 'Client', faultstring: message, debuginfo: null }),
        },
      });

    Validations.of(discovery).acknowledge({
      id: 'AwsSolutions::AwsSolutions-APIG4',
      reason:
        'GET / is Octavia’s version discovery, public in Octavia too (clients read it before they authenticate).',
    });
    Validations.of(discovery).acknowledge({
      id: 'AwsSolutions::AwsSolutions-COG4',
      reason: 'GET / is public version discovery; every other method uses the Keystone token authorizer.',
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions::AwsSolutions-COG4',
      reason:
        'OpenStack clients bring Keystone tokens, validated by the Lambda authorizer; Cognito has no part in it.',
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions::AwsSolutions-APIG2',
      reason:
        'The function validates bodies as Octavia does, answering Octavia’s 400 and 501 faults clients rely on; a gateway validator would answer in another shape.',
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions::AwsSolutions-APIG3',
      reason:
        'Callers need a Keystone token and the stage is throttled; a WAF web ACL is the operator’s to associate for their network.',
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions::AwsSolutions-APIG6',
      reason:
        'JSON access logs record every call; execution logging needs the account-wide API Gateway CloudWatch role, which a per-environment stack must not own.',
    });

    // Alarms: more than the configured share of calls answering 5xx, or a slow p99.
    const alarm = (name: string, a: Alarm) => {
      a.addAlarmAction(new SnsAction(props.alarmTopic));
      this.alarms.push(a);
      return name;
    };
    alarm(
      'Api5xx',
      new Alarm(this, 'Api5xxRate', {
        alarmName: `bigip-lbaas-${e.prefix}-Api5xxRate`,
        alarmDescription: `More than ${settings.alarm5xxRate * 100}% of the Octavia API's calls answered 5xx over 5 minutes.`,
        metric: this.api.metricServerError({ period: Duration.minutes(5), statistic: 'Average' }),
        threshold: settings.alarm5xxRate,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
    alarm(
      'ApiP99',
      new Alarm(this, 'ApiP99Latency', {
        alarmName: `bigip-lbaas-${e.prefix}-ApiP99Latency`,
        alarmDescription: `The Octavia API's p99 latency stayed above ${settings.alarmP99Ms} ms for 15 minutes.`,
        metric: this.api.metricLatency({ period: Duration.minutes(5), statistic: 'p99' }),
        threshold: settings.alarmP99Ms,
        evaluationPeriods: 3,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}
