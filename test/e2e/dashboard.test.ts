import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../local/dashboard/chromium.js';
import { type Dashboard, startDashboard } from '../../local/dashboard/dashboard-server.js';
import type { LocalStack } from '../../local/local-stack.js';
import { testStack } from '../support/local-stack-fixture.js';

let stack: LocalStack;
let dashboard: Dashboard;
let browser: Browser;
let page: Page;
/** Script errors in the page (a library that fails to load in one browser build, say). */
const pageErrors: string[] = [];

beforeAll(async () => {
  stack = await testStack();
  dashboard = await startDashboard(stack);
  browser = await launchChromium();
  // The narrowest width the console is built for.
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
});
afterAll(async () => {
  await browser?.close();
  await dashboard?.close();
  await stack?.stop();
});

const agentRow = (host: string) => page.locator(`[data-agent="${host}"]`);

describe('local dashboard in headless Chromium', () => {
  it('shows the agents alive, then a demo load balancer going ACTIVE, live', async () => {
    await page.goto(dashboard.url);
    await expect.poll(() => page.locator('#env').textContent()).toBe('Project');
    await expect
      .poll(() => page.locator('[data-agent] [data-field="state"]').allTextContents())
      .toEqual(['alive', 'alive', 'alive']);

    await page.click('#demo');
    await expect.poll(() => page.locator('#recent tbody tr').count(), { timeout: 20_000 }).toBe(6);
    await expect
      .poll(() => page.locator('#recent tbody td:last-child').allTextContents(), { timeout: 20_000 })
      .toEqual(Array(6).fill('ACTIVE'));
    const random = await page.locator('[data-decision="random"] b').textContent();
    expect(Number(random)).toBe(1);
    const devices = await page.locator('#devices tbody tr').allTextContents();
    expect(devices.join(' ')).toMatch(/bigip-a\s*active/);
    // The environment's one device group, its agents alive and its (counted) load balancer.
    await expect
      .poll(() => page.locator('[data-group="default"]').textContent(), { timeout: 20_000 })
      .toMatch(/^defaultenabled0\.003\/3loadBalancers 1, listeners \d, members \d \(no limits\)$/);

    // Its status tree with health: six objects, each with an operating status pill.
    await expect
      .poll(() => page.locator('[data-lb] [data-field="health"]').count(), { timeout: 20_000 })
      .toBe(6);
    const root = page.locator('[data-lb] li[data-node^="loadbalancer#"] > [data-field="health"]');
    // The demo's members are off the loopback: the sandbox's HTTP monitor cannot reach them, so once
    // its timeout has passed the status poller reports them, and everything above them, ERROR: what
    // was measured, as a real monitor would say (#27.7).
    await expect.poll(() => root.textContent(), { timeout: 45_000 }).toBe('ERROR');
    expect(await root.getAttribute('class')).toContain('h-ERROR');
    await page.fill('#lb-filter', 'no-such-thing');
    await expect.poll(() => page.locator('[data-lb]').count()).toBe(0);
    await page.fill('#lb-filter', 'ACTIVE');
    await expect.poll(() => page.locator('[data-lb]').count()).toBe(1);

    // The reconciler, run from the page, finds the device in line with the desired state.
    await page.click('#reconcile-now');
    await expect
      .poll(() => page.locator('#reconcile').textContent(), { timeout: 15_000 })
      .toMatch(/1 load balancer\(s\): 1 in sync, 0 repaired, 0 restored, 0 failed; 0 orphan\(s\) found/);
  });

  it('draws the last minutes with a charting library: every chart has data', async () => {
    for (const id of [
      'chart-decisions',
      'chart-latency',
      'chart-queues',
      'chart-heartbeats',
      'chart-moves',
    ]) {
      await expect
        .poll(async () => Number(await page.locator(`#${id}`).getAttribute('data-points')), {
          timeout: 15_000,
        })
        .toBeGreaterThan(1);
      expect(await page.locator(`#${id} canvas`).count()).toBe(1);
    }
    const history = (await (await fetch(`${dashboard.url}/api/history`)).json()) as {
      decisions: Record<string, number[]>;
    };
    expect((history.decisions.random ?? []).some((v) => v > 0)).toBe(true);
  });

  it('keeps every agent control on screen at 1280 px, and shows a stopped agent failing over on the timeline', async () => {
    // Measured in one go: the page redraws its cards every second.
    const rights = await page.$$eval('[data-agent] button', (buttons) =>
      buttons.map((b) => b.getBoundingClientRect().right),
    );
    expect(rights).toHaveLength(3);
    expect(Math.max(...rights)).toBeLessThanOrEqual(1280);
    const lb = stack.recent.find((r) => r.resource === 'loadbalancer');
    if (!lb) throw new Error('no demo load balancer');
    const host = lb.host;
    await agentRow(host).locator('button[data-stop]').click();
    await expect
      .poll(() => agentRow(host).locator('[data-field="state"]').textContent(), { timeout: 15_000 })
      .toBe('dead (stopped)');
    expect(stack.agent(host).running).toBe(false);
    // One enabled agent down is redundancy lost: the console says so (the AgentDown alarm in AWS).
    await expect.poll(() => page.locator('#redundancy').textContent()).toContain(`Redundancy lost: ${host}`);
    // A request for its load balancer now goes to a failover agent.
    await stack.client.submit({
      operation: 'update',
      resource: 'loadbalancer',
      tenantId: lb.tenantId,
      loadbalancerId: lb.loadbalancerId,
      object: { id: lb.loadbalancerId, name: 'demo-renamed' },
    });
    await expect
      .poll(() => page.locator('#timeline [data-event]').allTextContents(), { timeout: 20_000 })
      .toEqual(
        expect.arrayContaining([
          expect.stringContaining(`${host} down`),
          expect.stringContaining('moved to a failover agent'),
        ]),
      );
    await expect
      .poll(() => page.locator(`[data-lb="${lb.loadbalancerId}"] [data-field="served-by"]`).textContent(), {
        timeout: 15_000,
      })
      .toMatch(/served by .* \(failover\)/);

    await agentRow(host).locator('button[data-start]').click();
    await expect
      .poll(() => agentRow(host).locator('[data-field="state"]').textContent(), { timeout: 15_000 })
      .toBe('alive');
    await expect.poll(() => page.locator('#redundancy').isVisible()).toBe(false);
    await expect
      .poll(() => page.locator('#timeline [data-event="agent-up"]').count(), { timeout: 15_000 })
      .toBeGreaterThan(0);
  });

  it('runs without a script error in the page', () => {
    expect(pageErrors).toEqual([]);
  });

  it('fails the device pair over from the page', async () => {
    await page.click('#failover');
    await expect
      .poll(() => page.locator('#devices tbody tr').first().textContent())
      .toMatch(/bigip-a\s*standby/);
  });
});
