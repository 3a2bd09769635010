import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dashboard, startDashboard } from '../../local/dashboard/dashboard-server.js';
import type { LocalStack } from '../../local/local-stack.js';
import { testStack } from '../support/local-stack-fixture.js';

/**
 * The browser: CHROMIUM_PATH, else a system Chromium (Debian's), else the Chromium that ships inside
 * the @sparticuz/chromium npm package (unpacked to /tmp on first use), so `npm ci && npm test` runs
 * this test on a machine with no browser installed. Playwright's own browser download is not
 * available here.
 */
async function browserExecutable(): Promise<{ path: string; args: string[] }> {
  const system = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (existsSync(system)) return { path: system, args: [] };
  const packaged = (await import('@sparticuz/chromium')).default;
  return { path: await packaged.executablePath(), args: packaged.args };
}

let stack: LocalStack;
let dashboard: Dashboard;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  const executable = await browserExecutable();
  stack = await testStack();
  dashboard = await startDashboard(stack);
  browser = await chromium.launch({
    executablePath: executable.path,
    args: [
      ...executable.args,
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = await browser.newPage();
});
afterAll(async () => {
  await browser?.close();
  await dashboard?.close();
  await stack?.stop();
});

const agentRow = (host: string) => page.locator(`tr[data-agent="${host}"]`);

describe('local dashboard in headless Chromium', () => {
  it('shows the agents alive, then a demo load balancer going ACTIVE, live', async () => {
    await page.goto(dashboard.url);
    await expect.poll(() => page.locator('#env').textContent()).toBe('Project');
    await expect
      .poll(() => page.locator('tr[data-agent] [data-field="state"]').allTextContents())
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

    // Its status tree with health: six objects, each with an operating status pill.
    await expect
      .poll(() => page.locator('[data-lb] [data-field="health"]').count(), { timeout: 20_000 })
      .toBe(6);
    const root = page.locator('[data-lb] li[data-node^="loadbalancer#"] > [data-field="health"]');
    expect(await root.textContent()).toBe('ONLINE');
    expect(await root.getAttribute('class')).toContain('h-ONLINE');
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

  it('stops an agent from the page and shows it dead, then starts it again', async () => {
    const host = 'agent-2';
    await agentRow(host).locator('button[data-stop]').click();
    await expect
      .poll(() => agentRow(host).locator('[data-field="state"]').textContent(), { timeout: 15_000 })
      .toBe('dead (stopped)');
    expect(stack.agent(host).running).toBe(false);
    await agentRow(host).locator('button[data-start]').click();
    await expect
      .poll(() => agentRow(host).locator('[data-field="state"]').textContent(), { timeout: 15_000 })
      .toBe('alive');
    expect(stack.agent(host).running).toBe(true);
  });

  it('fails the device pair over from the page', async () => {
    await page.click('#failover');
    await expect
      .poll(() => page.locator('#devices tbody tr').first().textContent())
      .toMatch(/bigip-a\s*standby/);
  });
});
