// Hand-written messages for the MIME parser: structure, byte offsets, CRLF
// sizes, malformed input, depth and header bounds, streaming. Every message is
// parsed both whole and one byte at a time, and the two results must match.
import { describe, expect, it } from 'vitest';
import { MimeParser, parseMessage, type MimeParseOptions } from '../maildir/mime/parser.js';
import { decodedHeader, parseMailDate } from '../maildir/mime/search-headers.js';
import type { BodyPart, MessageIndex } from '../maildir/mime/types.js';

function parse(src: string | Buffer, o?: MimeParseOptions): MessageIndex {
  const raw = typeof src === 'string' ? Buffer.from(src, 'latin1') : src;
  const whole = new MimeParser(o);
  whole.write(raw);
  const result = whole.end();
  const bytewise = new MimeParser(o);
  for (let i = 0; i < raw.length; i++) bytewise.write(raw.subarray(i, i + 1));
  expect(bytewise.end()).toEqual(result);
  return result;
}

const at = (p: BodyPart) => [p.headerStart, p.bodyStart, p.bodyEnd];
const sized = (p: BodyPart) => [p.headerSize, p.size, p.lines];

describe('MimeParser: structure and sizes', () => {
  it('single part with bare LF: sizes are for the CRLF form', () => {
    const idx = parse('Subject: hi\n\nline one\nline two\n');
    expect(at(idx.body)).toEqual([0, 13, 31]);
    expect(sized(idx.body)).toEqual([15, 20, 2]); // "Subject: hi\r\n\r\n", 2 x (8 + CRLF)
    expect([idx.rawSize, idx.size]).toEqual([31, 35]);
    expect([idx.body.type, idx.body.subtype, idx.body.params, idx.body.encoding]).toEqual(['text', 'plain', [['charset', 'us-ascii']], '7BIT']);
  });

  it('the same message with CRLF gives the same CRLF sizes', () => {
    const idx = parse('Subject: hi\r\n\r\nline one\r\nline two\r\n');
    expect(sized(idx.body)).toEqual([15, 20, 2]);
    expect(idx.size).toBe(idx.rawSize);
  });

  it('a last line without LF still counts as a line', () => {
    expect(sized(parse('Subject: x\n\nabc').body)).toEqual([14, 3, 1]);
  });

  it('multipart: the line break before a boundary belongs to the boundary (RFC 2046 5.1.1)', () => {
    const msg = 'Content-Type: multipart/mixed; boundary=xy\n\npreamble\n--xy\n\nfirst\n--xy\nContent-Type: text/html\n\n<b>\n\n--xy--\nepilogue\n';
    //          0                                          43 44       53   58 59   65   70                          95   99 100
    const idx = parse(msg);
    const [a, b] = idx.body.parts!;
    expect(at(idx.body)).toEqual([0, 44, msg.length]);
    expect(at(a!)).toEqual([58, 59, 64]); // empty header, body "first"
    expect(sized(a!)).toEqual([2, 5, 1]);
    expect(at(b!)).toEqual([70, 95, 99]); // body "<b>\n": the blank line's LF stays in the body
    expect(sized(b!)).toEqual([27, 5, 1]);
    expect([b!.type, b!.subtype, b!.params]).toEqual(['text', 'html', null]);
  });

  it('nested multipart closed by the outer boundary, and the innermost boundary wins', () => {
    const msg = [
      'Content-Type: multipart/mixed; boundary="a"', '', '--a',
      'Content-Type: multipart/alternative; boundary="ab"', '', '--ab', '', 'one', '--ab', '', 'two',
      '--a', '', 'three', '--a--', '',
    ].join('\n');
    const idx = parse(msg);
    const [alt, three] = idx.body.parts!;
    expect(alt!.subtype).toBe('alternative');
    expect(alt!.parts!.map((p) => msg.slice(p.bodyStart, p.bodyEnd))).toEqual(['one', 'two']);
    expect(msg.slice(three!.bodyStart, three!.bodyEnd)).toBe('three');
    expect(msg.slice(alt!.bodyStart, alt!.bodyEnd)).toBe('--ab\n\none\n--ab\n\ntwo');
  });

  it('a boundary inside a MIME header ends that header (Dovecot test_message_parser_truncated_mime_headers)', () => {
    // Same message and expected offsets as Dovecot's lib-mail/test-message-parser.c.
    const msg = 'Content-Type: multipart/mixed; boundary=":foo"\n\n--:foo\n--:foo\nContent-Type: text/plain\n--:foo\n'
      + 'Content-Type: text/plain\r\n--:foo\nContent-Type: text/html\n--:foo--\n';
    const idx = parse(msg);
    expect([idx.body.headerSize, idx.body.size, idx.body.lines]).toEqual([50, 119, 8]);
    expect(idx.body.parts!.map((p) => [p.headerStart, p.headerSize, p.size, p.bodyStart === p.bodyEnd])).toEqual([
      [55, 0, 0, true], [62, 24, 0, true], [94, 24, 0, true], [127, 23, 0, true],
    ]);
    expect(idx.body.parts!.map((p) => p.subtype)).toEqual(['plain', 'plain', 'plain', 'html']);
  });

  it('same boundary reused by a nested multipart (Dovecot test_message_parser_duplicate_mime_boundary)', () => {
    const msg = 'Content-Type: multipart/mixed; boundary="a"\n\n--a\nContent-Type: multipart/mixed; boundary="a"\n\n--a\nContent-Type: text/plain\n\nbody\n';
    const idx = parse(msg);
    expect([idx.body.bodyEnd - idx.body.bodyStart, idx.body.lines]).toEqual([84, 7]);
    const inner = idx.body.parts![0]!;
    expect([inner.headerStart, inner.bodyEnd - inner.bodyStart, inner.lines]).toEqual([49, 35, 4]);
    const text = inner.parts![0]!;
    expect([text.headerStart, text.headerSize, text.bodyEnd - text.bodyStart, text.size, text.lines]).toEqual([98, 28, 5, 6, 1]);
  });

  it('message/rfc822: the encapsulated message has its own envelope and body', () => {
    const inner = 'From: Inner <in@x.test>\nSubject: inside\nContent-Type: multipart/alternative; boundary=q\n\n--q\n\nplain\n--q--\n';
    const msg = `Subject: outer\nContent-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: message/rfc822\n\n${inner}\n--o--\n`;
    const idx = parse(msg);
    const part = idx.body.parts![0]!;
    expect([part.type, part.subtype]).toEqual(['message', 'rfc822']);
    expect(msg.slice(part.bodyStart, part.bodyEnd)).toBe(inner);
    expect(part.lines).toBe(8);
    const m = part.message!;
    expect(m.envelope.subject).toBe('inside');
    expect(m.envelope.from).toEqual([{ name: 'Inner', adl: null, mailbox: 'in', host: 'x.test' }]);
    expect([m.body.headerStart, m.body.bodyEnd]).toEqual([part.bodyStart, part.bodyEnd]);
    expect(msg.slice(m.body.parts![0]!.bodyStart, m.body.parts![0]!.bodyEnd)).toBe('plain');
    expect(idx.envelope.subject).toBe('outer');
  });

  it('multipart/digest: parts default to message/rfc822, their own parts to text/plain (RFC 2046 5.1.5)', () => {
    const msg = 'Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nbody one\n--d\nContent-Type: text/plain\n\nnot a message\n--d--\n';
    const idx = parse(msg);
    const [first, second] = idx.body.parts!;
    expect([first!.type, first!.subtype, first!.params]).toEqual(['message', 'rfc822', null]);
    expect(first!.message!.envelope.subject).toBe('one');
    expect([first!.message!.body.type, first!.message!.body.subtype]).toEqual(['text', 'plain']);
    expect([second!.type, second!.subtype]).toEqual(['text', 'plain']);
  });

  it('reads BODYSTRUCTURE extension fields', () => {
    const msg = 'Content-Type: text/plain; charset="utf-8" (comment); format=flowed\nContent-Transfer-Encoding: Quoted-Printable\n'
      + 'Content-ID: <id@x>\nContent-Description: a note\nContent-MD5: Q2hlY2s=\nContent-Disposition: attachment; filename="a b.txt"\n'
      + 'Content-Language: en, de (German)\nContent-Location: http://ex.test/a\n b\n\nx';
    const b = parse(msg).body;
    expect(b.params).toEqual([['charset', 'utf-8'], ['format', 'flowed']]);
    expect([b.encoding, b.id, b.description, b.md5]).toEqual(['Quoted-Printable', '<id@x>', 'a note', 'Q2hlY2s=']);
    expect(b.disposition).toEqual({ type: 'attachment', params: [['filename', 'a b.txt']] });
    expect(b.language).toEqual(['en', 'de']);
    expect(b.location).toBe('http://ex.test/ab');
  });
});

describe('MimeParser: malformed input never throws', () => {
  it('empty file', () => {
    const idx = parse('');
    expect([idx.rawSize, idx.size, ...at(idx.body), ...sized(idx.body)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(idx.envelope.from).toBeNull();
    expect(idx.headers).toMatchObject({ subject: '', from: '' });
  });

  it('header without body, with and without the blank line', () => {
    expect([...at(parse('Subject: x\n').body), ...sized(parse('Subject: x\n').body)]).toEqual([0, 11, 11, 12, 0, 0]);
    expect([...at(parse('Subject: x\n\n').body), ...sized(parse('Subject: x\n\n').body)]).toEqual([0, 12, 12, 14, 0, 0]);
  });

  it('file without any blank line and without a final LF is all header', () => {
    const idx = parse('Subject: x\nFrom: a@b.test');
    expect(at(idx.body)).toEqual([0, 25, 25]);
    expect(idx.envelope.from).toEqual([{ name: null, adl: null, mailbox: 'a', host: 'b.test' }]);
  });

  it('multipart without boundary parameter degrades to text/plain', () => {
    const b = parse('Content-Type: multipart/mixed\n\n--x\nhello\n').body;
    expect([b.type, b.subtype, b.params, b.parts, b.size, b.lines]).toEqual(['text', 'plain', [['charset', 'us-ascii']], undefined, 12, 2]);
  });

  it('multipart whose boundary never appears degrades to text/plain (Dovecot test_message_parser_empty_multipart)', () => {
    const b = parse('Content-Type: multipart/mixed; boundary="ab"\n\nbody\n').body;
    expect([b.type, b.subtype, b.parts, b.size, b.lines, b.bodyStart]).toEqual(['text', 'plain', undefined, 6, 1, 46]);
  });

  it('missing close delimiter: the last part runs to the end of the file', () => {
    const msg = 'Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n';
    const idx = parse(msg);
    expect(idx.body.parts!.map((p) => msg.slice(p.bodyStart, p.bodyEnd))).toEqual(['one', 'two\n']);
  });

  it('unparseable Content-Type falls back to text/plain; a close delimiter at EOF without LF is honoured', () => {
    const idx = parse('Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: garbage\n\nx\n--b--');
    expect(idx.body.parts!.map((p) => [p.type, p.subtype, p.bodyEnd])).toEqual([['text', 'plain', 71]]);
  });

  it('8-bit header bytes: UTF-8 when valid, else windows-1252; envelope keeps the raw bytes', () => {
    const utf8 = Buffer.concat([Buffer.from('Subject: Gr'), Buffer.from('üße', 'utf8'), Buffer.from('\nFrom: Jörg <j@x.test>\n\n'.replace('ö', '\xf6'), 'latin1')]);
    const idx = parse(utf8);
    expect(decodedHeader(idx.headers, 'subject')).toBe('Grüße');
    expect(Buffer.from(idx.envelope.subject!, 'latin1')).toEqual(Buffer.from('Grüße', 'utf8'));
    expect(decodedHeader(idx.headers, 'from')).toBe('Jörg <j@x.test>');
    expect(decodedHeader(parse(Buffer.from('Subject: \x80 5\n\n', 'latin1')).headers, 'subject')).toBe('€ 5');
  });

  it('decodes encoded words, keeps broken ones', () => {
    const idx = parse('Subject: =?iso-8859-1?q?caf=E9?= =?utf-8?b?w6k=?= and =?utf-8?q?broken\n\n');
    expect(idx.headers.subject).toBe(idx.envelope.subject); // kept raw: decoded when a search asks
    expect(decodedHeader(idx.headers, 'subject')).toBe('caféé and =?utf-8?q?broken');
    expect(idx.envelope.subject).toBe('=?iso-8859-1?q?caf=E9?= =?utf-8?b?w6k=?= and =?utf-8?q?broken');
  });

  it('unfolds header values and parses the Date', () => {
    const idx = parse('Subject: a\n  folded\n\tvalue\nDate: Tue, 8 Oct 2002 11:26:32 -0400 (EDT)\n\n');
    expect(idx.envelope.subject).toBe('a  folded\tvalue');
    expect(parseMailDate(idx.envelope.date)).toBe(Date.UTC(2002, 9, 8, 15, 26, 32));
    expect(parseMailDate(parse('Date: yesterday\n\n').envelope.date)).toBeNull();
  });

  it('keeps every From/To/Cc/Bcc for search, each decoded on its own', () => {
    const idx = parse('From: =?utf-8?q?A=C3=A9?= <a@x.test>\nTo: b@x.test\nFrom: c@x.test\nCc: =?utf-8?q?D?=\n =?utf-8?q?e?=\n\n');
    expect(idx.headers.from).toBe('=?utf-8?q?A=C3=A9?= <a@x.test>\nc@x.test');
    expect(decodedHeader(idx.headers, 'from')).toBe('Aé <a@x.test>, c@x.test');
    expect(decodedHeader(idx.headers, 'to')).toBe('b@x.test');
    expect(decodedHeader(idx.headers, 'cc')).toBe('De'); // adjacent encoded words join (RFC 2047 6.2)
    expect(decodedHeader(idx.headers, 'bcc')).toBe('');
  });

  it('absurd nesting: parts deeper than maxDepth become opaque application/octet-stream', () => {
    let msg = '';
    for (let i = 0; i < 5; i++) msg += `Content-Type: multipart/mixed; boundary=b${i}\n\n--b${i}\n`;
    msg += 'Content-Type: message/rfc822\n\nSubject: deep\n\nx\n';
    const idx = parse(msg, { maxDepth: 2 });
    const opaque = idx.body.parts![0]!.parts![0]!;
    expect([opaque.type, opaque.subtype, opaque.parts, opaque.bodyEnd]).toEqual(['application', 'octet-stream', undefined, msg.length]);
    // with room for all levels the message/rfc822 at depth 5 is parsed
    let p = parse(msg, { maxDepth: 6 }).body;
    for (let i = 0; i < 5; i++) p = p.parts![0]!;
    expect(p.message!.envelope.subject).toBe('deep');
  });

  it('a thousand nested multiparts stay bounded by the default maxDepth of 32', () => {
    let msg = '';
    for (let i = 0; i < 1000; i++) msg += `Content-Type: multipart/mixed; boundary=n${i}\n\n--n${i}\n`;
    const p = new MimeParser();
    p.write(Buffer.from(msg));
    let part = p.end().body;
    let depth = 0;
    while (part.parts) { part = part.parts[0]!; depth++; }
    expect(depth).toBe(32);
    expect([part.type, part.subtype]).toEqual(['application', 'octet-stream']);
  });

  it('maxHeaderBytes: the rest of a long header is ignored, offsets stay exact', () => {
    const msg = `X-Junk: ${'j'.repeat(300)}\nSubject: late\n\nbody\n`;
    const idx = parse(msg, { maxHeaderBytes: 100 });
    expect(idx.envelope.subject).toBeNull();
    expect(at(idx.body)).toEqual([0, msg.length - 5, msg.length]);
    expect(parse(msg).envelope.subject).toBe('late');
  });
});

describe('MimeParser: streaming', () => {
  it('parseMessage accepts an async iterable and a Buffer', async () => {
    const msg = Buffer.from('Content-Type: multipart/mixed; boundary=zz\n\n--zz\n\nA\n--zz--\n');
    async function* chunks() { for (let i = 0; i < msg.length; i += 7) yield msg.subarray(i, i + 7); }
    expect(await parseMessage(chunks())).toEqual(await parseMessage(msg));
  });

  it('a 50 MB body is not buffered', () => {
    const p = new MimeParser();
    p.write(Buffer.from('Content-Type: multipart/mixed; boundary=big\n\n--big\nContent-Type: application/octet-stream\n\n'));
    const chunk = Buffer.alloc(64 * 1024, 'A');
    for (let i = 0; i < 64; i += 1) chunk[i * 1000] = 0x0a; // some lines, some very long
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 800; i++) p.write(chunk);
    const grown = process.memoryUsage().arrayBuffers - before;
    p.write(Buffer.from('\n--big--\n'));
    const idx = p.end();
    const part = idx.body.parts![0]!;
    expect(part.bodyEnd - part.bodyStart).toBe(800 * chunk.length);
    expect(part.lines).toBe(800 * 64 + 1);
    expect(grown).toBeLessThan(16 * 1024 * 1024);
  });
});
