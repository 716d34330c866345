/**
 * LIST, LSUB and XLIST (RFC 3501 6.3.8-6.3.9, RFC 3348 CHILDREN, RFC 6154
 * SPECIAL-USE, Gmail's XLIST for old Outlook): which mailboxes a pattern
 * names, and their attributes. Pure functions over storage's MailboxInfo.
 */
import type { MailboxInfo } from '../../../maildir/types.js';
import { mailboxName } from './response.js';

export type ListKind = 'LIST' | 'LSUB' | 'XLIST';

const DELIM = '/';

/**
 * The canonical pattern (reference + mailbox pattern) as a matcher. `*`
 * matches anything, `%` anything but the hierarchy delimiter. INBOX is
 * case-insensitive (RFC 3501 5.1), so a pattern starting with it in any case
 * means our INBOX.
 */
export function patternMatcher(reference: string, pattern: string): (name: string) => boolean {
  let p = pattern.startsWith(DELIM) && reference.endsWith(DELIM) ? reference + pattern.slice(1) : reference + pattern;
  if (p.slice(0, 5).toUpperCase() === 'INBOX' && (p.length === 5 || p[5] === DELIM)) p = 'INBOX' + p.slice(5);
  let re = '^';
  for (const ch of p) {
    if (ch === '*') re += '.*';
    else if (ch === '%') re += '[^/]*';
    else re += ch.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  const rx = new RegExp(re + '$', 's');
  return (name) => rx.test(name);
}

const XLIST_USE: Record<string, string> = { '\\Junk': '\\Spam' };

function attributes(m: MailboxInfo, kind: ListKind, noselect: boolean): string[] {
  const attrs: string[] = [];
  if (noselect) attrs.push('\\Noselect');
  if (m.nonExistent && kind !== 'LSUB') attrs.push('\\NonExistent');
  attrs.push(m.hasChildren ? '\\HasChildren' : '\\HasNoChildren');
  if (kind === 'XLIST' && m.name === 'INBOX') attrs.push('\\Inbox');
  if (m.specialUse !== undefined && kind !== 'LSUB') attrs.push(kind === 'XLIST' ? (XLIST_USE[m.specialUse] ?? m.specialUse) : m.specialUse);
  return attrs;
}

function line(kind: ListKind, attrs: readonly string[], name: string): string {
  return `* ${kind} (${attrs.join(' ')}) "${DELIM}" ${mailboxName(name)}\r\n`;
}

/** the untagged responses of LIST/XLIST/LSUB `reference pattern` over the user's mailboxes */
export function listResponses(kind: ListKind, mailboxes: readonly MailboxInfo[], reference: string, pattern: string): string[] {
  if (pattern === '') {
    // RFC 3501 6.3.8: an empty pattern asks for the delimiter and the root of the reference
    if (kind === 'LSUB') return [];
    const root = reference.includes(DELIM) ? reference.slice(0, reference.indexOf(DELIM) + 1) : '';
    return [line(kind, ['\\Noselect'], root)];
  }
  const matches = patternMatcher(reference, pattern);
  const out: string[] = [];
  if (kind !== 'LSUB') {
    for (const m of mailboxes) if (matches(m.name)) out.push(line(kind, attributes(m, kind, m.nonExistent === true), m.name));
    return out;
  }
  // LSUB: subscribed names; a parent of a subscribed name that only a `%` reaches is
  // listed \Noselect when it is not subscribed itself (RFC 3501 6.3.9)
  const byName = new Map(mailboxes.map((m) => [m.name, m]));
  const listed = new Set<string>();
  for (const m of mailboxes) {
    if (!m.subscribed) continue;
    if (matches(m.name)) {
      listed.add(m.name);
      out.push(line(kind, attributes(m, kind, m.nonExistent === true), m.name));
      continue;
    }
    for (let i = m.name.lastIndexOf(DELIM); i > 0; i = m.name.lastIndexOf(DELIM, i - 1)) {
      const parent = m.name.slice(0, i);
      if (listed.has(parent) || byName.get(parent)?.subscribed || !matches(parent)) continue;
      listed.add(parent);
      const info = byName.get(parent) ?? { name: parent, delimiter: DELIM, subscribed: false, hasChildren: true };
      out.push(line(kind, attributes(info, kind, true), parent));
    }
  }
  return out;
}
