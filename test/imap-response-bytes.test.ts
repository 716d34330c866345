import { describe, expect, it } from 'vitest';
import { ResponseBytes } from '../protocol/imap/response-bytes.js';

/** What a consumer sends: the text with the spliced bodies in their places. */
function sent(r: ResponseBytes): string {
  let out = '';
  let from = 0;
  for (let k = 0; k < r.spliceCount; k++) {
    out += r.buf.toString('latin1', from, r.splicedAt(k)) + r.splicedBody(k).toString('latin1');
    from = r.splicedAt(k);
  }
  return out + r.buf.toString('latin1', from, r.pos);
}

function written(f: (r: ResponseBytes) => void, initial?: number): string {
  const r = new ResponseBytes(initial);
  f(r);
  return sent(r);
}

describe('ResponseBytes', () => {
  it('writes strings quoted when RFC 3501 4.3 allows, escaping " and \\', () => {
    expect(written((r) => r.stringRaw('plain text'))).toBe('"plain text"');
    expect(written((r) => r.stringRaw(''))).toBe('""');
    expect(written((r) => r.stringRaw('say "hi" \\ bye'))).toBe('"say \\"hi\\" \\\\ bye"');
    // other control characters may be quoted (only CR, LF and NUL may not)
    expect(written((r) => r.stringRaw('tab\there'))).toBe('"tab\there"');
  });

  it('writes a literal for CR, LF, NUL, 8-bit bytes and long strings, over a quoted start', () => {
    expect(written((r) => r.stringRaw('a\r\nb'))).toBe('{4}\r\na\r\nb');
    expect(written((r) => r.stringRaw('nul\0'))).toBe('{4}\r\nnul\0');
    expect(written((r) => r.stringRaw('caf\xe9 "x"'))).toBe('{8}\r\ncaf\xe9 "x"');
    expect(written((r) => r.stringRaw('del\x7f'))).toBe('{4}\r\ndel\x7f');
    const long = 'x'.repeat(1025);
    expect(written((r) => r.stringRaw(long))).toBe(`{1025}\r\n${long}`);
    expect(written((r) => r.stringRaw('x'.repeat(1024)))).toBe(`"${'x'.repeat(1024)}"`);
  });

  it('writes NIL for null and numbers in decimal', () => {
    expect(written((r) => r.nstringRaw(null))).toBe('NIL');
    expect(written((r) => [0, 7, 10, 99, 100, 1234567, Number.MAX_SAFE_INTEGER].forEach((n) => (r.number(n), r.space())))).toBe(
      `0 7 10 99 100 1234567 ${Number.MAX_SAFE_INTEGER} `,
    );
  });

  it('grows past its initial size without losing what was written', () => {
    const parts = Array.from({ length: 200 }, (_, i) => `part${i} "q" ${'y'.repeat(i)}`);
    const text = written((r) => parts.forEach((p) => (r.stringRaw(p), r.text(' + '), r.number(p.length))), 16);
    expect(text).toBe(parts.map((p) => `"${p.replace(/"/g, '\\"')}" + ${p.length}`).join(''));
    expect(written((r) => r.text('z'.repeat(100)), 8)).toBe('z'.repeat(100));
  });

  it('puts spliced bodies in their places, in order, and forgets them on reset', () => {
    const r = new ResponseBytes(8);
    r.text('* 1 FETCH (BODY[] {3}\r\n');
    r.splice(Buffer.from('abc'));
    r.text(' RFC822 {2}\r\n');
    r.splice(Buffer.from('de'));
    r.splice(Buffer.alloc(0));
    r.text(')\r\n');
    expect(sent(r)).toBe('* 1 FETCH (BODY[] {3}\r\nabc RFC822 {2}\r\nde)\r\n');
    expect(r.spliceCount).toBe(2);
    r.reset();
    r.text('again');
    expect(r.spliceCount).toBe(0);
    expect(sent(r)).toBe('again');
    expect(r.toString()).toBe('again');
  });
});
