import net from 'node:net';
import type { RequestHead } from './http-policies.js';

/*
 * iRules as the sandbox's data plane runs them: a small Tcl interpreter with Tcl's own word rules
 * (braces quote, double quotes and bare words substitute `$var`, `[command]` and backslash
 * escapes such as `\u002e`) and the commands the iRules of this control plane use. A device parses
 * an iRule when it is saved and refuses one that does not parse (device-facts.md §7.14); the
 * simulator does too (`parseIRule`), and refuses a command it does not know, so an iRule that only
 * a real Tcl could run is caught here instead of being taken for working.
 *
 * Events run: CLIENT_ACCEPTED (when a connection is accepted) and HTTP_REQUEST (on the request
 * head). Other events (SERVER_CONNECTED, which sends the PROXY header) are parsed and not run: the
 * sandbox does not put PROXY headers on its server connections.
 */

export class TclError extends Error {}

/** What an event's run decided. */
export type IRuleOutcome =
  | { kind: 'continue'; pool?: string | undefined }
  | { kind: 'reject' }
  | { kind: 'drop' }
  | { kind: 'respond'; code: number; headers: [string, string][] };

export interface ConnectionFacts {
  clientAddress: string;
  clientPort: number;
  localAddress: string;
  localPort: number;
}

export interface ParsedIRule {
  events: Map<string, string>;
}

/** Stops the run of an event: a terminal command (reject, drop, HTTP::respond) or `return`. */
class Stop {
  constructor(readonly outcome: IRuleOutcome | undefined) {}
}

/** An iRule's `when EVENT ?priority N? { body }` blocks; throws TclError when the text does not parse. */
export function parseIRule(text: string): ParsedIRule {
  const events = new Map<string, string>();
  for (const words of commands(text)) {
    const raw = words.map((w) => w.raw);
    if (raw[0] !== 'when' || (raw.length !== 3 && raw.length !== 5))
      throw new TclError(`an iRule holds only "when EVENT { … }" blocks, not: ${raw.join(' ').slice(0, 60)}`);
    const body = words[words.length - 1] as Word;
    if (body.kind !== 'braced') throw new TclError(`the body of ${raw[1]} must be braced`);
    if (events.has(raw[1] as string)) throw new TclError(`event ${raw[1]} appears twice`);
    // Every command of the body must parse too (a device checks the whole text when it is saved).
    checkScript(body.raw);
    events.set(raw[1] as string, body.raw);
  }
  return { events };
}

function checkScript(script: string, pools: string[] = []): string[] {
  for (const words of commands(script)) {
    const head = words[0]?.raw ?? '';
    const target = words[1];
    // A literal pool name (no substitution in it) is checked against the configuration when saved.
    if (head === 'pool' && target && target.kind !== 'braced' && !/[$[\\]/.test(target.raw))
      pools.push(target.raw);
    for (const w of words) {
      if (w.kind === 'braced' && head === 'if') checkScript(w.raw, pools);
      for (const inner of w.scripts) checkScript(inner, pools);
    }
  }
  return pools;
}

/** The pools an iRule names literally (`pool /P/name`): a device refuses to save one naming a pool that does not exist (§7.14). */
export function literalPools(text: string): string[] {
  const pools: string[] = [];
  for (const body of parseIRule(text).events.values()) checkScript(body, pools);
  return [...new Set(pools)];
}

/** Runs one event of an iRule; no event block means nothing to do. */
export function runEvent(
  rule: ParsedIRule,
  event: string,
  facts: ConnectionFacts,
  request: RequestHead | undefined,
  vars: Map<string, string>,
): IRuleOutcome {
  const body = rule.events.get(event);
  if (body === undefined) return { kind: 'continue' };
  const interp = new Interp(facts, request, vars);
  try {
    interp.evalScript(body);
  } catch (e) {
    if (e instanceof Stop) return e.outcome ?? { kind: 'continue', pool: interp.pool };
    throw e;
  }
  return { kind: 'continue', pool: interp.pool };
}

// ---- parsing: Tcl's words ----

interface Word {
  kind: 'braced' | 'quoted' | 'bare';
  /** The word's text: a braced word's content, or the unsubstituted text of the others. */
  raw: string;
  /** Command substitutions inside (to check that they parse). */
  scripts: string[];
}

/** A script's commands, each a list of words (comments and empty commands skipped). */
function commands(script: string): Word[][] {
  const out: Word[][] = [];
  let i = 0;
  const n = script.length;
  while (i < n) {
    while (i < n && /[\s;]/.test(script[i] as string)) i++;
    if (i >= n) break;
    if (script[i] === '#') {
      while (i < n && script[i] !== '\n') i++;
      continue;
    }
    const words: Word[] = [];
    while (i < n && script[i] !== '\n' && script[i] !== ';') {
      if (script[i] === ' ' || script[i] === '\t' || script[i] === '\r') {
        i++;
        continue;
      }
      if (script[i] === '\\' && script[i + 1] === '\n') {
        i += 2;
        continue;
      }
      const [word, next] = readWord(script, i);
      words.push(word);
      i = next;
    }
    if (words.length > 0) out.push(words);
  }
  return out;
}

function readWord(s: string, start: number): [Word, number] {
  if (s[start] === '{') {
    const end = matchBrace(s, start);
    const after = s[end + 1];
    if (after !== undefined && !/[\s;]/.test(after)) throw new TclError('extra characters after close-brace');
    return [{ kind: 'braced', raw: s.slice(start + 1, end), scripts: [] }, end + 1];
  }
  const quoted = s[start] === '"';
  let i = quoted ? start + 1 : start;
  const scripts: string[] = [];
  for (;;) {
    const c = s[i];
    if (c === undefined) {
      if (quoted) throw new TclError('missing "');
      break;
    }
    if (quoted && c === '"') {
      const after = s[i + 1];
      if (after !== undefined && !/[\s;\]]/.test(after))
        throw new TclError('extra characters after close-quote');
      i++;
      break;
    }
    if (!quoted && /[\s;]/.test(c)) break;
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (c === '[') {
      const end = matchBracket(s, i);
      scripts.push(s.slice(i + 1, end));
      i = end + 1;
      continue;
    }
    i++;
  }
  const raw = s.slice(quoted ? start + 1 : start, quoted ? i - 1 : i);
  return [{ kind: quoted ? 'quoted' : 'bare', raw, scripts }, i];
}

/** The index of the brace closing the one at `start` (backslash-escaped braces do not count). */
function matchBrace(s: string, start: number): number {
  let depth = 0;
  for (let i = start; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  throw new TclError('missing close-brace');
}

/** The index of the bracket closing the command substitution at `start`. */
function matchBracket(s: string, start: number): number {
  let i = start + 1;
  while (i < s.length) {
    const c = s[i];
    if (c === '\\') i += 2;
    else if (c === '{') i = matchBrace(s, i) + 1;
    else if (c === '"') {
      i++;
      while (i < s.length && s[i] !== '"') i += s[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '[') i = matchBracket(s, i) + 1;
    else if (c === ']') return i;
    else i++;
  }
  throw new TclError('missing close-bracket');
}

// ---- evaluation ----

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v' };

class Interp {
  pool: string | undefined;

  constructor(
    private readonly facts: ConnectionFacts,
    private readonly request: RequestHead | undefined,
    private readonly vars: Map<string, string>,
  ) {}

  evalScript(script: string): string {
    let result = '';
    for (const words of commands(script)) result = this.invoke(words.map((w) => this.value(w)));
    return result;
  }

  /** A word's value: braced as written, the others with Tcl's substitutions. */
  value(w: Word): string {
    return w.kind === 'braced' ? w.raw : this.substitute(w.raw);
  }

  substitute(text: string): string {
    let out = '';
    let i = 0;
    while (i < text.length) {
      const c = text[i] as string;
      if (c === '\\') {
        const next = text[i + 1] ?? '';
        if (next === 'u') {
          const hex = /^[0-9a-fA-F]{1,4}/.exec(text.slice(i + 2))?.[0] ?? '';
          out += hex ? String.fromCharCode(Number.parseInt(hex, 16)) : 'u';
          i += 2 + hex.length;
        } else {
          out += ESCAPES[next] ?? next;
          i += 2;
        }
      } else if (c === '[') {
        const end = matchBracket(text, i);
        out += this.evalScript(text.slice(i + 1, end));
        i = end + 1;
      } else if (c === '$') {
        const name = /^[A-Za-z0-9_]+/.exec(text.slice(i + 1))?.[0];
        if (!name) {
          out += '$';
          i++;
          continue;
        }
        const v = this.vars.get(name);
        if (v === undefined) throw new TclError(`can't read "${name}": no such variable`);
        out += v;
        i += 1 + name.length;
      } else {
        out += c;
        i++;
      }
    }
    return out;
  }

  private invoke(argv: string[]): string {
    const [cmd, ...args] = argv;
    const req = () => {
      if (!this.request) throw new TclError(`${cmd} outside an HTTP event`);
      return this.request;
    };
    switch (cmd) {
      case 'if':
        return this.ifCommand(args);
      case 'set':
        if (args.length === 2) this.vars.set(args[0] as string, args[1] as string);
        return this.vars.get(args[0] as string) ?? '';
      case 'return':
        throw new Stop(undefined);
      case 'log':
        // An operator's logging iRule: the sandbox keeps no log.
        return '';
      case 'reject':
        throw new Stop({ kind: 'reject' });
      case 'drop':
        throw new Stop({ kind: 'drop' });
      case 'pool':
        this.pool = args[0];
        return '';
      case 'expr':
        return String(this.expr(args.join(' ')));
      case 'regexp':
        return this.regexp(args);
      case 'string':
        return this.string(args);
      case 'getfield': {
        const [text = '', sep = '', index = '1'] = args;
        return text.split(sep)[Number(index) - 1] ?? '';
      }
      case 'IP::client_addr':
      case 'IP::remote_addr':
        return bareAddress(this.facts.clientAddress);
      case 'IP::local_addr':
        return bareAddress(this.facts.localAddress);
      case 'IP::version':
        return net.isIPv6(bareAddress(this.facts.clientAddress)) ? '6' : '4';
      case 'TCP::remote_port':
        return String(this.facts.clientPort);
      case 'TCP::local_port':
        return String(this.facts.localPort);
      case 'IP::addr':
        if (args[1] !== 'equals' || args.length !== 3)
          throw new TclError('IP::addr takes: addr equals addr[/prefix]');
        return addressEquals(args[0] as string, args[2] as string) ? '1' : '0';
      case 'HTTP::host':
        return req().headers.get('host') ?? '';
      case 'HTTP::path':
        return req().path;
      case 'HTTP::uri':
        return req().uri;
      case 'HTTP::header':
        if (args[0] !== 'value') throw new TclError('HTTP::header: only "value <name>"');
        return req().headers.get(String(args[1]).toLowerCase()) ?? '';
      case 'HTTP::cookie':
        if (args[0] !== 'value') throw new TclError('HTTP::cookie: only "value <name>"');
        return req().cookies.get(String(args[1])) ?? '';
      case 'HTTP::respond': {
        const [code, ...rest] = args;
        const headers: [string, string][] = [];
        for (let i = 0; i + 1 < rest.length; i += 2) headers.push([rest[i] as string, rest[i + 1] as string]);
        throw new Stop({ kind: 'respond', code: Number(code), headers });
      }
      default:
        throw new TclError(
          `invalid command name "${cmd}" (the sandbox runs only the commands this control plane sends)`,
        );
    }
  }

  private ifCommand(args: string[]): string {
    let i = 0;
    for (;;) {
      const condition = args[i];
      let body = args[i + 1];
      if (body === 'then') body = args[++i + 1];
      if (condition === undefined || body === undefined) throw new TclError('wrong # args: if');
      if (truthy(this.expr(condition))) return this.evalScript(body);
      i += 2;
      const next = args[i];
      if (next === undefined) return '';
      if (next === 'elseif') {
        i++;
        continue;
      }
      if (next === 'else' && args[i + 1] !== undefined) return this.evalScript(args[i + 1] as string);
      throw new TclError(`if: unexpected ${next}`);
    }
  }

  private regexp(args: string[]): string {
    let nocase = false;
    let i = 0;
    for (; i < args.length; i++) {
      if (args[i] === '-nocase') nocase = true;
      else if (args[i] === '--') {
        i++;
        break;
      } else break;
    }
    const [pattern, subject, matchVar, ...subVars] = args.slice(i);
    if (pattern === undefined || subject === undefined) throw new TclError('wrong # args: regexp');
    let re: RegExp;
    try {
      re = new RegExp(pattern, nocase ? 'i' : '');
    } catch (e) {
      throw new TclError(`couldn't compile regular expression pattern: ${(e as Error).message}`);
    }
    const m = re.exec(subject);
    if (!m) return '0';
    if (matchVar !== undefined) this.vars.set(matchVar, m[0]);
    for (const [k, v] of subVars.entries()) this.vars.set(v, m[k + 1] ?? '');
    return '1';
  }

  private string(args: string[]): string {
    const [sub, ...rest] = args;
    switch (sub) {
      case 'tolower':
        return (rest[0] ?? '').toLowerCase();
      case 'first':
        return String((rest[1] ?? '').indexOf(rest[0] ?? ''));
      case 'range': {
        const [s = '', first = '0', last = 'end'] = rest;
        const at = (x: string) => (x.startsWith('end') ? s.length - 1 - Number(x.slice(4) || 0) : Number(x));
        return s.slice(Math.max(0, at(first)), Math.max(0, at(last) + 1));
      }
      case 'equal': {
        let nocase = false;
        let length: number | undefined;
        const opts = rest.slice(0, -2);
        for (let i = 0; i < opts.length; i++) {
          if (opts[i] === '-nocase') nocase = true;
          else if (opts[i] === '-length') length = Number(opts[++i]);
          else throw new TclError(`string equal: bad option ${opts[i]}`);
        }
        let [a = '', b = ''] = rest.slice(-2);
        if (nocase) [a, b] = [a.toLowerCase(), b.toLowerCase()];
        if (length !== undefined && length >= 0) [a, b] = [a.slice(0, length), b.slice(0, length)];
        return a === b ? '1' : '0';
      }
      default:
        throw new TclError(`string ${sub}: not run by the sandbox`);
    }
  }

  /** Tcl's expr, for what these iRules use: ! && || == != >= <= > < eq ne, parentheses, numbers, strings and substitutions. */
  expr(text: string): string | number {
    const tokens = this.exprTokens(text);
    let at = 0;
    const peek = () => tokens[at];
    const or = (): string | number => {
      let left = and();
      while (peek() === '||') {
        at++;
        const right = and();
        left = truthy(left) || truthy(right) ? 1 : 0;
      }
      return left;
    };
    const and = (): string | number => {
      let left = equality();
      while (peek() === '&&') {
        at++;
        const right = equality();
        left = truthy(left) && truthy(right) ? 1 : 0;
      }
      return left;
    };
    const equality = (): string | number => {
      let left = relation();
      for (;;) {
        const op = peek();
        if (op !== '==' && op !== '!=' && op !== 'eq' && op !== 'ne') return left;
        at++;
        const right = relation();
        const same = op === 'eq' || op === 'ne' ? String(left) === String(right) : compare(left, right) === 0;
        left = same === (op === '==' || op === 'eq') ? 1 : 0;
      }
    };
    const relation = (): string | number => {
      let left = unary();
      for (;;) {
        const op = peek();
        if (op !== '<' && op !== '>' && op !== '<=' && op !== '>=') return left;
        at++;
        const c = compare(left, unary());
        left = (op === '<' ? c < 0 : op === '>' ? c > 0 : op === '<=' ? c <= 0 : c >= 0) ? 1 : 0;
      }
    };
    const unary = (): string | number => {
      const t = tokens[at++];
      if (t === undefined) throw new TclError('expr: missing operand');
      if (t === '!') return truthy(unary()) ? 0 : 1;
      if (t === '(') {
        const v = or();
        if (tokens[at++] !== ')') throw new TclError('expr: missing )');
        return v;
      }
      if (typeof t === 'object') return t.value;
      if (/^-?\d+$/.test(t)) return Number(t);
      throw new TclError(`expr: unexpected ${t}`);
    };
    const result = or();
    if (at !== tokens.length) throw new TclError(`expr: extra ${String(tokens[at])}`);
    return result;
  }

  private exprTokens(text: string): (string | { value: string })[] {
    const tokens: (string | { value: string })[] = [];
    let i = 0;
    while (i < text.length) {
      const c = text[i] as string;
      if (/\s/.test(c)) {
        i++;
      } else if (c === '[') {
        const end = matchBracket(text, i);
        tokens.push({ value: this.evalScript(text.slice(i + 1, end)) });
        i = end + 1;
      } else if (c === '"') {
        let j = i + 1;
        while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
        if (j >= text.length) throw new TclError('expr: missing "');
        tokens.push({ value: this.substitute(text.slice(i + 1, j)) });
        i = j + 1;
      } else if (c === '{') {
        const end = matchBrace(text, i);
        tokens.push({ value: text.slice(i + 1, end) });
        i = end + 1;
      } else if (c === '$') {
        const name = /^[A-Za-z0-9_]+/.exec(text.slice(i + 1))?.[0] ?? '';
        tokens.push({ value: this.substitute(`$${name}`) });
        i += 1 + name.length;
      } else {
        const op = /^(\|\||&&|==|!=|>=|<=|eq\b|ne\b|[!()<>]|\d+)/.exec(text.slice(i))?.[0];
        if (!op) throw new TclError(`expr: unexpected ${text.slice(i, i + 10)}`);
        tokens.push(op);
        i += op.length;
      }
    }
    return tokens;
  }
}

function truthy(v: string | number): boolean {
  if (typeof v === 'number') return v !== 0;
  if (/^-?\d+$/.test(v)) return Number(v) !== 0;
  if (/^(true|yes|on)$/i.test(v)) return true;
  if (/^(false|no|off)$/i.test(v)) return false;
  throw new TclError(`expected boolean value but got "${v}"`);
}

function compare(a: string | number, b: string | number): number {
  const na = Number(a);
  const nb = Number(b);
  if (String(a).trim() !== '' && String(b).trim() !== '' && !Number.isNaN(na) && !Number.isNaN(nb))
    return na - nb;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

/** An address without its route domain (`%2`) and without the IPv4-mapped prefix a dual-stack socket adds. */
function bareAddress(address: string): string {
  return address.replace(/%\d+$/, '').replace(/^::ffff:(?=\d+\.)/, '');
}

/** `IP::addr a equals b[/prefix]`: whether `a` is `b`, or lies in the network `b/prefix`. */
function addressEquals(a: string, b: string): boolean {
  const address = bareAddress(a);
  const [network = '', prefix] = b.split('/');
  const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
  if (!net.isIP(address) || !net.isIP(network) || (net.isIPv6(network) ? 'ipv6' : 'ipv4') !== family)
    return false;
  const list = new net.BlockList();
  if (prefix === undefined) list.addAddress(network, family);
  else list.addSubnet(network, Number(prefix), family);
  return list.check(address, family);
}
