// Fixtures are written by hand in each server's own format:
// - dovecot-uidlist: dovecot/core src/lib-storage/index/maildir/maildir-uidlist.c
//   (header `3 V<uidvalidity> N<nextuid> G<guid>`, records `<uid> [<key><value>...] :<filename>`;
//   version 1: `1 <uidvalidity> <nextuid>` and `<uid> <filename>`), and the example header
//   in Dovecot's Maildir documentation.
// - courierimapuiddb: courier-libs imap/imapscanclient.c do_imapscan_maildir2, which writes
//   `fprintf("%d %lu %lu\n", IMAPDBVERSION=1, uidv, nextuid)` then `"%lu %s\n", uid, filename`
//   with the filename cut at its last ':'.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importForeignUidlist } from '../maildir/migrate.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mailroom-migrate-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const dovecotV3 = [
  '3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1',
  '25006 :1276528487.M364837P9451.kurkku,S=1530,W=1567',
  '25017 W2481 :1276533073.M242911P3632.kurkku,S=2297:2,',
  '25018 W1045 G9d1c7a36f9ef8d4b3ac500005fb8e0a9 :1276533074.M1P3632.kurkku,S=1001:2,FS',
  '',
].join('\n');

const dovecotV1 = ['1 1100000000 7', '3 1100000001.M1P1.example.org:2,S', '5 1100000002.M2P1.example.org', ''].join('\n');

const courier = ['1 218028431 4', '1 1218028431.M440549P26330.mail.example.com', '3 1218028440.M1P1.mail.example.com,S=2048', ''].join(
  '\n',
);

describe('importForeignUidlist', () => {
  it('reads a Dovecot version 3 uidlist: extension fields, GUID, info part stripped', async () => {
    await writeFile(join(dir, 'dovecot-uidlist'), dovecotV3);
    expect(await importForeignUidlist(dir)).toEqual({
      uidValidity: 1275660208,
      uidNext: 25022,
      source: 'dovecot',
      entries: [
        { uid: 25006, base: '1276528487.M364837P9451.kurkku,S=1530,W=1567' },
        { uid: 25017, base: '1276533073.M242911P3632.kurkku,S=2297' },
        { uid: 25018, base: '1276533074.M1P3632.kurkku,S=1001' },
      ],
    });
  });

  it('reads header fields of a version 3 uidlist in any order, ignoring unknown keys', async () => {
    await writeFile(join(dir, 'dovecot-uidlist'), '3 N10 X123 V42\n2 :a.b.c\n');
    expect(await importForeignUidlist(dir)).toMatchObject({ uidValidity: 42, uidNext: 10, entries: [{ uid: 2, base: 'a.b.c' }] });
  });

  it('reads a Dovecot version 1 uidlist', async () => {
    await writeFile(join(dir, 'dovecot-uidlist'), dovecotV1);
    expect(await importForeignUidlist(dir)).toEqual({
      uidValidity: 1100000000,
      uidNext: 7,
      source: 'dovecot',
      entries: [
        { uid: 3, base: '1100000001.M1P1.example.org' },
        { uid: 5, base: '1100000002.M2P1.example.org' },
      ],
    });
  });

  it('reads a Courier courierimapuiddb', async () => {
    await writeFile(join(dir, 'courierimapuiddb'), courier);
    expect(await importForeignUidlist(dir)).toEqual({
      uidValidity: 218028431,
      uidNext: 4,
      source: 'courier',
      entries: [
        { uid: 1, base: '1218028431.M440549P26330.mail.example.com' },
        { uid: 3, base: '1218028440.M1P1.mail.example.com,S=2048' },
      ],
    });
  });

  it('prefers Dovecot when both exist, and falls back to Courier when Dovecot’s is unusable', async () => {
    await writeFile(join(dir, 'courierimapuiddb'), courier);
    await writeFile(join(dir, 'dovecot-uidlist'), dovecotV1);
    expect((await importForeignUidlist(dir))?.source).toBe('dovecot');
    await writeFile(join(dir, 'dovecot-uidlist'), 'not a uidlist\n1 a\n');
    expect((await importForeignUidlist(dir))?.source).toBe('courier');
  });

  it('skips lines that do not parse and keeps the rest', async () => {
    await writeFile(
      join(dir, 'dovecot-uidlist'),
      [
        '3 V7 N20 G3085f01b7f11094c501100008c4a11c1',
        '1 :good.one',
        'garbage line',
        '0 :uid.zero',
        '2 W12 no-colon-so-no-filename',
        '3 :has/slash',
        '4 :',
        '4294967295 :uid.too.large',
        '\u0000\u0001\u00ff binary',
        '5 :good.two:2,S\r',
        '',
        '   ',
        '6 :good.three',
      ].join('\n'),
    );
    expect((await importForeignUidlist(dir))?.entries).toEqual([
      { uid: 1, base: 'good.one' },
      { uid: 5, base: 'good.two' },
      { uid: 6, base: 'good.three' },
    ]);
  });

  it('keeps the first file for a repeated UID and the last UID for a repeated file', async () => {
    await writeFile(join(dir, 'courierimapuiddb'), ['1 99 10', '1 a.x', '1 b.x', '2 c.x', '4 c.x', ''].join('\n'));
    expect((await importForeignUidlist(dir))?.entries).toEqual([
      { uid: 1, base: 'a.x' },
      { uid: 4, base: 'c.x' },
    ]);
  });

  it('raises the next UID above the highest UID found', async () => {
    await writeFile(join(dir, 'dovecot-uidlist'), '1 55 3\n1 a.x\n9 b.x\n');
    expect(await importForeignUidlist(dir)).toMatchObject({ uidValidity: 55, uidNext: 10 });
  });

  it('returns null when there is nothing usable', async () => {
    expect(await importForeignUidlist(dir)).toBeNull();
    expect(await importForeignUidlist(join(dir, 'no-such-folder'))).toBeNull();
    for (const text of [
      '',
      '\n1 a.x\n',
      '2 1100000000 7\n1 a.x\n', // version 2: development Dovecot only, refused by Dovecot too
      '1 0 7\n1 a.x\n', // UIDVALIDITY 0 is invalid (RFC 3501 2.3.1.1)
      '1 1100000000\n1 a.x\n',
      '3 N5 G00\n1 :a.x\n', // no V
      '3 V5\n1 :a.x\n', // no N
      '1 abc 7\n',
    ]) {
      await writeFile(join(dir, 'dovecot-uidlist'), text);
      expect(await importForeignUidlist(dir), JSON.stringify(text)).toBeNull();
    }
    // Courier has only version 1; a Dovecot-style v3 header there is not Courier's.
    await rm(join(dir, 'dovecot-uidlist'));
    await writeFile(join(dir, 'courierimapuiddb'), '3 V5 N7\n1 :a.x\n');
    expect(await importForeignUidlist(dir)).toBeNull();
  });
});
