/**
 * The soak's independent oracle: what must be on the device, built from the requests the soak sent
 * with the mapping docs/bigip-mapping.md documents (the upstream agent's names, shared nodes in /Common) —
 * not with the translation and planning code under test — compared with the simulator's own
 * configuration dump.
 */

/** One load balancer as the soak's requests left it. */
export interface ExpectedLoadBalancer {
  tenantId: string;
  lb: string;
  vip: string;
  deleted: boolean;
  listeners: { id: string; port: number }[];
  pool: { id: string; listener: string } | undefined;
  members: { id: string; address: string; port: number; weight: number; up: boolean }[];
  monitor: { id: string; delay: number; timeout: number; maxRetries: number } | undefined;
  /**
   * A request of this load balancer ended in ERROR or in a dead-letter queue (accounted for by the
   * soak, with its reason): its objects may or may not be on the device, so they are not compared.
   */
  accountedFor?: boolean;
}

type Dump = Record<string, Record<string, unknown>[]>;

/** Differences between the expected configuration and the dump, one line each (empty when equal). */
export function compareWithDevice(
  env: string,
  expected: readonly ExpectedLoadBalancer[],
  dump: Dump,
): string[] {
  const want = new Map<string, Record<string, unknown>>();
  const put = (collection: string, fullPath: string, attrs: Record<string, unknown>) =>
    want.set(`${collection} ${fullPath}`, attrs);
  const ignored = new Set<string>();
  const live = expected.filter((l) => !l.deleted);
  for (const l of live.filter((x) => x.accountedFor)) {
    const p = `/${env}_${l.tenantId}`;
    ignored.add(`ltm/virtual-address ${p}/${env}_${l.lb}`);
    for (const listener of l.listeners) ignored.add(`ltm/virtual ${p}/${env}_${listener.id}`);
    if (l.pool) ignored.add(`ltm/pool ${p}/${env}_${l.pool.id}`);
    for (const m of l.members) {
      if (l.pool) ignored.add(`ltm/pool/members ${p}/${env}_${l.pool.id}|/Common/${m.address}:${m.port}`);
      ignored.add(`ltm/node /Common/${m.address}`);
    }
    if (l.monitor) ignored.add(`ltm/monitor/tcp ${p}/${env}_${l.monitor.id}`);
    ignored.add(`sys/folder ${p}`);
  }
  for (const l of live.filter((x) => !x.accountedFor)) {
    const p = `/${env}_${l.tenantId}`;
    put('sys/folder', p, {});
    put('ltm/virtual-address', `${p}/${env}_${l.lb}`, { address: l.vip, autoDelete: 'false' });
    for (const listener of l.listeners) {
      put('ltm/virtual', `${p}/${env}_${listener.id}`, {
        destination: `${p}/${l.vip}:${listener.port}`,
        ...(l.pool?.listener === listener.id ? { pool: `${p}/${env}_${l.pool.id}` } : {}),
      });
    }
    if (l.pool) {
      const poolPath = `${p}/${env}_${l.pool.id}`;
      put('ltm/pool', poolPath, {
        loadBalancingMode: l.members.some((m) => m.weight > 1) ? 'ratio-member' : 'round-robin',
        ...(l.monitor ? { monitor: `${p}/${env}_${l.monitor.id}` } : {}),
      });
      for (const m of l.members) {
        put('ltm/pool/members', `${poolPath}|/Common/${m.address}:${m.port}`, {
          ratio: Math.max(1, m.weight),
          session: m.up && m.weight > 0 ? 'user-enabled' : 'user-disabled',
        });
        put('ltm/node', `/Common/${m.address}`, {});
      }
    }
    if (l.monitor) {
      const { delay, timeout, maxRetries } = l.monitor;
      put('ltm/monitor/tcp', `${p}/${env}_${l.monitor.id}`, {
        interval: delay,
        timeout: Math.max(maxRetries * timeout, delay + 1),
      });
    }
  }

  const have = new Map<string, Record<string, unknown>>();
  for (const [collection, objects] of Object.entries(dump)) {
    for (const o of objects) {
      const path = String(o.fullPath);
      const key =
        collection === 'ltm/pool/members'
          ? `${collection} ${String(o.pool)}|${path}`
          : `${collection} ${path}`;
      have.set(key, o);
    }
  }
  const out: string[] = [];
  for (const [key, attrs] of want) {
    if (ignored.has(key) && !key.startsWith('sys/folder') && !key.startsWith('ltm/node')) continue;
    const actual = have.get(key);
    if (!actual) {
      out.push(`missing ${key}`);
      continue;
    }
    for (const [attr, value] of Object.entries(attrs)) {
      if (JSON.stringify(actual[attr]) !== JSON.stringify(value))
        out.push(`${key}: ${attr} is ${JSON.stringify(actual[attr])}, expected ${JSON.stringify(value)}`);
    }
  }
  for (const key of have.keys()) if (!want.has(key) && !ignored.has(key)) out.push(`unexpected ${key}`);
  return out.sort();
}
