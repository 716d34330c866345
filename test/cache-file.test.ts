import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { spawn } from 'node:child_process';
import { CacheFile, CACHE_FILE_NAME, type CachedMessage } from '../maildir/cache-file.js';
import { decodeHeaderTuple, decodeStructure, encodeHeaders, encodeStructure, headerValueSpan } from '../maildir/cache-codec.js';
import { crc32, crc32Fallback } from '../maildir/cache-crc.js';
import type { BodyPart, Envelope, MessageIndex } from '../maildir/mime/types.js';

let dir: string;
const opened: CacheFile[] = [];

async function openCache(d = dir, errors?: unknown[]): Promise<CacheFile> {
  const c = await CacheFile.open(d, { onError: (e) => errors?.push(e) });
  opened.push(c);
  return c;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mailroom-cache-'));
});

afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
  await rm(dir, { recursive: true, force: true });
});

const cachePath = () => join(dir, CACHE_FILE_NAME);

function envelope(n: number): Envelope {
  return {
    date: 'Tue, 14 Nov 2023 22:13:20 +0000',
    subject: `Subject ${n} =?utf-8?q?caf=C3=A9?=`,
    from: [{ name: 'Ann "A" Example', adl: null, mailbox: 'ann', host: 'example.org' }],
    sender: null,
    replyTo: [{ name: null, adl: null, mailbox: 'reply', host: 'example.org' }],
    to: [
      { name: null, adl: null, mailbox: 'team', host: null }, // group start
      { name: 'Bo', adl: '@relay.example', mailbox: 'bo', host: 'example.net' },
      { name: null, adl: null, mailbox: null, host: null }, // group end
    ],
    cc: [],
    bcc: null,
    inReplyTo: '<parent@example.org>',
    messageId: `<m${n}@example.org>`,
  };
}

function textPart(start: number, subtype = 'plain'): BodyPart {
  return {
    type: 'text',
    subtype,
    params: [['charset', 'utf-8']],
    id: null,
    description: null,
    encoding: 'QUOTED-PRINTABLE',
    md5: null,
    disposition: null,
    language: null,
    location: null,
    headerStart: start,
    bodyStart: start + 40,
    bodyEnd: start + 140,
    headerSize: 42,
    size: 104,
    lines: 4,
  };
}

/** A realistic index: multipart/mixed with an alternative, an attachment and a forwarded message. */
function messageIndex(n: number): MessageIndex {
  const forwarded: BodyPart = { ...textPart(900), subtype: 'plain' };
  const body: BodyPart = {
    type: 'multipart',
    subtype: 'mixed',
    params: [['boundary', `b${n}`]],
    id: null,
    description: null,
    encoding: '7BIT',
    md5: null,
    disposition: null,
    language: null,
    location: null,
    headerStart: 0,
    bodyStart: 300,
    bodyEnd: 2000,
    headerSize: 310,
    size: 1720,
    lines: 60,
    parts: [
      {
        ...textPart(320),
        type: 'multipart',
        subtype: 'alternative',
        params: [['boundary', 'alt']],
        encoding: '7BIT',
        parts: [textPart(340), textPart(500, 'html')],
      },
      {
        ...textPart(700),
        type: 'application',
        subtype: 'pdf',
        params: [['name', 'r\u00e9sum\u00e9.pdf']],
        id: '<att1@example.org>',
        description: 'A file',
        encoding: 'BASE64',
        md5: 'Q2hlY2sgSW50ZWdyaXR5IQ==',
        disposition: { type: 'attachment', params: [['filename', 'r\u00e9sum\u00e9.pdf']] },
        language: ['en', 'fr'],
        location: 'http://example.org/x',
      },
      {
        ...textPart(850),
        type: 'message',
        subtype: 'rfc822',
        params: null,
        encoding: '7BIT',
        message: { envelope: { ...envelope(n + 1), from: null }, body: forwarded },
      },
    ],
  };
  return {
    envelope: envelope(n),
    body,
    headers: {
      from: 'Ann "A" Example <ann@example.org>',
      to: 'team: Bo <bo@example.net>;',
      cc: '',
      bcc: '',
      subject: `Subject ${n} café`,
      messageId: `<m${n}@example.org>`,
      inReplyTo: '<parent@example.org>',
      references: '<root@example.org> <parent@example.org>',
    },
    rawSize: 2000 + n,
    size: 2060 + n,
  };
}

const base = (n: number) => `1700000000.M${n}P4242Q${n}.mail.example.org,S=${2000 + n},W=${2060 + n}`;

/** A record line exactly as the format describes it (written independently of the module). */
function handRecord(b: string, head: unknown, structure: unknown = null): string {
  const body = `${b}\t${JSON.stringify(head)}\t${JSON.stringify(structure)}`;
  return `${zlib.crc32(Buffer.from(body)).toString(16).padStart(8, '0')}\t${body}\n`;
}

describe('cache codec', () => {
  it('round-trips a full index through JSON', () => {
    for (const n of [1, 7]) {
      const m = messageIndex(n);
      const headers = decodeHeaderTuple(JSON.parse(JSON.stringify(encodeHeaders(m.headers))));
      expect(headers).toEqual(m.headers);
      expect(decodeStructure(JSON.parse(JSON.stringify(encodeStructure(m))), headers!)).toEqual(m);
    }
  });

  it('refuses anything that is not exactly its own output', () => {
    const m = messageIndex(1);
    const good = JSON.parse(JSON.stringify(encodeStructure(m))) as unknown[];
    const decodeIndex = (v: unknown) => decodeStructure(v, m.headers);
    expect(decodeIndex(null)).toBeUndefined();
    expect(decodeIndex({ envelope: {} })).toBeUndefined();
    expect(decodeIndex(good.slice(0, 3))).toBeUndefined();
    const badSize = [...good];
    badSize[3] = '12';
    expect(decodeIndex(badSize)).toBeUndefined();
    const badPart = JSON.parse(JSON.stringify(good)) as unknown[][];
    badPart[1][10] = null; // headerStart
    expect(decodeIndex(badPart)).toBeUndefined();
    const headers = JSON.parse(JSON.stringify(encodeHeaders(m.headers))) as unknown[];
    expect(decodeHeaderTuple(null)).toBeUndefined();
    expect(decodeHeaderTuple(headers.slice(0, 7))).toBeUndefined();
    expect(decodeHeaderTuple([...headers.slice(0, 7), 12])).toBeUndefined();
    expect(decodeHeaderTuple([...headers, null])).toBeUndefined(); // the tuple of codec 2 (with the parsed date)
    // nesting deeper than any real message: refused, not a stack overflow
    let deep: unknown = (good[1] as unknown[]).slice();
    for (let i = 0; i < 5000; i++) {
      const wrap = (good[1] as unknown[]).slice();
      wrap[16] = [deep];
      deep = wrap;
    }
    expect(decodeIndex([good[0], deep, good[2], good[3]])).toBeUndefined();
  });

  it('the CRC fallback agrees with the native one', () => {
    const samples = [Buffer.alloc(0), Buffer.from('a'), Buffer.from(handRecord('x', [1, null])), Buffer.alloc(5000, 0xa5)];
    for (const s of samples) expect(crc32Fallback(s)).toBe(crc32(s));
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926); // the standard check value
  });
});

describe('CacheFile', () => {
  it('persists entries and reads them back in another instance', async () => {
    const a = await openCache();
    expect(a.size).toBe(0);
    for (let n = 0; n < 50; n++) a.put(base(n), { internalDate: 1700000000000 + n, index: messageIndex(n) });
    a.put('date-only', { internalDate: 5 });
    expect(a.get(base(3))?.index).toEqual(messageIndex(3)); // served before any flush
    await a.flush();
    const b = await openCache();
    expect(b.size).toBe(51);
    for (let n = 0; n < 50; n++) {
      expect(b.has(base(n))).toBe(true);
      expect(b.get(base(n))).toEqual({ internalDate: 1700000000000 + n, index: messageIndex(n) });
    }
    expect(b.get('date-only')).toEqual({ internalDate: 5 });
    expect(b.get('unknown')).toBeUndefined();
    expect(b.has('unknown')).toBe(false);
  });

  it('merges a put with what is already known, and skips puts that change nothing', async () => {
    const a = await openCache();
    a.put('m1', { internalDate: 10 });
    await a.flush();
    const before = (await stat(cachePath())).size;
    a.put('m1', { internalDate: 10 });
    a.put('m1', {});
    await a.flush();
    expect((await stat(cachePath())).size).toBe(before);
    a.put('m1', { index: messageIndex(1) });
    await a.flush();
    const b = await openCache();
    expect(b.get('m1')).toEqual({ internalDate: 10, index: messageIndex(1) });
    b.put('m1', { internalDate: 11 });
    expect(b.get('m1')).toEqual({ internalDate: 11, index: messageIndex(1) });
  });

  it('refresh() picks up what another instance appended; the last record for a base wins', async () => {
    const a = await openCache();
    const b = await openCache();
    a.put('x', { internalDate: 1 });
    await a.flush();
    expect(b.get('x')).toBeUndefined();
    await b.refresh();
    expect(b.get('x')).toEqual({ internalDate: 1 });
    a.put('x', { internalDate: 2 });
    await a.flush();
    await b.refresh();
    expect(b.get('x')).toEqual({ internalDate: 2 });
    await b.refresh(); // nothing changed
    expect(b.size).toBe(1);
  });

  it('keeps every record when several writers append concurrently', async () => {
    const writers = await Promise.all([0, 1, 2, 3].map(() => openCache()));
    await Promise.all(
      writers.map(async (w, wi) => {
        for (let round = 0; round < 25; round++) {
          for (let k = 0; k < 20; k++) {
            const n = wi * 10000 + round * 100 + k;
            w.put(base(n), { internalDate: n, index: messageIndex(n) });
          }
          await w.flush();
        }
      }),
    );
    const reader = await openCache();
    expect(reader.size).toBe(4 * 25 * 20);
    for (let wi = 0; wi < 4; wi++) {
      const n = wi * 10000 + 24 * 100 + 19;
      expect(reader.get(base(n))).toEqual({ internalDate: n, index: messageIndex(n) });
    }
  });

  it('keeps every record when another process appends at the same time, reading while it grows', async () => {
    const a = await openCache();
    a.put('seed', { internalDate: 0 });
    await a.flush(); // creates the file with its header
    // The other process appends records written by hand in the documented format,
    // one O_APPEND write() per batch of 10, as fast as it can.
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { openSync, writeSync } from 'node:fs'; import { crc32 } from 'node:zlib';
         const fd = openSync(process.argv[1], 'a');
         for (let batch = 0; batch < 200; batch++) {
           let out = '';
           for (let k = 0; k < 10; k++) {
             const n = batch * 10 + k;
             const body = 'child-' + n + '\\t' + JSON.stringify([n, null]) + '\\tnull' + ' '.repeat(n % 300);
             out += crc32(Buffer.from(body)).toString(16).padStart(8, '0') + '\\t' + body + '\\n';
           }
           writeSync(fd, out);
         }`,
        cachePath(),
      ],
      { stdio: 'inherit' },
    );
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    const reader = await openCache();
    for (let round = 0; round < 40; round++) {
      for (let k = 0; k < 10; k++) a.put(base(round * 10 + k), { internalDate: round, index: messageIndex(k) });
      await a.flush();
      await reader.refresh(); // may see a half-written batch of the child: must not take it
    }
    expect(await exited).toBe(0);
    await reader.refresh();
    const fresh = await openCache();
    for (const c of [reader, fresh]) {
      expect(c.size).toBe(1 + 400 + 2000);
      for (let n = 0; n < 2000; n++) expect(c.get(`child-${n}`)).toEqual({ internalDate: n });
      expect(c.get(base(399))).toEqual({ internalDate: 39, index: messageIndex(9) });
    }
  });

  it('ignores a truncated last record until it is complete', async () => {
    const a = await openCache();
    a.put('complete', { internalDate: 1 });
    await a.close();
    const line = handRecord('late', [2, null]);
    await appendFile(cachePath(), line.slice(0, 15));
    const b = await openCache();
    expect(b.get('complete')).toEqual({ internalDate: 1 });
    expect(b.has('late')).toBe(false);
    await appendFile(cachePath(), line.slice(15));
    await b.refresh();
    expect(b.get('late')).toEqual({ internalDate: 2 });
  });

  it('a crashed partial record fuses with the next append: only that line is lost, and its writer writes it again', async () => {
    const a = await openCache();
    a.put('before', { internalDate: 1 });
    await a.flush();
    await appendFile(cachePath(), handRecord('crashed', [2, null]).slice(0, 20)); // a writer died here
    a.put('fused', { internalDate: 3 });
    await a.flush();
    const b = await openCache();
    expect(b.get('before')).toEqual({ internalDate: 1 });
    expect(b.has('crashed')).toBe(false);
    expect(b.has('fused')).toBe(false); // its line failed the CRC
    a.put('after', { internalDate: 4 });
    await a.flush(); // 'fused' did not come back from the first flush: written again now
    await b.refresh();
    expect(b.get('fused')).toEqual({ internalDate: 3 });
    expect(b.get('after')).toEqual({ internalDate: 4 });
  });

  it('skips garbage and corrupted records, keeps the rest', async () => {
    const a = await openCache();
    for (let n = 0; n < 5; n++) a.put(base(n), { internalDate: n, index: messageIndex(n) });
    await a.close();
    const bytes = await readFile(cachePath());
    // flip one byte inside the third record's payload
    let line = 0;
    let pos = 0;
    while (line < 3) pos = bytes.indexOf(0x0a, pos) + 1, line++;
    bytes[pos + 200] ^= 0x01;
    await writeFile(cachePath(), Buffer.concat([bytes, Buffer.from('\u0000\u00ff garbage\n\n\t\t\n'), Buffer.from(handRecord('z', [9, null]))]));
    const b = await openCache();
    expect(b.has(base(2))).toBe(false);
    for (const n of [0, 1, 3, 4]) expect(b.get(base(n))?.index).toEqual(messageIndex(n));
    expect(b.get('z')).toEqual({ internalDate: 9 });
  });

  it('answers headers() from the head of a record alone, buffered or stored', async () => {
    const a = await openCache();
    a.put(base(1), { internalDate: 1, index: messageIndex(1) });
    expect(a.headers(base(1))).toEqual(messageIndex(1).headers); // still buffered
    await a.flush();
    const b = await openCache();
    expect(b.headers(base(1))).toEqual(messageIndex(1).headers);
    expect(b.headers('nobody')).toBeUndefined();
    // a head that is fine beside a structure that is not: the headers still count, the index does not
    const headers = encodeHeaders(messageIndex(2).headers);
    await writeFile(cachePath(), (await headerOf()) + handRecord('half', [3, headers], ['garbage']) + handRecord('dateonly', [4, null]));
    const c = await openCache();
    expect(c.headers('half')).toEqual(messageIndex(2).headers);
    expect(c.get('half')).toEqual({ internalDate: 3 });
    expect(c.headers('dateonly')).toBeUndefined();
  });

  it('does not serve a record rewritten in place after it was indexed (its CRC field no longer agrees)', async () => {
    const a = await openCache();
    for (let n = 0; n < 3; n++) a.put(base(n), { internalDate: n, index: messageIndex(n) });
    await a.close();
    const b = await openCache();
    // Same length, same basename, other content and CRC: what an edit in place would leave.
    // (writeFile keeps the inode; the length is unchanged, so no refresh notices.)
    const bytes = await readFile(cachePath());
    const start = bytes.indexOf(`\t${base(1)}\t`) - 8;
    const end = bytes.indexOf(0x0a, start);
    const forged = handRecord(base(1), [1, encodeHeaders({ ...messageIndex(1).headers, from: 'forged' })]).replace(/\n$/, '');
    const padded = Buffer.alloc(end - start, ' ');
    expect(padded.write(forged)).toBeLessThan(padded.length);
    padded.copy(bytes, start);
    await writeFile(cachePath(), bytes);
    expect(b.headBytes(base(1))).toBeUndefined();
    expect(b.get(base(1))).toBeUndefined();
    expect(b.get(base(2))?.index).toEqual(messageIndex(2));
    expect(JSON.parse(b.headBytes(base(2))!.toString('utf8'))).toEqual([2, encodeHeaders(messageIndex(2).headers)]);
  });

  it('answers internalDate() from the head of a record alone, buffered or stored', async () => {
    const a = await openCache();
    a.put(base(1), { internalDate: 11, index: messageIndex(1) });
    a.put('date-only', { internalDate: 12 });
    expect(a.internalDate(base(1))).toBe(11); // still buffered
    await a.flush();
    // a structure that does not decode costs nothing here: only the head is read
    await appendFile(cachePath(), handRecord('half', [13, encodeHeaders(messageIndex(2).headers)], ['garbage']));
    const b = await openCache();
    expect(b.internalDate(base(1))).toBe(11);
    expect(b.internalDate('date-only')).toBe(12);
    expect(b.internalDate('half')).toBe(13);
    expect(b.internalDate('nobody')).toBeUndefined();
  });

  it('keeps the date when a CRC-valid record holds an index it cannot decode', async () => {
    await writeFile(cachePath(), (await headerOf()) + handRecord('odd', [7, { not: 'a tuple' }]) + handRecord('bad', ['x', null]));
    const c = await openCache();
    expect(c.get('odd')).toEqual({ internalDate: 7 });
    expect(c.get('bad')).toBeUndefined();
  });

  it('starts empty on a wrong version or a garbage file, and replaces it at the next flush', async () => {
    for (const content of [
      'mailroom-cache 0/0\n' + handRecord('old', [1, null]),
      Buffer.alloc(3000, 0x41), // no newline at all
      Buffer.from([0, 1, 2, 3, 10, 4, 5, 10]),
    ]) {
      await writeFile(cachePath(), content);
      const errors: unknown[] = [];
      const c = await openCache(dir, errors);
      expect(c.size).toBe(0);
      c.put('new', { internalDate: 2 });
      await c.flush();
      const d = await openCache();
      expect(d.has('old')).toBe(false);
      expect(d.get('new')).toEqual({ internalDate: 2 });
      expect((await readFile(cachePath(), 'latin1')).startsWith(await headerOf())).toBe(true);
      expect(errors).toEqual([]);
    }
  });

  it('starts over when the file is deleted underneath, and recreates it', async () => {
    const a = await openCache();
    a.put('x', { internalDate: 1 });
    await a.flush();
    await rm(cachePath());
    await a.refresh();
    expect(a.get('x')).toBeUndefined();
    a.put('y', { internalDate: 2 });
    await a.flush();
    const b = await openCache();
    expect(b.get('y')).toEqual({ internalDate: 2 });
    expect(b.has('x')).toBe(false);
  });

  it('writes again what a flush appended to a file deleted before it could look', async () => {
    const a = await openCache();
    a.put('x', { internalDate: 1 });
    await a.flush();
    await rm(cachePath()); // a still holds the deleted file open
    a.put('y', { internalDate: 2 });
    await a.flush(); // lands in the deleted file; noticed, kept for the next flush
    expect(a.get('y')).toEqual({ internalDate: 2 });
    await a.flush();
    const b = await openCache();
    expect(b.get('y')).toEqual({ internalDate: 2 });
  });

  it('compacts away dead records when they outnumber half the live ones', async () => {
    const a = await openCache();
    for (let n = 0; n < 30; n++) a.put(base(n), { internalDate: n, index: messageIndex(n) });
    await a.flush();
    for (let n = 0; n < 10; n++) a.put(base(n), { internalDate: n + 1000 }); // 10 superseded records
    await a.flush();
    const live = new Set(Array.from({ length: 30 }, (_, n) => base(n)));
    const reader = await openCache(); // holds the old file open across the compaction
    const inoBefore = (await stat(cachePath())).ino;
    await a.compact(live); // 10 dead <= 30 / 2: not worth it
    expect((await stat(cachePath())).ino).toBe(inoBefore);

    for (let n = 10; n < 30; n++) live.delete(base(n)); // 20 expunged: 30 dead > 10 / 2
    const sizeBefore = (await stat(cachePath())).size;
    await a.compact(live);
    const after = await stat(cachePath());
    expect(after.ino).not.toBe(inoBefore);
    expect(after.size).toBeLessThan(sizeBefore / 2);
    expect(a.size).toBe(10);
    for (let n = 0; n < 10; n++) expect(a.get(base(n))).toEqual({ internalDate: n + 1000, index: messageIndex(n) });
    expect(a.has(base(20))).toBe(false);

    // The other instance still reads the old file, then follows the new one.
    expect(reader.get(base(20))?.internalDate).toBe(20);
    await reader.refresh();
    expect(reader.has(base(20))).toBe(false);
    expect(reader.get(base(5))).toEqual({ internalDate: 1005, index: messageIndex(5) });

    // Appends after the compaction land in the new file.
    a.put('later', { internalDate: 1 });
    await a.flush();
    await reader.refresh();
    expect(reader.get('later')).toEqual({ internalDate: 1 });
    expect((await openCache()).size).toBe(11);
  });

  it('reads records larger than its read-ahead window', async () => {
    const big = messageIndex(1);
    big.body.parts = Array.from({ length: 3000 }, (_, i) => textPart(i * 200));
    const a = await openCache();
    a.put('small-1', { internalDate: 1 });
    a.put('big', { internalDate: 2, index: big });
    a.put('small-2', { internalDate: 3 });
    await a.close();
    const b = await openCache();
    expect(b.get('small-1')).toEqual({ internalDate: 1 });
    expect(b.get('big')?.index).toEqual(big);
    expect(b.get('small-2')).toEqual({ internalDate: 3 });
  });

  it('never throws when the folder does not exist; works from memory', async () => {
    const errors: unknown[] = [];
    const c = await openCache(join(dir, 'missing'), errors);
    c.put('x', { internalDate: 1 });
    expect(c.get('x')).toEqual({ internalDate: 1 });
    await c.flush();
    await c.refresh();
    await c.compact(new Set());
    expect(errors.length).toBeGreaterThan(0); // the failed create was reported, not thrown
  });

  it('keeps basenames it cannot write (tab, newline) in memory only', async () => {
    const a = await openCache();
    a.put('we\tird', { internalDate: 1 });
    a.put('fine', { internalDate: 2 });
    expect(a.get('we\tird')).toEqual({ internalDate: 1 });
    expect(a.size).toBe(2);
    await a.flush();
    const b = await openCache();
    expect(b.has('we\tird')).toBe(false);
    expect(b.get('fine')).toEqual({ internalDate: 2 });
  });

  it('indexes its own appends where they landed, across write batches, and reads back when another writer came in between', async () => {
    const a = await openCache();
    const b = await openCache();
    // ~2,500 records of ~0.8 KB: more than one 1 MiB write batch; UTF-8 basenames count in bytes
    for (let n = 0; n < 2500; n++) a.put(`m${n}-é`, { internalDate: n, index: messageIndex(n) });
    await a.flush();
    for (const n of [0, 1, 1299, 1300, 2499]) expect(a.get(`m${n}-é`)).toEqual({ internalDate: n, index: messageIndex(n) });
    b.put('other', { internalDate: 7 });
    await b.flush();
    a.put('mine', { internalDate: 8 });
    await a.flush(); // the file grew by more than a's write: a scans, and sees b's record too
    expect(a.get('other')).toEqual({ internalDate: 7 });
    expect(a.get('mine')).toEqual({ internalDate: 8 });
    const c = await openCache();
    expect(c.size).toBe(2502);
    expect(c.get('m1300-é')).toEqual({ internalDate: 1300, index: messageIndex(1300) });
  });

  it('handles UTF-8 basenames', async () => {
    const a = await openCache();
    a.put('1700000000.M1P1.hôte-例え', { internalDate: 1 });
    await a.close();
    expect((await openCache()).get('1700000000.M1P1.hôte-例え')).toEqual({ internalDate: 1 });
  });

  it('handles a few thousand entries with many superseded ones', async () => {
    const a = await openCache();
    const expected = new Map<string, CachedMessage>();
    for (let round = 0; round < 3; round++) {
      for (let n = 0; n < 3000; n++) {
        const m = { internalDate: round * 10000 + n, ...(n % 3 === round ? { index: messageIndex(n) } : {}) };
        a.put(base(n), m);
      }
      await a.flush();
    }
    for (let n = 0; n < 3000; n++) expected.set(base(n), a.get(base(n))!);
    const b = await openCache();
    expect(b.size).toBe(3000);
    for (const [k, v] of expected) expect(b.get(k)).toEqual(v);
  });
});

async function headerOf(): Promise<string> {
  // The header is whatever a fresh cache writes before its first record.
  const d = await mkdtemp(join(tmpdir(), 'mailroom-cache-h-'));
  try {
    const c = await CacheFile.open(d);
    c.put('h', { internalDate: 1 });
    await c.close();
    const text = await readFile(join(d, CACHE_FILE_NAME), 'latin1');
    return text.slice(0, text.indexOf('\n') + 1);
  } finally {
    await rm(d, { recursive: true, force: true });
  }
}

describe('headerValueSpan (the search pre-check reads one field of a head)', () => {
  it('finds each search header between its quotes, escapes and all', () => {
    const headers = {
      from: 'Ann "A" Example <ann@example.org>', to: 'back\\slash, "q" <t@x>', cc: '', bcc: 'é \u0001',
      subject: '"', messageId: '<m@x>', inReplyTo: '\\', references: '<a@b> <c@d>',
    };
    for (const date of [1700000000000, null]) {
      const head = Buffer.from(JSON.stringify([date, encodeHeaders(headers)]), 'utf8');
      for (const field of Object.keys(headers) as (keyof typeof headers)[]) {
        const span = headerValueSpan(head, field)!;
        expect(JSON.parse(`"${head.toString('utf8', span.start, span.end)}"`), field).toBe(headers[field]);
      }
    }
    expect(headerValueSpan(Buffer.from('[1700000000000,null]'), 'from')).toBeUndefined();
    expect(headerValueSpan(Buffer.from('[null,["unterminated'), 'from')).toBeUndefined();
  });
});
