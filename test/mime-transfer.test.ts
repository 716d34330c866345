// Streaming body decoder (Content-Transfer-Encoding + charset): every input is
// decoded whole and split at every position / one byte at a time.
import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { createBodyDecoder } from '../maildir/mime/transfer.js';

function decodeWhole(enc: string, cs: string | null, raw: Buffer): string {
  const d = createBodyDecoder(enc, cs);
  return d.write(raw) + d.end();
}

/** Decodes split in two at every position and byte by byte; all must agree. */
function decodeEverySplit(enc: string, cs: string | null, raw: Buffer): string {
  const whole = decodeWhole(enc, cs, raw);
  for (let i = 0; i <= raw.length; i++) {
    const d = createBodyDecoder(enc, cs);
    expect(d.write(raw.subarray(0, i)) + d.write(raw.subarray(i)) + d.end()).toBe(whole);
  }
  const d = createBodyDecoder(enc, cs);
  let out = '';
  for (let i = 0; i < raw.length; i++) out += d.write(raw.subarray(i, i + 1));
  expect(out + d.end()).toBe(whole);
  return whole;
}

describe('createBodyDecoder', () => {
  it('base64 with line breaks and characters outside the alphabet, UTF-8 split across chunks', () => {
    const text = 'Größe: 10 € — ok\n';
    const b64 = Buffer.from(text, 'utf8').toString('base64').replace(/(.{7})/g, '$1\r\n *!');
    expect(decodeEverySplit('BASE64', 'utf-8', Buffer.from(b64))).toBe(text);
  });

  it('invalid UTF-8 switches to latin1 without losing a byte held back at a chunk end', () => {
    const d = createBodyDecoder('8bit', 'utf-8');
    expect(d.write(Buffer.from([0x47, 0x72, 0xc3])) + d.write(Buffer.from([0x28, 0x41])) + d.end()).toBe('Gr\u00c3(A');
  });

  it('quoted-printable: escapes, soft breaks (also split), broken escapes kept', () => {
    const qp = Buffer.from('caf=C3=A9 soft=\r\nbreak=\nhere =ZZ and =3d\n');
    expect(decodeEverySplit('quoted-printable', 'utf-8', qp)).toBe('café softbreakhere =ZZ and =\n');
  });

  it('charsets through iconv-lite, including multi-byte ones split across chunks', () => {
    expect(decodeEverySplit('8bit', 'ISO-8859-1', Buffer.from([0x63, 0x61, 0x66, 0xe9]))).toBe('café');
    expect(decodeEverySplit('8bit', 'shift_jis', iconv.encode('日本語テキスト', 'shift_jis'))).toBe('日本語テキスト');
    expect(decodeEverySplit('7bit', 'windows-1252', Buffer.from([0x80]))).toBe('€');
  });

  it('unknown or missing charset: UTF-8, then latin1 once the bytes are not UTF-8', () => {
    expect(decodeEverySplit('binary', 'x-unknown', Buffer.from('héllo', 'utf8'))).toBe('héllo');
    expect(decodeWhole('binary', null, Buffer.from([0x68, 0xe9, 0x6c]))).toBe('hél');
    expect(decodeWhole('x-uuencode', 'utf-8', Buffer.from('as is'))).toBe('as is');
  });

  it('single-byte charsets: ASCII chunks as they are, 8-bit chunks through the charset, in any chunking', () => {
    const text = 'Plain ASCII line\r\nthen Zürich, €5 and ŁÓDŹ\r\nand ASCII again\r\n';
    for (const cs of ['windows-1252', 'iso-8859-2', 'ISO-8859-15', 'koi8-r', 'us-ascii', 'latin1', 'cp1250']) {
      const bytes = iconv.encode(text, cs);
      expect(decodeEverySplit('8bit', cs, bytes), cs).toBe(iconv.decode(bytes, cs));
    }
    // windows-1252 0x80 is the euro sign, not U+0080: 8-bit bytes never take the ASCII shortcut
    expect(decodeWhole('8bit', 'windows-1252', Buffer.from('price \x80 9', 'latin1'))).toBe('price € 9');
    // a multi-byte charset keeps its lead byte across a chunk that looks like ASCII ("ソ" is 0x83 0x5C)
    const sjis = iconv.encode('ソ\\ and ソ', 'shift_jis');
    expect(decodeEverySplit('8bit', 'shift_jis', sjis)).toBe('ソ\\ and ソ');
  });

  it('UTF-8 is judged strictly: overlong forms and encoded surrogates are not UTF-8', () => {
    // what a fatal WHATWG decoder refuses (the check is isUtf8's, not TextDecoder's)
    expect(decodeEverySplit('8bit', 'utf-8', Buffer.from([0x61, 0xc0, 0xaf, 0x62]))).toBe('a\xc0\xafb');
    expect(decodeEverySplit('8bit', 'utf-8', Buffer.from([0x61, 0xed, 0xa0, 0x80]))).toBe('a\xed\xa0\x80');
    expect(decodeEverySplit('8bit', 'utf-8', Buffer.from([0xf4, 0x90, 0x80, 0x80]))).toBe('\xf4\x90\x80\x80');
    expect(decodeEverySplit('8bit', 'utf-8', Buffer.from('€ and 𝄞', 'utf8'))).toBe('€ and 𝄞');
  });
});
