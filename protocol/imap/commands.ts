/**
 * Parsed IMAP commands: one discriminated union, one variant per command,
 * typed arguments (Stalwart's `enum Command` + typed `Arguments`, go-imap's
 * option structs). Commands that exist in a sequence-number and a UID form
 * carry `uid: boolean`; `commandKey()` names the form for the command table.
 *
 * Strings are decoded: mailbox names from modified UTF-7 to Unicode with INBOX
 * normalised, SEARCH strings with the given CHARSET, everything else as UTF-8.
 */
import type { Day, SearchKey } from '../../maildir/search/query.js';
import type { Flag } from '../../maildir/types.js';
import type { SequenceSet } from './sequence-set.js';

/* ---------------------------------------------------------------- FETCH */

/** RFC 3501 section 6.4.5 `section-spec`, after the part number. */
export type SectionSpec =
  | { kind: 'all' } // BODY[] or BODY[1.2]: the whole message / part
  | { kind: 'header' } // HEADER
  | { kind: 'header.fields'; not: boolean; fields: string[] } // HEADER.FIELDS (a b) / HEADER.FIELDS.NOT (a b)
  | { kind: 'text' } // TEXT
  | { kind: 'mime' }; // MIME (only after a part number)

export interface BodySection {
  /** part numbers, [] for the whole message; `1.2` → [1, 2] */
  part: number[];
  spec: SectionSpec;
}

export type FetchItem =
  | { type: 'UID' }
  | { type: 'FLAGS' }
  | { type: 'INTERNALDATE' }
  | { type: 'RFC822.SIZE' }
  | { type: 'ENVELOPE' }
  /** BODY without a section: the non-extensible BODYSTRUCTURE */
  | { type: 'BODY' }
  | { type: 'BODYSTRUCTURE' }
  /** RFC822 = BODY[] that sets \Seen; RFC822.HEADER = BODY.PEEK[HEADER]; RFC822.TEXT = BODY[TEXT] (RFC 3501 6.4.5) */
  | { type: 'RFC822' }
  | { type: 'RFC822.HEADER' }
  | { type: 'RFC822.TEXT' }
  /** BODY[section]<partial> and BODY.PEEK[section]<partial> */
  | { type: 'BODY[]'; peek: boolean; section: BodySection; partial?: { offset: number; length: number } };

/* --------------------------------------------------------------- SEARCH */

/**
 * A SEARCH key as the client wrote it. Like the storage `SearchKey`, except
 * that sequence sets stay sequence sets: the session converts `seq` (and the
 * "*" of `uidset`) with its own sequence-number view before calling storage.
 */
export type ImapSearchKey =
  | Exclude<SearchKey, { type: 'not' } | { type: 'or' } | { type: 'and' } | { type: 'uid' }>
  | { type: 'seq'; set: SequenceSet }
  | { type: 'uidset'; set: SequenceSet }
  | { type: 'not'; key: ImapSearchKey }
  | { type: 'or'; left: ImapSearchKey; right: ImapSearchKey }
  | { type: 'and'; keys: ImapSearchKey[] };

export type { Day };

/* --------------------------------------------------------------- STATUS */

/** RFC 3501 6.3.10, plus SIZE (RFC 8438) which our storage reports and APPENDLIMIT (RFC 7889 section 4). */
export type StatusItem = 'MESSAGES' | 'RECENT' | 'UIDNEXT' | 'UIDVALIDITY' | 'UNSEEN' | 'SIZE' | 'APPENDLIMIT';

/* ------------------------------------------------------------- commands */

export interface AppendHeader {
  mailbox: string;
  flags: Flag[];
  /** INTERNALDATE requested by the client, if any */
  date?: Date;
}

export type Command =
  | { name: 'CAPABILITY' }
  | { name: 'NOOP' }
  | { name: 'LOGOUT' }
  | { name: 'STARTTLS' }
  /** SASL mechanism (upper-cased) and the SASL-IR initial response (RFC 4959), decoded; "=" gives an empty buffer */
  | { name: 'AUTHENTICATE'; mechanism: string; initialResponse?: Buffer }
  | { name: 'LOGIN'; username: string; password: string }
  | { name: 'SELECT'; mailbox: string }
  | { name: 'EXAMINE'; mailbox: string }
  | { name: 'CREATE'; mailbox: string }
  | { name: 'DELETE'; mailbox: string }
  | { name: 'RENAME'; from: string; to: string }
  | { name: 'SUBSCRIBE'; mailbox: string }
  | { name: 'UNSUBSCRIBE'; mailbox: string }
  | { name: 'LIST'; reference: string; pattern: string }
  | { name: 'LSUB'; reference: string; pattern: string }
  | { name: 'XLIST'; reference: string; pattern: string }
  | { name: 'STATUS'; mailbox: string; items: StatusItem[] }
  /** the message itself was streamed through `append-*` events; `size` is its declared length */
  | ({ name: 'APPEND'; size: number } & AppendHeader)
  | { name: 'CHECK' }
  | { name: 'CLOSE' }
  | { name: 'UNSELECT' }
  | { name: 'EXPUNGE'; uid: false }
  | { name: 'EXPUNGE'; uid: true; set: SequenceSet }
  /** keys are ANDed into one key; `charset` is upper-cased when given */
  | { name: 'SEARCH'; uid: boolean; charset?: string; key: ImapSearchKey }
  /** macros (ALL/FAST/FULL) are expanded; `macro` records which one was used */
  | { name: 'FETCH'; uid: boolean; set: SequenceSet; items: FetchItem[]; macro?: 'ALL' | 'FAST' | 'FULL' }
  | { name: 'STORE'; uid: boolean; set: SequenceSet; mode: 'add' | 'remove' | 'replace'; silent: boolean; flags: Flag[] }
  | { name: 'COPY'; uid: boolean; set: SequenceSet; mailbox: string }
  | { name: 'MOVE'; uid: boolean; set: SequenceSet; mailbox: string }
  | { name: 'IDLE' }
  | { name: 'NAMESPACE' }
  /** RFC 2971: NIL → null; otherwise field/value pairs in order (value null for NIL) */
  | { name: 'ID'; params: [string, string | null][] | null }
  /** RFC 5161: capability names, upper-cased */
  | { name: 'ENABLE'; capabilities: string[] }
  | { name: 'GETQUOTA'; root: string }
  | { name: 'GETQUOTAROOT'; mailbox: string }
  /** RFC 9208: resource names upper-cased, limits as given */
  | { name: 'SETQUOTA'; root: string; limits: { resource: string; limit: number }[] };

export type CommandName = Command['name'];

/** Command names as looked up in the command table: the UID forms are separate entries. */
export type CommandKey =
  | Exclude<CommandName, 'EXPUNGE' | 'SEARCH' | 'FETCH' | 'STORE' | 'COPY' | 'MOVE'>
  | 'EXPUNGE'
  | 'SEARCH'
  | 'FETCH'
  | 'STORE'
  | 'COPY'
  | 'MOVE'
  | 'UID EXPUNGE'
  | 'UID SEARCH'
  | 'UID FETCH'
  | 'UID STORE'
  | 'UID COPY'
  | 'UID MOVE';

export function commandKey(c: Command): CommandKey {
  if ('uid' in c && c.uid) return `UID ${c.name}`;
  return c.name;
}
