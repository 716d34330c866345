/**
 * "An error is a response" (STYLE.md 2): a handler that cannot complete
 * throws an ImapError carrying the status, the response code and the text;
 * the session's one mapper (error-map.ts) writes it. A handler that succeeds
 * returns a Reply for the tagged OK.
 */
import { imapString } from '../serialize.js';
import { encodeMutf7 } from '../mutf7.js';
import type { Flag } from '../../../maildir/types.js';

/** the tagged completion of a command that succeeded */
export interface Reply {
  /** response code with its data, without brackets, e.g. `APPENDUID 7 12` */
  code?: string;
  text: string;
}

/** the command continues after its handler returns (IDLE, AUTHENTICATE): no tagged reply yet */
export const CONTINUES = Symbol('continues');
export type HandlerResult = Reply | typeof CONTINUES;

export type ResponseStatus = 'NO' | 'BAD' | 'BYE';

export class ImapError extends Error {
  readonly status: ResponseStatus;
  /** response code with its data, without brackets */
  readonly code?: string;

  constructor(status: ResponseStatus, text: string, code?: string) {
    super(text);
    this.name = 'ImapError';
    this.status = status;
    if (code !== undefined) this.code = code;
  }
}

export const no = (text: string, code?: string): ImapError => new ImapError('NO', text, code);
export const bad = (text: string, code?: string): ImapError => new ImapError('BAD', text, code);

/** `tag STATUS [CODE] text` (or `* …` for an untagged line) with CRLF */
export function statusLine(tag: string, status: 'OK' | ResponseStatus | 'PREAUTH', text: string, code?: string): string {
  return `${tag} ${status} ${code !== undefined ? `[${code}] ` : ''}${text}\r\n`;
}

/** a mailbox name on the wire: modified UTF-7 (RFC 3501 5.1.3), always a valid astring */
export function mailboxName(name: string): string {
  return imapString(encodeMutf7(name));
}

/** `(\Seen \Recent kw)`: the flags of a message as this session sees them */
export function flagList(flags: readonly Flag[], recent = false): string {
  return `(${recent ? [...flags, '\\Recent'].join(' ') : flags.join(' ')})`;
}
