/**
 * Address-list parsing for ENVELOPE (RFC 5322 3.4, RFC 3501 7.4.2), tolerant in
 * the way Dovecot's message-address.c is: garbage never throws, a missing
 * local part becomes "MISSING_MAILBOX" and a missing domain "MISSING_DOMAIN"
 * (Dovecot's MESSAGE_ADDRESS_PARSE_FLAG_FILL_MISSING, which its IMAP ENVELOPE
 * uses), an unclosed quote, comment or angle bracket runs to the end of the
 * value. Group syntax gives a start marker {mailbox: group name, host: null}
 * and an end marker {mailbox: null, host: null}. Strings stay raw (latin1);
 * encoded words in display names are left for the client, as IMAP wants.
 */
import type { Address } from './types.js';

export const MISSING_MAILBOX = 'MISSING_MAILBOX';
export const MISSING_DOMAIN = 'MISSING_DOMAIN';

/**
 * `sp`: whitespace or a comment came before the token (phrases keep one space
 * there). One shape for every kind, so that the code reading tokens stays
 * monomorphic.
 */
interface Token {
  t: 'word' | 'literal' | 'comment' | 'special';
  v: string;
  sp: boolean;
}

const SPECIALS = '<>@,;:.';
/** ASCII codes that end an atom: the specials, whitespace, and what opens a quoted string, comment or domain literal */
const ENDS_ATOM = new Uint8Array(128);
for (const c of `${SPECIALS} \t\r\n"([`) ENDS_ATOM[c.charCodeAt(0)] = 1;

// Atoms and quoted strings are cut with slice() rather than built a
// character at a time: this runs on every address header of every message
// a cold FETCH ENVELOPE parses.
function lex(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let sp = false;
  const push = (t: Token['t'], v: string): void => {
    out.push({ t, v, sp });
    sp = false;
  };
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9 || c === 13 || c === 10) {
      i++;
      sp = true;
    } else if (c === 34) {
      // quoted-string: a backslash quotes the next character; unclosed runs to the end
      let v = '';
      let from = ++i;
      while (i < s.length) {
        const d = s.charCodeAt(i);
        if (d === 34) break;
        if (d === 92 && i + 1 < s.length) {
          v += s.slice(from, i) + s[i + 1];
          i += 2;
          from = i;
        } else {
          i++;
        }
      }
      v += s.slice(from, i);
      i++;
      push('word', v);
    } else if (c === 40) {
      let depth = 0;
      let v = '';
      for (; i < s.length; i++) {
        const d = s[i]!;
        if (d === '\\' && i + 1 < s.length) { v += s[++i]; continue; }
        if (d === '(') { if (depth++ === 0) continue; }
        else if (d === ')' && --depth === 0) { i++; break; }
        v += d;
      }
      push('comment', v.trim());
      sp = true;
    } else if (c === 91) {
      const end = s.indexOf(']', i);
      const stop = end < 0 ? s.length : end + 1;
      push('literal', s.slice(i, stop));
      i = stop;
    } else if (c < 128 && SPECIALS.includes(s[i]!)) {
      push('special', s[i]!);
      i++;
    } else {
      const from = i;
      for (i++; i < s.length; i++) {
        const d = s.charCodeAt(i);
        if (d < 128 && ENDS_ATOM[d] === 1) break;
      }
      push('word', s.slice(from, i));
    }
  }
  return out;
}

const isSpecial = (tok: Token | undefined, v: string): boolean => tok !== undefined && tok.t === 'special' && tok.v === v;

/** Display-name phrase as written, each run of whitespace and comments turned into one space. */
function phrase(tokens: Token[]): string | null {
  let out = '';
  for (const tok of tokens) {
    if (tok.t === 'comment') continue;
    out += tok.sp && out.length > 0 ? ' ' + tok.v : tok.v;
  }
  return out.length > 0 ? out : null;
}

/** local-part "@" domain, tolerating anything; comments are skipped. */
function addrSpec(tokens: Token[]): { mailbox: string; host: string } {
  let local = '';
  let domain = '';
  let seenAt = false;
  for (const tok of tokens) {
    if (tok.t === 'comment') continue;
    if (tok.t === 'special' && tok.v === '@' && !seenAt) { seenAt = true; continue; }
    if (tok.t === 'special' && tok.v !== '.') continue;
    if (seenAt) domain += tok.v;
    else local += tok.v;
  }
  return { mailbox: local.length > 0 ? local : MISSING_MAILBOX, host: domain.length > 0 ? domain : MISSING_DOMAIN };
}

function mailbox(tokens: Token[]): Address | null {
  if (tokens.length === 0) return null;
  const lt = tokens.findIndex((t) => isSpecial(t, '<'));
  if (lt < 0) {
    if (tokens.every((t) => t.t === 'comment')) return null;
    const spec = addrSpec(tokens);
    // Dovecot uses a trailing comment as the name of a bare addr-spec: "a@b (Name)".
    let comment: Token | undefined;
    for (let k = tokens.length - 1; k >= 0 && comment === undefined; k--) if (tokens[k]!.t === 'comment') comment = tokens[k];
    const name = comment && comment.v.length > 0 ? comment.v : null;
    return { name, adl: null, mailbox: spec.mailbox, host: spec.host };
  }
  let gt = tokens.findIndex((t, k) => k > lt && isSpecial(t, '>'));
  if (gt < 0) gt = tokens.length;
  let inner = tokens.slice(lt + 1, gt);
  let adl: string | null = null;
  // obs-route (RFC 5322 4.4): "@a,@b:" before the addr-spec.
  if (isSpecial(inner[0], '@')) {
    const colon = inner.findIndex((t) => isSpecial(t, ':'));
    if (colon > 0) {
      adl = inner.slice(0, colon).map((t) => (t.t === 'comment' ? '' : t.v)).join('');
      inner = inner.slice(colon + 1);
    }
  }
  const spec = addrSpec(inner);
  return { name: phrase(tokens.slice(0, lt)), adl, mailbox: spec.mailbox, host: spec.host };
}

/** Index of the next top-level separator (one of `stops`) from i, skipping over <...>. */
function nextStop(tokens: Token[], i: number, stops: string): number {
  let inAngle = false;
  for (; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.t !== 'special') continue;
    if (t.v === '<') inAngle = true;
    else if (t.v === '>') inAngle = false;
    else if (!inAngle && stops.includes(t.v)) return i;
  }
  return tokens.length;
}

// ---------------------------------------------------------------- fast path
//
// Most address fields are `a@b.c`, `Some Name <a@b.c>` or `"Some, Name"
// <a@b.c>`, a few of them separated by commas. Those are read with regular
// expressions instead of tokens: tokens (an object per word) were most of
// the address work of a cold FETCH ENVELOPE. The shapes are narrow on
// purpose (no comment, backslash, 8-bit byte, dot in a name, group, route
// or domain literal): anything else goes the general way, which gives the
// same answer for these shapes (test/mime-fields.test.ts compares both on
// every address field of the corpus and on random ones).

const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const ADDR_SPEC = `(${ATEXT}(?:\\.${ATEXT})*)@(${ATEXT}(?:\\.${ATEXT})*)`;
/** `a@b` alone */
const BARE = new RegExp(`^[ \\t]*${ADDR_SPEC}[ \\t]*$`);
/** `Words <a@b>` (words of atext, separated by blanks) or `"quoted" <a@b>` (no backslash) */
const NAMED = new RegExp(`^[ \\t]*(?:"([^"\\\\\\r\\n]*)"|(${ATEXT}(?:[ \\t]+${ATEXT})*))?[ \\t]*<${ADDR_SPEC}>[ \\t]*$`);
const BLANKS = /[ \t]+/;

function simpleAddress(piece: string): Address | undefined {
  let m = BARE.exec(piece);
  if (m !== null) return { name: null, adl: null, mailbox: m[1]!, host: m[2]! };
  m = NAMED.exec(piece);
  if (m === null) return undefined;
  const name = m[1] !== undefined ? m[1] : m[2] !== undefined ? m[2].split(BLANKS).join(' ') : '';
  return { name: name.length > 0 ? name : null, adl: null, mailbox: m[3]!, host: m[4]! };
}

/** The addresses of a value made only of the simple shapes, or undefined. */
export function simpleAddressList(raw: string): Address[] | null | undefined {
  // A quote may hide a comma: then the value must be one address.
  if (raw.includes('"')) {
    const one = simpleAddress(raw);
    return one === undefined ? undefined : [one];
  }
  const out: Address[] = [];
  for (const piece of raw.split(',')) {
    if (/^[ \t]*$/.test(piece)) continue;
    const a = simpleAddress(piece);
    if (a === undefined) return undefined;
    out.push(a);
  }
  return out.length > 0 ? out : null;
}

// ---------------------------------------------------------------- general path

/** null when the value holds no address at all (IMAP NIL). */
export function parseAddressList(raw: string | null): Address[] | null {
  if (raw === null) return null;
  const simple = simpleAddressList(raw);
  if (simple !== undefined) return simple;
  return parseAddressListTokens(raw);
}

/** parseAddressList the general way (exported for the test that compares both ways). */
export function parseAddressListTokens(raw: string): Address[] | null {
  const tokens = lex(raw);
  const out: Address[] = [];
  let i = 0;
  while (i < tokens.length) {
    if (isSpecial(tokens[i], ',') || isSpecial(tokens[i], ';')) { i++; continue; }
    const end = nextStop(tokens, i, ',:');
    if (isSpecial(tokens[end], ':') && end > i) {
      // group: display-name ":" [mailbox-list] ";"
      out.push({ name: null, adl: null, mailbox: phrase(tokens.slice(i, end)) ?? '', host: null });
      i = end + 1;
      while (i < tokens.length && !isSpecial(tokens[i], ';')) {
        if (isSpecial(tokens[i], ',')) { i++; continue; }
        const stop = nextStop(tokens, i, ',;');
        const a = mailbox(tokens.slice(i, stop));
        if (a) out.push(a);
        i = stop;
      }
      i++; // past ';' (or the end: an unterminated group is closed anyway)
      out.push({ name: null, adl: null, mailbox: null, host: null });
      continue;
    }
    const stop = nextStop(tokens, i, ',');
    const a = mailbox(tokens.slice(i, stop));
    if (a) out.push(a);
    i = stop;
  }
  return out.length > 0 ? out : null;
}
