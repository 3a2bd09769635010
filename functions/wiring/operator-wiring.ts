import { type AwsClients, createDocumentClient } from '../adapters/aws-clients.js';
import { DynamoDbAgentRegistry } from '../adapters/dynamodb-agent-registry.js';
import { DynamoDbBindingStore } from '../adapters/dynamodb-binding-store.js';
import { DynamoDbResourceStore } from '../adapters/dynamodb-resource-store.js';
import { AgentOperations } from '../services/agent-operations.js';
import type { TableNames } from '../shared/table-schema.js';

/** What operators use (the CLI, heartbeat rebinds): agent operations over the shared tables. */
export function wireOperator(
  settings: { tables: TableNames; agentDownTimeMs: number },
  clients: Pick<AwsClients, 'dynamodb'>,
  overrides: { clock?: () => number } = {},
) {
  const db = createDocumentClient(clients.dynamodb);
  const registry = new DynamoDbAgentRegistry(db, settings.tables.agents);
  const bindings = new DynamoDbBindingStore(db, settings.tables);
  const resources = new DynamoDbResourceStore(db, settings.tables.resources);
  const operations = new AgentOperations({
    registry,
    bindings,
    agentDownTimeMs: settings.agentDownTimeMs,
    clock: overrides.clock ?? Date.now,
  });
  return { operations, registry, bindings, resources, db };
}
