import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

function imports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)].map(
    (m) => m[1] as string,
  );
}

/** Files under `dir` with an import matching `forbidden`, as `file → import`. */
function violations(dir: string, forbidden: RegExp): string[] {
  return sources(dir).flatMap((f) =>
    imports(f)
      .filter((i) => forbidden.test(i))
      .map((i) => `${f} → ${i}`),
  );
}

// The dependency rules of docs/ARCHITECTURE.md, checked on every run.
describe('layering', () => {
  it('the domain is pure: no SDK, Powertools, adapter, service or Node I/O import', () => {
    // Pure helpers of Node (isIP, hashing) are fine; anything that does I/O is not.
    const io = /^node:(fs|http|https|http2|child_process|dgram|dns|tls|worker_threads|process)/;
    expect(
      violations('functions/domain', /^@aws-sdk|^@aws-lambda-powertools|\/adapters\/|\/services\//),
    ).toEqual([]);
    expect(violations('functions/domain', io)).toEqual([]);
  });

  it('services import only the domain (and each other): no adapter, SDK or shared module', () => {
    expect(
      violations(
        'functions/services',
        /^@aws-sdk|^@aws-lambda-powertools|\/adapters\/|\/shared\/|\/handlers\//,
      ),
    ).toEqual([]);
  });

  it('functions/shared imports no adapter', () => {
    expect(violations('functions/shared', /\/adapters\//)).toEqual([]);
  });

  it('handlers build no adapters: wiring does', () => {
    expect(violations('functions/handlers', /\/adapters\/|\/wiring\//)).toEqual([]);
  });

  it('lib/ imports nothing from cli/ or local/', () => {
    expect(violations('lib', /(^|\/)cli\/|(^|\/)local\//)).toEqual([]);
  });

  it('each Lambda entry point wires its function through its wiring module', () => {
    for (const entry of sources('functions/lambda')) {
      expect(imports(entry).filter((i) => i.includes('/wiring/'))).toHaveLength(1);
    }
  });
});
