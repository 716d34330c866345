import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SmallFileReadAhead, type ReadAheadRows } from '../maildir/read-ahead.js';

const dir = mkdtempSync(join(tmpdir(), 'mailroom-read-ahead-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let folders = 0;

/** A folder of `n` files (`message <row>` plus padding), with a log of which rows were read from disk. */
function folder(n: number, o: { sizes?: (row: number) => number } = {}) {
  const sub = join(dir, `f${folders++}`);
  mkdirSync(sub);
  const content = (row: number) => `message ${row}`.padEnd(o.sizes?.(row) ?? 20, '.');
  for (let row = 0; row < n; row++) writeFileSync(join(sub, `m${row}`), content(row));
  const opened: number[] = [];
  const cached = new Set<number>();
  const bases = Array.from({ length: n }, (_, row) => `m${row}`);
  const rows: ReadAheadRows = {
    count: n,
    base: (row) => bases[row]!,
    path: (row) => {
      opened.push(row);
      return join(sub, bases[row]!);
    },
    namedSize: () => 0,
    wanted: (row) => !cached.has(row),
  };
  return { sub, rows, opened, cached, bases, content };
}

const text = (f: { buf: Buffer } | null) => f?.buf.toString('latin1');

describe('SmallFileReadAhead', () => {
  it('reads forward requests in growing windows, each file once, with the right bytes', () => {
    const f = folder(100);
    const ra = new SmallFileReadAhead(1 << 16);
    for (let row = 0; row < 100; row++) expect(text(ra.read(f.rows, row))).toBe(f.content(row));
    // every file read exactly once, in order
    expect(f.opened).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('grows the window by doubling up to 32 files', () => {
    const f = folder(200);
    const ra = new SmallFileReadAhead(1 << 16);
    const windows: number[] = [];
    for (let row = 0; row < 200; row++) {
      const before = f.opened.length;
      ra.read(f.rows, row);
      if (f.opened.length > before) windows.push(f.opened.length - before);
    }
    expect(windows.slice(0, 7)).toEqual([1, 2, 4, 8, 16, 32, 32]);
  });

  it('reads only the requested file when requests jump around', () => {
    const f = folder(200);
    const ra = new SmallFileReadAhead(1 << 16);
    for (const row of [150, 10, 120, 40, 199, 0]) expect(text(ra.read(f.rows, row))).toBe(f.content(row));
    expect(f.opened).toEqual([150, 10, 120, 40, 199, 0]);
  });

  it('skips messages that are not wanted, and still reads one when asked for it', () => {
    const f = folder(40);
    for (let row = 0; row < 40; row += 2) f.cached.add(row);
    const ra = new SmallFileReadAhead(1 << 16);
    for (let row = 1; row < 40; row += 2) expect(text(ra.read(f.rows, row))).toBe(f.content(row));
    expect(f.opened.every((row) => row % 2 === 1)).toBe(true);
    expect(f.opened).toHaveLength(20);
    expect(text(ra.read(f.rows, 4))).toBe(f.content(4));
  });

  it('never answers a row from a window read when the row held another message', () => {
    const f = folder(10);
    const ra = new SmallFileReadAhead(1 << 16);
    ra.read(f.rows, 0);
    ra.read(f.rows, 1); // window of 2: rows 1 and 2
    writeFileSync(join(f.sub, 'other'), 'another message');
    f.bases[2] = 'other';
    expect(text(ra.read(f.rows, 2))).toBe('another message');
  });

  it('gives null for a file that is gone or too big, and skips a gone file inside a window', () => {
    const f = folder(20, { sizes: (row) => (row === 15 ? 5000 : 20) });
    const ra = new SmallFileReadAhead(1000);
    unlinkSync(join(f.sub, 'm3'));
    expect(ra.read(f.rows, 3)).toBeNull();
    expect(text(ra.read(f.rows, 4))).toBe(f.content(4));
    unlinkSync(join(f.sub, 'm6'));
    for (const row of [5, 7, 8, 9, 10]) expect(text(ra.read(f.rows, row))).toBe(f.content(row));
    expect(ra.read(f.rows, 15)).toBeNull();
    expect(text(ra.read(f.rows, 16))).toBe(f.content(16));
  });

  it('keeps two readers apart when they take turns with the shared memory', () => {
    const a = folder(80);
    const b = folder(80, { sizes: () => 300 });
    const ra = new SmallFileReadAhead(1 << 16);
    const rb = new SmallFileReadAhead(1 << 16);
    for (let row = 0; row < 80; row++) {
      expect(text(ra.read(a.rows, row))).toBe(a.content(row));
      expect(text(rb.read(b.rows, row))).toBe(b.content(row));
    }
    ra.clear();
    expect(text(rb.read(b.rows, 79))).toBe(b.content(79));
  });
});
