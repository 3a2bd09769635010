import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import type { CallerContext } from '../../functions/handlers/api-gateway.js';

/**
 * API Gateway (REST, proxy integration) events for the `api` function and its `api-authorizer`,
 * shaped as API Gateway sends them: for handler tests and for invoking the bundled functions.
 */

export const API_ID = 'a1b2c3d4e5';
export const API_STAGE_NAME = 'octavia';
const ACCOUNT = '000000000000';
const REGION = 'us-east-1';

/** The `requestContext.identity` API Gateway sends for an unsigned (non-IAM) caller. */
export function callerIdentity(
  sourceIp: string,
  userAgent: string | null,
): APIGatewayProxyEvent['requestContext']['identity'] {
  return {
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
    sourceIp,
    user: null,
    userAgent,
    userArn: null,
  };
}

/** A proxy event for `METHOD path?query` with an optional JSON body and the authorizer's context. */
export function apiGatewayEvent(
  method: string,
  pathAndQuery: string,
  options: {
    body?: unknown;
    /** What the authorizer returned as context (absent: a public route, no authorizer ran). */
    caller?: Partial<CallerContext>;
    headers?: Record<string, string>;
    host?: string;
  } = {},
): APIGatewayProxyEvent {
  const url = new URL(pathAndQuery, 'https://placeholder');
  const multi: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) {
    multi[k] ??= [];
    multi[k].push(v);
  }
  const single = Object.fromEntries(Object.entries(multi).map(([k, v]) => [k, v.at(-1) as string]));
  const host = options.host ?? `${API_ID}.execute-api.${REGION}.amazonaws.com`;
  const headers = { Host: host, 'Content-Type': 'application/json', ...(options.headers ?? {}) };
  const authorizer = options.caller
    ? {
        projectId: '',
        roles: '',
        userId: '',
        system: 'false',
        ...options.caller,
        principalId: 'user',
        integrationLatency: 12,
      }
    : null;
  return {
    resource: url.pathname === '/' ? '/' : '/{proxy+}',
    path: url.pathname,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: Object.keys(single).length ? single : null,
    multiValueQueryStringParameters: Object.keys(multi).length ? multi : null,
    pathParameters: url.pathname === '/' ? null : { proxy: url.pathname.slice(1) },
    stageVariables: null,
    body:
      options.body === undefined
        ? null
        : typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body),
    isBase64Encoded: false,
    requestContext: {
      accountId: ACCOUNT,
      apiId: API_ID,
      authorizer,
      domainName: host,
      domainPrefix: API_ID,
      httpMethod: method,
      identity: callerIdentity('192.0.2.10', 'openstacksdk/0.101.0'),
      path: `/${API_STAGE_NAME}${url.pathname}`,
      protocol: 'HTTP/1.1',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'abc123',
      resourcePath: url.pathname === '/' ? '/' : '/{proxy+}',
      stage: API_STAGE_NAME,
    },
  };
}

/** The TOKEN authorizer's event for a call carrying `X-Auth-Token: token`. */
export function authorizerEvent(
  token: string,
  method = 'GET',
  path = '/v2/lbaas/loadbalancers',
): APIGatewayTokenAuthorizerEvent {
  return {
    type: 'TOKEN',
    authorizationToken: token,
    methodArn: `arn:aws:execute-api:${REGION}:${ACCOUNT}:${API_ID}/${API_STAGE_NAME}/${method}${path}`,
  };
}
