/**
 * Five small messages that between them exercise every SEARCH key: encoded
 * words, QP ISO-8859-1 and base64 KOI8-R bodies, binary parts, a forwarded
 * message/rfc822, a missing Date:, and a long base64 UTF-8 body.
 */
import iconv from 'iconv-lite';
import { lines, type MessageSpec } from './search-fixtures.js';

function b64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/.{1,76}/g, '$&\n').trimEnd();
}

function encodedWord(charset: string, text: string): string {
  return `=?${charset}?B?${iconv.encode(text, charset).toString('base64')}?=`;
}

export const msg1 = lines(
  'Return-Path: <alice@example.org>',
  'Received: from mx1.example.org by mail.example.com',
  'Received: from relay.example.net by mx2.example.org',
  'From: "Alice Example" <alice@example.org>',
  'To: bob@example.com',
  'Subject: Quarterly report',
  'Date: Tue, 1 Jul 2003 23:30:00 -0700',
  'Message-ID: <q3-report@example.org>',
  'X-Mailer: Mutt 1.4',
  'X-Empty:',
  'X-Folded: first part',
  '  second part',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=us-ascii',
  '',
  'The numbers are in.',
  'Revenue grew nicely this quarter.',
  '',
);

export const msg2 = lines(
  `From: ${encodedWord('UTF-8', 'Jürgen Müller')} <juergen@example.de>`,
  'To: alice@example.org',
  'Cc: team@example.de',
  'Subject: =?ISO-8859-1?Q?Caf=E9_cr=E8me?= tomorrow',
  'Date: Wed, 2 Jul 2003 09:15:00 +0200',
  'Message-ID: <cafe@example.de>',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=ISO-8859-1',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Voil=E0, le caf=E9 cr=E8me est pr=EAt. Gr=FC=DFe aus M=FCnchen, soft=',
  ' break joined.',
  '',
);

export const msg3 = lines(
  'From: Ivan <ivan@example.ru>',
  'To: bob@example.com',
  `Subject: ${encodedWord('KOI8-R', 'Привет')}`,
  'Date: Thu, 3 Jul 2003 10:00:00 +0400',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b1"',
  '',
  'preamble mentions preamblephrase',
  '--b1',
  'Content-Type: text/plain; charset=KOI8-R',
  'Content-Transfer-Encoding: base64',
  'Content-Description: Russian greeting',
  '',
  b64(iconv.encode('Привет, мир! Это проверка поиска.', 'koi8-r')),
  '--b1',
  'Content-Type: image/png',
  'Content-Transfer-Encoding: base64',
  '',
  b64(Buffer.from('PNG secret pixels')),
  '--b1',
  'Content-Type: application/octet-stream',
  '',
  'hidden treasure',
  '--b1--',
  'epilogue text epiloguephrase',
  '',
);

export const msg4 = lines(
  'From: bob@example.com',
  'To: alice@example.org',
  'Subject: Fwd: inner',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="outer"',
  '',
  '--outer',
  'Content-Type: text/plain',
  '',
  'See the forwarded message.',
  '--outer',
  'Content-Type: message/rfc822',
  '',
  'From: carol@example.net',
  'Subject: Inner subject line',
  'Date: Mon, 30 Jun 2003 08:00:00 +0000',
  '',
  'The nested needle is here.',
  '--outer--',
  '',
);

/** ~12 KB of base64 UTF-8 text; the zebra phrase sits in the middle, a snowman inside it. */
export const msg5Text = 'lorem ipsum dolor '.repeat(300) + 'Zebra crossing ☃ snowman ' + 'sit amet '.repeat(300) + 'final-marker';
export const msg5 = lines(
  'From: Dana <dana@example.nz>',
  'To: alice@example.org',
  'Subject: long one',
  'Date: Sat, 4 Jan 2020 01:00:00 +1300',
  'MIME-Version: 1.0',
  'Content-Type: text/html; charset=utf-8',
  'Content-Transfer-Encoding: base64',
  '',
  b64(Buffer.from(msg5Text, 'utf8')),
  '',
);

export const specs: MessageSpec[] = [
  { uid: 1, raw: msg1, flags: ['\\Seen', '$Important'], internalDate: new Date('2003-07-02T12:00:00Z') },
  { uid: 2, raw: msg2, flags: ['\\Flagged', '\\Answered', 'Work'], recent: true, internalDate: new Date('2003-07-02T23:30:00Z') },
  { uid: 3, raw: msg3, flags: ['\\Deleted'], internalDate: new Date('2003-07-03T00:30:00Z') },
  { uid: 4, raw: msg4, flags: ['\\Draft', 'work'], recent: true, internalDate: new Date('2003-06-30T10:00:00Z') },
  { uid: 5, raw: Buffer.from(msg5, 'utf8'), internalDate: new Date('2020-01-01T00:00:00Z') },
];
