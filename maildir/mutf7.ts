/**
 * Modified UTF-7 (RFC 3501 5.1.3): how mailbox names are stored on disk, as
 * Courier and Dovecot do. `&` is `&-`; other non-printable-ASCII runs are
 * `&` + modified base64 (`,` for `/`, no padding) of UTF-16BE + `-`.
 */
export function encodeMutf7(s: string): string {
  let out = '';
  let run = '';
  const flush = () => {
    if (!run) return;
    const buf = Buffer.alloc(run.length * 2);
    for (let i = 0; i < run.length; i++) buf.writeUInt16BE(run.charCodeAt(i), i * 2);
    out += '&' + buf.toString('base64').replace(/=+$/, '').replace(/\//g, ',') + '-';
    run = '';
  };
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x20 && c <= 0x7e) {
      flush();
      out += ch === '&' ? '&-' : ch;
    } else {
      run += ch;
    }
  }
  flush();
  return out;
}

/** Decode; returns null for malformed input (a name we must not guess at). */
export function decodeMutf7(s: string): string | null {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    const c = ch.charCodeAt(0);
    if (c < 0x20 || c > 0x7e) return null;
    if (ch !== '&') {
      out += ch;
      continue;
    }
    const end = s.indexOf('-', i + 1);
    if (end < 0) return null;
    if (end === i + 1) {
      out += '&';
      i = end;
      continue;
    }
    const b64 = s.slice(i + 1, end);
    if (!/^[A-Za-z0-9+,]+$/.test(b64)) return null;
    const bytes = Buffer.from(b64.replace(/,/g, '/'), 'base64');
    if (bytes.length % 2 !== 0 || bytes.length === 0) return null;
    let piece = '';
    for (let j = 0; j < bytes.length; j += 2) piece += String.fromCharCode(bytes.readUInt16BE(j));
    // a shifted run must not encode printable ASCII (RFC 3501 5.1.3) and must be valid UTF-16
    if (/[\x20-\x7e]/.test(piece) || hasLoneSurrogate(piece)) return null;
    out += piece;
    i = end;
  }
  return out;
}

function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return true;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return true;
  }
  return false;
}
