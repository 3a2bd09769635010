import { type Reply, reply } from './http-io.js';

/** What the shared (restjavad) endpoints show of a unit. */
export interface SharedView {
  hostname: string;
  version: string;
  managementIp: string;
}

/**
 * device-facts.md §5.1: the restjavad endpoints F5's own client checks before any call: `/mgmt/shared/echo`,
 * `…/available` suffixes, and the device info (its `version` decides whether `sys/ready` is read).
 * No public capture shows an `/available` body; the client only needs the 200.
 */
export function sharedEndpoint(unit: SharedView, path: string): Reply | undefined {
  const rest = path.slice('/mgmt/shared/'.length);
  if (rest.endsWith('/available')) {
    const base = rest.slice(0, -'/available'.length);
    if (['echo', 'identified-devices/config/device-info', 'iapp/package-management-tasks'].includes(base))
      return reply(200, {});
    return undefined;
  }
  if (rest === 'echo')
    return reply(200, {
      stage: 'STARTED',
      generation: 0,
      lastUpdateMicros: 0,
      kind: 'shared:echo:echoworkerstate',
      selfLink: 'https://localhost/mgmt/shared/echo',
    });
  if (rest === 'identified-devices/config/device-info')
    return reply(200, {
      baseMac: '02:00:5e:00:53:01',
      build: '0.0.4',
      edition: 'Point Release 1',
      hostname: unit.hostname,
      isClustered: false,
      isVirtual: true,
      managementAddress: unit.managementIp,
      platformMarketingName: 'BIG-IP Virtual Edition',
      product: 'BIG-IP',
      version: unit.version,
      generation: 0,
      lastUpdateMicros: 0,
      kind: 'shared:resolver:device-groups:deviceinfostate',
      selfLink: 'https://localhost/mgmt/shared/identified-devices/config/device-info',
    });
  return undefined;
}
