/**
 * Trace headers and the loop check.
 *
 * A delivery prepends header lines and then streams the spooled message
 * unchanged: the header bytes go first, the body is never rewritten or held
 * in memory. The prepended lines use the message's own line ending (a
 * Maildir file keeps what the receiver spooled).
 *
 * Loops are found as qmail finds them: every local delivery and every
 * forward adds `Delivered-To: <address>`, and a message that already carries
 * `Delivered-To: <address>` for the address it is about to be delivered to
 * has been here before (qmail-local: "This message is looping: it already
 * has my Delivered-To line").
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { QueueInfo } from '../queue/spool.js';

/** Enough to find the trace fields; a header section longer than this is not scanned further. */
const HEADER_SCAN_LIMIT = 256 * 1024;

export interface HeaderSection {
  /** the header section, without the blank line that ends it */
  text: string;
  /** byte length of the header section including the blank line (or all scanned bytes) */
  length: number;
  /** whether a blank line was found */
  complete: boolean;
  eol: '\r\n' | '\n';
}

/** Reads the header section at the start of a file (bounded). */
export async function readHeaderSection(path: string, limit = HEADER_SCAN_LIMIT): Promise<HeaderSection> {
  // Blocking reads: a bounded read-only look at a file just written (in the
  // page cache), once per delivery; asynchronous it is three thread-pool
  // round trips at least.
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(limit, 64 * 1024));
    let acc = Buffer.alloc(0);
    for (;;) {
      const bytesRead = readSync(fd, buf, 0, buf.length, acc.length);
      if (bytesRead === 0) break;
      acc = Buffer.concat([acc, buf.subarray(0, bytesRead)]);
      const end = headerEnd(acc);
      if (end) return section(acc, end.textEnd, end.total, true);
      if (acc.length >= limit) break;
    }
    return section(acc, acc.length, acc.length, false);
  } finally {
    closeSync(fd);
  }
}

/** The header section of a message held in memory (bounded like readHeaderSection). */
export function headerSectionOf(message: Buffer, limit = HEADER_SCAN_LIMIT): HeaderSection {
  const b = message.length > limit ? message.subarray(0, limit) : message;
  const end = headerEnd(b);
  return end ? section(b, end.textEnd, end.total, true) : section(b, b.length, b.length, false);
}

function headerEnd(b: Buffer): { textEnd: number; total: number } | null {
  // the message may start with the blank line (no headers at all)
  if (b[0] === 10) return { textEnd: 0, total: 1 };
  if (b[0] === 13 && b[1] === 10) return { textEnd: 0, total: 2 };
  const lf = b.indexOf('\n\n');
  const crlf = b.indexOf('\r\n\r\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { textEnd: crlf, total: crlf + 4 };
  if (lf >= 0) return { textEnd: lf, total: lf + 2 };
  return null;
}

function section(b: Buffer, textEnd: number, total: number, complete: boolean): HeaderSection {
  const text = b.subarray(0, textEnd).toString('latin1');
  const firstLf = b.indexOf(10);
  const eol = firstLf > 0 && b[firstLf - 1] === 13 ? '\r\n' : '\n';
  return { text, length: total, complete, eol };
}

/** Values of every field named `name` (unfolded, trimmed). Header text is read as latin1: bytes survive. */
export function headerValues(text: string, name: string): string[] {
  const out: string[] = [];
  const lines = text.split(/\r?\n/);
  const lname = name.toLowerCase();
  for (let i = 0; i < lines.length; i++) {
    const colon = lines[i].indexOf(':');
    if (colon <= 0 || lines[i].slice(0, colon).trim().toLowerCase() !== lname) continue;
    let v = lines[i].slice(colon + 1);
    while (i + 1 < lines.length && /^[ \t]/.test(lines[i + 1])) v += ' ' + lines[++i].trim();
    out.push(v.trim());
  }
  return out;
}

/** True if the message already carries `Delivered-To: <address>` (compared case-insensitively). */
export function hasDeliveredTo(headerText: string, address: string): boolean {
  const a = address.toLowerCase();
  return headerValues(headerText, 'Delivered-To').some((v) => v.replace(/^<|>$/g, '').trim().toLowerCase() === a);
}

/** RFC 5322 3.3 date-time in UTC, e.g. "Tue, 24 Nov 2026 10:00:00 +0000". */
export function rfc5322Date(d: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** What came from the network goes into a header only as printable ASCII without CR/LF. */
function clean(s: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[^\x21-\x7e]/g, '').slice(0, max) || 'unknown';
}

/**
 * RFC 5321 4.4 time stamp line:
 *   Received: from <helo> ([ip]) by <us> (Mailroom) with <protocol> id <id> for <rcpt>; <date>
 * The "for" clause names the recipient only when there is one (RFC 5321 4.4
 * warns against listing many).
 */
export function receivedHeader(info: QueueInfo, o: { hostname: string; recipient?: string; date: Date; eol: string }): string {
  const r = info.received;
  const from = `from ${clean(r.helo)} ([${clean(r.remoteAddress, 64)}])`;
  const by = `by ${clean(o.hostname)} (Mailroom) with ${clean(r.protocol, 20)} id ${info.id}`;
  const forClause = o.recipient ? `${o.eol}\tfor <${clean(o.recipient, 320)}>` : '';
  return `Received: ${from}${o.eol}\t${by}${forClause}; ${rfc5322Date(o.date)}${o.eol}`;
}

/** The lines a delivery prepends, in the order qmail-local writes them (newest trace field on top). */
export function traceHeaders(
  info: QueueInfo,
  o: { hostname: string; recipient: string; date: Date; eol: string; returnPath?: boolean; deliveredTo?: string },
): Buffer {
  let s = '';
  if (o.returnPath) s += `Return-Path: <${info.from.replace(/[\r\n<>]/g, '')}>${o.eol}`;
  if (o.deliveredTo) s += `Delivered-To: ${o.deliveredTo.replace(/[\r\n]/g, '')}${o.eol}`;
  s += receivedHeader(info, o);
  return Buffer.from(s, 'utf8');
}
