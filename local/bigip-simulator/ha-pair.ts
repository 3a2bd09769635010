import { errors } from './error-bodies.js';
import { type Reply, reply } from './http-io.js';
import type { ConfigStore } from './ltm-model.js';

/** Sync states of a device group as `cm/sync-status` reports them (device-facts.md §4.4). */
export type SyncStatus =
  | 'In Sync'
  | 'Changes Pending'
  | 'Not All Devices Synced'
  | 'Awaiting Initial Sync'
  | 'Disconnected'
  | 'Standalone';

/** A device group besides the failover group (§7.11: `datasync-global-dg`, sync-only groups), in a set state. */
export interface OtherGroup {
  name: string;
  status: Exclude<SyncStatus, 'Standalone'>;
}

/** The part of a unit config-sync needs. */
export interface SyncUnit {
  hostname: string;
  store: ConfigStore;
  failoverState: 'active' | 'standby';
  changesPending: boolean;
  deviceGroup: string;
  /** Test hook: the unit's other device groups and their states (config-sync never changes them). */
  otherGroups: OtherGroup[];
  peer: SyncUnit | undefined;
  sync: SyncState;
}

/** A unit's view of its group's sync: a sync in flight, or how the last one ended. */
export interface SyncState {
  inFlight: boolean;
  /** How the last sync failed, if it did. */
  failure: 'Disconnected' | 'Changes Pending' | undefined;
  /** Test hook: every sync fails this way until cleared (the peer unreachable, say). */
  injected: 'Disconnected' | 'Changes Pending' | undefined;
  /** How long a sync takes until the peer has the configuration (0: done before the answer). */
  delayMs: number;
  /** Syncs asked for while one was running: each runs after it (one at a time per group). */
  queued: number;
  /** What the benchmarks and tests count: config-sync commands, and those that found one running. */
  requested: number;
  overlapping: number;
}

export function newSyncState(delayMs = 0): SyncState {
  return {
    inFlight: false,
    failure: undefined,
    injected: undefined,
    delayMs,
    queued: 0,
    requested: 0,
    overlapping: 0,
  };
}

/**
 * `POST /mgmt/tm/cm {"command":"run","utilCmdArgs":"config-sync to-group <dg>"}`. §4.3: it answers
 * at once; the group shows `Not All Devices Synced` until the peer has the configuration. The copy
 * is taken when the sync finishes; a failover inside the window makes the sync fail (`Changes
 * Pending`), so the new active unit does not have the change. A sync asked for while one runs
 * waits for it and then runs in full: one sync at a time per device group is the issue's stated
 * model assumption (no public source says how a device orders them; F5's agent#405 only says
 * concurrent syncs cause errors), and it is counted so tests can show it never happens.
 */
export function configSync(unit: SyncUnit, body: Record<string, unknown>): Reply {
  const args = String(body.utilCmdArgs ?? '');
  const match = /^config-sync to-group (\S+)$/.exec(args);
  if (body.command !== 'run' || !match) return reply(400, errors.invalidValue(`invalid command ${args}`));
  const peer = unit.peer;
  if (!peer || match[1] !== unit.deviceGroup) {
    return reply(400, {
      code: 400,
      message: `01070734:3: Configuration error: Device group (${match[1]}) not found in device group sync`,
      errorStack: [],
      apiError: 3,
    });
  }
  unit.sync.requested += 1;
  if (unit.sync.inFlight || peer.sync.inFlight) {
    unit.sync.overlapping += 1;
    unit.sync.queued += 1;
  } else {
    runSync(unit, peer);
  }
  return reply(200, { kind: 'tm:cm:runstate', command: 'run', utilCmdArgs: args });
}

function runSync(unit: SyncUnit, peer: SyncUnit): void {
  const finish = () => {
    unit.sync.inFlight = false;
    peer.sync.inFlight = false;
    if (unit.sync.injected) unit.sync.failure = unit.sync.injected;
    else if (unit.failoverState !== 'active') unit.sync.failure = 'Changes Pending';
    if (!unit.sync.failure) {
      peer.store.syncFrom(unit.store);
      unit.changesPending = false;
      peer.changesPending = false;
      peer.sync.failure = undefined;
    }
    if (unit.sync.queued > 0) {
      unit.sync.queued -= 1;
      runSync(unit, peer);
    }
  };
  unit.sync.failure = undefined;
  unit.sync.inFlight = true;
  peer.sync.inFlight = true;
  if (unit.sync.delayMs > 0) setTimeout(finish, unit.sync.delayMs).unref();
  else finish();
}

/** One group's state as `cm/sync-status` shows it: status, color, summary and its detail lines. */
interface GroupView {
  status: SyncStatus;
  color: string;
  summary: string;
  details: string[];
}

/**
 * What `cm/sync-status` says of a unit (§4.3, §4.4, §7.11). It is device-wide: the status, color
 * and summary are those of the group in the *worst* state, and each group has a detail line
 * `"<device group> (<status>): <text>"`; a single group cannot be asked for. Which state is worse
 * than which is not documented: the order below (In Sync, Not All Devices Synced, Awaiting Initial
 * Sync, Changes Pending, Disconnected) is inferred, as are the texts of other groups' lines (the
 * in-sync one is recorded as a summary).
 */
export function syncStatusOf(unit: SyncUnit): GroupView {
  if (!unit.peer)
    // §7.11 (genieparser, 14.1.2.1): a standalone unit.
    return {
      status: 'Standalone',
      color: 'green',
      summary: ' ',
      details: ['Optional action: Add a device to the trust domain'],
    };
  const ours = failoverGroupView(unit, unit.peer);
  const others = unit.otherGroups.map((g) => otherGroupView(g));
  const worst = [ours, ...others].reduce((a, b) => (SEVERITY[b.status] > SEVERITY[a.status] ? b : a));
  return { ...worst, details: [...ours.details, ...others.flatMap((g) => g.details)] };
}

const SEVERITY: Record<SyncStatus, number> = {
  Standalone: 0,
  'In Sync': 0,
  'Not All Devices Synced': 1,
  'Awaiting Initial Sync': 2,
  'Changes Pending': 3,
  Disconnected: 4,
};

/** The failover group (the one config-sync runs for), from the last sync and pending changes. */
function failoverGroupView(unit: SyncUnit, peer: SyncUnit): GroupView {
  const failure = unit.sync.failure ?? peer.sync.failure;
  const group = unit.deviceGroup;
  if (unit.sync.inFlight)
    return {
      status: 'Not All Devices Synced',
      color: 'blue',
      summary: `${unit.hostname} is syncing to ${group}`,
      details: [`${peer.hostname}: connected`, `${group} (Not All Devices Synced): sync in progress`],
    };
  if (failure === 'Disconnected')
    return {
      status: 'Disconnected',
      color: 'red',
      summary: 'The local device is disconnected from the trust domain',
      details: [`${peer.hostname}: disconnected`],
    };
  if (failure || unit.changesPending)
    return {
      status: 'Changes Pending',
      color: 'yellow',
      summary: 'There is a possible change conflict between the devices of the group',
      details: [
        `${peer.hostname}: connected`,
        `${group} (Changes Pending): ${unit.hostname} has changes`,
        ` - Recommended action: Synchronize ${unit.hostname} to group ${group}`,
      ],
    };
  return {
    status: 'In Sync',
    color: 'green',
    summary: 'All devices in the device group are in sync',
    details: [
      `${peer.hostname}: connected`,
      `${group} (In Sync): All devices in the device group are in sync`,
    ],
  };
}

const OTHER_GROUP: Record<OtherGroup['status'], { color: string; text: string }> = {
  'In Sync': { color: 'green', text: 'All devices in the device group are in sync' },
  'Not All Devices Synced': { color: 'blue', text: 'Not all devices in the group are in sync' },
  'Awaiting Initial Sync': { color: 'blue', text: 'The device group is awaiting the initial config sync' },
  'Changes Pending': {
    color: 'yellow',
    text: 'There is a possible change conflict between the devices of the group',
  },
  Disconnected: { color: 'red', text: 'The device group has a disconnected device' },
};

function otherGroupView(g: OtherGroup): GroupView {
  const { color, text } = OTHER_GROUP[g.status];
  return { status: g.status, color, summary: text, details: [`${g.name} (${g.status}): ${text}`] };
}
