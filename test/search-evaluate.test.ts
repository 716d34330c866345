import { describe, expect, it } from 'vitest';
import { StoreError } from '../maildir/errors.js';
import { evaluateSearch, needsBody, needsIndex, type SearchCandidate } from '../maildir/search/evaluate.js';
import type { MessageIndex } from '../maildir/mime/types.js';
import type { Day, SearchKey } from '../maildir/search/query.js';
import { candidate, newCounters, type Counters } from './search-fixtures.js';
import { msg1, msg5, specs } from './search-messages.js';

const day = (year: number, month: number, d: number): Day => ({ year, month, day: d });
const seen: SearchKey = { type: 'flag', flag: '\\Seen', set: true };
const body = (value: string): SearchKey => ({ type: 'body', value });
const text = (value: string): SearchKey => ({ type: 'text', value });
const header = (field: string, value: string): SearchKey => ({ type: 'header', field, value });
const not = (key: SearchKey): SearchKey => ({ type: 'not', key });
const or = (left: SearchKey, right: SearchKey): SearchKey => ({ type: 'or', left, right });
const and = (...keys: SearchKey[]): SearchKey => ({ type: 'and', keys });
const uids = (...ranges: [number, number][]): SearchKey => ({ type: 'uid', ranges: ranges.map(([from, to]) => ({ from, to })) });

function mailbox(o: { chunkSize?: number; counters?: Counters } = {}): SearchCandidate[] {
  return specs.map((s) => candidate(s, o));
}

const size1 = mailbox()[0]!.size;

const table: [string, SearchKey, number[]][] = [
  ['ALL', { type: 'all' }, [1, 2, 3, 4, 5]],
  ['SEEN', seen, [1]],
  ['UNSEEN', { type: 'flag', flag: '\\Seen', set: false }, [2, 3, 4, 5]],
  ['ANSWERED', { type: 'flag', flag: '\\Answered', set: true }, [2]],
  ['FLAGGED', { type: 'flag', flag: '\\Flagged', set: true }, [2]],
  ['DELETED', { type: 'flag', flag: '\\Deleted', set: true }, [3]],
  ['DRAFT', { type: 'flag', flag: '\\Draft', set: true }, [4]],
  ['UNDRAFT', { type: 'flag', flag: '\\Draft', set: false }, [1, 2, 3, 5]],
  ['KEYWORD work (stored as Work and work)', { type: 'keyword', keyword: 'work', set: true }, [2, 4]],
  ['KEYWORD WORK', { type: 'keyword', keyword: 'WORK', set: true }, [2, 4]],
  ['UNKEYWORD Work', { type: 'keyword', keyword: 'Work', set: false }, [1, 3, 5]],
  ['KEYWORD $important', { type: 'keyword', keyword: '$important', set: true }, [1]],
  ['RECENT', { type: 'recent', set: true }, [2, 4]],
  ['OLD', { type: 'recent', set: false }, [1, 3, 5]],
  ['NEW (RECENT UNSEEN)', and({ type: 'recent', set: true }, { type: 'flag', flag: '\\Seen', set: false }), [2, 4]],
  ['UID 2:3', uids([2, 3]), [2, 3]],
  ['UID 4:2 (reversed)', uids([4, 2]), [2, 3, 4]],
  ['UID 5:*', uids([5, Infinity]), [5]],
  ['UID 1,4', uids([1, 1], [4, 4]), [1, 4]],
  ['LARGER 5000', { type: 'size', op: 'larger', octets: 5000 }, [5]],
  ['SMALLER 5000', { type: 'size', op: 'smaller', octets: 5000 }, [1, 2, 3, 4]],
  ['LARGER own size is strict', and(uids([1, 1]), { type: 'size', op: 'larger', octets: size1 }), []],
  ['SMALLER own size is strict', and(uids([1, 1]), { type: 'size', op: 'smaller', octets: size1 }), []],
  ['LARGER size-1', and(uids([1, 1]), { type: 'size', op: 'larger', octets: size1 - 1 }), [1]],

  ['ON 2-Jul-2003 (UTC)', { type: 'internaldate', op: 'on', day: day(2003, 7, 2) }, [1, 2]],
  ['BEFORE 3-Jul-2003', { type: 'internaldate', op: 'before', day: day(2003, 7, 3) }, [1, 2, 4]],
  ['SINCE 3-Jul-2003', { type: 'internaldate', op: 'since', day: day(2003, 7, 3) }, [3, 5]],

  ['SENTON 1-Jul-2003 (the header\'s own zone, -0700)', { type: 'sentdate', op: 'on', day: day(2003, 7, 1) }, [1]],
  ['SENTON 2-Jul-2003', { type: 'sentdate', op: 'on', day: day(2003, 7, 2) }, [2]],
  ['SENTBEFORE 2-Jul-2003 (no Date: counts as 1970)', { type: 'sentdate', op: 'before', day: day(2003, 7, 2) }, [1, 4]],
  ['SENTSINCE 3-Jul-2003', { type: 'sentdate', op: 'since', day: day(2003, 7, 3) }, [3, 5]],
  ['SENTON 1-Jan-1970', { type: 'sentdate', op: 'on', day: day(1970, 1, 1) }, [4]],
  ['SENTON 4-Jan-2020 (+1300)', { type: 'sentdate', op: 'on', day: day(2020, 1, 4) }, [5]],
  ['SENTSINCE 1-Jan-1971', { type: 'sentdate', op: 'since', day: day(1971, 1, 1) }, [1, 2, 3, 5]],

  ['FROM alice', header('FROM', 'alice'), [1]],
  ['FROM "ALICE EXAMPLE"', header('From', 'ALICE EXAMPLE'), [1]],
  ['FROM jürgen (encoded word)', header('from', 'jürgen'), [2]],
  ['FROM "JÜRGEN MÜLLER"', header('from', 'JÜRGEN MÜLLER'), [2]],
  ['FROM muller (no accent folding)', header('from', 'muller'), []],
  ['TO alice@example.org', header('to', 'alice@example.org'), [2, 4, 5]],
  ['CC team@', header('cc', 'team@'), [2]],
  ['BCC x', header('bcc', 'x'), []],
  ['SUBJECT "café crème" (ISO-8859-1 Q word)', header('subject', 'café crème'), [2]],
  ['SUBJECT "CAFÉ CRÈME TOMORROW"', header('subject', 'CAFÉ CRÈME TOMORROW'), [2]],
  ['SUBJECT decomposed e + U+0301', header('subject', 'cafe\u0301'), [2]],
  ['SUBJECT привет (KOI8-R B word)', header('subject', 'привет'), [3]],
  ['SUBJECT ПРИВЕТ', header('subject', 'ПРИВЕТ'), [3]],
  ['SUBJECT inner (top level only)', header('subject', 'inner'), [4]],
  ['SUBJECT "subject line" (only the forwarded message has it)', header('subject', 'subject line'), []],
  ['HEADER Message-ID cafe@', header('Message-ID', 'cafe@'), [2]],

  ['HEADER X-Mailer mutt', header('X-Mailer', 'mutt'), [1]],
  ['HEADER X-EMPTY "" (present)', header('X-EMPTY', ''), [1]],
  ['HEADER X-Empty anything', header('X-Empty', 'anything'), []],
  ['HEADER Received mx2 (second occurrence)', header('Received', 'mx2'), [1]],
  ['HEADER X-Folded across the fold', header('x-folded', 'first part second part'), [1]],
  ['HEADER Content-Type koi8 (MIME part headers are not the message header)', header('Content-Type', 'koi8'), []],
  ['HEADER Content-Type multipart/mixed', header('Content-Type', 'multipart/mixed'), [3, 4]],
  ['HEADER Date ""', header('Date', ''), [1, 2, 3, 5]],
  ['HEADER Subject ""', header('Subject', ''), [1, 2, 3, 4, 5]],
  ['HEADER Cc ""', header('Cc', ''), [2]],

  ['BODY revenue grew', body('revenue grew'), [1]],
  ['BODY "numbers are in. revenue" (across a line break)', body('numbers are in. revenue'), [1]],
  ['BODY "café crème est prêt" (QP ISO-8859-1)', body('café crème est prêt'), [2]],
  ['BODY "grüße aus münchen"', body('grüße aus münchen'), [2]],
  ['BODY GRÜSSE (ß folds to ss)', body('GRÜSSE'), [2]],
  ['BODY "soft break joined" (QP soft line break)', body('soft break joined'), [2]],
  ['BODY "привет, мир" (base64 KOI8-R)', body('привет, мир'), [3]],
  ['BODY "ПРОВЕРКА ПОИСКА"', body('ПРОВЕРКА ПОИСКА'), [3]],
  ['BODY secret (image/png part is not searched)', body('secret'), []],
  ['BODY "hidden treasure" (application/octet-stream)', body('hidden treasure'), []],
  ['BODY preamblephrase', body('preamblephrase'), []],
  ['BODY epiloguephrase', body('epiloguephrase'), []],
  ['BODY "nested needle" (inside message/rfc822)', body('nested needle'), [4]],
  ['BODY "inner subject line" (a header, not body)', body('inner subject line'), []],
  ['BODY "quarterly report" (subject only)', body('quarterly report'), []],
  ['BODY russian greeting (a MIME part header)', body('russian greeting'), []],
  ['BODY "zebra crossing ☃ snowman" (base64 UTF-8)', body('zebra crossing ☃ snowman'), [5]],
  ['BODY final-marker (last bytes)', body('final-marker'), [5]],
  ['BODY ""', body(''), [1, 2, 3, 4, 5]],

  ['TEXT "quarterly report"', text('quarterly report'), [1]],
  ['TEXT "subject: quarterly" (name and value)', text('subject: quarterly'), [1]],
  ['TEXT "inner subject line" (forwarded header)', text('inner subject line'), [4]],
  ['TEXT "russian greeting" (MIME part header)', text('russian greeting'), [3]],
  ['TEXT "nested needle"', text('nested needle'), [4]],
  ['TEXT secret', text('secret'), []],
  ['TEXT alice@example.org', text('alice@example.org'), [1, 2, 4, 5]],
  ['TEXT "café crème" (header and body)', text('café crème'), [2]],

  ['NOT SEEN', not(seen), [2, 3, 4, 5]],
  ['NOT NOT NOT SEEN', not(not(not(seen))), [2, 3, 4, 5]],
  ['OR SEEN DELETED', or(seen, { type: 'flag', flag: '\\Deleted', set: true }), [1, 3]],
  [
    'AND (OR KEYWORD work FLAGGED) (NOT BODY "nested needle")',
    and(or({ type: 'keyword', keyword: 'work', set: true }, { type: 'flag', flag: '\\Flagged', set: true }), not(body('nested needle'))),
    [2],
  ],
  ['NOT (OR UID 1:2 (AND RECENT TEXT nested))', not(or(uids([1, 2]), and({ type: 'recent', set: true }, text('nested')))), [3, 5]],
  ['OR (NOT ALL) SMALLER 1', or(not({ type: 'all' }), { type: 'size', op: 'smaller', octets: 1 }), []],
  ['empty AND', and(), [1, 2, 3, 4, 5]],
  ['AND FROM alice (NOT SUBJECT quarterly)', and(header('from', 'alice'), not(header('subject', 'quarterly'))), []],
  ['OR BODY zebra HEADER X-Mailer mutt', or(body('zebra'), header('x-mailer', 'mutt')), [1, 5]],
  ['OR (SENTON 1-Jan-1970) (AND SINCE 3-Jul-2003 NOT BODY lorem)',
    or({ type: 'sentdate', op: 'on', day: day(1970, 1, 1) }, and({ type: 'internaldate', op: 'since', day: day(2003, 7, 3) }, not(body('lorem')))),
    [3, 4]],
];

describe('evaluateSearch: every key over five messages', () => {
  for (const chunkSize of [4096, 7]) {
    describe(`readRange chunks of ${chunkSize} bytes`, () => {
      it.each(table)('%s', async (_name, key, expected) => {
        expect(await evaluateSearch(key, mailbox({ chunkSize }), { timezoneOffsetMinutes: 0 })).toEqual(expected);
      });
    });
  }

  it('takes an async iterable of candidates too', async () => {
    async function* gen(): AsyncGenerator<SearchCandidate> {
      yield* mailbox();
    }
    expect(await evaluateSearch(body('nested needle'), gen())).toEqual([4]);
    expect(await evaluateSearch(seen, gen())).toEqual([1]);
  });
});

describe('INTERNALDATE and the time zone option', () => {
  const on2 = { type: 'internaldate', op: 'on', day: day(2003, 7, 2) } as const;
  const since3 = { type: 'internaldate', op: 'since', day: day(2003, 7, 3) } as const;

  it('moves a message across midnight with the offset', async () => {
    // uid 2 is 23:30Z: 1:30 on 3 Jul at +0200; uid 3 is 00:30Z: 23:30 on 2 Jul at -0100.
    expect(await evaluateSearch(on2, mailbox(), { timezoneOffsetMinutes: 120 })).toEqual([1]);
    expect(await evaluateSearch(since3, mailbox(), { timezoneOffsetMinutes: 120 })).toEqual([2, 3, 5]);
    expect(await evaluateSearch(on2, mailbox(), { timezoneOffsetMinutes: -60 })).toEqual([1, 2, 3]);
  });

  it('defaults to the server time zone at that instant', async () => {
    const expected: number[] = [];
    for (const s of specs) {
      const d = s.internalDate!;
      const local = new Date(d.getFullYear(), d.getMonth(), d.getDate());
      if (local.getFullYear() === 2003 && local.getMonth() === 6 && local.getDate() === 2) expected.push(s.uid);
    }
    expect(await evaluateSearch(on2, mailbox())).toEqual(expected);
  });
});

describe('cheap keys first, short-circuit', () => {
  it('a flags/uid/size query never calls index(), readRange() or internalDate()', async () => {
    const key = and(
      seen,
      not({ type: 'flag', flag: '\\Deleted', set: true }),
      uids([1, Infinity]),
      or({ type: 'keyword', keyword: '$Important', set: true }, { type: 'recent', set: true }),
      { type: 'size', op: 'larger', octets: 10 },
    );
    const counters = newCounters();
    expect(await evaluateSearch(key, mailbox({ counters }))).toEqual([1]);
    expect(counters).toEqual(newCounters());
    expect(needsIndex(key)).toBe(false);
    expect(needsBody(key)).toBe(false);
  });

  it('AND evaluates the body key only where the cheap keys passed', async () => {
    const counters = newCounters();
    // The body key is written first; it must still run after UID.
    expect(await evaluateSearch(and(body('numbers'), uids([1, 1])), mailbox({ counters }))).toEqual([1]);
    expect(counters.index).toBe(1);
    expect(counters.readRange).toBe(1);
  });

  it('OR does not read the body of a message its cheap side already matched', async () => {
    const counters = newCounters();
    const all = mailbox({ counters });
    expect(await evaluateSearch(or(body('zzz-not-there'), uids([1, 5])), all)).toEqual([1, 2, 3, 4, 5]);
    expect(counters).toEqual(newCounters());
  });

  it('decoded header keys use the index, never the file', async () => {
    const counters = newCounters();
    expect(await evaluateSearch(header('subject', 'quarterly'), mailbox({ counters }))).toEqual([1]);
    expect(counters.index).toBe(5);
    expect(counters.readRange).toBe(0);
  });

  it('TEXT found in the header does not read the body', async () => {
    const counters = newCounters();
    expect(await evaluateSearch(and(uids([1, 1]), text('quarterly report')), mailbox({ counters }))).toEqual([1]);
    expect(counters.readRange).toBe(1);
    expect(counters.bytesRead).toBe(msg1.indexOf('\n\n') + 2);
  });

  it('two HEADER keys read the raw header once per message', async () => {
    const counters = newCounters();
    expect(await evaluateSearch(and(header('x-mailer', 'mutt'), header('received', 'mx1')), mailbox({ counters }))).toEqual([1]);
    expect(counters.readRange).toBe(5);
  });

  it('BODY stops reading at the match', async () => {
    const counters = newCounters();
    expect(await evaluateSearch(and(uids([5, 5]), body('lorem ipsum')), mailbox({ counters, chunkSize: 64 }))).toEqual([5]);
    expect(counters.bytesRead).toBeLessThan(200);
  });

  it('needsIndex / needsBody', () => {
    const cases: [SearchKey, boolean, boolean][] = [
      [{ type: 'all' }, false, false],
      [{ type: 'internaldate', op: 'on', day: day(2003, 7, 2) }, false, false],
      [{ type: 'sentdate', op: 'on', day: day(2003, 7, 2) }, true, false],
      [header('subject', 'x'), true, false],
      [header('subject', ''), true, true],
      [header('x-mailer', 'x'), true, true],
      [body('x'), true, true],
      [body(''), false, false],
      [not(text('x')), true, true],
      [or(seen, and(uids([1, 2]), header('from', 'a'))), true, false],
    ];
    for (const [key, index, bodyNeeded] of cases) {
      expect([needsIndex(key), needsBody(key)]).toEqual([index, bodyNeeded]);
    }
  });
});

describe('streaming', () => {
  it('finds a match straddling every chunk edge', async () => {
    for (const chunkSize of [1, 2, 3, 5, 7, 13, 64, 1000]) {
      const cands = [candidate({ uid: 5, raw: Buffer.from(msg5, 'utf8') }, { chunkSize })];
      expect(await evaluateSearch(body('ZEBRA CROSSING ☃ SNOWMAN'), cands), `chunk ${chunkSize}`).toEqual([5]);
      expect(await evaluateSearch(body('dolor zebra'), cands), `chunk ${chunkSize}`).toEqual([5]);
      expect(await evaluateSearch(body('crossing ☃☃'), cands), `chunk ${chunkSize}`).toEqual([]);
    }
  });

  it('respects maxBodyScanBytes', async () => {
    const counters = newCounters();
    const cands = [candidate({ uid: 5, raw: Buffer.from(msg5, 'utf8') }, { chunkSize: 256, counters })];
    expect(await evaluateSearch(body('final-marker'), cands, { maxBodyScanBytes: 2048 })).toEqual([]);
    expect(counters.bytesRead).toBeLessThanOrEqual(2048);
    expect(await evaluateSearch(body('lorem'), cands, { maxBodyScanBytes: 2048 })).toEqual([5]);
    expect(await evaluateSearch(body('final-marker'), cands)).toEqual([5]);
  });
});

describe('failures', () => {
  it('leaves out a message expunged during the search', async () => {
    const cands = mailbox();
    cands[0] = { ...cands[0]!, index: () => Promise.reject(new StoreError('EXPUNGED', 'gone')) };
    cands[1] = {
      ...cands[1]!,
      readRange: () => ({
        [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(Object.assign(new Error('gone'), { code: 'ENOENT' })) }),
      }),
    };
    expect(await evaluateSearch(text('example'), cands)).toEqual([3, 4, 5]);
    // NOT does not turn a vanished message into a match
    expect(await evaluateSearch(not(body('zzz')), cands)).toEqual([3, 4, 5]);
  });

  it('propagates other errors', async () => {
    const cands = mailbox();
    cands[2] = { ...cands[2]!, index: () => Promise.reject(new StoreError('SERVERBUG', 'broken')) };
    await expect(evaluateSearch(body('x'), cands)).rejects.toThrow('broken');
  });
});

describe('hand-built MessageIndex', () => {
  // Only the index says these things; the raw bytes say otherwise. The fast
  // paths must take them from index().headers (raw values, decoded when
  // searched), SENT* from envelope.date and the zone written there.
  const raw = 'Subject: raw subject\nX-Raw: yes\n\nbody text here\n';
  const bodyStart = raw.indexOf('\n\n') + 2;
  const index: MessageIndex = {
    envelope: {
      date: 'Sun, 31 Dec 2023 23:00:00 -0500', subject: 'Hand-built Ünïcode', from: null, sender: null,
      replyTo: null, to: null, cc: null, bcc: null, inReplyTo: null, messageId: null,
    },
    body: {
      type: 'text', subtype: 'plain', params: [['charset', 'utf-8']], id: null, description: null,
      encoding: '7bit', md5: null, disposition: null, language: null, location: null,
      headerStart: 0, bodyStart, bodyEnd: raw.length, headerSize: bodyStart + 2, size: 16, lines: 1,
    },
    headers: {
      from: '=?iso-8859-1?q?Zo=EB?= <zoe@example.com>', to: '', cc: '', bcc: '', subject: '=?utf-8?q?Hand-built_=C3=9Cn=C3=AFcode?=',
      messageId: '', inReplyTo: '', references: '<a@b> <c@d>',
    },
    rawSize: raw.length,
    size: raw.length + 4,
  };
  const c = (): SearchCandidate[] => [candidate({ uid: 9, raw, index })];

  it.each([
    [header('subject', 'ÜNÏCODE'), [9]],
    [header('subject', 'raw subject'), []],
    [header('from', 'zoë'), [9]],
    [header('references', 'c@d'), [9]],
    [header('x-raw', 'YES'), [9]],
    [body('TEXT HERE'), [9]],
    [{ type: 'sentdate', op: 'on', day: day(2023, 12, 31) }, [9]],
    [{ type: 'sentdate', op: 'on', day: day(2024, 1, 1) }, []],
  ] as [SearchKey, number[]][])('%j', async (key, expected) => {
    expect(await evaluateSearch(key, c())).toEqual(expected);
  });
});
