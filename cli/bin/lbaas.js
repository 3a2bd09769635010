#!/usr/bin/env node
// The `lbaas` command: runs the TypeScript CLI through tsx (a dependency), so there is no build step.
import { register } from 'tsx/esm/api';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const { main } = await import('../lbaas.ts');
process.exitCode = await main(process.argv.slice(2));
