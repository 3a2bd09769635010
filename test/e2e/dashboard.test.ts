import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
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

interface Box {
  left: number;
  right: number;
  top: number;
}
interface Layout {
  grid: Box;
  charts: Box[];
  canvases: Box[];
  chartsArea: Box;
  timeline: Box;
  decisions: Box;
  devices: Box;
  lbs: Box;
  recent: Box;
  recentTable: Box;
  /** Cells of the recent requests (but the reason) whose text takes more than one line. */
  wrapped: number;
  rows: number;
}

/** Measured in the page, in one go (it redraws every second). */
const LAYOUT_PROBE = `(() => {
  const box = (el) => { const r = el.getBoundingClientRect(); return { left: r.left, right: r.right, top: r.top }; };
  const section = (id) => box(document.getElementById(id).closest('section'));
  const recent = document.getElementById('recent');
  const wrapped = [...recent.querySelectorAll('tbody td:not(.reason)')].filter((td) => {
    const range = document.createRange();
    range.selectNodeContents(td);
    return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1;
  }).length;
  return {
    grid: box(document.querySelector('.grid')),
    charts: [...document.querySelectorAll('.chart')].map(box),
    canvases: [...document.querySelectorAll('.chart canvas')].map(box),
    chartsArea: box(document.querySelector('.charts')),
    timeline: section('timeline'),
    decisions: section('decisions'),
    devices: section('devices'),
    lbs: section('loadbalancers'),
    recent: section('recent'),
    recentTable: box(recent),
    wrapped,
    rows: recent.querySelectorAll('tbody tr').length,
  };
})()`;

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
      .poll(() => page.locator('#recent tbody [data-field="status"]').allTextContents(), { timeout: 20_000 })
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
    // Its hover says a reading said so (OFFLINE, by contrast, says "disabled, or not measured yet").
    expect(await root.getAttribute('title')).toMatch(/^measured: /);
    await page.fill('#lb-filter', 'no-such-thing');
    await expect.poll(() => page.locator('[data-lb]').count()).toBe(0);
    await page.fill('#lb-filter', 'ACTIVE');
    await expect.poll(() => page.locator('[data-lb]').count()).toBe(1);

    // The reconciler, run from the page, finds the device in line with the desired state.
    await page.click('#reconcile-now');
    await expect
      .poll(() => page.locator('#reconcile').textContent(), { timeout: 15_000 })
      .toMatch(/1 load balancer\(s\): 1 in sync, 0 repaired, 0 restored, 0 failed; 0 orphan\(s\) found/);
    // Its waits add up past the default 30 s on a loaded machine: the budget covers them, no assertion is on time.
  }, 150_000);

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
      moves: { failovers: number[]; reclaimed: number[] };
    };
    expect((history.decisions.random ?? []).some((v) => v > 0)).toBe(true);
    // Legends name the series, without a row of dashes for the value under a cursor that is not there.
    const legends = await page.locator('.u-legend').allTextContents();
    expect(legends).toHaveLength(5);
    for (const legend of legends) {
      expect(legend).not.toContain('--');
      expect(legend).not.toContain('Time');
    }
    expect(legends[4]).toMatch(/^\s*failovers\s*reclaimed\s*$/);
    // Nothing moved yet: the failovers chart spans 0 to about 1, not 0 to 100.
    expect([...history.moves.failovers, ...history.moves.reclaimed].every((v) => v === 0)).toBe(true);
    const y = (await page.evaluate(
      "(({ min, max }) => ({ min, max }))(window.consoleCharts['chart-moves'].scales.y)",
    )) as { min: number; max: number };
    expect(y?.min).toBe(0);
    expect(y?.max).toBeGreaterThanOrEqual(1);
    expect(y?.max).toBeLessThan(2);
  });

  it('names each member by address:port and name, and finds load balancers by any object of their tree', async () => {
    const lb = stack.recent.find((r) => r.resource === 'loadbalancer');
    if (!lb) throw new Error('no demo load balancer');
    const demo = await stack.client.records(lb.loadbalancerId);
    const pool = demo.find((r) => r.type === 'pool');
    const root = demo.find((r) => r.type === 'loadbalancer');
    if (!pool || !root) throw new Error('no demo pool');
    // A named backend its monitor finds down: the device's monitor state, set on both units.
    const sent = await stack.client.submit({
      operation: 'create',
      resource: 'member',
      tenantId: lb.tenantId,
      loadbalancerId: lb.loadbalancerId,
      object: {
        id: randomUUID(),
        pool_id: pool.id,
        address: '10.250.0.9',
        protocol_port: 8080,
        name: 'backend-x',
      },
    });
    await stack.client.wait(lb.loadbalancerId, { requests: [sent] });
    for (const unit of stack.devices) {
      for (const m of unit.store.all('ltm/pool/members'))
        if (m.name.endsWith('10.250.0.9:8080'))
          unit.stats.setMember(`${String(m.pool)}|${m.fullPath}`, 'down');
    }
    await stack.pollHealth();
    const member = page.locator(`[data-node="member#${sent.objectId}"]`);
    await expect
      .poll(() => member.locator('> [data-field="health"]').textContent(), { timeout: 20_000 })
      .toBe('ERROR');
    expect(await member.locator('> [data-field="address"]').textContent()).toBe('10.250.0.9:8080');
    expect(await member.textContent()).toMatch(
      /^member [0-9a-f]{8} backend-x 10\.250\.0\.9:8080 ACTIVE\s*ERROR$/,
    );
    const addresses = await page.locator('[data-node^="member#"] > [data-field="address"]').allTextContents();
    expect(addresses.sort()).toEqual(['10.200.1.1:8080', '10.200.1.2:8080', '10.250.0.9:8080']);

    // Search: a member's name, its address, and a child's status. The demo's members are off the
    // loopback, so the sandbox's monitor finds them down and the load balancer is ERROR itself
    // (#27.7); a status only a child can have shows that the search reaches into the tree: a member
    // of weight 0 is DRAINING, which a load balancer never is.
    const drain = await stack.client.submit({
      operation: 'update',
      resource: 'member',
      tenantId: lb.tenantId,
      loadbalancerId: lb.loadbalancerId,
      object: { id: sent.objectId, weight: 0 },
    });
    await stack.client.wait(lb.loadbalancerId, { requests: [drain] });
    await stack.pollHealth();
    await expect
      .poll(() => member.locator('> [data-field="health"]').textContent(), { timeout: 20_000 })
      .toBe('DRAINING');
    const rootHealth = page.locator('[data-lb] li[data-node^="loadbalancer#"] > [data-field="health"]');
    for (const q of ['backend-x', '10.250.0.9', 'ERROR', 'error', 'DRAINING', 'draining']) {
      await page.fill('#lb-filter', q);
      await expect.poll(() => page.locator('[data-lb]').count(), { message: q }).toBe(1);
      expect(await page.locator('[data-lb]').getAttribute('data-lb')).toBe(lb.loadbalancerId);
    }
    expect(await rootHealth.textContent()).not.toBe('DRAINING');
    await page.fill('#lb-filter', 'no-such-backend');
    await expect.poll(() => page.locator('[data-lb]').count()).toBe(0);
    await page.fill('#lb-filter', '');

    // A refused request shows in the recent requests with its reason.
    const twin = randomUUID();
    const refused = await stack.client.submit({
      operation: 'create',
      resource: 'loadbalancer',
      tenantId: lb.tenantId,
      loadbalancerId: twin,
      object: { id: twin, vip_address: (root.desired as { vip_address: string }).vip_address },
    });
    const row = page.locator(`#recent tr[data-request="${refused.requestId}"]`);
    await expect
      .poll(() => row.locator('[data-field="status"]').textContent(), { timeout: 20_000 })
      .toBe('REFUSED');
    expect(await row.locator('[data-field="reason"]').textContent()).toMatch(
      new RegExp(
        `^load balancer ${refused.loadbalancerId} cannot be created: VIP \\S+ is already used by loadbalancer ${lb.loadbalancerId}`,
      ),
    );
  }, 150_000);

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
    // Until agentDownTime has passed since its last heartbeat it still counts as alive: say when it will not.
    const stopping = agentRow(host).locator('[data-field="state"]');
    await expect.poll(() => stopping.textContent()).not.toBe('alive');
    const soon = await stopping.textContent();
    expect(soon).toMatch(/^stopped, declared dead in \d+ s$/);
    expect(Number(/(\d+) s$/.exec(soon as string)?.[1])).toBeLessThanOrEqual(stack.agentDownTimeMs / 1000);
    expect(await stopping.getAttribute('class')).toBe('warn');
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
  }, 120_000);

  it('runs without a script error in the page', () => {
    expect(pageErrors).toEqual([]);
  });

  it('is laid out for 1280 and 1920 px: no empty column, no lone chart, recent requests unwrapped (screenshots)', async () => {
    const dir = process.env.LBAAS_SCREENSHOT_DIR ?? join(tmpdir(), 'bigip-lbaas-console-test');
    mkdirSync(dir, { recursive: true });
    const near = (a: number, b: number) => Math.abs(a - b) <= 2;
    for (const width of [1280, 1920]) {
      await page.setViewportSize({ width, height: 900 });
      await expect.poll(() => page.evaluate('document.documentElement.scrollWidth')).toBe(width);
      const boxes = (await page.evaluate(LAYOUT_PROBE)) as Layout;
      await page.screenshot({ path: join(dir, `console-${width}.png`), fullPage: true });
      const [c1, c2, c3, c4, c5] = boxes.charts as [Box, Box, Box, Box, Box];
      // Each chart's canvas fills its cell (they are sized to it, also after the resize).
      for (const [i, canvas] of boxes.canvases.entries())
        expect((boxes.charts[i] as Box).right - canvas.right).toBeLessThan(40);
      if (width === 1280) {
        // Three charts, then two wider ones that fill the same width.
        expect([c1.top, c2.top, c3.top].every((t) => t === c1.top)).toBe(true);
        expect(c4.top).toBeGreaterThan(c1.top);
        expect(c5.top).toBe(c4.top);
        expect(near(c4.left, c1.left) && near(c5.right, c3.right)).toBe(true);
        // Recent requests and the load balancers each take the whole width.
        for (const wide of [boxes.lbs, boxes.recent])
          expect(near(wide.left, boxes.grid.left) && near(wide.right, boxes.grid.right)).toBe(true);
      } else {
        // All five charts in one row, across the whole section.
        expect(boxes.charts.every((c) => c.top === c1.top)).toBe(true);
        expect(near(c1.left, boxes.chartsArea.left) && near(c5.right, boxes.chartsArea.right)).toBe(true);
        // The load balancers and the recent requests side by side, to the right edge.
        expect(boxes.recent.top).toBe(boxes.lbs.top);
        expect(near(boxes.lbs.left, boxes.grid.left) && near(boxes.recent.right, boxes.grid.right)).toBe(
          true,
        );
      }
      // Timeline, decisions and devices share one row to the right edge: no empty column.
      expect([boxes.decisions.top, boxes.devices.top]).toEqual([boxes.timeline.top, boxes.timeline.top]);
      expect(near(boxes.timeline.left, boxes.grid.left) && near(boxes.devices.right, boxes.grid.right)).toBe(
        true,
      );
      // The recent requests' table stays inside its section, each cell but the reason on one line.
      expect(boxes.rows).toBeGreaterThan(5);
      expect(boxes.wrapped).toBe(0);
      expect(boxes.recentTable.right).toBeLessThanOrEqual(boxes.recent.right - 10);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('fails the device pair over from the page', async () => {
    await page.click('#failover');
    await expect
      .poll(() => page.locator('#devices tbody tr').first().textContent())
      .toMatch(/bigip-a\s*standby/);
  });

  it('npm run screenshot writes where it is told, by default outside the working tree', async () => {
    const root = join(import.meta.dirname, '..', '..');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', join(root, 'local', 'dashboard', 'screenshot.ts'), '--help'],
      { cwd: root },
    );
    const where = /PATH defaults to (\S+)/.exec(stdout)?.[1] as string;
    expect(where).toBe(join(tmpdir(), 'bigip-lbaas-console-1280.png'));
    expect(relative(root, where).startsWith('..')).toBe(true);
  });
});
