import { describe, expect, it, vi } from 'vitest';
import { StaticCredentials } from '../../functions/adapters/device-credentials.js';
import { DynamoDbAgentRegistry } from '../../functions/adapters/dynamodb-agent-registry.js';
import { HostNameConflictError } from '../../functions/domain/errors.js';
import { createHeartbeatHandler } from '../../functions/handlers/heartbeat-handler.js';
import type { HeartbeatConfig } from '../../functions/shared/config.js';
import { wireHeartbeat } from '../../functions/wiring/heartbeat-wiring.js';
import { BigIpPair } from '../../local/bigip-simulator/bigip-pair.js';
import { BigIpSimulator } from '../../local/bigip-simulator/bigip-simulator.js';
import { lbIds, requests } from '../support/factories.js';
import { freshTables, localClients } from '../support/local-aws.js';
import { captureMetrics, schedulerHarness } from '../support/scheduler-harness.js';

async function heartbeatFixture(
  options: {
    pair?: boolean;
    agentId?: string;
    host?: string;
    rebindAfterMs?: number;
    unitBudgetMs?: number;
    tables?: Awaited<ReturnType<typeof freshTables>>;
    clock?: () => number;
  } = {},
) {
  const clients = localClients();
  const tables = options.tables ?? (await freshTables(clients.dynamodb));
  const pair = options.pair ? BigIpPair.create() : undefined;
  const sim = pair ? undefined : new BigIpSimulator();
  const urls = pair ? await pair.listen() : [await (sim as BigIpSimulator).listen()];
  const config: HeartbeatConfig = {
    env: 'Beat',
    host: options.host ?? 'agent-1',
    agentId: options.agentId ?? 'id-agent-1',
    agentQueueUrl: 'http://127.0.0.1/000000000000/agent-1.fifo',
    tables,
    agentDownTimeMs: 75_000,
    heartbeatIntervalMs: 30_000,
    beatsPerInvocation: 2,
    rebindAfterMs: options.rebindAfterMs,
    devices: urls.map((baseUrl, i) => ({ name: `bigip-${i}`, baseUrl })),
    deviceSecretId: 'local',
    caBundle: undefined,
    deviceGroup: undefined,
    trafficGroup: undefined,
    clusterName: 'c1',
    restTimeoutMs: 1_000,
  };
  const { service, cluster, telemetry } = wireHeartbeat(config, clients, {
    credentials: new StaticCredentials({ username: 'admin', password: 'admin' }),
    retryBaseMs: 1,
    ...(options.unitBudgetMs ? { unitBudgetMs: options.unitBudgetMs } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  // One beat through the handler, which logs and emits the beat's metrics.
  const once = createHeartbeatHandler(service, { ...config, beatsPerInvocation: 1 }, telemetry);
  const beat = async () => (await once()).beats[0] as Awaited<ReturnType<typeof service.beat>>;
  const registry = () => new DynamoDbAgentRegistry(clients.db, tables.agents);
  return { clients, tables, sim, pair, config, telemetry, cluster, service, beat, registry };
}

describe('heartbeats against the BIG-IP simulator and DynamoDB Local', () => {
  it('registers on the first beat with device states, and refreshes on the next', async () => {
    const f = await heartbeatFixture();
    const first = await f.service.beat();
    expect(first).toMatchObject({ alive: true, registered: true, activeAgents: 1 });
    expect(first.devices['bigip-0']).toMatchObject({
      reachable: true,
      failoverState: 'ACTIVE',
      version: '17.1.2.1',
    });
    const second = await f.service.beat();
    expect(second.registered).toBe(false);
    expect(f.sim?.callCount({ path: /authn\/login/ })).toBe(1); // the token is reused across beats
    await f.sim?.close();
  });

  it('never changes admin_state_up: that is the operator’s', async () => {
    const f = await heartbeatFixture();
    await f.service.beat();
    const { DynamoDbAgentRegistry } = await import('../../functions/adapters/dynamodb-agent-registry.js');
    const registry = new DynamoDbAgentRegistry(f.clients.db, f.tables.agents);
    await registry.setAdminState('Beat', 'agent-1', false);
    await f.service.beat();
    expect((await registry.getAgent('Beat', 'agent-1'))?.adminStateUp).toBe(false);
    await f.sim?.close();
  });

  it('refuses a second agent identity claiming a host name that is taken, with a metric', async () => {
    const first = await heartbeatFixture();
    await first.service.beat();
    const impostor = await heartbeatFixture({ tables: first.tables, agentId: 'someone-else' });
    const { result, metrics } = await captureMetrics(() => impostor.beat().catch((e: Error) => e));
    expect(result).toBeInstanceOf(HostNameConflictError);
    expect(String((result as Error).message)).toContain(
      'host name agent-1 in environment Beat already belongs to agent id-agent-1',
    );
    expect(metrics.map((m) => m.name)).toContain('RefusedRegistrations');
    await first.sim?.close();
    await impostor.sim?.close();
  });

  it('withholds the heartbeat when no device can be reached, but records why', async () => {
    let now = 1_000_000;
    const f = await heartbeatFixture({ clock: () => now });
    await f.service.beat();
    await f.sim?.close();
    now += 30_000;
    const { result, metrics } = await captureMetrics(() => f.beat());
    expect(result.alive).toBe(false);
    expect(result.devices['bigip-0']).toMatchObject({
      reachable: false,
      message: expect.stringMatching(/ECONNREFUSED/),
    });
    const { DynamoDbAgentRegistry } = await import('../../functions/adapters/dynamodb-agent-registry.js');
    const agent = await new DynamoDbAgentRegistry(f.clients.db, f.tables.agents).getAgent('Beat', 'agent-1');
    expect(agent?.heartbeatAt).toBe(1_000_000);
    expect(agent?.devices?.['bigip-0']?.reachable).toBe(false);
    expect(metrics).toContainEqual(expect.objectContaining({ name: 'Heartbeats', value: 0 }));
    expect(metrics).toContainEqual(
      expect.objectContaining({
        name: 'DeviceFailoverState',
        dimensions: { Agent: 'agent-1', State: 'unreachable' },
      }),
    );
  });

  it('reads failover and sync state of both units of an HA pair', async () => {
    const f = await heartbeatFixture({ pair: true });
    const { result, metrics } = await captureMetrics(() => f.beat());
    expect(result.devices['bigip-0']).toMatchObject({ failoverState: 'ACTIVE', syncStatus: 'In Sync' });
    expect(result.devices['bigip-1']).toMatchObject({ failoverState: 'STANDBY', syncStatus: 'In Sync' });
    expect(
      metrics
        .filter((m) => m.name === 'DeviceFailoverState')
        .map((m) => m.dimensions.State)
        .sort(),
    ).toEqual(['active', 'standby']);
    await f.pair?.close();
  });

  it('reports a hung unit as such and keeps beating: one hung standby must not make every agent look dead', async () => {
    const f = await heartbeatFixture({ pair: true, unitBudgetMs: 300 });
    f.pair?.b.injectFault({ kind: 'hang', times: Number.POSITIVE_INFINITY });
    const report = await f.beat();
    expect(report.alive).toBe(true);
    expect(report.devices['bigip-0']).toMatchObject({ reachable: true, failoverState: 'ACTIVE' });
    expect(report.devices['bigip-1']).toMatchObject({
      reachable: false,
      message: expect.stringMatching(/hung/),
    });
    const row = await f.registry().getAgent('Beat', 'agent-1');
    expect(row?.heartbeatAt).toBeDefined();
    await f.pair?.close();
  });

  it('beats twice per invocation, an interval apart (sub-minute heartbeats from a one-minute schedule)', async () => {
    const f = await heartbeatFixture();
    const sleep = vi.fn(async () => undefined);
    // The beats take no time on this clock, so the whole interval is slept.
    const handler = createHeartbeatHandler(f.service, f.config, f.telemetry, sleep, () => 0);
    const { beats } = await handler();
    expect(beats).toHaveLength(2);
    expect(sleep).toHaveBeenCalledOnce();
    expect(sleep).toHaveBeenCalledWith(30_000);
    await f.sim?.close();
  });

  it('reports the environment: active agents and each agent’s heartbeat age', async () => {
    const h = await schedulerHarness({ env: 'Beat' });
    h.advance(80_000);
    await h.beat('agent-2');
    const f = await heartbeatFixture({
      tables: h.tables,
      host: 'agent-3',
      agentId: 'id-agent-3',
      clock: h.clock,
    });
    const { result, metrics } = await captureMetrics(() => f.beat());
    expect(result.activeAgents).toBe(2);
    const ages = Object.fromEntries(
      metrics.filter((m) => m.name === 'HeartbeatAge').map((m) => [m.dimensions.Agent, m.value]),
    );
    expect(ages).toEqual({ 'agent-1': 80, 'agent-2': 0, 'agent-3': 0 });
    // agent-1 is enabled but silent past agentDownTime: one agent down, what the AgentDown alarm watches.
    expect(metrics.filter((m) => m.name === 'AgentsDown').map((m) => m.value)).toEqual([1]);
    await f.sim?.close();
  });

  it('with rebindAfterSeconds, moves the load balancers of an agent dead that long to live agents', async () => {
    const h = await schedulerHarness({ env: 'Beat', random: () => 0 });
    const ids = lbIds();
    await h.deliver([requests.createLoadbalancer(ids)]); // bound to agent-1
    h.advance(200_000);
    await h.beat('agent-2');
    const f = await heartbeatFixture({
      tables: h.tables,
      host: 'agent-3',
      agentId: 'id-agent-3',
      clock: h.clock,
      rebindAfterMs: 120_000,
    });
    const { result, metrics } = await captureMetrics(() => f.beat());
    expect(result.rebound).toEqual([{ from: 'agent-1', moved: 1 }]);
    expect(metrics).toContainEqual(expect.objectContaining({ name: 'Rebinds', value: 1 }));
    expect((await h.bindings.getBinding(ids.loadbalancerId))?.host).not.toBe('agent-1');
    await f.sim?.close();
  });
});
