import { createHash, randomBytes } from 'node:crypto';
import {
  type AttributeDefinition,
  CreateTableCommand,
  DynamoDBClient,
  type GlobalSecondaryIndex,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type RecordedCall, type RecordingProxy, startRecordingProxy } from './aws-call-recorder.js';
import type { AssemblyStack, TemplateFunction, TemplateResource } from './cloud-assembly.js';
import { referencedId } from './cloud-assembly.js';
import { allows, matches, roleStatements } from './iam-policy.js';
import { type LocalDeviceApi, startLocalDeviceApi } from './local-device-api.js';
import { type LocalSecretsManager, startLocalSecretsManager } from './local-secrets-manager.js';
import { type PhysicalResource, TemplateResolver } from './template-resolver.js';

export interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

/** What triggers a function in the template, and so which event shape it receives. */
export type Trigger =
  | { kind: 'sqs'; stack: string; queue: string; batchSize: number }
  | { kind: 'schedule'; stack: string; rule: string; expression: string }
  /** A REST API method's Lambda proxy integration (`AWS_PROXY`), with API Gateway's permission to invoke. */
  | {
      kind: 'api-gateway-proxy';
      stack: string;
      restApi: string;
      method: string;
      httpMethod: string;
      /** The resource's path template, e.g. `/` or `/{proxy+}`. */
      resourcePath: string;
      stage: string;
      /** The method's Lambda authorizer, when it has one. */
      authorizer?: string;
    }
  /** A REST API's Lambda authorizer, with API Gateway's permission to invoke. */
  | {
      kind: 'api-gateway-authorizer';
      stack: string;
      restApi: string;
      authorizer: string;
      type: 'TOKEN' | 'REQUEST';
      identitySource: string;
    }
  /** Anything else that may invoke the function (or an integration API Gateway is not permitted to invoke). */
  | { kind: 'other'; stack: string; resource: string; principal: string; reason?: string };

export interface LocalDeployment {
  resolver: TemplateResolver;
  region: string;
  accountId: string;
  secrets: LocalSecretsManager;
  deviceApis: LocalDeviceApi[];
  /** The resolved environment a function gets, with everything Lambda itself sets. */
  environmentOf(fn: TemplateFunction): Record<string, string>;
  /** The name and ARN the function has once deployed. */
  functionName(fn: TemplateFunction): string;
  functionArn(fn: TemplateFunction): string;
  /** The function's role's credentials (Lambda hands them to the function and its event source). */
  credentialsOf(fn: TemplateFunction): RoleCredentials;
  /** SDK clients signing as the function's role, through the recorders (what Lambda's event source uses). */
  clientsAs(fn: TemplateFunction): { sqs: SQSClient };
  triggersOf(fn: TemplateFunction): Trigger[];
  /** A queue's URL and ARN by its logical id. */
  queue(stack: string, logicalId: string): { url: string; arn: string };
  /** Every AWS call made with a function role's credentials. */
  calls(): (RecordedCall & { role: string })[];
  /** The calls a role made that its statements in the template do not allow. */
  ungranted(): (RecordedCall & { role: string })[];
  close(): Promise<void>;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const generatedId = (stack: string, id: string, n: number) =>
  Array.from(createHash('sha256').update(`${stack}/${id}`).digest().subarray(0, n), (b) =>
    'abcdefghijklmnopqrstuvwxyz0123456789'.charAt(b % 36),
  ).join('');
const randomText = (n: number, alphabet = ALNUM) =>
  Array.from(randomBytes(n), (b) => alphabet[b % alphabet.length]).join('');

/**
 * "Deploys" a synthesized cloud assembly onto the local stand-ins, as CloudFormation would onto AWS:
 * tables from each table's template properties (DynamoDB Local), queues with their redrive policies
 * (fauxqs), secrets with their generated values (a loopback Secrets Manager), each HTTP API as a
 * loopback gateway to the simulated devices, and for each function its role's own credentials and
 * the environment the template gives it, resolved. Functions reach the stand-ins through recording
 * proxies, so each call is attributed to the role that signed it and checked against that role's
 * statements in the template.
 */
export async function deployLocally(options: {
  stacks: AssemblyStack[];
  functions: TemplateFunction[];
  dynamodbEndpoint: string;
  sqsEndpoint: string;
  /** `ip:port` of the devices' management addresses (as the template's target groups name them) → simulated unit URL. */
  devices: Map<string, string>;
  ca?: string;
  region?: string;
}): Promise<LocalDeployment> {
  const region = options.region ?? 'us-east-1';
  // fauxqs's ARNs and queue URLs use this account, so every ARN does.
  const accountId = '000000000000';
  const admin = { region, credentials: { accessKeyId: 'deployer', secretAccessKey: 'deployer' } };
  const dynamodb = new DynamoDBClient({ ...admin, endpoint: options.dynamodbEndpoint });
  const sqs = new SQSClient({ ...admin, endpoint: options.sqsEndpoint, useQueueUrlAsEndpoint: false });

  const physical = new Map<string, PhysicalResource>();
  const key = (stack: string, id: string) => `${stack}/${id}`;
  const queuesByUrl = new Map<string, string>();
  const queuesByName = new Map<string, string>();
  const arns = {
    table: (name: string) => `arn:aws:dynamodb:${region}:${accountId}:table/${name}`,
    queue: (urlOrName: string) => queuesByUrl.get(urlOrName) ?? queuesByName.get(urlOrName),
  };
  const secrets = await startLocalSecretsManager({ region, accountId });
  const proxies: RecordingProxy[] = await Promise.all([
    startRecordingProxy({ target: options.dynamodbEndpoint, service: 'dynamodb', arns }),
    startRecordingProxy({ target: options.sqsEndpoint, service: 'sqs', arns }),
  ]);
  const [dynamodbProxy, sqsProxy] = proxies as [RecordingProxy, RecordingProxy];

  // One set of credentials per role, as Lambda hands a function its role's temporary credentials.
  const roles = new Map<string, { stack: string; role: string; credentials: RoleCredentials }>();
  const roleOf = (fn: TemplateFunction) => {
    const role = referencedId(fn.role);
    if (!role) throw new Error(`${fn.stack}/${fn.logicalId}: its role is not a resource of the template`);
    return role;
  };
  for (const fn of options.functions) {
    const role = roleOf(fn);
    if ([...roles.values()].some((r) => r.stack === fn.stack && r.role === role)) continue;
    const accessKeyId = `ASIA${randomText(16)}`;
    roles.set(accessKeyId, {
      stack: fn.stack,
      role,
      credentials: { accessKeyId, secretAccessKey: randomText(40), sessionToken: randomText(64) },
    });
  }
  const credentialsOf = (fn: TemplateFunction) => {
    const role = roleOf(fn);
    const found = [...roles.values()].find((r) => r.stack === fn.stack && r.role === role);
    return (found as { credentials: RoleCredentials }).credentials;
  };

  const resolver = new TemplateResolver(
    options.stacks,
    (stack, id, resource) => physical.get(key(stack, id)) ?? fallback(stack, id, resource),
    { accountId, region, partition: 'aws', urlSuffix: 'amazonaws.com' },
  );
  // Names and ARNs of resources nothing stands in for, as CloudFormation would form them.
  const fallback = (stack: string, id: string, resource: TemplateResource): PhysicalResource | undefined => {
    const p = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::Lambda::Function': {
        const name = String(p.FunctionName ?? `${stack}-${id}`);
        return { ref: name, attributes: { Arn: `arn:aws:lambda:${region}:${accountId}:function:${name}` } };
      }
      case 'AWS::IAM::Role': {
        const name = `${stack}-${id}`;
        return { ref: name, attributes: { Arn: `arn:aws:iam::${accountId}:role/${name}` } };
      }
      case 'AWS::Events::Rule': {
        const name = String(p.Name ?? `${stack}-${id}`);
        return { ref: name, attributes: { Arn: `arn:aws:events:${region}:${accountId}:rule/${name}` } };
      }
      // API Gateway's generated ids: stable per resource, as a deployed stack's are.
      case 'AWS::ApiGateway::RestApi':
        return {
          ref: generatedId(stack, id, 10),
          attributes: { RootResourceId: generatedId(stack, `${id}/`, 10) },
        };
      case 'AWS::ApiGateway::Resource':
      case 'AWS::ApiGateway::Deployment':
        return { ref: generatedId(stack, id, 6) };
      case 'AWS::ApiGateway::Authorizer':
        return { ref: generatedId(stack, id, 6) };
      case 'AWS::ApiGateway::Stage':
        return { ref: String(p.StageName) };
      case 'AWS::Logs::LogGroup': {
        const name = String(p.LogGroupName ?? `/aws/lambda/${stack}-${id}`);
        return { ref: name, attributes: { Arn: `arn:aws:logs:${region}:${accountId}:log-group:${name}:*` } };
      }
      default:
        return undefined;
    }
  };

  // Tables and secrets first, then queues (a redrive policy names its dead-letter queue's ARN).
  const all = options.stacks.flatMap((s) =>
    Object.entries(s.template.Resources).map(([id, resource]) => ({ stack: s.name, id, resource })),
  );
  for (const { stack, id, resource } of all) {
    const p = resource.Properties ?? {};
    if (resource.Type === 'AWS::DynamoDB::GlobalTable' || resource.Type === 'AWS::DynamoDB::Table') {
      const name = String(p.TableName ?? `${stack}-${id}`);
      const indexes = ((p.GlobalSecondaryIndexes ?? []) as Record<string, unknown>[]).map(
        (i) =>
          ({
            IndexName: i.IndexName,
            KeySchema: i.KeySchema,
            Projection: i.Projection ?? { ProjectionType: 'ALL' },
          }) as GlobalSecondaryIndex,
      );
      await dynamodb.send(
        new CreateTableCommand({
          TableName: name,
          KeySchema: p.KeySchema as never,
          AttributeDefinitions: p.AttributeDefinitions as AttributeDefinition[],
          BillingMode: 'PAY_PER_REQUEST',
          ...(indexes.length > 0 ? { GlobalSecondaryIndexes: indexes } : {}),
        }),
      );
      await waitUntilTableExists({ client: dynamodb, maxWaitTime: 30, minDelay: 1 }, { TableName: name });
      const ttl = p.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
      if (ttl?.Enabled) {
        await dynamodb.send(
          new UpdateTimeToLiveCommand({
            TableName: name,
            TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
          }),
        );
      }
      physical.set(key(stack, id), { ref: name, attributes: { Arn: arns.table(name) } });
    }
    if (resource.Type === 'AWS::SecretsManager::Secret') {
      const generate = p.GenerateSecretString as
        | { SecretStringTemplate?: string; GenerateStringKey?: string; PasswordLength?: number }
        | undefined;
      const value = generate
        ? JSON.stringify({
            ...JSON.parse(generate.SecretStringTemplate ?? '{}'),
            [generate.GenerateStringKey ?? 'password']: randomText(
              generate.PasswordLength ?? 32,
              `${ALNUM}abcdefghijklmnopqrstuvwxyz`,
            ),
          })
        : String(p.SecretString ?? '');
      const name = String(p.Name ?? `${id}-${randomText(12)}`);
      physical.set(key(stack, id), { ref: secrets.create(name, value) });
    }
  }
  const queues = all.filter((r) => r.resource.Type === 'AWS::SQS::Queue');
  const ordered = [
    ...queues.filter((q) => !q.resource.Properties?.RedrivePolicy),
    ...queues.filter((q) => q.resource.Properties?.RedrivePolicy),
  ];
  for (const { stack, id, resource } of ordered) {
    const p = resource.Properties ?? {};
    const attributes: Record<string, string> = {};
    for (const name of [
      'FifoQueue',
      'ContentBasedDeduplication',
      'VisibilityTimeout',
      'MessageRetentionPeriod',
      'DelaySeconds',
    ]) {
      if (p[name] !== undefined) attributes[name] = String(p[name]);
    }
    if (p.RedrivePolicy) attributes.RedrivePolicy = JSON.stringify(resolver.resolve(p.RedrivePolicy, stack));
    const name = String(p.QueueName ?? `${stack}-${id}${p.FifoQueue ? '.fifo' : ''}`);
    const created = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    const url = created.QueueUrl as string;
    const described = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    const arn = described.Attributes?.QueueArn as string;
    queuesByUrl.set(url, arn);
    queuesByName.set(name, arn);
    physical.set(key(stack, id), { ref: url, attributes: { Arn: arn, QueueName: name, QueueUrl: url } });
  }
  const deviceApis: LocalDeviceApi[] = [];
  for (const { stack, id, resource } of all) {
    if (resource.Type !== 'AWS::ApiGatewayV2::Api') continue;
    const template = options.stacks.find((s) => s.name === stack)?.template;
    const api = await startLocalDeviceApi({
      template: template as AssemblyStack['template'],
      apiLogicalId: id,
      region,
      accountId,
      devices: options.devices,
      secretKeyOf: (accessKeyId) => roles.get(accessKeyId)?.credentials,
      ...(options.ca ? { ca: options.ca } : {}),
    });
    deviceApis.push(api);
    physical.set(key(stack, id), { ref: api.id, attributes: { ApiEndpoint: api.endpoint, ApiId: api.id } });
  }

  const functionName = (fn: TemplateFunction) => resolver.resolveString({ Ref: fn.logicalId }, fn.stack);
  const functionArn = (fn: TemplateFunction) =>
    resolver.resolveString({ 'Fn::GetAtt': [fn.logicalId, 'Arn'] }, fn.stack);
  const calls = () =>
    [...proxies.flatMap((p) => p.calls), ...secrets.calls, ...deviceApis.flatMap((a) => a.calls)].flatMap(
      (call) => {
        const role = roles.get(call.principal);
        return role ? [{ ...call, role: `${role.stack}/${role.role}` }] : [];
      },
    );

  return {
    resolver,
    region,
    accountId,
    secrets,
    deviceApis,
    functionName,
    functionArn,
    credentialsOf,
    environmentOf(fn) {
      const variables = Object.fromEntries(
        Object.entries(fn.environment).map(([name, value]) => [
          name,
          resolver.resolveString(value, fn.stack),
        ]),
      );
      const resource = options.stacks.find((s) => s.name === fn.stack)?.template.Resources[fn.logicalId];
      const logging = resource?.Properties?.LoggingConfig as
        | { LogFormat?: string; LogGroup?: unknown }
        | undefined;
      const name = functionName(fn);
      const logGroup = logging?.LogGroup
        ? resolver.resolveString(logging.LogGroup, fn.stack)
        : `/aws/lambda/${name}`;
      const credentials = credentialsOf(fn);
      return {
        ...variables,
        // What Lambda sets in every execution environment.
        PATH: '/var/lang/bin:/usr/local/bin:/usr/bin:/bin',
        LANG: 'en_US.UTF-8',
        TZ: ':UTC',
        _HANDLER: fn.handler,
        LAMBDA_TASK_ROOT: fn.assetDir,
        AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
        AWS_LAMBDA_FUNCTION_NAME: name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
        AWS_LAMBDA_LOG_GROUP_NAME: logGroup,
        AWS_LAMBDA_LOG_STREAM_NAME: `local/[$LATEST]${randomText(16).toLowerCase()}`,
        ...(logging?.LogFormat ? { AWS_LAMBDA_LOG_FORMAT: logging.LogFormat } : {}),
        AWS_REGION: region,
        AWS_DEFAULT_REGION: region,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_SESSION_TOKEN: credentials.sessionToken,
        // The only change from AWS: the SDK's standard endpoint variables point at the recorders.
        AWS_ENDPOINT_URL_DYNAMODB: dynamodbProxy.endpoint,
        AWS_ENDPOINT_URL_SQS: sqsProxy.endpoint,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      };
    },
    clientsAs(fn) {
      return {
        sqs: new SQSClient({
          region,
          credentials: credentialsOf(fn),
          endpoint: sqsProxy.endpoint,
          useQueueUrlAsEndpoint: false,
        }),
      };
    },
    triggersOf(fn) {
      const template = options.stacks.find((s) => s.name === fn.stack)?.template;
      const resources = Object.entries(template?.Resources ?? {});
      const triggers: Trigger[] = [];
      // API Gateway reaches a function through an integration or authorizer naming its invocation
      // URI, and only with a lambda:InvokeFunction permission whose SourceArn covers the call.
      const invocationUri = `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/${functionArn(fn)}/invocations`;
      const names = (value: unknown) => {
        try {
          return resolver.resolveString(value, fn.stack) === invocationUri;
        } catch {
          return false;
        }
      };
      const apiPermissions = resources
        .filter(
          ([, r]) =>
            r.Type === 'AWS::Lambda::Permission' &&
            referencedId(r.Properties?.FunctionName) === fn.logicalId &&
            r.Properties?.Principal === 'apigateway.amazonaws.com',
        )
        .map(([id, r]) => ({ id, sourceArn: resolver.resolveString(r.Properties?.SourceArn, fn.stack) }));
      const used = new Set<string>();
      const permitted = (arns: string[]) => {
        const covering = apiPermissions.filter((p) => arns.every((arn) => matches(p.sourceArn, arn, false)));
        for (const p of covering) used.add(p.id);
        return covering.length > 0;
      };
      const executeApi = (restApi: string) =>
        `arn:aws:execute-api:${region}:${accountId}:${resolver.resolveString({ Ref: restApi }, fn.stack)}`;
      const pathOf = (resourceId: unknown): string => {
        const id = referencedId(resourceId) as string;
        const r = template?.Resources[id];
        if (r?.Type !== 'AWS::ApiGateway::Resource') return '/'; // the API's root resource
        const parent = pathOf(r.Properties?.ParentId);
        return `${parent === '/' ? '' : parent}/${String(r.Properties?.PathPart)}`;
      };
      for (const [id, r] of resources) {
        const p = r.Properties ?? {};
        if (r.Type === 'AWS::Lambda::EventSourceMapping' && referencedId(p.FunctionName) === fn.logicalId) {
          triggers.push({
            kind: 'sqs',
            stack: fn.stack,
            queue: referencedId(p.EventSourceArn) as string,
            batchSize: Number(p.BatchSize ?? 10),
          });
        }
        if (r.Type === 'AWS::Events::Rule') {
          for (const target of (p.Targets ?? []) as { Arn: unknown }[]) {
            if (referencedId(target.Arn) === fn.logicalId) {
              triggers.push({
                kind: 'schedule',
                stack: fn.stack,
                rule: id,
                expression: String(p.ScheduleExpression),
              });
            }
          }
        }
        const integration = p.Integration as { Type?: string; Uri?: unknown } | undefined;
        if (
          r.Type === 'AWS::ApiGateway::Method' &&
          integration?.Type === 'AWS_PROXY' &&
          names(integration.Uri)
        ) {
          const restApi = referencedId(p.RestApiId) as string;
          const httpMethod = String(p.HttpMethod);
          const resourcePath = pathOf(p.ResourceId);
          const stages = resources.filter(
            ([, s]) =>
              s.Type === 'AWS::ApiGateway::Stage' && referencedId(s.Properties?.RestApiId) === restApi,
          );
          // ANY stands for every method API Gateway may pass on.
          const methods =
            httpMethod === 'ANY'
              ? ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT']
              : [httpMethod];
          // The console's test invocations of the method (a stage of its own, not a trigger).
          permitted(methods.map((m) => `${executeApi(restApi)}/test-invoke-stage/${m}${resourcePath}`));
          for (const [, s] of stages) {
            const stage = String(s.Properties?.StageName);
            const arns = methods.map((m) => `${executeApi(restApi)}/${stage}/${m}${resourcePath}`);
            if (permitted(arns)) {
              triggers.push({
                kind: 'api-gateway-proxy',
                stack: fn.stack,
                restApi,
                method: id,
                httpMethod,
                resourcePath,
                stage,
                ...(p.AuthorizerId ? { authorizer: referencedId(p.AuthorizerId) as string } : {}),
              });
            } else {
              triggers.push({
                kind: 'other',
                stack: fn.stack,
                resource: id,
                principal: 'apigateway.amazonaws.com',
                reason: `no lambda:InvokeFunction permission covers ${arns[0]}`,
              });
            }
          }
        }
        if (r.Type === 'AWS::ApiGateway::Authorizer' && names(p.AuthorizerUri)) {
          const restApi = referencedId(p.RestApiId) as string;
          const arn = `${executeApi(restApi)}/authorizers/${resolver.resolveString({ Ref: id }, fn.stack)}`;
          triggers.push(
            permitted([arn])
              ? {
                  kind: 'api-gateway-authorizer',
                  stack: fn.stack,
                  restApi,
                  authorizer: id,
                  type: p.Type === 'REQUEST' ? 'REQUEST' : 'TOKEN',
                  identitySource: String(p.IdentitySource),
                }
              : {
                  kind: 'other',
                  stack: fn.stack,
                  resource: id,
                  principal: 'apigateway.amazonaws.com',
                  reason: `no lambda:InvokeFunction permission covers ${arn}`,
                },
          );
        }
      }
      // A permission no integration or authorizer explains: something else may invoke the function.
      for (const [id, r] of resources) {
        const p = r.Properties ?? {};
        if (
          r.Type === 'AWS::Lambda::Permission' &&
          referencedId(p.FunctionName) === fn.logicalId &&
          p.Principal !== 'events.amazonaws.com' &&
          !used.has(id)
        ) {
          triggers.push({ kind: 'other', stack: fn.stack, resource: id, principal: String(p.Principal) });
        }
      }
      return triggers;
    },
    queue(stack, logicalId) {
      const q = physical.get(key(stack, logicalId));
      if (!q) throw new Error(`${stack}: no queue ${logicalId}`);
      return { url: q.ref, arn: q.attributes?.Arn as string };
    },
    calls,
    ungranted() {
      const statements = new Map<string, ReturnType<typeof roleStatements>>();
      return calls().filter((call) => {
        const [stack, role] = call.role.split('/') as [string, string];
        if (!statements.has(call.role))
          statements.set(call.role, roleStatements(options.stacks, resolver, stack, role));
        return !allows(statements.get(call.role) ?? [], call);
      });
    },
    async close() {
      await Promise.all([
        ...proxies.map((p) => p.close()),
        secrets.close(),
        ...deviceApis.map((a) => a.close()),
      ]);
      dynamodb.destroy();
      sqs.destroy();
    },
  };
}
