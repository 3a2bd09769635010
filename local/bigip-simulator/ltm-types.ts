import { isIP } from 'node:net';
import type { McpdError } from './error-bodies.js';

/** An error the simulated device answers with (status and exact body). */
export class SimError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(
      typeof body === 'object' && body && 'message' in body ? String((body as McpdError).message) : 'error',
    );
  }
}

export const MONITOR_TYPES = ['http', 'https', 'tcp', 'gateway-icmp', 'udp', 'external'] as const;
export const PERSISTENCE_TYPES = ['cookie', 'source-addr'] as const;
export const PROFILE_TYPES = [
  'http',
  'tcp',
  'fastl4',
  'one-connect',
  'client-ssl',
  'server-ssl',
  'udp',
] as const;

export type Collection =
  | 'sys/folder'
  | 'ltm/virtual-address'
  | 'ltm/virtual'
  | 'ltm/pool'
  | 'ltm/pool/members'
  | 'ltm/node'
  | 'ltm/policy'
  | 'ltm/rule'
  | 'ltm/snatpool'
  | 'net/route-domain'
  | 'net/vlan'
  | 'net/self'
  | 'sys/file/ssl-cert'
  | 'sys/file/ssl-key'
  | 'sys/file/external-monitor'
  | `ltm/monitor/${(typeof MONITOR_TYPES)[number]}`
  | `ltm/persistence/${(typeof PERSISTENCE_TYPES)[number]}`
  | `ltm/profile/${(typeof PROFILE_TYPES)[number]}`;

export interface StoredObject {
  name: string;
  partition: string;
  fullPath: string;
  generation: number;
  /** Members only: the pool's full path. */
  pool?: string;
  attrs: Record<string, unknown>;
}

const NOUNS: Record<string, string> = {
  'sys/folder': 'folder',
  'ltm/virtual-address': 'Virtual Address',
  'ltm/virtual': 'Virtual Server',
  'ltm/pool': 'Pool',
  'ltm/pool/members': 'Pool Member',
  'ltm/node': 'Node',
  'ltm/policy': 'Policy',
  'ltm/rule': 'Rule',
  'ltm/snatpool': 'Snatpool',
  'net/route-domain': 'Route Domain',
  'net/vlan': 'VLAN',
  'net/self': 'Self IP',
  'sys/file/ssl-cert': 'File Object',
  'sys/file/ssl-key': 'File Object',
};

/** The noun mcpd uses for a collection in its messages. */
export function noun(collection: Collection): string {
  if (collection.startsWith('ltm/monitor/')) return 'Monitor';
  if (collection.startsWith('ltm/persistence/')) return 'Persistence Profile';
  if (collection.startsWith('ltm/profile/')) return 'Profile';
  return NOUNS[collection] ?? 'object';
}

/** The monitor paths of a pool's `monitor` rule (`a and b`, `min 1 of { a b }`). */
export function monitorsOf(pool: StoredObject): string[] {
  const monitor = String(pool.attrs.monitor ?? '').trim();
  if (!monitor) return [];
  return monitor
    .replace(/^min \d+ of \{|\}$/g, '')
    .split(/\s+and\s+|\s+/)
    .map((m) => m.trim())
    .filter((m) => m.startsWith('/'));
}

/** `10.0.0.1:80` or `2001:db8::1.80` → address and port (port undefined if not a member name). */
export function splitMember(name: string): [string, number | undefined] {
  const v4 = /^(.+):(\d+)$/.exec(name);
  if (v4 && isIP(v4[1]?.split('%')[0] as string) === 4) return [v4[1] as string, Number(v4[2])];
  const v6 = /^(.+)\.(\d+)$/.exec(name);
  if (v6 && isIP(v6[1]?.split('%')[0] as string) === 6) return [v6[1] as string, Number(v6[2])];
  return [name, undefined];
}

/** A virtual server destination `/P/addr:port` (`/P/addr.port` for IPv6), or `/P/<virtual address name>:port`. */
export function parseDestination(
  dest: string,
): { partition: string; address: string; port: number } | undefined {
  const m = /^\/([^/]+)\/(.+)$/.exec(dest);
  const partition = m?.[1] ?? 'Common';
  const rest = m?.[2] ?? dest;
  const [address, port] = splitMember(rest);
  if (port !== undefined) return { partition, address, port };
  // device-facts.md §1.1: a destination may name its virtual address (`/P/name:80`, `/P/name.80`).
  const named = /^([^:]+)[:.](\d+)$/.exec(rest);
  if (named && !isIP(named[1] as string))
    return { partition, address: named[1] as string, port: Number(named[2]) };
  return undefined;
}

/** The route domain of an address (`10.0.0.1%2` → 2; none → 0). */
export function routeDomainOf(address: string): number {
  const rd = /%(\d+)$/.exec(address);
  return rd ? Number(rd[1]) : 0;
}

/** Profile or persistence references as `{ name: '/P/x', … }`. */
export function normaliseRefs(value: unknown): { name: string }[] {
  if (!Array.isArray(value)) return [];
  return value.map((v) => {
    const name = typeof v === 'string' ? v : String((v as { name?: string }).name ?? '');
    return {
      ...(typeof v === 'object' ? (v as object) : {}),
      name: name.startsWith('/') ? name : `/Common/${name}`,
    };
  });
}
