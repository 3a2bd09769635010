import { describe, expect, it } from 'vitest';
import { BigIpError, HostNameConflictError } from '../../../functions/domain/errors.js';
import { AgentOperations } from '../../../functions/services/agent-operations.js';
import { HeartbeatService } from '../../../functions/services/heartbeat-service.js';
import { InMemoryAgentRegistry } from '../../support/fakes/in-memory-agent-registry.js';
import { InMemoryBigIp, InMemoryCluster } from '../../support/fakes/in-memory-bigip.js';
import { InMemoryBindingStore } from '../../support/fakes/in-memory-binding-store.js';
import { manualClock } from '../../support/service-fixtures.js';

const ENV = 'Unit';
const DOWN = 75_000;

function fixture(options: { agentId?: string; rebindAfterMs?: number; devices?: InMemoryBigIp[] } = {}) {
  const clock = manualClock();
  const registry = new InMemoryAgentRegistry();
  const bindings = new InMemoryBindingStore();
  const cluster = new InMemoryCluster(options.devices ?? [new InMemoryBigIp()]);
  const operations = new AgentOperations({ registry, bindings, agentDownTimeMs: DOWN, clock: clock.now });
  const service = new HeartbeatService({
    env: ENV,
    host: 'a1',
    agentId: options.agentId ?? 'id-a1',
    queueUrl: 'queue://a1',
    registry,
    cluster,
    operations,
    rebindAfterMs: options.rebindAfterMs,
    clock: clock.now,
  });
  return { clock, registry, bindings, cluster, service };
}

describe('HeartbeatService over in-memory ports', () => {
  it('registers on the first beat (started flag set), refreshes on the next', async () => {
    const f = fixture();
    const first = await f.service.beat();
    expect(first).toMatchObject({ alive: true, registered: true, activeAgents: 1, rebound: [] });
    expect(first.devices.bigip1).toMatchObject({ reachable: true, failoverState: 'ACTIVE' });
    const row = await f.registry.getAgent(ENV, 'a1');
    expect(row).toMatchObject({
      heartbeatAt: f.clock.now(),
      startedAt: f.clock.now(),
      queueUrl: 'queue://a1',
    });
    f.clock.advance(30_000);
    const second = await f.service.beat();
    expect(second.registered).toBe(false);
    const after = await f.registry.getAgent(ENV, 'a1');
    expect(after?.heartbeatAt).toBe(f.clock.now());
    expect(after?.startedAt).toBe(row?.startedAt); // only the first beat after a start sets it
  });

  it('lets a second identity claiming a taken host name fail with HostNameConflictError', async () => {
    const f = fixture();
    f.registry.put({ env: ENV, host: 'a1', agentId: 'someone-else' });
    await expect(f.service.beat()).rejects.toBeInstanceOf(HostNameConflictError);
  });

  it('withholds liveness when no device answers, recording why', async () => {
    const device = new InMemoryBigIp();
    device.status = async () => {
      throw new BigIpError('device bigip1: GET /mgmt/tm/cm/failover-status failed: ECONNREFUSED', {
        device: 'bigip1',
        transient: true,
      });
    };
    const f = fixture({ devices: [device] });
    const report = await f.service.beat();
    expect(report.alive).toBe(false);
    expect(report.devices.bigip1).toMatchObject({
      reachable: false,
      message: expect.stringContaining('ECONNREFUSED'),
    });
    const row = await f.registry.getAgent(ENV, 'a1');
    expect(row?.heartbeatAt).toBeUndefined();
    expect(row?.devices?.bigip1?.reachable).toBe(false);
  });

  it('never touches the operator’s admin_state_up', async () => {
    const f = fixture();
    await f.service.beat();
    await f.registry.setAdminState(ENV, 'a1', false);
    await f.service.beat();
    expect((await f.registry.getAgent(ENV, 'a1'))?.adminStateUp).toBe(false);
  });

  it('with rebindAfterMs, drains an agent dead that long onto live ones, and only then', async () => {
    const f = fixture({ rebindAfterMs: 120_000 });
    f.registry.put({ env: ENV, host: 'dead', heartbeatAt: f.clock.now(), loadbalancerCount: 1 });
    await f.bindings.bind({ loadbalancerId: 'lb-1', env: ENV, host: 'dead', tenantId: 't', boundAt: 1 });
    f.clock.advance(100_000); // dead, but not for long enough
    expect((await f.service.beat()).rebound).toEqual([]);
    f.clock.advance(30_000);
    const report = await f.service.beat();
    expect(report.rebound).toEqual([{ from: 'dead', moved: 1 }]);
    expect((await f.bindings.getBinding('lb-1'))?.host).toBe('a1');
  });
});
