// Lambda entry of an agent's worker: device clients and their tokens live as long as the container.
import { createAwsClients } from '../adapters/aws-clients.js';
import { wrapQueueHandler } from '../handlers/lambda-shape.js';
import { readAgentConfig } from '../shared/config.js';
import { wireAgentWorker } from '../wiring/agent-worker-wiring.js';

const { handler: raw, telemetry } = wireAgentWorker(readAgentConfig(), createAwsClients());

export const handler = wrapQueueHandler(raw, telemetry);
