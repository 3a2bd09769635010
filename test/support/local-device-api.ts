import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { principalOf, type RecordedCall } from './aws-call-recorder.js';
import { referencedId, type Template } from './cloud-assembly.js';

interface Route {
  /** `/bigip-a/` of `ANY /bigip-a/{proxy+}`. */
  prefix: string;
  method: string;
  iam: boolean;
  /** Where the integration's NLB listener forwards: the target group's `ip:port`. */
  target: string;
}

export interface LocalDeviceApi {
  /** The API's id (its `Ref`) and its endpoint (`Fn::GetAtt … ApiEndpoint`). */
  id: string;
  endpoint: string;
  calls: RecordedCall[];
  /** Requests refused for want of a valid signature. */
  refused: { path: string; reason: string }[];
  close(): Promise<void>;
}

/** The routes of an HTTP API in the template: route → integration → NLB listener → target group's target. */
function routesOf(template: Template, apiId: string): Route[] {
  const resources = template.Resources;
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::ApiGatewayV2::Route' && referencedId(r.Properties?.ApiId) === apiId)
    .map((route) => {
      const p = route.Properties ?? {};
      const [method, path] = String(p.RouteKey).split(' ') as [string, string];
      if (!path.endsWith('/{proxy+}'))
        throw new Error(`route ${p.RouteKey}: only greedy proxy routes are modelled`);
      const targetParts = (p.Target as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
      const integration = resources[referencedId(targetParts[1]) as string]?.Properties ?? {};
      if (
        (integration.RequestParameters as Record<string, string>)?.['overwrite:path'] !==
        '/$request.path.proxy'
      ) {
        throw new Error(`route ${p.RouteKey}: its integration must overwrite the path with the proxy part`);
      }
      const listener = resources[referencedId(integration.IntegrationUri) as string]?.Properties ?? {};
      const action = (listener.DefaultActions as { TargetGroupArn: unknown }[])[0];
      const group = resources[referencedId(action?.TargetGroupArn) as string]?.Properties ?? {};
      const [target] = group.Targets as { Id: string; Port: number }[];
      return {
        prefix: path.replace('{proxy+}', ''),
        method,
        iam: p.AuthorizationType === 'AWS_IAM',
        target: `${target?.Id}:${target?.Port}`,
      };
    });
}

/**
 * The device path of `vpc-link` mode on loopback: an HTTP API as the template builds it. Each route
 * `ANY /<device>/{proxy+}` takes only requests signed with SigV4 for execute-api (IAM authorisation,
 * checked by signing the request again with the caller's secret key), records `execute-api:Invoke`
 * on the route's ARN, and forwards the proxy part of the path to the device its integration reaches
 * (NLB listener → target group → management address, mapped by `devices` to a simulated unit).
 */
export async function startLocalDeviceApi(options: {
  template: Template;
  apiLogicalId: string;
  region: string;
  accountId: string;
  /** `ip:port` of a target group's target → the simulated unit's base URL. */
  devices: Map<string, string>;
  /** The secret key of each access key the functions sign with. */
  secretKeyOf: (accessKeyId: string) => { secretAccessKey: string; sessionToken?: string } | undefined;
  /** The CA that signs the simulated units' certificates (the NLB integration verifies TLS). */
  ca?: string;
}): Promise<LocalDeviceApi> {
  const routes = routesOf(options.template, options.apiLogicalId);
  const id = randomBytes(5).toString('hex');
  const calls: RecordedCall[] = [];
  const refused: LocalDeviceApi['refused'] = [];

  const verify = async (req: IncomingMessage, body: Buffer, url: URL): Promise<string | undefined> => {
    const authorization = String(req.headers.authorization ?? '');
    const parsed =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]+)$/.exec(
        authorization,
      );
    if (!parsed) return 'no SigV4 signature';
    const [, accessKeyId, , region, service, signedHeaders, signature] = parsed as unknown as string[];
    if (service !== 'execute-api' || region !== options.region) return `signed for ${service} in ${region}`;
    const secret = options.secretKeyOf(accessKeyId as string);
    if (!secret) return `unknown access key ${accessKeyId}`;
    const signer = new SignatureV4({
      service: 'execute-api',
      region: options.region,
      credentials: { accessKeyId: accessKeyId as string, ...secret },
      sha256: Sha256,
    });
    const headers = Object.fromEntries(
      (signedHeaders as string).split(';').map((h) => [h, String(req.headers[h] ?? '')]),
    );
    const amzDate = String(req.headers['x-amz-date'] ?? '');
    const signingDate = new Date(
      `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
    );
    const again = await signer.sign(
      {
        method: req.method ?? 'GET',
        protocol: url.protocol,
        hostname: url.hostname,
        port: Number(url.port),
        path: url.pathname,
        query: Object.fromEntries(url.searchParams.entries()),
        headers,
        ...(body.length > 0 ? { body } : {}),
      },
      { signingDate },
    );
    const expected = /Signature=([0-9a-f]+)/.exec(String(again.headers.authorization))?.[1];
    return expected === signature ? undefined : 'signature does not match';
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
        const route = routes.find(
          (r) => url.pathname.startsWith(r.prefix) && url.pathname.length > r.prefix.length,
        );
        if (!route) {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end('{"message":"Not Found"}');
          return;
        }
        if (route.iam) {
          const reason = await verify(req, body, url);
          if (reason) {
            refused.push({ path: url.pathname, reason });
            res.writeHead(403, { 'content-type': 'application/json' });
            res.end('{"message":"Forbidden"}');
            return;
          }
        }
        const device = options.devices.get(route.target);
        const method = req.method ?? 'GET';
        calls.push({
          principal: principalOf(req.headers),
          service: 'execute-api',
          operation: `${method} ${url.pathname}`,
          action: 'execute-api:Invoke',
          resource: `arn:aws:execute-api:${options.region}:${options.accountId}:${id}/$default/${method}${url.pathname}`,
          status: device ? 200 : 503,
        });
        if (!device) {
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end('{"message":"Service Unavailable"}');
          return;
        }
        const forward = new URL(`/${url.pathname.slice(route.prefix.length)}${url.search}`, device);
        const transport = forward.protocol === 'https:' ? https : http;
        const upstream = transport.request(
          forward,
          {
            method,
            headers: { ...req.headers, host: forward.host },
            ...(options.ca ? { ca: options.ca } : {}),
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        upstream.on('error', () => {
          if (!res.headersSent) res.writeHead(504, { 'content-type': 'application/json' });
          res.end('{"message":"Endpoint request timed out"}');
        });
        upstream.end(body);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    id,
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    refused,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
