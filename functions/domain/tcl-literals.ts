/*
 * Text a user wrote, put into Tcl (an iRule) so that Tcl can only ever read it as that text.
 *
 * A double-quoted Tcl word substitutes `$`, `[ ]` and backslashes, and a braced one ends at an
 * unbalanced brace: no escaping of a few characters is safe in both. So every character but an
 * ASCII letter or digit is written as a `\uXXXX` escape with exactly four hex digits (Tcl reads at
 * most four, so a following letter or digit is never taken into it): the word holds only letters,
 * digits and such escapes, and the Tcl parser turns it back into the original text, which no
 * command is ever built from.
 */

const PLAIN = /^[A-Za-z0-9]$/;

/** `text` as a double-quoted Tcl word whose value is exactly `text`. Only the Basic Multilingual Plane. */
export function tclQuoted(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    if (PLAIN.test(ch)) out += ch;
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else throw new RangeError('Tcl 8.4 escapes reach U+FFFF only');
  }
  return `${out}"`;
}
