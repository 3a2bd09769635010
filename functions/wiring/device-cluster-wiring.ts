import { BigIpCluster } from '../adapters/bigip-cluster.js';
import { BigIpRestClient, type RestCall } from '../adapters/bigip-rest-client.js';
import { SecretsManagerCredentials } from '../adapters/device-credentials.js';
import { IControlBigIpDevice } from '../adapters/icontrol-bigip-device.js';
import { DEFAULT_GROUP } from '../domain/agent-scheduler.js';
import { partitionLeaseKey } from '../domain/bigip-names.js';
import type { NetworkCatalog } from '../domain/networks.js';
import type { CredentialsProvider, PartitionLease, SyncLedger } from '../domain/ports.js';
import { GroupSync } from '../services/group-sync.js';
import { NetworkProvisioner } from '../services/network-provisioner.js';
import { PartitionWriter } from '../services/partition-writer.js';
import type { DeviceAccessConfig } from '../shared/config.js';
import { systemTimers } from '../shared/timers.js';

export interface DeviceOverrides {
  /** Device credentials (default: the configured Secrets Manager secret). */
  credentials?: CredentialsProvider;
  onCall?: (call: RestCall) => void;
  clock?: () => number;
  retryBaseMs?: number;
  /** How often a running config-sync is polled (tests shorten it). */
  syncPollMs?: number;
}

/** The devices of one device group as a cluster, each with its own REST client (token, TLS agent). */
export function wireDeviceCluster(access: DeviceAccessConfig, overrides: DeviceOverrides = {}): BigIpCluster {
  const credentials = overrides.credentials ?? new SecretsManagerCredentials(access.deviceSecretId);
  const devices = access.devices.map(
    (endpoint) =>
      new IControlBigIpDevice(
        new BigIpRestClient(endpoint, credentials, {
          timeoutMs: access.restTimeoutMs,
          ...(overrides.onCall ? { onCall: overrides.onCall } : {}),
          ...(overrides.clock ? { clock: overrides.clock } : {}),
          ...(overrides.retryBaseMs !== undefined ? { retryBaseMs: overrides.retryBaseMs } : {}),
        }),
        access.deviceGroup ? { deviceGroup: access.deviceGroup } : {},
      ),
  );
  return new BigIpCluster(devices, {
    name: access.clusterName,
    ...(overrides.clock ? { clock: overrides.clock } : {}),
  });
}

export interface WriterWiring extends DeviceOverrides {
  env: string;
  /** The partition leases every writer of the device group shares. */
  lease: PartitionLease;
  /** The device group's config-sync ledger. */
  ledger: SyncLedger;
  /** Names the writer in the ledger. */
  owner: string;
  /** A lease-owner token per write. */
  newOwner: () => string;
}

/**
 * A writer of a device group's partitions (an agent worker, a reconciler): its cluster, the
 * group's config-sync protocol, and the partition writer that owns a change's lifecycle.
 */
export function wirePartitionWriter(access: DeviceAccessConfig, wiring: WriterWiring) {
  const cluster = wireDeviceCluster(access, wiring);
  const sync = new GroupSync({
    cluster,
    ...(access.deviceGroup ? { syncGroup: access.deviceGroup } : {}),
    ledger: wiring.ledger,
    owner: wiring.owner,
    clock: wiring.clock ?? Date.now,
    timers: systemTimers,
    ...(wiring.syncPollMs !== undefined ? { syncPollMs: wiring.syncPollMs } : {}),
    // Every writer of this cluster's partitions and networks holds a lease under this prefix.
    writers: (now) => wiring.lease.countHeld(partitionLeaseKey(wiring.env, cluster.name, ''), now),
  });
  const writer = new PartitionWriter({
    env: wiring.env,
    lease: wiring.lease,
    cluster,
    sync,
    newOwner: wiring.newOwner,
    clock: wiring.clock ?? Date.now,
  });
  // Segmented networks are put on the group by the same writer, each under a lease of its own.
  const networks = (access.networks ?? []).some((n) => n.segmentation)
    ? new NetworkProvisioner({
        env: wiring.env,
        group: access.group ?? DEFAULT_GROUP,
        trafficGroup: access.trafficGroup,
        networks: deviceNetworks(access),
        writer,
        cluster,
        unitNames: access.devices.map((d) => d.name),
      })
    : undefined;
  return { cluster, sync, writer, networks };
}

/** The networks the device functions translate with: the configuration's, and the local stack's no-op CIDR. */
export function deviceNetworks(
  access: Pick<DeviceAccessConfig, 'networks' | 'noopNetworkCidr'>,
): NetworkCatalog {
  return {
    networks: access.networks ?? [],
    ...(access.noopNetworkCidr ? { noopCidr: access.noopNetworkCidr } : {}),
  };
}
