/**
 * SEARCH and UID SEARCH (RFC 3501 6.4.4):
 *   search = "SEARCH" [SP "CHARSET" SP astring] 1*(SP search-key)
 * Keys map onto the storage `SearchKey`, except sequence sets which stay
 * sequence sets (`seq`, `uidset`) for the session to resolve.
 */
import iconv from 'iconv-lite';
import type { Command, ImapSearchKey } from './commands.js';
import { DecodeError, type Decoder } from './decoder.js';

/** RFC 3501 requires US-ASCII and UTF-8; others are decoded when iconv-lite knows them. */
const NATIVE = new Set(['US-ASCII', 'UTF-8', 'UTF8', 'ASCII']);
const ADVERTISED = ['US-ASCII', 'UTF-8'];

type TextDecoderFn = (bytes: Buffer) => string;

function charsetDecoder(charset: string | undefined): TextDecoderFn {
  if (charset === undefined || NATIVE.has(charset)) return (b) => b.toString('utf8');
  if (iconv.encodingExists(charset)) return (b) => iconv.decode(b, charset);
  // RFC 3501 6.4.4: NO with [BADCHARSET] listing what we support.
  throw new DecodeError(`Unsupported charset ${charset}`, 'NO', 'BADCHARSET', ADVERTISED);
}

export function parseSearch(d: Decoder, uid: boolean): Command {
  d.expectSP();
  let charset: string | undefined;
  if (d.atomIs('CHARSET')) {
    d.expectSP();
    charset = d.expectAstring('a charset name').toString('latin1').toUpperCase();
    d.expectSP();
  }
  const decode = charsetDecoder(charset);
  const keys = [expectSearchKey(d, decode)];
  while (d.sp()) keys.push(expectSearchKey(d, decode));
  const key: ImapSearchKey = keys.length === 1 ? keys[0] : { type: 'and', keys };
  return charset === undefined ? { name: 'SEARCH', uid, key } : { name: 'SEARCH', uid, charset, key };
}

const FLAG_KEYS: Record<string, ImapSearchKey> = {
  ANSWERED: { type: 'flag', flag: '\\Answered', set: true },
  UNANSWERED: { type: 'flag', flag: '\\Answered', set: false },
  DELETED: { type: 'flag', flag: '\\Deleted', set: true },
  UNDELETED: { type: 'flag', flag: '\\Deleted', set: false },
  DRAFT: { type: 'flag', flag: '\\Draft', set: true },
  UNDRAFT: { type: 'flag', flag: '\\Draft', set: false },
  FLAGGED: { type: 'flag', flag: '\\Flagged', set: true },
  UNFLAGGED: { type: 'flag', flag: '\\Flagged', set: false },
  SEEN: { type: 'flag', flag: '\\Seen', set: true },
  UNSEEN: { type: 'flag', flag: '\\Seen', set: false },
  RECENT: { type: 'recent', set: true },
  OLD: { type: 'recent', set: false },
  ALL: { type: 'all' },
};

const HEADER_KEYS: Record<string, string> = { FROM: 'From', TO: 'To', CC: 'Cc', BCC: 'Bcc', SUBJECT: 'Subject' };
const DATE_KEYS: Record<string, { type: 'internaldate' | 'sentdate'; op: 'before' | 'on' | 'since' }> = {
  BEFORE: { type: 'internaldate', op: 'before' },
  ON: { type: 'internaldate', op: 'on' },
  SINCE: { type: 'internaldate', op: 'since' },
  SENTBEFORE: { type: 'sentdate', op: 'before' },
  SENTON: { type: 'sentdate', op: 'on' },
  SENTSINCE: { type: 'sentdate', op: 'since' },
};

function expectSearchKey(d: Decoder, decode: TextDecoderFn): ImapSearchKey {
  if (d.peek() === 0x28) {
    const keys = d.expectList(() => expectSearchKey(d, decode), { allowEmpty: false, what: 'the search key list' });
    return keys.length === 1 ? keys[0] : { type: 'and', keys };
  }
  if (d.atSeqSet()) return { type: 'seq', set: d.expectSeqSet() };
  const name = d.expectAtom('a search key').toUpperCase();
  const simple = FLAG_KEYS[name];
  if (simple !== undefined) return structuredClone(simple);
  const header = HEADER_KEYS[name];
  if (header !== undefined) {
    d.expectSP();
    return { type: 'header', field: header, value: decode(d.expectAstring()) };
  }
  const date = DATE_KEYS[name];
  if (date !== undefined) {
    d.expectSP();
    return { ...date, day: d.expectDate() };
  }
  switch (name) {
    case 'NEW': // RFC 3501: equivalent to (RECENT UNSEEN)
      return { type: 'and', keys: [{ type: 'recent', set: true }, { type: 'flag', flag: '\\Seen', set: false }] };
    case 'KEYWORD':
    case 'UNKEYWORD': {
      d.expectSP();
      const keyword = d.expectAtom('a keyword');
      return { type: 'keyword', keyword, set: name === 'KEYWORD' };
    }
    case 'HEADER': {
      d.expectSP();
      const field = d.expectAstring('a header field name').toString('latin1');
      d.expectSP();
      return { type: 'header', field, value: decode(d.expectAstring()) };
    }
    case 'BODY':
    case 'TEXT': {
      d.expectSP();
      return { type: name === 'BODY' ? 'body' : 'text', value: decode(d.expectAstring()) };
    }
    case 'LARGER':
    case 'SMALLER': {
      d.expectSP();
      return { type: 'size', op: name === 'LARGER' ? 'larger' : 'smaller', octets: d.expectNumber('a size') };
    }
    case 'UID':
      d.expectSP();
      return { type: 'uidset', set: d.expectSeqSet() };
    case 'NOT': {
      d.expectSP();
      d.enter(); // NOT NOT NOT … nests without parentheses: bound it like a list
      const key = expectSearchKey(d, decode);
      d.leave();
      return { type: 'not', key };
    }
    case 'OR': {
      d.expectSP();
      d.enter();
      const left = expectSearchKey(d, decode);
      d.expectSP();
      const right = expectSearchKey(d, decode);
      d.leave();
      return { type: 'or', left, right };
    }
    default:
      d.fail(`Unknown search key ${name}`);
  }
}
