import { describe, expect, it } from 'vitest';
import { compareDay, dayNumber, dayOfInstant, headerZoneOffset, sentDay } from '../maildir/search/dates.js';
import { containsFolded, foldCaseFull, foldForSearch, jsonCheckable, mayContainInJson, StreamingFinder } from '../maildir/search/text.js';
import { decodeHeaderValue } from '../maildir/mime/decode.js';

describe('foldForSearch', () => {
  it.each([
    ['Hello World', 'hello world'],
    ['STRASSE', 'strasse'],
    ['Straße', 'strasse'],
    ['Cafe\u0301', 'café'],
    ['ＡＢＣ', 'abc'], // full-width letters (NFKC)
    ['ﬁle', 'file'], // ligature
    ['a \t\r\n  b', 'a b'],
    ['a\u00a0b', 'a b'], // NBSP
    ['ΟΔΟΣ', 'οδοσ'], // final sigma neutralised
    ['οδος', 'οδοσ'],
    ['ПРИВЕТ', 'привет'],
  ])('%s → %s', (input, folded) => {
    expect(foldForSearch(input)).toBe(folded);
  });

  it('folds Latin-1 text exactly as the general fold does (every pair of Latin-1 characters)', () => {
    const general = (t: string) => foldCaseFull(t).replace(/\s+/g, ' ');
    let mismatches = 0;
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        const t = String.fromCharCode(0x41, a, b, 0xe9);
        if (foldForSearch(t) !== general(t)) mismatches++;
      }
    }
    expect(mismatches).toBe(0);
    expect(foldForSearch('Stra\xdfe \xb5m \xbd \xb2 \xaa \xc9T\xc9')).toBe('strasse μm 1⁄2 2 a été');
    expect(findSplit('MASSE', 'Die Ma\xdfe', [6])).toBe(true);
  });

  it('makes a substring fold to a substring of the fold', () => {
    expect(containsFolded('ΟΔΟΣ ΑΘΗΝΑΣ', foldForSearch('δος'))).toBe(true);
    expect(containsFolded('Grüße', foldForSearch('GRÜSSE'))).toBe(true);
    expect(containsFolded('anything', '')).toBe(true);
    expect(containsFolded('abc', foldForSearch('abd'))).toBe(false);
  });
});

/** Feeds `text` split at `cuts` and reports whether the needle was found. */
function findSplit(needle: string, text: string, cuts: number[]): boolean {
  const f = new StreamingFinder(foldForSearch(needle));
  let prev = 0;
  for (const c of [...cuts, text.length]) {
    f.push(text.slice(prev, c));
    prev = c;
  }
  return f.end();
}

describe('StreamingFinder', () => {
  const cases: [string, string, boolean][] = [
    ['hello world', 'say HELLO   WORLD now', true],
    ['hello world', 'say hello\r\n world', true],
    ['café', 'un cafe\u0301 noir', true], // e + combining accent may be split from each other
    ['caf', 'un cafe\u0301 noir', true],
    ['δος', 'η ΟΔΟΣ', true],
    ['😀 smile', 'big 😀 SMILE', true], // surrogate pair may be split
    ['strasse', 'die Straße', true],
    ['hello world', 'hello wor ld', false],
    ['aab', 'aaab', true],
    ['needle', 'need le', false],
    // needles without white space take the case-fold-only path: same answers
    ['money', 'send\t\tMONEY\r\n  now', true],
    ['ab', 'a b', false],
    ['b\u00a0', 'a b', false],
    ['x', 'X', true],
  ];

  it.each(cases)('%s in %s at every split point', (needle, text, expected) => {
    expect(findSplit(needle, text, [])).toBe(expected);
    for (let i = 0; i <= text.length; i++) {
      expect(findSplit(needle, text, [i]), `cut at ${i}`).toBe(expected);
      for (let j = i; j <= text.length; j++) {
        expect(findSplit(needle, text, [i, j]), `cuts at ${i},${j}`).toBe(expected);
      }
    }
  });

  it('one character at a time', () => {
    const text = 'x'.repeat(5000) + ' Zielwort gefunden ' + 'y'.repeat(5000);
    expect(findSplit('ZIELWORT GEFUNDEN', text, Array.from({ length: text.length }, (_, i) => i))).toBe(true);
  });

  it('keeps bounded state on long text without any ASCII', () => {
    const f = new StreamingFinder(foldForSearch('ж'));
    for (let i = 0; i < 100; i++) f.push('я'.repeat(1000));
    expect(f.end()).toBe(false);
    const g = new StreamingFinder(foldForSearch('яж'));
    g.push('я'.repeat(3000));
    g.push('Ж' + 'я'.repeat(3000));
    expect(g.end()).toBe(true);
  });

  it('reset forgets a partial match (parts are searched separately)', () => {
    const f = new StreamingFinder(foldForSearch('end start'));
    f.push('the end');
    f.reset();
    f.push(' start of the next part');
    expect(f.end()).toBe(false);
  });
});

describe('dates', () => {
  it('counts days since the epoch', () => {
    expect(dayNumber({ year: 1970, month: 1, day: 1 })).toBe(0);
    expect(dayNumber({ year: 2003, month: 7, day: 2 })).toBe(12235);
    expect(dayOfInstant(Date.UTC(2003, 6, 2, 23, 30), 0)).toBe(12235);
    expect(dayOfInstant(Date.UTC(2003, 6, 2, 23, 30), 60)).toBe(12236);
    expect(dayOfInstant(Date.UTC(2003, 6, 2, 0, 30), -60)).toBe(12234);
    expect(dayOfInstant(-1, 0)).toBe(-1);
  });

  it.each([
    ['Tue, 1 Jul 2003 23:30:00 -0700', -420],
    ['Tue, 1 Jul 2003 23:30:00 +0530', 330],
    ['1 Jul 2003 23:30 +0000', 0],
    ['Tue, 1 Jul 2003 23:30:00 GMT', 0],
    ['Tue, 1 Jul 2003 23:30:00 EDT', -240],
    ['Tue, 1 Jul 2003 23:30:00 pst', -480],
    ['Tue, 1 Jul 2003 23:30:00 (CET)', 0],
    ['Tue, 1 Jul 2003 23:30:00 +0200 (CEST)', 120],
    ['Tue, 1 Jul 2003 23:30:00 +0299', 0],
    ['garbage', 0],
  ])('zone of %s is %d minutes', (raw, offset) => {
    expect(headerZoneOffset(raw)).toBe(offset);
  });

  it('takes the sent day in the header\'s zone; no date is 1 Jan 1970', () => {
    const raw = 'Tue, 1 Jul 2003 23:30:00 -0700';
    expect(sentDay(Date.parse(raw), raw)).toBe(dayNumber({ year: 2003, month: 7, day: 1 }));
    expect(sentDay(null, null)).toBe(0);
    expect(sentDay(Number.NaN, raw)).toBe(0);
  });

  it('compares days', () => {
    expect([compareDay('before', 1, 2), compareDay('before', 2, 2)]).toEqual([true, false]);
    expect([compareDay('on', 2, 2), compareDay('on', 1, 2)]).toEqual([true, false]);
    expect([compareDay('since', 2, 2), compareDay('since', 3, 2), compareDay('since', 1, 2)]).toEqual([true, true, false]);
  });
});

describe('mayContainInJson (the pre-check of cached header values)', () => {
  const json = (...values: string[]) => Buffer.from(JSON.stringify([values, 12345]), 'utf8');

  it('answers by the needle in any ASCII case, false only when it is absent', () => {
    expect(mayContainInJson(json('Linux Fan <fan@example.org>'), 'linux')).toBe(true);
    expect(mayContainInJson(json('a', 'THE LINUX GUY'), 'linux')).toBe(true);
    expect(mayContainInJson(json('Lin Ux', 'lin-ux'), 'linux')).toBe(false);
    expect(mayContainInJson(json('"quoted\\"linux'), 'linux')).toBe(true); // escapes around it
    expect(mayContainInJson(json('a.b'), 'a.b')).toBe(true);
    expect(mayContainInJson(json('axb'), 'a.b')).toBe(false); // not a pattern
  });

  it('cannot judge a text with non-ASCII characters (they may fold to ASCII)', () => {
    expect(mayContainInJson(json('Ｌｉｎｕｘ'), 'linux')).toBe(true);
    expect(mayContainInJson(json('André'), 'linux')).toBe(true);
  });

  it('cannot judge a text with an encoded word (the values are raw header text)', () => {
    // "=?utf-8?b?TGludXg=?=" is "Linux", which its bytes do not show
    expect(mayContainInJson(json('=?utf-8?b?TGludXg=?= <a@b.test>'), 'linux')).toBe(true);
    expect(mayContainInJson(json('x', '=?iso-8859-1?q?Andr=E9?='), 'linux')).toBe(true);
    expect(mayContainInJson(json('plain <a@b.test>'), 'linux')).toBe(false);
  });

  it('takes only needles without white space, quotes or backslashes', () => {
    for (const n of ['linux', 'kre@munnari.oz.au', '<a>', "o'brien", '#$%&()*+,-./:;=?[]^_`{|}~']) expect(jsonCheckable(n), n).toBe(true);
    for (const n of ['lin ux', 'tab\there', 'say "hi"', 'back\\slash', 'é', '', 'a\u0001b']) expect(jsonCheckable(n), n).toBe(false);
  });

  it('never says false where the fold finds the needle (random values and needles)', () => {
    // characters that stress each step: case, escapes, white space, NFKC, surrogates
    const pool = ['a', 'B', 'x', 'K', 'k', 'S', 's', '@', '.', '-', ' ', '\t', '\n', '"', '\\', '\u0001', '\u007f',
      'é', 'E\u0301', 'ß', 'ﬁ', 'Ｋ', '\u212a', 'ſ', 'İ', 'Σ', '\ud800', '\udc00', '😀', '\u00a0',
      // encoded words ("sx", "Kk"), whole and in pieces
      ' =?utf-8?q?sx?= ', ' =?us-ascii?b?S2s=?= ', '=?', '?='];
    let seed = 12345;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
    const word = (len: number) => Array.from({ length: len }, () => pool[rand(pool.length)]).join('');
    let judged = 0;
    for (let i = 0; i < 20000; i++) {
      const values = Array.from({ length: 1 + rand(3) }, () => word(rand(12)));
      // a needle taken from a value's own decoded fold, or made up
      const host = foldForSearch(decodeHeaderValue(values[rand(values.length)]!));
      const start = rand(host.length + 1);
      const needle = rand(2) === 0 ? host.slice(start, start + 1 + rand(4)) : foldForSearch(word(1 + rand(3)));
      if (!jsonCheckable(needle)) continue;
      judged++;
      const found = values.some((v) => containsFolded(decodeHeaderValue(v), needle));
      if (found) expect(mayContainInJson(json(...values), needle), JSON.stringify({ values, needle })).toBe(true);
    }
    expect(judged).toBeGreaterThan(3000);
  });
});
