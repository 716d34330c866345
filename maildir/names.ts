/**
 * Mailbox names ↔ Maildir++ directory names.
 *
 * The store speaks Unicode IMAP names with '/' as the hierarchy delimiter; on
 * disk folder "A/B" is the directory ".A.B" under the user's root, each
 * component in modified UTF-7. INBOX is the root itself. Any name that could
 * escape the root or confuse the layout is refused with BADNAME: empty
 * components (which covers a leading '/', '//' and a trailing '/'), '.' (the
 * Maildir++ separator, so also '..'), NUL and other control characters.
 */
import { StoreError } from './errors.js';
import { decodeMutf7, encodeMutf7 } from './mutf7.js';

export const DELIMITER = '/';
export const MAX_NAME_LENGTH = 512;

/** Normalise and validate an IMAP mailbox name; INBOX (any case) as the first component becomes "INBOX". */
export function normalizeName(name: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new StoreError('BADNAME', 'Mailbox name is empty');
  if (name.length > MAX_NAME_LENGTH) throw new StoreError('BADNAME', 'Mailbox name is too long');
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(name)) throw new StoreError('BADNAME', 'Mailbox name contains control characters');
  if (name.includes('.')) throw new StoreError('BADNAME', "Mailbox name may not contain '.'");
  if (name.includes('\\')) throw new StoreError('BADNAME', "Mailbox name may not contain '\\'");
  const parts = name.split(DELIMITER);
  if (parts.some((p) => p.length === 0)) throw new StoreError('BADNAME', 'Mailbox name has an empty hierarchy level');
  if (parts[0].toUpperCase() === 'INBOX') parts[0] = 'INBOX';
  return parts.join(DELIMITER);
}

export function isInbox(name: string): boolean {
  return name === 'INBOX';
}

/** Directory name (relative to the user's root) of a normalised name: "" for INBOX. */
export function dirNameOf(name: string): string {
  if (isInbox(name)) return '';
  return '.' + name.split(DELIMITER).map(encodeMutf7).join('.');
}

/** Inverse of dirNameOf for an entry of the root; null if it is not a folder name we accept. */
export function nameOfDir(entry: string): string | null {
  if (!entry.startsWith('.') || entry === '.' || entry === '..') return null;
  const parts = entry.slice(1).split('.');
  const decoded: string[] = [];
  for (const p of parts) {
    if (p.length === 0) return null;
    const d = decodeMutf7(p);
    if (d === null || d.includes(DELIMITER)) return null;
    decoded.push(d);
  }
  try {
    return normalizeName(decoded.join(DELIMITER));
  } catch {
    return null;
  }
}

export function parentOf(name: string): string | null {
  const i = name.lastIndexOf(DELIMITER);
  return i < 0 ? null : name.slice(0, i);
}
