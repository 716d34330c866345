/**
 * BODY[HEADER.FIELDS (…)] and BODY[HEADER.FIELDS.NOT (…)] (RFC 3501 6.4.5):
 * the header lines of the named fields (or of all the others), each field
 * with its original folding, in CRLF form, followed by the blank line. With
 * no field left the result is just the blank line (Dovecot does the same).
 *
 * Field names compare case-insensitively. A line that is not a field (no
 * colon) counts as a field named by the whole line, so it is never selected
 * by HEADER.FIELDS and is kept by HEADER.FIELDS.NOT, as Dovecot's header
 * filter does. A header is small (the parser bounds what it indexes), so the
 * raw header is buffered here rather than streamed.
 */
import { toCrlf } from './crlf-source.js';

const CRLF = Buffer.from('\r\n');

function fieldName(line: Buffer): string {
  const colon = line.indexOf(0x3a);
  const name = (colon < 0 ? line : line.subarray(0, colon)).toString('latin1');
  return name.replace(/[ \t\r\n]+$/, '').toLowerCase();
}

export function filterHeaderFields(rawHeader: Buffer, fields: readonly string[], not: boolean): Buffer {
  const wanted = new Set(fields.map((f) => f.toLowerCase()));
  const text = toCrlf(rawHeader, false);
  const out: Buffer[] = [];
  let keep = not; // a continuation line before any field stands alone: kept only by .NOT
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf(0x0a, pos);
    const end = nl < 0 ? text.length : nl + 1;
    const line = text.subarray(pos, end);
    pos = end;
    const content = line.subarray(0, line.length - (line.at(-1) === 0x0a ? (line.at(-2) === 0x0d ? 2 : 1) : 0));
    if (content.length === 0) break; // the blank line that ends the header
    const first = content[0];
    // a continuation line (leading WSP) shares the fate of the field before it
    if (first !== 0x20 && first !== 0x09) keep = wanted.has(fieldName(content)) !== not;
    if (keep) out.push(content, CRLF);
  }
  out.push(CRLF);
  return Buffer.concat(out);
}
