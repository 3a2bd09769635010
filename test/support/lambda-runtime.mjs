// Runs one Lambda bundle in this process the way Lambda's Node.js runtime does: it imports the
// handler module named by _HANDLER from LAMBDA_TASK_ROOT once (the cold start), then calls the
// exported handler with (event, context) for each invocation the parent sends over IPC. Plain
// JavaScript, so any Node binary (the machine's, or Lambda's major version) can run it.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const describe = (error) => ({
  name: error?.name ?? 'Error',
  message: error?.message ?? String(error),
  stack: error?.stack,
});
const send = (message) => new Promise((resolve) => process.send(message, resolve));

process.on('uncaughtException', async (error) => {
  await send({ type: 'crashed', error: describe(error) });
  process.exit(129);
});
process.on('unhandledRejection', async (error) => {
  await send({ type: 'crashed', error: describe(error) });
  process.exit(128);
});

// Which variables the function reads (its configuration reader, Powertools, the SDK): the parent
// checks that every variable the template sets is one the code looks at.
const read = new Set();
const environment = process.env;
process.env = new Proxy(environment, {
  get(target, name) {
    if (typeof name === 'string') read.add(name);
    return Reflect.get(target, name);
  },
  has(target, name) {
    if (typeof name === 'string') read.add(name);
    return Reflect.has(target, name);
  },
});

const root = process.env.LAMBDA_TASK_ROOT;
const [moduleName, exportName] = String(process.env._HANDLER).split('.');
let handler;
const started = performance.now();
try {
  // The runtime's order of extensions for a handler module.
  const file = ['.js', '.mjs', '.cjs'].map((ext) => join(root, `${moduleName}${ext}`)).find(existsSync);
  if (!file)
    throw Object.assign(new Error(`Cannot find module '${moduleName}'`), {
      name: 'Runtime.ImportModuleError',
    });
  const module = await import(pathToFileURL(file).href);
  handler = module[exportName] ?? module.default?.[exportName];
  if (typeof handler !== 'function') {
    throw Object.assign(new Error(`${moduleName}.${exportName} is undefined or not exported`), {
      name: 'Runtime.HandlerNotFound',
    });
  }
} catch (error) {
  await send({ type: 'load-failed', error: describe(error), ms: performance.now() - started });
  process.exit(1);
}
await send({ type: 'loaded', ms: performance.now() - started, read: [...read] });

process.on('message', async (message) => {
  if (message?.type !== 'invoke') return;
  const deadline = Date.now() + message.timeoutMs;
  const name = process.env.AWS_LAMBDA_FUNCTION_NAME;
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: message.functionArn,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: message.requestId ?? randomUUID(),
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  const begun = performance.now();
  try {
    const value = await handler(message.event, context);
    await send({
      type: 'result',
      id: message.id,
      ok: true,
      value: value ?? null,
      ms: performance.now() - begun,
      read: [...read],
    });
  } catch (error) {
    await send({
      type: 'result',
      id: message.id,
      ok: false,
      error: describe(error),
      ms: performance.now() - begun,
      read: [...read],
    });
  }
});
