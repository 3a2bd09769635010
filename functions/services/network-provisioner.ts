import { BigIpError } from '../domain/errors.js';
import type { WriteTimes } from '../domain/invocation-time.js';
import {
  type NetObject,
  type NetworkOnGroup,
  type NetworkOptions,
  netObjectKey,
  networkLeaseName,
  networkOfRouteDomain,
  networkOnGroup,
  planNetwork,
  removalOrder,
} from '../domain/network-objects.js';
import { type NetworkCatalog, routeDomainOf } from '../domain/networks.js';
import type { BigIpDevice, DeviceCluster } from '../domain/ports.js';
import type { PartitionWriter } from './partition-writer.js';

/**
 * A network's writes never hold their config-sync for other writers: they are few, and one made
 * inside a load balancer's write would wait for that write's own partition lease.
 */
const NETWORK_WRITE = { holdSync: false } as const;

export interface NetworkProvisionerDeps extends NetworkOptions {
  networks: NetworkCatalog;
  /** Every change goes through the partition writer, under the network's own lease (networkLeaseName). */
  writer: Pick<PartitionWriter, 'write'>;
  cluster: Pick<DeviceCluster, 'activeDevice' | 'peersOf'>;
  /** The group's unit names in configuration order: unit i gets the network's i-th self IP. */
  unitNames: readonly string[];
}

/** What became of a network's removal. */
export type Release =
  | { routeDomain: number; outcome: 'removed' }
  /** Something still uses it (a virtual address or node of another load balancer): left, as it must be. */
  | { routeDomain: number; outcome: 'in-use'; users: string[] }
  /** The device refused the route domain's deletion (in use after all): what was removed is put back. */
  | { routeDomain: number; outcome: 'stopped'; reason: string }
  | { routeDomain: number; outcome: 'unknown' };

/** A network's objects on the group that differ from what it needs (the reconciler's report). */
export interface NetworkDrift {
  routeDomain: number;
  unit: string;
  objects: string[];
  /** An object with our name that this environment did not create: never changed. */
  foreign: string[];
}

/**
 * Puts a segmented network's objects on the device group before the first object that uses them,
 * and removes them after the last one went (network-objects.ts says which objects). Each change is
 * the network's partition writer's (lease, send-by fencing, config-sync and peer confirmation);
 * a unit's own self IP is written to that unit after the config-sync brought the route domain and
 * VLAN there. A network known to be in place is not read again by this process (0 REST calls for
 * the next load balancer on it); `recheck` forgets that when the device refused a change.
 */
export class NetworkProvisioner {
  private readonly ready = new Set<number>();
  /** Puts under way, shared by every change that needs the network meanwhile (see `share`). */
  private readonly putting = new Map<number, Promise<boolean>>();

  constructor(private readonly deps: NetworkProvisionerDeps) {}

  /** The network objects of a route domain on this group (undefined: no segmented network has it). */
  objectsOf(rd: number): NetworkOnGroup | undefined {
    const network = networkOfRouteDomain(this.deps.networks, rd);
    return network ? networkOnGroup(network, this.deps) : undefined;
  }

  /**
   * Every route domain in place on the group (reading only those this process has not seen in
   * place). `times`: the invocation's (invocation-time.ts), kept by every write, as a change's own.
   */
  async ensure(rds: Iterable<number>, times: WriteTimes = {}): Promise<void> {
    for (const rd of [...new Set(rds)].sort((a, b) => a - b)) {
      if (rd === 0 || this.ready.has(rd)) continue;
      await this.share(rd, times);
      this.ready.add(rd);
    }
  }

  /**
   * One put of a network at a time in this process: changes applied side by side that need it at
   * once wait for the same one (a second would find the network's lease held and fail its change).
   * True when it put something back.
   */
  private share(rd: number, times: WriteTimes): Promise<boolean> {
    let putting = this.putting.get(rd);
    if (!putting) {
      putting = this.put(rd, times).finally(() => this.putting.delete(rd));
      this.putting.set(rd, putting);
    }
    return putting;
  }

  /**
   * After the device refused a change in these route domains: read them again and put back what
   * is missing. True when something was missing (the change is worth sending again).
   */
  async recheck(rds: Iterable<number>, times: WriteTimes = {}): Promise<boolean> {
    let repaired = false;
    for (const rd of new Set(rds)) {
      if (rd === 0) continue;
      // Another change refused beside this one is putting it back: its answer is this one's.
      const under = this.putting.get(rd);
      if (under) {
        repaired = (await under) || repaired;
        continue;
      }
      if (!this.ready.has(rd)) continue;
      this.ready.delete(rd);
      repaired = (await this.share(rd, times)) || repaired;
      this.ready.add(rd);
    }
    return repaired;
  }

  /** What differs on each unit, repaired when asked (the reconciler's check). */
  async check(rds: Iterable<number>, repair: boolean, times: WriteTimes = {}): Promise<NetworkDrift[]> {
    const drift: NetworkDrift[] = [];
    for (const rd of new Set(rds)) {
      const objects = this.objectsOf(rd);
      if (!objects) continue;
      const active = await this.deps.cluster.activeDevice();
      for (const unit of [active, ...this.deps.cluster.peersOf(active)]) {
        const wanted = [...(unit === active ? objects.synced : []), ...this.localOf(objects, unit)];
        const plan = planNetwork(wanted, await unit.readNet(wanted), this.deps.env);
        if (plan.commands.length > 0 || plan.foreign.length > 0)
          drift.push({
            routeDomain: rd,
            unit: unit.name,
            objects: plan.commands.map((c) => `${c.op} ${c.object.kind} /Common/${c.object.name}`),
            foreign: plan.foreign,
          });
      }
      if (repair && drift.some((d) => d.routeDomain === rd)) {
        this.ready.delete(rd);
        await this.put(rd, times);
        this.ready.add(rd);
      }
    }
    return drift;
  }

  /**
   * Removes a route domain's network from the group once nothing uses it (asked on the device,
   * under the network's lease, so a load balancer another agent put there meanwhile keeps it). A
   * removal the device stops (the route domain in use after all) puts back what it had removed.
   */
  async release(rd: number, wantedBy?: () => Promise<string[]>, times: WriteTimes = {}): Promise<Release> {
    const objects = this.objectsOf(rd);
    if (!objects) return { routeDomain: rd, outcome: 'unknown' };
    this.ready.delete(rd);
    const written = await this.deps.writer.write(
      networkLeaseName(rd),
      async (session) => {
        // The desired state asked again under the lease (the reconciler's orphan pass): a load
        // balancer recorded meanwhile keeps its network even before its apply put anything there.
        const wanted = wantedBy ? await wantedBy() : [];
        if (wanted.length > 0) return { routeDomain: rd, outcome: 'in-use', users: wanted } as Release;
        const active = await session.activeDevice();
        const users = await active.routeDomainUsers(rd);
        if (users.length > 0) return { routeDomain: rd, outcome: 'in-use', users } as Release;
        // Each peer's own self IP first (config-sync never carries them), then the active unit's
        // objects in dependency order; the route domain's deletion reaches the peers by config-sync.
        for (const peer of this.deps.cluster.peersOf(active)) {
          const own = this.localOf(objects, peer);
          await session.sendNet(peer, removalOrder(own, await peer.readNet(own), this.deps.env), {
            local: true,
          });
        }
        const all = [...objects.synced, ...this.localOf(objects, active)];
        const { refused } = await session.sendNet(
          active,
          removalOrder(all, await active.readNet(all), this.deps.env),
          { holds: async (unit) => !(await isOursAnywhere(unit, objects.synced, this.deps.env)) },
        );
        if (refused) return { routeDomain: rd, outcome: 'stopped', reason: refused } as Release;
        return { routeDomain: rd, outcome: 'removed' } as Release;
      },
      { ...NETWORK_WRITE, ...times },
    );
    if (written.outcome === 'busy') throw written.error;
    if (written.unconfirmed !== undefined) throw written.unconfirmed;
    // Stopped half-way: whatever it removed goes back, so the users keep a whole network.
    if (written.value.outcome === 'stopped') await this.ensure([rd], times);
    // Left whole for its users: still in place, nothing to read next time.
    if (written.value.outcome === 'in-use') this.ready.add(rd);
    return written.value;
  }

  /**
   * The configured networks of which any unit of the group holds an object of ours (by its
   * description): what the reconciler's orphan pass asks about. One read per network and unit.
   */
  async placed(): Promise<number[]> {
    const found: number[] = [];
    const active = await this.deps.cluster.activeDevice();
    const units = [active, ...this.deps.cluster.peersOf(active)];
    const rds = this.deps.networks.networks
      .map((n) => this.objectsOf(routeDomainOf(n))?.routeDomain)
      .filter((rd): rd is number => rd !== undefined);
    for (const rd of [...new Set(rds)].sort((a, b) => a - b)) {
      const objects = this.objectsOf(rd) as NetworkOnGroup;
      for (const unit of units) {
        const mine = [...(unit === active ? objects.synced : []), ...this.localOf(objects, unit)];
        if (await isOursAnywhere(unit, mine, this.deps.env)) {
          found.push(rd);
          break;
        }
      }
    }
    return found;
  }

  /** A unit's own self IP on the network (none when the group configures no self IPs there). */
  private localOf(objects: NetworkOnGroup, unit: BigIpDevice): NetObject[] {
    const index = this.deps.unitNames.indexOf(unit.name);
    const own = objects.local[index < 0 ? 0 : index];
    return own ? [own] : [];
  }

  /** Puts a route domain's network on the group; true when anything was missing or different. */
  private async put(rd: number, times: WriteTimes): Promise<boolean> {
    const objects = this.objectsOf(rd);
    if (!objects)
      throw new BigIpError(`route domain ${rd} is no segmented network of this environment`, {
        device: 'none',
        transient: false,
      });
    const { env } = this.deps;
    const synced = objects.synced;
    const holds = async (unit: BigIpDevice) =>
      planNetwork(synced, await unit.readNet(synced), env).commands.length === 0;
    // The active unit: the synced objects and its own self IP, then config-sync and the peers asked.
    const first = await this.deps.writer.write(
      networkLeaseName(rd),
      async (session) => {
        const active = await session.activeDevice();
        const wanted = [...synced, ...this.localOf(objects, active)];
        const plan = planNetwork(wanted, await active.readNet(wanted), env);
        refuseForeign(plan.foreign, rd);
        if (plan.commands.length > 0) await session.sendNet(active, plan.commands, { holds });
        return { active, changed: plan.commands.length > 0 };
      },
      { ...NETWORK_WRITE, ...times },
    );
    if (first.outcome === 'busy') throw first.error;
    if (first.unconfirmed !== undefined) throw first.unconfirmed;
    let changed = first.value.changed;
    // Each peer's own self IP, written to it once config-sync brought the VLAN and route domain there.
    for (const peer of this.deps.cluster.peersOf(first.value.active)) {
      const own = this.localOf(objects, peer);
      if (own.length === 0) continue;
      const next = await this.deps.writer.write(
        networkLeaseName(rd),
        async (session) => {
          const plan = planNetwork(own, await peer.readNet(own), env);
          refuseForeign(plan.foreign, rd);
          if (plan.commands.length > 0) await session.sendNet(peer, plan.commands, { local: true });
          return plan.commands.length > 0;
        },
        { ...NETWORK_WRITE, ...times },
      );
      if (next.outcome === 'busy') throw next.error;
      changed = next.value || changed;
    }
    return changed;
  }
}

/** Whether a unit still holds any of these objects as ours. */
async function isOursAnywhere(
  unit: BigIpDevice,
  objects: readonly NetObject[],
  env: string,
): Promise<boolean> {
  const found = await unit.readNet(objects);
  return objects.some((o) =>
    String(found.get(netObjectKey(o))?.description ?? '').startsWith(`lbaas ${env} network `),
  );
}

function refuseForeign(foreign: readonly string[], rd: number): void {
  if (foreign.length > 0)
    throw new BigIpError(
      `route domain ${rd}: ${foreign.join(', ')} exist(s) on the device but not as this environment made them; left alone`,
      {
        device: 'none',
        transient: false,
        context: { bigipMessage: `network objects not ours: ${foreign.join(', ')}` },
      },
    );
}
