/**
 * One framed command (text lines and literals from the reader) → a typed
 * `Command`, or an `ImapParseError`, or "acceptable so far, waiting for a
 * literal". Never throws.
 *
 *   command = tag SP (command-any / command-auth / command-nonauth / command-select) CRLF
 */
import type { AppendHeader, Command, CommandKey } from './commands.js';
import { Decoder, DecodeError, NeedLiteral, type CommandPart } from './decoder.js';
import { ImapParseError } from './errors.js';
import { parseFetch } from './parse-fetch.js';
import {
  listLike,
  oneMailbox,
  parseAppend,
  parseGetQuota,
  parseGetQuotaRoot,
  parseRename,
  parseSetQuota,
  parseStatus,
} from './parse-mailbox.js';
import { copyLike, parseExpunge, parseStore } from './parse-message.js';
import { parseSearch } from './parse-search.js';
import { bare, parseAuthenticate, parseEnable, parseId, parseLogin } from './parse-session.js';

type Parser = (d: Decoder, uid: boolean) => Command;

/** The grammar of each command, by name; the UID forms reuse the same parser with uid = true. */
const PARSERS: Record<string, Parser> = {
  CAPABILITY: bare('CAPABILITY'),
  NOOP: bare('NOOP'),
  LOGOUT: bare('LOGOUT'),
  STARTTLS: bare('STARTTLS'),
  AUTHENTICATE: parseAuthenticate,
  LOGIN: parseLogin,
  SELECT: oneMailbox('SELECT'),
  EXAMINE: oneMailbox('EXAMINE'),
  CREATE: oneMailbox('CREATE'),
  DELETE: oneMailbox('DELETE'),
  RENAME: parseRename,
  SUBSCRIBE: oneMailbox('SUBSCRIBE'),
  UNSUBSCRIBE: oneMailbox('UNSUBSCRIBE'),
  LIST: listLike('LIST'),
  LSUB: listLike('LSUB'),
  XLIST: listLike('XLIST'),
  STATUS: parseStatus,
  APPEND: parseAppend,
  CHECK: bare('CHECK'),
  CLOSE: bare('CLOSE'),
  UNSELECT: bare('UNSELECT'),
  EXPUNGE: parseExpunge,
  SEARCH: parseSearch,
  FETCH: parseFetch,
  STORE: parseStore,
  COPY: copyLike('COPY'),
  MOVE: copyLike('MOVE'),
  IDLE: bare('IDLE'),
  NAMESPACE: bare('NAMESPACE'),
  ID: parseId,
  ENABLE: parseEnable,
  GETQUOTA: parseGetQuota,
  GETQUOTAROOT: parseGetQuotaRoot,
  SETQUOTA: parseSetQuota,
};

/** the commands that have a UID form (RFC 3501 6.4.8, RFC 4315, RFC 6851) */
const UID_COMMANDS = new Set(['COPY', 'MOVE', 'FETCH', 'SEARCH', 'STORE', 'EXPUNGE']);

export type ParseOutcome =
  | { type: 'command'; tag: string; command: Command }
  | { type: 'error'; error: ImapParseError }
  /** the parts end at a literal whose data is still to come, and everything before it is valid */
  | { type: 'need-literal'; tag: string; key: CommandKey; append?: AppendHeader };

export interface ParseOptions {
  maxDepth: number;
}

export function parseCommand(parts: readonly CommandPart[], options: ParseOptions): ParseOutcome {
  const d = new Decoder(parts, options);
  let tag: string | undefined;
  let key: CommandKey | undefined;
  try {
    const t = d.expectTag();
    if (d.peek() !== 0x20) d.fail('Invalid tag');
    tag = t;
    d.expectSP();
    const word = d.expectAtom('a command name').toUpperCase();
    let name = word;
    const uid = word === 'UID';
    if (uid) {
      d.expectSP();
      name = d.expectAtom('a UID command').toUpperCase();
      if (!UID_COMMANDS.has(name)) d.fail(`Unknown command UID ${name}`);
    }
    const parser = PARSERS[name];
    if (parser === undefined) d.fail(`Unknown command ${word}`);
    key = (uid ? `UID ${name}` : name) as CommandKey; // checked against PARSERS / UID_COMMANDS above
    const command = parser(d, uid);
    d.expectEnd();
    return { type: 'command', tag, command };
  } catch (e) {
    if (e instanceof NeedLiteral) {
      if (tag === undefined || key === undefined) {
        return { type: 'error', error: new ImapParseError({ kind: 'BAD', text: 'Invalid command', tag }) };
      }
      return e.append === undefined ? { type: 'need-literal', tag, key } : { type: 'need-literal', tag, key, append: e.append };
    }
    if (e instanceof DecodeError) {
      const text = key === undefined ? e.message : `Error in IMAP command ${key}: ${e.message}`;
      return { type: 'error', error: new ImapParseError({ kind: e.kind, code: e.code, codeData: e.codeData, text, tag }) };
    }
    // A bug in a grammar function must not take the connection down: report it as a BAD.
    return { type: 'error', error: new ImapParseError({ kind: 'BAD', code: 'SERVERBUG', text: 'Internal parser error', tag }) };
  }
}
