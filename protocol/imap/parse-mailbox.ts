/**
 * Commands about mailboxes (RFC 3501 6.3, RFC 6154 XLIST, RFC 9208 QUOTA):
 * SELECT, EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB,
 * XLIST, STATUS, APPEND, GETQUOTA, GETQUOTAROOT, SETQUOTA.
 */
import type { Command, StatusItem } from './commands.js';
import type { Decoder } from './decoder.js';

type OneMailbox = 'SELECT' | 'EXAMINE' | 'CREATE' | 'DELETE' | 'SUBSCRIBE' | 'UNSUBSCRIBE';

/** select = "SELECT" SP mailbox, and the other commands of that shape */
export function oneMailbox(name: OneMailbox) {
  return (d: Decoder): Command => {
    d.expectSP();
    return { name, mailbox: d.expectMailbox() };
  };
}

/** rename = "RENAME" SP mailbox SP mailbox */
export function parseRename(d: Decoder): Command {
  d.expectSP();
  const from = d.expectMailbox();
  d.expectSP();
  return { name: 'RENAME', from, to: d.expectMailbox() };
}

/** list = "LIST" SP mailbox SP list-mailbox (LSUB, and XLIST for old Outlook, alike) */
export function listLike(name: 'LIST' | 'LSUB' | 'XLIST') {
  return (d: Decoder): Command => {
    d.expectSP();
    const reference = d.expectReference();
    d.expectSP();
    return { name, reference, pattern: d.expectListMailbox() };
  };
}

const STATUS_ITEMS: readonly StatusItem[] = ['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'SIZE', 'APPENDLIMIT'];

/** status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")" */
export function parseStatus(d: Decoder): Command {
  d.expectSP();
  const mailbox = d.expectMailbox();
  d.expectSP();
  const items = d.expectList(
    () => {
      const a = d.expectAtom('a status item').toUpperCase();
      const item = STATUS_ITEMS.find((s) => s === a);
      if (item === undefined) d.fail(`Unknown status item ${a}`);
      return item;
    },
    { allowEmpty: false, what: 'the status item list' },
  );
  return { name: 'STATUS', mailbox, items };
}

/**
 * append = "APPEND" SP mailbox [SP flag-list] [SP date-time] SP literal
 * The message literal is streamed by the reader, never kept: the decoder
 * sees it as a `stream` part and returns its declared size.
 */
export function parseAppend(d: Decoder): Command {
  d.expectSP();
  const mailbox = d.expectMailbox();
  d.expectSP();
  let flags: string[] = [];
  if (d.peek() === 0x28) {
    flags = d.expectFlagList();
    d.expectSP();
  }
  let date: Date | undefined;
  if (d.peek() === 0x22) {
    date = d.expectDateTime();
    d.expectSP();
  }
  const header = date === undefined ? { mailbox, flags } : { mailbox, flags, date };
  const size = d.expectMessageLiteral(header);
  return { name: 'APPEND', ...header, size };
}

/** getquota = "GETQUOTA" SP quota-root-name (RFC 9208) */
export function parseGetQuota(d: Decoder): Command {
  d.expectSP();
  return { name: 'GETQUOTA', root: d.expectText('a quota root') };
}

/** getquotaroot = "GETQUOTAROOT" SP mailbox */
export function parseGetQuotaRoot(d: Decoder): Command {
  d.expectSP();
  return { name: 'GETQUOTAROOT', mailbox: d.expectMailbox() };
}

/** setquota = "SETQUOTA" SP quota-root-name SP "(" [resource-name SP number64 *(SP resource-name SP number64)] ")" */
export function parseSetQuota(d: Decoder): Command {
  d.expectSP();
  const root = d.expectText('a quota root');
  d.expectSP();
  const limits = d.expectList(
    () => {
      const resource = d.expectAtom('a resource name').toUpperCase();
      d.expectSP();
      return { resource, limit: d.expectNumber('a limit', Number.MAX_SAFE_INTEGER) };
    },
    { allowEmpty: true, what: 'the quota list' },
  );
  return { name: 'SETQUOTA', root, limits };
}
