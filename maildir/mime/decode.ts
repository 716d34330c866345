/**
 * Header values in Unicode for SEARCH and SORT.
 *
 * Raw header bytes come in as latin1 strings. Bytes >= 0x80 are not allowed in
 * RFC 5322 headers but are common (raw UTF-8 under RFC 6532, or a legacy 8-bit
 * charset): we try strict UTF-8 first and fall back to windows-1252, a superset
 * of latin1 for the printable range. RFC 2047 encoded words are then decoded by
 * libmime, which also joins adjacent encoded words (RFC 2047 6.2) and resolves
 * charset aliases through iconv-lite.
 */
import iconv from 'iconv-lite';
import libmime from 'libmime';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Interprets the bytes of a raw (latin1) string: UTF-8 when valid, else windows-1252. */
export function rawToUnicode(raw: string): string {
  if (!/[\x80-\xff]/.test(raw)) return raw;
  const bytes = Buffer.from(raw, 'latin1');
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return iconv.decode(bytes, 'windows-1252');
  }
}

/** What decodeHeaderValue changes: a line break, an 8-bit byte, an encoded word's start. */
const NEEDS_DECODING = /[\n\x80-\xff]|=\?/;

/** RFC 2047 + charset decoding of one raw header value; never throws. */
export function decodeHeaderValue(raw: string): string {
  // Most values are plain ASCII on one line: one test instead of three
  // passes (SEARCH FROM decodes one per message it cannot rule out).
  if (!NEEDS_DECODING.test(raw)) return raw;
  const unfolded = rawToUnicode(raw.replace(/\r?\n(?=[ \t])/g, ''));
  if (!unfolded.includes('=?')) return unfolded;
  try {
    return libmime.decodeWords(unfolded);
  } catch {
    return unfolded;
  }
}
