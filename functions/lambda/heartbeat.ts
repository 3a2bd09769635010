// Lambda entry of an agent's heartbeat (scheduled each minute; it beats several times per invocation).
import { createAwsClients } from '../adapters/aws-clients.js';
import { wrapScheduledHandler } from '../handlers/lambda-shape.js';
import { readHeartbeatConfig } from '../shared/config.js';
import { wireHeartbeat } from '../wiring/heartbeat-wiring.js';

const { handler: raw, telemetry } = wireHeartbeat(readHeartbeatConfig(), createAwsClients());

export const handler = wrapScheduledHandler(raw, telemetry);
