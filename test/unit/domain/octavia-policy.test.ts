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
 * deprecated rules still honoured, and its etc/policy keystone_default_roles, keystone_default_roles_scoped and
 * admin_or_owner files, quoted above each table)
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
  // keystone_default_roles-policy.yaml: system_admin and system_reader are both `role:admin`;
  // project_reader/project_member need `reader`/`member` and the object's project; write is
  // `is_admin or project_member`; admin also takes `role:load-balancer_admin`; write-quota is is_admin.
  keystone_default_roles: [
    [
      'member',
      caller(['member', 'reader']),
      { read: [true, false], write: [true, false], admin: [false, false] },
    ],
    [
      'reader',
      caller(['reader']),
      { read: [true, false], write: [false, false], 'read-global': [false, false] },
    ],
    [
      'system-scoped reader (not an admin: the file maps system_reader to role:admin)',
      caller(['reader'], { system: true, projectId: undefined }),
      { read: [false, false], 'read-global': [false, false], write: [false, false] },
    ],
    [
      'project-scoped admin',
      caller(['admin', 'member', 'reader']),
      {
        read: [true, true],
        'read-global': [true, true],
        write: [true, true],
        admin: [true, true],
        'write-quota': [true, true],
      },
    ],
    [
      'load-balancer_admin',
      caller(['load-balancer_admin']),
      { read: [false, false], write: [false, false], admin: [true, true], 'write-quota': [false, false] },
    ],
    [
      'load-balancer_member',
      caller(['load-balancer_member']),
      { read: [false, false], write: [false, false] },
    ],
  ],
  // keystone_default_roles_scoped-policy.yaml: system_admin is `role:admin and system_scope:all`,
  // system_reader `role:reader and system_scope:all`, context_is_admin = system_admin; the API
  // rules are the same as the unscoped file's.
  keystone_default_roles_scoped: [
    [
      'member',
      caller(['member', 'reader']),
      { read: [true, false], write: [true, false], admin: [false, false] },
    ],
    [
      'reader',
      caller(['reader']),
      { read: [true, false], write: [false, false], 'read-global': [false, false] },
    ],
    [
      'project-scoped admin (Keystone implies member and reader)',
      caller(['admin', 'member', 'reader']),
      {
        read: [true, false],
        'read-global': [false, false],
        write: [true, false],
        admin: [false, false],
        'write-quota': [false, false],
      },
    ],
    [
      'system-scoped admin',
      caller(['admin', 'member', 'reader'], { system: true, projectId: undefined }),
      {
        read: [true, true],
        'read-global': [true, true],
        write: [true, true],
        admin: [true, true],
        'write-quota': [true, true],
      },
    ],
    [
      'system-scoped reader',
      caller(['reader'], { system: true, projectId: undefined }),
      { read: [true, true], 'read-global': [true, true], write: [false, false], admin: [false, false] },
    ],
    [
      'system-scoped member (no system_member rule)',
      caller(['member'], { system: true, projectId: undefined }),
      { read: [false, false], write: [false, false] },
    ],
    [
      'load-balancer_admin, project-scoped',
      caller(['load-balancer_admin']),
      { read: [false, false], write: [false, false], admin: [true, true], 'write-quota': [false, false] },
    ],
    [
      'load-balancer_member and load-balancer_global_observer (not Keystone roles)',
      caller(['load-balancer_member', 'load-balancer_global_observer']),
      { read: [false, false], 'read-global': [false, false], write: [false, false] },
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

  it('keystone_default_roles_scoped lists: a system reader every project, a project admin only its own', () => {
    const systemReader = caller(['reader'], { system: true, projectId: undefined });
    expect(listingScope('keystone_default_roles_scoped', systemReader, undefined)).toBeUndefined();
    expect(
      listingScope('keystone_default_roles_scoped', caller(['admin', 'member', 'reader']), undefined),
    ).toBe(OWN);
    expect(() =>
      listingScope('keystone_default_roles_scoped', caller(['admin', 'member', 'reader']), OTHER),
    ).toThrow(expect.objectContaining({ status: 403 }));
    expect(listingScope('keystone_default_roles', caller(['admin']), undefined)).toBeUndefined();
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
