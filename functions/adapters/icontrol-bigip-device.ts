import type { ApplyPlan } from '../domain/bigip-apply-plan.js';
import { assertSafeName, urlId } from '../domain/bigip-names.js';
import {
  type BigIpCommand,
  type BigIpObject,
  DEVICE_FILES,
  type DeviceSnapshot,
  isDeviceMadeNode,
  MONITOR_TYPES,
  type MonitorType,
  objectKey,
  type ReadUnit,
} from '../domain/bigip-objects.js';
import type { AddressReading, HealthScrape, MemberReading, VirtualReading } from '../domain/device-health.js';
import { readinessOf } from '../domain/device-readiness.js';
import { BigIpError } from '../domain/errors.js';
import { groupSyncStatus } from '../domain/group-sync-status.js';
import { canonicalAction, canonicalCondition } from '../domain/ltm-policy-translation.js';
import {
  NET_PARTITION,
  type NetCommand,
  type NetKind,
  type NetObject,
  netObjectKey,
  routeDomainOfAddress,
} from '../domain/network-objects.js';
import { nodeConflictIn, nodeConflictReason, reuseTenantNode } from '../domain/node-conflicts.js';
import type { BigIpDevice, DeviceStatus, ExecuteOptions, ExecuteReport } from '../domain/ports.js';
import type { InventoryItem, InventoryKind } from '../domain/takeover-plan.js';
import { hasSysReady } from '../domain/tmos-versions.js';
import type { BigIpRestClient, RestResponse } from './bigip-rest-client.js';

const FOLDER_MISSING_RE = /requested folder \(.*\) was not found/i;
const NODE_IN_USE_RE = /referenced by a member of pool|is in use/i;
// A folder that still holds items: 010713f9 (sys folder, hidden items included), 0107082a (auth partition).
const FOLDER_NOT_EMPTY_RE =
  /010713f9|0107082a|cannot be deleted because it contains|remove all objects from a partition/i;

function collection(o: Pick<BigIpObject, 'kind' | 'partition' | 'monitorType' | 'pool'>): string {
  switch (o.kind) {
    case 'folder':
      return '/mgmt/tm/sys/folder';
    case 'virtual-address':
      return '/mgmt/tm/ltm/virtual-address';
    case 'virtual':
      return '/mgmt/tm/ltm/virtual';
    case 'pool':
      return '/mgmt/tm/ltm/pool';
    case 'member':
      return `/mgmt/tm/ltm/pool/${urlId(o.partition, o.pool as string)}/members`;
    case 'monitor':
      return `/mgmt/tm/ltm/monitor/${o.monitorType}`;
    case 'persistence-cookie':
      return '/mgmt/tm/ltm/persistence/cookie';
    case 'persistence-source-addr':
      return '/mgmt/tm/ltm/persistence/source-addr';
    case 'tcp-profile':
      return '/mgmt/tm/ltm/profile/tcp';
    case 'ltm-policy':
      return '/mgmt/tm/ltm/policy';
    case 'rule':
      return '/mgmt/tm/ltm/rule';
    case 'ssl-cert':
      return '/mgmt/tm/sys/file/ssl-cert';
    case 'ssl-key':
      return '/mgmt/tm/sys/file/ssl-key';
    case 'monitor-program':
      return '/mgmt/tm/sys/file/external-monitor';
    case 'client-ssl':
      return '/mgmt/tm/ltm/profile/client-ssl';
    case 'server-ssl':
      return '/mgmt/tm/ltm/profile/server-ssl';
  }
}

const VERSION_TTL_MS = 10 * 60_000;

/** Where a file lands after its upload (file-transfer/uploads), for `sourcePath`. */
const DOWNLOADS = '/var/config/rest/downloads';
/** The file-transfer endpoint takes chunks of at most 1 MiB; F5's SDK sends 512 KiB. */
const UPLOAD_CHUNK = 512 * 1024;

function itemPath(
  o: Pick<BigIpObject, 'kind' | 'partition' | 'name' | 'monitorType' | 'pool' | 'nodePartition'>,
): string {
  if (o.kind === 'folder') return `/mgmt/tm/sys/folder/~${assertSafeName(o.partition, 'partition')}`;
  // A member's own partition is its node's (/Common for shared nodes); its pool is in `partition`.
  const partition = o.kind === 'member' ? (o.nodePartition ?? o.partition) : o.partition;
  return `${collection(o)}/${urlId(partition, o.name)}`;
}

/** Canonical attributes → iControl REST body fields. */
function toWire(kind: BigIpObject['kind'], attrs: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = { ...attrs };
  if (kind === 'virtual') {
    if ('enabled' in attrs) {
      delete body.enabled;
      if (attrs.enabled) body.enabled = true;
      else body.disabled = true;
    }
    if ('profiles' in attrs) body.profiles = (attrs.profiles as string[]).map((name) => ({ name }));
    if ('persist' in attrs) body.persist = (attrs.persist as string[]).map((name) => ({ name }));
    if ('policies' in attrs) body.policies = (attrs.policies as string[]).map((name) => ({ name }));
  }
  // device-facts.md §3.4: a published policy cannot be created or changed directly from 12.1; `legacy: true` does
  // both as before 12.1 (what F5's agent sends), so no draft is ever left behind.
  if (kind === 'ltm-policy') body.legacy = true;
  return body;
}

const text = (v: unknown) => (typeof v === 'string' ? v : '');
const itemsOf = (reference: unknown) =>
  ((reference as { items?: Record<string, unknown>[] } | undefined)?.items ?? []).slice();
/** A subcollection of references (a virtual's policies) as sorted full paths. */
const refsOf = (reference: unknown) =>
  itemsOf(reference)
    .map((p) => String(p.fullPath ?? `/${p.partition ?? 'Common'}/${p.name}`))
    .sort();
const refName = (v: unknown) => (typeof v === 'string' ? v.trim() : '');

/** iControl REST body → canonical attributes (BIG-IP's quirks folded away). */
function fromWire(kind: BigIpObject['kind'], body: Record<string, unknown>): Record<string, unknown> {
  switch (kind) {
    case 'virtual': {
      const profiles = (
        body.profilesReference as { items?: { fullPath?: string; name?: string; partition?: string }[] }
      )?.items;
      const persist = (body.persist as { name: string; partition?: string }[] | undefined) ?? [];
      return {
        destination: body.destination,
        mask: body.mask,
        ipProtocol: body.ipProtocol,
        pool: refName(body.pool) === 'none' ? '' : refName(body.pool),
        profiles: profiles
          ? profiles.map((p) => p.fullPath ?? `/${p.partition ?? 'Common'}/${p.name}`).sort()
          : undefined,
        persist: persist.map((p) =>
          p.name.startsWith('/') ? p.name : `/${p.partition ?? 'Common'}/${p.name}`,
        ),
        policies: refsOf(body.policiesReference),
        rules: ((body.rules as string[] | undefined) ?? []).map((r) =>
          r.startsWith('/') ? r : `/Common/${r}`,
        ),
        sourceAddressTranslation: sourceTranslationOf(body.sourceAddressTranslation),
        connectionLimit: Number(body.connectionLimit ?? 0),
        enabled: body.disabled !== true,
        description: text(body.description),
      };
    }
    case 'pool':
      return {
        loadBalancingMode: body.loadBalancingMode,
        monitor: refName(body.monitor) === 'none' ? '' : refName(body.monitor),
        minActiveMembers: Number(body.minActiveMembers ?? 0),
        description: text(body.description),
      };
    case 'member':
      return {
        address: body.address,
        ratio: Number(body.ratio ?? 1),
        priorityGroup: Number(body.priorityGroup ?? 0),
        session: String(body.session ?? '').endsWith('disabled') ? 'user-disabled' : 'user-enabled',
        monitor: refName(body.monitor) || 'default',
        description: text(body.description),
      };
    case 'virtual-address':
      return {
        address: body.address,
        enabled: body.enabled,
        autoDelete: body.autoDelete,
        trafficGroup: body.trafficGroup,
        description: text(body.description),
      };
    case 'monitor':
      return {
        interval: Number(body.interval),
        timeout: Number(body.timeout),
        send: body.send,
        recv: body.recv,
        destination: body.destination,
        description: text(body.description),
        // An external monitor's program (device-facts.md §8.4); other types have none.
        ...(body.run === undefined ? {} : { run: refName(body.run) === 'none' ? '' : refName(body.run) }),
      };
    case 'monitor-program':
      // Only the checksum is ours to compare: a program changed on the device reads another (§8.3).
      return { checksum: text(body.checksum) };
    case 'persistence-cookie':
      return { method: body.method, cookieName: text(body.cookieName), defaultsFrom: body.defaultsFrom };
    case 'persistence-source-addr': {
      // Only what a pool tunes is ours; a device reads `timeout` back as a string (tmsh's word).
      const parent = refName(body.defaultsFrom);
      return {
        defaultsFrom: parent.startsWith('/') ? parent : `/Common/${parent}`,
        ...(body.timeout === undefined ? {} : { timeout: String(body.timeout) }),
        ...(body.mask === undefined || body.mask === 'none' ? {} : { mask: String(body.mask) }),
      };
    }
    case 'tcp-profile': {
      const parent = refName(body.defaultsFrom);
      return {
        defaultsFrom: parent.startsWith('/') ? parent : `/Common/${parent}`,
        // tmsh writes 0 as "indefinite"; REST reads a number (f5-ansible's bigip_profile_tcp takes both).
        idleTimeout: body.idleTimeout === 'indefinite' ? 0 : Number(body.idleTimeout),
      };
    }
    case 'rule':
      // Compared as sent; a device that trims the text's ends reads back the same rule.
      return { apiAnonymous: text(body.apiAnonymous).trim() };
    case 'ltm-policy': {
      const strategy = refName(body.strategy);
      return {
        strategy: strategy.startsWith('/') ? strategy : `/Common/${strategy}`,
        requires: body.requires ?? [],
        controls: body.controls ?? [],
        rules: ((body.rulesReference as { items?: Record<string, unknown>[] })?.items ?? [])
          .map((rule) => ({
            name: String(rule.name),
            ordinal: Number(rule.ordinal ?? 0),
            conditions: itemsOf(rule.conditionsReference).map(canonicalCondition),
            actions: itemsOf(rule.actionsReference).map(canonicalAction),
          }))
          .sort((a, b) => a.ordinal - b.ordinal),
      };
    }
    default:
      return {};
  }
}

/**
 * Kinds whose answer to a write is their whole read-back: a write answers the object as the device
 * holds it, and these are read without subcollections (a virtual's profiles and policies, a policy's
 * rules are not in its answer).
 */
const WHOLE_IN_ANSWER = new Set<BigIpObject['kind']>([
  'pool',
  'member',
  'virtual-address',
  'monitor',
  'persistence-cookie',
  'persistence-source-addr',
  'tcp-profile',
]);

/** One entry of a stats collection (§5.2: `entries{<selfLink>: {nestedStats: {entries: {…}}}}`). */
interface StatEntry {
  number(field: string): number;
  text(field: string): string | undefined;
  /** The object's name from its self link (`…/members/~P~10.0.0.5:80/stats` → `10.0.0.5:80`). */
  linkName(): string | undefined;
}

function statEntries(body: unknown): StatEntry[] {
  const entries = (body as { entries?: Record<string, { nestedStats?: { entries?: unknown } }> })?.entries;
  if (!entries || typeof entries !== 'object') return [];
  return Object.entries(entries).map(([link, value]) => {
    const fields = (value?.nestedStats?.entries ?? {}) as Record<
      string,
      { value?: unknown; description?: unknown }
    >;
    return {
      number: (field) => {
        const v = Number(fields[field]?.value ?? 0);
        return Number.isFinite(v) ? v : 0;
      },
      text: (field) =>
        typeof fields[field]?.description === 'string' ? fields[field].description : undefined,
      linkName: () => {
        const m = /~([^/~]+)\/stats(?:\?|$)/.exec(link);
        if (!m?.[1]) return undefined;
        // A route-domain suffix travels as %25 (bigip-rest.md A.3.1); a link that carries a bare `%`
        // (`10.0.0.5%2:80`) is taken as it is rather than failing the whole reading.
        try {
          return decodeURIComponent(m[1]);
        } catch {
          return m[1];
        }
      },
    };
  });
}

/** Runs `fn` over items with a small concurrency: a device's management plane is easy to overload. */
async function limited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    }),
  );
  return out;
}

/** Node reads in flight at once during a cleanup (a pool of a thousand members frees a thousand nodes). */
const NODE_READS_AT_ONCE = 8;
/** What a node listing returns per node: its name and what tells a device-made node (isDeviceMadeNode). */
const NODE_FIELDS = 'name,partition,description,connectionLimit,rateLimit,ratio,dynamicRatio,logging,monitor';
/**
 * Node deletes up to this many go one DELETE each; more go in one transaction per hundred. Each
 * DELETE is a configuration write of its own, one at a time on the device; enlisting is not
 * processed until the commit (bigip-rest.md A.4), so a transaction costs its create and commit on top
 * of cheap enlists. Where that pays off is an assumption (no public source times a call,
 * device-facts.md §6): under the benchmarks' model, from about six nodes on.
 */
const NODE_DELETES_ALONE = 5;
/** Nodes per clean-up transaction: one in use fails its whole transaction, whose nodes then go one by one. */
const NODE_DELETES_PER_TRANSACTION = 100;
/** A commit the device refused (bigip-rest.md A.4: "transaction failed:<inner message>"). */
const TRANSACTION_FAILED_RE = /^transaction failed:/;

/**
 * One BIG-IP reached over iControl REST: reads the objects an apply needs, and executes a plan
 * (partition, then the change as one transaction, then clean-up the device may refuse).
 */
export class IControlBigIpDevice implements BigIpDevice {
  /** The device's TMOS version, read once in a while (an upgrade reboots the unit). */
  private version: { at: number; value: Promise<string> } | undefined;

  constructor(
    private readonly rest: BigIpRestClient,
    /** The device group the agent syncs: its own state is read from `cm/sync-status` (group-sync-status.ts). */
    private readonly options: { deviceGroup?: string } = {},
  ) {}

  /**
   * The TMOS version from the device info, as F5's own client reads it before deciding what to ask
   * (f5-cloud-libs `ready()`); kept for ten minutes. A failed read is not kept.
   */
  private tmosVersion(): Promise<string> {
    const now = Date.now();
    if (this.version && now - this.version.at < VERSION_TTL_MS) return this.version.value;
    const value = this.rest.request('GET', '/mgmt/shared/identified-devices/config/device-info').then((r) => {
      const version = (r.body as { version?: unknown })?.version;
      if (typeof version !== 'string' || !/^\d+\.\d+/.test(version))
        throw new BigIpError(`device ${this.name}: device-info names no TMOS version`, {
          device: this.name,
          transient: true,
        });
      return version;
    });
    const entry = { at: now, value };
    this.version = entry;
    value.catch(() => {
      if (this.version === entry) this.version = undefined;
    });
    return value;
  }

  get name(): string {
    return this.rest.name;
  }

  async close(): Promise<void> {
    await this.rest.close();
  }

  async read(partition: string, units: readonly ReadUnit[]): Promise<DeviceSnapshot> {
    const snapshot: DeviceSnapshot = { folderExists: true, objects: new Map(), poolMembers: new Map() };
    // What an LTM policy may carry depends on the version (tmos-versions.ts), and a read-back is
    // compared only with one recorded on the same version (last-applied.ts): read alongside (cached).
    const version = units.length > 0 ? this.tmosVersion() : undefined;
    if (units.some((u) => u.kind === 'tls-listing')) {
      snapshot.tlsListed = await this.listTls(partition);
      for (const o of snapshot.tlsListed) snapshot.objects.set(objectKey(o), {});
    }
    const results = await limited(
      units.filter((u) => u.kind !== 'tls-listing'),
      4,
      async (unit) => {
        const object = { ...unit, attrs: {} } as BigIpObject;
        // A pool comes with its members, a virtual with its profiles and policies, and a policy with
        // its rules and each rule's conditions and actions (a deep expansion: device-facts.md §7.2).
        const expand = ['pool', 'virtual', 'ltm-policy'].includes(unit.kind)
          ? '?expandSubcollections=true'
          : '';
        const response = await this.rest.request('GET', `${itemPath(object)}${expand}`, {
          accept: [400, 404],
        });
        return { unit, object, response };
      },
    );
    for (const { unit, object, response } of results) {
      if (response.status === 400) {
        if (FOLDER_MISSING_RE.test(messageOf(response))) {
          snapshot.folderExists = false;
          continue;
        }
        throw this.error('GET', unit, response);
      }
      // 404: the object is missing, or (some devices, §3.2) its whole partition; the folder's own read tells.
      if (response.status === 404) {
        if (unit.kind === 'folder') snapshot.folderExists = false;
        continue;
      }
      const body = response.body as Record<string, unknown>;
      if (unit.kind === 'folder') continue;
      snapshot.objects.set(objectKey(object), fromWire(unit.kind, body));
      if (unit.kind === 'pool') {
        const items = (body.membersReference as { items?: Record<string, unknown>[] })?.items ?? [];
        const members = items.map(
          (m): BigIpObject => ({
            kind: 'member',
            partition,
            pool: unit.name,
            nodePartition: String(m.partition ?? partition),
            name: String(m.name),
            attrs: fromWire('member', m),
          }),
        );
        snapshot.poolMembers.set(objectKey(object), members);
        for (const m of members) snapshot.objects.set(objectKey(m), m.attrs);
      }
    }
    if (!snapshot.folderExists) snapshot.objects.clear();
    if (version) snapshot.tmosVersion = await version;
    return snapshot;
  }

  async execute(partition: string, plan: ApplyPlan, options: ExecuteOptions = {}): Promise<ExecuteReport> {
    // Every call of the change carries the lease's send-by time: none reaches the device after it.
    // A long clean-up renews the lease between its parts, and later calls carry the new time.
    let sendBy = options.sendBy;
    const rest: Requester = {
      request: (method, path, o = {}) =>
        this.rest.request(method, path, sendBy === undefined ? o : { ...o, notAfter: sendBy }),
    };
    const renew = async () => {
      if (options.renew) sendBy = await options.renew();
    };
    const report: ExecuteReport = { skipped: [] };
    if (plan.createFolder) {
      await rest.request('POST', '/mgmt/tm/sys/folder', {
        body: { name: partition, subPath: '/' },
        accept: [409],
      });
    }
    // Certificates, keys and monitor programs are files: uploaded and installed before the change
    // that uses them, removed after the change that let go of them (none goes into a transaction).
    const files = (c: BigIpCommand) => DEVICE_FILES.has(c.object.kind);
    for (const c of plan.commands.filter((c) => files(c) && c.op !== 'delete'))
      await this.installFile(c.object, rest, c.op === 'update');
    const answers = await this.change(
      partition,
      plan.commands.filter((c) => !files(c)),
      plan.atomic,
      rest,
      renew,
    );
    if (answers.size > 0) report.answers = answers;
    for (const c of plan.commands.filter((c) => files(c) && c.op === 'delete')) {
      const response = await rest.request('DELETE', itemPath(c.object), { accept: [400, 404] });
      // Still used by a profile we do not know of: left, as the device says.
      if (response.status === 400) report.skipped.push(`${c.object.name} kept: ${messageOf(response)}`);
    }

    // Each node is read first (only one the device made for a member of ours goes; an operator's
    // stays); one already gone is skipped.
    const nodes = plan.nodeCleanup.map((node) => {
      const [, nodePartition = partition, name = node] = /^\/([^/]+)\/(.+)$/.exec(node) ?? [];
      return {
        node,
        partition: nodePartition,
        name,
        path: `/mgmt/tm/ltm/node/${urlId(nodePartition, name)}`,
      };
    });
    const current = await this.readNodes(nodes, rest);
    const ours: typeof nodes = [];
    for (const [i, n] of nodes.entries()) {
      const read = current[i];
      if (read === undefined) continue;
      if (isDeviceMadeNode(read)) ours.push(n);
      else report.skipped.push(`node ${n.node} kept: made or changed by hand`);
    }
    for (let i = 0; i < ours.length; i += NODE_DELETES_PER_TRANSACTION) {
      if (i > 0) await renew();
      await this.deleteNodes(ours.slice(i, i + NODE_DELETES_PER_TRANSACTION), rest, report);
    }
    if (plan.removeFolder) {
      const response = await rest.request('DELETE', `/mgmt/tm/sys/folder/~${assertSafeName(partition)}`, {
        accept: [400, 404],
      });
      if (response.status === 400) {
        if (!FOLDER_NOT_EMPTY_RE.test(messageOf(response)))
          throw this.error('DELETE', { name: partition }, response);
        // Another load balancer of the tenant, or an item we do not own: the partition stays, in the device's words.
        report.skipped.push(`partition ${partition} kept: ${messageOf(response)}`);
      }
    }
    return report;
  }

  /**
   * The change itself: one transaction (or its one command). A member refused because a node of the
   * tenant's own partition has its address (left by F5's agent) goes into that partition and the
   * change is sent again; a node elsewhere refuses it for good, in words that name it
   * (node-conflicts.ts). Each retry moves at least one member, so it ends. Returns the device's
   * answers to the calls made on their own (ExecuteReport.answers).
   */
  private async change(
    partition: string,
    commands: readonly BigIpCommand[],
    atomic: boolean,
    rest: Requester,
    renew: () => Promise<void>,
  ): Promise<Map<string, Record<string, unknown>>> {
    let current = commands;
    for (;;) {
      const answers = new Map<string, Record<string, unknown>>();
      try {
        if (atomic && current.length > 1)
          await this.transaction(async (id) => {
            for (const command of current) await this.run(command, id, rest);
          }, rest);
        else
          for (const [i, command] of current.entries()) {
            // One write at a time (a cascade delete): a long one renews its lease between them.
            if (i > 0) await renew();
            const response = await this.run(command, undefined, rest);
            const o = command.object;
            const body = response.body;
            if ((command.op === 'create' || command.op === 'update') && WHOLE_IN_ANSWER.has(o.kind))
              if (body && typeof body === 'object' && !Array.isArray(body))
                answers.set(objectKey(o), fromWire(o.kind, body as Record<string, unknown>));
          }
        return answers;
      } catch (error) {
        const message = error instanceof BigIpError ? String(error.context.bigipMessage ?? '') : '';
        const conflict =
          error instanceof BigIpError && error.status === 400 ? nodeConflictIn(message) : undefined;
        if (!conflict) throw error;
        // Only a change that left nothing behind is sent again: a transaction, or a single command.
        const again =
          atomic || current.length === 1 ? reuseTenantNode(current, conflict, partition) : undefined;
        if (!again) {
          const reason = nodeConflictReason(conflict);
          throw new BigIpError(`device ${this.name}: ${reason}`, {
            device: this.name,
            status: 400,
            transient: false,
            context: { bigipMessage: reason },
          });
        }
        current = again;
      }
    }
  }

  async status(options: { withSync?: boolean; withVersion?: boolean } = {}): Promise<DeviceStatus> {
    const failover = await this.rest.request('GET', '/mgmt/tm/cm/failover-status');
    const status: DeviceStatus = { failoverState: nestedDescription(failover.body, 'status') ?? 'UNKNOWN' };
    if (options.withSync) {
      const sync = await this.rest.request('GET', '/mgmt/tm/cm/sync-status');
      const value = this.groupSync(sync.body);
      if (value) status.syncStatus = value;
    }
    if (options.withVersion) {
      const version = await this.rest.request('GET', '/mgmt/tm/sys/version');
      const value = nestedDescription(version.body, 'Version');
      if (value) status.version = value;
    }
    return status;
  }

  async readHealth(partitionPrefix: string, wantPool: (fullPath: string) => boolean): Promise<HealthScrape> {
    const ours = (path: string) => path.startsWith(`/${partitionPrefix}`);
    const [virtualStats, poolStats, addressList] = await Promise.all([
      this.rest.request('GET', '/mgmt/tm/ltm/virtual/stats'),
      this.rest.request('GET', '/mgmt/tm/ltm/pool/stats'),
      // A load balancer without listeners has no virtual server: its virtual address shows it.
      this.rest.request('GET', '/mgmt/tm/ltm/virtual-address?$select=fullPath,enabled'),
    ]);
    const addresses = new Map<string, AddressReading>();
    for (const item of (addressList.body as { items?: { fullPath?: unknown; enabled?: unknown }[] })?.items ??
      []) {
      if (typeof item.fullPath !== 'string' || !ours(item.fullPath)) continue;
      addresses.set(item.fullPath, { enabled: item.enabled !== 'no' && item.enabled !== false });
    }
    const virtuals = new Map<string, VirtualReading>();
    for (const e of statEntries(virtualStats.body)) {
      const path = e.text('tmName');
      if (!path || !ours(path)) continue;
      virtuals.set(path, {
        bitsIn: e.number('clientside.bitsIn'),
        bitsOut: e.number('clientside.bitsOut'),
        curConns: e.number('clientside.curConns'),
        totConns: e.number('clientside.totConns'),
        slowKilled: e.number('clientside.slowKilled'),
        enabled: e.text('status.enabledState') !== 'disabled',
      });
    }
    const poolPaths = statEntries(poolStats.body)
      .map((e) => e.text('tmName'))
      .filter((p): p is string => p !== undefined && ours(p) && wantPool(p));
    const pools = new Map<string, Map<string, MemberReading>>();
    await limited(poolPaths, 4, async (path) => {
      const [, partition = '', name = ''] = /^\/([^/]+)\/(.+)$/.exec(path) ?? [];
      // A pool listed a moment ago that now answers 404 (mcpd restarting, bigip-rest.md A.6, or just
      // deleted) fails the whole reading: a partial one could read as members gone.
      const response = await this.rest.request(
        'GET',
        `/mgmt/tm/ltm/pool/${urlId(partition, name)}/members/stats`,
      );
      const members = new Map<string, MemberReading>();
      for (const e of statEntries(response.body)) {
        const member = e.linkName() ?? `${e.text('addr')}:${e.number('port')}`;
        members.set(member, {
          monitorStatus: e.text('monitorStatus') ?? 'unchecked',
          enabled: e.text('status.enabledState') !== 'disabled',
        });
      }
      pools.set(path, members);
    });
    return { unit: this.name, virtuals, addresses, pools };
  }

  async readiness(): Promise<{ ready: boolean; reason?: string }> {
    // sys/ready exists from 13.1 only; before, sys/available stands in (device-readiness.ts).
    const version = await this.tmosVersion();
    const withReady = hasSysReady(version);
    const [mcp, ready, available] = await Promise.all([
      this.rest.request('GET', '/mgmt/tm/sys/mcp-state'),
      withReady ? this.rest.request('GET', '/mgmt/tm/sys/ready') : undefined,
      withReady ? undefined : this.rest.request('GET', '/mgmt/tm/sys/available', { accept: [404, 503] }),
    ]);
    return readinessOf({
      version,
      mcpPhases: nestedDescriptions(mcp.body, 'phase'),
      ...(ready ? { configReady: nestedDescription(ready.body, 'configReady') ?? 'unknown' } : {}),
      ...(available ? { sysAvailable: available.status === 200 } : {}),
    });
  }

  /** The partition's certificates, keys, client-ssl and server-ssl profiles (names only): four listing GETs. */
  private async listTls(partition: string): Promise<BigIpObject[]> {
    assertSafeName(partition, 'partition');
    const filter = `$filter=partition+eq+${partition}&$select=name,partition`;
    const kinds = ['ssl-cert', 'ssl-key', 'client-ssl', 'server-ssl'] as const;
    const lists = await limited(kinds, 4, async (kind) => {
      const response = await this.rest.request('GET', `${collection({ kind, partition })}?${filter}`, {
        accept: [400, 404],
      });
      if (response.status !== 200) return [];
      const items = (response.body as { items?: { name?: string; partition?: string }[] })?.items ?? [];
      return items
        .filter((i) => i.partition === partition && typeof i.name === 'string')
        .map((i): BigIpObject => ({ kind, partition, name: String(i.name), attrs: {} }));
    });
    return lists.flat();
  }

  /**
   * Uploads a certificate, key or external monitor program (file-transfer, in chunks with
   * Content-Range, as F5's SDK does) and creates it in the tenant's partition from the uploaded file,
   * the way F5's Ansible and Terraform do: `POST /mgmt/tm/sys/file/ssl-cert|ssl-key|external-monitor
   * {name, partition, sourcePath}` (device-facts.md §7.8, §8.3; `sys crypto … install` by a full
   * partition path has no public evidence). A certificate's or key's name carries its content, and
   * a program was read before the plan, so one that exists already (a retry) is the same file. The
   * bytes may be key material: they go into the request and nowhere else.
   */
  private async installFile(o: BigIpObject, rest: Requester, replace = false): Promise<void> {
    const name = assertSafeName(o.name, 'file');
    const bytes = Buffer.from(o.content ?? '', 'utf8');
    for (let start = 0; start < bytes.length || start === 0; start += UPLOAD_CHUNK) {
      const chunk = bytes.subarray(start, Math.min(bytes.length, start + UPLOAD_CHUNK));
      await rest.request('POST', `/mgmt/shared/file-transfer/uploads/${name}`, {
        raw: {
          bytes: chunk,
          headers: { 'content-range': `${start}-${start + chunk.length - 1}/${bytes.length}` },
        },
        idempotent: true,
      });
      if (bytes.length === 0) break;
    }
    // A program whose checksum differs from ours (drift) is given our text again: a new sourcePath
    // replaces a file's content in place (device-facts.md §8.3), so the monitors running it stay.
    if (replace) {
      await rest.request('PATCH', itemPath(o), {
        body: { sourcePath: `file://${DOWNLOADS}/${name}` },
        idempotent: true,
      });
      return;
    }
    await rest.request('POST', collection(o), {
      body: {
        name,
        partition: assertSafeName(o.partition, 'partition'),
        sourcePath: `file://${DOWNLOADS}/${name}`,
        ...(o.passphrase ? { passphrase: o.passphrase } : {}),
      },
      accept: [409],
      idempotent: true,
    });
  }

  async listPartitions(prefix: string): Promise<string[]> {
    const response = await this.rest.request('GET', '/mgmt/tm/sys/folder?$select=name,subPath');
    const items = (response.body as { items?: { name?: string; subPath?: string }[] })?.items ?? [];
    return items
      .filter((f) => f.subPath === '/' && typeof f.name === 'string' && f.name.startsWith(prefix))
      .map((f) => String(f.name))
      .sort();
  }

  async listPartition(partition: string): Promise<BigIpObject[]> {
    assertSafeName(partition, 'partition');
    const filter = `$filter=partition+eq+${partition}&$select=name,partition`;
    const collections: { kind: BigIpObject['kind']; path: string; monitorType?: MonitorType }[] = [
      { kind: 'virtual', path: '/mgmt/tm/ltm/virtual' },
      { kind: 'pool', path: '/mgmt/tm/ltm/pool' },
      { kind: 'virtual-address', path: '/mgmt/tm/ltm/virtual-address' },
      { kind: 'persistence-cookie', path: '/mgmt/tm/ltm/persistence/cookie' },
      { kind: 'persistence-source-addr', path: '/mgmt/tm/ltm/persistence/source-addr' },
      { kind: 'ltm-policy', path: '/mgmt/tm/ltm/policy' },
      { kind: 'rule', path: '/mgmt/tm/ltm/rule' },
      { kind: 'tcp-profile', path: '/mgmt/tm/ltm/profile/tcp' },
      { kind: 'client-ssl', path: '/mgmt/tm/ltm/profile/client-ssl' },
      { kind: 'server-ssl', path: '/mgmt/tm/ltm/profile/server-ssl' },
      { kind: 'ssl-cert', path: '/mgmt/tm/sys/file/ssl-cert' },
      { kind: 'ssl-key', path: '/mgmt/tm/sys/file/ssl-key' },
      { kind: 'monitor-program', path: '/mgmt/tm/sys/file/external-monitor' },
      ...MONITOR_TYPES.map((t) => ({
        kind: 'monitor' as const,
        path: `/mgmt/tm/ltm/monitor/${t}`,
        monitorType: t,
      })),
    ];
    const lists = await limited(collections, 4, async (c) => {
      const response = await this.rest.request('GET', `${c.path}?${filter}`);
      const items = (response.body as { items?: { name?: string; partition?: string }[] })?.items ?? [];
      return items
        .filter((i) => i.partition === partition && typeof i.name === 'string')
        .map(
          (i): BigIpObject => ({
            kind: c.kind,
            partition,
            name: String(i.name),
            ...(c.monitorType ? { monitorType: c.monitorType } : {}),
            attrs: {},
          }),
        );
    });
    return lists.flat();
  }

  async readNet(objects: readonly NetObject[]): Promise<Map<string, Record<string, unknown>>> {
    const out = new Map<string, Record<string, unknown>>();
    const answers = await limited(objects, 4, async (o) => ({
      o,
      response: await this.rest.request('GET', netItemPath(o), { accept: [404] }),
    }));
    for (const { o, response } of answers)
      if (response.status !== 404)
        out.set(netObjectKey(o), netFromWire(o.kind, response.body as Record<string, unknown>));
    return out;
  }

  async writeNet(
    commands: readonly NetCommand[],
    options: { sendBy?: number } = {},
  ): Promise<{ refused?: string }> {
    const at = options.sendBy === undefined ? {} : { notAfter: options.sendBy };
    for (const c of commands) {
      const o = c.object;
      if (c.op === 'create') {
        // Taken (409): another writer made it meanwhile, or it is someone else's; the caller's read tells.
        const response = await this.rest.request('POST', NET_COLLECTIONS[o.kind], {
          ...at,
          body: { name: o.name, partition: NET_PARTITION, ...o.attrs },
          accept: [409],
        });
        if (response.status === 409) {
          // Our name taken (another writer, or someone else's object: the caller's read judges)? Or
          // something else in the way, such as an operator's route domain with the same id: refused.
          const named = await this.rest.request('GET', netItemPath(o), { accept: [404] });
          if (named.status === 404) throw this.error('POST', o, response);
        }
      } else if (c.op === 'update') {
        await this.rest.request('PATCH', netItemPath(o), { ...at, body: c.changes });
      } else {
        const response = await this.rest.request('DELETE', netItemPath(o), { ...at, accept: [400, 404] });
        if (response.status === 400) {
          const message = messageOf(response);
          if (!ROUTE_DOMAIN_IN_USE_RE.test(message) && !/01070320/.test(message))
            throw this.error('DELETE', o, response);
          return { refused: `${o.name}: ${message}` };
        }
      }
    }
    return {};
  }

  async routeDomainUsers(id: number): Promise<string[]> {
    const lists = await Promise.all(
      ['/mgmt/tm/ltm/virtual-address', '/mgmt/tm/ltm/node'].map((c) =>
        this.rest.request('GET', `${c}?$select=fullPath,address`),
      ),
    );
    return lists
      .flatMap((r) => itemsOf(r.body))
      .filter((item) => routeDomainOfAddress(String(item.address ?? '')) === id)
      .map((item) => String(item.fullPath));
  }

  async inventory(): Promise<InventoryItem[]> {
    const collections: { kind: InventoryKind; path: string; fields: string; monitorType?: string }[] = [
      { kind: 'folder', path: '/mgmt/tm/sys/folder', fields: 'name,subPath' },
      { kind: 'route-domain', path: '/mgmt/tm/net/route-domain', fields: 'id,vlans,description' },
      { kind: 'vlan', path: '/mgmt/tm/net/vlan', fields: 'tag,description' },
      { kind: 'self-ip', path: '/mgmt/tm/net/self', fields: 'address,vlan,trafficGroup,description' },
      { kind: 'snatpool', path: '/mgmt/tm/ltm/snatpool', fields: 'members,description' },
      { kind: 'node', path: '/mgmt/tm/ltm/node', fields: 'address,description' },
      { kind: 'virtual-address', path: '/mgmt/tm/ltm/virtual-address', fields: 'address' },
      { kind: 'virtual', path: '/mgmt/tm/ltm/virtual', fields: 'destination,pool' },
      ...MONITOR_TYPES.map((t) => ({
        kind: 'monitor' as const,
        path: `/mgmt/tm/ltm/monitor/${t}`,
        fields: '',
        monitorType: t,
      })),
    ];
    const lists = await limited(collections, 4, async (c) => {
      const response = await this.rest.request(
        'GET',
        `${c.path}?$select=name,partition${c.fields ? `,${c.fields}` : ''}`,
      );
      return itemsOf(response.body)
        .filter((i) => typeof i.name === 'string' && (c.kind === 'folder' ? i.subPath === '/' : true))
        .map(
          (i): InventoryItem => ({
            kind: c.kind,
            partition: c.kind === 'folder' ? '' : String(i.partition ?? 'Common'),
            name: String(i.name),
            ...(c.monitorType ? { monitorType: c.monitorType } : {}),
            attrs: i,
          }),
        );
    });
    // Pools with their members (one GET: the members expanded in the pool's body).
    const pools = await this.rest.request('GET', '/mgmt/tm/ltm/pool?expandSubcollections=true');
    const poolItems = itemsOf(pools.body).flatMap((p): InventoryItem[] => {
      const partition = String(p.partition ?? 'Common');
      const pool = String(p.name);
      return [
        { kind: 'pool', partition, name: pool, attrs: { monitor: p.monitor } },
        ...itemsOf(p.membersReference).map(
          (m): InventoryItem => ({
            kind: 'member',
            partition,
            pool,
            name: String(m.name),
            attrs: { address: m.address, partition: m.partition },
          }),
        ),
      ];
    });
    return [...lists.flat(), ...poolItems];
  }

  async syncStatus(): Promise<string> {
    const sync = await this.rest.request('GET', '/mgmt/tm/cm/sync-status');
    return this.groupSync(sync.body) ?? 'unknown';
  }

  /** Our device group's sync status in a `cm/sync-status` body (device-wide: device-facts.md §7.11). */
  private groupSync(body: unknown): string | undefined {
    const status = nestedDescription(body, 'status');
    if (status === undefined) return undefined;
    return groupSyncStatus({ status, details: syncDetails(body) }, this.options.deviceGroup);
  }

  async configSync(deviceGroup: string): Promise<void> {
    await this.rest.request('POST', '/mgmt/tm/cm', {
      body: { command: 'run', utilCmdArgs: `config-sync to-group ${deviceGroup}` },
      idempotent: true,
    });
  }

  /**
   * The nodes' fields that tell a node the device made from an operator's (undefined: gone). More
   * than a round of single reads in one partition is one listing of that partition's nodes instead
   * (`$filter`, `$select`: bigip-rest.md A.0; the reconciler's inventory lists every node with
   * `$select` too), so a thousand-member delete, and each attempt that resumes one, reads its
   * nodes in one call. Single reads go side by side: the device serialises configuration writes,
   * not reads.
   */
  private async readNodes(
    nodes: readonly { node: string; partition: string; name: string; path: string }[],
    rest: Requester,
  ): Promise<(Record<string, unknown> | undefined)[]> {
    const listed = new Map<string, Map<string, Record<string, unknown>>>();
    const counts = new Map<string, number>();
    for (const n of nodes) counts.set(n.partition, (counts.get(n.partition) ?? 0) + 1);
    for (const [p, count] of counts) {
      if (count <= NODE_READS_AT_ONCE) continue;
      const response = await rest.request(
        'GET',
        `/mgmt/tm/ltm/node?$filter=partition+eq+${assertSafeName(p, 'partition')}&$select=${NODE_FIELDS}`,
      );
      const items = itemsOf(response.body).filter((i) => String(i.partition ?? 'Common') === p);
      listed.set(p, new Map(items.map((i) => [String(i.name), i])));
    }
    const single = nodes.filter((n) => !listed.has(n.partition));
    const reads = new Map<string, Record<string, unknown> | undefined>();
    for (let i = 0; i < single.length; i += NODE_READS_AT_ONCE)
      await Promise.all(
        single.slice(i, i + NODE_READS_AT_ONCE).map(async (n) => {
          const response = await rest.request('GET', n.path, { accept: [404] });
          reads.set(n.node, response.status === 404 ? undefined : (response.body as Record<string, unknown>));
        }),
      );
    return nodes.map((n) => {
      const list = listed.get(n.partition);
      return list ? list.get(n.name) : reads.get(n.node);
    });
  }

  /**
   * Deletes nodes of ours: in one transaction when there are more than a few, else (or when the
   * transaction is refused: a node still in use, or gone meanwhile, fails all of it, §4.2) one
   * DELETE each, which tells them apart. The device refuses to delete a node in use, so this never
   * removes one another member still needs.
   */
  private async deleteNodes(
    nodes: readonly { node: string; path: string }[],
    rest: Requester,
    report: ExecuteReport,
  ): Promise<void> {
    if (nodes.length > NODE_DELETES_ALONE) {
      try {
        await this.transaction(async (id) => {
          for (const { path } of nodes) await rest.request('DELETE', path, { transactionId: id });
        }, rest);
        return;
      } catch (error) {
        const message = error instanceof BigIpError ? String(error.context.bigipMessage ?? '') : '';
        if (!(error instanceof BigIpError && error.status === 400 && TRANSACTION_FAILED_RE.test(message)))
          throw error;
      }
    }
    for (const { node, path } of nodes) {
      const response = await rest.request('DELETE', path, { accept: [400, 404] });
      if (response.status === 400) {
        if (!NODE_IN_USE_RE.test(messageOf(response))) throw this.error('DELETE', { name: node }, response);
        report.skipped.push(`node ${node} still in use`);
      }
    }
  }

  /** One iControl REST transaction: created, filled by `enlist`, committed (all or nothing). */
  private async transaction(enlist: (id: string | number) => Promise<void>, rest: Requester): Promise<void> {
    const created = await rest.request('POST', '/mgmt/tm/transaction', { body: {}, idempotent: true });
    const id = (created.body as { transId?: number | string })?.transId;
    // It goes into a URL: accept only what a transaction id is, digits.
    if (id === undefined || !/^\d{1,24}$/.test(String(id)))
      throw new BigIpError(`device ${this.name}: transaction create answered no usable transId`, {
        device: this.name,
        transient: true,
      });
    try {
      await enlist(id);
    } catch (error) {
      // Abandon a half-enlisted transaction; it would time out anyway.
      await this.rest
        .request('DELETE', `/mgmt/tm/transaction/${id}`, { accept: [404] })
        .catch(() => undefined);
      throw error;
    }
    const commit = await rest.request('PATCH', `/mgmt/tm/transaction/${id}`, {
      body: { state: 'VALIDATING' },
      idempotent: false,
    });
    const state = (commit.body as { state?: string })?.state;
    if (state !== 'COMPLETED') {
      throw new BigIpError(`device ${this.name}: transaction ${id} ended in state ${state ?? 'unknown'}`, {
        device: this.name,
        transient: true,
      });
    }
  }

  private async run(
    command: BigIpCommand,
    transactionId: string | number | undefined,
    rest: Requester,
  ): Promise<RestResponse> {
    const o = command.object;
    const enlist = transactionId === undefined ? {} : { transactionId };
    switch (command.op) {
      case 'create': {
        const body: Record<string, unknown> = {
          name: o.name,
          partition: o.kind === 'member' ? (o.nodePartition ?? o.partition) : o.partition,
          ...toWire(o.kind, o.attrs),
        };
        // An encrypted key's passphrase goes with the profile's entry using it (the device keeps it encrypted).
        const passphrases = o.kind === 'client-ssl' ? o.passphrases : undefined;
        // A server-ssl profile's one key: its passphrase beside it.
        const serverKey = o.kind === 'server-ssl' ? o.passphrases?.[String(o.attrs.key)] : undefined;
        if (serverKey) body.passphrase = serverKey;
        if (passphrases)
          body.certKeyChain = (o.attrs.certKeyChain as Record<string, unknown>[]).map((c) => {
            const passphrase = passphrases[String(c.key)];
            return passphrase ? { ...c, passphrase } : c;
          });
        return rest.request('POST', collection(o), { ...enlist, body });
      }
      case 'update':
        return rest.request('PATCH', itemPath(o), { ...enlist, body: toWire(o.kind, command.changes) });
      case 'replace-members':
        return rest.request('PATCH', itemPath(o), {
          ...enlist,
          body: {
            members: command.members.map((m) => ({
              name: m.name,
              partition: m.nodePartition ?? m.partition,
              ...toWire('member', m.attrs),
            })),
          },
        });
      case 'delete':
        // Outside a transaction a 404 means an earlier attempt already deleted it.
        return rest.request('DELETE', itemPath(o), {
          ...enlist,
          ...(transactionId === undefined ? { accept: [404] } : {}),
        });
    }
  }

  private error(method: string, what: { name: string }, response: RestResponse): BigIpError {
    return new BigIpError(
      `device ${this.name}: ${method} ${what.name}: ${response.status} ${messageOf(response)}`,
      {
        device: this.name,
        status: response.status,
        transient: response.status >= 500,
        context: { bigipMessage: messageOf(response) },
      },
    );
  }
}

/** A virtual's source address translation: its type, and the SNAT pool's full path when it names one. */
function sourceTranslationOf(value: unknown): Record<string, unknown> {
  const sat = value as { type?: string; pool?: string } | undefined;
  const type = sat?.type ?? 'none';
  return type === 'snat' && sat?.pool ? { type, pool: sat.pool } : { type };
}

const NET_COLLECTIONS: Record<NetKind, string> = {
  vlan: '/mgmt/tm/net/vlan',
  'route-domain': '/mgmt/tm/net/route-domain',
  'self-ip': '/mgmt/tm/net/self',
  snatpool: '/mgmt/tm/ltm/snatpool',
};

const netItemPath = (o: Pick<NetObject, 'kind' | 'name'>) =>
  `${NET_COLLECTIONS[o.kind]}/${urlId(NET_PARTITION, o.name)}`;

const inCommon = (path: unknown) => {
  const p = String(path);
  return p.startsWith('/') ? p : `/${NET_PARTITION}/${p}`;
};

/** A network object's fields as a device reads them back, in the form we send (full paths, numbers, sorted lists). */
function netFromWire(kind: NetKind, body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { description: text(body.description) };
  if (kind === 'vlan' && body.tag !== undefined) out.tag = Number(body.tag);
  if (kind === 'route-domain') {
    out.id = Number(body.id);
    out.vlans = ((body.vlans as unknown[] | undefined) ?? []).map(inCommon).sort();
    if (body.strict !== undefined) out.strict = body.strict;
  }
  if (kind === 'self-ip') {
    out.address = text(body.address);
    out.vlan = inCommon(body.vlan);
    out.trafficGroup = inCommon(body.trafficGroup);
  }
  if (kind === 'snatpool') out.members = ((body.members as unknown[] | undefined) ?? []).map(inCommon).sort();
  return out;
}

const ROUTE_DOMAIN_IN_USE_RE = /in use|still referenced|referenced by/i;

/** The REST calls of one change (with its send-by time). */
type Requester = Pick<BigIpRestClient, 'request'>;

function messageOf(response: RestResponse): string {
  const body = response.body as { message?: unknown };
  return typeof body?.message === 'string' ? body.message : String(response.body ?? '');
}

/** The detail lines of a `cm/sync-status` body (`…/syncStatus/0/details` → `…/details/N` → `details`). */
function syncDetails(body: unknown): string[] {
  type Nested = { nestedStats?: { entries?: Record<string, Nested & { description?: unknown }> } };
  const entries = (body as { entries?: Record<string, Nested> })?.entries ?? {};
  const lines: string[] = [];
  for (const entry of Object.values(entries)) {
    for (const [key, value] of Object.entries(entry?.nestedStats?.entries ?? {})) {
      if (!key.endsWith('/details')) continue;
      for (const line of Object.values(value?.nestedStats?.entries ?? {})) {
        const text = line?.nestedStats?.entries?.details?.description;
        if (typeof text === 'string') lines.push(text);
      }
    }
  }
  return lines;
}

/** Every entry's `entries.*.nestedStats.entries.<field>.description` in a stats-shaped body. */
function nestedDescriptions(body: unknown, field: string): string[] {
  const entries = (
    body as {
      entries?: Record<string, { nestedStats?: { entries?: Record<string, { description?: string }> } }>;
    }
  )?.entries;
  return Object.values(entries ?? {})
    .map((entry) => entry?.nestedStats?.entries?.[field]?.description)
    .filter((v): v is string => typeof v === 'string');
}

/** Reads `entries.*.nestedStats.entries.<field>.description` from a stats-shaped body. */
function nestedDescription(body: unknown, field: string): string | undefined {
  const entries = (
    body as {
      entries?: Record<string, { nestedStats?: { entries?: Record<string, { description?: string }> } }>;
    }
  )?.entries;
  if (!entries) return undefined;
  for (const entry of Object.values(entries)) {
    const value = entry?.nestedStats?.entries?.[field]?.description;
    if (value !== undefined) return value;
  }
  return undefined;
}
