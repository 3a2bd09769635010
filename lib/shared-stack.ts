import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, Billing, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import {
  TABLES,
  type TableId,
  type TableNames,
  type TableSchema,
  tableNames,
} from '../functions/shared/table-schema.js';

/**
 * The tables every environment shares (agents, bindings, tenant affinity, resources, leases,
 * idempotency): on-demand, point-in-time recovery, a customer-managed KMS key with rotation,
 * deletion protection, TTL where used. Their shape comes from functions/shared/table-schema.ts,
 * the same description the local stand-in is built from.
 */
export class SharedStack extends Stack {
  readonly tables: Record<TableId, TableV2>;
  readonly names: TableNames;

  constructor(scope: Construct, id: string, props: StackProps & { name: string }) {
    super(scope, id, props);
    this.names = tableNames(props.name);
    const key = new Key(this, 'TablesKey', {
      description: `${props.name}: encryption of the LBaaS tables`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const attr = (name: string) => ({ name, type: AttributeType.STRING });
    this.tables = Object.fromEntries(
      (Object.entries(TABLES) as [TableId, TableSchema][]).map(([tableId, schema]) => {
        const table = new TableV2(this, `${tableId[0]?.toUpperCase()}${tableId.slice(1)}Table`, {
          tableName: this.names[tableId],
          partitionKey: attr(schema.partitionKey),
          ...(schema.sortKey ? { sortKey: attr(schema.sortKey) } : {}),
          billing: Billing.onDemand(),
          encryption: TableEncryptionV2.customerManagedKey(key),
          pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
          deletionProtection: true,
          removalPolicy: RemovalPolicy.RETAIN,
          ...(schema.ttlAttribute ? { timeToLiveAttribute: schema.ttlAttribute } : {}),
          globalSecondaryIndexes: (schema.indexes ?? []).map((index) => ({
            indexName: index.name,
            partitionKey: attr(index.partitionKey),
            ...(index.sortKey ? { sortKey: attr(index.sortKey) } : {}),
          })),
        });
        return [tableId, table];
      }),
    ) as Record<TableId, TableV2>;
  }
}
