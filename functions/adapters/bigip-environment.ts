import type { DeviceAccessConfig } from '../shared/config.js';
import { BigIpCluster } from './bigip-cluster.js';
import { BigIpRestClient, type CredentialsProvider, type RestCall } from './bigip-rest-client.js';
import { IControlBigIpDevice } from './icontrol-bigip-device.js';

/** The devices of one environment as a cluster, each with its own REST client (token, TLS agent). */
export function buildCluster(
  access: DeviceAccessConfig,
  credentials: CredentialsProvider,
  options: { onCall?: (call: RestCall) => void; clock?: () => number; retryBaseMs?: number } = {},
): BigIpCluster {
  const devices = access.devices.map(
    (endpoint) =>
      new IControlBigIpDevice(
        new BigIpRestClient(endpoint, credentials, {
          timeoutMs: access.restTimeoutMs,
          ...(options.onCall ? { onCall: options.onCall } : {}),
          ...(options.clock ? { clock: options.clock } : {}),
          ...(options.retryBaseMs !== undefined ? { retryBaseMs: options.retryBaseMs } : {}),
        }),
      ),
  );
  return new BigIpCluster(devices, {
    name: access.clusterName,
    ...(access.deviceGroup ? { deviceGroup: access.deviceGroup } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
}
