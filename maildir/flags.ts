/** Flag names ↔ the bits of filename.ts, with a folder's keyword letters. */
import { StoreError } from './errors.js';
import {
  FLAG_ANSWERED,
  FLAG_DELETED,
  FLAG_DRAFT,
  FLAG_FLAGGED,
  FLAG_PASSED,
  FLAG_SEEN,
  KEYWORD_SHIFT,
  MAX_KEYWORDS,
} from './filename.js';
import type { KeywordMap } from './keywords.js';
import type { Flag } from './types.js';

const SYSTEM: [string, number][] = [
  ['\\Seen', FLAG_SEEN],
  ['\\Answered', FLAG_ANSWERED],
  ['\\Flagged', FLAG_FLAGGED],
  ['\\Deleted', FLAG_DELETED],
  ['\\Draft', FLAG_DRAFT],
];
const SYSTEM_BY_LOWER = new Map(SYSTEM.map(([n, b]) => [n.toLowerCase(), b]));

export function systemBit(flag: string): number | undefined {
  return SYSTEM_BY_LOWER.get(flag.toLowerCase());
}

export function flagsFromBits(bits: number, keywords: KeywordMap): Flag[] {
  const out: Flag[] = [];
  for (const [n, b] of SYSTEM) if (bits & b) out.push(n);
  if (bits >>> KEYWORD_SHIFT) {
    for (let k = 0; k < MAX_KEYWORDS; k++) {
      if (bits & (1 << (KEYWORD_SHIFT + k))) {
        const name = keywords.nameOf(k);
        if (name !== undefined) out.push(name);
      }
    }
  }
  return out;
}

/** Keywords in `flags` that have no letter yet. \Recent and other \-names are not storable. */
export function undefinedKeywords(flags: readonly Flag[], keywords: KeywordMap): string[] {
  const out: string[] = [];
  for (const f of flags) {
    if (f.startsWith('\\')) continue;
    if (keywords.indexOf(f) === undefined && !out.some((o) => o.toLowerCase() === f.toLowerCase())) out.push(f);
  }
  return out;
}

/** Bits for `flags`; every keyword must already have a letter. \Recent is ignored (not settable). */
export function bitsFromFlags(flags: readonly Flag[], keywords: KeywordMap): number {
  let bits = 0;
  for (const f of flags) {
    if (f.startsWith('\\')) {
      const b = systemBit(f);
      if (b !== undefined) bits |= b;
      else if (f.toLowerCase() !== '\\recent') throw new StoreError('CANNOT', `Flag ${f} cannot be stored`);
      continue;
    }
    const k = keywords.indexOf(f);
    if (k === undefined) throw new StoreError('SERVERBUG', `Keyword ${f} has no letter`);
    bits |= 1 << (KEYWORD_SHIFT + k);
  }
  return bits >>> 0;
}

export function applyFlags(current: number, mode: 'add' | 'remove' | 'replace', bits: number): number {
  // 'replace' keeps letters we do not expose (P) as they were
  if (mode === 'add') return (current | bits) >>> 0;
  if (mode === 'remove') return (current & ~bits) >>> 0;
  return ((current & FLAG_PASSED) | bits) >>> 0;
}
