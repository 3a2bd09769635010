// Lambda entry of the Octavia API's token authorizer (Keystone validation): wired once, at cold start.
import { wrapAuthorizerHandler } from '../handlers/api-gateway.js';
import { readAuthorizerConfig } from '../shared/config.js';
import { wireApiAuthorizer } from '../wiring/api-wiring.js';

const { handler: raw, telemetry } = wireApiAuthorizer(readAuthorizerConfig());

export const handler = wrapAuthorizerHandler(raw, telemetry);
