import { startDynamoDbLocal } from '../local/dynamodb-local.js';
import { startSqsLocal } from '../local/sqs-local.js';

/**
 * Starts the wire-protocol stand-ins once per test run, on loopback: AWS's DynamoDB Local and the
 * fauxqs SQS emulator. Tests reach them only through the SDK's standard endpoint variables and
 * isolate themselves with unique table and queue names.
 */
export default async function setup() {
  const [dynamodb, sqs] = await Promise.all([startDynamoDbLocal(), startSqsLocal()]);
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
  });
  return async () => {
    await Promise.all([sqs.stop(), dynamodb.stop()]);
  };
}
