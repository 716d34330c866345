/**
 * The small, fixed-form FETCH attributes: FLAGS and INTERNALDATE. The
 * session uses `formatFlags` for STORE answers and unsolicited FETCH too, so
 * that every FLAGS on the wire looks the same.
 */
import type { MessageMeta } from '../../../maildir/types.js';

/** `(\Seen \Recent keyword)`: system flags, then \Recent for this session (RFC 3501 2.3.2), then keywords. */
export function formatFlags(meta: Pick<MessageMeta, 'flags' | 'recent'>): string {
  const system = meta.flags.filter((f) => f.startsWith('\\'));
  const keywords = meta.flags.filter((f) => !f.startsWith('\\'));
  if (meta.recent) system.push('\\Recent');
  return `(${[...system, ...keywords].join(' ')})`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => String(n).padStart(2, '0');

/**
 * RFC 3501 `date-time`: `"dd-Mon-yyyy hh:mm:ss +zzzz"` in the server's local
 * zone (what Dovecot sends); the day is zero-padded, which the grammar allows.
 */
export function formatInternalDate(date: Date): string {
  const d = Number.isNaN(date.getTime()) ? new Date(0) : date; // never "NaN-undefined-NaN" on the wire
  const offset = -d.getTimezoneOffset(); // minutes east of UTC
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `"${two(d.getDate())}-${MONTHS[d.getMonth()]}-${String(d.getFullYear()).padStart(4, '0')} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${sign}${two(Math.floor(abs / 60))}${two(abs % 60)}"`;
}
