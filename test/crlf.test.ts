import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import wabtInit from 'wabt';
import { describe, expect, it } from 'vitest';
import { CRLF_WASM_BASE64, crlfBytes, crlfInput, crlfOfInput } from '../protocol/crlf.js';

/** The rule, written the slow and obvious way (RFC 3501/1939 CRLF; a lone CR stays). */
function reference(raw: Buffer, prevCR = false): Buffer {
  const out: number[] = [];
  raw.forEach((b, i) => {
    const before = i === 0 ? prevCR : raw[i - 1] === 0x0d;
    if (b === 0x0a && !before) out.push(0x0d);
    out.push(b);
  });
  return Buffer.from(out);
}

/** Deterministic pseudo-random bytes, dense in CR, LF and 8-bit values. */
function sample(seed: number, n: number): Buffer {
  let x = seed;
  const alphabet = [0x0a, 0x0d, 0x2e, 0x41, 0x62, 0xff, 0x00, 0x20];
  return Buffer.from(Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) >>> 0;
    return alphabet[(x >>> 16) % alphabet.length]!;
  }));
}

describe('crlfBytes (the WebAssembly CRLF rule)', () => {
  it('embeds exactly what protocol/crlf.wat assembles to', async () => {
    const wabt = await wabtInit();
    const wat = readFileSync(join(import.meta.dirname, '..', 'protocol', 'crlf.wat'), 'utf8');
    const mod = wabt.parseWat('crlf.wat', wat, { simd: true });
    mod.validate();
    expect(Buffer.from(mod.toBinary({}).buffer).toString('base64')).toBe(CRLF_WASM_BASE64);
  });

  it('agrees with the rule on edge cases around the 16-byte vectors', () => {
    const cases = ['', '\n', '\r', '\r\n', '\n\r', 'a\n', '\n\n\n', 'x'.repeat(15) + '\n', 'x'.repeat(16) + '\n', 'x'.repeat(15) + '\r\n', '\n'.repeat(40), 'y'.repeat(31) + '\r' + '\n' + 'z'.repeat(20)];
    for (const c of cases) {
      const raw = Buffer.from(c, 'latin1');
      expect(crlfBytes(raw).toString('latin1'), JSON.stringify(c)).toBe(reference(raw).toString('latin1'));
      expect(crlfBytes(raw, true).toString('latin1'), `${JSON.stringify(c)} after CR`).toBe(reference(raw, true).toString('latin1'));
    }
  });

  it('agrees with the rule on every length 0..300 and on 8-bit bytes', () => {
    for (let n = 0; n <= 300; n++) {
      const raw = sample(n + 1, n);
      expect(crlfBytes(raw).equals(reference(raw)), `length ${n}`).toBe(true);
    }
  });

  it('converts a message larger than one slice as one, CRLF pairs across the slice boundary kept', () => {
    const slice = 256 * 1024;
    for (const at of [slice - 1, slice, slice + 1]) {
      const raw = Buffer.alloc(2 * slice + 100, 'a');
      raw[at - 1] = 0x0d;
      raw[at] = 0x0a;
      raw[at + 5] = 0x0a;
      const got = crlfBytes(raw);
      expect(got.equals(reference(raw)), `CRLF at ${at}`).toBe(true);
    }
    const big = sample(7, 3 * slice + 17);
    expect(crlfBytes(big).equals(reference(big))).toBe(true);
  });

  it('crlfOfInput converts what was put in the input area, as a view reused by the next call', () => {
    for (const n of [0, 1, 17, 300, 4096]) {
      const raw = sample(n + 3, n);
      raw.copy(crlfInput);
      expect(crlfOfInput(n).equals(reference(raw)), `length ${n}`).toBe(true);
      expect(crlfOfInput(n, true).equals(reference(raw, true)), `length ${n} after CR`).toBe(true);
    }
    crlfInput.write('a\n', 'latin1');
    const view = crlfOfInput(2);
    expect(view.toString()).toBe('a\r\n');
    crlfInput.write('b\n', 'latin1');
    crlfOfInput(2);
    expect(view.toString()).toBe('b\r\n'); // the same memory: a caller copies before converting again
    expect(crlfInput.length).toBe(256 * 1024);
    expect(() => crlfOfInput(crlfInput.length + 1)).toThrow(RangeError);
  });

  it('returns a fresh Buffer each time (the output is handed to sockets)', () => {
    const a = crlfBytes(Buffer.from('one\n'));
    const b = crlfBytes(Buffer.from('two\n'));
    expect(a.toString()).toBe('one\r\n');
    expect(b.toString()).toBe('two\r\n');
  });
});
