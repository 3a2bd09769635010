/**
 * `npm run screenshot -- [PATH] [--width 1280]`: the console with something to show. Starts the
 * local stack (liveness 25× faster), creates two demo load balancers, has one refused, stops the
 * agent hosting one and sends it a request so the failover shows on the timeline, then saves the
 * page. PATH defaults to a file in the system's temporary directory, never the working tree: the
 * README's picture (docs/console.png) changes only when someone names it on purpose.
 */
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { launchChromium } from './chromium.js';
import { startDashboard } from './dashboard-server.js';
import { demoRequests } from './dashboard-state.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { width: { type: 'string', default: '1280' }, help: { type: 'boolean', default: false } },
});
const width = Number(values.width);
const out = resolve(positionals[0] ?? join(tmpdir(), `bigip-lbaas-console-${width}.png`));
if (values.help || positionals.length > 1) {
  console.log(`usage: npm run screenshot -- [PATH] [--width 1280]\n  PATH defaults to ${out}`);
  process.exit(values.help ? 0 : 2);
}
if (!Number.isInteger(width) || width < 800 || width > 3840) {
  console.error('--width must be a whole number of pixels from 800 to 3840');
  process.exit(2);
}

process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const { startLocalStack } = await import('../local-stack.js');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stack = await startLocalStack({
  timeScale: 25,
  stateFile: false,
  namePrefix: `shot${Date.now() % 100000}`,
});
const dashboard = await startDashboard(stack);
try {
  for (const n of [1, 2]) {
    const sent = await stack.client.submitMany(demoRequests(n));
    await stack.client.wait(String(sent[0]?.loadbalancerId), { requests: sent, timeoutMs: 60_000 });
  }
  // A refusal, as an operator meets one: a second load balancer on a VIP already used.
  const taken = demoRequests(1).slice(0, 1);
  const refused = await stack.client.submitMany(taken);
  await stack.client.wait(String(refused[0]?.loadbalancerId), { requests: refused, timeoutMs: 60_000 });
  await stack.reconcile();
  await stack.pollHealth();
  await sleep(6_000);
  const lb = stack.recent.find((r) => r.resource === 'loadbalancer' && r.decision !== 'refused');
  if (!lb) throw new Error('no demo load balancer');
  await stack.agent(lb.host).stop();
  await sleep(stack.agentDownTimeMs + 2 * stack.heartbeatIntervalMs);
  await stack.client.submit({
    operation: 'update',
    resource: 'loadbalancer',
    tenantId: lb.tenantId,
    loadbalancerId: lb.loadbalancerId,
    object: { id: lb.loadbalancerId, name: 'demo-during-failover' },
  });
  await sleep(6_000);
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  await page.goto(dashboard.url);
  await sleep(4_000);
  await page.screenshot({ path: out, fullPage: true });
  await browser.close();
  console.log(`wrote ${out}`);
} finally {
  await dashboard.close();
  await stack.stop();
}
process.exit(0);
