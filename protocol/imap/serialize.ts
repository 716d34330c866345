/**
 * IMAP response primitives (RFC 3501 section 4 / 9 grammar), as pure
 * functions returning strings or Buffers. A value that cannot be a quoted
 * string (CR, LF, NUL, 8-bit bytes, or long) becomes a literal.
 */

const LITERAL = 0;
const PLAIN = 1;
const ESCAPED = 2;

/**
 * How `s` can be sent: as a literal (RFC 3501 4.3: CR, LF, NUL or 8-bit
 * bytes cannot be quoted; we also cap the length), quoted as it is, or
 * quoted with `\` and `"` escaped.
 */
function quoting(s: string): number {
  if (s.length > 1024) return LITERAL;
  let kind = PLAIN;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c === 10 || c === 13 || c > 0x7e) return LITERAL;
    if (c === 0x22 || c === 0x5c) kind = ESCAPED;
  }
  return kind;
}

function quoted(s: string, kind: number): string {
  return kind === PLAIN ? '"' + s + '"' : '"' + s.replace(/[\\"]/g, (m) => '\\' + m) + '"';
}

/** A string as quoted or, when needed, as a literal. `s` is text whose bytes are its UTF-8 encoding. */
export function imapString(s: string): string {
  const kind = quoting(s);
  if (kind !== LITERAL) return quoted(s, kind);
  return `{${Buffer.byteLength(s)}}\r\n${s}`;
}

export function nstring(s: string | null): string {
  return s === null ? 'NIL' : imapString(s);
}

/** astring: an atom when possible (RFC 3501 ATOM-CHAR), else a string. */
export function astring(s: string): string {
  if (s.length > 0 && /^[\x21\x23\x24\x26\x27\x2b-\x5b\x5d-\x7a\x7c\x7e]+$/.test(s)) return s;
  return imapString(s);
}
