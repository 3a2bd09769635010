import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
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

const text = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** Files under `dir` whose text (comments left out) matches `pattern`, as `file: match`. */
function uses(dir: string, pattern: RegExp): string[] {
  return sources(dir).flatMap((f) => {
    const code = text(f)
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    return [...code.matchAll(new RegExp(pattern, 'g'))].map((m) => `${f}: ${m[0]}`);
  });
}

/** The folder of functions/ a file or relative import lands in (`domain`, `services`, …). */
function layerOf(file: string, spec?: string): string | undefined {
  const path = spec ? join(dirname(file), spec) : file;
  const match = /^functions\/([a-z]+)\//.exec(relative(ROOT, join(ROOT, path)));
  return match?.[1];
}

const ARCHITECTURE = readFileSync(join(ROOT, 'docs', 'ARCHITECTURE.md'), 'utf8');

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

// What docs/ARCHITECTURE.md claims, checked against the code.
describe('docs/ARCHITECTURE.md says what the code does', () => {
  it('the layer diagram draws every import between the folders of functions/, and no other', () => {
    const section = ARCHITECTURE.slice(ARCHITECTURE.indexOf('## Layers'));
    const diagram = section.slice(
      section.indexOf('```mermaid'),
      section.indexOf('```', section.indexOf('```mermaid') + 3),
    );
    const drawn = [...diagram.matchAll(/^\s*([a-z]+) --> ([a-z]+)\s*$/gm)].map((m) => `${m[1]} --> ${m[2]}`);
    const actual = new Set<string>();
    for (const file of sources('functions')) {
      const from = layerOf(file) as string;
      for (const spec of imports(file).filter((i) => i.startsWith('.'))) {
        const to = layerOf(file, spec);
        if (to && (to !== from || from === 'services')) actual.add(`${from} --> ${to}`);
      }
    }
    expect(drawn.sort()).toEqual([...actual].sort());
  });

  it('the domain reads no environment, clock, randomness or timer; neither do the services (all are parameters)', () => {
    const impure = /process\.env|Date\.now\(|Math\.random\(|setTimeout\(|setInterval\(/;
    expect(uses('functions/domain', impure)).toEqual([]);
    expect(uses('functions/services', impure)).toEqual([]);
  });

  it('functions/shared/config.ts is the only reader of the environment', () => {
    expect(
      uses('functions', /process\.env/).filter((u) => !u.startsWith('functions/shared/config.ts')),
    ).toEqual([]);
  });

  it('each adapter implements one port, the one the map names', () => {
    const bullet = ARCHITECTURE.slice(ARCHITECTURE.indexOf('- Each class in `functions/adapters/`'));
    const claimed = new Set<string>();
    for (const m of bullet
      .slice(0, bullet.indexOf('\n- '))
      .matchAll(/((?:`\w+`\/)*`\w+`)(?: \([^)]*\))?\s+→\s+`(\w+)`/g))
      for (const adapter of (m[1] as string).split('/'))
        claimed.add(`${adapter.replaceAll('`', '')} → ${m[2]}`);
    const ports = new Set(
      [...text('functions/domain/ports.ts').matchAll(/^export interface (\w+)/gm)].map((m) => m[1] as string),
    );
    const implemented = new Set<string>();
    for (const file of sources('functions/adapters')) {
      for (const m of text(file).matchAll(/^export class (\w+)(?: implements ([\w, ]+))?/gm)) {
        if (m[1] === 'BigIpRestClient') continue; // the device adapter's transport, not an adapter of a port
        const ports_ = (m[2] ?? '')
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean);
        expect(ports_, `${m[1]} implements one port`).toHaveLength(1);
        expect(ports.has(ports_[0] as string), `${ports_[0]} is a port of ports.ts`).toBe(true);
        implemented.add(`${m[1]} → ${ports_[0]}`);
      }
    }
    expect([...implemented].sort()).toEqual([...claimed].sort());
  });

  it('every service has its own unit tests (over in-memory ports)', () => {
    for (const file of sources('functions/services')) {
      const name = file.replace('functions/services/', '').replace(/\.ts$/, '');
      const test = join('test', 'unit', 'services', `${name}.test.ts`);
      expect(existsSync(join(ROOT, test)), `${test} exists`).toBe(true);
      expect(imports(test)).toContain(`../../../functions/services/${name}.js`);
    }
  });

  it('harnesses, benchmarks, the local stack and the CLI build their graphs through functions/wiring/', () => {
    const graphs = [
      ...sources('bench'),
      ...sources('cli'),
      ...sources('local').filter(
        (f) => !f.startsWith('local/bigip-simulator/') && !f.startsWith('local/dashboard/'),
      ),
      ...sources('test/support').filter((f) => /-harness\.ts$|local-stack-fixture\.ts$/.test(f)),
    ];
    // Credentials, certificate stores and SDK clients are what the wiring takes as overrides.
    const built =
      /new (DynamoDb\w+|Sqs\w+|IControlBigIpDevice|BigIpCluster|BigIpRestClient|RequestScheduler|LoadBalancerApplier|Reconciler|HealthPoller|HeartbeatService|StrandedRequestReclaimer|AgentOperations|AgentDirectory|PartitionWriter|GroupSync)\(/;
    expect(
      graphs.flatMap((f) => uses(f.replace(/\/[^/]+$/, ''), built).filter((u) => u.startsWith(`${f}:`))),
    ).toEqual([]);
    const wired = graphs.filter((f) => imports(f).some((i) => i.includes('/wiring/')));
    expect(wired.length).toBeGreaterThan(5);
  });
});
