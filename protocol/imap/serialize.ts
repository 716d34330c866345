/**
 * IMAP response primitives (RFC 3501 section 4 / 9 grammar), as pure
 * functions returning strings or Buffers. A value that cannot be a quoted
 * string (CR, LF, NUL, 8-bit bytes, or long) becomes a literal.
 */

/** Is `s` safe inside a quoted string? (RFC 3501 4.3: no CR/LF/NUL, 7-bit; we also cap length) */
function quotable(s: string): boolean {
  if (s.length > 1024) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c === 10 || c === 13 || c > 0x7e) return false;
  }
  return true;
}

/** A string as quoted or, when needed, as a literal. `s` is text whose bytes are its UTF-8 encoding. */
export function imapString(s: string): string {
  if (quotable(s)) return '"' + s.replace(/[\\"]/g, (m) => '\\' + m) + '"';
  return `{${Buffer.byteLength(s)}}\r\n${s}`;
}

/**
 * A string given as raw bytes decoded latin1 (how maildir/mime keeps raw
 * header values): returned as a Buffer so 8-bit bytes go out unchanged.
 */
export function imapStringRaw(latin1: string): Buffer {
  if (quotable(latin1)) return Buffer.from('"' + latin1.replace(/[\\"]/g, (m) => '\\' + m) + '"', 'latin1');
  const bytes = Buffer.from(latin1, 'latin1');
  return Buffer.concat([Buffer.from(`{${bytes.length}}\r\n`), bytes]);
}

export function nstring(s: string | null): string {
  return s === null ? 'NIL' : imapString(s);
}

export function nstringRaw(latin1: string | null): Buffer {
  return latin1 === null ? Buffer.from('NIL') : imapStringRaw(latin1);
}

/** astring: an atom when possible (RFC 3501 ATOM-CHAR), else a string. */
export function astring(s: string): string {
  if (s.length > 0 && /^[\x21\x23\x24\x26\x27\x2b-\x5b\x5d-\x7a\x7c\x7e]+$/.test(s)) return s;
  return imapString(s);
}
