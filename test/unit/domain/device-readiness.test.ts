import { describe, expect, it } from 'vitest';
import { readinessOf } from '../../../functions/domain/device-readiness.js';

describe('device readiness, as F5’s own client decides it', () => {
  it('from 13.1: sys/ready says configReady yes and every mcpd entry is running', () => {
    expect(readinessOf({ version: '13.1.0', mcpPhases: ['running'], configReady: 'yes' })).toEqual({
      ready: true,
    });
    expect(readinessOf({ version: '17.1.2.1', mcpPhases: ['running'], configReady: 'no' })).toEqual({
      ready: false,
      reason: 'sys/ready says configReady no',
    });
    // sys/ready is not asked (or not answered) where it exists: not ready, whatever else says.
    expect(readinessOf({ version: '14.1.2.1', mcpPhases: ['running'], sysAvailable: true }).ready).toBe(
      false,
    );
  });

  it('before 13.1: sys/available and mcpd running, sys/ready not needed', () => {
    expect(readinessOf({ version: '12.1.2', mcpPhases: ['running'], sysAvailable: true })).toEqual({
      ready: true,
    });
    expect(readinessOf({ version: '12.1.2', mcpPhases: ['running'], sysAvailable: false })).toMatchObject({
      ready: false,
      reason: expect.stringMatching(/sys\/available/),
    });
  });

  it('any mcpd entry not running, or none at all, is not ready', () => {
    expect(readinessOf({ version: '12.1.2', mcpPhases: ['running', 'loading'], sysAvailable: true })).toEqual(
      { ready: false, reason: 'mcpd phase is loading, not running' },
    );
    expect(readinessOf({ version: '15.1.0', mcpPhases: [], configReady: 'yes' })).toEqual({
      ready: false,
      reason: 'mcpd phase is unknown, not running',
    });
  });
});
