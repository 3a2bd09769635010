import { describe, expect, it } from 'vitest';
import { AgentDirectory } from '../../../functions/services/agent-directory.js';
import { InMemoryAgentRegistry } from '../../support/fakes/in-memory-agent-registry.js';
import { manualClock } from '../../support/service-fixtures.js';

describe('AgentDirectory', () => {
  it('serves an environment’s agents from cache for its time to live, then reads again', async () => {
    const clock = manualClock();
    const registry = new InMemoryAgentRegistry();
    let reads = 0;
    const list = registry.listAgents.bind(registry);
    registry.listAgents = async (env) => {
      reads += 1;
      return list(env);
    };
    registry.put({ env: 'E', host: 'a1' });
    const directory = new AgentDirectory(registry, 2_000, clock.now);
    expect((await directory.list('E')).map((a) => a.host)).toEqual(['a1']);
    registry.put({ env: 'E', host: 'a2' });
    clock.advance(1_999);
    expect((await directory.list('E')).map((a) => a.host)).toEqual(['a1']);
    clock.advance(1);
    expect((await directory.list('E')).map((a) => a.host)).toEqual(['a1', 'a2']);
    expect(reads).toBe(2);
    // A clock that went backwards is not trusted.
    clock.advance(-10_000);
    await directory.list('E');
    expect(reads).toBe(3);
  });
});
