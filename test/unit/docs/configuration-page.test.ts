import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../../functions/shared/config-rules.js';
import { lbaasConfigSchema } from '../../../lib/config/lbaas-config.js';
import { markdownTables } from '../../support/markdown.js';
import { schemaSettings } from '../../support/schema-settings.js';

// docs/configuration.md is written by hand; this checks it against the schema the code validates
// with, so a setting added, renamed or re-ranged in the schema cannot leave the page behind.
const page = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
const tables = markdownTables(page);

/** Rows of the tables whose first column is `header`, keyed by the setting they name. */
function rows(header: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const table of tables.filter((t) => t.header[0] === header)) {
    for (const cells of table.rows) {
      const name = /`([^`]+)`/.exec(cells[0] ?? '')?.[1];
      if (!name) throw new Error(`a row of a "${header}" table names no setting: ${cells.join(' | ')}`);
      if (out.has(name)) throw new Error(`${name} is listed twice`);
      out.set(name, cells);
    }
  }
  return out;
}

const n = (v: number) => v.toLocaleString('en-US');
const settings = schemaSettings(lbaasConfigSchema);
const documented = rows('setting');

describe('docs/configuration.md against the settings schema', () => {
  it('lists every setting of lbaas.config.json, and nothing the schema does not accept', () => {
    const inSchema = settings.map((s) => s.path).sort();
    expect([...documented.keys()].sort()).toEqual(inSchema);
  });

  it.each(settings.map((s) => [s.path, s] as const))('gives %s its default, range and choices', (path, s) => {
    const [, allowed = '', byDefault = ''] = documented.get(path) ?? [];
    if (s.defaultValue !== undefined) expect(byDefault).toBe(`\`${JSON.stringify(s.defaultValue)}\``);
    else expect(byDefault).toBe(s.optional ? '—' : 'required');
    if (s.range) expect(allowed).toContain(s.range);
    for (const option of s.options ?? []) expect(allowed).toContain(`\`${option}\``);
  });

  it('lists the derived settings (SETTINGS without a field in the file) with their defaults and ranges', () => {
    const fileFields = new Set(settings.map((s) => s.path.split('.').pop()));
    const derived = rows('derived setting');
    const expected = Object.keys(SETTINGS).filter((k) => !fileFields.has(k));
    expect([...derived.keys()].sort()).toEqual(expected.sort());
    for (const name of expected) {
      const rule = SETTINGS[name as keyof typeof SETTINGS];
      const [, allowed = '', byDefault = ''] = derived.get(name) ?? [];
      expect(allowed, name).toContain(`${n(rule.min)}–${n(rule.max)}`);
      expect(byDefault, name).toBe(`\`${rule.default}\``);
    }
  });
});
