import { BatchGetCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { vipClaimKey } from '../domain/claims.js';
import type { ResourceType } from '../domain/lbaas-request.js';
import type { ListPosition, ObjectCatalog } from '../domain/ports.js';
import {
  createdKeyOf,
  listingKeys,
  projectListingKeys,
  type ResourceRecord,
  resourceKey,
} from '../domain/resource-state.js';
import { RESOURCES_BY_PROJECT_INDEX, RESOURCES_BY_TYPE_INDEX } from '../shared/table-schema.js';
import { queryAll } from './dynamodb-query.js';
import { toRecord } from './dynamodb-resource-store.js';

/**
 * The Octavia API's reads beyond one load balancer: a project's objects of one type a page at a
 * time through the by-project index (creation order, Octavia's default), an environment's objects
 * of one type for an admin's listing (the by-type index), and which VIP addresses are claimed.
 */
export class DynamoDbObjectCatalog implements ObjectCatalog {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { resources: string; claims: string },
  ) {}

  async listByProject(
    env: string,
    type: ResourceType,
    tenantId: string,
    page: { limit: number; after?: ListPosition },
  ): Promise<{ items: ResourceRecord[]; more: boolean }> {
    const { projectKey } = projectListingKeys(env, type, tenantId, '', 0);
    const after = page.after;
    // One more than asked: whether a next page exists, without a second query.
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tables.resources,
        IndexName: RESOURCES_BY_PROJECT_INDEX,
        KeyConditionExpression: 'projectKey = :pk',
        ExpressionAttributeValues: { ':pk': projectKey },
        Limit: page.limit + 1,
        ...(after
          ? {
              ExclusiveStartKey: {
                projectKey,
                createdKey: createdKeyOf(after.createdAt, after.id),
                loadbalancerId: after.loadbalancerId,
                key: resourceKey(type, after.id),
              },
            }
          : {}),
      }),
    );
    const items = (out.Items ?? []).map(toRecord);
    return { items: items.slice(0, page.limit), more: items.length > page.limit };
  }

  async listAll(env: string, type: ResourceType): Promise<ResourceRecord[]> {
    const items = await queryAll(this.db, {
      TableName: this.tables.resources,
      IndexName: RESOURCES_BY_TYPE_INDEX,
      KeyConditionExpression: 'listKey = :lk',
      ExpressionAttributeValues: { ':lk': listingKeys(env, type, '', undefined).listKey },
    });
    return items.map(toRecord);
  }

  async claimedAddresses(env: string, addresses: readonly string[]): Promise<Set<string>> {
    const held = new Set<string>();
    for (let i = 0; i < addresses.length; i += 100) {
      let keys: Record<string, unknown>[] = addresses
        .slice(i, i + 100)
        .map((a) => ({ claimKey: vipClaimKey(env, a) }));
      while (keys.length > 0) {
        const res = await this.db.send(
          new BatchGetCommand({
            RequestItems: {
              [this.tables.claims]: { Keys: keys, ConsistentRead: true, ProjectionExpression: 'claimKey' },
            },
          }),
        );
        for (const item of res.Responses?.[this.tables.claims] ?? [])
          held.add(String(item.claimKey).slice(vipClaimKey(env, '').length));
        keys = (res.UnprocessedKeys?.[this.tables.claims]?.Keys ?? []) as Record<string, unknown>[];
      }
    }
    return held;
  }
}
