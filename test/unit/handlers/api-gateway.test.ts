import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { ValidatedToken } from '../../../functions/domain/ports.js';
import {
  callerFromAuthorizer,
  createAuthorizerHandler,
  fromApiGatewayEvent,
  toApiGatewayResult,
  wrapApiHandler,
  wrapAuthorizerHandler,
} from '../../../functions/handlers/api-gateway.js';
import { createTelemetry } from '../../../functions/shared/telemetry.js';
import { API_ID, apiGatewayEvent, authorizerEvent } from '../../support/api-gateway-events.js';

describe('the Octavia API behind API Gateway', () => {
  it('reads a proxy event as the HTTP request the handler takes: repeated query keys kept, the stage in the base URL', () => {
    const req = fromApiGatewayEvent(
      apiGatewayEvent('GET', '/v2/lbaas/loadbalancers?fields=id&fields=name&limit=2', {
        caller: { projectId: 'p1' },
      }),
    );
    expect(req).toMatchObject({
      method: 'GET',
      path: '/v2/lbaas/loadbalancers',
      query: { fields: ['id', 'name'], limit: ['2'] },
      baseUrl: `https://${API_ID}.execute-api.us-east-1.amazonaws.com/octavia`,
    });
    // On a custom domain the stage is not part of the URL clients call.
    expect(fromApiGatewayEvent(apiGatewayEvent('GET', '/', { host: 'lbaas.example.com' })).baseUrl).toBe(
      'https://lbaas.example.com',
    );
  });

  it('takes the caller from what the authorizer validated, and none on the public route', () => {
    expect(
      callerFromAuthorizer(
        apiGatewayEvent('GET', '/v2/lbaas/pools', {
          caller: { projectId: 'p1', roles: 'load-balancer_member,member', userId: 'u1', system: 'false' },
        }),
      ),
    ).toEqual({ projectId: 'p1', roles: ['load-balancer_member', 'member'], userId: 'u1', system: false });
    expect(callerFromAuthorizer(apiGatewayEvent('GET', '/'))).toBeUndefined();
  });

  it('answers with the handler’s status, headers and body', () => {
    expect(toApiGatewayResult({ status: 204, headers: { a: 'b' }, body: '' })).toEqual({
      statusCode: 204,
      headers: { a: 'b' },
      body: '',
    });
  });

  it('the authorizer allows the whole stage for a valid token (the answer is cached per token) and passes the caller', async () => {
    const tokens = new Map<string, ValidatedToken>([
      [
        'good',
        {
          projectId: 'p1',
          roles: ['load-balancer_member'],
          userId: 'u1',
          system: false,
          expiresAt: Date.now() + 60_000,
        },
      ],
    ]);
    const handler = createAuthorizerHandler({
      validator: { validate: async (t) => tokens.get(t) },
      telemetry: createTelemetry('api-authorizer', 'Test'),
    });
    const out = await handler(authorizerEvent('good', 'DELETE', '/v2/lbaas/listeners/x'));
    expect(out).toEqual({
      principalId: 'u1',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Action: 'execute-api:Invoke',
            Effect: 'Allow',
            Resource: `arn:aws:execute-api:us-east-1:000000000000:${API_ID}/octavia/*`,
          },
        ],
      },
      context: { projectId: 'p1', roles: 'load-balancer_member', userId: 'u1', system: 'false' },
    });
    // API Gateway answers 401 when an authorizer throws "Unauthorized".
    await expect(handler(authorizerEvent('bad'))).rejects.toThrow('Unauthorized');
    await expect(handler(authorizerEvent(''))).rejects.toThrow('Unauthorized');
  });

  it('reads the single-valued query when no multi-valued one is given, a base64 body, and the forwarded scheme', () => {
    const event = apiGatewayEvent('PUT', '/v2/lbaas/pools/p1?name=a', {
      host: 'lbaas.example.com',
      headers: { 'X-Forwarded-Proto': 'http' },
    });
    event.multiValueQueryStringParameters = null;
    event.body = Buffer.from('{"pool":{"name":"b"}}').toString('base64');
    event.isBase64Encoded = true;
    expect(fromApiGatewayEvent(event)).toMatchObject({
      method: 'PUT',
      query: { name: ['a'] },
      body: '{"pool":{"name":"b"}}',
      baseUrl: 'http://lbaas.example.com',
      headers: { 'x-forwarded-proto': 'http', host: 'lbaas.example.com' },
    });
    // No body at all, no headers: the API Gateway domain from the request context.
    const bare = apiGatewayEvent('GET', '/v2/lbaas/pools');
    bare.headers = {};
    expect(fromApiGatewayEvent(bare)).toMatchObject({
      body: undefined,
      query: {},
      baseUrl: `https://${API_ID}.execute-api.us-east-1.amazonaws.com/octavia`,
    });
  });

  it('a caller without a project (a system-scoped reader) and the authorizer without a user id', async () => {
    expect(
      callerFromAuthorizer(
        apiGatewayEvent('GET', '/v2/lbaas/pools', { caller: { roles: 'reader', system: 'true' } }),
      ),
    ).toEqual({
      projectId: undefined,
      roles: ['reader'],
      system: true,
    });
    const handler = createAuthorizerHandler({
      validator: {
        validate: async () => ({
          projectId: undefined,
          userId: undefined,
          roles: ['reader'],
          system: true,
          expiresAt: Date.now() + 60_000,
        }),
      },
      telemetry: createTelemetry('api-authorizer', 'Test'),
    });
    const out = await handler({
      type: 'TOKEN',
      authorizationToken: 't',
      methodArn: 'arn:aws:execute-api:r:a:id',
    });
    expect(out.principalId).toBe('keystone-user');
    expect(out.policyDocument.Statement[0]).toMatchObject({ Resource: 'arn:aws:execute-api:r:a:id/*/*' });
    expect(out.context).toEqual({ projectId: '', roles: 'reader', userId: '', system: 'true' });
  });

  it('the Lambda shapes: the proxy event through the HTTP handler with the authorizer’s caller, and the authorizer as is', async () => {
    const context = {
      awsRequestId: 'r-1',
      functionName: 'api',
      functionVersion: '1',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:api',
      memoryLimitInMB: '256',
      getRemainingTimeInMillis: () => 10_000,
    } as unknown as Context;
    const telemetry = createTelemetry('api', 'Test');
    const seen: unknown[] = [];
    const api = wrapApiHandler(async (req, caller) => {
      seen.push([req.method, req.path, caller?.projectId]);
      return { status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' };
    }, telemetry);
    expect(
      await api(
        apiGatewayEvent('GET', '/v2/lbaas/pools', { caller: { projectId: 'p1', roles: 'member' } }),
        context,
      ),
    ).toEqual({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' });
    expect(seen).toEqual([['GET', '/v2/lbaas/pools', 'p1']]);
    const authorizer = wrapAuthorizerHandler(async () => {
      throw new Error('Unauthorized');
    }, telemetry);
    await expect(authorizer(authorizerEvent('x'), context)).rejects.toThrow('Unauthorized');
  });
});
