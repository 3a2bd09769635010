/**
 * Cost per million requests at AWS list prices (us-east-1, November 2026 price pages as known
 * to this project; check before relying on them), from the calls the benchmarks measure.
 */
const PRICES = {
  // DynamoDB on-demand: $0.625 per million write request units, $0.125 per million read request units.
  dynamodbWritePerMillion: 0.625,
  dynamodbReadPerMillion: 0.125,
  // SQS FIFO: $0.50 per million requests (64 KB chunks).
  sqsFifoPerMillion: 0.5,
  // Lambda arm64: $0.20 per million requests, $0.0000133334 per GB-second.
  lambdaRequestsPerMillion: 0.2,
  lambdaGbSecond: 0.0000133334,
};

export function costPerMillion(perRequest: { dynamodb: number; sqs: number; bigip: number }) {
  // Assumed mix: 60 % of DynamoDB calls are writes (transactions count double), items ≤ 1 KB.
  const dynamodb =
    perRequest.dynamodb * (0.6 * 2 * PRICES.dynamodbWritePerMillion + 0.4 * PRICES.dynamodbReadPerMillion);
  const sqs = perRequest.sqs * PRICES.sqsFifoPerMillion;
  // Two invocations per request (scheduler, agent worker) in batches of ~3 messages; scheduler 256 MB × 60 ms,
  // worker 512 MB × (60 ms + 40 ms per BIG-IP call) per message.
  const lambdaInvocations = (2 / 3) * PRICES.lambdaRequestsPerMillion;
  const gbSeconds = 0.25 * 0.06 + 0.5 * (0.06 + 0.04 * perRequest.bigip);
  const lambdaDuration = gbSeconds * 1_000_000 * PRICES.lambdaGbSecond;
  const total = dynamodb + sqs + lambdaInvocations + lambdaDuration;
  return {
    total,
    dynamodb,
    sqs,
    lambda: lambdaInvocations + lambdaDuration,
    assumptions: [
      `DynamoDB on-demand $${PRICES.dynamodbWritePerMillion}/M writes, $${PRICES.dynamodbReadPerMillion}/M reads, 60 % of calls writes, transactions counted double, items ≤ 1 KB;`,
      `SQS FIFO $${PRICES.sqsFifoPerMillion}/M requests;`,
      `Lambda arm64 $${PRICES.lambdaRequestsPerMillion}/M invocations (batches of ~3) and $${PRICES.lambdaGbSecond}/GB-s: scheduler 256 MB × 60 ms, worker 512 MB × (60 ms + 40 ms per BIG-IP call);`,
      'heartbeats, reclaimer, CloudWatch, Secrets Manager, KMS, NLB, VPC link and API Gateway are fixed costs, not per request.',
    ],
  };
}
