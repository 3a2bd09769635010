import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Caller } from '../functions/domain/octavia-policy.js';
import type { TokenValidator } from '../functions/domain/ports.js';
import {
  type HttpRequest,
  type HttpResponse,
  queryParams,
} from '../functions/handlers/octavia-api-handler.js';

/** Octavia's port: `openstack --os-endpoint http://127.0.0.1:9876` finds it where it expects it. */
export const OCTAVIA_PORT = 9876;

export interface ApiServerOptions {
  handler: (req: HttpRequest, caller: Caller | undefined) => Promise<HttpResponse>;
  /**
   * How callers are identified: `noauth` (Octavia's `auth_strategy = noauth`: everyone is an admin,
   * acting for the project of `X-Project-Id`, the body's `project_id` or the default project), or
   * a Keystone validator for `X-Auth-Token` (as the API Gateway authorizer does in AWS).
   */
  auth: { mode: 'noauth'; defaultProject?: string } | { mode: 'keystone'; validator: TokenValidator };
  port?: number;
  host?: string;
}

export interface ApiServer {
  url: string;
  close(): Promise<void>;
}

/** The local front of the Octavia API: the same handler API Gateway invokes, on a Node HTTP server. */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? host}`);
      const request: HttpRequest = {
        method: req.method ?? 'GET',
        path: url.pathname.replace(/\/+$/, '') || '/',
        query: queryParams(url.searchParams.entries()),
        headers: Object.fromEntries(
          Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(',') : v]),
        ),
        body: body.length > 0 ? body : undefined,
        baseUrl: `http://${req.headers.host ?? host}`,
      };
      let response: HttpResponse;
      const caller = await identify(options.auth, request).catch((error: unknown) => {
        // The identity service failed (not the token): said, never with the token.
        console.error(`octavia-api: token validation failed: ${(error as Error).message}`);
        return 'error' as const;
      });
      if (caller === 'error') response = plain(503, 'The identity service could not be reached.');
      else if (caller === 'refused')
        response = plain(401, 'The request you have made requires authentication.');
      else response = await options.handler(request, caller);
      res.writeHead(response.status, {
        ...response.headers,
        'content-length': Buffer.byteLength(response.body),
      });
      res.end(response.body);
    })().catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? OCTAVIA_PORT, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function identify(
  auth: ApiServerOptions['auth'],
  req: HttpRequest,
): Promise<Caller | undefined | 'refused'> {
  if (auth.mode === 'noauth') {
    const project = req.headers['x-project-id'] ?? auth.defaultProject;
    return { noauth: true, projectId: project, roles: ['admin'] };
  }
  const token = req.headers['x-auth-token'];
  if (!token) return undefined;
  const validated = await auth.validator.validate(token);
  if (!validated) return 'refused';
  return {
    projectId: validated.projectId,
    roles: validated.roles,
    ...(validated.userId ? { userId: validated.userId } : {}),
    system: validated.system,
  };
}

function plain(status: number, message: string): HttpResponse {
  return {
    status,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      faultcode: status >= 500 ? 'Server' : 'Client',
      faultstring: message,
      debuginfo: null,
    }),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    // Octavia's bodies are small; a member batch of a thousand members stays far below this.
    if (size > 2 * 1024 * 1024) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
