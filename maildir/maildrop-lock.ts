/**
 * The POP3 maildrop lock (RFC 1939 section 8: "the POP3 server acquires an
 * exclusive-access lock on the maildrop ... to ensure that messages are not
 * modified or removed before the session enters the UPDATE state").
 *
 * It is held for a whole session: a holder lock (holder-lock.ts), broken
 * when its holder process is gone or stops refreshing it.
 *
 * The lock is POP3's only: IMAP never looks at it, and keeps working on the
 * same INBOX (POP3's deletions reach IMAP sessions as EXPUNGE).
 */
import { join } from 'node:path';
import { StoreError } from './errors.js';
import { tryHolderLock } from './holder-lock.js';

export const MAILDROP_LOCK_NAME = 'mailroom-pop3.lock';

export interface MaildropLockOptions {
  /** a lock whose mtime was not refreshed within this long is abandoned (default 5 minutes) */
  staleMs?: number;
}

export async function acquireMaildropLock(root: string, o: MaildropLockOptions = {}): Promise<() => Promise<void>> {
  const release = await tryHolderLock(join(root, MAILDROP_LOCK_NAME), o.staleMs ?? 5 * 60_000);
  if (!release) throw new StoreError('INUSE', 'The maildrop is locked by another POP3 session');
  return release;
}
