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

/** The part of a unit config-sync needs. */
export interface SyncUnit {
  hostname: string;
  store: ConfigStore;
  failoverState: 'active' | 'standby';
  changesPending: boolean;
  deviceGroup: string;
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
      peer.store.replaceWith(unit.store);
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

/** What `cm/sync-status` says of a unit (§4.3, §4.4). */
export function syncStatusOf(unit: SyncUnit): {
  status: SyncStatus;
  color: string;
  summary: string;
  details: string[];
} {
  if (!unit.peer) return { status: 'Standalone', color: 'green', summary: ' ', details: [] };
  const failure = unit.sync.failure ?? unit.peer.sync.failure;
  const group = unit.deviceGroup;
  if (unit.sync.inFlight)
    return {
      status: 'Not All Devices Synced',
      color: 'blue',
      summary: `${unit.hostname} is syncing to ${group}`,
      details: [`${unit.peer.hostname}: connected`, `${group} (Not All Devices Synced): sync in progress`],
    };
  if (failure === 'Disconnected')
    return {
      status: 'Disconnected',
      color: 'red',
      summary: 'The local device is disconnected from the trust domain',
      details: [`${unit.peer.hostname}: disconnected`],
    };
  if (failure || unit.changesPending)
    return {
      status: 'Changes Pending',
      color: 'yellow',
      summary: 'There is a possible change conflict between the devices of the group',
      details: [
        `${unit.peer.hostname}: connected`,
        `${group} (Changes Pending): ${unit.hostname} has changes`,
        ` - Recommended action: Synchronize ${unit.hostname} to group ${group}`,
      ],
    };
  return {
    status: 'In Sync',
    color: 'green',
    summary: ' ',
    details: [
      `${unit.peer.hostname}: connected`,
      `${group} (In Sync): All devices in the device group are in sync`,
    ],
  };
}
