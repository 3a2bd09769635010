// Lambda entry of the scheduler ("driver"): configuration validated and the graph wired once, at cold start.
import { createAwsClients } from '../adapters/aws-clients.js';
import { wrapQueueHandler } from '../handlers/lambda-shape.js';
import { readSchedulerConfig } from '../shared/config.js';
import { wireScheduler } from '../wiring/scheduler-wiring.js';

const { handler: raw, telemetry } = wireScheduler(readSchedulerConfig(), createAwsClients());

export const handler = wrapQueueHandler(raw, telemetry);
