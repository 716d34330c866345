// CRLF→LF while DATA streams into the queue (src/smtp/crlf.ts), split at every position.
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { CrlfToLf, MessageTooBigError } from '../src/smtp/crlf.js';

async function convert(chunks: string[], max?: number): Promise<string> {
  const t = new CrlfToLf(max);
  return (await buffer(Readable.from(chunks.map((c) => Buffer.from(c, 'latin1'))).pipe(t))).toString('latin1');
}

const CASES: [string, string][] = [
  ['a\r\nb\r\n', 'a\nb\n'],
  ['\r\n\r\n', '\n\n'],
  ['lone\rcr\r\n', 'lone\rcr\n'],
  ['ends with cr\r', 'ends with cr\r'],
  ['\r\r\n', '\r\n'],
  ['already\nlf\n', 'already\nlf\n'],
  ['', ''],
  ['8bit \xe9\r\n', '8bit \xe9\n'],
];

describe('CrlfToLf', () => {
  it.each(CASES)('%j whole and split at every position', async (input, expected) => {
    expect(await convert([input])).toBe(expected);
    for (let i = 0; i <= input.length; i++) expect(await convert([input.slice(0, i), input.slice(i)])).toBe(expected);
    expect(await convert(input.split(''))).toBe(expected);
  });

  it('fails with MessageTooBigError once the bytes received pass the bound, counting CRs', async () => {
    await expect(convert(['12345\r\n'], 7)).resolves.toBe('12345\n');
    await expect(convert(['12345\r\n', 'x'], 7)).rejects.toBeInstanceOf(MessageTooBigError);
  });
});
