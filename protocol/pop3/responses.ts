/**
 * POP3 status lines and the one place that turns errors into them.
 * Response codes: RFC 2449 section 8 (IN-USE, LOGIN-DELAY) and RFC 3206
 * (AUTH = the credentials were wrong; SYS/TEMP = a transient system problem,
 * try again later; SYS/PERM = a problem that needs an administrator).
 */
import type { StoreErrorCode } from '../../maildir/errors.js';

export type Pop3ResponseCode = 'IN-USE' | 'LOGIN-DELAY' | 'AUTH' | 'SYS/TEMP' | 'SYS/PERM';

export function ok(text = ''): string {
  return text ? `+OK ${text}\r\n` : '+OK\r\n';
}

export function err(text: string, code?: Pop3ResponseCode): string {
  return code ? `-ERR [${code}] ${text}\r\n` : `-ERR ${text}\r\n`;
}

/**
 * The code of a StoreError, recognised by shape: protocol/ imports maildir/
 * types only (DESIGN.md layer rule 1), never its classes.
 */
export function storeErrorCode(e: unknown): StoreErrorCode | undefined {
  if (typeof e !== 'object' || e === null || !('name' in e) || e.name !== 'StoreError' || !('code' in e)) return undefined;
  return typeof e.code === 'string' ? (e.code as StoreErrorCode) : undefined;
}

/** The -ERR line for a storage failure during a command; `unexpected` says whether to log it as an error. */
export function storeErrorReply(e: unknown): { line: string; unexpected: boolean } {
  switch (storeErrorCode(e)) {
    case 'INUSE':
      return { line: err('The maildrop is in use by another POP3 session', 'IN-USE'), unexpected: false };
    case 'EXPUNGED':
    case 'NONEXISTENT':
      return { line: err('That message was removed by another session'), unexpected: false };
    case 'OVERQUOTA':
    case 'LIMIT':
    case 'READONLY':
      return { line: err('The mailbox cannot be changed now', 'SYS/PERM'), unexpected: false };
    default:
      return { line: err('Internal storage error, try again later', 'SYS/TEMP'), unexpected: true };
  }
}
