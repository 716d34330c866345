// Table tests: raw wire text → typed command (STYLE.md 6), each case run whole,
// one byte at a time and split at every position (STYLE.md 5).
import { describe, expect, it } from 'vitest';
import type { Command } from '../protocol/imap/commands.js';
import { runAll } from './imap-harness.js';

const s = (from: number | '*', to: number | '*' = from) => ({ from, to });

const CASES: [string, Command][] = [
  // any state
  ['a CAPABILITY', { name: 'CAPABILITY' }],
  ['a capability', { name: 'CAPABILITY' }],
  ['a NOOP', { name: 'NOOP' }],
  ['a LOGOUT', { name: 'LOGOUT' }],
  ['a ID NIL', { name: 'ID', params: null }],
  ['a ID ("name" "Thunderbird" "version" NIL)', { name: 'ID', params: [['name', 'Thunderbird'], ['version', null]] }],
  ['a ID ()', { name: 'ID', params: [] }],
  // not authenticated
  ['a STARTTLS', { name: 'STARTTLS' }],
  ['a LOGIN joe secret', { name: 'LOGIN', username: 'joe', password: 'secret' }],
  ['a LOGIN "joe@example.org" "p\\"a\\\\ss"', { name: 'LOGIN', username: 'joe@example.org', password: 'p"a\\ss' }],
  ['a LOGIN "j\xc3\xb6rg" "x y"', { name: 'LOGIN', username: 'jörg', password: 'x y' }],
  ['a LOGIN "" ""', { name: 'LOGIN', username: '', password: '' }],
  ['a AUTHENTICATE plain', { name: 'AUTHENTICATE', mechanism: 'PLAIN' }],
  ['a AUTHENTICATE PLAIN AGpvZQBzZWNyZXQ=', { name: 'AUTHENTICATE', mechanism: 'PLAIN', initialResponse: Buffer.from('\0joe\0secret') }],
  ['a AUTHENTICATE PLAIN =', { name: 'AUTHENTICATE', mechanism: 'PLAIN', initialResponse: Buffer.alloc(0) }],
  // authenticated
  ['a SELECT INBOX', { name: 'SELECT', mailbox: 'INBOX' }],
  ['a SELECT inbox', { name: 'SELECT', mailbox: 'INBOX' }],
  ['a SELECT "InBoX"', { name: 'SELECT', mailbox: 'INBOX' }],
  ['a SELECT inbox/sub', { name: 'SELECT', mailbox: 'inbox/sub' }],
  ['a EXAMINE "Sent Items"', { name: 'EXAMINE', mailbox: 'Sent Items' }],
  ['a CREATE "Entw&APw-rfe"', { name: 'CREATE', mailbox: 'Entwürfe' }],
  ['a CREATE &ZeVnLIqe-', { name: 'CREATE', mailbox: '日本語' }],
  ['a CREATE "A &- B"', { name: 'CREATE', mailbox: 'A & B' }],
  ['a DELETE Trash]', { name: 'DELETE', mailbox: 'Trash]' }],
  ['a RENAME Old "New/Name"', { name: 'RENAME', from: 'Old', to: 'New/Name' }],
  ['a SUBSCRIBE Lists/ietf', { name: 'SUBSCRIBE', mailbox: 'Lists/ietf' }],
  ['a UNSUBSCRIBE Lists/ietf', { name: 'UNSUBSCRIBE', mailbox: 'Lists/ietf' }],
  ['a LIST "" *', { name: 'LIST', reference: '', pattern: '*' }],
  ['a LIST "" %', { name: 'LIST', reference: '', pattern: '%' }],
  ['a LIST Lists/ %/Arch&AOk-*', { name: 'LIST', reference: 'Lists/', pattern: '%/Arché*' }],
  ['a LIST "" "*"', { name: 'LIST', reference: '', pattern: '*' }],
  ['a LSUB "" Lists/%', { name: 'LSUB', reference: '', pattern: 'Lists/%' }],
  ['a XLIST "" *', { name: 'XLIST', reference: '', pattern: '*' }],
  ['a STATUS INBOX (MESSAGES UNSEEN uidnext UIDVALIDITY RECENT SIZE)', { name: 'STATUS', mailbox: 'INBOX', items: ['MESSAGES', 'UNSEEN', 'UIDNEXT', 'UIDVALIDITY', 'RECENT', 'SIZE'] }],
  ['a STATUS Sent (APPENDLIMIT)', { name: 'STATUS', mailbox: 'Sent', items: ['APPENDLIMIT'] }],
  ['a NAMESPACE', { name: 'NAMESPACE' }],
  ['a IDLE', { name: 'IDLE' }],
  ['a ENABLE CONDSTORE utf8=accept', { name: 'ENABLE', capabilities: ['CONDSTORE', 'UTF8=ACCEPT'] }],
  ['a GETQUOTA ""', { name: 'GETQUOTA', root: '' }],
  ['a GETQUOTAROOT inbox', { name: 'GETQUOTAROOT', mailbox: 'INBOX' }],
  ['a SETQUOTA "" (STORAGE 512 message 1000)', { name: 'SETQUOTA', root: '', limits: [{ resource: 'STORAGE', limit: 512 }, { resource: 'MESSAGE', limit: 1000 }] }],
  ['a SETQUOTA "" ()', { name: 'SETQUOTA', root: '', limits: [] }],
  // selected
  ['a CHECK', { name: 'CHECK' }],
  ['a CLOSE', { name: 'CLOSE' }],
  ['a UNSELECT', { name: 'UNSELECT' }],
  ['a EXPUNGE', { name: 'EXPUNGE', uid: false }],
  ['a UID EXPUNGE 3:5,9', { name: 'EXPUNGE', uid: true, set: [s(3, 5), s(9)] }],
  ['a COPY 1:* Archive', { name: 'COPY', uid: false, set: [s(1, '*')], mailbox: 'Archive' }],
  ['a uid copy 4,2:1 "Archive/2024"', { name: 'COPY', uid: true, set: [s(4), s(2, 1)], mailbox: 'Archive/2024' }],
  ['a MOVE * Trash', { name: 'MOVE', uid: false, set: [s('*')], mailbox: 'Trash' }],
  ['a UID MOVE 10:* Trash', { name: 'MOVE', uid: true, set: [s(10, '*')], mailbox: 'Trash' }],
  ['a STORE 1 +FLAGS (\\Seen)', { name: 'STORE', uid: false, set: [s(1)], mode: 'add', silent: false, flags: ['\\Seen'] }],
  ['a STORE 1:3 -flags.silent (\\deleted $Junk)', { name: 'STORE', uid: false, set: [s(1, 3)], mode: 'remove', silent: true, flags: ['\\Deleted', '$Junk'] }],
  ['a UID STORE 7 FLAGS ()', { name: 'STORE', uid: true, set: [s(7)], mode: 'replace', silent: false, flags: [] }],
  ['a STORE 2 FLAGS.SILENT \\Answered \\Flagged Work', { name: 'STORE', uid: false, set: [s(2)], mode: 'replace', silent: true, flags: ['\\Answered', '\\Flagged', 'Work'] }],
  // FETCH
  ['a FETCH 1 FLAGS', { name: 'FETCH', uid: false, set: [s(1)], items: [{ type: 'FLAGS' }] }],
  ['a FETCH 1:* ALL', { name: 'FETCH', uid: false, set: [s(1, '*')], macro: 'ALL', items: [{ type: 'FLAGS' }, { type: 'INTERNALDATE' }, { type: 'RFC822.SIZE' }, { type: 'ENVELOPE' }] }],
  ['a FETCH 1 fast', { name: 'FETCH', uid: false, set: [s(1)], macro: 'FAST', items: [{ type: 'FLAGS' }, { type: 'INTERNALDATE' }, { type: 'RFC822.SIZE' }] }],
  ['a FETCH 1 FULL', { name: 'FETCH', uid: false, set: [s(1)], macro: 'FULL', items: [{ type: 'FLAGS' }, { type: 'INTERNALDATE' }, { type: 'RFC822.SIZE' }, { type: 'ENVELOPE' }, { type: 'BODY' }] }],
  [
    'a UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE RFC822 RFC822.HEADER RFC822.TEXT)',
    {
      name: 'FETCH',
      uid: true,
      set: [s(1, '*')],
      items: ['UID', 'FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY', 'BODYSTRUCTURE', 'RFC822', 'RFC822.HEADER', 'RFC822.TEXT'].map((t) => ({ type: t })) as never,
    },
  ],
  ['a FETCH 2 BODY[]', { name: 'FETCH', uid: false, set: [s(2)], items: [{ type: 'BODY[]', peek: false, section: { part: [], spec: { kind: 'all' } } }] }],
  ['a FETCH 2 body.peek[]<0.1024>', { name: 'FETCH', uid: false, set: [s(2)], items: [{ type: 'BODY[]', peek: true, section: { part: [], spec: { kind: 'all' } }, partial: { offset: 0, length: 1024 } }] }],
  ['a FETCH 2 BODY[HEADER]', { name: 'FETCH', uid: false, set: [s(2)], items: [{ type: 'BODY[]', peek: false, section: { part: [], spec: { kind: 'header' } } }] }],
  ['a FETCH 2 BODY[TEXT]', { name: 'FETCH', uid: false, set: [s(2)], items: [{ type: 'BODY[]', peek: false, section: { part: [], spec: { kind: 'text' } } }] }],
  ['a FETCH 2 BODY.PEEK[1.2.3]', { name: 'FETCH', uid: false, set: [s(2)], items: [{ type: 'BODY[]', peek: true, section: { part: [1, 2, 3], spec: { kind: 'all' } } }] }],
  ['a FETCH 2 BODY[4.2.MIME]', { name: 'FETCH', uid: false, set: [s(2)], items: [{ type: 'BODY[]', peek: false, section: { part: [4, 2], spec: { kind: 'mime' } } }] }],
  ['a FETCH 2 BODY[3.HEADER]', { name: 'FETCH', uid: false, set: [s(2)], items: [{ type: 'BODY[]', peek: false, section: { part: [3], spec: { kind: 'header' } } }] }],
  ['a FETCH 2 BODY[3.TEXT]<100.5>', { name: 'FETCH', uid: false, set: [s(2)], items: [{ type: 'BODY[]', peek: false, section: { part: [3], spec: { kind: 'text' } }, partial: { offset: 100, length: 5 } }] }],
  [
    'a FETCH 1,3 (FLAGS BODY.PEEK[HEADER.FIELDS (From To "Subject" Message-ID)])',
    { name: 'FETCH', uid: false, set: [s(1), s(3)], items: [{ type: 'FLAGS' }, { type: 'BODY[]', peek: true, section: { part: [], spec: { kind: 'header.fields', not: false, fields: ['From', 'To', 'Subject', 'Message-ID'] } } }] },
  ],
  [
    'a FETCH 1 BODY[1.HEADER.FIELDS.NOT (Received)]',
    { name: 'FETCH', uid: false, set: [s(1)], items: [{ type: 'BODY[]', peek: false, section: { part: [1], spec: { kind: 'header.fields', not: true, fields: ['Received'] } } }] },
  ],
  // SEARCH
  ['a SEARCH ALL', { name: 'SEARCH', uid: false, key: { type: 'all' } }],
  ['a SEARCH UNSEEN', { name: 'SEARCH', uid: false, key: { type: 'flag', flag: '\\Seen', set: false } }],
  [
    'a UID SEARCH CHARSET utf-8 FROM "J\xc3\xb6rg" SINCE 1-Feb-2024',
    { name: 'SEARCH', uid: true, charset: 'UTF-8', key: { type: 'and', keys: [{ type: 'header', field: 'From', value: 'Jörg' }, { type: 'internaldate', op: 'since', day: { year: 2024, month: 2, day: 1 } }] } },
  ],
  ['a SEARCH CHARSET ISO-8859-1 BODY "caf\xe9"', { name: 'SEARCH', uid: false, charset: 'ISO-8859-1', key: { type: 'body', value: 'café' } }],
  ['a SEARCH 1:3,*', { name: 'SEARCH', uid: false, key: { type: 'seq', set: [s(1, 3), s('*')] } }],
  ['a SEARCH UID 5:*', { name: 'SEARCH', uid: false, key: { type: 'uidset', set: [s(5, '*')] } }],
  [
    'a SEARCH NOT DELETED OR FLAGGED (ANSWERED KEYWORD $Work)',
    {
      name: 'SEARCH',
      uid: false,
      key: {
        type: 'and',
        keys: [
          { type: 'not', key: { type: 'flag', flag: '\\Deleted', set: true } },
          { type: 'or', left: { type: 'flag', flag: '\\Flagged', set: true }, right: { type: 'and', keys: [{ type: 'flag', flag: '\\Answered', set: true }, { type: 'keyword', keyword: '$Work', set: true }] } },
        ],
      },
    },
  ],
  [
    'a SEARCH NEW OLD RECENT DRAFT UNDRAFT UNANSWERED UNDELETED UNFLAGGED SEEN UNKEYWORD x',
    {
      name: 'SEARCH',
      uid: false,
      key: {
        type: 'and',
        keys: [
          { type: 'and', keys: [{ type: 'recent', set: true }, { type: 'flag', flag: '\\Seen', set: false }] },
          { type: 'recent', set: false },
          { type: 'recent', set: true },
          { type: 'flag', flag: '\\Draft', set: true },
          { type: 'flag', flag: '\\Draft', set: false },
          { type: 'flag', flag: '\\Answered', set: false },
          { type: 'flag', flag: '\\Deleted', set: false },
          { type: 'flag', flag: '\\Flagged', set: false },
          { type: 'flag', flag: '\\Seen', set: true },
          { type: 'keyword', keyword: 'x', set: false },
        ],
      },
    },
  ],
  [
    'a SEARCH TO a CC b BCC c SUBJECT "d e" TEXT f HEADER X-Spam yes LARGER 100 SMALLER 2000',
    {
      name: 'SEARCH',
      uid: false,
      key: {
        type: 'and',
        keys: [
          { type: 'header', field: 'To', value: 'a' },
          { type: 'header', field: 'Cc', value: 'b' },
          { type: 'header', field: 'Bcc', value: 'c' },
          { type: 'header', field: 'Subject', value: 'd e' },
          { type: 'text', value: 'f' },
          { type: 'header', field: 'X-Spam', value: 'yes' },
          { type: 'size', op: 'larger', octets: 100 },
          { type: 'size', op: 'smaller', octets: 2000 },
        ],
      },
    },
  ],
  [
    'a SEARCH BEFORE "29-feb-2024" ON 01-Jan-2000 SENTBEFORE 1-Mar-2023 SENTON 2-Mar-2023 SENTSINCE 31-Dec-1999',
    {
      name: 'SEARCH',
      uid: false,
      key: {
        type: 'and',
        keys: [
          { type: 'internaldate', op: 'before', day: { year: 2024, month: 2, day: 29 } },
          { type: 'internaldate', op: 'on', day: { year: 2000, month: 1, day: 1 } },
          { type: 'sentdate', op: 'before', day: { year: 2023, month: 3, day: 1 } },
          { type: 'sentdate', op: 'on', day: { year: 2023, month: 3, day: 2 } },
          { type: 'sentdate', op: 'since', day: { year: 1999, month: 12, day: 31 } },
        ],
      },
    },
  ],
  ['a SEARCH HEADER Message-ID ""', { name: 'SEARCH', uid: false, key: { type: 'header', field: 'Message-ID', value: '' } }],
];

describe('IMAP command parser: wire text → typed command', () => {
  for (const [wire, command] of CASES) {
    it(wire.replace(/[^\x20-\x7e]/g, '?'), () => {
      expect(runAll(`${wire}\r\n`)).toEqual([{ type: 'command', tag: 'a', command }]);
    });
  }

  it('accepts a bare LF as the line end', () => {
    expect(runAll('a NOOP\n')).toEqual([{ type: 'command', tag: 'a', command: { name: 'NOOP' } }]);
  });

  it('reads pipelined commands in order', () => {
    expect(runAll('1 NOOP\r\n2 SELECT INBOX\r\n3 FETCH 1 UID\r\n')).toEqual([
      { type: 'command', tag: '1', command: { name: 'NOOP' } },
      { type: 'command', tag: '2', command: { name: 'SELECT', mailbox: 'INBOX' } },
      { type: 'command', tag: '3', command: { name: 'FETCH', uid: false, set: [s(1)], items: [{ type: 'UID' }] } },
    ]);
  });

  it('accepts any tag of ASTRING-CHARs but "+"', () => {
    expect(runAll('A0001.x]! NOOP\r\n')).toEqual([{ type: 'command', tag: 'A0001.x]!', command: { name: 'NOOP' } }]);
  });

  it('ignores empty lines between commands', () => {
    expect(runAll('\r\n\r\na NOOP\r\n')).toEqual([{ type: 'command', tag: 'a', command: { name: 'NOOP' } }]);
  });

  it('APPEND with flags and date-time parses the date with its zone', () => {
    const ev = runAll('a APPEND Sent (\\Seen) " 7-Feb-1994 21:52:25 -0800" {3+}\r\nabc\r\n');
    expect(ev).toEqual([
      { type: 'append-start', tag: 'a', size: 3, header: { mailbox: 'Sent', flags: ['\\Seen'], date: new Date('1994-02-08T05:52:25Z') } },
      { type: 'append-data', data: 'abc' },
      { type: 'append-literal-end' },
      { type: 'command', tag: 'a', command: { name: 'APPEND', mailbox: 'Sent', flags: ['\\Seen'], date: new Date('1994-02-08T05:52:25Z'), size: 3 } },
    ]);
  });
});

const BAD: [string, string][] = [
  ['a FOO', 'Unknown command FOO'],
  ['a UID NOOP', 'Unknown command UID NOOP'],
  ['a NOOP extra', 'extra arguments'],
  ['a NOOP ', 'extra arguments'],
  ['a SELECT', 'Missing arguments'],
  ['a SELECT  INBOX', 'Expected a mailbox name'],
  ['a SELECT "unterminated', 'Unterminated quoted string'],
  ['a SELECT "bad\\escape"', 'Invalid escape'],
  ['a CREATE &Jjo', 'modified UTF-7'],
  ['a CREATE &AGE-', 'modified UTF-7'],
  ['a CREATE caf\xc3\xa9', 'Unexpected 8-bit or control character'],
  ['a NOOP\x00', 'Unexpected 8-bit or control character'],
  ['a CREATE "caf\xc3\xa9"', 'modified UTF-7'],
  ['a FETCH 0 FLAGS', 'Invalid sequence set'],
  ['a FETCH 1: FLAGS', 'Invalid sequence set'],
  ['a FETCH 1 (FLAGS ALL)', 'Unknown fetch attribute ALL'],
  ['a FETCH 1 ()', 'Empty'],
  ['a FETCH 1 BODY.PEEK', 'needs a section'],
  ['a FETCH 1 BODY[MIME]', 'MIME needs a part number'],
  ['a FETCH 1 BODY[0]', 'Invalid section part'],
  ['a FETCH 1 BODY[1..2]', 'Invalid section'],
  ['a FETCH 1 BODY[HEADER.FIELDS ()]', 'Empty'],
  ['a FETCH 1 BODY[]<1>', 'Expected "." in the partial range'],
  ['a FETCH 1 BODY[]<1.0>', 'partial length'],
  ['a FETCH 1 (FLAGS', 'to close'],
  ['a FETCH 1 FLAGS)', 'Unexpected character )'],
  ['a STORE 1 FLAGS (\\Recent)', '\\Recent cannot be set'],
  ['a STORE 1 FLAGS (\\Bogus)', 'Unsupported system flag'],
  ['a STORE 1 XFLAGS (a)', 'Invalid store attribute'],
  ['a SEARCH', 'Missing arguments'],
  ['a SEARCH FOO', 'Unknown search key FOO'],
  ['a SEARCH SINCE 30-Feb-2024', 'Invalid date'],
  ['a SEARCH SINCE 1-Foo-2024', 'Invalid date'],
  ['a SEARCH (ALL', 'to close'],
  ['a SEARCH OR ALL', 'Missing arguments'],
  ['a APPEND INBOX "32-Jan-2024 00:00:00 +0000" {1+}\r\nx', 'Invalid date-time'],
  ['a APPEND INBOX (\\Seen) "1-Jan-2024 25:00:00 +0000" {1+}\r\nx', 'Invalid date-time'],
  ['a APPEND INBOX "hello"', 'Invalid date-time'],
  ['a APPEND INBOX hello', 'Expected the message as a literal'],
  ['a AUTHENTICATE PLAIN ***', 'Expected an initial response'],
  ['a AUTHENTICATE PLAIN abc', 'Invalid base64'],
  ['a ENABLE', 'Missing arguments'],
  ['a STATUS INBOX (MESSAGES FOO)', 'Unknown status item FOO'],
  ['a STATUS INBOX ()', 'Empty'],
  ['a LOGIN joe', 'Missing arguments'],
  ['a ID (name)', 'Expected a field name'],
  ['a ID ("name")', 'Expected a space'],
];

describe('IMAP command parser: syntax errors are tagged BAD', () => {
  for (const [wire, text] of BAD) {
    it(wire.replace(/[^\x20-\x7e]/g, '?'), () => {
      const ev = runAll(`${wire}\r\n`);
      expect(ev).toHaveLength(1);
      expect(ev[0]).toMatchObject({ type: 'error', kind: 'BAD', tag: 'a' });
      expect(ev[0].type === 'error' && ev[0].text).toContain(text);
    });
  }

  it('an unsupported SEARCH charset is NO [BADCHARSET]', () => {
    expect(runAll('a SEARCH CHARSET X-NOPE ALL\r\n')).toEqual([
      { type: 'error', kind: 'NO', code: 'BADCHARSET', tag: 'a', text: 'Error in IMAP command SEARCH: Unsupported charset X-NOPE' },
    ]);
  });

  it('a line without a valid tag gets an untagged BAD', () => {
    for (const wire of ['+ NOOP\r\n', '* NOOP\r\n', 'a+b NOOP\r\n', 'NOOP\r\n', '(x) NOOP\r\n']) {
      const ev = runAll(wire);
      expect(ev).toHaveLength(1);
      expect(ev[0]).toMatchObject({ type: 'error', kind: 'BAD' });
      expect(ev[0]).not.toHaveProperty('tag');
    }
  });

  it('the reader keeps going after an error', () => {
    expect(runAll('a FOO\r\nb NOOP\r\n')).toEqual([
      { type: 'error', kind: 'BAD', tag: 'a', text: 'Unknown command FOO' },
      { type: 'command', tag: 'b', command: { name: 'NOOP' } },
    ]);
  });
});
