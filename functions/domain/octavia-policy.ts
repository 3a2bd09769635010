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
 * - `keystone_default_roles` (Octavia's keystone_default_roles-policy.yaml): Keystone's own
 *   `reader` (read) and `member` (write) in the project; `admin` in any scope is an admin and reads
 *   every project; `load-balancer_admin` passes only the admin-only calls;
 * - `keystone_default_roles_scoped` (Octavia's keystone_default_roles_scoped-policy.yaml, with
 *   oslo.policy's `enforce_scope` and `enforce_new_defaults`): the same project roles, but only a
 *   system-scoped token is global: `admin` with it is an admin, `reader` with it reads every
 *   project; a project-scoped `admin` is only its project's member and reader;
 * - `owner_or_admin`: anyone with a role in a project reads and writes it, `admin` everything;
 * - `noauth` (the local stack, as Octavia's `auth_strategy = noauth`): every call is an admin's.
 */

export type PolicyMode =
  | 'advanced'
  | 'keystone_default_roles'
  | 'keystone_default_roles_scoped'
  | 'owner_or_admin'
  | 'noauth';

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
    case 'keystone_default_roles_scoped': {
      // The files' `system_admin`/`system_reader` (and so `is_admin`): any `admin` token in the
      // unscoped file; an `admin` or `reader` token with system scope in the scoped one. Keystone's
      // implied roles put `member` and `reader` in an admin's token.
      const scoped = mode === 'keystone_default_roles_scoped';
      const systemAdmin = has('admin') && (!scoped || caller.system === true);
      const systemReader = scoped ? has('reader') && caller.system === true : has('admin');
      const projectReader = has('reader') && owner;
      const projectMember = has('member') && owner;
      // `load-balancer:write` is `is_admin or project_member`, `:read` adds the readers, and
      // `:admin` (failover, flavors, zones) also takes `load-balancer_admin`, in any scope.
      return keystoneDefaultRoles(rule, {
        isAdmin: systemAdmin,
        lbAdmin: has('load-balancer_admin'),
        systemReader,
        projectReader,
        projectMember,
      });
    }
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

/** The rules of Octavia's two keystone_default_roles policy files, once their role rules are known. */
function keystoneDefaultRoles(
  rule: PolicyRule,
  c: {
    isAdmin: boolean;
    lbAdmin: boolean;
    systemReader: boolean;
    projectReader: boolean;
    projectMember: boolean;
  },
): boolean {
  switch (rule) {
    case 'read':
      return c.isAdmin || c.systemReader || c.projectReader;
    case 'read-global':
      return c.isAdmin || c.systemReader;
    case 'write':
      return c.isAdmin || c.projectMember;
    case 'admin':
      return c.isAdmin || c.lbAdmin;
    case 'write-quota':
      return c.isAdmin;
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
