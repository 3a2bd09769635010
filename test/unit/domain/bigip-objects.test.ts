import { describe, expect, it } from 'vitest';
import { isDeviceMadeNode } from '../../../functions/domain/bigip-objects.js';

describe('isDeviceMadeNode: which nodes in /Common are ours to clean up (#27.4)', () => {
  const made = {
    name: '10.0.0.5',
    address: '10.0.0.5',
    connectionLimit: 0,
    dynamicRatio: 1,
    logging: 'disabled',
    monitor: 'default',
    rateLimit: 'disabled',
    ratio: 1,
    session: 'user-enabled',
    state: 'unchecked',
  };

  it('is a node as the device makes it for a member (its defaults, nothing set by hand)', () => {
    expect(isDeviceMadeNode(made)).toBe(true);
    expect(isDeviceMadeNode({ ...made, description: '' })).toBe(true);
    expect(isDeviceMadeNode({ name: '10.0.0.5', address: '10.0.0.5' })).toBe(true);
  });

  it('is never a node an operator made or changed by hand', () => {
    for (const change of [
      { description: 'db primary' },
      { connectionLimit: 100 },
      { rateLimit: '500' },
      { ratio: 3 },
      { dynamicRatio: 2 },
      { logging: 'enabled' },
      { monitor: '/Common/icmp ' },
    ])
      expect(isDeviceMadeNode({ ...made, ...change }), JSON.stringify(change)).toBe(false);
  });
});
