// Lambda entry of the environment's status poller (scheduled each minute; it polls once or twice per invocation).
import { createAwsClients } from '../adapters/aws-clients.js';
import { wrapScheduledHandler } from '../handlers/lambda-shape.js';
import { readHealthPollerConfig } from '../shared/config.js';
import { wireHealthPoller } from '../wiring/health-poller-wiring.js';

const { handler: raw, telemetry } = wireHealthPoller(readHealthPollerConfig(), createAwsClients());

export const handler = wrapScheduledHandler(raw, telemetry);
