import { groupOf } from '../functions/domain/agent-scheduler.js';
import type { AgentStatus } from '../functions/services/agent-operations.js';
import type { LoadBalancerResult, OrphanResult } from '../functions/services/reconciler.js';
import type {
  DeadLetter,
  GroupStatus,
  LoadBalancerStats,
  StatusNode,
  SyncReport,
  TakeoverAnswer,
} from './lbaas-client.js';

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

/** A status tree as indented lines: type, id, name, a member's address:port, statuses, reason. */
export function formatTree(root: StatusNode): string {
  const lines: string[] = [];
  const walk = (node: StatusNode, prefix: string, last: boolean, top: boolean) => {
    const branch = top ? '' : last ? '└─ ' : '├─ ';
    const label = `${prefix}${branch}${node.type} ${node.id}${node.name ? ` (${node.name})` : ''}${node.address ? ` ${node.address}` : ''}`;
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
    groupOf(a),
  ]);
  return table(['HOST', 'ALIVE', 'ADMIN', 'HEARTBEAT AGE', 'LOAD BALANCERS', 'DEVICES', 'GROUP'], rows);
}

/** Device groups: state, agents, devices, each limited metric against its limit, and the score. */
export function formatGroups(groups: GroupStatus[]): string {
  const rows = groups.map((g) => {
    const shown = new Map(g.ratios.map((r) => [r.metric, `${trim(r.used)}/${r.limit}`]));
    const usage = (['loadBalancers', 'listeners', 'members', 'connections', 'throughputMbps'] as const)
      .filter((m) => shown.has(m) || (g.usage[m] ?? 0) > 0 || m === 'loadBalancers')
      .map((m) => `${m} ${shown.get(m) ?? trim(g.usage[m] ?? 0)}`)
      .join(', ');
    return [
      g.name,
      g.enabled ? 'enabled' : 'disabled',
      g.score >= 1 ? `${g.score.toFixed(2)} FULL` : g.score.toFixed(2),
      `${g.agentsAlive}/${g.hosts.length} (${g.hosts.join(' ')})`,
      g.devices.join(' ') || '-',
      usage,
    ];
  });
  return table(['GROUP', 'STATE', 'SCORE', 'AGENTS ALIVE', 'DEVICES', 'USAGE (used/limit)'], rows);
}

function trim(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
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

/** One line per load balancer or partition as a sync goes (its progress). */
export function formatSyncItem(done: number, total: number, item: LoadBalancerResult | OrphanResult): string {
  const at = `[${done}/${total}]`;
  if ('loadbalancerId' in item) {
    const what = item.drift.length
      ? ` (${item.drift.length} difference${item.drift.length > 1 ? 's' : ''})`
      : '';
    return `${at} load balancer ${item.loadbalancerId}: ${item.outcome}${what}${item.reason ? ` — ${item.reason}` : ''}`;
  }
  if (item.objects.length === 0 && !item.wholePartition)
    return `${at} partition ${item.partition}: no orphans`;
  return `${at} partition ${item.partition}: ${item.objects.length} orphan(s)${item.wholePartition ? ', no load balancer left' : ''}${item.removed ? ', removed' : ''}`;
}

/** Every difference, per device: what would be (or was) created, changed and removed. */
export function formatSyncReport(report: SyncReport): string {
  if (report.outcome === 'refused' || report.outcome === 'skipped') return `nothing done: ${report.reason}`;
  const rows: string[][] = [];
  for (const lb of report.loadbalancers) {
    for (const d of lb.drift) {
      rows.push([lb.loadbalancerId, d.action, d.kind, d.path, d.fields?.join(',') ?? '', lb.outcome]);
    }
  }
  for (const o of report.orphans) {
    for (const d of o.objects)
      rows.push(['(orphan)', d.action, d.kind, d.path, '', o.removed ? 'removed' : 'found']);
    if (o.wholePartition)
      rows.push([
        '(orphan)',
        'remove',
        'folder',
        `/${o.partition}`,
        '',
        o.removed ? (o.kept.length ? 'kept' : 'removed') : 'found',
      ]);
  }
  for (const n of report.unusedNetworks ?? [])
    rows.push([
      '(unused network)',
      'remove',
      'route domain',
      `route domain ${n.routeDomain} and its VLAN, self IPs, SNAT pool`,
      '',
      n.removed ? 'removed' : n.kept ? `kept: ${n.kept}` : 'found',
    ]);
  const counts = (outcome: string) => report.loadbalancers.filter((l) => l.outcome === outcome).length;
  const summary = `device ${report.device}${report.dryRun ? ' (dry run: nothing changed)' : ''}: ${report.loadbalancers.length} load balancer(s), ${counts('in-sync')} in sync, ${counts('drift')} with drift, ${counts('repaired')} repaired, ${counts('restored')} restored, ${counts('failed')} failed, ${counts('skipped')} skipped; ${report.orphans.reduce((n, o) => n + o.objects.length, 0)} orphan(s)${report.peerSynced ? '; the peer was synced' : ''}${report.outcome === 'aborted' ? `; STOPPED: ${report.reason}` : ''}`;
  return rows.length === 0
    ? summary
    : `${table(['LOAD BALANCER', 'ACTION', 'KIND', 'PATH', 'FIELDS', 'RESULT'], rows)}\n${summary}`;
}

/** A takeover dry run: one row per object, what would become of it and why. */
export function formatTakeover(report: TakeoverAnswer): string {
  if (report.outcome !== 'done') return `nothing read: ${report.reason}`;
  const rows = report.entries.map((e) => [
    e.action,
    e.kind,
    e.path,
    e.target ?? '',
    e.units.length === report.units.length ? 'all' : e.units.join(','),
    e.reason,
  ]);
  const { adopt, rename, leave } = report.counts;
  const summary = `dry run (nothing changed), agent prefix ${report.agentPrefix}, units ${report.units.join(', ')}: ${adopt} to adopt, ${rename} to rename, ${leave} to leave`;
  return rows.length === 0
    ? summary
    : `${table(['ACTION', 'KIND', 'PATH', 'OURS', 'UNITS', 'WHY'], rows)}\n${summary}`;
}
