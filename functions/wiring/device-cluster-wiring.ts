import { BigIpCluster } from '../adapters/bigip-cluster.js';
import { BigIpRestClient, type RestCall } from '../adapters/bigip-rest-client.js';
import { SecretsManagerCredentials } from '../adapters/device-credentials.js';
import { IControlBigIpDevice } from '../adapters/icontrol-bigip-device.js';
import type { CredentialsProvider, SyncLedger } from '../domain/ports.js';
import type { DeviceAccessConfig } from '../shared/config.js';

export interface DeviceOverrides {
  /** Device credentials (default: the configured Secrets Manager secret). */
  credentials?: CredentialsProvider;
  onCall?: (call: RestCall) => void;
  clock?: () => number;
  retryBaseMs?: number;
  /** How often a running config-sync is polled (tests shorten it). */
  syncPollMs?: number;
}

export interface ClusterWiring extends DeviceOverrides {
  /** The device group's config-sync ledger (writers only: the agent workers). */
  ledger?: SyncLedger;
  /** Names the writer in the ledger. */
  owner?: string;
}

/** The devices of one environment as a cluster, each with its own REST client (token, TLS agent). */
export function wireDeviceCluster(access: DeviceAccessConfig, overrides: ClusterWiring = {}): BigIpCluster {
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
    ...(access.deviceGroup ? { deviceGroup: access.deviceGroup } : {}),
    ...(overrides.clock ? { clock: overrides.clock } : {}),
    ...(overrides.syncPollMs !== undefined ? { syncPollMs: overrides.syncPollMs } : {}),
    ...(overrides.ledger ? { ledger: overrides.ledger } : {}),
    ...(overrides.owner ? { owner: overrides.owner } : {}),
  });
}
