/**
 * Content-Type / Content-Disposition parsing (RFC 2045 5.1, RFC 2183) with
 * RFC 2231 parameter continuations. Values stay raw (latin1 strings).
 *
 * Continuations are merged the way Dovecot's rfc2231-parser does, so what
 * BODYSTRUCTURE sends matches what other servers send:
 *   name*0="a"; name*1="b"           -> ["name", "ab"]
 *   name*0*=utf-8''%C3; name*1="x y" -> ["name*", "utf-8''%C3x%20y"]
 * i.e. when any segment is extended the key keeps a trailing "*" and the value
 * stays in charset'lang'%XX form (plain segments are %-escaped to match).
 * `decodeParamValue` turns either form into Unicode.
 */
import iconv from 'iconv-lite';
import { decodeHeaderValue } from './decode.js';

export interface StructuredValue {
  /** "type/subtype" or a disposition token, whitespace and comments removed */
  value: string;
  params: [string, string][];
}

/** Skips whitespace and (nested) comments from i; returns the new index. */
function skipCfws(s: string, i: number): number {
  while (i < s.length) {
    const c = s[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') i++;
    else if (c === '(') {
      let depth = 0;
      for (; i < s.length; i++) {
        if (s[i] === '\\') i++;
        else if (s[i] === '(') depth++;
        else if (s[i] === ')' && --depth === 0) { i++; break; }
      }
    } else break;
  }
  return i;
}

/** Reads a quoted-string starting at the opening quote; tolerates a missing closing quote. */
function readQuoted(s: string, i: number): { text: string; next: number } {
  let out = '';
  i++;
  while (i < s.length && s[i] !== '"') {
    if (s[i] === '\\' && i + 1 < s.length) i++;
    out += s[i];
    i++;
  }
  return { text: out, next: i < s.length ? i + 1 : i };
}

export function parseStructuredValue(raw: string): StructuredValue {
  let i = skipCfws(raw, 0);
  let value = '';
  while (i < raw.length && raw[i] !== ';') {
    const c = raw[i];
    if (c === '(' || c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i = skipCfws(raw, i);
      // "text/plain charset=x" (missing ';'): the value is complete, ignore the
      // garbage up to the next ';' as Dovecot does; "text / plain" is still one value.
      if (value.length > 0 && !value.endsWith('/') && raw[i] !== '/' && raw[i] !== ';') {
        while (i < raw.length && raw[i] !== ';') i++;
      }
    } else if (c === '"') { const q = readQuoted(raw, i); value += q.text; i = q.next; }
    else { value += c; i++; }
  }
  const segments: [string, string][] = [];
  while (i < raw.length) {
    i = skipCfws(raw, i + 1); // past ';'
    let name = '';
    while (i < raw.length && raw[i] !== '=' && raw[i] !== ';') {
      const c = raw[i];
      if (c === '(' || c === ' ' || c === '\t' || c === '\r' || c === '\n') i = skipCfws(raw, i);
      else { name += c; i++; }
    }
    if (i >= raw.length || raw[i] === ';') continue; // "name" without "=": not a parameter
    i = skipCfws(raw, i + 1);
    let val = '';
    if (raw[i] === '"') {
      const q = readQuoted(raw, i);
      val = q.text;
      i = q.next;
      while (i < raw.length && raw[i] !== ';') i++; // garbage after the quoted string
    } else {
      while (i < raw.length && raw[i] !== ';') {
        const c = raw[i];
        if (c === '(' ) { i = skipCfws(raw, i); continue; }
        val += c;
        i++;
      }
      val = val.replace(/[ \t\r\n]+$/, '');
    }
    if (name.length > 0) segments.push([name, val]);
  }
  return { value, params: mergeRfc2231(segments) };
}

const SEGMENT = /^(.*?)\*(\d+)(\*?)$|^(.*?)(\*)$/;

function percentEscape(s: string): string {
  return s.replace(/[^A-Za-z0-9!#$&+.^_`{}~-]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
}

/** RFC 2231 3-4: merge name*0, name*1*, ... into one parameter (order of first appearance kept). */
function mergeRfc2231(segments: [string, string][]): [string, string][] {
  // (nearly every header: no name has a '*', so there is nothing to merge)
  let any = false;
  for (const [name] of segments) if (name.includes('*')) any = true;
  if (!any) return segments;
  type Group = { base: string; parts: { n: number; extended: boolean; value: string }[] };
  const out: ([string, string] | Group)[] = [];
  const groups = new Map<string, Group>();
  for (const [name, value] of segments) {
    const m = SEGMENT.exec(name);
    if (!m) { out.push([name, value]); continue; }
    const base = m[1] ?? m[4] ?? name;
    const n = m[2] !== undefined ? Number(m[2]) : 0;
    const extended = m[2] !== undefined ? m[3] === '*' : true;
    const key = base.toLowerCase();
    let g = groups.get(key);
    if (!g) { g = { base, parts: [] }; groups.set(key, g); out.push(g); }
    if (!g.parts.some((p) => p.n === n)) g.parts.push({ n, extended, value });
  }
  return out.map((e) => {
    if (Array.isArray(e)) return e;
    const parts = e.parts.sort((a, b) => a.n - b.n);
    const anyExtended = parts.some((p) => p.extended);
    if (!anyExtended) return [e.base, parts.map((p) => p.value).join('')] as [string, string];
    // The charset'lang' prefix lives in the first segment only (RFC 2231 4.1);
    // a plain first segment gets an empty one.
    const first = parts[0]!;
    let value = first.extended ? first.value : "''" + percentEscape(first.value);
    if (first.extended && !/^[^']*'[^']*'/.test(value)) value = "''" + value;
    for (const p of parts.slice(1)) value += p.extended ? p.value : percentEscape(p.value);
    return [e.base + '*', value] as [string, string];
  });
}

export interface ContentType {
  type: string;
  subtype: string;
  params: [string, string][];
}

/** null when the value is not "type/subtype" (the caller then uses the default type). */
export function parseContentType(raw: string): ContentType | null {
  const { value, params } = parseStructuredValue(raw);
  const slash = value.indexOf('/');
  if (slash <= 0 || slash === value.length - 1) return null;
  const type = value.slice(0, slash);
  const subtype = value.slice(slash + 1);
  if (/[\s/"]/.test(subtype) || /[\s"]/.test(type)) return null;
  return { type, subtype, params };
}

/** The parameter's value in Unicode: RFC 2231 extended form or RFC 2047 words. */
export function decodeParamValue(key: string, value: string): string {
  if (!key.endsWith('*')) return decodeHeaderValue(value);
  const m = /^([^']*)'[^']*'(.*)$/s.exec(value);
  const charset = m ? m[1]! : '';
  const encoded = m ? m[2]! : value;
  const bytes = Buffer.from(encoded.replace(/%([0-9A-Fa-f]{2})|[\s\S]/g, (all, hex: string | undefined) =>
    hex !== undefined ? String.fromCharCode(parseInt(hex, 16)) : all), 'latin1');
  try {
    if (charset && iconv.encodingExists(charset)) return iconv.decode(bytes, charset);
  } catch {
    // fall through to UTF-8
  }
  return bytes.toString('utf8');
}

/** Looks a parameter up by name, case-insensitively, also as "name*". */
export function findParam(params: readonly [string, string][] | null, name: string): string | null {
  if (!params) return null;
  const lower = name.toLowerCase();
  for (const [k, v] of params) if (k.toLowerCase() === lower) return v;
  for (const [k, v] of params) if (k.toLowerCase() === lower + '*') return decodeParamValue(k, v);
  return null;
}
