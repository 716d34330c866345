// Enforces the layer rules of DESIGN.md: protocol/ does no file or socket I/O,
// maildir/ never reaches up into protocol/ or src/.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Every module specifier a file imports (static, dynamic, re-export, require). Type-only imports are fine. */
export function importsOf(source: string, o: { types?: boolean } = {}): string[] {
  const specs: string[] = [];
  const re = /(?:^|[^\w$.])(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const m of source.matchAll(re)) {
    if (m[1] && !o.types) continue; // import type … : erased at compile time
    specs.push(m[2] ?? m[3]);
  }
  return specs;
}

describe('layer rules', () => {
  it('the import scanner sees what it must', () => {
    const src = `import fs from 'node:fs';\nimport { x } from "../src/a.js";\nimport type { T } from '../protocol/t.js';\nconst n = await import('net');\nexport * from './y.js';`;
    expect(importsOf(src)).toEqual(['node:fs', '../src/a.js', 'net', './y.js']);
  });

  it('protocol/ imports no fs, net or tls', () => {
    const banned = /^(node:)?(fs|fs\/promises|net|tls)$/;
    const offenders = tsFiles(join(root, 'protocol')).flatMap((f) =>
      importsOf(readFileSync(f, 'utf8'))
        .filter((s) => banned.test(s))
        .map((s) => `${relative(root, f)}: ${s}`),
    );
    expect(offenders).toEqual([]);
  });

  it('maildir/ imports nothing from protocol/ or src/', () => {
    const offenders = tsFiles(join(root, 'maildir')).flatMap((f) =>
      importsOf(readFileSync(f, 'utf8'), { types: true })
        .filter((s) => /(^|\/)(protocol|src)\//.test(s) && s.startsWith('.'))
        .map((s) => `${relative(root, f)}: ${s}`),
    );
    expect(offenders).toEqual([]);
  });
});
