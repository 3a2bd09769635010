/**
 * `npm run screenshot`: the console as the README shows it. Starts the local stack (liveness 25×
 * faster), creates two demo load balancers, stops the agent hosting one and sends it a request so
 * the failover shows on the timeline, then saves a 1280 px wide page to docs/console.png.
 */
import { join } from 'node:path';
import { launchChromium } from './chromium.js';
import { startDashboard } from './dashboard-server.js';
import { demoRequests } from './dashboard-state.js';

process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const { startLocalStack } = await import('../local-stack.js');

const out = join(import.meta.dirname, '..', '..', 'docs', 'console.png');
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
  await stack.reconcile();
  await stack.pollHealth();
  await sleep(6_000);
  const lb = stack.recent.find((r) => r.resource === 'loadbalancer');
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
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
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
