import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type {
  APIGatewayAuthorizerResult,
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  APIGatewayTokenAuthorizerEvent,
} from 'aws-lambda';
import type { Caller } from '../domain/octavia-policy.js';
import type { TokenValidator } from '../domain/ports.js';
import type { Telemetry } from '../shared/telemetry.js';
import type { HttpRequest, HttpResponse } from './octavia-api-handler.js';
import { queryParams } from './octavia-api-handler.js';

/**
 * The API Gateway (REST, regional) shapes of the Octavia API: the proxy event as an HttpRequest,
 * the caller from what the Lambda authorizer validated (API Gateway caches the authorizer's answer
 * per token), and the authorizer itself.
 */

/** The authorizer's context: what the API function learns about a caller (strings only, as API Gateway passes them). */
export interface CallerContext {
  projectId: string;
  roles: string;
  userId: string;
  system: string;
}

export function fromApiGatewayEvent(event: APIGatewayProxyEvent): HttpRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(event.headers ?? {})) headers[k.toLowerCase()] = v ?? undefined;
  const pairs: [string, string][] = [];
  for (const [k, values] of Object.entries(event.multiValueQueryStringParameters ?? {}))
    for (const v of values ?? []) pairs.push([k, v]);
  if (pairs.length === 0)
    for (const [k, v] of Object.entries(event.queryStringParameters ?? {}))
      if (v !== undefined) pairs.push([k, v]);
  const host = headers.host ?? event.requestContext.domainName ?? 'localhost';
  const proto = headers['x-forwarded-proto'] ?? 'https';
  // On API Gateway's own domain the stage is part of the path clients call (https://host/<stage>/v2/...); not on a custom domain.
  const stage = /\.amazonaws\.com$/.test(host) ? `/${event.requestContext.stage}` : '';
  return {
    method: event.httpMethod,
    path: event.path,
    query: queryParams(pairs),
    headers,
    body:
      event.body === null
        ? undefined
        : event.isBase64Encoded
          ? Buffer.from(event.body, 'base64').toString('utf8')
          : event.body,
    baseUrl: `${proto}://${host}${stage}`,
  };
}

/** The caller the authorizer let in (undefined: none, the public version discovery). */
export function callerFromAuthorizer(event: APIGatewayProxyEvent): Caller | undefined {
  const ctx = event.requestContext.authorizer as Partial<CallerContext> | null | undefined;
  if (!ctx || (ctx.projectId === undefined && ctx.roles === undefined)) return undefined;
  return {
    projectId: ctx.projectId || undefined,
    roles: (ctx.roles ?? '').split(',').filter(Boolean),
    ...(ctx.userId ? { userId: ctx.userId } : {}),
    system: ctx.system === 'true',
  };
}

export function toApiGatewayResult(res: HttpResponse): APIGatewayProxyResult {
  return { statusCode: res.status, headers: res.headers, body: res.body };
}

/**
 * The Lambda authorizer (TOKEN type, identity source `X-Auth-Token`): Keystone validates the
 * token; the answer allows every method of the API (API Gateway caches it for the token, so it
 * must hold for any path) and carries the caller for the API function's policy checks. An invalid
 * token is API Gateway's 401 ("Unauthorized"); nothing of the token is logged.
 */
export function createAuthorizerHandler(deps: { validator: TokenValidator; telemetry: Telemetry }) {
  return async (event: APIGatewayTokenAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    const token = event.authorizationToken;
    const validated = token ? await deps.validator.validate(token) : undefined;
    if (!validated) {
      deps.telemetry.logger.info('token refused');
      throw new Error('Unauthorized');
    }
    const [arnPrefix, stage] = splitMethodArn(event.methodArn);
    const context: CallerContext = {
      projectId: validated.projectId ?? '',
      roles: validated.roles.join(','),
      userId: validated.userId ?? '',
      system: String(validated.system),
    };
    return {
      principalId: validated.userId ?? 'keystone-user',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${arnPrefix}/${stage}/*` }],
      },
      context: { ...context },
    };
  };
}

/** `arn:aws:execute-api:region:account:apiId/stage/METHOD/path` → [`arn:...:apiId`, stage]. */
function splitMethodArn(arn: string): [string, string] {
  const [prefix, stage] = arn.split('/');
  return [prefix ?? arn, stage ?? '*'];
}

/** The Lambda shape of the API: the proxy event through the HTTP handler, with the authorizer's caller. */
export function wrapApiHandler(
  raw: (req: HttpRequest, caller: Caller | undefined) => Promise<HttpResponse>,
  telemetry: Telemetry,
) {
  return middy(
    async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> =>
      toApiGatewayResult(await raw(fromApiGatewayEvent(event), callerFromAuthorizer(event))),
  ).use(injectLambdaContext(telemetry.logger));
}

/** The Lambda shape of the authorizer. */
export function wrapAuthorizerHandler(
  raw: (event: APIGatewayTokenAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>,
  telemetry: Telemetry,
) {
  return middy(raw).use(injectLambdaContext(telemetry.logger));
}
