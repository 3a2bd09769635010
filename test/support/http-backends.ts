import http from 'node:http';
import https from 'node:https';

/** A small HTTP server on the loopback that answers with its own name (and `status`). */
export async function backend(
  name: string,
  status = 200,
  at: { host: string; port: number } = { host: '127.0.0.1', port: 0 },
) {
  const server = http.createServer((req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' });
    res.end(req.method === 'HEAD' ? undefined : name);
  });
  return serve(server, at.host, at.port);
}

/** One GET on a fresh connection, like curl: the body (which member answered), or the error code. */
export function curl(address: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get({ host: address, port, path: '/', agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve(body));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}

/** One request on a fresh connection: status, Location and body, or the error code (a reset is ECONNRESET). */
export function request(
  address: string,
  port: number,
  path: string,
  headers: Record<string, string> = {},
  /** The client's own address (a loopback one: 127.0.0.0/8 is all local). */
  localAddress?: string,
): Promise<{ status: number; location?: string; body: string } | string> {
  return new Promise((resolve) => {
    const from = localAddress ? { localAddress } : {};
    const req = http.get({ host: address, port, path, headers, agent: false, ...from }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          ...(res.headers.location ? { location: res.headers.location } : {}),
          body,
        }),
      );
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}

/** One HTTPS GET on a fresh connection with a server name: the certificate's CN and the body, or the error code. */
export function httpsGet(
  address: string,
  port: number,
  path: string,
  options: { servername?: string; ca: string },
): Promise<{ cn: string; body: string } | string> {
  return new Promise((resolve) => {
    const req = https.get(
      {
        host: address,
        port,
        path,
        agent: false,
        ca: options.ca,
        // The certificate is checked against the name asked for (SNI), not the loopback address.
        servername: options.servername ?? '',
        checkServerIdentity: () => undefined,
      },
      (res) => {
        const cert = (res.socket as import('node:tls').TLSSocket).getPeerCertificate();
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ cn: String(cert.subject?.CN ?? ''), body }));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

/** A server on the loopback that answers with the X-Forwarded-* headers it received, as JSON. */
export async function headerEcho() {
  const server = http.createServer((req, res) => {
    const seen = Object.fromEntries(
      Object.entries(req.headers).filter(([k]) => k.startsWith('x-forwarded-')),
    );
    res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
    res.end(JSON.stringify(seen));
  });
  return serve(server);
}

/** A server listening on a free loopback port, with a stop that drops its connections. */
async function serve(server: http.Server, host = '127.0.0.1', port = 0) {
  await new Promise<void>((r) => server.listen(port, host, r));
  return {
    port: (server.address() as { port: number }).port,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
