import type { AssemblyStack } from './cloud-assembly.js';
import { referencedId } from './cloud-assembly.js';
import type { TemplateResolver } from './template-resolver.js';

/** One IAM statement of a role, its resources resolved to the local stack's ARNs. */
export interface RoleStatement {
  effect: 'Allow' | 'Deny';
  actions: string[];
  resources: string[];
}

/** An AWS call as IAM authorises it: an action on one resource ARN, made with a role's credentials. */
export interface AuthorisedCall {
  action: string;
  resource: string;
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/**
 * The statements a role holds in the template: its inline `Policies` and every `AWS::IAM::Policy`
 * attached to it. Managed policies (AWSLambdaVPCAccessExecutionRole in direct mode) are left out:
 * they cover network interfaces, which no bundle calls. A statement with a condition, NotAction or
 * NotResource would need more than this evaluator does, so it fails loudly instead of guessing.
 */
export function roleStatements(
  stacks: AssemblyStack[],
  resolver: TemplateResolver,
  stack: string,
  roleLogicalId: string,
): RoleStatement[] {
  const template = stacks.find((s) => s.name === stack)?.template;
  if (!template) throw new Error(`no stack ${stack}`);
  const role = template.Resources[roleLogicalId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${stack}/${roleLogicalId} is not a role`);
  const documents: unknown[] = list(role.Properties?.Policies).map(
    (p) => (p as { PolicyDocument: unknown }).PolicyDocument,
  );
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const roles = list(resource.Properties?.Roles).map(referencedId);
    if (roles.includes(roleLogicalId)) documents.push(resource.Properties?.PolicyDocument);
  }
  return documents.flatMap((document) =>
    list((document as { Statement: unknown }).Statement).map((raw) => {
      const s = raw as Record<string, unknown>;
      for (const unsupported of ['Condition', 'NotAction', 'NotResource', 'NotPrincipal']) {
        if (unsupported in s) {
          throw new Error(
            `${stack}/${roleLogicalId}: a statement with ${unsupported} needs a fuller IAM evaluator`,
          );
        }
      }
      return {
        effect: s.Effect === 'Deny' ? 'Deny' : 'Allow',
        actions: list(s.Action).map(String),
        resources: list(s.Resource).map((r) => resolver.resolveString(r, stack, { lenient: true })),
      } satisfies RoleStatement;
    }),
  );
}

/** IAM's wildcard match (and ArnLike's, a Lambda permission's SourceArn): `*` any run of characters, `?` one character. */
export function matches(pattern: string, value: string, caseInsensitive: boolean): boolean {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, caseInsensitive ? 'i' : '').test(value);
}

/** Whether the statements allow the call: an Allow matches it and no Deny does (actions ignore case). */
export function allows(statements: RoleStatement[], call: AuthorisedCall): boolean {
  const hit = (s: RoleStatement) =>
    s.actions.some((a) => matches(a, call.action, true)) &&
    s.resources.some((r) => matches(r, call.resource, false));
  return (
    statements.some((s) => s.effect === 'Allow' && hit(s)) &&
    !statements.some((s) => s.effect === 'Deny' && hit(s))
  );
}
