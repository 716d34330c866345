/** The Unicode header values SEARCH and SORT compare against (types.ts DecodedHeaders). */
import { decodeHeaderValue } from './decode.js';
import { firstField, type HeaderField } from './header-fields.js';
import type { DecodedHeaders } from './types.js';

/** All occurrences joined, decoded; "" when absent. */
function decodedAll(fields: readonly HeaderField[], name: string): string {
  const values = fields.filter((f) => f.name === name).map((f) => decodeHeaderValue(f.value));
  return values.join(', ');
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

export function buildDecodedHeaders(fields: readonly HeaderField[]): DecodedHeaders {
  const one = (name: string): string => {
    const v = firstField(fields, name);
    return v === null ? '' : decodeHeaderValue(v);
  };
  return {
    from: decodedAll(fields, 'from'),
    to: decodedAll(fields, 'to'),
    cc: decodedAll(fields, 'cc'),
    bcc: decodedAll(fields, 'bcc'),
    subject: one('subject'),
    messageId: one('message-id'),
    inReplyTo: one('in-reply-to'),
    references: one('references'),
    date: parseMailDate(firstField(fields, 'date')),
  };
}
