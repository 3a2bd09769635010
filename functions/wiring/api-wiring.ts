import { randomUUID } from 'node:crypto';
import { type AwsClients, createDocumentClient } from '../adapters/aws-clients.js';
import { DynamoDbApiObjectStore } from '../adapters/dynamodb-api-object-store.js';
import { DynamoDbHealthStore } from '../adapters/dynamodb-health-store.js';
import { DynamoDbObjectCatalog } from '../adapters/dynamodb-object-catalog.js';
import { SecretsManagerKeystoneCredentials } from '../adapters/keystone-credentials.js';
import {
  type KeystoneServiceCredentials,
  KeystoneTokenValidator,
} from '../adapters/keystone-token-validator.js';
import { SqsRequestQueue } from '../adapters/sqs-request-queue.js';
import { DEFAULT_GROUP } from '../domain/agent-scheduler.js';
import type { NetworkCatalog } from '../domain/networks.js';
import type { PolicyMode } from '../domain/octavia-policy.js';
import { QUOTA_NAMES, type QuotaLimits } from '../domain/octavia-quotas.js';
import type { TokenValidator } from '../domain/ports.js';
import { createAuthorizerHandler } from '../handlers/api-gateway.js';
import { createApiHandler } from '../handlers/octavia-api-handler.js';
import { NeutronReads } from '../services/neutron-reads.js';
import { type LoadBalancerPlacement, OctaviaApi } from '../services/octavia-api.js';
import { OctaviaSettings } from '../services/octavia-settings.js';
import type { ApiConfig, AuthorizerConfig } from '../shared/config.js';
import { createTelemetry, type Telemetry } from '../shared/telemetry.js';
import { buildRequestScheduler } from './scheduler-wiring.js';

/** How often a write waiting for its change reads the load balancer (one Query each). */
const SETTLE_POLL_MS = 100;

export interface ApiOverrides {
  clock?: () => number;
  random?: () => number;
  newId?: () => string;
  telemetry?: Telemetry;
  /** The local stack's networks (with no-op networks for the conformance run); else the configuration's. */
  networks?: NetworkCatalog;
  /** `noauth` on the local stack; else the configuration's policy. */
  policy?: PolicyMode;
  /** The project a noauth caller acts for when a create names none. */
  defaultProject?: string;
}

/**
 * The Octavia API's object graph (the `api` function, the local server, the tests and the
 * benchmark): the resource store and catalog, the request queue it produces to, and the
 * scheduler's placement, which binds a new load balancer (or refuses it for capacity) before the
 * API answers.
 */
export function wireApi(config: ApiConfig, clients: AwsClients, overrides: ApiOverrides = {}) {
  const clock = overrides.clock ?? Date.now;
  const random = overrides.random ?? Math.random;
  const newId = overrides.newId ?? randomUUID;
  const telemetry = overrides.telemetry ?? createTelemetry('api', config.env);
  const db = createDocumentClient(clients.dynamodb);
  // Placement only: the scheduler function forwards the request once it takes it off the queue.
  const { scheduler, registry, bindings, resources } = buildRequestScheduler(config, db, clients, {
    clock,
    random,
  });
  const placement: LoadBalancerPlacement = {
    async place(request) {
      const placed = await scheduler.decide(request);
      if (placed.kind !== 'forwarded') return placed;
      const { decision, bound } = placed;
      return {
        kind: 'placed',
        async release() {
          if (!bound) return;
          await bindings.release(request.loadbalancerId, decision.host);
          await registry.adjustLoadbalancerCount(config.env, decision.host, -1);
        },
      };
    },
  };
  const policy = overrides.policy ?? config.policy;
  const networks = overrides.networks ?? { networks: config.networks };
  const catalog = new DynamoDbObjectCatalog(db, config.tables);
  const defaultQuotas: QuotaLimits = {};
  for (const [name, type] of QUOTA_NAMES) {
    const limit = (config.quotas as Record<string, number> | undefined)?.[name];
    if (limit !== undefined) defaultQuotas[type] = limit;
  }
  const settings = new OctaviaSettings({
    env: config.env,
    policy,
    store: new DynamoDbApiObjectStore(db, config.tables.apiObjects),
    catalog,
    // Without groups in the configuration, the environment's one group (its agents name none).
    groups: config.groups?.map((g) => ({ name: g.name, ...(g.units ? { units: g.units } : {}) })) ?? [
      { name: DEFAULT_GROUP },
    ],
    defaultQuotas,
    newId,
  });
  const api = new OctaviaApi({
    env: config.env,
    policy,
    ...(overrides.defaultProject ? { defaultProject: overrides.defaultProject } : {}),
    networks,
    resources,
    catalog,
    settings,
    statistics: new DynamoDbHealthStore(db, config.tables),
    queue: new SqsRequestQueue(clients.sqs, config.requestQueueUrl),
    placement,
    clock,
    random,
    newId,
    ...(config.settleMs
      ? {
          settle: {
            withinMs: config.settleMs,
            pollMs: SETTLE_POLL_MS,
            sleep: (ms: number) => new Promise<void>((done) => setTimeout(done, ms)),
          },
        }
      : {}),
  });
  const neutron = new NeutronReads({ networks, policy, loadTree: (id) => api.loadTree(id) });
  const handler = createApiHandler({ api, settings, neutron, telemetry, newRequestId: newId });
  return { handler, api, settings, neutron, resources, bindings, registry, telemetry };
}

export interface AuthorizerOverrides {
  clock?: () => number;
  telemetry?: Telemetry;
  /** Fixed service credentials (the local stack's Keystone); else the configured secret. */
  credentials?: KeystoneServiceCredentials;
  /** How long one call to Keystone may take (default 10 s, within the authorizer's own timeout). */
  timeoutMs?: number;
}

/** The API's Lambda authorizer: Keystone token validation with its cache. */
export function wireApiAuthorizer(config: AuthorizerConfig, overrides: AuthorizerOverrides = {}) {
  const telemetry = overrides.telemetry ?? createTelemetry('api-authorizer', config.env);
  const fixed = overrides.credentials;
  const secret = new SecretsManagerKeystoneCredentials(config.keystoneSecretId);
  const validator: TokenValidator = new KeystoneTokenValidator({
    url: config.keystoneUrl,
    credentials: fixed ? async () => fixed : () => secret.get(),
    cacheMs: config.tokenCacheMs,
    ...(overrides.clock ? { clock: overrides.clock } : {}),
    ...(overrides.timeoutMs ? { timeoutMs: overrides.timeoutMs } : {}),
  });
  return { handler: createAuthorizerHandler({ validator, telemetry }), validator, telemetry };
}
