// Lambda entry of the environment's reclaimer (scheduled each minute; it sweeps several times per invocation).
import { createAwsClients } from '../adapters/aws-clients.js';
import { wrapScheduledHandler } from '../handlers/lambda-shape.js';
import { readReclaimerConfig } from '../shared/config.js';
import { wireReclaimer } from '../wiring/reclaimer-wiring.js';

const { handler: raw, telemetry } = wireReclaimer(readReclaimerConfig(), createAwsClients());

export const handler = wrapScheduledHandler(raw, telemetry);
