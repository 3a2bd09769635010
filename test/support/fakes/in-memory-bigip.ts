import type { ApplyPlan } from '../../../functions/domain/bigip-apply-plan.js';
import {
  type BigIpObject,
  type DeviceSnapshot,
  objectKey,
  type ReadUnit,
} from '../../../functions/domain/bigip-objects.js';
import type { HealthScrape, MemberReading, VirtualReading } from '../../../functions/domain/device-health.js';
import { BigIpError } from '../../../functions/domain/errors.js';
import {
  type NetCommand,
  type NetObject,
  netObjectKey,
  routeDomainOfAddress,
} from '../../../functions/domain/network-objects.js';
import type {
  BigIpDevice,
  DeviceCluster,
  DeviceState,
  DeviceStatus,
  ExecuteOptions,
  ExecuteReport,
} from '../../../functions/domain/ports.js';
import type { InventoryItem } from '../../../functions/domain/takeover-plan.js';

/**
 * A device in memory at the level of the BigIpDevice port (canonical objects, not REST): it keeps
 * what plans create and reads it back, so a service test sees convergence without a simulator.
 * `events` logs reads, executes and syncs; `fail` makes the next execute throw.
 */
export class InMemoryBigIp implements BigIpDevice {
  readonly folders = new Set<string>();
  readonly objects = new Map<string, BigIpObject>();
  readonly events: string[] = [];
  failoverState = 'ACTIVE';
  fail: BigIpError | undefined;
  /** Refuses, like a device, every transaction holding a command this returns a message for. */
  refuse: ((command: ApplyPlan['commands'][number]) => string | undefined) | undefined;

  /** What `readHealth` reports: monitor states by `poolPath|member`, counters by virtual path. */
  readonly health = {
    members: new Map<string, MemberReading>(),
    virtuals: new Map<string, VirtualReading>(),
  };

  /** What `readiness` answers (a device whose mcpd reloads is not ready). */
  ready: { ready: boolean; reason?: string } = { ready: true };

  constructor(readonly name = 'bigip1') {}

  async readiness(): Promise<{ ready: boolean; reason?: string }> {
    return this.ready;
  }

  async listPartitions(prefix: string): Promise<string[]> {
    return [...this.folders].filter((f) => f.startsWith(prefix)).sort();
  }

  async listPartition(partition: string): Promise<BigIpObject[]> {
    this.events.push(`list ${partition}`);
    return [...this.objects.values()]
      .filter((o) => o.partition === partition && o.kind !== 'member' && o.kind !== 'folder')
      .map((o) => ({ ...o, attrs: {} }));
  }

  async readHealth(partitionPrefix: string, wantPool: (fullPath: string) => boolean): Promise<HealthScrape> {
    this.events.push('read-health');
    if (this.fail) {
      const error = this.fail;
      this.fail = undefined;
      throw error;
    }
    const path = (o: BigIpObject) => `/${o.partition}/${o.name}`;
    const scrape: HealthScrape = {
      unit: this.name,
      virtuals: new Map(),
      addresses: new Map(),
      pools: new Map(),
    };
    for (const o of this.objects.values()) {
      if (!o.partition.startsWith(partitionPrefix)) continue;
      if (o.kind === 'virtual') {
        scrape.virtuals.set(
          path(o),
          this.health.virtuals.get(path(o)) ?? {
            bitsIn: 0,
            bitsOut: 0,
            curConns: 0,
            totConns: 0,
            slowKilled: 0,
            enabled: o.attrs.enabled !== false,
          },
        );
      }
      if (o.kind === 'virtual-address') scrape.addresses.set(path(o), { enabled: o.attrs.enabled !== 'no' });
      if (o.kind === 'pool' && wantPool(path(o))) scrape.pools.set(path(o), new Map());
    }
    for (const o of this.objects.values()) {
      if (o.kind !== 'member') continue;
      const pool = `/${o.partition}/${o.pool}`;
      scrape.pools.get(pool)?.set(
        o.name,
        this.health.members.get(`${pool}|${o.name}`) ?? {
          monitorStatus: 'unchecked',
          enabled: o.attrs.session !== 'user-disabled',
        },
      );
    }
    return scrape;
  }

  async read(partition: string, units: readonly ReadUnit[]): Promise<DeviceSnapshot> {
    this.events.push(`read ${partition} ${units.length}`);
    const snapshot: DeviceSnapshot = {
      folderExists: this.folders.has(partition),
      objects: new Map(),
      poolMembers: new Map(),
    };
    if (!snapshot.folderExists) return snapshot;
    for (const unit of units) {
      const key = objectKey(unit as BigIpObject);
      const found = this.objects.get(key);
      if (!found) continue;
      snapshot.objects.set(key, structuredClone(found.attrs));
      if (unit.kind === 'pool') {
        const members = [...this.objects.values()].filter(
          (o) => o.kind === 'member' && o.partition === partition && o.pool === unit.name,
        );
        snapshot.poolMembers.set(key, structuredClone(members));
        for (const m of members) snapshot.objects.set(objectKey(m), structuredClone(m.attrs));
      }
    }
    return snapshot;
  }

  async execute(partition: string, plan: ApplyPlan, _options?: ExecuteOptions): Promise<ExecuteReport> {
    this.events.push(`execute ${partition} ${plan.commands.length}`);
    if (this.fail) {
      const error = this.fail;
      this.fail = undefined;
      throw error;
    }
    for (const c of plan.commands) {
      const message = this.refuse?.(c);
      if (message) {
        throw new BigIpError('refused', {
          device: this.name,
          status: 400,
          transient: false,
          context: { bigipMessage: message },
        });
      }
    }
    if (plan.createFolder) this.folders.add(partition);
    for (const c of plan.commands) {
      const key = objectKey(c.object);
      if (c.op === 'replace-members') {
        for (const [k, o] of this.objects)
          if (o.kind === 'member' && o.partition === partition && o.pool === c.object.name)
            this.objects.delete(k);
        for (const m of c.members) this.objects.set(objectKey(m), structuredClone(m));
      } else if (c.op === 'create') this.objects.set(key, structuredClone(c.object));
      else if (c.op === 'update') Object.assign((this.objects.get(key) as BigIpObject).attrs, c.changes);
      else this.objects.delete(key);
    }
    const skipped: string[] = [];
    if (plan.removeFolder) {
      if ([...this.objects.values()].some((o) => o.partition === partition))
        skipped.push(`partition ${partition} not empty`);
      else this.folders.delete(partition);
    }
    return { skipped };
  }

  async status(_options?: { withSync?: boolean; withVersion?: boolean }): Promise<DeviceStatus> {
    return { failoverState: this.failoverState };
  }

  async syncStatus(): Promise<string> {
    return 'In Sync';
  }

  async configSync(deviceGroup: string): Promise<void> {
    this.events.push(`sync ${deviceGroup}`);
  }

  /** Network objects in /Common by key (netObjectKey), with their fields. */
  readonly net = new Map<string, Record<string, unknown>>();

  async readNet(objects: readonly NetObject[]): Promise<Map<string, Record<string, unknown>>> {
    this.events.push(`read-net ${objects.length}`);
    const out = new Map<string, Record<string, unknown>>();
    for (const o of objects) {
      const found = this.net.get(netObjectKey(o));
      if (found) out.set(netObjectKey(o), structuredClone(found));
    }
    return out;
  }

  async writeNet(commands: readonly NetCommand[]): Promise<{ refused?: string }> {
    this.events.push(`write-net ${commands.length}`);
    for (const c of commands) {
      const key = netObjectKey(c.object);
      if (c.op === 'create') {
        if (!this.net.has(key)) this.net.set(key, structuredClone(c.object.attrs));
      } else if (c.op === 'update') Object.assign(this.net.get(key) ?? {}, c.changes);
      else if (
        c.object.kind === 'route-domain' &&
        (await this.routeDomainUsers(Number(c.object.attrs.id))).length > 0
      )
        return { refused: `${c.object.name} is in use` };
      else this.net.delete(key);
    }
    return {};
  }

  async routeDomainUsers(id: number): Promise<string[]> {
    return [...this.objects.values()]
      .filter(
        (o) =>
          (o.kind === 'virtual-address' || o.kind === 'member') &&
          routeDomainOfAddress(String(o.attrs.address ?? '')) === id,
      )
      .map((o) => `/${o.partition}/${o.name}`);
  }

  /** Folders, the LTM objects and the /Common network objects this fake holds, as a device lists them. */
  async inventory(): Promise<InventoryItem[]> {
    this.events.push('inventory');
    const kindOf = (k: string) => k.split('/')[0] as InventoryItem['kind'];
    return [
      ...[...this.folders].map((name): InventoryItem => ({ kind: 'folder', partition: '', name, attrs: {} })),
      ...[...this.objects.values()]
        .filter((o) => ['virtual-address', 'virtual', 'pool', 'member', 'monitor', 'node'].includes(o.kind))
        .map(
          (o): InventoryItem => ({
            kind: o.kind as InventoryItem['kind'],
            partition: o.partition,
            name: o.name,
            ...(o.pool ? { pool: o.pool } : {}),
            ...(o.monitorType ? { monitorType: o.monitorType } : {}),
            attrs: structuredClone(o.attrs),
          }),
        ),
      ...[...this.net].map(
        ([key, attrs]): InventoryItem => ({
          kind: kindOf(key),
          partition: 'Common',
          name: key.split('/').slice(2).join('/'),
          attrs: structuredClone(attrs),
        }),
      ),
    ];
  }

  async close(): Promise<void> {}
}

/** A cluster of in-memory devices: writes go to the first ACTIVE one (no cache). */
export class InMemoryCluster implements DeviceCluster {
  constructor(
    readonly devices: InMemoryBigIp[] = [new InMemoryBigIp()],
    readonly name = 'cluster1',
  ) {}

  async activeDevice(): Promise<InMemoryBigIp> {
    const active = this.devices.find((d) => d.failoverState === 'ACTIVE');
    if (!active)
      throw new BigIpError(`no device of cluster ${this.name} is ACTIVE`, {
        device: this.name,
        transient: true,
      });
    return active;
  }

  peersOf(device: BigIpDevice): InMemoryBigIp[] {
    return this.devices.filter((d) => d !== device);
  }

  async unitStates(options: { withVersion: boolean }): Promise<Record<string, DeviceState>> {
    const states: Record<string, DeviceState> = {};
    for (const unit of this.devices) {
      try {
        const status = await unit.status({ withSync: this.devices.length > 1, ...options });
        states[unit.name] = { reachable: true, failoverState: status.failoverState, checkedAt: 0 };
      } catch (error) {
        states[unit.name] = { reachable: false, message: (error as Error).message, checkedAt: 0 };
      }
    }
    return states;
  }

  async close(): Promise<void> {}
}

/**
 * The config-sync of a group of in-memory units, recorded rather than run: `syncs` names the unit
 * each sync ran from, `checked` the units asked whether they hold a change. The units do not
 * replicate; asking them still exercises the caller's check.
 */
export class RecordingGroupSync {
  readonly syncs: string[] = [];
  readonly checked: string[] = [];
  /** Groups that are not In Sync get synced by the next confirmation, changed or not. */
  outOfSync = false;
  /** Makes the next confirmation throw this (a sync that did not reach the peer in time, say). */
  fail: Error | undefined;

  /** The units a change was being sent to when the sync was told (`prepare`). */
  readonly prepared: string[] = [];
  /** For each confirmation, whether its sync may be held for other writers (`hold` not false). */
  readonly mayHold: boolean[] = [];
  /** For each confirmation, the caller's end it was given (`until`; undefined: none). */
  readonly untils: (number | undefined)[] = [];

  constructor(private readonly cluster: Pick<DeviceCluster, 'peersOf'>) {}

  prepare(device: BigIpDevice): void {
    this.prepared.push(device.name);
  }

  async confirm(
    device: BigIpDevice,
    onUnit: (unit: BigIpDevice) => Promise<boolean>,
    options: { changed: boolean; hold?: boolean; until?: number },
  ): Promise<void> {
    this.mayHold.push(options.hold !== false);
    this.untils.push(options.until);
    const peers = this.cluster.peersOf(device);
    if (peers.length === 0) return;
    const failure = this.fail;
    this.fail = undefined;
    if (failure) throw failure;
    if (options.changed || this.outOfSync) this.syncs.push(device.name);
    this.outOfSync = false;
    for (const unit of peers) {
      this.checked.push(unit.name);
      await onUnit(unit);
    }
  }

  async resyncPeer(device: BigIpDevice): Promise<boolean> {
    if (this.cluster.peersOf(device).length === 0 || !this.outOfSync) return false;
    await this.confirm(device, async () => true, { changed: true });
    return true;
  }
}
