import { type DynamoDBDocumentClient, paginateQuery, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';

/** Every item a query matches, page by page through the SDK's paginator. */
export async function queryAll(
  db: DynamoDBDocumentClient,
  input: QueryCommandInput,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for await (const page of paginateQuery({ client: db }, input)) items.push(...(page.Items ?? []));
  return items;
}

/** How many items a query matches (Select COUNT, every page). */
export async function countAll(db: DynamoDBDocumentClient, input: QueryCommandInput): Promise<number> {
  let count = 0;
  for await (const page of paginateQuery({ client: db }, { ...input, Select: 'COUNT' }))
    count += page.Count ?? 0;
  return count;
}
