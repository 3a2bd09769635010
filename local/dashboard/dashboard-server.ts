import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { LocalStack } from '../local-stack.js';
import { DashboardHistory } from './dashboard-history.js';
import { DASHBOARD_HTML } from './dashboard-page.js';
import { dashboardState, demoRequests } from './dashboard-state.js';

/** The charting library, served from the installed package: no build step. */
const require = createRequire(import.meta.url);
const VENDOR: Record<string, { file: string; type: string }> = {
  '/vendor/uplot.js': { file: require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript' },
  '/vendor/uplot.css': { file: require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css' },
};

export interface Dashboard {
  url: string;
  close(): Promise<void>;
}

/**
 * The live local dashboard, on loopback only: agents (alive or dead, heartbeat age, load
 * balancers), queue depths, decisions by kind, recent requests with their statuses; buttons to
 * stop and start an agent (heartbeat and worker), fail the device pair over, and create a demo
 * load balancer.
 */
export async function startDashboard(stack: LocalStack, port = 0): Promise<Dashboard> {
  let demo = 0;
  const history = new DashboardHistory(stack).start();
  const server = http.createServer(async (req, res) => {
    const send = (status: number, body: unknown, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(type === 'application/json' ? JSON.stringify(body) : String(body));
    };
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method === 'GET' && url.pathname === '/')
        return send(200, DASHBOARD_HTML, 'text/html; charset=utf-8');
      if (req.method === 'GET' && url.pathname === '/api/state')
        return send(200, await dashboardState(stack));
      if (req.method === 'GET' && url.pathname === '/api/history') return send(200, history.view());
      const vendor = VENDOR[url.pathname];
      if (req.method === 'GET' && vendor) return send(200, readFileSync(vendor.file, 'utf8'), vendor.type);
      const agent = /^\/api\/agents\/([^/]+)\/(stop|start)$/.exec(url.pathname);
      if (req.method === 'POST' && agent) {
        const target = stack.agents.find((a) => a.host === decodeURIComponent(agent[1] as string));
        if (!target) return send(404, { message: 'no such agent' });
        await (agent[2] === 'stop' ? target.stop() : target.start());
        return send(200, { host: target.host, running: target.running });
      }
      if (req.method === 'POST' && url.pathname === '/api/failover') {
        if (!stack.pair) return send(409, { message: 'a single device cannot fail over' });
        stack.pair.failover();
        return send(200, { active: stack.pair.active.hostname });
      }
      if (req.method === 'POST' && url.pathname === '/api/reconcile') {
        const report = await stack.reconcile();
        return send(200, { outcome: report.outcome });
      }
      if (req.method === 'POST' && url.pathname === '/api/demo') {
        demo = (demo % 250) + 1;
        const sent = await stack.client.submitMany(demoRequests(demo));
        return send(200, { loadbalancerId: sent[0]?.loadbalancerId, requests: sent.length });
      }
      return send(404, { message: 'not found' });
    } catch (error) {
      return send(500, { message: (error as Error).message });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  }).catch(async (error) => {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw error;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        history.stop();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
