// Tricky real messages from the SpamAssassin corpus, checked against values
// read off the bytes by hand. How they were verified: the file was copied
// without its mbox "From " line (`tail -n +2 FILE > /tmp/m`) and the offsets
// of blank lines and boundary lines listed with `grep -b -n -e '^$' -e '^--'
// /tmp/m`; 8-bit bytes were looked at with `grep -a '^Subject' FILE | od -c`.
// A part's bodyStart is the offset after its blank line, its bodyEnd the
// offset of the LF that precedes the next boundary line (RFC 2046 5.1.1).
import { describe, expect, it } from 'vitest';
import { MimeParser } from '../maildir/mime/parser.js';
import { decodedHeader } from '../maildir/mime/search-headers.js';
import type { MessageIndex } from '../maildir/mime/types.js';
import { loadCorpusMessage } from './fixtures/mime/corpus.js';

function parse(rel: string): MessageIndex {
  const p = new MimeParser();
  p.write(loadCorpusMessage(rel));
  return p.end();
}

describe('tricky corpus messages', () => {
  it('multipart/report with a message/rfc822 holding a multipart/signed (easy-ham-1/01542)', () => {
    // grep -b: blank line of the top header at 2554; boundary lines at 2592, 2858,
    // 3086 and the close delimiter at 8367; inner blank line at 3213; inner
    // multipart/signed header blank line at 5994, its boundaries at 6041, 6659, 8320(--).
    const idx = parse('easy-ham-1/01542.ed72bf2cd81ccd4c076533fb0af004e5.txt');
    const root = idx.body;
    expect([root.type, root.subtype, root.bodyStart, root.bodyEnd]).toEqual(['multipart', 'report', 2555, 8409]);
    expect(root.parts!.map((p) => [p.type, p.subtype, p.headerStart, p.bodyStart, p.bodyEnd])).toEqual([
      ['text', 'plain', 2630, 2736, 2857],
      ['message', 'delivery-status', 2896, 2995, 3085],
      ['message', 'rfc822', 3124, 3214, 8366],
    ]);
    // part 1: lines 53..58 of the file, 121 bytes with 6 LFs, no CR in the file
    expect([root.parts![0]!.size, root.parts![0]!.lines]).toEqual([127, 6]);
    const rfc822 = root.parts![2]!;
    expect(rfc822.message!.envelope.subject).toBe('Re: [SAtalk] spamd error messages');
    expect(rfc822.message!.envelope.date).toBe('Tue, 8 Oct 2002 11:26:32 -0400');
    const signed = rfc822.message!.body;
    expect([signed.type, signed.subtype, signed.headerStart, signed.bodyStart, signed.bodyEnd]).toEqual(['multipart', 'signed', 3214, 5995, 8366]);
    expect(signed.parts!.map((p) => [p.subtype, p.headerStart, p.bodyStart, p.bodyEnd, p.encoding])).toEqual([
      ['plain', 6085, 6166, 6658, '7bit'],
      ['x-pkcs7-signature', 6703, 6856, 8319, 'base64'],
    ]);
    expect(idx.envelope.subject).toBe('Failed mail: Banned or potentially offensive material');
  });

  it('multipart whose boundary lines do not match its parameter degrades to text/plain (spam-2/01214)', () => {
    // Content-Type says boundary="=Multipart Boundary 0731021742" but the lines are
    // "--= Multipart Boundary 0731021742" (grep -n '^--' shows lines 42, 121, 471).
    const idx = parse('spam-2/01214.973b4598b630a989967ff69b19f95d4a.txt');
    expect([idx.body.type, idx.body.subtype, idx.body.parts]).toEqual(['text', 'plain', undefined]);
    expect(idx.body.bodyEnd).toBe(idx.rawSize);
    expect(idx.body.headerSize + idx.body.size).toBe(idx.size);
  });

  it('multipart without a close delimiter: the last part runs to the end (spam-1/00078)', () => {
    // one boundary line, then a base64 text/html part; the file ends "k=\n\n" (od -c)
    const idx = parse('spam-1/00078.6944f51ce9c0586d8f9137d2d2207df0.txt');
    expect(idx.body.parts!.length).toBe(1);
    const part = idx.body.parts![0]!;
    expect([part.type, part.subtype, part.encoding, part.bodyEnd]).toEqual(['text', 'html', 'base64', idx.rawSize]);
    expect(idx.rawSize).toBe(2269);
  });

  it('8-bit latin1 Subject: raw bytes in the envelope, windows-1252 text for SEARCH (easy-ham-1/02026)', () => {
    // od -c: "Gambler wins \243 7,000" -- 0xA3 is not valid UTF-8
    const idx = parse('easy-ham-1/02026.e6e094c6110cbff0c3a55e0fc5c9273a.txt');
    expect(Buffer.from(idx.envelope.subject!, 'latin1').includes(Buffer.from([0x20, 0xa3, 0x37]))).toBe(true);
    expect(decodedHeader(idx.headers, 'subject')).toBe('Gambler wins \u00a37,000 - and spends it all on horse shiat');
  });

  it('encoded word inside a display name (easy-ham-1/00011)', () => {
    // From: David H=?ISO-8859-1?B?9g==?=hn <dh@uptime.at>   (9g== is the byte 0xF6, ö)
    const idx = parse('easy-ham-1/00011.fbcde1b4833bdbaaf0ced723edd6e355.txt');
    expect(idx.envelope.from).toEqual([{ name: 'David H=?ISO-8859-1?B?9g==?=hn', adl: null, mailbox: 'dh', host: 'uptime.at' }]);
    expect(decodedHeader(idx.headers, 'from')).toBe('David H\u00f6hn <dh@uptime.at>');
  });

  it('group syntax and empty addresses (easy-ham-1/00004, spam-1/00089)', () => {
    // "To: undisclosed-recipient: ;" and 'To: "" <>'
    expect(parse('easy-ham-1/00004.864220c5b6930b209cc287c361c99af1.txt').envelope.to).toEqual([
      { name: null, adl: null, mailbox: 'undisclosed-recipient', host: null },
      { name: null, adl: null, mailbox: null, host: null },
    ]);
    expect(parse('spam-1/00089.7e7baae6ef4a8fb945d7b3fe551329fe.txt').envelope.to).toEqual([
      { name: null, adl: null, mailbox: 'MISSING_MAILBOX', host: 'MISSING_DOMAIN' },
    ]);
  });
});
