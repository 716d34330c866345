/**
 * The header values SEARCH compares against (types.ts SearchHeaders): kept
 * raw when a message is parsed, decoded to Unicode when a search asks.
 */
import { decodeHeaderValue } from './decode.js';
import { firstField, type HeaderField } from './header-fields.js';
import type { SearchHeaders } from './types.js';

/** Every occurrence's raw value joined by "\n" (see SearchHeaders); "" when absent. */
function allRaw(fields: readonly HeaderField[], name: string): string {
  let out: string | null = null;
  for (const f of fields) {
    if (f.name === name) out = out === null ? f.value : `${out}\n${f.value}`;
  }
  return out ?? '';
}

export function buildSearchHeaders(fields: readonly HeaderField[]): SearchHeaders {
  return {
    from: allRaw(fields, 'from'),
    to: allRaw(fields, 'to'),
    cc: allRaw(fields, 'cc'),
    bcc: allRaw(fields, 'bcc'),
    subject: firstField(fields, 'subject') ?? '',
    messageId: firstField(fields, 'message-id') ?? '',
    inReplyTo: firstField(fields, 'in-reply-to') ?? '',
    references: firstField(fields, 'references') ?? '',
  };
}

/**
 * A field of `h` in Unicode: each occurrence decoded on its own (an encoded
 * word never spans two header fields), several joined by ", ".
 */
export function decodedHeader(h: SearchHeaders, field: keyof SearchHeaders): string {
  const raw = h[field];
  if (!raw.includes('\n')) return decodeHeaderValue(raw);
  return raw.split('\n').map(decodeHeaderValue).join(', ');
}

/**
 * RFC 5322 3.3 date, tolerant: comments dropped, obsolete zone names and a
 * missing zone left to Date.parse (which knows UT/GMT/EST/...); null if that
 * still fails.
 */
export function parseMailDate(raw: string | null): number | null {
  if (raw === null) return null;
  const cleaned = raw.replace(/\([^)]*\)/g, ' ').replace(/\s+/g, ' ').trim();
  if (cleaned.length === 0) return null;
  let t = Date.parse(cleaned);
  if (Number.isNaN(t)) {
    // "Mon, 2 Sep 2002 12:00:00 +0100 EDT" and similar: keep up to the numeric zone.
    const m = /^(.*?[+-]\d{4})\b/.exec(cleaned);
    if (m) t = Date.parse(m[1]!);
  }
  return Number.isNaN(t) ? null : t;
}
