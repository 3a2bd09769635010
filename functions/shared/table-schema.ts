/**
 * The DynamoDB tables, described once: the CDK stack and the local stand-in both build them from
 * here, so local runs and AWS always have the same keys and indexes. Every key is a string.
 */
export interface TableSchema {
  partitionKey: string;
  sortKey?: string;
  indexes?: { name: string; partitionKey: string; sortKey?: string }[];
  /** Attribute holding an epoch-seconds expiry, if the table uses TTL. */
  ttlAttribute?: string;
  /** Small by construction and read whole with a Scan by its readers (granted with reads). */
  scanned?: true;
}

export const TABLES = {
  agents: { partitionKey: 'env', sortKey: 'host' },
  bindings: {
    partitionKey: 'loadbalancerId',
    indexes: [{ name: 'by-agent', partitionKey: 'agentKey', sortKey: 'loadbalancerId' }],
  },
  affinity: { partitionKey: 'tenantKey', sortKey: 'host' },
  resources: {
    partitionKey: 'loadbalancerId',
    sortKey: 'key',
    // Objects of one type in one environment by name (`<env>#<type>`, `<name>#<id>`): lists and name look-ups cost a page.
    // One project's objects of one type by creation (`<env>#<type>#<project>`, `<created>#<id>`): the Octavia API's list pages.
    indexes: [
      { name: 'by-type', partitionKey: 'listKey', sortKey: 'nameKey' },
      { name: 'by-project', partitionKey: 'projectKey', sortKey: 'createdKey' },
    ],
  },
  // Live leases only (each is deleted on release) and one sync ledger per device group: a sync
  // scans it for the writers sending to its cluster (group-sync.ts, `hold`).
  leases: { partitionKey: 'leaseKey', ttlAttribute: 'expiresAtSeconds', scanned: true },
  idempotency: { partitionKey: 'id', ttlAttribute: 'expiration' },
  /** What is unique per environment (object ids, a VIP, a port per VIP), claimed with the request that takes it. */
  claims: { partitionKey: 'claimKey' },
  /** Each listener's traffic totals from the devices, under its load balancer. */
  statistics: { partitionKey: 'loadbalancerId', sortKey: 'listenerId' },
  /** Each device group's usage (load balancers counted with the bindings) and operator switch. */
  groups: { partitionKey: 'env', sortKey: 'group' },
  /** The Octavia API's objects outside load balancers (`<env>#<kind>`, id): quotas, flavors, availability zones and their profiles. */
  apiObjects: { partitionKey: 'kindKey', sortKey: 'id' },
} as const satisfies Record<string, TableSchema>;

export type TableId = keyof typeof TABLES;
export type TableNames = Record<TableId, string>;

export const BINDINGS_BY_AGENT_INDEX = 'by-agent';
export const RESOURCES_BY_TYPE_INDEX = 'by-type';
export const RESOURCES_BY_PROJECT_INDEX = 'by-project';

/** Table names for a name prefix (one set of tables serves every environment). */
export function tableNames(prefix: string): TableNames {
  return {
    agents: `${prefix}-agents`,
    bindings: `${prefix}-bindings`,
    affinity: `${prefix}-tenant-affinity`,
    resources: `${prefix}-resources`,
    leases: `${prefix}-leases`,
    idempotency: `${prefix}-idempotency`,
    claims: `${prefix}-claims`,
    statistics: `${prefix}-statistics`,
    groups: `${prefix}-groups`,
    apiObjects: `${prefix}-api-objects`,
  };
}
