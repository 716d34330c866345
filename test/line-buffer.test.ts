// LineBuffer (maildir/line-buffer.ts): the pieces it hands on end on line
// boundaries and together are exactly the lines written, whatever their text.
import { describe, expect, it } from 'vitest';
import { LineBuffer } from '../maildir/line-buffer.js';

function encode(lines: { n: number; s: string }[]): { pieces: Buffer[]; text: string } {
  const pieces: Buffer[] = [];
  const out = new LineBuffer((p) => pieces.push(Buffer.from(p)));
  for (const { n, s } of lines) {
    out.room(s.length);
    out.decimal(n);
    out.byte(32);
    out.text(s);
    out.byte(10);
  }
  out.flush();
  return { pieces, text: Buffer.concat(pieces).toString('utf8') };
}

describe('LineBuffer', () => {
  it('splits many lines into pieces on line boundaries, byte for byte', () => {
    const lines = Array.from({ length: 30_000 }, (_, i) => ({ n: i * 7919, s: `naïve-€-𝄞-${i}-${'z'.repeat(i % 50)}` }));
    const { pieces, text } = encode(lines);
    expect(pieces.length).toBeGreaterThan(2);
    for (const p of pieces) expect(p[p.length - 1]).toBe(10);
    expect(text).toBe(lines.map((l) => `${l.n} ${l.s}\n`).join(''));
  });

  it('takes a line longer than a piece, and numbers of every length', () => {
    const long = 'é'.repeat(300_000);
    const lines = [
      { n: 0, s: 'a' },
      { n: 9, s: long },
      { n: 10, s: 'b' },
      { n: 4_294_967_295, s: 'c' },
      { n: Number.MAX_SAFE_INTEGER, s: 'd' },
    ];
    expect(encode(lines).text).toBe(lines.map((l) => `${l.n} ${l.s}\n`).join(''));
  });

  it('collects numbered lines into one Buffer', () => {
    const bytes = LineBuffer.collect((out) => {
      for (let i = 0; i < 20_000; i++) out.numbered(i * 13, `ü-${i}`);
    });
    expect(bytes.toString('utf8')).toBe(Array.from({ length: 20_000 }, (_, i) => `${i * 13} ü-${i}\n`).join(''));
  });

  it('hands on nothing when nothing was written', () => {
    expect(encode([]).pieces).toEqual([]);
  });
});

describe('LineBuffer misuse', () => {
  it('refuses text it was not given room for rather than cutting it short', () => {
    const out = new LineBuffer(() => {});
    out.room(1);
    out.text('x');
    for (let i = 0; i < 300_000; i++) out.byte(65); // past the 256 KiB buffer, with no room made
    expect(() => out.text('y'.repeat(300_000))).toThrow(/no room/);
    expect(() => out.flush()).toThrow(/past the room/);
  });
});
