/*
 * The regular expressions an L7 rule may compare with (compare_type REGEX).
 *
 * They run on a BIG-IP as Tcl `regexp` (advanced regular expressions), are checked by Octavia's
 * clients against Python's `re`, and the sandbox runs them as JavaScript RegExps. Only the part of
 * the syntax the three read the same way is taken: literals, `.`, `^` `$`, groups `( )` and `(?: )`,
 * alternation, the quantifiers `* + ? {m} {m,} {m,n}` (greedy), bracket classes with ranges, and the
 * escapes `\d \D \w \W \s \S` and `\` before punctuation. Refused (they differ between the three or
 * cannot be had on the device): back-references and other escapes before a letter or digit (`\b` is
 * a backspace in Tcl, a word boundary elsewhere), look-around and named groups, lazy quantifiers,
 * POSIX classes `[[:alpha:]]`, an unescaped `]` `{` `}` where it would be a literal.
 */

/** The longest value an L7 rule takes (Octavia's limit). */
export const MAX_REGEX_LENGTH = 255;

const CLASS_ESCAPES = new Set(['d', 'D', 'w', 'W', 's', 'S']);
const PUNCTUATION = /^[!-/:-@[-`{-~]$/;
/** Characters that are syntax outside a bracket class. */
const SPECIAL = new Set(['(', ')', '[', ']', '{', '}', '*', '+', '?', '.', '^', '$', '|', '\\']);

/** Why `value` is not a REGEX this system can put on a device, or undefined when it is. */
export function regexProblem(value: string): string | undefined {
  if (value.length === 0 || value.length > MAX_REGEX_LENGTH)
    return `a REGEX value must be 1-${MAX_REGEX_LENGTH} characters`;
  if (/[^\x21-\x7e]/.test(value)) return 'a REGEX value must be printable ASCII without spaces';
  try {
    new Parser(value).parse();
    return undefined;
  } catch (error) {
    return `REGEX ${(error as Error).message}`;
  }
}

class Parser {
  private at = 0;
  private depth = 0;

  constructor(private readonly s: string) {}

  parse(): void {
    this.alternation();
    if (this.at < this.s.length) this.fail(`unexpected ${this.s[this.at]}`);
  }

  private fail(why: string): never {
    throw new Error(`${why} at offset ${this.at}`);
  }

  private alternation(): void {
    this.branch();
    while (this.s[this.at] === '|') {
      this.at++;
      this.branch();
    }
  }

  private branch(): void {
    while (this.at < this.s.length && this.s[this.at] !== '|' && this.s[this.at] !== ')') {
      const anchor = this.atom();
      if (this.quantifier() && anchor) this.fail('a quantifier after an anchor');
      if (/^[*+?{]$/.test(this.s[this.at] ?? ''))
        this.fail('a quantifier after a quantifier (lazy or possessive)');
    }
  }

  /** One atom; true when it is an anchor (`^` or `$`). */
  private atom(): boolean {
    const c = this.s[this.at] as string;
    if (c === '(') {
      this.at++;
      if (this.s[this.at] === '?') {
        if (this.s[this.at + 1] !== ':') this.fail('look-around, named groups and flags are not supported');
        this.at += 2;
      }
      if (++this.depth > 32) this.fail('groups nested too deep');
      this.alternation();
      if (this.s[this.at] !== ')') this.fail('an unclosed group');
      this.at++;
      this.depth--;
      return false;
    }
    if (c === '[') return this.bracket();
    if (c === '\\') return this.escape(false);
    if (c === '^' || c === '$') {
      this.at++;
      return true;
    }
    if (c === '.') {
      this.at++;
      return false;
    }
    if (SPECIAL.has(c)) this.fail(`${c} must be escaped to be a literal`);
    this.at++;
    return false;
  }

  private escape(inClass: boolean): false {
    const next = this.s[this.at + 1];
    if (next === undefined) this.fail('a trailing backslash');
    if (!CLASS_ESCAPES.has(next) && !PUNCTUATION.test(next))
      this.fail(`\\${next} is not supported (only \\d \\D \\w \\W \\s \\S and \\ before punctuation)`);
    if (inClass && /[DWS]/.test(next)) this.fail(`\\${next} inside a bracket class is not supported`);
    this.at += 2;
    return false;
  }

  private bracket(): false {
    this.at++;
    if (this.s[this.at] === '^') this.at++;
    let items = 0;
    while (this.s[this.at] !== ']') {
      const from = this.classItem();
      items++;
      if (this.s[this.at] !== '-' || this.s[this.at + 1] === ']') continue;
      this.at++;
      const to = this.classItem();
      if (from === undefined || to === undefined) this.fail('a range must run between two literals');
      if (to < from) this.fail(`the range ${from}-${to} is reversed`);
      if (this.s[this.at] === '-' && this.s[this.at + 1] !== ']')
        this.fail('a range cannot start at the end of another');
    }
    if (items === 0) this.fail('an empty bracket class');
    this.at++;
    return false;
  }

  /** One member of a bracket class: its character, or undefined for \d \w \s. */
  private classItem(): string | undefined {
    const c = this.s[this.at];
    if (c === undefined) this.fail('an unclosed bracket class');
    if (c === '[') this.fail('[ inside a bracket class must be escaped');
    if (c === '\\') {
      const next = this.s[this.at + 1] as string;
      this.escape(true);
      return PUNCTUATION.test(next) ? next : undefined;
    }
    this.at++;
    return c;
  }

  /** A quantifier if one follows; true when one was read. */
  private quantifier(): boolean {
    const c = this.s[this.at];
    if (c === '*' || c === '+' || c === '?') {
      this.at++;
      return true;
    }
    if (c !== '{') return false;
    const m = /^\{(\d{1,3})(,(\d{1,3})?)?\}/.exec(this.s.slice(this.at));
    if (!m) this.fail('{ must start a bound such as {2}, {2,} or {2,5} (or be escaped)');
    const low = Number(m[1]);
    const high = m[3] === undefined ? undefined : Number(m[3]);
    // Tcl's limit on a bound (RE_DUPMAX) is 255.
    if (low > 255 || (high ?? 0) > 255 || (high !== undefined && high < low)) this.fail('a bad bound');
    this.at += m[0].length;
    return true;
  }
}
