import { planApply, scopeFor } from '../domain/bigip-apply-plan.js';
import { partitionName } from '../domain/bigip-names.js';
import { type BigIpObject, type DeviceSnapshot, objectKey } from '../domain/bigip-objects.js';
import { type Translation, type TranslationOptions, translate } from '../domain/bigip-translation.js';
import { BigIpError, LeaseBusyError, OutOfTimeError } from '../domain/errors.js';
import { invocationTimes, type WriteTimes, writeTimesOf } from '../domain/invocation-time.js';
import { lastAppliedOf, recordsByOwner } from '../domain/last-applied.js';
import type {
  AgentRegistry,
  BigIpDevice,
  BindingStore,
  CertificateStore,
  DeviceCluster,
  PartitionLease,
  ResourceStore,
} from '../domain/ports.js';
import {
  type DriftItem,
  describeDrift,
  findOrphans,
  isTenantPartition,
  orphanPlan,
} from '../domain/reconcile-plan.js';
import { allRecords, buildTree, isPending, type LoadBalancerTree } from '../domain/resource-state.js';
import { lookupCertificates, readOnce } from './certificate-lookup.js';
import { environmentTrees } from './environment-trees.js';
import type { GroupSync } from './group-sync.js';
import type { NetworkDrift, NetworkProvisioner } from './network-provisioner.js';
import { type PartitionWriter, sendChange } from './partition-writer.js';

export interface ReconcilerDeps {
  env: string;
  /** The device group reconciled: only its agents' load balancers, on its devices. */
  group?: string;
  cluster: Pick<DeviceCluster, 'name' | 'activeDevice'>;
  registry: AgentRegistry;
  bindings: BindingStore;
  resources: ResourceStore;
  /** How a repair or an orphan removal reaches a partition: the agents' own lifecycle (lease, send-by, config-sync). */
  writer: PartitionWriter;
  /** The device group's config-sync (a replaced peer is synced when nothing else was). */
  sync: Pick<GroupSync, 'resyncPeer'>;
  /** One run per cluster: a lease that does not wait (a run already going wins) and outlives a run. */
  runLease: PartitionLease;
  owner: string;
  clock: () => number;
  translation?: Omit<TranslationOptions, 'env' | 'certificates'>;
  /** TERMINATED_HTTPS certificates, read as the agents read them. */
  certificates?: CertificateStore;
  /**
   * The segmented networks the load balancers in scope use: checked (and repaired) before them;
   * on a run of the whole group, those no load balancer uses are orphans like the partitions'.
   */
  networks?: Pick<NetworkProvisioner, 'check' | 'placed' | 'release'>;
}

export interface ReconcileOptions {
  /** Report what differs; change nothing. */
  dryRun: boolean;
  /** Orphans are only reported unless `remove` (and never when `dryRun`). */
  orphans: 'report' | 'remove';
  /** One load balancer, one tenant, or (neither) the whole environment. */
  scope?: { loadbalancerId?: string; tenantId?: string };
  /** Called as each load balancer and partition is done (the CLI prints it, the local dashboard shows it). */
  onProgress?: (done: number, total: number, item: LoadBalancerResult | OrphanResult) => void;
  /**
   * The time the run's invocation has (Lambda's remaining time): nothing is started or sent after
   * its sending time (invocation-time.ts), and the run ends `aborted`, the rest left to the next run;
   * a repair not confirmed on the group by its confirming time is `skipped`. Absent (a run outside Lambda, as in the local stack): no limit.
   */
  timeLeftMs?: number;
}

export interface LoadBalancerResult {
  loadbalancerId: string;
  tenantId: string;
  /** `in-sync`; `drift` (found, not repaired: dry run); `repaired`; `restored` (it was missing whole); `failed`; `skipped`. */
  outcome: 'in-sync' | 'drift' | 'repaired' | 'restored' | 'failed' | 'skipped';
  drift: DriftItem[];
  reason?: string;
}

export interface OrphanResult {
  partition: string;
  /** No load balancer of the environment lives in this partition any more. */
  wholePartition: boolean;
  objects: DriftItem[];
  removed: boolean;
  /** Clean-up the device refused (a node in use, a folder holding someone else's objects). */
  kept: string[];
}

export type ReconcileReport =
  | { outcome: 'skipped'; reason: string }
  | {
      outcome: 'done' | 'aborted';
      /** Why a run stopped part-way (a device that stopped answering, or answers it cannot mean). */
      reason?: string | undefined;
      device: string;
      dryRun: boolean;
      loadbalancers: LoadBalancerResult[];
      orphans: OrphanResult[];
      /** A replaced peer found out of sync and synced. */
      peerSynced: boolean;
      /** Network objects (route domains, VLANs, self IPs, SNAT pools) that differed, per unit; repaired unless a dry run. */
      networks?: NetworkDrift[] | undefined;
      /** Networks of ours on the group that no load balancer uses any more (whole-group runs only). */
      unusedNetworks?: UnusedNetwork[] | undefined;
    };

/** A network's objects that nothing uses, found by the orphan pass and removed in remove mode. */
export interface UnusedNetwork {
  routeDomain: number;
  removed: boolean;
  /** Why it stays (a request pending, a user found under the network's lease, a refusal). */
  kept?: string;
}

/** Tenants reconciled at once: enough to share config-syncs, few enough not to load the device. */
const TENANT_CONCURRENCY = 4;

/** Thrown inside a run when the device cannot be trusted: the run stops and changes nothing more. */
class UnreadableDevice extends Error {}

/**
 * Finds and repairs drift between the devices and the desired state, removes orphans, and restores
 * a replaced device, load balancer by load balancer. It reads and plans with the agent's own path
 * (translate → full scope → read → planApply → execute), under the same partition leases, so what
 * it writes is what an apply would. It never acts on a device that is not ready (mcpd reloading
 * answers 404 for objects that exist), nor when a device lists an object it then says is missing;
 * it touches only objects named like ours in the environment's partitions. One run at a time per
 * cluster (its own lease); a device failure mid-run stops the run, and the next run starts over.
 */
export class Reconciler {
  constructor(private readonly deps: ReconcilerDeps) {}

  async run(options: ReconcileOptions): Promise<ReconcileReport> {
    const { runLease, owner, cluster, clock } = this.deps;
    const times = writeTimesOf(
      options.timeLeftMs === undefined ? undefined : invocationTimes(clock(), options.timeLeftMs),
    );
    const key = `reconcile#${cluster.name}`;
    try {
      await runLease.acquire(key, owner);
    } catch (error) {
      if (error instanceof LeaseBusyError)
        return { outcome: 'skipped', reason: 'another run on this cluster is in progress' };
      throw error;
    }
    try {
      return await this.runHeld(options, times);
    } finally {
      await runLease.release(key, owner).catch(() => undefined);
    }
  }

  private async runHeld(options: ReconcileOptions, times: WriteTimes): Promise<ReconcileReport> {
    const { env, cluster, clock } = this.deps;
    let device: BigIpDevice;
    try {
      device = await cluster.activeDevice();
      const readiness = await device.readiness();
      if (!readiness.ready)
        return { outcome: 'skipped', reason: `device ${device.name} is not ready: ${readiness.reason}` };
    } catch (error) {
      return { outcome: 'skipped', reason: `device not reachable: ${(error as Error).message}` };
    }
    const scope = options.scope ?? {};
    const trees = await environmentTrees(this.deps, {
      ...(scope.loadbalancerId ? { loadbalancerIds: [scope.loadbalancerId] } : {}),
      ...(scope.tenantId ? { tenantId: scope.tenantId } : {}),
    });
    const wholeScope = !options.scope?.loadbalancerId;
    const outOfTime = () => times.sendUntil !== undefined && clock() >= times.sendUntil;
    const report = {
      outcome: 'done' as 'done' | 'aborted',
      device: device.name,
      dryRun: options.dryRun,
      loadbalancers: [] as LoadBalancerResult[],
      orphans: [] as OrphanResult[],
      peerSynced: false,
      reason: undefined as string | undefined,
      networks: undefined as NetworkDrift[] | undefined,
      unusedNetworks: undefined as UnusedNetwork[] | undefined,
    };
    const listings = new Map<string, BigIpObject[]>();
    const listing = async (partition: string) => {
      let l = listings.get(partition);
      if (!l) {
        l = await device.listPartition(partition);
        listings.set(partition, l);
      }
      return l;
    };
    // Each certificate read once per run (compare, repair and orphan search translate the same trees).
    const certificates = this.deps.certificates && readOnce(this.deps.certificates);
    try {
      // Only folders of our tenant-partition form are ours (an operator's `<env>_shared` is not).
      const partitions = (await device.listPartitions(`${env}_`)).filter((p) => isTenantPartition(env, p));
      const orphanPartitions = wholeScope
        ? options.scope?.tenantId
          ? partitions.filter((p) => p === partitionName(env, options.scope?.tenantId as string))
          : partitions
        : [];
      // The networks first: a repaired object needs its route domain (network-provisioner.ts).
      if (this.deps.networks) {
        const rds = new Set<number>();
        for (const t of trees)
          for (const rd of translate(t, { env, ...this.deps.translation }).routeDomains.live) rds.add(rd);
        report.networks = await this.deps.networks.check(rds, !options.dryRun, times);
      }
      const total = trees.length + orphanPartitions.length;
      let done = 0;
      // Tenants side by side (their repairs then share config-syncs), a tenant's load balancers in
      // turn (one partition lease); the first failure stops new work and is the run's.
      const byTenant = new Map<string, LoadBalancerTree[]>();
      for (const t of trees) byTenant.set(t.root.tenantId, [...(byTenant.get(t.root.tenantId) ?? []), t]);
      const queue = [...byTenant.values()];
      let failure: unknown;
      await Promise.all(
        Array.from({ length: Math.min(TENANT_CONCURRENCY, queue.length) }, async () => {
          for (let group = queue.shift(); group && failure === undefined; group = queue.shift()) {
            for (const tree of group) {
              if (failure !== undefined || outOfTime()) return;
              try {
                const result = await this.reconcileOne(
                  device,
                  tree,
                  partitions,
                  listing,
                  options,
                  certificates,
                  times,
                );
                report.loadbalancers.push(result);
                options.onProgress?.(++done, total, result);
              } catch (error) {
                failure ??= error;
              }
            }
          }
        }),
      );
      const order = new Map(trees.map((t, i) => [t.root.id, i]));
      report.loadbalancers.sort(
        (a, b) => (order.get(a.loadbalancerId) ?? 0) - (order.get(b.loadbalancerId) ?? 0),
      );
      if (failure !== undefined) throw failure;
      if (outOfTime()) {
        // Orphans, networks and the peer's sync wait too: they are judged on a whole environment.
        report.outcome = 'aborted';
        report.reason = `out of time: ${report.loadbalancers.length} of ${trees.length} load balancers checked; the next run goes on`;
        return report;
      }
      const known = new Map(trees.map((t) => [t.root.id, t]));
      for (const partition of orphanPartitions) {
        const result = await this.orphansOf(device, partition, known, listing, options, certificates, times);
        if (result) report.orphans.push(result);
        const clean = { partition, wholePartition: false, objects: [], removed: false, kept: [] };
        options.onProgress?.(++done, total, result ?? clean);
      }
      // Networks after the partitions: removing a partition's orphans may be what frees a network.
      if (this.deps.networks && !options.scope?.loadbalancerId && !options.scope?.tenantId)
        report.unusedNetworks = await this.unusedNetworks(
          this.deps.networks,
          known,
          options,
          certificates,
          times,
        );
      const changed =
        report.loadbalancers.some((r) => r.outcome === 'repaired' || r.outcome === 'restored') ||
        report.orphans.some((o) => o.removed) ||
        (report.unusedNetworks ?? []).some((n) => n.removed);
      if (!options.dryRun && !changed)
        report.peerSynced = await this.deps.sync.resyncPeer(device, times.confirmUntil);
    } catch (error) {
      // Cut at the run's times (an orphan's removal, a network's, the standby's sync): the next run goes on.
      if (
        !(error instanceof UnreadableDevice) &&
        !(error instanceof BigIpError) &&
        !(error instanceof OutOfTimeError)
      )
        throw error;
      report.outcome = 'aborted';
      report.reason = error.message;
    }
    return report;
  }

  private async reconcileOne(
    device: BigIpDevice,
    first: LoadBalancerTree,
    partitions: readonly string[],
    listing: (partition: string) => Promise<BigIpObject[]>,
    options: ReconcileOptions,
    certificates: CertificateStore | undefined,
    times: WriteTimes,
  ): Promise<LoadBalancerResult> {
    const { env, resources, clock } = this.deps;
    const base = { loadbalancerId: first.root.id, tenantId: first.root.tenantId, drift: [] as DriftItem[] };
    const pending = (t: LoadBalancerTree) => allRecords(t).some((r) => isPending(r.provisioningStatus));
    const skipPending = {
      ...base,
      outcome: 'skipped' as const,
      reason: 'a request for it is pending: its apply converges it',
    };
    if (pending(first)) return skipPending;
    // Verifying is reads only: no lease and no write unless something differs.
    const found = await this.compare(device, first, partitions, listing, certificates);
    if (found.drift.length === 0) return { ...base, outcome: 'in-sync' };
    if (options.dryRun) return { ...base, outcome: 'drift', drift: found.drift };

    // Repairing is a writer's work: as the partition's writer, from the desired state and the
    // device as they are now (an agent may have changed either meanwhile), so a repair never
    // undoes a newer apply.
    const written = await this.deps.writer.write(
      found.translation.partition,
      async (session) => {
        const tree = buildTree(await resources.loadRecords(first.root.id));
        if (!tree || tree.root.env !== env)
          return { ...base, outcome: 'skipped' as const, reason: 'deleted meanwhile' };
        if (pending(tree)) return skipPending;
        const now = await this.compare(device, tree, partitions, listing, certificates);
        if (now.drift.length === 0) return { ...base, outcome: 'in-sync' as const };
        let sent: Awaited<ReturnType<typeof sendChange>>;
        try {
          sent = await sendChange(session, device, now);
        } catch (error) {
          // Still the partition's only writer after a long read? A lost lease leaves it to the next run.
          if (error instanceof LeaseBusyError)
            return {
              ...base,
              outcome: 'skipped' as const,
              reason: 'its partition lease lapsed before the repair',
            };
          // What was sent stays; the next run compares again and sends the rest.
          if (error instanceof OutOfTimeError)
            return {
              ...base,
              outcome: 'skipped' as const,
              reason: "the run's time ran out during the repair",
            };
          if (!(error instanceof BigIpError) || error.transient) throw error;
          const reason = `the device refused the repair: ${String(error.context.bigipMessage ?? error.message)}`;
          await resources.recordOutcomes([{ kind: 'error', record: tree.root, reason }], clock());
          return { ...base, outcome: 'failed' as const, drift: now.drift, reason };
        }
        return { repaired: { tree, drift: now.drift, translation: now.translation, sent } };
      },
      times,
    );
    if (written.outcome === 'busy')
      return { ...base, outcome: 'skipped', reason: 'an agent is writing its partition' };
    // What was sent stays on the active unit; the next run finds it there and syncs a peer still behind.
    if (written.unconfirmed instanceof OutOfTimeError)
      return {
        ...base,
        outcome: 'skipped',
        reason: "the run's time ran out before the repair was confirmed on every unit",
      };
    // Like an apply: done only once every unit of the group holds it.
    if (written.unconfirmed !== undefined) throw written.unconfirmed;
    const done = written.value;
    if (!('repaired' in done)) return done;
    const { tree, drift, translation, sent } = done.repaired;
    // What the repair wrote, as the device holds it right after (read once it is confirmed: the
    // confirmation may correct it, partition-writer.ts): the next run compares with that.
    const records = recordsByOwner(tree, translation, sent.lastApplied, sent.written).filter(
      (r) => r.written,
    );
    if (records.length > 0) await resources.recordLastApplied(first.root.id, records);
    const restored =
      drift.every((d) => d.action === 'create') && drift.some((d) => d.kind === 'virtual-address');
    const note = `${restored ? 'restored on' : 'drift repaired on'} ${device.name} at ${new Date(clock()).toISOString()}: ${summarize(drift)}`;
    await resources.recordRepair(tree.root, note, clock());
    return { ...base, outcome: restored ? 'restored' : 'repaired', drift };
  }

  /** The agent's own path for a whole load balancer: translate, full scope, read, plan. */
  private async compare(
    device: BigIpDevice,
    tree: LoadBalancerTree,
    partitions: readonly string[],
    listing: (partition: string) => Promise<BigIpObject[]>,
    store: CertificateStore | undefined,
  ) {
    const certificates = await lookupCertificates(tree, store, this.deps.env);
    const translation = translate(tree, { env: this.deps.env, ...this.deps.translation, certificates });
    const scope = scopeFor(tree, translation, {
      resource: 'loadbalancer',
      id: tree.root.id,
      operation: 'sync',
    });
    const snapshot = await device.read(translation.partition, scope.reads);
    await this.assertConsistent(snapshot, translation, partitions, listing);
    // Like with like: what the device read back after our last write is not drift (last-applied.ts).
    const lastApplied = lastAppliedOf(tree);
    const plan = planApply(translation, scope, snapshot, lastApplied);
    return {
      translation,
      scope,
      snapshot,
      plan,
      lastApplied,
      drift: describeDrift(plan, snapshot.poolMembers),
    };
  }

  /**
   * A device that lists an object and then answers 404 for it (mcpd reloading: `bigip-rest.md` A.6), or
   * lists a partition whose folder it says is missing, cannot be read: the run stops before any write.
   */
  private async assertConsistent(
    snapshot: DeviceSnapshot,
    translation: Translation,
    partitions: readonly string[],
    listing: (partition: string) => Promise<BigIpObject[]>,
  ): Promise<void> {
    const partition = translation.partition;
    const listed = partitions.includes(partition);
    if (listed && !snapshot.folderExists)
      throw new UnreadableDevice(
        `the device lists partition ${partition} but answers that it does not exist`,
      );
    if (!listed) return;
    for (const o of await listing(partition)) {
      const key = objectKey(o);
      if (translation.present.has(key) && !snapshot.objects.has(key))
        throw new UnreadableDevice(`the device lists /${partition}/${o.name} but answers 404 for it`);
    }
  }

  /**
   * Networks of ours on the group that no load balancer of the environment uses (bound or not,
   * any group: a conservative reading), such as one left by a crash between a load balancer's
   * last delete and its network's removal. Reported; removed in remove mode by the network
   * provisioner as the network's writer, which asks the desired state again under the network's
   * lease and the device what still has an address in the route domain (any partition, an
   * operator's objects too), and deletes only objects carrying our description.
   */
  private async unusedNetworks(
    networks: NonNullable<ReconcilerDeps['networks']>,
    known: ReadonlyMap<string, LoadBalancerTree>,
    options: ReconcileOptions,
    store: CertificateStore | undefined,
    times: WriteTimes,
  ): Promise<UnusedNetwork[]> {
    const placed = await networks.placed();
    if (placed.length === 0) return [];
    const wanted = await wantedRouteDomains(this.deps, known, store);
    const unused = placed.filter((rd) => !wanted.rds.has(rd));
    const result: UnusedNetwork[] = [];
    for (const routeDomain of unused) {
      if (options.dryRun || options.orphans !== 'remove') {
        result.push({ routeDomain, removed: false });
        continue;
      }
      if (wanted.pending) {
        result.push({ routeDomain, removed: false, kept: 'a request is pending: the next run decides' });
        continue;
      }
      const device = await this.deps.cluster.activeDevice();
      const released = await networks.release(
        routeDomain,
        async () => {
          const readiness = await device.readiness();
          if (!readiness.ready)
            throw new UnreadableDevice(`device ${device.name} is not ready: ${readiness.reason}`);
          const now = await wantedRouteDomains(this.deps, new Map(), store);
          if (now.pending) return ['a request is pending'];
          const user = now.rds.get(routeDomain);
          return user ? [`load balancer ${user} (its records)`] : [];
        },
        times,
      );
      if (released.outcome === 'removed') result.push({ routeDomain, removed: true });
      else
        result.push({
          routeDomain,
          removed: false,
          kept:
            released.outcome === 'in-use'
              ? `in use: ${released.users.join(', ')}`
              : released.outcome === 'stopped'
                ? `the device refused: ${released.reason}`
                : 'no configured network has it',
        });
    }
    return result;
  }

  /**
   * A partition's orphans: reported from a survey, removed (remove mode) only as the partition's
   * writer, decided again there on a fresh read of the desired state and of the device, so a load
   * balancer created while the run went on is never taken for one.
   */
  private async orphansOf(
    device: BigIpDevice,
    partition: string,
    known: ReadonlyMap<string, LoadBalancerTree>,
    listing: (partition: string) => Promise<BigIpObject[]>,
    options: ReconcileOptions,
    store: CertificateStore | undefined,
    times: WriteTimes,
  ): Promise<OrphanResult | undefined> {
    // The survey reuses the trees this run read; the decision under the lease reads them all again.
    const survey = await this.survey(partition, listing, store, known);
    if (!survey) return undefined;
    const result = orphanResult(partition, survey);
    if (options.dryRun || options.orphans !== 'remove') return result;
    const written = await this.deps.writer.write(
      partition,
      async (session) => {
        // Deleting is where a false reading does harm: the device must still be ready now.
        const readiness = await device.readiness();
        if (!readiness.ready)
          throw new UnreadableDevice(`device ${device.name} is not ready: ${readiness.reason}`);
        const now = await this.survey(partition, (p) => device.listPartition(p), store);
        if (!now)
          return {
            ...result,
            objects: [],
            kept: ['its desired state changed meanwhile: nothing is orphaned now'],
          };
        const { orphans, wholePartition } = now;
        const pools = orphans.filter((o) => o.kind === 'pool');
        const snapshot =
          pools.length > 0
            ? await session.read(
                device,
                pools.map(({ attrs: _a, ...p }) => p as never),
              )
            : undefined;
        const plan = orphanPlan(orphans, snapshot?.poolMembers ?? new Map(), wholePartition);
        try {
          const executed = await session.send(device, plan);
          return { ...orphanResult(partition, now), kept: executed.skipped, removed: true };
        } catch (error) {
          if (error instanceof LeaseBusyError)
            return { ...result, kept: ['its partition lease lapsed before the removal'] };
          throw error;
        }
      },
      times,
    );
    if (written.outcome === 'busy') return { ...result, kept: ['an agent is writing this partition'] };
    if (written.unconfirmed !== undefined) throw written.unconfirmed;
    return written.value;
  }

  /**
   * What in a tenant partition carries our naming and no desired object has. The desired state is
   * every load balancer of the tenant with records, bound to an agent or not (one an operator's
   * forced agent delete left unbound is still live), read now. Undefined when nothing is orphaned,
   * or a request of the tenant is pending (its apply may be creating or deleting exactly these).
   */
  private async survey(
    partition: string,
    listing: (partition: string) => Promise<BigIpObject[]>,
    store: CertificateStore | undefined,
    known: ReadonlyMap<string, LoadBalancerTree> = new Map(),
  ): Promise<{ orphans: BigIpObject[]; wholePartition: boolean } | undefined> {
    const { env, resources } = this.deps;
    const tenantId = partition.slice(env.length + 1);
    const own: LoadBalancerTree[] = [];
    let cursor: string | undefined;
    do {
      const page = await resources.listObjects(env, 'loadbalancer', {
        tenantId,
        limit: 100,
        ...(cursor ? { cursor } : {}),
      });
      for (const lb of page.items) {
        const tree = known.get(lb.id) ?? buildTree(await resources.loadRecords(lb.id));
        if (tree && tree.root.env === env && partitionName(env, tree.root.tenantId) === partition)
          own.push(tree);
      }
      cursor = page.cursor;
    } while (cursor);
    if (own.some((t) => allRecords(t).some((r) => isPending(r.provisioningStatus)))) return undefined;
    const desired = new Set<string>();
    const kept: string[] = [];
    for (const t of own) {
      const certificates = await lookupCertificates(t, store, env);
      const translation = translate(t, { env, ...this.deps.translation, certificates });
      for (const k of translation.present.keys()) desired.add(k);
      for (const k of translation.absent.keys()) desired.add(k);
      kept.push(...translation.held);
    }
    // A listener that cannot be translated now (a certificate unreadable) still owns what it serves.
    const orphans = findOrphans(env, await listing(partition), desired).filter(
      (o) => !kept.some((name) => o.name === name || (name.endsWith('_') && o.name.startsWith(name))),
    );
    const wholePartition = own.length === 0;
    if (orphans.length === 0 && !wholePartition) return undefined;
    return { orphans, wholePartition };
  }
}

/** The route domains the environment's desired state uses, or `pending` when a request may be changing that. */
async function wantedRouteDomains(
  deps: Pick<ReconcilerDeps, 'env' | 'resources' | 'translation'>,
  known: ReadonlyMap<string, LoadBalancerTree>,
  store: CertificateStore | undefined,
): Promise<{ rds: Map<number, string>; pending: boolean }> {
  const { env, resources } = deps;
  const rds = new Map<number, string>();
  let pending = false;
  let cursor: string | undefined;
  do {
    const page = await resources.listObjects(env, 'loadbalancer', {
      limit: 100,
      ...(cursor ? { cursor } : {}),
    });
    for (const lb of page.items) {
      const tree = known.get(lb.id) ?? buildTree(await resources.loadRecords(lb.id));
      if (!tree || tree.root.env !== env) continue;
      if (allRecords(tree).some((r) => isPending(r.provisioningStatus))) pending = true;
      const certificates = await lookupCertificates(tree, store, env);
      const used = translate(tree, { env, ...deps.translation, certificates }).routeDomains.live;
      used.add(tree.root.desired.vip_route_domain ?? 0);
      for (const rd of used) if (!rds.has(rd)) rds.set(rd, tree.root.id);
    }
    cursor = page.cursor;
  } while (cursor);
  return { rds, pending };
}

/** A partition's orphans as the run reports them. */
function orphanResult(
  partition: string,
  survey: { orphans: BigIpObject[]; wholePartition: boolean },
): OrphanResult {
  return {
    partition,
    wholePartition: survey.wholePartition,
    objects: survey.orphans.map((o) => ({ action: 'remove', kind: o.kind, path: `/${partition}/${o.name}` })),
    removed: false,
    kept: [],
  };
}

/** `2 created, 1 changed (pool /P/x: monitor)` — short enough for a status reason. */
export function summarize(drift: readonly DriftItem[]): string {
  const count = (a: DriftItem['action']) => drift.filter((d) => d.action === a).length;
  const parts = [
    [count('create'), 'created'],
    [count('change'), 'changed'],
    [count('remove'), 'removed'],
  ]
    .filter(([n]) => Number(n) > 0)
    .map(([n, what]) => `${n} ${what}`);
  const first = drift
    .slice(0, 3)
    .map((d) => `${d.action} ${d.kind} ${d.path}${d.fields ? ` (${d.fields.join(', ')})` : ''}`);
  return `${parts.join(', ')}${first.length ? `; ${first.join('; ')}${drift.length > 3 ? '; …' : ''}` : ''}`;
}
