/**
 * Text comparison for SEARCH: RFC 3501 6.4.4 says string keys match "if the
 * string is a substring of the field" and "the matching is case-insensitive".
 * Dovecot compares with the i;unicode-casemap collation (RFC 5051); we use a
 * close, cheap approximation that both sides of the comparison go through:
 *
 *  1. NFKC, so composed/decomposed accents agree and compatibility forms
 *     (ligatures, full-width letters, NBSP) match their plain forms;
 *  2. toUpperCase then toLowerCase (full case mapping, so "ß", "SS" and "ss"
 *     agree), then "ς" → "σ" because JS lowercases Σ context-dependently at
 *     word ends, which would make a substring fold differently from its host;
 *  3. every run of white space (including line breaks) becomes one space, so
 *     a phrase matches across a folded header or a wrapped body line. This is
 *     a little more generous than Dovecot, which does not fold body white space.
 *
 * The streaming finder applies the same fold to text arriving in chunks and
 * keeps a window of the last needle-length characters, so a match straddling
 * a chunk edge is still found while memory stays bounded by the chunk size.
 */

import { isAscii } from 'node:buffer';

const ASCII_ONLY = /^[\x00-\x7f]*$/;
const WHITE_SPACE_RUN = /\s+/g;

/** Fold text for comparison (see the file comment). */
export function foldForSearch(text: string): string {
  return foldCase(text).replace(WHITE_SPACE_RUN, ' ');
}

/** Steps 1 and 2 of the fold (no white space folding). */
function foldCase(text: string): string {
  if (ASCII_ONLY.test(text)) return text.toLowerCase();
  if (LATIN1_ONLY.test(text)) return text.toLowerCase().replace(LATIN1_SPECIAL, latin1Special);
  return foldCaseFull(text);
}

/** Steps 1 and 2 for any text. Exported for the test that pins the Latin-1 shortcut to it. */
export function foldCaseFull(text: string): string {
  return text.normalize('NFKC').toUpperCase().toLowerCase().replace(/ς/g, 'σ');
}

/*
 * Latin-1 text (8-bit mail in ISO-8859-1 or windows-1252 is most of what is
 * not ASCII) folds character by character: it has no combining marks, the
 * marks some of its characters decompose into (¨ → " ̈") follow a space and
 * compose with nothing, and no case mapping of it needs context. So the fold
 * is toLowerCase plus a few characters that NFKC or full case mapping change
 * further (ß → ss, µ → μ, ² → 2, ½ → 1⁄2, NBSP → space, …). That set is
 * derived from foldCaseFull here, not listed by hand; the whole-text fold
 * (normalize, then two case mappings of a two-byte string) cost ~100 µs per
 * 8-bit message in SEARCH BODY.
 */
const LATIN1_ONLY = /^[\x00-\xff]*$/;
const LATIN1_FOLDS = new Map<string, string>();
for (let c = 0x80; c <= 0xff; c++) {
  const lower = String.fromCharCode(c).toLowerCase();
  const folded = foldCaseFull(String.fromCharCode(c));
  if (folded !== lower) LATIN1_FOLDS.set(lower, folded);
}
const LATIN1_SPECIAL = new RegExp(`[${[...LATIN1_FOLDS.keys()].map((k) => `\\u${k.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}]`, 'g');
const latin1Special = (c: string): string => LATIN1_FOLDS.get(c)!;

/** One-shot case-insensitive substring test with the fold above; `needle` is already folded. */
export function containsFolded(haystack: string, foldedNeedle: string): boolean {
  if (foldedNeedle === '') return true;
  return foldForSearch(haystack).includes(foldedNeedle);
}

/** A needle the JSON pre-check can look for: printable ASCII without white space, quote or backslash. */
const JSON_SAFE_NEEDLE = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** Whether mayContainInJson can judge `foldedNeedle` (else the values must be decoded and folded). */
export function jsonCheckable(foldedNeedle: string): boolean {
  return JSON_SAFE_NEEDLE.test(foldedNeedle);
}

/**
 * A cheap pre-check before decoding stored header values: false only when
 * no string value in `json` (JSON text in UTF-8, e.g. a cache record) can
 * contain `foldedNeedle` (one jsonCheckable accepts) once decoded
 * (decodeHeaderValue: the values are raw header text) and passed through
 * foldForSearch. Why that holds when `json` is all ASCII and has no "=?":
 *  - JSON.stringify leaves non-ASCII characters as they are, so an ASCII
 *    text holds ASCII values (lone surrogates are escaped to ASCII, but no
 *    fold turns one into ASCII); for them foldCase is toLowerCase;
 *  - an ASCII value without "=?" holds no RFC 2047 encoded word, so decoding
 *    only unfolds it (drops a line break before white space), which changes
 *    no run of non-space characters;
 *  - the needle has no white space, so it can only match inside a run of
 *    non-space characters, which white-space folding leaves alone;
 *  - JSON escapes only quotes, backslashes and control characters, none of
 *    which the needle has, so every stretch of a value that could match
 *    appears in the text unchanged.
 * A text with any non-ASCII byte answers true: NFKC may fold it to ASCII
 * (full-width letters, ligatures, the Kelvin sign), and raw 8-bit bytes are
 * decoded as UTF-8 or windows-1252 first. So does a text with "=?": what an
 * encoded word says is not in its bytes.
 */
export function mayContainInJson(json: Buffer, foldedNeedle: string): boolean {
  if (!isAscii(json) || json.includes(ENCODED_WORD_START)) return true;
  return json.toString('latin1').toLowerCase().includes(foldedNeedle);
}

const ENCODED_WORD_START = Buffer.from('=?', 'latin1');

/**
 * Beyond this many held-back characters without a safe cut point (an ASCII
 * character) we cut anyway; only a combining sequence split exactly there
 * could fold differently, and text that long without a single ASCII
 * character (not even a space or a line break) is very rare.
 */
const MAX_HELD_BACK = 1024;

/**
 * Finds one folded needle in text that arrives in pieces. `push` returns true
 * as soon as the needle has been seen; `end` flushes the held-back tail.
 */
export class StreamingFinder {
  private readonly needle: string;
  /**
   * Whether white space must be folded at all: a needle without white space
   * can only match inside a run of non-space characters, which folding white
   * space leaves unchanged, so then case folding alone gives the same answer.
   */
  private readonly foldSpaces: boolean;
  /** raw text not yet folded: it may still combine with what comes next */
  private pending = '';
  /** folded tail of what was already searched, needle.length - 1 long at most */
  private window = '';
  /** whether the folded stream so far ends with a (folded) space */
  private endsWithSpace = false;
  private found = false;

  /** @param foldedNeedle a needle already passed through foldForSearch, non-empty */
  constructor(foldedNeedle: string) {
    this.needle = foldedNeedle;
    this.foldSpaces = foldedNeedle.includes(' ');
    this.found = foldedNeedle === '';
  }

  get matched(): boolean {
    return this.found;
  }

  /** Forget everything seen so far (a new MIME part begins: Dovecot does not match across parts). */
  reset(): void {
    this.pending = '';
    this.window = '';
    this.endsWithSpace = false;
    this.found = this.needle === '';
  }

  push(text: string): boolean {
    if (this.found || text === '') return this.found;
    const raw = this.pending + text;
    const cut = safeCut(raw);
    this.pending = raw.slice(cut);
    if (cut > 0) this.search(raw.slice(0, cut));
    return this.found;
  }

  end(): boolean {
    if (!this.found && this.pending !== '') this.search(this.pending);
    this.pending = '';
    return this.found;
  }

  private search(rawPiece: string): void {
    let folded: string;
    if (this.foldSpaces) {
      folded = foldForSearch(rawPiece);
      // Two pieces folded separately may each contribute a space to one run of white space.
      if (this.endsWithSpace && folded.startsWith(' ')) folded = folded.slice(1);
    } else {
      folded = foldCase(rawPiece);
    }
    if (folded === '') return;
    const keep = this.needle.length - 1;
    // (the piece and the seam with the window are searched apart: no copy of the whole piece)
    const seam = this.window + folded.slice(0, keep);
    if (seam.includes(this.needle) || folded.includes(this.needle)) {
      this.found = true;
      return;
    }
    if (keep === 0) this.window = '';
    else this.window = folded.length >= keep ? folded.slice(-keep) : (this.window + folded).slice(-keep);
    this.endsWithSpace = folded.endsWith(' ');
  }
}

/**
 * Where `raw` can be split so that folding the two halves separately equals
 * folding the whole: just before the last ASCII character. An ASCII character
 * is a normalisation starter that never composes with what precedes it, and
 * case mapping has no context once final sigma is neutralised.
 */
function safeCut(raw: string): number {
  for (let i = raw.length - 1; i >= 0; i--) {
    if (raw.charCodeAt(i) < 0x80) return i;
  }
  if (raw.length <= MAX_HELD_BACK) return 0;
  let cut = raw.length - 16;
  const code = raw.charCodeAt(cut);
  if (code >= 0xdc00 && code <= 0xdfff) cut--; // never split a surrogate pair
  return cut;
}
