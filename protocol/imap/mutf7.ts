/**
 * Modified UTF-7 for mailbox names (RFC 3501 section 5.1.3).
 *
 * Printable US-ASCII (0x20–0x7e) stands for itself, except "&" which is "&-".
 * Everything else is UTF-16BE, base64-encoded with "," instead of "/" and no
 * padding, between "&" and "-". The RFC forbids encoding a printable ASCII
 * character that could represent itself; we treat every deviation (bad
 * base64, stray bits, odd byte counts, lone surrogates, raw 8-bit or control
 * bytes) as invalid, so that one Unicode name has exactly one wire spelling.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;

/** Decode a wire mailbox name (given as a string of bytes 0x00–0xff). Returns null when it is not valid modified UTF-7. */
export function decodeMutf7(wire: string): string | null {
  let out = '';
  let i = 0;
  while (i < wire.length) {
    const c = wire.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return null;
    if (c !== 0x26 /* & */) {
      out += wire[i];
      i++;
      continue;
    }
    const end = wire.indexOf('-', i + 1);
    if (end < 0) return null;
    if (end === i + 1) {
      out += '&';
      i = end + 1;
      continue;
    }
    const decoded = decodeShifted(wire.slice(i + 1, end));
    if (decoded === null) return null;
    out += decoded;
    i = end + 1;
  }
  return out;
}

function decodeShifted(b64: string): string | null {
  let bits = 0;
  let nbits = 0;
  const units: number[] = [];
  let hi = -1; // pending byte of a UTF-16 code unit
  for (let k = 0; k < b64.length; k++) {
    const code = b64.charCodeAt(k);
    const v = code < 128 ? VALUE[code] : -1;
    if (v < 0) return null;
    bits = (bits << 6) | v;
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      const byte = (bits >> nbits) & 0xff;
      bits &= (1 << nbits) - 1;
      if (hi < 0) hi = byte;
      else {
        units.push((hi << 8) | byte);
        hi = -1;
      }
    }
  }
  // Leftover bits must be padding zeros shorter than one base64 digit, and the bytes must make whole code units.
  if (nbits >= 6 || bits !== 0 || hi >= 0 || units.length === 0) return null;
  let out = '';
  for (let k = 0; k < units.length; k++) {
    const u = units[k];
    if (u >= 0x20 && u <= 0x7e) return null; // must have been written directly
    if (u >= 0xd800 && u <= 0xdbff) {
      const lo = units[k + 1];
      if (lo === undefined || lo < 0xdc00 || lo > 0xdfff) return null;
      out += String.fromCharCode(u, lo);
      k++;
      continue;
    }
    if (u >= 0xdc00 && u <= 0xdfff) return null;
    out += String.fromCharCode(u);
  }
  return out;
}

/** Encode a Unicode mailbox name for the wire. */
export function encodeMutf7(name: string): string {
  let out = '';
  let pending: number[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    const bytes: number[] = [];
    for (const u of pending) bytes.push(u >> 8, u & 0xff);
    let b64 = '';
    let bits = 0;
    let nbits = 0;
    for (const b of bytes) {
      bits = (bits << 8) | b;
      nbits += 8;
      while (nbits >= 6) {
        nbits -= 6;
        b64 += ALPHABET[(bits >> nbits) & 0x3f];
      }
      bits &= (1 << nbits) - 1;
    }
    if (nbits > 0) b64 += ALPHABET[(bits << (6 - nbits)) & 0x3f];
    out += `&${b64}-`;
    pending = [];
  };
  for (let i = 0; i < name.length; i++) {
    const u = name.charCodeAt(i);
    if (u >= 0x20 && u <= 0x7e) {
      flush();
      out += u === 0x26 ? '&-' : name[i];
    } else pending.push(u);
  }
  flush();
  return out;
}
