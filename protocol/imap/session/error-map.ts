/**
 * The one place where anything a command threw becomes its wire reply
 * (STYLE.md 2, go-imap's readCommand). Expected failures carry their own
 * status and code; storage errors are translated by code; anything else is a
 * bug of ours: logged, answered `NO [SERVERBUG]`, and the session goes on.
 */
import { isStoreError, type StoreErrorCode } from '../../../maildir/errors.js';
import type { CommandName } from '../commands.js';
import { ImapParseError } from '../errors.js';
import type { SessionLog } from '../../session-io.js';
import { ImapError, type ResponseStatus } from './response.js';

export interface WireError {
  status: ResponseStatus;
  code?: string;
  text: string;
}

/** RFC 5530 response codes for storage failures */
const STORE_CODES: Record<StoreErrorCode, string | undefined> = {
  NONEXISTENT: 'NONEXISTENT',
  ALREADYEXISTS: 'ALREADYEXISTS',
  BADNAME: 'CANNOT',
  CANNOT: 'CANNOT',
  OVERQUOTA: 'OVERQUOTA',
  LIMIT: 'LIMIT',
  INUSE: 'INUSE',
  EXPUNGED: 'EXPUNGEISSUED',
  READONLY: undefined,
  SERVERBUG: 'SERVERBUG',
};

/** commands whose missing *destination* is answered with TRYCREATE (RFC 3501 6.3.11, 6.4.7) */
const TRYCREATE: ReadonlySet<CommandName> = new Set(['APPEND', 'COPY', 'MOVE']);

export function toWireError(e: unknown, log: SessionLog, command?: CommandName): WireError {
  if (e instanceof ImapError) return e.code === undefined ? { status: e.status, text: e.message } : { status: e.status, code: e.code, text: e.message };
  if (e instanceof ImapParseError) {
    const code = e.code === undefined ? undefined : e.codeData?.length ? `${e.code} (${e.codeData.join(' ')})` : e.code;
    return code === undefined ? { status: e.kind, text: e.text } : { status: e.kind, code, text: e.text };
  }
  if (isStoreError(e)) {
    if (e.code === 'SERVERBUG') log.error({ err: e, command }, 'storage reported an inconsistency');
    if (e.code === 'NONEXISTENT' && command !== undefined && TRYCREATE.has(command)) return { status: 'NO', code: 'TRYCREATE', text: e.message };
    if (e.code === 'READONLY') return { status: 'NO', text: 'Mailbox is read-only' };
    const code = STORE_CODES[e.code];
    return code === undefined ? { status: 'NO', text: e.message } : { status: 'NO', code, text: e.message };
  }
  log.error({ err: e, command }, 'unexpected error in an IMAP command');
  return { status: 'NO', code: 'SERVERBUG', text: 'Internal error occurred. Refer to server log for more information.' };
}
