/**
 * The compact JSON form of a MessageIndex inside `mailroom-cache` records
 * (see cache-file.ts for the file around it).
 *
 * Why tuples and not the objects themselves: a body part written as an object
 * repeats sixteen key names in every part of every message; as a positional
 * array it is about half the bytes, and JSON.parse of arrays is faster. Both
 * matter for a cold `FETCH 1:* (ENVELOPE BODYSTRUCTURE)` on 100,000 messages,
 * which reads and parses every record.
 *
 * The price is that the tuple layout is a format: any change to the shapes in
 * mime/types.ts must change CODEC_VERSION, so that old files are discarded
 * (the cache is a cache: it is rebuilt, nothing is lost).
 *
 * Decoding never trusts the input: a record that passed its checksum can still
 * come from a buggy writer, so every field is type-checked and anything that
 * does not fit makes the whole index `undefined` (the caller re-parses the
 * message). Nesting is bounded so that garbage cannot exhaust the stack.
 */
import type { Address, BodyPart, Disposition, Envelope, MessageIndex, SearchHeaders } from './mime/types.js';

/** Part of the file header; bump whenever a tuple layout below changes. */
export const CODEC_VERSION = 3;

/** Deeper than any message the parser accepts (it bounds MIME nesting itself). */
const MAX_DEPTH = 64;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

// ---------------------------------------------------------------- encoding

function encodeAddresses(list: Address[] | null): Json {
  return list === null ? null : list.map((a) => [a.name, a.adl, a.mailbox, a.host]);
}

function encodeEnvelope(e: Envelope): Json {
  return [
    e.date,
    e.subject,
    encodeAddresses(e.from),
    encodeAddresses(e.sender),
    encodeAddresses(e.replyTo),
    encodeAddresses(e.to),
    encodeAddresses(e.cc),
    encodeAddresses(e.bcc),
    e.inReplyTo,
    e.messageId,
  ];
}

function encodePairs(p: [string, string][] | null): Json {
  return p === null ? null : p.map(([k, v]) => [k, v]);
}

function encodeBody(b: BodyPart): Json {
  return [
    b.type,
    b.subtype,
    encodePairs(b.params),
    b.id,
    b.description,
    b.encoding,
    b.md5,
    b.disposition === null ? null : [b.disposition.type, encodePairs(b.disposition.params)],
    b.language,
    b.location,
    b.headerStart,
    b.bodyStart,
    b.bodyEnd,
    b.headerSize,
    b.size,
    b.lines,
    b.parts === undefined ? null : b.parts.map(encodeBody),
    b.message === undefined ? null : [encodeEnvelope(b.message.envelope), encodeBody(b.message.body)],
  ];
}

/** The order of the search headers in their tuple. */
const HEADER_ORDER: readonly (keyof SearchHeaders)[] = ['from', 'to', 'cc', 'bcc', 'subject', 'messageId', 'inReplyTo', 'references'];

export function encodeHeaders(h: SearchHeaders): Json {
  return HEADER_ORDER.map((k) => h[k]);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Where one search header's value lies in a record's head JSON (what
 * cache-file.ts writes: `[date | null, [from, to, …]]`), as the byte range
 * between its quotes, still JSON-escaped; undefined when the head has no
 * headers. The date is a number or null, so the value of HEADER_ORDER[k] is
 * the head's k-th string. (For the search pre-check: one field's bytes,
 * without parsing the head.)
 */
export function headerValueSpan(head: Uint8Array, field: keyof SearchHeaders): { start: number; end: number } | undefined {
  const want = HEADER_ORDER.indexOf(field);
  let n = 0;
  for (let i = 0; i < head.length; i++) {
    if (head[i] !== QUOTE) continue;
    const start = i + 1;
    let j = start;
    while (j < head.length && head[j] !== QUOTE) j += head[j] === BACKSLASH ? 2 : 1;
    if (j >= head.length) return undefined;
    if (n === want) return { start, end: j };
    n++;
    i = j;
  }
  return undefined;
}

/**
 * A MessageIndex without its search headers: those are stored apart
 * (encodeHeaders), so that SEARCH FROM/SUBJECT/… can decode them alone.
 */
export function encodeStructure(m: MessageIndex): Json {
  return [encodeEnvelope(m.envelope), encodeBody(m.body), m.rawSize, m.size];
}

// ---------------------------------------------------------------- decoding

/** Thrown only inside this module and caught by checked(). */
class Malformed extends Error {}

function fail(): never {
  throw new Malformed();
}

function tuple(v: unknown, length: number): unknown[] {
  return Array.isArray(v) && v.length === length ? v : fail();
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : fail();
}

function nstr(v: unknown): string | null {
  return v === null ? null : str(v);
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fail();
}

function decodeAddresses(v: unknown): Address[] | null {
  if (v === null) return null;
  if (!Array.isArray(v)) fail();
  return v.map((a) => {
    const t = tuple(a, 4);
    return { name: nstr(t[0]), adl: nstr(t[1]), mailbox: nstr(t[2]), host: nstr(t[3]) };
  });
}

function decodeEnvelope(v: unknown): Envelope {
  const t = tuple(v, 10);
  return {
    date: nstr(t[0]),
    subject: nstr(t[1]),
    from: decodeAddresses(t[2]),
    sender: decodeAddresses(t[3]),
    replyTo: decodeAddresses(t[4]),
    to: decodeAddresses(t[5]),
    cc: decodeAddresses(t[6]),
    bcc: decodeAddresses(t[7]),
    inReplyTo: nstr(t[8]),
    messageId: nstr(t[9]),
  };
}

function decodePairs(v: unknown): [string, string][] | null {
  if (v === null) return null;
  if (!Array.isArray(v)) fail();
  return v.map((p) => {
    const t = tuple(p, 2);
    return [str(t[0]), str(t[1])];
  });
}

function decodeDisposition(v: unknown): Disposition | null {
  if (v === null) return null;
  const t = tuple(v, 2);
  return { type: str(t[0]), params: decodePairs(t[1]) };
}

function decodeLanguage(v: unknown): string[] | null {
  if (v === null) return null;
  if (!Array.isArray(v)) fail();
  return v.map(str);
}

function decodeBody(v: unknown, depth: number): BodyPart {
  if (depth > MAX_DEPTH) fail();
  const t = tuple(v, 18);
  const part: BodyPart = {
    type: str(t[0]),
    subtype: str(t[1]),
    params: decodePairs(t[2]),
    id: nstr(t[3]),
    description: nstr(t[4]),
    encoding: str(t[5]),
    md5: nstr(t[6]),
    disposition: decodeDisposition(t[7]),
    language: decodeLanguage(t[8]),
    location: nstr(t[9]),
    headerStart: num(t[10]),
    bodyStart: num(t[11]),
    bodyEnd: num(t[12]),
    headerSize: num(t[13]),
    size: num(t[14]),
    lines: num(t[15]),
  };
  if (t[16] !== null) {
    if (!Array.isArray(t[16]) || t[16].length === 0) fail();
    part.parts = t[16].map((p) => decodeBody(p, depth + 1));
  }
  if (t[17] !== null) {
    const m = tuple(t[17], 2);
    part.message = { envelope: decodeEnvelope(m[0]), body: decodeBody(m[1], depth + 1) };
  }
  return part;
}

function decodeHeaders(v: unknown): SearchHeaders {
  const t = tuple(v, 8);
  return {
    from: str(t[0]),
    to: str(t[1]),
    cc: str(t[2]),
    bcc: str(t[3]),
    subject: str(t[4]),
    messageId: str(t[5]),
    inReplyTo: str(t[6]),
    references: str(t[7]),
  };
}

/** Runs a decoder: undefined when the input is not exactly what the encoder writes. */
function checked<T>(decode: () => T): T | undefined {
  try {
    return decode();
  } catch (e) {
    if (e instanceof Malformed) return undefined;
    throw e;
  }
}

/** The SearchHeaders in `v` (what encodeHeaders writes), or undefined. */
export function decodeHeaderTuple(v: unknown): SearchHeaders | undefined {
  return checked(() => decodeHeaders(v));
}

/** The MessageIndex from what encodeStructure wrote and its search headers, or undefined. */
export function decodeStructure(v: unknown, headers: SearchHeaders): MessageIndex | undefined {
  return checked(() => {
    const t = tuple(v, 4);
    return {
      envelope: decodeEnvelope(t[0]),
      body: decodeBody(t[1], 0),
      headers,
      rawSize: num(t[2]),
      size: num(t[3]),
    };
  });
}
