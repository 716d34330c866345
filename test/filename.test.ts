// Maildir file names (maildir/filename.ts): the flag and size facts read one by one on a
// folder's first load must be exactly what the full parse gives.
import { describe, expect, it } from 'vitest';
import { FLAG_DRAFT, FLAG_FLAGGED, FLAG_PASSED, FLAG_SEEN, KEYWORD_SHIFT, flagsOf, parseName, sizeOf } from '../maildir/filename.js';

const names = [
  '1700000000.M1P2Q3.host,S=3569,W=3642:2,FS',
  '1700000000.M1P2Q3.host,S=3569,W=3642:2,',
  '1700000000.M1P2Q3.host,S=12:2,DPRSTabz',
  '1700000000.M1P2Q3.host:2,Sx?F',
  '1700000000.M1P2Q3.host:1,experimental',
  '1700000000.M1P2Q3.host',
  'courier.name,S=abc,W=:2,S',
  'weird:2',
  ':2,S',
  'a,W=7,S=9:2,T',
];

describe('flagsOf / sizeOf', () => {
  it('agree with parseName on every form of name', () => {
    for (const n of names) {
      const p = parseName(n);
      expect(flagsOf(n), n).toBe(p.flags);
      expect(sizeOf(p.base, 'S'), n).toBe(p.rawSize);
      expect(sizeOf(p.base, 'W'), n).toBe(p.vsize);
    }
  });

  it('reads the letters, keywords and sizes', () => {
    expect(flagsOf('x,S=1,W=2:2,DFPS')).toBe(FLAG_DRAFT | FLAG_FLAGGED | FLAG_PASSED | FLAG_SEEN);
    expect(flagsOf('x:2,ac')).toBe((1 << KEYWORD_SHIFT) | (1 << (KEYWORD_SHIFT + 2)));
    expect(flagsOf('x:1,S')).toBe(0);
    expect(sizeOf('x,S=3569,W=3642', 'S')).toBe(3569);
    expect(sizeOf('x,S=3569,W=3642', 'W')).toBe(3642);
    expect(sizeOf('x,S=,W=1', 'S')).toBeNull();
  });
});
