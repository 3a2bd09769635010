import { errors } from './error-bodies.js';
import { type Reply, reply } from './http-io.js';
import type { ConfigStore } from './ltm-model.js';

/** The part of a unit config-sync needs. */
export interface SyncUnit {
  store: ConfigStore;
  changesPending: boolean;
  deviceGroup: string;
  peer: SyncUnit | undefined;
}

/**
 * `POST /mgmt/tm/cm {"command":"run","utilCmdArgs":"config-sync to-group <dg>"}`: copies this
 * unit's whole configuration to its peer. (Synchronous here; bigip-real-device.md §4.3 says a real
 * device answers at once and syncs in the background — see the device-fidelity issue.)
 */
export function configSync(unit: SyncUnit, body: Record<string, unknown>): Reply {
  const args = String(body.utilCmdArgs ?? '');
  const match = /^config-sync to-group (\S+)$/.exec(args);
  if (body.command !== 'run' || !match) {
    return reply(400, errors.invalidValue(`invalid command ${args}`));
  }
  if (!unit.peer || match[1] !== unit.deviceGroup) {
    return reply(400, {
      code: 400,
      message: `01070734:3: Configuration error: Device group (${match[1]}) not found in device group sync`,
      errorStack: [],
      apiError: 3,
    });
  }
  unit.peer.store.replaceWith(unit.store);
  unit.changesPending = false;
  unit.peer.changesPending = false;
  return reply(200, { kind: 'tm:cm:runstate', command: 'run', utilCmdArgs: args });
}
