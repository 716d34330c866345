// Half 0 of the SpamAssassin corpus (the other half is in mime-corpus-1.test.ts,
// so vitest runs both in parallel): every message parses without throwing, the
// structural invariants hold, and random chunking gives the same result.
import { describe, expect, it } from 'vitest';
import { MimeParser } from '../maildir/mime/parser.js';
import { checkInvariants, corpusList, loadCorpusMessage, randomChunks } from './fixtures/mime/corpus.js';

const all = corpusList();
const mine = all.filter((_, i) => i % 2 === 0);

describe('MIME parser on the SpamAssassin corpus, half 0', () => {
  it('lists the whole corpus', () => {
    expect(all.length).toBe(6046);
  });

  it('parses every message with consistent offsets and sizes, chunking-independent', () => {
    const failures: string[] = [];
    mine.forEach((rel, i) => {
      const raw = loadCorpusMessage(rel);
      const whole = new MimeParser();
      whole.write(raw);
      const idx = whole.end();
      for (const e of checkInvariants(raw, idx)) failures.push(`${rel}: ${e}`);
      const chunked = new MimeParser();
      for (const c of randomChunks(raw, i + 1, 97)) chunked.write(c);
      if (JSON.stringify(chunked.end()) !== JSON.stringify(idx)) failures.push(`${rel}: chunked parse differs`);
    });
    expect(failures.slice(0, 20)).toEqual([]);
  });

  it('gives the same result fed one byte at a time (every 40th message)', () => {
    const differing: string[] = [];
    for (let i = 0; i < mine.length; i += 40) {
      const raw = loadCorpusMessage(mine[i]!);
      const whole = new MimeParser();
      whole.write(raw);
      const bytewise = new MimeParser();
      for (let k = 0; k < raw.length; k++) bytewise.write(raw.subarray(k, k + 1));
      if (JSON.stringify(bytewise.end()) !== JSON.stringify(whole.end())) differing.push(mine[i]!);
    }
    expect(differing).toEqual([]);
  });
});
