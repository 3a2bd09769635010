import type { StoredObject } from './ltm-model.js';
import { rulesOf } from './ltm-policies.js';

/*
 * What a virtual server's LTM policies do with an HTTP request, as the sandbox's data plane runs
 * them: the request head parsed, the first rule whose conditions hold, its actions (forward,
 * redirect, reset, header inserts with the `tcl:` commands this control plane sends).
 */

/** The most of a request head read before an LTM policy decides (a larger head is refused). */
export const MAX_REQUEST_HEAD = 16 * 1024;
export const REASONS: Record<number, string> = {
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
};

export interface RequestHead {
  uri: string;
  path: string;
  host: string;
  headers: Map<string, string>;
  cookies: Map<string, string>;
}

export function parseRequestHead(text: string): RequestHead | undefined {
  const [line = '', ...rest] = text.split('\r\n');
  const m = /^[A-Z]+ (\S+) HTTP\/1\.[01]$/.exec(line);
  if (!m) return undefined;
  const uri = m[1] as string;
  const headers = new Map<string, string>();
  for (const h of rest) {
    const at = h.indexOf(':');
    if (at > 0) headers.set(h.slice(0, at).trim().toLowerCase(), h.slice(at + 1).trim());
  }
  const cookies = new Map<string, string>();
  for (const c of (headers.get('cookie') ?? '').split(';')) {
    const at = c.indexOf('=');
    if (at > 0) cookies.set(c.slice(0, at).trim(), c.slice(at + 1).trim());
  }
  return {
    uri,
    path: uri.split('?')[0] as string,
    host: (headers.get('host') ?? '').replace(/:\d+$/, ''),
    headers,
    cookies,
  };
}

export type Decision =
  | { kind: 'forward'; pool: string | undefined; inserts: [string, string][] }
  | { kind: 'redirect'; location: string; code: number }
  | { kind: 'reset' };

/**
 * What a virtual server's LTM policies do with a request: rules in ordinal order, the first whose
 * conditions all hold (first-match) runs its actions (forward to a pool, redirect, reset, insert
 * headers). The sandbox decides once per connection, on its first request (a device decides per
 * request; the walkthrough sends one request per connection).
 */
export function decide(policies: StoredObject[], request: RequestHead, client: string): Decision | undefined {
  for (const policy of policies) {
    for (const rule of rulesOf(policy)) {
      const conditions = (rule.conditions as Record<string, unknown>[]) ?? [];
      if (!conditions.every((c) => holds(c, request))) continue;
      const inserts: [string, string][] = [];
      let pool: string | undefined;
      for (const action of (rule.actions as Record<string, unknown>[]) ?? []) {
        if (action.forward && action.reset) return { kind: 'reset' };
        if (action.httpReply && action.redirect)
          return {
            kind: 'redirect',
            location: expandTcl(String(action.location ?? ''), request, client),
            code: Number(action.code) || 302,
          };
        if (action.forward && typeof action.pool === 'string') pool = action.pool;
        if (action.httpHeader && action.insert)
          inserts.push([String(action.tmName), expandTcl(String(action.value ?? ''), request, client)]);
      }
      return { kind: 'forward', pool, inserts };
    }
  }
  return undefined;
}

/** The request head with headers inserted after the request line. */
export function withHeaders(head: Buffer, inserts: [string, string][]): Buffer {
  if (inserts.length === 0) return head;
  const at = head.indexOf('\r\n');
  const lines = inserts.map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return Buffer.concat([head.subarray(0, at + 2), Buffer.from(lines, 'latin1'), head.subarray(at + 2)]);
}

function holds(c: Record<string, unknown>, request: RequestHead): boolean {
  let subject: string | undefined;
  if (c.httpHost) subject = request.host;
  else if (c.httpUri && c.extension) {
    const last = request.path.split('/').pop() ?? '';
    subject = last.includes('.') ? last.slice(last.lastIndexOf('.') + 1) : '';
  } else if (c.httpUri && c.path) subject = request.path;
  else if (c.httpUri) subject = request.uri;
  else if (c.httpHeader) subject = request.headers.get(String(c.tmName ?? '').toLowerCase());
  else if (c.httpCookie) subject = request.cookies.get(String(c.tmName ?? ''));
  const fold = (v: string) => (c.caseInsensitive ? v.toLowerCase() : v);
  const hit =
    subject !== undefined &&
    ((c.values as string[]) ?? []).some((raw) => {
      const [s, v] = [fold(subject as string), fold(String(raw))];
      if (c.startsWith) return s.startsWith(v);
      if (c.endsWith) return s.endsWith(v);
      if (c.contains) return s.includes(v);
      return s === v;
    });
  return c.not ? !hit : hit;
}

/**
 * A `tcl:` value with the request's `[HTTP::uri]`, `[HTTP::host]`, `[HTTP::path]` and the client's
 * `[IP::client_addr]`: the commands this control plane sends, all the sandbox evaluates.
 */
function expandTcl(value: string, request: RequestHead, client: string): string {
  if (!value.startsWith('tcl:')) return value;
  return value
    .slice(4)
    .replaceAll('[HTTP::uri]', request.uri)
    .replaceAll('[HTTP::host]', request.host)
    .replaceAll('[HTTP::path]', request.path)
    .replaceAll('[IP::client_addr]', client.replace(/^::ffff:/, ''));
}
