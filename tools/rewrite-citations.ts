/**
 * Rewrites citations of the reference notes that used to live outside the repository into
 * citations of their in-repository pages (docs/reference/), keeping every section number:
 *
 *   the real-device note      → device-facts.md    (same § numbers)
 *   the BIG-IP REST note      → bigip-rest.md      (same A.n / C.n sections)
 *   the LBaaS features note   → peer-features.md   (same § numbers)
 *   the upstream F5 note      → upstream-agent.md  (same § numbers)
 *
 * A path that reached outside the repository becomes the page's path in it; a bare name stays a
 * bare name. A file that cites bare section numbers (`§4.3`) without naming any reference page gets
 * the device facts page named at its first such citation (every such citation meant that page).
 * Idempotent: run it again after merging branches that touched the same files.
 *
 *   npx tsx tools/rewrite-citations.ts          # rewrite, list the files changed
 *   npx tsx tools/rewrite-citations.ts --check  # change nothing; exit 1 if anything would change
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

// The old names are assembled here so this file does not itself cite them.
const md = '.md';
const OLD = {
  device: `bigip-real-device${md}`,
  rest: `bigip${md}`,
  features: 'lbaas-features',
  upstream: `upstream-f5${md}`,
};
const NEW = {
  device: `device-facts${md}`,
  rest: `bigip-rest${md}`,
  features: `peer-features${md}`,
  upstream: `upstream-agent${md}`,
};
const REFERENCE_PAGES = Object.values(NEW);

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Where the notes lived: `../shared/reference/`, `/work/shared/reference/`, `shared/reference/`. */
const OUTSIDE = String.raw`(?:(?:\.\./)+|/work/)?shared/reference/`;

const rules: [RegExp, string][] = [
  // Paths that left the repository become the page's path inside it.
  [new RegExp(`${OUTSIDE}${esc(OLD.device)}`, 'g'), `docs/reference/${NEW.device}`],
  [new RegExp(`${OUTSIDE}${esc(OLD.rest)}`, 'g'), `docs/reference/${NEW.rest}`],
  [new RegExp(`${OUTSIDE}${esc(OLD.features)}(?:${esc(md)})?`, 'g'), `docs/reference/${NEW.features}`],
  [new RegExp(`${OUTSIDE}${esc(OLD.upstream)}`, 'g'), `docs/reference/${NEW.upstream}`],
  // Bare names; the short REST note's name only whole (not the tail of another name or path).
  [new RegExp(esc(OLD.device), 'g'), NEW.device],
  [new RegExp(`(?<![\\w/.-])${esc(OLD.rest)}`, 'g'), NEW.rest],
  [new RegExp(`(?<![\\w/.-])${esc(OLD.features)}(?:${esc(md)})?`, 'g'), NEW.features],
  [new RegExp(esc(OLD.upstream), 'g'), NEW.upstream],
];

/** A bare section citation (`§4.3`), not one of an RFC (`RFC 9110 §4.2.3`). */
const BARE_SECTION = /(?<!RFC \d+ )§\s?(?=\d)/;

export function rewrite(text: string): string {
  let out = text;
  for (const [pattern, replacement] of rules) out = out.replace(pattern, replacement);
  const namesAPage = REFERENCE_PAGES.some((page) => out.includes(page));
  if (!namesAPage && BARE_SECTION.test(out)) out = out.replace(BARE_SECTION, `${NEW.device} §`);
  return out;
}

const SKIP = [/^node_modules\//, /^bench\/results\//, /^docs\/reference\//, /^tools\/rewrite-citations\.ts$/];
const TEXT = /\.(ts|js|mjs|cjs|md|json|sh|ya?ml|txt)$|^\.ci\/run$/;

function trackedFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z'], { encoding: 'utf8' })
    .split('\0')
    .filter((f) => f && TEXT.test(f) && f !== 'package-lock.json' && !SKIP.some((s) => s.test(f)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const check = process.argv.includes('--check');
  const changed: string[] = [];
  for (const file of trackedFiles()) {
    const before = readFileSync(file, 'utf8');
    const after = rewrite(before);
    if (after === before) continue;
    changed.push(file);
    if (!check) writeFileSync(file, after);
  }
  for (const file of changed) console.log(file);
  console.log(`${changed.length} file(s) ${check ? 'would change' : 'rewritten'}`);
  if (check && changed.length > 0) process.exit(1);
}
