import type { AgentStatus } from '../functions/services/agent-operations.js';
import type { DeadLetter, LoadBalancerStats, StatusNode } from './lbaas-client.js';

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

/** A status tree as indented lines: type, id, name, provisioning and operating status, reason. */
export function formatTree(root: StatusNode): string {
  const lines: string[] = [];
  const walk = (node: StatusNode, prefix: string, last: boolean, top: boolean) => {
    const branch = top ? '' : last ? '└─ ' : '├─ ';
    const label = `${prefix}${branch}${node.type} ${node.id}${node.name ? ` (${node.name})` : ''}`;
    const reason = node.statusReason ? `  ${node.statusReason}` : '';
    lines.push(`${pad(label, 70)} ${pad(node.provisioningStatus, 15)} ${node.operatingStatus}${reason}`);
    const childPrefix = top ? '' : prefix + (last ? '   ' : '│  ');
    for (const [i, c] of node.children.entries()) walk(c, childPrefix, i === node.children.length - 1, false);
  };
  walk(root, '', true, true);
  return lines.join('\n');
}

export function formatAgents(agents: AgentStatus[]): string {
  const rows = agents.map((a) => [
    a.host,
    a.alive ? 'alive' : 'dead',
    a.adminStateUp ? 'up' : 'down',
    a.heartbeatAgeSeconds === undefined ? '-' : `${a.heartbeatAgeSeconds}s`,
    String(a.loadbalancerCount ?? 0),
    Object.entries(a.devices ?? {})
      .map(([n, d]) => `${n}:${d.reachable ? d.failoverState : 'unreachable'}`)
      .join(' '),
  ]);
  return table(['HOST', 'ALIVE', 'ADMIN', 'HEARTBEAT AGE', 'LOAD BALANCERS', 'DEVICES'], rows);
}

export function formatDeadLetters(letters: DeadLetter[]): string {
  if (letters.length === 0) return 'no dead letters';
  return table(
    ['QUEUE', 'REQUEST', 'LOAD BALANCER', 'WHAT', 'RECEIVED', 'SENT'],
    letters.map((l) => [
      l.queue,
      l.requestId ?? '-',
      l.loadbalancerId ?? '-',
      l.summary,
      String(l.receiveCount),
      l.sentAt ?? '-',
    ]),
  );
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [headers, ...rows]
    .map((r) =>
      r
        .map((c, i) => pad(c ?? '', widths[i] as number))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Statistics as a table: one row per listener, then the load balancer's total. */
export function formatStats(result: LoadBalancerStats): string {
  const headers = [
    'LISTENER',
    'BYTES IN',
    'BYTES OUT',
    'ACTIVE CONN',
    'TOTAL CONN',
    'REQUEST ERRORS',
    'READ',
  ];
  const row = (name: string, s: LoadBalancerStats['stats'], read: string) => [
    name,
    String(s.bytes_in),
    String(s.bytes_out),
    String(s.active_connections),
    String(s.total_connections),
    String(s.request_errors),
    read,
  ];
  const rows = result.listeners.map((l) =>
    row(l.listenerId, l.stats, `${new Date(l.observedAt).toISOString()} on ${l.unit}`),
  );
  if (rows.length === 0) return `${table(headers, [row('(total)', result.stats, 'not read yet')])}`;
  return table(headers, [...rows, row('(total)', result.stats, '')]);
}
