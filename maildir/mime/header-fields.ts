/**
 * Splits a raw header block into fields. Values stay raw (latin1 strings, so
 * `Buffer.from(v, 'latin1')` returns the original bytes) and are unfolded as
 * RFC 5322 2.2.3 says: a line break followed by WSP is removed, the WSP kept.
 *
 * One pass over the text with indexOf, no split and no regular expression:
 * this runs for every part of every message a cold FETCH parses. A caller
 * that needs only some fields names them (`wanted`), and the values of the
 * others (Received: chains, mostly) are never built.
 */
export interface HeaderField {
  /** lower-cased field name */
  name: string;
  /** unfolded raw value, leading and trailing whitespace removed */
  value: string;
}

/** The fields the MIME parser reads: BODYSTRUCTURE (part-header.ts), ENVELOPE and the decoded search headers. */
export const STRUCTURE_FIELDS: ReadonlySet<string> = new Set([
  'content-type', 'content-disposition', 'content-language', 'content-location', 'content-transfer-encoding',
  'content-id', 'content-description', 'content-md5',
  'date', 'subject', 'from', 'sender', 'reply-to', 'to', 'cc', 'bcc', 'in-reply-to', 'message-id', 'references',
]);

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const TAB = 0x09;
const COLON = 0x3a;

function isWsp(c: number): boolean {
  return c === SP || c === TAB;
}

function isTrimmed(c: number): boolean {
  return c === SP || c === TAB || c === CR || c === LF;
}

/** A line's end without its CR, given its LF (or the text's end). */
function contentEnd(text: string, start: number, lf: number): number {
  return lf > start && text.charCodeAt(lf - 1) === CR ? lf - 1 : lf;
}

export function parseHeaderFields(block: Buffer, wanted?: ReadonlySet<string>): HeaderField[] {
  const text = block.toString('latin1');
  const n = text.length;
  const fields: HeaderField[] = [];
  let pos = 0;
  while (pos < n) {
    // one field: its first line, then continuation lines (starting with WSP)
    let lf = text.indexOf('\n', pos);
    if (lf < 0) lf = n;
    const firstEnd = contentEnd(text, pos, lf);
    let next = lf + 1;
    for (;;) {
      // blank lines in between do not end a field that a WSP line then continues
      let at = next;
      while (at < n && blankLineEnd(text, at) > at) at = blankLineEnd(text, at);
      if (!(at < n && isWsp(text.charCodeAt(at)))) break;
      const l = text.indexOf('\n', at);
      next = l < 0 ? n + 1 : l + 1;
    }
    const colon = text.indexOf(':', pos);
    // A line without a colon is not a field (garbage or an mbox "From " line): skip it.
    // (A line that starts with WSP here has nothing to continue: skipped too, by the name check.)
    if (colon > pos && colon < firstEnd) {
      let nameEnd = colon;
      while (nameEnd > pos && isWsp(text.charCodeAt(nameEnd - 1))) nameEnd--;
      const name = nameEnd <= pos ? null : wanted === undefined ? lowerName(text, pos, nameEnd) : wantedName(text, pos, nameEnd, wanted);
      if (name !== null) {
        fields.push({ name, value: fieldValue(text, colon + 1, firstEnd, lf, next) });
      }
    } else if (next > lf + 1) {
      // the colon only after a fold ("Name\n :value"): rare enough to unfold first
      const field = text.slice(pos, firstEnd) + fieldValueRaw(text, lf, next);
      const c = field.indexOf(':');
      let nameEnd = c;
      while (nameEnd > 0 && isWsp(field.charCodeAt(nameEnd - 1))) nameEnd--;
      const name = c > 0 && nameEnd > 0 ? lowerName(field, 0, nameEnd) : null;
      if (name !== null && (wanted === undefined || wanted.has(name))) fields.push({ name, value: trim(field, c + 1, field.length) });
    }
    pos = next;
  }
  return fields;
}

/** If a blank line ("\n", "\r\n" or a lone "\r" at the end) starts at `at`, where the next line starts; else `at`. */
function blankLineEnd(text: string, at: number): number {
  const c = text.charCodeAt(at);
  if (c === LF) return at + 1;
  if (c === CR) {
    if (at + 1 === text.length) return at + 1;
    if (text.charCodeAt(at + 1) === LF) return at + 2;
  }
  return at;
}

/** wanted names by length, for wantedName() */
const byLength = new WeakMap<ReadonlySet<string>, Map<number, string[]>>();

/**
 * The member of `wanted` that text[start, end) names, compared ignoring ASCII
 * case, or null. No string is made for a field nobody wants (Received:,
 * X-…: most of a header), and a wanted one gets the set's own string.
 */
function wantedName(text: string, start: number, end: number, wanted: ReadonlySet<string>): string | null {
  let lengths = byLength.get(wanted);
  if (lengths === undefined) {
    lengths = new Map();
    for (const w of wanted) lengths.set(w.length, [...(lengths.get(w.length) ?? []), w]);
    byLength.set(wanted, lengths);
  }
  const candidates = lengths.get(end - start);
  if (candidates === undefined) return null;
  next: for (const w of candidates) {
    for (let i = 0; i < w.length; i++) {
      let c = text.charCodeAt(start + i);
      if (c >= 65 && c <= 90) c += 32; // A-Z
      if (c !== w.charCodeAt(i)) continue next;
    }
    return w;
  }
  return null;
}

/** The lower-cased name in text[start, end), or null if it holds white space or control characters. */
function lowerName(text: string, start: number, end: number): string | null {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    // what /\s/ matches in latin1: tab to carriage return, space and NBSP
    if ((c >= 0x09 && c <= 0x0d) || c === SP || c === 0xa0) return null;
  }
  return text.slice(start, end).toLowerCase();
}

/**
 * The value from `from` (after the colon) to the end of the field, unfolded:
 * the line breaks of continuation lines removed (their WSP kept), then
 * trimmed of spaces, tabs, CRs and LFs at both ends.
 */
function fieldValue(text: string, from: number, firstEnd: number, firstLf: number, next: number): string {
  if (next <= firstLf + 1) return trim(text, from, firstEnd);
  const value = text.slice(from, firstEnd) + fieldValueRaw(text, firstLf, next);
  return trim(value, 0, value.length);
}

/** The continuation lines after `firstLf` up to `next`, their line breaks removed. */
function fieldValueRaw(text: string, firstLf: number, next: number): string {
  let value = '';
  for (let p = firstLf + 1; p < next; ) {
    let l = text.indexOf('\n', p);
    if (l < 0) l = text.length; // the last line, without its LF
    value += text.slice(p, contentEnd(text, p, l));
    p = l + 1;
  }
  return value;
}

function trim(s: string, a: number, b: number): string {
  while (a < b && isTrimmed(s.charCodeAt(a))) a++;
  while (b > a && isTrimmed(s.charCodeAt(b - 1))) b--;
  return s.slice(a, b);
}

/** The first field of that (lower-case) name, or null. */
export function firstField(fields: readonly HeaderField[], name: string): string | null {
  for (const f of fields) if (f.name === name) return f.value;
  return null;
}
