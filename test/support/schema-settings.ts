import type { z } from 'zod';

/** One setting of a zod schema, as a documentation page names it. */
export interface SchemaSetting {
  /** Dot path, `[]` for an array's items: `environments[].devices.units[].port`. */
  path: string;
  optional: boolean;
  /** The value the schema fills in when the setting is left out (`undefined`: none). */
  defaultValue: unknown;
  kind: string;
  /** Enum options, when the setting is one of a list. */
  options?: readonly string[];
  /** `10–3600`, `≥ 60`, `> 0, ≤ 1` for numbers with bounds. */
  range?: string;
}

type Any = z.core.$ZodType;
const def = (s: Any) => s._zod.def as unknown as Record<string, unknown> & { type: string };

/** The bounds a number schema's checks set, as the configuration page writes them. */
function rangeOf(s: Any): string | undefined {
  let min: { value: number; inclusive: boolean } | undefined;
  let max: { value: number; inclusive: boolean } | undefined;
  for (const check of (def(s).checks as Any[] | undefined) ?? []) {
    const c = def(check) as unknown as { check: string; value: number; inclusive: boolean };
    if (c.check === 'greater_than') min = { value: c.value, inclusive: c.inclusive };
    if (c.check === 'less_than') max = { value: c.value, inclusive: c.inclusive };
  }
  const n = (v: number) => v.toLocaleString('en-US');
  if (min && max) {
    return min.inclusive && max.inclusive
      ? `${n(min.value)}–${n(max.value)}`
      : `${min.inclusive ? '≥' : '>'} ${n(min.value)}, ${max.inclusive ? '≤' : '<'} ${n(max.value)}`;
  }
  if (min) return `${min.inclusive ? '≥' : '>'} ${n(min.value)}`;
  if (max) return `${max.inclusive ? '≤' : '<'} ${n(max.value)}`;
  return undefined;
}

/**
 * Every setting a schema accepts, walked from the schema itself (not from any page), so a page can
 * be checked against it. A sub-schema met a second time (the same `devices` object under `groups[]`)
 * is named but not walked again: the page says "the same fields as …" once.
 */
export function schemaSettings(root: Any): SchemaSetting[] {
  const out: SchemaSetting[] = [];
  const seen = new Set<Any>();
  const visit = (schema: Any, path: string, optional: boolean, defaultValue: unknown, record = true) => {
    let s = schema;
    for (;;) {
      const d = def(s);
      if (d.type === 'optional') optional = true;
      else if (d.type === 'default') defaultValue ??= d.defaultValue as unknown;
      else if (d.type === 'pipe') {
        s = d.in as Any;
        continue;
      } else break;
      s = d.innerType as Any;
    }
    const d = def(s);
    if (record && path) {
      const setting: SchemaSetting = {
        path,
        optional: optional || defaultValue !== undefined,
        defaultValue,
        kind: d.type,
      };
      if (d.type === 'enum') setting.options = Object.values(d.entries as Record<string, string>);
      if (d.type === 'number') {
        const range = rangeOf(s);
        if (range) setting.range = range;
      }
      out.push(setting);
    }
    if (d.type === 'array') {
      const element = d.element as Any;
      const inner = def(element).type === 'pipe' ? (def(element).in as Any) : element;
      if (def(inner).type === 'object') visit(element, `${path}[]`, false, undefined, false);
      return;
    }
    if (d.type !== 'object' || seen.has(s)) return;
    seen.add(s);
    for (const [key, child] of Object.entries(d.shape as Record<string, Any>)) {
      visit(child, path ? `${path}.${key}` : key, false, undefined);
    }
  };
  visit(root, '', false, undefined);
  return out;
}
