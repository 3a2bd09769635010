import { type AwsClients, createDocumentClient } from '../adapters/aws-clients.js';
import { DynamoDbAgentRegistry } from '../adapters/dynamodb-agent-registry.js';
import { DynamoDbBindingStore } from '../adapters/dynamodb-binding-store.js';
import { DynamoDbGroupStore } from '../adapters/dynamodb-group-store.js';
import { DynamoDbHealthStore } from '../adapters/dynamodb-health-store.js';
import { DynamoDbRefusalLog } from '../adapters/dynamodb-refusal-log.js';
import { DynamoDbResourceStore } from '../adapters/dynamodb-resource-store.js';
import { SqsQueueInbox } from '../adapters/sqs-queue-inbox.js';
import { AgentOperations } from '../services/agent-operations.js';
import type { TableNames } from '../shared/table-schema.js';

/** Agent operations over the agents, bindings and affinity tables (the heartbeat's rebind policy uses them too). */
export function wireAgentOperations(
  settings: {
    tables: Pick<TableNames, 'agents' | 'bindings' | 'affinity'> & Partial<Pick<TableNames, 'groups'>>;
    agentDownTimeMs: number;
  },
  clients: Pick<AwsClients, 'dynamodb'>,
  overrides: { clock?: () => number; inbox?: SqsQueueInbox } = {},
) {
  const db = createDocumentClient(clients.dynamodb);
  const registry = new DynamoDbAgentRegistry(db, settings.tables.agents);
  const bindings = new DynamoDbBindingStore(db, settings.tables);
  const operations = new AgentOperations({
    registry,
    bindings,
    ...(overrides.inbox ? { inbox: overrides.inbox } : {}),
    agentDownTimeMs: settings.agentDownTimeMs,
    clock: overrides.clock ?? Date.now,
  });
  return { operations, registry, bindings, db };
}

/** What operators use (the CLI): agent operations (with the queues) and the statuses of load balancers. */
export function wireOperator(
  settings: { tables: TableNames; agentDownTimeMs: number },
  clients: AwsClients,
  overrides: { clock?: () => number } = {},
) {
  const graph = wireAgentOperations(settings, clients, {
    ...overrides,
    inbox: new SqsQueueInbox(clients.sqs),
  });
  return {
    ...graph,
    resources: new DynamoDbResourceStore(graph.db, settings.tables),
    health: new DynamoDbHealthStore(graph.db, settings.tables),
    groups: new DynamoDbGroupStore(graph.db, settings.tables.groups),
    refusals: new DynamoDbRefusalLog(graph.db, settings.tables.idempotency),
  };
}
