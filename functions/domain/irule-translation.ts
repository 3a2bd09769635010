import type { L7PolicySpec, L7RuleSpec } from './lbaas-request.js';
import { tclQuoted } from './tcl-literals.js';

/*
 * The iRules this control plane writes from what a user asked for: a listener's allowed CIDRs and
 * its L7 policies while one of their rules is a REGEX. Every value a user wrote enters the Tcl
 * through tclQuoted (letters, digits and \uXXXX escapes only), every object name is a checked
 * BIG-IP name, and a CIDR is checked against its strict form again here: nothing in the text can
 * be read by Tcl as a command, a variable or a word boundary.
 */

const CIDR_RE = /^(?:\d{1,3}(?:\.\d{1,3}){3}\/\d{1,2}|[0-9a-f:]{2,39}\/\d{1,3})$/;
const PATH_RE = /^\/[A-Za-z0-9_.:%-]+\/[A-Za-z0-9_.:%-]+$/;

/**
 * A listener's allowed_cidrs: a connection from any other client is refused when it is accepted,
 * before a byte reaches a member (TCP: reset; UDP: the datagram dropped). `IP::addr … equals
 * <network>/<prefix>` compares the client's address under the prefix.
 */
export function allowedCidrsRule(cidrs: readonly string[], transport: 'tcp' | 'udp'): string {
  if (cidrs.length === 0) throw new RangeError('an allowed-CIDR iRule needs at least one CIDR');
  const tests = cidrs.map((c) => {
    if (!CIDR_RE.test(c)) throw new RangeError(`not a canonical CIDR: ${JSON.stringify(c).slice(0, 60)}`);
    return `[IP::addr [IP::client_addr] equals ${c}]`;
  });
  return [
    'when CLIENT_ACCEPTED {',
    `  if { !(${tests.join(' || ')}) } {`,
    `    ${transport === 'udp' ? 'drop' : 'reject'}`,
    '  }',
    '}',
  ].join('\n');
}

/** Whether a listener's L7 policies need the iRule: one of their enabled rules compares with REGEX. */
export function needsL7Rule(rules: readonly L7RuleSpec[]): boolean {
  return rules.some((r) => r.compare_type === 'REGEX');
}

/** The request value an L7 rule looks at, as a Tcl expression (case folded for host names). */
function subject(rule: L7RuleSpec): string {
  switch (rule.type) {
    case 'HOST_NAME':
      // The Host header without its port, as the LTM policy's host condition takes it.
      return '[string tolower [getfield [HTTP::host] ":" 1]]';
    case 'PATH':
      return '[HTTP::path]';
    case 'FILE_TYPE':
      return '$l7_ext';
    case 'HEADER':
      return `[HTTP::header value ${tclQuoted(rule.key ?? '')}]`;
    case 'COOKIE':
      return `[HTTP::cookie value ${tclQuoted(rule.key ?? '')}]`;
  }
}

/**
 * One L7 rule as a Tcl test, with the LTM policy's semantics for the other compare types (host
 * names without case, everything else exactly; FILE_TYPE is the path's extension) and `regexp` for
 * REGEX (`-nocase` for host names, as Octavia's reference matches them).
 */
export function ruleTest(rule: L7RuleSpec): string {
  const host = rule.type === 'HOST_NAME';
  const value = tclQuoted(host && rule.compare_type !== 'REGEX' ? rule.value.toLowerCase() : rule.value);
  const s = subject(rule);
  let test: string;
  switch (rule.compare_type) {
    case 'EQUAL_TO':
      test = `[string equal ${s} ${value}]`;
      break;
    case 'STARTS_WITH':
      test = `[string equal -length ${rule.value.length} ${s} ${value}]`;
      break;
    case 'ENDS_WITH':
      test = `[string equal [string range ${s} end-${rule.value.length - 1} end] ${value}]`;
      break;
    case 'CONTAINS':
      test = `([string first ${value} ${s}] >= 0)`;
      break;
    case 'REGEX':
      test = `[regexp ${host ? '-nocase ' : ''}-- ${value} ${s}]`;
      break;
  }
  return rule.invert ? `!${test}` : test;
}

/** One L7 policy's action as Tcl (REJECT resets the connection, as the LTM policy's action does). */
function actionTcl(policy: L7PolicySpec, poolPath: (id: string) => string): string {
  switch (policy.action) {
    case 'REDIRECT_TO_POOL': {
      const path = poolPath(policy.redirect_pool_id as string);
      if (!PATH_RE.test(path)) throw new RangeError(`not a BIG-IP path: ${path.slice(0, 80)}`);
      return `pool ${path}`;
    }
    case 'REDIRECT_TO_URL':
      return `HTTP::respond ${policy.redirect_http_code ?? 302} Location ${tclQuoted(policy.redirect_url as string)}`;
    case 'REDIRECT_PREFIX':
      return `HTTP::respond ${policy.redirect_http_code ?? 302} Location ${tclQuoted(policy.redirect_prefix as string).slice(0, -1)}[HTTP::uri]"`;
    case 'REJECT':
      return 'reject';
  }
}

export interface RoutedPolicy {
  spec: L7PolicySpec;
  /** Its enabled rules (all must match), in their order. */
  rules: L7RuleSpec[];
}

/**
 * A listener's L7 policies as one iRule, in list order: the first policy whose rules all match
 * acts (Octavia's first-match by position), as the LTM policy it replaces would. A request no
 * policy takes goes to the listener's default pool, named again so that a connection kept open
 * (OneConnect) does not stay on the pool an earlier request was sent to.
 */
export function l7RoutingRule(
  policies: readonly RoutedPolicy[],
  poolPath: (id: string) => string,
  defaultPool: string | undefined,
): string {
  const lines = ['when HTTP_REQUEST {'];
  if (policies.some((p) => p.rules.some((r) => r.type === 'FILE_TYPE')))
    lines.push('  set l7_ext ""', '  regexp {\\.([^./]*)$} [HTTP::path] -> l7_ext');
  policies.forEach((p, i) => {
    lines.push(`  ${i === 0 ? 'if' : '} elseif'} { ${p.rules.map(ruleTest).join(' && ')} } {`);
    lines.push(`    ${actionTcl(p.spec, poolPath)}`);
  });
  if (defaultPool !== undefined) {
    if (!PATH_RE.test(defaultPool)) throw new RangeError(`not a BIG-IP path: ${defaultPool.slice(0, 80)}`);
    lines.push(policies.length > 0 ? '  } else {' : '  if { 1 } {', `    pool ${defaultPool}`);
  }
  if (policies.length > 0 || defaultPool !== undefined) lines.push('  }');
  lines.push('}');
  return lines.join('\n');
}
