import { randomUUID } from 'node:crypto';
import type {
  APIGatewayProxyEvent,
  APIGatewayTokenAuthorizerEvent,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { EventSourcePoller } from '../../local/event-source-poller.js';
import type { BundleProcess } from './bundle-host.js';
import type { TemplateFunction } from './cloud-assembly.js';
import type { LocalDeployment, Trigger } from './local-deployment.js';

/**
 * The event shapes the bundle tests can deliver, by what triggers a function in the template. A
 * function with another trigger (a function URL, an HTTP API integration, say) fails the tests
 * until its shape is added here: one entry naming the trigger and how to build its event.
 */
export const EVENT_SHAPES = {
  /** An SQS event source mapping: batches received with the function's role, as Lambda's poller does. */
  sqs: 'SQS batch (Records with messageGroupId/messageDeduplicationId attributes, eventSourceARN)',
  /** An EventBridge schedule. */
  schedule: 'EventBridge "Scheduled Event"',
  /** A REST API method's Lambda proxy integration. */
  'api-gateway-proxy': "API Gateway REST proxy event (payload format 1.0), with the authorizer's context",
  /** A REST API's Lambda authorizer (this one is TOKEN: its identity source is one header). */
  'api-gateway-authorizer': 'API Gateway TOKEN authorizer event (authorizationToken, methodArn)',
} as const satisfies Partial<Record<Trigger['kind'], string>>;

/** An EventBridge schedule's event, as the rule delivers it. */
export function scheduledEvent(deployment: LocalDeployment, trigger: Extract<Trigger, { kind: 'schedule' }>) {
  const ruleArn = deployment.resolver.resolveString({ 'Fn::GetAtt': [trigger.rule, 'Arn'] }, trigger.stack);
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: deployment.accountId,
    time: `${new Date().toISOString().slice(0, 19)}Z`,
    region: deployment.region,
    resources: [ruleArn],
    detail: {},
  };
}

type ProxyTrigger = Extract<Trigger, { kind: 'api-gateway-proxy' }>;
type AuthorizerTrigger = Extract<Trigger, { kind: 'api-gateway-authorizer' }>;

/** The REST API's id and the domain API Gateway serves it on. */
function restApiOf(deployment: LocalDeployment, trigger: { stack: string; restApi: string }) {
  const id = deployment.resolver.resolveString({ Ref: trigger.restApi }, trigger.stack);
  return { id, domain: `${id}.execute-api.${deployment.region}.amazonaws.com` };
}

/** The ARN of a call to the API (`…:<api>/<stage>/<METHOD>/<path>`), as an authorizer's `methodArn` and IAM name it. */
export function methodArn(
  deployment: LocalDeployment,
  trigger: { stack: string; restApi: string },
  stage: string,
  method: string,
  path: string,
) {
  const { id } = restApiOf(deployment, trigger);
  return `arn:aws:execute-api:${deployment.region}:${deployment.accountId}:${id}/${stage}/${method}${path}`;
}

/**
 * A call through a REST API method's Lambda proxy integration, as API Gateway delivers it
 * (payload format 1.0): the request on API Gateway's own domain, the stage outside `path`, the
 * `{proxy+}` part as a path parameter, and what the method's authorizer returned as
 * `requestContext.authorizer` (its context, with `principalId` and `integrationLatency`).
 */
export function apiGatewayProxyEvent(
  deployment: LocalDeployment,
  trigger: ProxyTrigger,
  call: {
    method: string;
    path: string;
    query?: Record<string, string[]>;
    body?: unknown;
    headers?: Record<string, string>;
    authorizer?: { principalId: string; context: Record<string, string | number | boolean> };
  },
): APIGatewayProxyEvent {
  const { id, domain } = restApiOf(deployment, trigger);
  const body = call.body === undefined ? null : JSON.stringify(call.body);
  const headers: Record<string, string> = {
    Accept: 'application/json',
    Host: domain,
    'User-Agent': 'openstacksdk/4.0.1 keystoneauth1/5.6.0 python-requests/2.31.0 CPython/3.11.2',
    'X-Forwarded-For': '203.0.113.10',
    'X-Forwarded-Port': '443',
    'X-Forwarded-Proto': 'https',
    'X-Amzn-Trace-Id': `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomUUID().replace(/-/g, '').slice(0, 24)}`,
    ...(body ? { 'Content-Type': 'application/json' } : {}),
    ...call.headers,
  };
  const query = call.query && Object.keys(call.query).length > 0 ? call.query : undefined;
  const now = new Date();
  const proxy = trigger.resourcePath.endsWith('{proxy+}') ? call.path.slice(1) : undefined;
  return {
    resource: trigger.resourcePath,
    path: call.path,
    httpMethod: call.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: query
      ? Object.fromEntries(Object.entries(query).map(([k, v]) => [k, v[v.length - 1] as string]))
      : null,
    multiValueQueryStringParameters: query ?? null,
    pathParameters: proxy === undefined ? null : { proxy },
    stageVariables: null,
    requestContext: {
      accountId: deployment.accountId,
      apiId: id,
      authorizer: call.authorizer
        ? { ...call.authorizer.context, principalId: call.authorizer.principalId, integrationLatency: 0 }
        : null,
      domainName: domain,
      domainPrefix: id,
      extendedRequestId: randomUUID().slice(0, 16),
      httpMethod: call.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '203.0.113.10',
        user: null,
        userAgent: headers['User-Agent'] ?? null,
        userArn: null,
      },
      path: `/${trigger.stage}${call.path}`,
      protocol: 'HTTP/1.1',
      requestId: randomUUID(),
      requestTime: now.toUTCString(),
      requestTimeEpoch: now.getTime(),
      resourceId: id.slice(0, 6),
      resourcePath: trigger.resourcePath,
      stage: trigger.stage,
    },
    body,
    isBase64Encoded: false,
  };
}

/** A TOKEN authorizer's event: the identity source's value and the ARN of the method called. */
export function tokenAuthorizerEvent(
  deployment: LocalDeployment,
  trigger: AuthorizerTrigger,
  call: { token: string; stage: string; method: string; path: string },
): APIGatewayTokenAuthorizerEvent {
  if (trigger.type !== 'TOKEN') throw new Error(`${trigger.authorizer} is a ${trigger.type} authorizer`);
  return {
    type: 'TOKEN',
    authorizationToken: call.token,
    methodArn: methodArn(deployment, trigger, call.stage, call.method, call.path),
  };
}

/**
 * Plays a function's SQS event source mapping: receives batches from its queue with the function's
 * role, invokes the bundle with Lambda's SQS event, deletes what it did not report as failed
 * (local/event-source-poller.ts, the same poller `npm start` uses). Runs until the queue gives
 * nothing; returns the events delivered and the invocations that failed.
 */
export async function drainQueue(
  deployment: LocalDeployment,
  fn: TemplateFunction,
  bundle: BundleProcess,
): Promise<{ events: SQSEvent[]; failures: string[] }> {
  const trigger = deployment.triggersOf(fn).find((t) => t.kind === 'sqs');
  if (trigger?.kind !== 'sqs') throw new Error(`${fn.logicalId} has no SQS event source`);
  const queue = deployment.queue(trigger.stack, trigger.queue);
  const events: SQSEvent[] = [];
  const failures: string[] = [];
  const { sqs } = deployment.clientsAs(fn);
  const poller = new EventSourcePoller({
    sqs,
    queueUrl: queue.url,
    queueArn: queue.arn,
    batchSize: trigger.batchSize,
    functionName: deployment.functionName(fn),
    timeoutMs: fn.timeoutSeconds * 1000,
    handler: async (event) => {
      events.push(event);
      const result = await bundle.invoke(event);
      if (!result.ok) {
        failures.push(`${result.error?.name}: ${result.error?.message}`);
        throw new Error(result.error?.message);
      }
      const response = result.value as SQSBatchResponse | null;
      for (const failure of response?.batchItemFailures ?? [])
        failures.push(`batch item ${failure.itemIdentifier}`);
      return response ?? undefined;
    },
  });
  try {
    while ((await poller.pollOnce(0)) > 0) {
      // Until the queue hands out nothing more.
    }
  } finally {
    sqs.destroy();
  }
  return { events, failures };
}
