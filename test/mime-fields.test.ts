// Header-field helpers of the MIME parser: address lists (RFC 5322 3.4 with
// Dovecot's tolerance), Content-Type parameters with RFC 2231, RFC 2047 decoding.
import { describe, expect, it } from 'vitest';
import { parseAddressList, parseAddressListTokens, simpleAddressList } from '../maildir/mime/address.js';
import { corpusList, loadCorpusMessage } from './fixtures/mime/corpus.js';
import { decodeParamValue, findParam, parseContentType, parseStructuredValue } from '../maildir/mime/content-type.js';
import { decodeHeaderValue } from '../maildir/mime/decode.js';
import { buildEnvelope } from '../maildir/mime/envelope.js';
import { parseHeaderFields, STRUCTURE_FIELDS } from '../maildir/mime/header-fields.js';

const addr = (name: string | null, mailbox: string | null, host: string | null, adl: string | null = null) => ({ name, adl, mailbox, host });

describe('parseAddressList', () => {
  it('RFC 5322 Appendix A.1.3 group example', () => {
    expect(parseAddressList('A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, Undisclosed recipients:;')).toEqual([
      addr(null, 'A Group', null),
      addr('Ed Jones', 'c', 'a.test'),
      addr(null, 'joe', 'where.test'),
      addr('John', 'jdoe', 'one.test'),
      addr(null, null, null),
      addr(null, 'Undisclosed recipients', null),
      addr(null, null, null),
    ]);
  });

  it('quoted names, comments as names, routes, quoted local parts', () => {
    expect(parseAddressList('"Smith, John Q." <john@ex.test>, mary@ex.test (Mary Smith), <@r1.test,@r2.test:box@ex.test>, "a b"@ex.test')).toEqual([
      addr('Smith, John Q.', 'john', 'ex.test'),
      addr('Mary Smith', 'mary', 'ex.test'),
      addr(null, 'box', 'ex.test', '@r1.test,@r2.test'),
      addr(null, 'a b', 'ex.test'),
    ]);
    // a bare addr-spec takes its last comment as the name
    expect(parseAddressList('mary@ex.test (Mary) (Smith)')).toEqual([addr('Smith', 'mary', 'ex.test')]);
  });

  it('quoted pairs inside quoted strings, an unclosed quote or trailing backslash, 8-bit atoms', () => {
    expect(parseAddressList('"Jo \\"Q\\" Public" <jq@x.test>')).toEqual([{ name: 'Jo "Q" Public', adl: null, mailbox: 'jq', host: 'x.test' }]);
    expect(parseAddressList('"unclosed <a@b>')).toEqual([{ name: null, adl: null, mailbox: 'unclosed <a@b>', host: 'MISSING_DOMAIN' }]);
    expect(parseAddressList('"trailing \\')).toEqual([{ name: null, adl: null, mailbox: 'trailing \\', host: 'MISSING_DOMAIN' }]);
    expect(parseAddressList('Ren\xe9 M\xfcller <r@m.test>')).toEqual([{ name: 'Ren\xe9 M\xfcller', adl: null, mailbox: 'r', host: 'm.test' }]);
  });

  it('garbage gives MISSING_MAILBOX / MISSING_DOMAIN like Dovecot, never throws', () => {
    // spam-2/00011 in the corpus: an address as display name
    expect(parseAddressList('x1@Email.cz <x1@Email.cz>')).toEqual([addr('x1@Email.cz', 'x1', 'Email.cz')]);
    expect(parseAddressList('John Q. Public <jqp@ex.test>')).toEqual([addr('John Q. Public', 'jqp', 'ex.test')]);
    expect(parseAddressList('nobody')).toEqual([addr(null, 'nobody', 'MISSING_DOMAIN')]);
    expect(parseAddressList('@example.test')).toEqual([addr(null, 'MISSING_MAILBOX', 'example.test')]);
    expect(parseAddressList('Name <a@b.test')).toEqual([addr('Name', 'a', 'b.test')]);
    expect(parseAddressList('"unterminated <a@b.test>')).toEqual([addr(null, 'unterminated <a@b.test>', 'MISSING_DOMAIN')]);
    expect(parseAddressList('a@b.test (open comment')).toEqual([addr('open comment', 'a', 'b.test')]);
    expect(parseAddressList('Group: a@b.test')).toEqual([addr(null, 'Group', null), addr(null, 'a', 'b.test'), addr(null, null, null)]);
    expect(parseAddressList('')).toBeNull();
    expect(parseAddressList(' , ,')).toBeNull();
    expect(parseAddressList(null)).toBeNull();
    for (const junk of ['<<<', '>>@@', ':;:;', '"\\', '(((', '[', '<@', 'a@[1.2.3.4']) expect(() => parseAddressList(junk)).not.toThrow();
  });

  it('reads the common shapes without tokens, and only those', () => {
    expect(simpleAddressList('a@b.test')).toEqual([addr(null, 'a', 'b.test')]);
    expect(simpleAddressList(' Ann  B\tExample <a.b@c.test> , "Doe, J" <j@d.test>')).toBeUndefined(); // a quote: one address only
    expect(simpleAddressList(' Ann  B\tExample <a.b@c.test> ,, x@y.test,')).toEqual([addr('Ann B Example', 'a.b', 'c.test'), addr(null, 'x', 'y.test')]);
    expect(simpleAddressList('"Doe, J" <j@d.test>')).toEqual([addr('Doe, J', 'j', 'd.test')]);
    expect(simpleAddressList('"" <j@d.test>')).toEqual([addr(null, 'j', 'd.test')]);
    expect(simpleAddressList(' , ')).toBeNull();
    for (const other of ['John Q. Public <j@x.test>', 'a@b.test (Name)', 'nobody', '@x.test', 'Group: a@b.test;', '"a\\"b" <c@d.test>', 'Ren\xe9 <r@m.test>', '<@r.test:a@b.test>', 'a@[1.2.3.4]', 'a@b.test <c@d.test>']) {
      expect(simpleAddressList(other), other).toBeUndefined();
    }
  });

  it('the common shapes read as the general way reads them: every address field of the corpus, and random ones', () => {
    const fields = new Set(['from', 'to', 'cc', 'bcc', 'sender', 'reply-to']);
    let simple = 0;
    const differ: string[] = [];
    const check = (v: string) => {
      const fast = simpleAddressList(v);
      if (fast === undefined) return;
      simple++;
      if (JSON.stringify(fast) !== JSON.stringify(parseAddressListTokens(v))) differ.push(v);
    };
    for (const rel of corpusList()) {
      const raw = loadCorpusMessage(rel);
      const end = raw.indexOf('\n\n');
      for (const f of parseHeaderFields(raw.subarray(0, end < 0 ? raw.length : end + 1), fields)) check(f.value);
    }
    expect(simple).toBeGreaterThan(10000); // most of the corpus takes the fast way
    const pool = ['a', 'Z', '0', '.', '@', ' ', '\t', ',', '<', '>', '"', '\\', '(', ')', ';', ':', '[', ']', '-', '\xe9', "'", '=', '?', '_'];
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
    for (let i = 0; i < 200000; i++) check(Array.from({ length: 1 + rand(16) }, () => pool[rand(pool.length)]).join(''));
    for (let i = 0; i < 20000; i++) {
      const word = () => Array.from({ length: 1 + rand(4) }, () => 'aZ0-.'[rand(5)]).join('');
      const spec = `${word()}@${word()}`;
      const name = rand(3) === 0 ? `"${word()} ${word()}"` : rand(2) === 0 ? `${word()}${' \t'[rand(2)]}${word()}` : '';
      check(rand(2) === 0 ? spec : `${name}${' '.repeat(rand(2))}<${spec}>${' '.repeat(rand(2))}`);
    }
    expect(differ.slice(0, 10)).toEqual([]);
  });
});

describe('envelope', () => {
  it('sender and reply-to default to from; absent fields are null; first occurrence wins', () => {
    const env = buildEnvelope(parseHeaderFields(Buffer.from('From: a@b.test\nSubject: one\nSubject: two\nMessage-ID: <m@x>\n')));
    expect(env.sender).toEqual(env.from);
    expect(env.replyTo).toEqual(env.from);
    expect([env.subject, env.messageId, env.to, env.date, env.inReplyTo]).toEqual(['one', '<m@x>', null, null, null]);
  });
});

describe('Content-Type parameters', () => {
  it('type, subtype and params as written, comments skipped', () => {
    expect(parseContentType('Text/HTML (c); Charset = "UTF-8" ; name="a \\"q\\".html"')).toEqual({
      type: 'Text', subtype: 'HTML', params: [['Charset', 'UTF-8'], ['name', 'a "q".html']],
    });
    // spam-2/00204 in the corpus has "Content-Type: text/plain charset=us-ascii"
    expect(parseContentType('text/plain charset=us-ascii; format=flowed')).toEqual({ type: 'text', subtype: 'plain', params: [['format', 'flowed']] });
    expect(parseContentType('text / plain')).toEqual({ type: 'text', subtype: 'plain', params: [] });
    expect(parseContentType('text')).toBeNull();
    expect(parseContentType('/plain')).toBeNull();
    expect(parseContentType('')).toBeNull();
  });

  it('RFC 2231 continuations are merged (Dovecot style), extended values keep their charset', () => {
    expect(parseStructuredValue('attachment; filename*0="long"; filename*1="name.txt"').params).toEqual([['filename', 'longname.txt']]);
    const ext = parseStructuredValue("attachment; filename*0*=utf-8''%E2%82%AC; filename*1=\" rate.txt\"").params;
    expect(ext).toEqual([['filename*', "utf-8''%E2%82%AC%20rate.txt"]]);
    expect(decodeParamValue(...ext[0]!)).toBe('€ rate.txt');
    // RFC 2231 section 4 example
    const title = parseStructuredValue("message/external-body; access-type=URL; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A").params;
    expect(title).toEqual([['access-type', 'URL'], ['title*', "us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A"]]);
    expect(findParam(title, 'title')).toBe('This is ***fun***');
    // out-of-order segments are sorted
    expect(parseStructuredValue('x; n*1=b; n*0=a').params).toEqual([['n', 'ab']]);
  });

  it('tolerates garbage', () => {
    expect(parseStructuredValue('multipart/mixed; boundary="unterminated').params).toEqual([['boundary', 'unterminated']]);
    expect(parseStructuredValue('a/b; ; novalue; =x; k=v').params).toEqual([['k', 'v']]);
    expect(decodeParamValue('f*', "bogus-charset''%41%zz")).toBe('A%zz');
  });
});

describe('decodeHeaderValue', () => {
  it('RFC 2047 words in several charsets, adjacent words joined (RFC 2047 6.2)', () => {
    expect(decodeHeaderValue('=?ISO-8859-1?Q?Andr=E9?= Pirard')).toBe('André Pirard');
    expect(decodeHeaderValue('=?utf-8?B?w6k=?= =?utf-8?B?w6k=?=')).toBe('éé');
    expect(decodeHeaderValue('=?windows-1251?B?z/Do4uXy?=')).toBe('Привет');
    expect(decodeHeaderValue('plain text')).toBe('plain text');
  });

  it('8-bit raw bytes: UTF-8 if valid, otherwise windows-1252', () => {
    expect(decodeHeaderValue(Buffer.from('Grüße', 'utf8').toString('latin1'))).toBe('Grüße');
    expect(decodeHeaderValue('caf\xe9 \x93q\x94')).toBe('café “q”');
  });
});

describe('parseHeaderFields', () => {
  const parse = (text: string, wanted?: ReadonlySet<string>) => parseHeaderFields(Buffer.from(text, 'latin1'), wanted);

  it('lower-cases names, unfolds values (RFC 5322 2.2.3: the WSP stays), trims both ends', () => {
    expect(parse('Subject:  Hello\r\n\tthere \r\nX-Empty:\r\nTo : a@b\n')).toEqual([
      { name: 'subject', value: 'Hello\tthere' },
      { name: 'x-empty', value: '' },
      { name: 'to', value: 'a@b' },
    ]);
  });

  it('skips lines that are no field: no colon, a name with white space, an mbox From line', () => {
    expect(parse('From someone Mon Sep 2\nbad line\nNa me: x\n: nameless\nOk: y\n')).toEqual([{ name: 'ok', value: 'y' }]);
  });

  it('a fold may carry the colon, and blank lines inside a fold do not end it', () => {
    expect(parse('Name\n : value\nSubject: a\n\n b\n')).toEqual([
      { name: 'name', value: 'value' },
      { name: 'subject', value: 'a b' },
    ]);
  });

  it('with a wanted set, only those fields come back, in order', () => {
    const text = 'Received: from x\n\tby y\nFrom: a@b\nX-Mailer: m\nSubject: s\nfrom: second@b\n';
    expect(parse(text, STRUCTURE_FIELDS)).toEqual([
      { name: 'from', value: 'a@b' },
      { name: 'subject', value: 's' },
      { name: 'from', value: 'second@b' },
    ]);
    expect(parse(text).map((f) => f.name)).toEqual(['received', 'from', 'x-mailer', 'subject', 'from']);
  });

  it('a wanted name matches in any ASCII case, with space before the colon, and nothing longer, shorter or 8-bit does', () => {
    const text = 'CONTENT-TYPE: a\nContent-Type : b\nContent-Types: c\nContent-Typ: d\nCont\xc9nt-Type: e\nTO: f\nT\x80: g\n';
    expect(parse(text, STRUCTURE_FIELDS)).toEqual([
      { name: 'content-type', value: 'a' },
      { name: 'content-type', value: 'b' },
      { name: 'to', value: 'f' },
    ]);
  });
});
