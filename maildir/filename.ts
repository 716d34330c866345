/**
 * Maildir file names (DESIGN.md "Maildir++"):
 *
 *   <unique>,S=<raw size>,W=<CRLF size>:2,<flags>
 *   <unique> = <seconds>.M<micros>P<pid>Q<n>.<host>
 *
 * Unique across processes (pid + per-process counter) and hosts (host name,
 * with '/' and ':' escaped as qmail does). The part before ':' is the "base":
 * it never changes for the life of the message and is what the uidlist keys
 * on; the info after ':2,' carries the flags and changes with them.
 *
 * Foreign names (mutt, maildrop, Courier, Dovecot, hand-made) are parsed
 * leniently: no info at all, ':1,' experimental info, unknown flag letters.
 * We keep whatever we do not understand so that a flag change never turns a
 * name into garbage.
 */
import { hostname } from 'node:os';

/** Flag bits held per message. Keywords a..z use bits 6..31. */
export const FLAG_SEEN = 1 << 0;
export const FLAG_ANSWERED = 1 << 1;
export const FLAG_FLAGGED = 1 << 2;
export const FLAG_DELETED = 1 << 3;
export const FLAG_DRAFT = 1 << 4;
export const FLAG_PASSED = 1 << 5; // 'P': no IMAP flag, kept as found
export const KEYWORD_SHIFT = 6;
export const MAX_KEYWORDS = 26;
export const SYSTEM_MASK = 0x3f;

/** Maildir letters in ASCII order, as the spec requires them to be written. */
const LETTERS: [string, number][] = [
  ['D', FLAG_DRAFT],
  ['F', FLAG_FLAGGED],
  ['P', FLAG_PASSED],
  ['R', FLAG_ANSWERED],
  ['S', FLAG_SEEN],
  ['T', FLAG_DELETED],
];

export interface ParsedName {
  base: string;
  /** flag bits from a ':2,' info; 0 otherwise */
  flags: number;
  /** letters in a ':2,' info we do not know (kept on rename); or the whole info if it is not ':2,' */
  extra: string;
  /** true if the info is not of the ':2,' form (kept verbatim, flags cannot be stored in it) */
  foreignInfo: boolean;
  rawSize: number | null;
  vsize: number | null;
}

export function parseName(name: string): ParsedName {
  const colon = name.indexOf(':');
  const base = colon < 0 ? name : name.slice(0, colon);
  let flags = 0;
  let extra = '';
  let foreignInfo = false;
  if (colon >= 0) {
    const info = name.slice(colon + 1);
    if (info.startsWith('2,')) {
      for (let i = 2; i < info.length; i++) {
        const ch = info[i];
        const c = info.charCodeAt(i);
        if (c >= 97 && c <= 122) flags |= 1 << (KEYWORD_SHIFT + c - 97);
        else {
          const known = LETTERS.find(([l]) => l === ch);
          if (known) flags |= known[1];
          else if (!extra.includes(ch)) extra += ch;
        }
      }
    } else {
      foreignInfo = true;
      extra = info;
    }
  }
  return { base, flags: flags >>> 0, extra, foreignInfo, rawSize: sizeField(base, ',S='), vsize: sizeField(base, ',W=') };
}

/** flag bits by the character code of their Maildir letter */
const LETTER_BITS: number[] = [];
for (const [l, bit] of LETTERS) LETTER_BITS[l.charCodeAt(0)] = bit;

/**
 * parseName(name).flags alone, without building the rest: a folder listed
 * for the first time needs just this (and the sizes) for each of its files.
 */
export function flagsOf(name: string): number {
  const colon = name.indexOf(':');
  // ":2," info only (parseName keeps any other info verbatim, with no flags)
  if (colon < 0 || name.charCodeAt(colon + 1) !== 50 || name.charCodeAt(colon + 2) !== 44) return 0;
  let flags = 0;
  for (let i = colon + 3; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 97 && c <= 122) flags |= 1 << (KEYWORD_SHIFT + c - 97);
    else flags |= LETTER_BITS[c] ?? 0;
  }
  return flags >>> 0;
}

/** The S= (raw) or W= (CRLF) size a base carries, or null (parseName's rawSize and vsize). */
export function sizeOf(base: string, which: 'S' | 'W'): number | null {
  return sizeField(base, which === 'S' ? ',S=' : ',W=');
}

function sizeField(base: string, tag: string): number | null {
  const i = base.indexOf(tag);
  if (i < 0) return null;
  let n = 0;
  let j = i + tag.length;
  const start = j;
  for (; j < base.length; j++) {
    const c = base.charCodeAt(j);
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
  }
  return j > start ? n : null;
}

/** The info part for flag bits (plus kept unknown letters), as written after ':'. */
export function infoFor(flags: number, extra = ''): string {
  let s = '2,';
  const letters: string[] = [];
  for (const [l, bit] of LETTERS) if (flags & bit) letters.push(l);
  for (const ch of extra) if (!letters.includes(ch)) letters.push(ch);
  letters.sort();
  s += letters.join('');
  for (let k = 0; k < MAX_KEYWORDS; k++) if (flags & (1 << (KEYWORD_SHIFT + k))) s += String.fromCharCode(97 + k);
  return s;
}

export function fileNameFor(base: string, flags: number, extra = ''): string {
  return `${base}:${infoFor(flags, extra)}`;
}

let counter = 0;
const host = hostname().replace(/\//g, '\\057').replace(/:/g, '\\072') || 'localhost';

/** A new unique name, without sizes (those are added once the body is written). */
export function uniqueName(now = Date.now()): string {
  const secs = Math.floor(now / 1000);
  const micros = Math.floor((now % 1000) * 1000 + Number(process.hrtime.bigint() % 1000n));
  return `${secs}.M${micros}P${process.pid}Q${++counter}.${host}`;
}

export function baseWithSizes(unique: string, rawSize: number, vsize: number): string {
  return `${unique},S=${rawSize},W=${vsize}`;
}
