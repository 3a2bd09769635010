import http, { type IncomingMessage, type ServerResponse } from 'node:http';

/** What a route answers; only the server writes it to the socket. */
export interface Reply {
  status: number;
  body: unknown;
  /** Send this instead of JSON (the Jetty HTML error page). */
  html?: string;
  headers?: Record<string, string>;
}

export const reply = (status: number, body: unknown): Reply => ({ status, body });

export function send(res: ServerResponse, r: Reply): void {
  if (res.headersSent || res.writableEnded) return;
  if (r.html !== undefined) {
    res.writeHead(r.status, { 'content-type': 'text/html;charset=iso-8859-1', ...r.headers });
    res.end(r.html);
    return;
  }
  const payload = JSON.stringify(r.body);
  res.writeHead(r.status, {
    'content-type': 'application/json;charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    server: 'Jetty(9.4.51.v20230217)',
    ...r.headers,
  });
  res.end(payload);
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 4 * 1024 * 1024) break;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A response sink for "reset after commit": the request is processed, the answer never sent. */
export function nullResponse(req: IncomingMessage): ServerResponse {
  return new http.ServerResponse(req);
}

export function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The partition a `$filter=partition eq P` query names (the only filter a client here sends), or undefined. */
export function partitionFilter(query: URLSearchParams): string | undefined {
  return /^partition\s+eq\s+(\S+)$/.exec((query.get('$filter') ?? '').trim())?.[1];
}
