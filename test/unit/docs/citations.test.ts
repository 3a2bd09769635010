import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { headingAnchors, outsideCode } from '../../support/markdown.js';

// Everything a file cites is in the repository: a `.md` document named anywhere (comment, test
// name, page) exists here, a cited section exists on its reference page, and every link of a
// markdown page reaches a file and heading that exist.
const ROOT = join(import.meta.dirname, '..', '..', '..');
const SKIP = /^(node_modules|\.git|cdk\.out|\.local|coverage|bench\/results)(\/|$)/;
const TEXT = /\.(ts|js|mjs|cjs|md|json|sh|ya?ml|txt)$|^\.ci\/run$/;

const everyFile = readdirSync(ROOT, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile())
  .map((e) => relative(ROOT, join(e.parentPath, e.name)));
const files = everyFile.filter((f) => !SKIP.test(f) && TEXT.test(f) && f !== 'package-lock.json');
const read = (f: string) => readFileSync(join(ROOT, f), 'utf8');
// Pages a benchmark writes next to its results are documents too (they are not read for citations).
const markdownNames = new Set(
  everyFile.filter((f) => f.endsWith('.md') && !/^(node_modules|\.git)\//.test(f)).map((f) => basename(f)),
);
const REFERENCE = ['device-facts', 'bigip-rest', 'peer-features', 'upstream-agent'];

/** The `.md` documents a text names, URLs left out. */
function citedDocuments(text: string): string[] {
  const withoutUrls = text.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '');
  return [...withoutUrls.matchAll(/(?<![\w/.-])((?:\.{1,2}\/)*(?:[\w.-]+\/)*[\w.-]+\.md)(?![\w-])/g)].map(
    (m) => m[1] ?? '',
  );
}

/** Whether a cited document exists: a path (from the citing file or the root) or a name. */
function exists(citing: string, doc: string): boolean {
  if (!doc.includes('/')) return markdownNames.has(doc);
  return existsSync(join(ROOT, dirname(citing), doc)) || existsSync(join(ROOT, doc));
}

/** Whether a reference page has the section `id` (`4.3`, `A.6`) as a heading or a table row. */
function hasSection(page: string, id: string): boolean {
  const text = read(`docs/reference/${page}.md`);
  const e = id.replace(/\./g, '\\.');
  return new RegExp(`^#{2,4}\\s+${e}[.\\s]|^\\|\\s*${e}\\s*\\|`, 'm').test(text);
}

describe('citations', () => {
  it('finds the files to check', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(files).toContain('docs/reference/device-facts.md');
  });

  it('cites no .md document the repository does not hold', () => {
    const missing = files.flatMap((f) =>
      citedDocuments(read(f))
        .filter((doc) => !exists(f, doc))
        .map((doc) => `${f} cites ${doc}`),
    );
    expect(missing).toEqual([]);
  });

  it('cites only sections that exist on the reference pages', () => {
    const cite = new RegExp(
      `\\b(${REFERENCE.join('|')})\\.md\`?\\]?\\s*(?:§\\s?(\\d+(?:\\.\\d+)?)|([A-D]\\.\\d+(?:\\.\\d+)?))`,
      'g',
    );
    const missing = files.flatMap((f) =>
      [...read(f).matchAll(cite)]
        .filter(([, page = '', section, part]) => !hasSection(page, section ?? part ?? ''))
        .map(([match]) => `${f}: ${match}`),
    );
    expect(missing).toEqual([]);
  });

  it('names the reference page wherever a bare section number (§4.3) is cited', () => {
    const bare = /(?<!RFC \d+ )§\s?\d/;
    const unnamed = files.filter(
      (f) =>
        !f.startsWith('docs/reference/') &&
        bare.test(read(f)) &&
        !REFERENCE.some((page) => read(f).includes(`${page}.md`)),
    );
    expect(unnamed).toEqual([]);
  });
});

describe('paths outside the repository', () => {
  // The notes this project was written from sat beside the checkout (a `shared` folder above it, on
  // the build machine's work directory): a reader of the repository has neither. The rewriting tool
  // names those paths to replace them.
  const checked = files.filter((f) => f !== 'tools/rewrite-citations.ts');

  it('names no path of the machine it was written on', () => {
    expect(checked.filter((f) => /(?<![\w.-])[/]work[/]/.test(read(f)))).toEqual([]);
  });

  it('names a shared folder above a file only where the repository holds one', () => {
    const outside = checked.flatMap((f) =>
      [...read(f).matchAll(/(?<![\w.])((?:\.\.\/)+)shared\b/g)]
        .filter(([, up = '']) => !existsSync(join(ROOT, dirname(f), up, 'shared')))
        .map(([match]) => `${f}: ${match}`),
    );
    expect(outside).toEqual([]);
  });
});

describe('markdown links', () => {
  const links = files
    .filter((f) => f.endsWith('.md'))
    .flatMap((f) =>
      outsideCode(read(f))
        .flatMap((line) => [...line.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? ''))
        .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target))
        .map((target) => [f, target] as const),
    );

  it('finds links to check', () => {
    expect(links.length).toBeGreaterThan(50);
  });

  it('reach files and headings that exist', () => {
    const broken = links.filter(([from, target]) => {
      const [path = '', anchor] = target.split('#');
      const file = path ? join(dirname(from), path) : from;
      if (!existsSync(join(ROOT, file))) return true;
      return anchor !== undefined && file.endsWith('.md') && !headingAnchors(read(file)).has(anchor);
    });
    expect(broken.map(([from, target]) => `${from} → ${target}`)).toEqual([]);
  });
});
