import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { markdownTables } from '../../support/markdown.js';

// docs/reliability.md pairs each guarantee with the tests that show it; a test renamed or deleted
// must not leave a guarantee pointing at nothing.
const root = new URL('../../../', import.meta.url);
const page = readFileSync(new URL('docs/reliability.md', root), 'utf8');
const scripts = Object.keys(
  (JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> })
    .scripts,
);
const guarantees = markdownTables(page).filter((t) => t.header[0] === 'guarantee');
const rows = guarantees.flatMap((t) => t.rows);
const quoted = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');

describe('docs/reliability.md', () => {
  it('has guarantees', () => {
    expect(rows.length).toBeGreaterThan(10);
  });

  it.each(rows.map((r) => [r[0] ?? '', r] as const))('shows "%s" by tests that exist', (_, row) => {
    const evidence = quoted(row[2] ?? '');
    const paths = evidence.filter((e) => /^(test|bench)\//.test(e));
    const commands = evidence.filter((e) => e.startsWith('npm run '));
    expect(
      paths.some((p) => p.startsWith('test/')),
      'names at least one test',
    ).toBe(true);
    for (const path of paths) expect(existsSync(new URL(path, root)), path).toBe(true);
    for (const command of commands) expect(scripts, command).toContain(command.slice('npm run '.length));
  });

  it('names only files that exist anywhere on the page', () => {
    const named = quoted(page).filter((e) => /^(test|bench|functions|local|lib|cli)\/[\w./-]+$/.test(e));
    const missing = named.filter((p) => !existsSync(new URL(p, root)));
    expect(missing).toEqual([]);
  });
});
