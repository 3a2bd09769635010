// Lambda entry of the environment's reconciler (scheduled; `lbaas sync` invokes it directly).
import { createAwsClients } from '../adapters/aws-clients.js';
import { wrapScheduledHandler } from '../handlers/lambda-shape.js';
import { readReconcilerConfig } from '../shared/config.js';
import { wireReconciler } from '../wiring/reconciler-wiring.js';

const { handler: raw, telemetry } = wireReconciler(readReconcilerConfig(), createAwsClients());

export const handler = wrapScheduledHandler(raw, telemetry);
