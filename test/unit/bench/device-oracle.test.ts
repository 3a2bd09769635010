import { describe, expect, it } from 'vitest';
import { compareWithDevice, type ExpectedLoadBalancer } from '../../../bench/support/device-oracle.js';

const lb: ExpectedLoadBalancer = {
  tenantId: 't1',
  lb: 'lb1',
  vip: '10.100.0.1',
  deleted: false,
  listeners: [{ id: 'l1', port: 80 }],
  pool: { id: 'p1', listener: 'l1' },
  members: [{ id: 'm1', address: '172.16.1.1', port: 8001, weight: 3, up: true }],
  monitor: { id: 'h1', delay: 5, timeout: 3, maxRetries: 3 },
};

/** The dump a device holding exactly `lb` gives (written out by hand, not computed). */
const dump = () => ({
  'sys/folder': [{ fullPath: '/E_t1' }],
  'ltm/virtual-address': [{ fullPath: '/E_t1/E_lb1', address: '10.100.0.1', autoDelete: 'false' }],
  'ltm/virtual': [{ fullPath: '/E_t1/E_l1', destination: '/E_t1/10.100.0.1:80', pool: '/E_t1/E_p1' }],
  'ltm/pool': [{ fullPath: '/E_t1/E_p1', loadBalancingMode: 'ratio-member', monitor: '/E_t1/E_h1' }],
  'ltm/pool/members': [
    { fullPath: '/Common/172.16.1.1:8001', pool: '/E_t1/E_p1', ratio: 3, session: 'user-enabled' },
  ],
  'ltm/node': [{ fullPath: '/Common/172.16.1.1' }],
  'ltm/monitor/tcp': [{ fullPath: '/E_t1/E_h1', interval: 5, timeout: 9 }],
});

describe('the soak’s device oracle', () => {
  it('finds nothing to say about a device that holds exactly what the requests asked for', () => {
    expect(compareWithDevice('E', [lb], dump())).toEqual([]);
  });

  it('reports a wrong attribute, a missing object and an object nobody asked for', () => {
    const d = dump();
    (d['ltm/pool/members'][0] as { ratio: number }).ratio = 2;
    d['ltm/monitor/tcp'] = [];
    d['ltm/virtual'].push({ fullPath: '/E_t1/E_stray', destination: '/E_t1/10.100.0.1:81', pool: '' });
    expect(compareWithDevice('E', [lb], d)).toEqual([
      'ltm/pool/members /E_t1/E_p1|/Common/172.16.1.1:8001: ratio is 2, expected 3',
      'missing ltm/monitor/tcp /E_t1/E_h1',
      'unexpected ltm/virtual /E_t1/E_stray',
    ]);
  });

  it('expects nothing of a deleted load balancer, and leaves one with an accounted ERROR out', () => {
    expect(compareWithDevice('E', [{ ...lb, deleted: true }], dump())).toContain(
      'unexpected sys/folder /E_t1',
    );
    expect(compareWithDevice('E', [{ ...lb, accountedFor: true }], dump())).toEqual([]);
  });
});
