import { faults } from './octavia-faults.js';

/**
 * Who may do what, as Octavia's policy says it (its default and the alternative
 * policy files it ships; docs/octavia-api.md, "Who may do what"): every API call needs one of four rules, checked against the
 * caller's roles and project.
 *
 * - `advanced` (Octavia's default, with its deprecated rules still honoured as in Zed):
 *   `load-balancer_observer` reads its project, `load-balancer_global_observer` reads every
 *   project, `load-balancer_member` reads and writes its project, `load-balancer_admin` and
 *   `admin` do everything for every project;
 * - `keystone_default_roles`: Keystone's own `reader` (read), `member` (write) and `admin` roles;
 * - `owner_or_admin`: anyone with a role in a project reads and writes it, `admin` everything;
 * - `noauth` (the local stack, as Octavia's `auth_strategy = noauth`): every call is an admin's.
 */

export type PolicyMode = 'advanced' | 'keystone_default_roles' | 'owner_or_admin' | 'noauth';

/** Octavia's rules: reading a project's objects, reading every project's, writing, and admin-only calls (failover). */
export type PolicyRule = 'read' | 'read-global' | 'write' | 'admin' | 'write-quota';

/** What a validated token says about its bearer. */
export interface Caller {
  /** The project the token is scoped to (absent: system- or domain-scoped). */
  projectId: string | undefined;
  roles: readonly string[];
  /** A system-scoped token (`system: {all: true}`). */
  system?: boolean;
  userId?: string;
  /** The noauth mode's caller: an admin acting for the configured default project. */
  noauth?: boolean;
}

export function isAllowed(mode: PolicyMode, rule: PolicyRule, caller: Caller, project?: string): boolean {
  if (mode === 'noauth' || caller.noauth) return true;
  const roles = new Set(caller.roles.map((r) => r.toLowerCase()));
  const has = (role: string) => roles.has(role);
  const owner = project !== undefined && caller.projectId !== undefined && caller.projectId === project;
  let admin: boolean;
  let quotaAdmin = false;
  let globalObserver: boolean;
  let observer: boolean;
  let member: boolean;
  switch (mode) {
    case 'advanced':
      admin = has('load-balancer_admin') || has('admin');
      quotaAdmin = has('load-balancer_quota_admin');
      globalObserver = has('load-balancer_global_observer') || (has('reader') && caller.system === true);
      observer = has('load-balancer_observer') && owner;
      member = has('load-balancer_member') && owner;
      break;
    case 'keystone_default_roles':
      admin = has('admin');
      globalObserver = has('reader') && caller.system === true;
      observer = (has('reader') || has('member')) && owner;
      member = has('member') && owner;
      break;
    case 'owner_or_admin':
      admin = has('admin') || has('load-balancer_admin');
      globalObserver = false;
      observer = owner;
      member = owner;
      break;
  }
  switch (rule) {
    case 'read':
      return observer || globalObserver || member || admin;
    case 'read-global':
      return globalObserver || admin;
    case 'write':
      return member || admin;
    case 'admin':
      return admin;
    case 'write-quota':
      return admin || quotaAdmin;
  }
}

/** Octavia's 403 unless the rule allows the call on that project. */
export function authorize(mode: PolicyMode, rule: PolicyRule, caller: Caller, project?: string): void {
  if (!isAllowed(mode, rule, caller, project)) throw faults.forbidden();
}

/**
 * Which project a listing covers (Octavia's `_auth_get_all`): every project for a global reader
 * who names none, the one named for a global reader, else the caller's own (a 403 when the caller
 * may not read it or has no project).
 */
export function listingScope(
  mode: PolicyMode,
  caller: Caller,
  requested: string | undefined,
): string | undefined {
  if (isAllowed(mode, 'read-global', caller, requested)) return requested;
  const project = requested ?? caller.projectId;
  if (project === undefined) throw faults.forbidden();
  authorize(mode, 'read', caller, project);
  return project;
}
