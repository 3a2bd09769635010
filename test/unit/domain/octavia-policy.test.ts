import { describe, expect, it } from 'vitest';
import {
  type Caller,
  isAllowed,
  listingScope,
  type PolicyMode,
  type PolicyRule,
} from '../../../functions/domain/octavia-policy.js';

const OWN = 'p-own';
const OTHER = 'p-other';
const caller = (roles: string[], extra: Partial<Caller> = {}): Caller => ({
  projectId: OWN,
  roles,
  ...extra,
});

/**
 * Expected answers, written from Octavia's policy files (octavia/policies/base.py with Zed's
 * deprecated rules still honoured, and the keystone_default_roles and admin_or_owner policy files)
 * as a table: for each caller, the rules it passes on its own project and on another's.
 */
type Row = [string, Caller, Partial<Record<PolicyRule, [own: boolean, other: boolean]>>];
const TABLE: Record<Exclude<PolicyMode, 'noauth'>, Row[]> = {
  advanced: [
    [
      'load-balancer_member',
      caller(['load-balancer_member']),
      { read: [true, false], write: [true, false], 'read-global': [false, false], admin: [false, false] },
    ],
    [
      'load-balancer_observer',
      caller(['load-balancer_observer', 'reader']),
      { read: [true, false], write: [false, false] },
    ],
    [
      'load-balancer_global_observer',
      caller(['load-balancer_global_observer', 'reader']),
      { read: [true, true], 'read-global': [true, true], write: [false, false] },
    ],
    [
      'load-balancer_admin',
      caller(['load-balancer_admin']),
      { read: [true, true], write: [true, true], admin: [true, true] },
    ],
    ['admin', caller(['admin', 'member', 'reader']), { write: [true, true], admin: [true, true] }],
    ['member only', caller(['member']), { read: [false, false], write: [false, false] }],
  ],
  keystone_default_roles: [
    ['member', caller(['member', 'reader']), { read: [true, false], write: [true, false] }],
    ['reader', caller(['reader']), { read: [true, false], write: [false, false] }],
    [
      'system reader',
      caller(['reader'], { system: true, projectId: undefined }),
      { read: [true, true], 'read-global': [true, true], write: [false, false] },
    ],
    ['admin', caller(['admin']), { write: [true, true], admin: [true, true] }],
    [
      'load-balancer_member',
      caller(['load-balancer_member']),
      { read: [false, false], write: [false, false] },
    ],
  ],
  owner_or_admin: [
    ['any role', caller(['anything']), { read: [true, false], write: [true, false], admin: [false, false] }],
    ['admin', caller(['admin']), { read: [true, true], write: [true, true], 'read-global': [true, true] }],
  ],
};

describe('Octavia policy', () => {
  for (const [mode, rows] of Object.entries(TABLE) as [Exclude<PolicyMode, 'noauth'>, Row[]][])
    for (const [label, who, rules] of rows)
      for (const [rule, [own, other]] of Object.entries(rules) as [PolicyRule, [boolean, boolean]][])
        it(`${mode}: ${label} ${own ? 'may' : 'may not'} ${rule} its project, ${other ? 'may' : 'may not'} another's`, () => {
          expect(isAllowed(mode, rule, who, OWN)).toBe(own);
          expect(isAllowed(mode, rule, who, OTHER)).toBe(other);
        });

  it('noauth allows everything (Octavia auth_strategy = noauth)', () => {
    const anyone: Caller = { projectId: undefined, roles: [], noauth: true };
    for (const rule of ['read', 'read-global', 'write', 'admin'] as PolicyRule[])
      expect(isAllowed('noauth', rule, anyone, OTHER)).toBe(true);
  });

  it('a listing covers every project for a global reader, else the caller’s own (403 for another)', () => {
    expect(listingScope('advanced', caller(['load-balancer_admin']), undefined)).toBeUndefined();
    expect(listingScope('advanced', caller(['load-balancer_admin']), OTHER)).toBe(OTHER);
    expect(listingScope('advanced', caller(['load-balancer_member']), undefined)).toBe(OWN);
    expect(() => listingScope('advanced', caller(['load-balancer_member']), OTHER)).toThrow(
      expect.objectContaining({ status: 403 }),
    );
    expect(() => listingScope('advanced', caller(['member']), undefined)).toThrow(
      expect.objectContaining({ status: 403 }),
    );
  });
});
