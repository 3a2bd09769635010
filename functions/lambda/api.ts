// Lambda entry of the Octavia v2 API (API Gateway REST proxy): configuration validated and the graph wired once, at cold start.
import { createAwsClients } from '../adapters/aws-clients.js';
import { wrapApiHandler } from '../handlers/api-gateway.js';
import { readApiConfig } from '../shared/config.js';
import { wireApi } from '../wiring/api-wiring.js';

const { handler: raw, telemetry } = wireApi(readApiConfig(), createAwsClients());

export const handler = wrapApiHandler(raw, telemetry);
