// FETCH rendering without storage: ENVELOPE / BODY / BODYSTRUCTURE strings for
// hand-built messages (sizes and line counts worked out by hand in the
// comments), the LF→CRLF window at every chunk split, HEADER.FIELDS filtering,
// section resolution, FLAGS and INTERNALDATE forms.
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../maildir/mime/parser.js';
import { renderBodyStructure } from '../protocol/imap/fetch/bodystructure.js';
import { crlfSlice, crlfWindow, FetchAbortError, toCrlf } from '../protocol/imap/fetch/crlf-source.js';
import { renderEnvelope } from '../protocol/imap/fetch/envelope.js';
import { filterHeaderFields } from '../protocol/imap/fetch/header-fields.js';
import { findPart, resolveSection, sectionName } from '../protocol/imap/fetch/sections.js';
import { formatFlags, formatInternalDate } from '../protocol/imap/fetch/attributes.js';
import { astring } from '../protocol/imap/serialize.js';

const msg = (lines: string[]): Buffer => Buffer.from(lines.join('\n'), 'utf8');

const SIMPLE = msg([
  'From: Alice <alice@example.org>',
  'To: Bob <bob@example.org>, "Carol C." <carol@example.org>',
  'Subject: say "hi" \\o/',
  'Date: Tue, 24 Nov 2026 10:00:00 +0000',
  'Message-ID: <a@example.org>',
  'In-Reply-To: <p@example.org>',
  '',
  'Hello there.',
  '',
]);

// multipart/mixed( multipart/alternative(text/plain, text/html), application/pdf, message/rfc822(text/plain) )
const NESTED = msg([
  'From: a@b.c',
  'To: undisclosed-recipients:;',
  'Cc: Team: x@y.z, "Q" <q@y.z>;, solo@y.z',
  'Subject: =?utf-8?q?caf=C3=A9?= ',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="XX"',
  '',
  'preamble',
  '--XX',
  'Content-Type: multipart/alternative; boundary=YY',
  '',
  '--YY',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'hi',
  '--YY',
  'Content-Type: text/html',
  '',
  '<b>hi</b>',
  '--YY--',
  '--XX',
  'Content-Type: application/pdf; name="r.pdf"',
  'Content-Disposition: attachment; filename="r.pdf"',
  'Content-Transfer-Encoding: base64',
  'Content-ID: <pdf1>',
  'Content-Description: the report',
  'Content-Language: en, fr',
  'Content-Location: http://x/r.pdf',
  'Content-MD5: abc==',
  '',
  'QUJD',
  '--XX',
  'Content-Type: message/rfc822',
  '',
  'From: Zoë <z@x.y>',
  'Subject: inner',
  'Content-Type: text/plain',
  '',
  'inner body',
  'line2',
  '--XX--',
  '',
]);

const ZOE = '{4}\r\nZo\xc3\xab'; // "Zoë" as its UTF-8 bytes: an 8-bit string goes out as a literal
const ZOE_ADDR = `((${ZOE} NIL "z" "x.y"))`;
// inner message: "From: Zoë <z@x.y>" 18+2, "Subject: inner" 14+2, "Content-Type: text/plain" 24+2,
// "" 2, "inner body" 10+2, "line2" 5 (its LF belongs to the boundary) = 81 bytes, 6 lines
const INNER_ENV = `(NIL "inner" ${ZOE_ADDR} ${ZOE_ADDR} ${ZOE_ADDR} NIL NIL NIL NIL NIL)`;
// inner body "inner body\r\nline2" = 17 bytes, 2 lines

describe('ENVELOPE', () => {
  it('a plain message: names, quoting of " and \\, sender/reply-to default to from', async () => {
    const idx = await parseMessage(SIMPLE);
    const alice = '(("Alice" NIL "alice" "example.org"))';
    expect(renderEnvelope(idx.envelope)).toBe(
      `("Tue, 24 Nov 2026 10:00:00 +0000" "say \\"hi\\" \\\\o/" ${alice} ${alice} ${alice} ` +
        '(("Bob" NIL "bob" "example.org")("Carol C." NIL "carol" "example.org")) NIL NIL "<p@example.org>" "<a@example.org>")',
    );
  });

  it('group syntax, an empty group, encoded words left as they are, no Date', async () => {
    const idx = await parseMessage(NESTED);
    const a = '((NIL NIL "a" "b.c"))';
    expect(renderEnvelope(idx.envelope)).toBe(
      `(NIL "=?utf-8?q?caf=C3=A9?=" ${a} ${a} ${a} ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) ` +
        '((NIL NIL "Team" NIL)(NIL NIL "x" "y.z")("Q" NIL "q" "y.z")(NIL NIL NIL NIL)(NIL NIL "solo" "y.z")) NIL NIL NIL)',
    );
  });

  it('8-bit header bytes become literals, byte for byte', async () => {
    const idx = await parseMessage(Buffer.concat([Buffer.from('Subject: caf'), Buffer.from([0xe9]), Buffer.from('\nFrom: x@y\n\nb\n')]));
    const env = renderEnvelope(idx.envelope);
    expect(Buffer.from(env, 'latin1').subarray(0, 15).toString('latin1')).toBe('(NIL {4}\r\ncaf\xe9 ');
  });

  it('a message without any header: every field NIL', async () => {
    const idx = await parseMessage(Buffer.from('\nbody only\n'));
    expect(renderEnvelope(idx.envelope)).toBe('(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)');
  });

  it('an empty Subject is "" and an empty To is NIL', async () => {
    const idx = await parseMessage(Buffer.from('Subject:\nTo:\nFrom: a@b\n\n'));
    expect(renderEnvelope(idx.envelope)).toBe(
      '(NIL "" ((NIL NIL "a" "b")) ((NIL NIL "a" "b")) ((NIL NIL "a" "b")) NIL NIL NIL NIL NIL)',
    );
  });
});

describe('BODY and BODYSTRUCTURE', () => {
  const cases: { name: string; message: Buffer; body: string; bodystructure: string }[] = [
    {
      // "Hello there.\r\n" = 14 bytes, 1 line; default type with the default charset
      name: 'a message without Content-Type',
      message: SIMPLE,
      body: '("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 14 1)',
      bodystructure: '("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 14 1 NIL NIL NIL NIL)',
    },
    {
      // case kept as written (Dovecot); text/html without charset gets us-ascii; CRLF already there counts once
      name: 'TEXT/HTML as written, CRLF input',
      message: Buffer.from('Content-Type: TEXT/HTML; Format=flowed\r\n\r\n<p>\r\nx\r\n'),
      body: '("TEXT" "HTML" ("Format" "flowed" "charset" "us-ascii") NIL NIL "7BIT" 8 2)',
      bodystructure: '("TEXT" "HTML" ("Format" "flowed" "charset" "us-ascii") NIL NIL "7BIT" 8 2 NIL NIL NIL NIL)',
    },
    {
      name: 'a non-text part without parameters has NIL, and no line count',
      message: Buffer.from('Content-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBO\n'),
      body: '("image" "png" NIL NIL NIL "base64" 6)',
      bodystructure: '("image" "png" NIL NIL NIL "base64" 6 NIL NIL NIL NIL)',
    },
    {
      // leaf sizes: "hi" 2/1, "<b>hi</b>" 9/1, "QUJD" 4; message/rfc822 81 bytes 6 lines
      name: 'mixed(alternative(plain, html), pdf, message/rfc822(plain))',
      message: NESTED,
      body:
        '((("text" "plain" ("charset" "utf-8") NIL NIL "7BIT" 2 1)("text" "html" ("charset" "us-ascii") NIL NIL "7BIT" 9 1) "alternative")' +
        '("application" "pdf" ("name" "r.pdf") "<pdf1>" "the report" "base64" 4)' +
        `("message" "rfc822" NIL NIL NIL "7BIT" 81 ${INNER_ENV} ("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 17 2) 6) "mixed")`,
      bodystructure:
        '((("text" "plain" ("charset" "utf-8") NIL NIL "7BIT" 2 1 NIL NIL NIL NIL)' +
        '("text" "html" ("charset" "us-ascii") NIL NIL "7BIT" 9 1 NIL NIL NIL NIL) "alternative" ("boundary" "YY") NIL NIL NIL)' +
        '("application" "pdf" ("name" "r.pdf") "<pdf1>" "the report" "base64" 4 "abc==" ("attachment" ("filename" "r.pdf")) ("en" "fr") "http://x/r.pdf")' +
        `("message" "rfc822" NIL NIL NIL "7BIT" 81 ${INNER_ENV} ("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 17 2 NIL NIL NIL NIL) 6 NIL NIL NIL NIL)` +
        ' "mixed" ("boundary" "XX") NIL NIL NIL)',
    },
    {
      // a multipart/digest child defaults to message/rfc822 (RFC 2046 5.1.5); inner body "x" 1/1;
      // the part: "Subject: d" 12 + "" 2 + "x" 1 = 15 bytes, 3 lines
      name: 'multipart/digest with an implicit message/rfc822 child',
      message: msg(['Content-Type: multipart/digest; boundary=D', '', '--D', '', 'Subject: d', '', 'x', '--D--', '']),
      body: '(("message" "rfc822" NIL NIL NIL "7BIT" 15 (NIL "d" NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 1 1) 3) "digest")',
      bodystructure:
        '(("message" "rfc822" NIL NIL NIL "7BIT" 15 (NIL "d" NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 1 1 NIL NIL NIL NIL) 3 NIL NIL NIL NIL) "digest" ("boundary" "D") NIL NIL NIL)',
    },
    {
      name: 'an inline disposition without parameters, a single language',
      message: Buffer.from('Content-Type: text/plain; charset="ISO-8859-1"\nContent-Disposition: inline\nContent-Language: de\n\n\n'),
      body: '("text" "plain" ("charset" "ISO-8859-1") NIL NIL "7BIT" 2 1)',
      bodystructure: '("text" "plain" ("charset" "ISO-8859-1") NIL NIL "7BIT" 2 1 NIL ("inline" NIL) ("de") NIL)',
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const idx = await parseMessage(c.message);
      expect(renderBodyStructure(idx.body, false)).toBe(c.body);
      expect(renderBodyStructure(idx.body, true)).toBe(c.bodystructure);
    });
  }

  it('8-bit parameter values become literals', async () => {
    const idx = await parseMessage(Buffer.concat([Buffer.from('Content-Type: application/x; name="'), Buffer.from([0xe9]), Buffer.from('.bin"\n\nz\n')]));
    expect(renderBodyStructure(idx.body, false)).toBe('("application" "x" ("name" {5}\r\n\xe9.bin) NIL NIL "7BIT" 3)');
  });
});

describe('sections', () => {
  it('part numbers as Dovecot resolves them', async () => {
    const idx = await parseMessage(NESTED);
    const sub = (p: number[]) => findPart(idx.body, p);
    expect(sub([1])?.subtype).toBe('alternative');
    expect(sub([1, 2])?.subtype).toBe('html');
    expect(sub([3])?.subtype).toBe('rfc822');
    expect(sub([3, 1])?.size).toBe(17); // the encapsulated message's (non-multipart) body
    expect(sub([3, 2])).toBeNull();
    expect(sub([2, 1])).toBe(sub([2])); // a leaf's only part is itself (Dovecot)
    expect(sub([2, 1, 1])).toBeNull(); // but not deeper: it is not a message/rfc822
    expect(sub([4])).toBeNull();
    expect(sub([0])).toBeNull();

    const simple = await parseMessage(SIMPLE);
    expect(findPart(simple.body, [1])).toBe(simple.body);
    expect(findPart(simple.body, [2])).toBeNull();
  });

  it('HEADER/TEXT only on a message/rfc822 part; MIME is the part header', async () => {
    const idx = await parseMessage(NESTED);
    expect(resolveSection(idx, { part: [2], spec: { kind: 'header' } })).toEqual({ kind: 'empty' });
    expect(resolveSection(idx, { part: [3], spec: { kind: 'text' } })).toMatchObject({ kind: 'range', size: 17 });
    expect(resolveSection(idx, { part: [3], spec: { kind: 'header' } })).toMatchObject({ kind: 'range', size: 81 - 17 });
    expect(resolveSection(idx, { part: [2], spec: { kind: 'mime' } })).toMatchObject({ kind: 'range', size: 266 });
    expect(resolveSection(idx, { part: [], spec: { kind: 'all' } })).toEqual({ kind: 'range', start: 0, end: idx.rawSize, size: idx.size });
  });

  it('section names as echoed in the response', () => {
    expect(sectionName({ part: [], spec: { kind: 'all' } }, astring)).toBe('');
    expect(sectionName({ part: [1, 2], spec: { kind: 'mime' } }, astring)).toBe('1.2.MIME');
    expect(sectionName({ part: [3], spec: { kind: 'header.fields', not: true, fields: ['subject', 'x y'] } }, astring)).toBe(
      '3.HEADER.FIELDS.NOT (SUBJECT "X Y")',
    );
  });
});

describe('HEADER.FIELDS', () => {
  const header = Buffer.from('Received: a\n\tb\nSubject: one\n  two\nFrom: x@y\nsubject : again\nnot a field\n\n');
  it('keeps the named fields with their folding, ends with the blank line', () => {
    expect(filterHeaderFields(header, ['SUBJECT'], false).toString()).toBe('Subject: one\r\n  two\r\nsubject : again\r\n\r\n');
    expect(filterHeaderFields(header, ['nothing'], false).toString()).toBe('\r\n');
  });
  it('.NOT keeps the others, lines without a colon included', () => {
    expect(filterHeaderFields(header, ['subject', 'received'], true).toString()).toBe('From: x@y\r\nnot a field\r\n\r\n');
  });
  it('a leading continuation line is kept only by .NOT', () => {
    const odd = Buffer.from(' lead\nA: 1\n\n');
    expect(filterHeaderFields(odd, ['a'], false).toString()).toBe('A: 1\r\n\r\n');
    expect(filterHeaderFields(odd, ['a'], true).toString()).toBe(' lead\r\n\r\n');
  });
});

describe('LF → CRLF window', () => {
  const raw = Buffer.from('a\nb\r\nc\rd\n\ne');
  const crlf = 'a\r\nb\r\nc\rd\r\n\r\ne';

  async function collect(src: AsyncIterable<Buffer>): Promise<string> {
    const out: Buffer[] = [];
    for await (const c of src) out.push(c);
    return Buffer.concat(out).toString('latin1');
  }
  async function* chunks(parts: Buffer[]): AsyncGenerator<Buffer> {
    for (const p of parts) yield p;
  }

  it('toCrlf: bare LF only, with the CR carried from the chunk before', () => {
    expect(toCrlf(raw, false).toString()).toBe(crlf);
    expect(toCrlf(Buffer.from('\nx'), true).toString()).toBe('\nx');
    expect(toCrlf(Buffer.from('\nx'), false).toString()).toBe('\r\nx');
  });

  it('every split point and every window gives the same bytes', async () => {
    for (let cut = 0; cut <= raw.length; cut++) {
      for (let skip = 0; skip <= crlf.length; skip++) {
        for (const length of [0, 1, 3, crlf.length - skip]) {
          if (skip + length > crlf.length) continue;
          const src = chunks([raw.subarray(0, cut), raw.subarray(cut)]);
          const got = await collect(crlfWindow(src, { skip, length, what: 't' }));
          expect(got, `cut ${cut} skip ${skip} length ${length}`).toBe(crlf.slice(skip, skip + length));
        }
      }
    }
  });

  it('crlfSlice gives the same bytes as the latin1 string rule, 8-bit bytes intact', () => {
    const eight = Buffer.from('Subject: caf\u00e9 \u20ac\n\nline\n\xff\n', 'utf8');
    const eightCrlf = eight.toString('latin1').replaceAll('\n', '\r\n');
    for (const [r, c] of [[raw, crlf], [eight, eightCrlf]] as const) {
      for (let skip = 0; skip <= c.length; skip++) {
        const got = crlfSlice(r, { skip, length: c.length - skip, what: 't' });
        expect(got.toString('latin1')).toBe(c.slice(skip));
        expect(got.equals(Buffer.from(c.slice(skip), 'latin1'))).toBe(true);
      }
      expect(crlfSlice(r, { skip: 1, length: 2, what: 't' }).toString('latin1')).toBe(c.slice(1, 3));
      expect(() => crlfSlice(r, { skip: 0, length: c.length + 1, what: 't' })).toThrow(FetchAbortError);
    }
    expect(crlfSlice(eight, { skip: 0, length: eightCrlf.length, what: 't' }).toString('utf8')).toBe('Subject: caf\u00e9 \u20ac\r\n\r\nline\r\n\u00ff\r\n');
  });

  it('one byte at a time', async () => {
    const bytes = [...raw].map((b) => Buffer.from([b]));
    expect(await collect(crlfWindow(chunks(bytes), { skip: 0, length: crlf.length, what: 't' }))).toBe(crlf);
  });

  it('a source shorter than announced fails with FetchAbortError; a longer one is cut', async () => {
    await expect(collect(crlfWindow(chunks([raw]), { skip: 0, length: crlf.length + 1, what: 't' }))).rejects.toBeInstanceOf(FetchAbortError);
    expect(await collect(crlfWindow(chunks([raw, raw]), { skip: 0, length: 4, what: 't' }))).toBe('a\r\nb');
  });

  it('stops reading once the window is full and releases the source', async () => {
    let pulled = 0;
    let released = false;
    async function* endless(): AsyncGenerator<Buffer> {
      for (;;) {
        pulled++;
        yield Buffer.from('0123456789\n');
      }
    }
    expect(await collect(crlfWindow(endless(), { skip: 5, length: 20, what: 't' }, () => { released = true; }))).toHaveLength(20);
    expect(pulled).toBeLessThanOrEqual(3);
    expect(released).toBe(true);
  });
});

describe('FLAGS and INTERNALDATE', () => {
  it('system flags, then \\Recent, then keywords', () => {
    expect(formatFlags({ flags: ['\\Seen', 'work', '\\Flagged'], recent: true })).toBe('(\\Seen \\Flagged \\Recent work)');
    expect(formatFlags({ flags: [], recent: false })).toBe('()');
  });
  it('dd-Mon-yyyy hh:mm:ss ±zzzz in local time', () => {
    const d = new Date(2026, 0, 5, 7, 8, 9);
    const s = formatInternalDate(d);
    expect(s).toMatch(/^"05-Jan-2026 07:08:09 [+-]\d{4}"$/);
    const off = -d.getTimezoneOffset();
    const zone = `${off < 0 ? '-' : '+'}${String(Math.floor(Math.abs(off) / 60)).padStart(2, '0')}${String(Math.abs(off) % 60).padStart(2, '0')}`;
    expect(s.slice(-6, -1)).toBe(zone);
  });
});
