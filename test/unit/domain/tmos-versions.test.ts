import { describe, expect, it } from 'vitest';
import type { BigIpObject } from '../../../functions/domain/bigip-objects.js';
import {
  forVersion,
  hasSysReady,
  sendsRedirectCode,
  versionAtLeast,
} from '../../../functions/domain/tmos-versions.js';

const policy = (actions: Record<string, unknown>[]): BigIpObject => ({
  kind: 'ltm-policy',
  partition: 'P',
  name: 'wrapper_policy_x',
  attrs: { strategy: '/Common/first-match', rules: [{ name: 'r', ordinal: 0, conditions: [], actions }] },
});

describe('TMOS version traits', () => {
  it('compares major.minor, whatever follows; an unreadable version counts as the newest', () => {
    expect(versionAtLeast('13.1.0.4', 13, 1)).toBe(true);
    expect(versionAtLeast('13.0.1', 13, 1)).toBe(false);
    expect(versionAtLeast('12.1.2', 13)).toBe(false);
    expect(versionAtLeast('17.1.2.1', 14)).toBe(true);
    expect(versionAtLeast(undefined, 14)).toBe(true);
    expect(versionAtLeast('unknown', 14)).toBe(true);
  });

  it('knows sys/ready from 13.1 and a redirect code from 14.0', () => {
    expect([hasSysReady('12.1.2'), hasSysReady('13.0.0'), hasSysReady('13.1.0')]).toEqual([
      false,
      false,
      true,
    ]);
    expect([sendsRedirectCode('13.1.0.4'), sendsRedirectCode('14.0.0'), sendsRedirectCode('15.1')]).toEqual([
      false,
      true,
      true,
    ]);
  });

  it('leaves a redirect code out of an LTM policy before 14.0, and everything else as it is', () => {
    const redirect = {
      name: '0',
      httpReply: true,
      redirect: true,
      location: 'https://x/',
      code: 301,
      request: true,
    };
    const forward = { name: '0', forward: true, pool: '/P/p', request: true };
    const p = policy([redirect, forward]);
    const old = forVersion(p, '13.1.0');
    expect((old.attrs.rules as { actions: unknown[] }[])[0]?.actions).toEqual([
      { name: '0', httpReply: true, redirect: true, location: 'https://x/', request: true },
      forward,
    ]);
    // The input is not changed, and from 14.0 (or an unknown version) the object is the same one.
    expect((p.attrs.rules as { actions: { code?: number }[] }[])[0]?.actions[0]?.code).toBe(301);
    expect(forVersion(p, '14.1.2.1')).toBe(p);
    expect(forVersion(p, undefined)).toBe(p);
    const pool: BigIpObject = { kind: 'pool', partition: 'P', name: 'p', attrs: { monitor: '' } };
    expect(forVersion(pool, '12.1.2')).toBe(pool);
  });
});
