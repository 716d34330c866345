/**
 * FETCH and UID FETCH (RFC 3501 6.4.5, grammar `fetch` in section 9):
 *   fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")")
 */
import type { BodySection, Command, FetchItem, SectionSpec } from './commands.js';
import type { Decoder } from './decoder.js';

const SIMPLE: Record<string, FetchItem> = {
  UID: { type: 'UID' },
  FLAGS: { type: 'FLAGS' },
  INTERNALDATE: { type: 'INTERNALDATE' },
  'RFC822.SIZE': { type: 'RFC822.SIZE' },
  ENVELOPE: { type: 'ENVELOPE' },
  BODYSTRUCTURE: { type: 'BODYSTRUCTURE' },
  RFC822: { type: 'RFC822' },
  'RFC822.HEADER': { type: 'RFC822.HEADER' },
  'RFC822.TEXT': { type: 'RFC822.TEXT' },
};

/** The macros of RFC 3501 6.4.5; they are only valid alone, not inside a list. */
const MACROS = {
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
} as const;

export function parseFetch(d: Decoder, uid: boolean): Command {
  d.expectSP();
  const set = d.expectSeqSet();
  d.expectSP();
  if (d.peek() === 0x28) {
    const items = d.expectList(() => expectFetchAtt(d), { allowEmpty: false, what: 'the fetch attribute list' });
    return { name: 'FETCH', uid, set, items };
  }
  const m = d.mark();
  const word = d.fetchAttName().toUpperCase();
  if (word === 'ALL' || word === 'FAST' || word === 'FULL') {
    const items: FetchItem[] = MACROS[word].map((n) => (n === 'BODY' ? { type: 'BODY' } : { ...SIMPLE[n] }));
    return { name: 'FETCH', uid, set, items, macro: word };
  }
  d.reset(m);
  return { name: 'FETCH', uid, set, items: [expectFetchAtt(d)] };
}

/** fetch-att: one attribute, including BODY[section]<partial> and BODY.PEEK[…] */
export function expectFetchAtt(d: Decoder): FetchItem {
  const name = d.fetchAttName().toUpperCase();
  const simple = SIMPLE[name];
  if (simple !== undefined) return { ...simple };
  if (name !== 'BODY' && name !== 'BODY.PEEK') d.fail(name === '' ? 'Expected a fetch attribute' : `Unknown fetch attribute ${name}`);
  if (d.peek() !== 0x5b /* [ */) {
    if (name === 'BODY') return { type: 'BODY' };
    d.fail('BODY.PEEK needs a section');
  }
  const section = expectSection(d);
  const item: FetchItem = { type: 'BODY[]', peek: name === 'BODY.PEEK', section };
  // partial = "<" number "." nz-number ">"
  if (d.consume(0x3c /* < */)) {
    const offset = d.expectNumber('the partial offset');
    d.expect(0x2e, '"." in the partial range');
    const length = d.expectNzNumber('the partial length');
    d.expect(0x3e, '">" to close the partial range');
    item.partial = { offset, length };
  }
  return item;
}

/** section = "[" [section-spec] "]" */
function expectSection(d: Decoder): BodySection {
  d.expect(0x5b, '"["');
  const text = d.fetchAttName();
  const segments = text === '' ? [] : text.split('.');
  if (segments.includes('')) d.fail(`Invalid section ${text}`);
  // section-part = nz-number *("." nz-number), then an optional "." section-text
  const part: number[] = [];
  while (segments.length > 0 && /^[0-9]+$/.test(segments[0])) {
    const s = segments.shift() as string;
    if (!/^[1-9][0-9]{0,9}$/.test(s) || Number(s) > 4294967295) d.fail(`Invalid section part ${s}`);
    part.push(Number(s));
  }
  const rest = segments.join('.').toUpperCase();
  let spec: SectionSpec;
  switch (rest) {
    case '':
      spec = { kind: 'all' };
      break;
    case 'HEADER':
      spec = { kind: 'header' };
      break;
    case 'TEXT':
      spec = { kind: 'text' };
      break;
    case 'MIME':
      if (part.length === 0) d.fail('MIME needs a part number');
      spec = { kind: 'mime' };
      break;
    case 'HEADER.FIELDS':
    case 'HEADER.FIELDS.NOT': {
      d.expectSP();
      // header-list = "(" header-fld-name *(SP header-fld-name) ")"; header-fld-name = astring
      const fields = d.expectList(() => d.expectAstring('a header field name').toString('latin1'), {
        allowEmpty: false,
        what: 'the header field list',
      });
      spec = { kind: 'header.fields', not: rest.endsWith('.NOT'), fields };
      break;
    }
    default:
      d.fail(`Invalid section ${text}`);
  }
  d.expect(0x5d, '"]" to close the section');
  return { part, spec };
}
