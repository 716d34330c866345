/**
 * Streaming body decoder for SEARCH BODY/TEXT: Content-Transfer-Encoding
 * (RFC 2045 6) then charset -> Unicode. Tolerant: characters outside the
 * base64 alphabet are skipped, a broken "=XX" in quoted-printable is kept as
 * is, an unknown charset is read as UTF-8 and, from the first invalid
 * sequence on, as latin1. Holds back at most a few bytes between chunks.
 */
import iconv from 'iconv-lite';

export interface BodyDecoder {
  write(chunk: Buffer): string;
  end(): string;
}

interface ByteStage {
  write(chunk: Buffer): Buffer;
  end(): Buffer;
}

function base64Stage(): ByteStage {
  let carry = '';
  const take = (s: string, final: boolean): Buffer => {
    const clean = carry + s.replace(/[^A-Za-z0-9+/]/g, '');
    const usable = final ? clean.length : clean.length - (clean.length % 4);
    carry = clean.slice(usable);
    return Buffer.from(clean.slice(0, usable), 'base64');
  };
  return { write: (c) => take(c.toString('latin1'), false), end: () => take('', true) };
}

const HEX = /^[0-9A-Fa-f]{2}$/;

function quotedPrintableStage(): ByteStage {
  let carry = '';
  const decode = (s: string, final: boolean): Buffer => {
    let text = carry + s;
    carry = '';
    if (!final) {
      // an "=" near the end may start an escape or a soft break continued in the next chunk
      const eq = text.lastIndexOf('=');
      if (eq >= 0 && text.length - eq < 3 + 1 && !/^=[0-9A-Fa-f]{2}$/.test(text.slice(eq))) {
        carry = text.slice(eq);
        text = text.slice(0, eq);
      }
    }
    // soft line breaks (RFC 2045 6.7 rule 5), also with trailing whitespace before the break
    text = text.replace(/=[ \t]*\r?\n/g, '');
    const out: number[] = [];
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x3d && HEX.test(text.slice(i + 1, i + 3))) {
        out.push(parseInt(text.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        out.push(c & 0xff);
      }
    }
    return Buffer.from(out);
  };
  return { write: (c) => decode(c.toString('latin1'), false), end: () => decode('', true) };
}

function identityStage(): ByteStage {
  return { write: (c) => c, end: () => Buffer.alloc(0) };
}

interface TextStage {
  write(b: Buffer): string;
  end(): string;
}

function charsetStage(charset: string | null): TextStage {
  const name = (charset ?? '').trim().toLowerCase();
  if (name && name !== 'utf-8' && name !== 'utf8' && iconv.encodingExists(name)) {
    const dec = iconv.getDecoder(name);
    return { write: (b) => dec.write(b), end: () => dec.end() ?? '' };
  }
  // UTF-8 (declared, unknown or absent charset) with a latin1 fallback once it
  // proves invalid. Incomplete sequences at a chunk end are held back by hand
  // (not inside a streaming TextDecoder) so that no byte is lost on the switch.
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let latin1 = false;
  let pending = Buffer.alloc(0);
  return {
    write(b) {
      if (latin1) return b.toString('latin1');
      const all = pending.length > 0 ? Buffer.concat([pending, b]) : b;
      const cut = completeUtf8Prefix(all);
      pending = Buffer.from(all.subarray(cut));
      try {
        return utf8.decode(all.subarray(0, cut));
      } catch {
        latin1 = true;
        const rest = pending;
        pending = Buffer.alloc(0);
        return all.subarray(0, cut).toString('latin1') + rest.toString('latin1');
      }
    },
    end() {
      const rest = pending;
      pending = Buffer.alloc(0);
      if (rest.length === 0) return '';
      try {
        return utf8.decode(rest);
      } catch {
        return rest.toString('latin1');
      }
    },
  };
}

/** Length of `b` without a trailing incomplete UTF-8 sequence (at most 3 bytes held back). */
function completeUtf8Prefix(b: Buffer): number {
  for (let back = 1; back <= Math.min(3, b.length); back++) {
    const c = b[b.length - back]!;
    if (c < 0x80) return b.length; // ASCII: nothing pending
    if (c >= 0xc0) {
      const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      return need > back ? b.length - back : b.length;
    }
  }
  return b.length;
}

export function createBodyDecoder(encoding: string, charset: string | null): BodyDecoder {
  const enc = encoding.trim().toLowerCase();
  const bytes = enc === 'base64' ? base64Stage() : enc === 'quoted-printable' ? quotedPrintableStage() : identityStage();
  const text = charsetStage(charset);
  return {
    write: (chunk) => text.write(bytes.write(chunk)),
    end: () => text.write(bytes.end()) + text.end(),
  };
}
