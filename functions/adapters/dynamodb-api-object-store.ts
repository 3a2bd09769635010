import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ApiObject, ApiObjectKind, ApiObjectStore } from '../domain/ports.js';
import { isConditionFailure } from './dynamodb-errors.js';
import { queryAll } from './dynamodb-query.js';

/**
 * The apiObjects table: the Octavia API's quotas, flavors, availability zones and their profiles,
 * one partition per environment and kind (a listing is one query), each item carrying a version
 * that every conditional write checks.
 */
export class DynamoDbApiObjectStore implements ApiObjectStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async get(env: string, kind: ApiObjectKind, id: string): Promise<ApiObject | undefined> {
    const item = (
      await this.db.send(
        new GetCommand({
          TableName: this.table,
          Key: { kindKey: `${env}#${kind}`, id },
          ConsistentRead: true,
        }),
      )
    ).Item;
    return item ? toObject(item) : undefined;
  }

  async list(env: string, kind: ApiObjectKind): Promise<ApiObject[]> {
    const items = await queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'kindKey = :k',
      ExpressionAttributeValues: { ':k': `${env}#${kind}` },
      ConsistentRead: true,
    });
    return items.map(toObject);
  }

  async put(
    env: string,
    kind: ApiObjectKind,
    id: string,
    data: Record<string, unknown>,
    expected?: number,
  ): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { kindKey: `${env}#${kind}`, id, data, version: (expected ?? 0) + 1 },
          ConditionExpression: expected === undefined ? 'attribute_not_exists(id)' : 'version = :v',
          ...(expected === undefined ? {} : { ExpressionAttributeValues: { ':v': expected } }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async remove(env: string, kind: ApiObjectKind, id: string, expected?: number): Promise<boolean> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { kindKey: `${env}#${kind}`, id },
          ConditionExpression: expected === undefined ? 'attribute_exists(id)' : 'version = :v',
          ...(expected === undefined ? {} : { ExpressionAttributeValues: { ':v': expected } }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}

function toObject(item: Record<string, unknown>): ApiObject {
  return {
    id: String(item.id),
    data: (item.data ?? {}) as Record<string, unknown>,
    version: Number(item.version ?? 0),
  };
}
