import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CfnResource, type Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { ISecurityGroup, ISubnet, IVpc } from 'aws-cdk-lib/aws-ec2';
import { type IGrantable, ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TABLE_ENV_VARS } from '../../functions/shared/config.js';
import { TABLES, type TableId, type TableSchema } from '../../functions/shared/table-schema.js';
import { verboseSynth } from '../config/synth-output.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface LbaasFunctionProps {
  /** Handler module under functions/handlers (e.g. `scheduler`). */
  handler: string;
  description: string;
  environment: Record<string, string>;
  timeout: Duration;
  memorySize?: number;
  /** Concurrency kept for this function alone. */
  reservedConcurrency?: number;
  /** Files shipped in the function's package: name in the package → source path. */
  files?: Record<string, string>;
  /** Direct device access: run in the VPC (the agent's own subnets). */
  vpc?: IVpc;
  vpcSubnets?: { subnets: ISubnet[] };
  securityGroups?: ISecurityGroup[];
}

/**
 * A Lambda function of this project with its defaults: Node.js 24 on ARM64, bundled by esbuild
 * (ESM, minified, no Docker), JSON logs into a log group with a retention, and helpers that grant
 * access to a resource and pass its name in one call, so the two never drift apart.
 */
export class LbaasFunction extends Construct {
  readonly fn: NodejsFunction;

  constructor(scope: Construct, id: string, props: LbaasFunctionProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, 'Logs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Its own role: logs to its own log group only (the managed basic execution role allows every log group).
    const role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn, `${logGroup.logGroupArn}:log-stream:*`],
      }),
    );
    if (props.vpc) {
      role.addManagedPolicy(
        ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole'),
      );
    }
    this.fn = new NodejsFunction(this, 'Function', {
      role,
      entry: join(ROOT, 'functions', 'lambda', `${props.handler}.ts`),
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout,
      ...(props.reservedConcurrency ? { reservedConcurrentExecutions: props.reservedConcurrency } : {}),
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      tracing: Tracing.DISABLED,
      environment: {
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: props.handler,
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        minify: true,
        sourceMap: true,
        // The bundles' sizes (over 1 MB: the SDK is bundled on purpose) only in a verbose synth.
        logLevel: verboseSynth(this) ? LogLevel.INFO : LogLevel.WARNING,
        forceDockerBundling: false,
        // Bundle the pinned SDK rather than rely on the runtime's, so AWS and tests run the same code.
        externalModules: [],
        banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
        ...(props.files && Object.keys(props.files).length > 0
          ? {
              commandHooks: {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: (_input: string, output: string) =>
                  Object.entries(props.files ?? {}).map(([name, from]) => `cp "${from}" "${output}/${name}"`),
              },
            }
          : {}),
      },
      depsLockFilePath: join(ROOT, 'package-lock.json'),
      projectRoot: ROOT,
      ...(props.vpc ? { vpc: props.vpc } : {}),
      ...(props.vpcSubnets ? { vpcSubnets: props.vpcSubnets } : {}),
      ...(props.securityGroups ? { securityGroups: props.securityGroups } : {}),
    });
    const logGroupId = Stack.of(this).getLogicalId(logGroup.node.defaultChild as CfnResource);
    Validations.of(role).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${logGroupId}.Arn>:log-stream:*]`,
      reason:
        'Log streams are named by Lambda at run time; the statement is limited to this function’s own log group.',
    });
    if (props.vpc) {
      Validations.of(role).acknowledge({
        id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        reason: 'The AWS-managed VPC access role only manages this function’s network interfaces.',
      });
    }
  }

  get grantable(): IGrantable {
    return this.fn;
  }

  /**
   * Grants table access and passes the table name in the variable the function reads. The
   * statements name each action and each index (no `*`), and the key actions DynamoDB needs.
   */
  useTable(id: TableId, table: TableV2, access: 'read' | 'readWrite'): this {
    const read = [
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:Query',
      'dynamodb:ConditionCheckItem',
      'dynamodb:DescribeTable',
    ];
    const write = [
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:ConditionCheckItem',
      'dynamodb:DescribeTable',
    ];
    const schema = TABLES[id] as TableSchema;
    if (schema.scanned) read.push('dynamodb:Scan');
    const actions = [...new Set(access === 'read' ? read : [...read, ...write])];
    const indexes = schema.indexes ?? [];
    this.fn.addToRolePolicy(
      new PolicyStatement({
        actions,
        resources: [table.tableArn, ...indexes.map((index) => `${table.tableArn}/index/${index.name}`)],
      }),
    );
    if (table.encryptionKey) {
      this.fn.addToRolePolicy(
        new PolicyStatement({
          actions: [
            'kms:Decrypt',
            'kms:DescribeKey',
            ...(access === 'read' ? [] : ['kms:Encrypt', 'kms:GenerateDataKey']),
          ],
          resources: [table.encryptionKey.keyArn],
        }),
      );
    }
    this.fn.addEnvironment(TABLE_ENV_VARS[id], table.tableName);
    return this;
  }

  /** Grants send to a queue and passes its URL in `variable`. */
  sendsTo(queue: IQueue, variable?: string): this {
    queue.grantSendMessages(this.fn);
    if (variable) this.fn.addEnvironment(variable, queue.queueUrl);
    return this;
  }

  /** Lets the function change visibility on the queue it consumes (the retry back-off) and names it. */
  consumes(queue: IQueue, variable: string): this {
    queue.grant(this.fn, 'sqs:ChangeMessageVisibility');
    this.fn.addEnvironment(variable, queue.queueUrl);
    return this;
  }

  get stack(): Stack {
    return Stack.of(this);
  }
}
