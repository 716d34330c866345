// The bench's table folds several rounds per server into one row (bench/compare.mjs).
// The bench itself is never run by the tests; this checks only that folding:
// a median that hid a failed round would print a ratio for an operation that broke.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

interface Line {
  op: string;
  ms?: number | null;
  error?: string;
  range?: [number, number];
  count?: number;
}
interface Compare {
  opsOf(lines: Line[]): Map<string, Line>;
  medianOps(runs: Map<string, Line>[]): Map<string, Line>;
  median(xs: number[]): number;
  tableRow(n: number, op: string, a?: Line, b?: Line, f?: Line): string;
}

// a variable specifier: the bench is plain JavaScript without type declarations
const modulePath = pathToFileURL(join(import.meta.dirname, '..', 'bench', 'compare.mjs')).href;
const compare = (await import(modulePath)) as Compare;

const run = (rows: Line[]): Map<string, Line> => compare.opsOf([{ op: 'start' }, ...rows, { op: 'end' }]);

describe('bench rounds', () => {
  it('takes the median of each operation and keeps the range', () => {
    const m = compare.medianOps([run([{ op: 'select', ms: 30, count: 5 }]), run([{ op: 'select', ms: 10, count: 5 }]), run([{ op: 'select', ms: 20, count: 5 }])]);
    expect([...m.keys()]).toEqual(['select']);
    expect(m.get('select')).toEqual({ op: 'select', ms: 20, count: 5, range: [10, 30] });
    expect(compare.tableRow(10000, 'select', m.get('select'), { op: 'select', ms: 40 })).toBe('| 10000 | select | 20 ms (10–30) | 40 ms | 0.50 | — | — |');
  });

  it('averages the middle two of an even count', () => {
    expect(compare.median([4, 1, 3, 2])).toBe(2.5);
    expect(compare.median([7])).toBe(7);
  });

  it('shows a failure in any round instead of a median', () => {
    const m = compare.medianOps([
      run([{ op: 'fetch', ms: 10 }, { op: 'store', ms: 5 }]),
      run([{ op: 'fetch', ms: 12, error: 'timeout after 600s' }, { op: 'store', ms: 6 }]),
      run([{ op: 'fetch', ms: 11 }]),
    ]);
    expect(m.get('fetch')?.error).toBe('timeout after 600s');
    expect(m.get('store')?.error).toBe('missing in round 3');
    expect(compare.tableRow(1, 'fetch', m.get('fetch'), { op: 'fetch', ms: 10 })).toContain('error: timeout');
  });

  it('treats an operation without a time as a failure', () => {
    const m = compare.medianOps([run([{ op: 'retr', ms: 10 }]), run([{ op: 'retr', ms: null }])]);
    expect(m.get('retr')?.ms).toBeNull();
    expect(m.get('retr')?.range).toBeUndefined();
  });
});
