// The Maildir store's process-level behaviour: the shared index cache, the
// persistent cache file, change watching, and migration from Dovecot/Courier.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, unlinkSync, writeFileSync, existsSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import { MaildirStore } from '../maildir/store.js';
import { compareNames, discoveryOrder } from '../maildir/folder-index.js';
import { provisionMaildir } from '../maildir/provision.js';
import { Uidlist } from '../maildir/uidlist.js';
import { sampleMessage, tempDir } from './helpers/tmp.js';

let tmp: ReturnType<typeof tempDir>;
const root = () => `${tmp.dir}/Maildir`;
beforeEach(async () => {
  tmp = tempDir();
  await provisionMaildir(root());
});
afterEach(() => tmp.cleanup());

describe('index cache', () => {
  it('sessions of one process share one index per folder, bounded by total messages', async () => {
    const store = new MaildirStore({ rootOf: () => root(), maxIndexedMessages: 12 });
    const u1 = await store.forUser('a');
    const u2 = await store.forUser('a');
    for (let i = 0; i < 5; i++) await u1.append('INBOX', sampleMessage(`s${i}`));
    const m1 = await u1.open('INBOX', { readOnly: false });
    const m2 = await u2.open('INBOX', { readOnly: true });
    expect((m1 as unknown as { idx: unknown }).idx).toBe((m2 as unknown as { idx: unknown }).idx);
    for (let i = 0; i < 9; i++) await u1.append('Archive', sampleMessage(`a${i}`));
    await u1.status('Archive'); // Archive's 9 rows + INBOX's 5 pass the bound of 12: INBOX leaves the LRU
    const m3 = await u2.open('INBOX', { readOnly: true });
    expect((m3 as unknown as { idx: unknown }).idx).not.toBe((m1 as unknown as { idx: unknown }).idx);
    // the evicted index keeps working for the handles that hold it
    expect((await m1.sync()).added).toEqual([]);
    expect(m1.uids()).toHaveLength(5);
    for (const m of [m1, m2, m3]) await m.close();
    await store.close();
  });

  it('parsed fields survive in the cache file; deleting or corrupting it loses nothing', async () => {
    const s1 = new MaildirStore({ rootOf: () => root() });
    const u = await s1.forUser('a');
    const { uid } = await u.append('INBOX', sampleMessage('cached subject'));
    const mb = await u.open('INBOX', { readOnly: true });
    const idx = await mb.index(uid);
    expect(idx.envelope.subject).toBe('cached subject');
    await mb.close();
    await s1.close();
    expect(existsSync(`${root()}/mailroom-cache`)).toBe(true);
    expect(readFileSync(`${root()}/mailroom-cache`, 'latin1')).toContain('cached subject');

    // a second process (a new store) reads it back instead of parsing
    const s2 = new MaildirStore({ rootOf: () => root() });
    const mb2 = await (await s2.forUser('a')).open('INBOX', { readOnly: true });
    expect((await mb2.index(uid)).envelope.subject).toBe('cached subject');
    await mb2.close();
    await s2.close();

    writeFileSync(`${root()}/mailroom-cache`, 'garbage\x00\xff not a cache');
    const s3 = new MaildirStore({ rootOf: () => root() });
    const mb3 = await (await s3.forUser('a')).open('INBOX', { readOnly: true });
    expect((await mb3.index(uid)).envelope.subject).toBe('cached subject');
    await mb3.close();
    await s3.close();

    unlinkSync(`${root()}/mailroom-cache`);
    const s4 = new MaildirStore({ rootOf: () => root() });
    const mb4 = await (await s4.forUser('a')).open('INBOX', { readOnly: true });
    expect((await mb4.index(uid)).envelope.subject).toBe('cached subject');
    await mb4.close();
    await s4.close();
  });
});

describe('parsing into one shared read buffer', () => {
  it('an index made earlier is untouched by the parses after it (it holds no view of the bytes)', async () => {
    const store = new MaildirStore({ rootOf: () => root() });
    const u = await store.forUser('a');
    const multipart = (n: number) =>
      Buffer.from(
        `From: Sender ${n} <s${n}@example.test>\nTo: r@example.test\nSubject: message number ${n}\n` +
          `Content-Type: multipart/mixed; boundary="b${n}"\n\n--b${n}\nContent-Type: text/plain; charset=utf-8\n\n` +
          `${'body text '.repeat(50 + n)}\n--b${n}\nContent-Type: application/octet-stream; name="f${n}.bin"\n\nxyz\n--b${n}--\n`,
      );
    const uids: number[] = [];
    for (let n = 0; n < 6; n++) uids.push((await u.append('INBOX', multipart(n))).uid);
    const mb = await u.open('INBOX', { readOnly: true });
    const first = await Promise.all(uids.map((uid) => mb.index(uid)));
    const snapshot = JSON.stringify(first);
    // what the same bytes give when nothing else is parsed in between
    const { parseMessage } = await import('../maildir/mime/parser.js');
    for (let n = 0; n < 6; n++) expect(JSON.stringify(first[n])).toBe(JSON.stringify(await parseMessage(multipart(n))));
    // parse more messages (other bytes through the same buffer); the earlier indexes must not change
    for (let n = 6; n < 12; n++) await mb.index((await u.append('INBOX', multipart(n * 7))).uid);
    expect(JSON.stringify(first)).toBe(snapshot);
    await mb.close();
    await store.close();
  });
});

describe('change notification', () => {
  it('a file dropped into new/ by another program wakes a listener; so does an append in this process', async () => {
    const store = new MaildirStore({ rootOf: () => root() });
    const u = await store.forUser('a');
    const mb = await u.open('INBOX', { readOnly: false });
    let hints = 0;
    let wake: () => void = () => {};
    mb.onChange(() => {
      hints++;
      wake();
    });
    const woken = () => new Promise<void>((r) => (wake = r));
    let w = woken();
    await u.append('INBOX', sampleMessage('local'));
    await w;
    expect((await mb.sync()).added).toHaveLength(1);
    w = woken();
    await new Promise((r) => setTimeout(r, 100)); // let the watcher settle
    writeFileSync(`${root()}/new/1800000000.M1P1Q1.elsewhere`, 'Subject: outside\n\n');
    await w;
    expect(hints).toBeGreaterThanOrEqual(2);
    expect((await mb.sync()).added).toHaveLength(1);
    await mb.close();
    await store.close();
  });
});

describe('one process, concurrent paths', () => {
  it('an APPEND while a listener syncs on every hint numbers the message once', async () => {
    const store = new MaildirStore({ rootOf: () => root() });
    const u = await store.forUser('a');
    const mb = await u.open('INBOX', { readOnly: false });
    const syncs: Promise<unknown>[] = [];
    mb.onChange(() => syncs.push(mb.sync()));
    for (let i = 0; i < 20; i++) await u.append('INBOX', sampleMessage(`race ${i}`));
    await new Promise((r) => setTimeout(r, 300));
    await Promise.all(syncs);
    await mb.sync();
    expect(mb.uids()).toHaveLength(20);
    const lines = readFileSync(`${root()}/mailroom-uidlist`, 'utf8').trim().split('\n').slice(1);
    expect(new Set(lines.map((l) => l.split(' ')[1])).size).toBe(lines.length);
    await mb.close();
    await store.close();
  });

  it('an APPEND whose rename a crash lost (its UID line was durable, the rename not): the line is dead, the UID never reused', async () => {
    const s1 = new MaildirStore({ rootOf: () => root() });
    const u1 = await s1.forUser('a');
    expect((await u1.append('INBOX', sampleMessage('kept'))).uid).toBe(1);
    expect((await u1.append('INBOX', sampleMessage('lost'))).uid).toBe(2);
    await s1.close();
    // APPEND numbers the message while the directory holding its new name is
    // fsync'd: after a crash the file may still sit in tmp/ under its tmp name
    const lost = readdirSync(`${root()}/cur`).find((n) => readFileSync(`${root()}/cur/${n}`, 'utf8').includes('lost'))!;
    renameSync(`${root()}/cur/${lost}`, `${root()}/tmp/${lost.split(',')[0]}`);

    const s2 = new MaildirStore({ rootOf: () => root() });
    const u2 = await s2.forUser('a');
    expect((await u2.append('INBOX', sampleMessage('after'))).uid).toBe(3);
    const mb = await u2.open('INBOX', { readOnly: true });
    expect(mb.uids()).toEqual([1, 3]);
    expect((await mb.index(1)).envelope.subject).toBe('kept');
    expect((await mb.index(3)).envelope.subject).toBe('after');
    await mb.close();
    await s2.close();
  });
});

describe('new/ to cur/', () => {
  it('a writable sync moves every file found in new/, also ones a read-only sync saw first, and ones arriving after new/ was emptied', async () => {
    const store = new MaildirStore({ rootOf: () => root() });
    const u = await store.forUser('a');
    const inNew = () => readdirSync(`${root()}/new`);
    writeFileSync(`${root()}/new/1800000000.M1P1Q1.outside`, 'Subject: one\n\n');
    const examine = await u.open('INBOX', { readOnly: true });
    expect(examine.uids()).toHaveLength(1);
    expect(inNew()).toEqual(['1800000000.M1P1Q1.outside']); // read-only: left in new/
    const select = await u.open('INBOX', { readOnly: false });
    expect(inNew()).toEqual([]);
    // new/ is empty now, and later syncs have nothing to move; until a file comes
    await select.sync();
    writeFileSync(`${root()}/new/1800000001.M2P2Q2.outside`, 'Subject: two\n\n');
    await select.sync();
    expect(inNew()).toEqual([]);
    expect(select.uids()).toHaveLength(2);
    expect(readdirSync(`${root()}/cur`).sort()).toEqual(['1800000000.M1P1Q1.outside:2,', '1800000001.M2P2Q2.outside:2,']);
    await examine.close();
    await select.close();
    await store.close();
  });
});

describe('own changes', () => {
  it('a big folder is not listed again after this process\'s own APPEND, STORE, MOVE and EXPUNGE; a foreign change is', async () => {
    const store = new MaildirStore({ rootOf: () => root() });
    const u = await store.forUser('a');
    const mb = await u.open('INBOX', { readOnly: false });
    const idx = (mb as unknown as { idx: { listings: number } }).idx;
    await new Promise((r) => setTimeout(r, 50)); // the watch goes live
    await u.append('INBOX', sampleMessage('first'));
    await mb.sync(); // one listing after the watch is live
    const before = idx.listings;
    const uids: number[] = [];
    for (let i = 0; i < 10; i++) {
      uids.push((await u.append('INBOX', sampleMessage(`own ${i}`))).uid);
      await mb.sync();
    }
    await mb.setFlags(uids, 'add', ['\\Seen', '\\Deleted']);
    await mb.sync();
    await mb.copy([uids[0]], 'Archive', { move: true });
    await mb.expunge();
    expect((await mb.sync()).added).toEqual([]);
    expect(idx.listings).toBe(before);
    expect(mb.uids()).toHaveLength(1);
    // someone else: listed again, and seen
    writeFileSync(`${root()}/new/1800000000.M9P9Q9.foreign`, 'Subject: foreign\n\n');
    const ch = await mb.sync();
    expect(ch.added).toHaveLength(1);
    expect(idx.listings).toBeGreaterThan(before);
    await mb.close();
    await store.close();
  });

  it('the first own change after a folder\'s first open is known by its events too: no second listing', async () => {
    const s0 = new MaildirStore({ rootOf: () => root() });
    const u0 = await s0.forUser('a');
    const { uid } = await u0.append('INBOX', sampleMessage('one'));
    await s0.close();
    // a new process opens it: one listing, with the watch already in place
    const store = new MaildirStore({ rootOf: () => root() });
    const mb = await (await store.forUser('a')).open('INBOX', { readOnly: false });
    const idx = (mb as unknown as { idx: { listings: number } }).idx;
    const afterOpen = idx.listings;
    await mb.setFlags([uid], 'add', ['\\Flagged']);
    expect((await mb.sync()).added).toEqual([]);
    expect(idx.listings).toBe(afterOpen);
    expect(mb.meta(uid)?.flags).toContain('\\Flagged');
    await mb.close();
    await store.close();
  });

  it('an own change whose event never comes (inotify dropped it in an overflow) makes the next sync list again', async () => {
    const store = new MaildirStore({ rootOf: () => root() });
    const u = await store.forUser('a');
    const mb = await u.open('INBOX', { readOnly: false });
    const idx = (mb as unknown as { idx: { listings: number; noteOwn(sub: 'new' | 'cur', name: string): void } }).idx;
    await new Promise((r) => setTimeout(r, 50)); // the watch goes live
    await u.append('INBOX', sampleMessage('first'));
    await mb.sync();
    await u.append('INBOX', sampleMessage('second'));
    await mb.sync();
    const before = idx.listings;
    // registered as ours, but its event is never going to arrive: as if dropped
    idx.noteOwn('new', '1800000000.M1P1Q1.lost');
    await u.append('INBOX', sampleMessage('third'));
    await mb.sync();
    expect(idx.listings).toBe(before); // not yet: the event may still be on its way
    await new Promise((r) => setTimeout(r, 2_100));
    await u.append('INBOX', sampleMessage('fourth'));
    expect((await mb.sync()).added).toHaveLength(1);
    expect(idx.listings).toBeGreaterThan(before); // events were lost: only a listing can be trusted
    await mb.close();
    await store.close();
  });
});

describe('migration', () => {
  it('a folder with a dovecot-uidlist keeps its UIDs and UIDVALIDITY', async () => {
    const dir = `${tmp.dir}/Migrated`;
    for (const sub of ['cur', 'new', 'tmp']) mkdirSync(`${dir}/${sub}`, { recursive: true });
    // Dovecot's format (src/lib-storage/index/maildir/maildir-uidlist.c, version 3)
    writeFileSync(`${dir}/cur/1600000001.M1P1.old:2,S`, 'Subject: one\n\n');
    writeFileSync(`${dir}/cur/1600000002.M2P1.old:2,`, 'Subject: two\n\n');
    writeFileSync(`${dir}/new/1600000003.M3P1.old`, 'Subject: three\n\n');
    writeFileSync(
      `${dir}/dovecot-uidlist`,
      '3 V1234567890 N42 G0123456789abcdef0123456789abcdef\n' +
        '17 :1600000001.M1P1.old\n' +
        '23 W1234 :1600000002.M2P1.old\n' +
        '40 :1600000003.M3P1.old\n',
    );
    const store = new MaildirStore({ rootOf: () => dir });
    const u = await store.forUser('a');
    const mb = await u.open('INBOX', { readOnly: false });
    expect(mb.uidValidity).toBe(1234567890);
    expect(mb.uids()).toEqual([17, 23, 40]);
    expect(mb.meta(17)?.flags).toEqual(['\\Seen']);
    const r = await u.append('INBOX', sampleMessage('after migration'));
    expect(r.uid).toBe(42);
    await mb.close();
    await store.close();
  });
});

describe('first load of a folder nobody has numbered', () => {
  const folder = () => `${tmp.dir}/Handmade`;
  beforeEach(() => {
    for (const sub of ['cur', 'new', 'tmp']) mkdirSync(`${folder()}/${sub}`, { recursive: true });
    // listed in hash order by readdir; discovery order is by time, then name
    writeFileSync(`${folder()}/cur/1600000300.M1P1.h:2,S`, 'Subject: third\n\n');
    writeFileSync(`${folder()}/cur/1600000100.M9P1.h:2,`, 'Subject: first\n\n');
    writeFileSync(`${folder()}/new/1600000400.M1P1.h`, 'Subject: fourth\n\n');
    writeFileSync(`${folder()}/cur/1600000200.M5P1.h:2,F`, 'Subject: second\n\n');
    // caught mid-move by another MDA: the same base in new/ and cur/
    writeFileSync(`${folder()}/new/1600000250.M1P1.h`, 'Subject: moving\n\n');
    writeFileSync(`${folder()}/cur/1600000250.M1P1.h:2,R`, 'Subject: moving\n\n');
  });
  const uidlistBases = () =>
    readFileSync(`${folder()}/mailroom-uidlist`, 'latin1')
      .split('\n')
      .slice(1)
      .filter((l) => l !== '')
      .map((l) => l.split(' ')[1]);

  it('discovery order: by seconds, then the micros of an M field (modulo 10^6), then by name; names of another form last', () => {
    const names = ['zzz-foreign', '20.M5P1.h', '10.M999999P1.h', '10.M1000001P1.h', '10.P1.h', '9.M7P1.h', '10.M1000001P0.h', '10.foo', '.hidden', 'a.M1'];
    const want = [
      '9.M7P1.h',
      '10.P1.h',
      '10.foo',
      '10.M1000001P0.h',
      '10.M1000001P1.h',
      '10.M999999P1.h',
      '20.M5P1.h',
      '.hidden',
      'a.M1',
      'zzz-foreign',
    ];
    expect([...names].sort(compareNames)).toEqual(want);
    // what a folder's first load and the general path sort with
    expect(discoveryOrder(names).map((i) => names[i])).toEqual(want);
  });

  type IndexInside = {
    uidValidity: number;
    uidlist: { lock<T>(fn: () => Promise<T>): Promise<T>; createNumbered(v: number, bases: readonly string[]): Promise<boolean> };
  };
  const indexOf = (u: unknown): IndexInside =>
    (u as { folderIndex(n: string): { index: IndexInside } }).folderIndex('INBOX').index;

  it('numbers every file once, in discovery order, a base listed twice at its cur/ name', async () => {
    const store = new MaildirStore({ rootOf: () => folder() });
    const u = await store.forUser('a');
    // the uidlist is created already holding the numbering: no locked append after it
    const index = indexOf(u);
    let locked = 0;
    const lock = index.uidlist.lock.bind(index.uidlist);
    index.uidlist.lock = <T>(fn: () => Promise<T>) => (locked++, lock(fn));
    const mb = await u.open('INBOX', { readOnly: true });
    expect(locked).toBe(0);
    expect(mb.uids()).toEqual([1, 2, 3, 4, 5]);
    expect(mb.messages().map((m) => m.flags)).toEqual([[], ['\\Flagged'], ['\\Answered'], ['\\Seen'], []]);
    expect(uidlistBases()).toEqual(['1600000100.M9P1.h', '1600000200.M5P1.h', '1600000250.M1P1.h', '1600000300.M1P1.h', '1600000400.M1P1.h']);
    await mb.close();
    await store.close();
  });

  it('takes the numbering of a process that created the uidlist first, under its UIDVALIDITY', async () => {
    const store = new MaildirStore({ rootOf: () => folder() });
    const u = await store.forUser('a');
    const index = indexOf(u);
    const create = index.uidlist.createNumbered.bind(index.uidlist);
    let other: { uids: number[]; uidValidity: number } | null = null;
    index.uidlist.createNumbered = async (v, bases) => {
      // the other process lists and creates the uidlist between our listing and our link(2)
      const s2 = new MaildirStore({ rootOf: () => folder() });
      const mb2 = await (await s2.forUser('a')).open('INBOX', { readOnly: true });
      other = { uids: [...mb2.uids()], uidValidity: mb2.uidValidity };
      await mb2.close();
      await s2.close();
      expect(await create(v, bases)).toBe(false);
      return false;
    };
    const mb = await u.open('INBOX', { readOnly: true });
    expect(other).not.toBeNull();
    expect(other!.uids).toEqual([1, 2, 3, 4, 5]);
    expect(mb.uids()).toEqual([1, 2, 3, 4, 5]);
    expect(mb.uidValidity).toBe(other!.uidValidity);
    expect(index.uidValidity).toBe(other!.uidValidity);
    expect(uidlistBases()).toHaveLength(5);
    await mb.close();
    await store.close();
  });

  it('gives way to the general path when another process numbered the folder after our read of its empty uidlist', async () => {
    await Uidlist.create(folder(), 7); // created empty (as CREATE does), the files dropped in by another program
    const store = new MaildirStore({ rootOf: () => folder() });
    const u = await store.forUser('a');
    const index = indexOf(u);
    const lock = index.uidlist.lock.bind(index.uidlist);
    let other: number[] = [];
    index.uidlist.lock = async <T>(fn: () => Promise<T>) => {
      // the other process takes the lock first and numbers everything
      const s2 = new MaildirStore({ rootOf: () => folder() });
      const mb2 = await (await s2.forUser('a')).open('INBOX', { readOnly: true });
      other = [...mb2.uids()];
      await mb2.close();
      await s2.close();
      index.uidlist.lock = lock;
      return lock(fn);
    };
    const mb = await u.open('INBOX', { readOnly: true });
    expect(other).toEqual([1, 2, 3, 4, 5]);
    // the same UIDs, not a second numbering (which would have given 6..10)
    expect(mb.uids()).toEqual([1, 2, 3, 4, 5]);
    expect(uidlistBases()).toHaveLength(5);
    await mb.close();
    await store.close();
  });
});

describe('uidlist compaction', () => {
  it('rewrites the uidlist once most of its lines are dead, keeping every surviving UID', async () => {
    const store = new MaildirStore({ rootOf: () => root() });
    const u = await store.forUser('a');
    for (let i = 0; i < 2500; i++) writeFileSync(`${root()}/cur/${1700000000 + i}.M${i}P7.compact:2,`, `Subject: ${i}\n\n`);
    const mb = await u.open('INBOX', { readOnly: false });
    const all = [...mb.uids()];
    const keep = all.filter((_, i) => i % 10 === 0);
    const drop = all.filter((_, i) => i % 10 !== 0);
    await mb.setFlags(drop, 'add', ['\\Deleted']);
    await mb.expunge();
    const linesBefore = readFileSync(`${root()}/mailroom-uidlist`, 'utf8').trim().split('\n').length;
    expect(linesBefore).toBe(2501); // header + every line, dead ones included
    await mb.sync(); // the sync after the expunge compacts
    const text = readFileSync(`${root()}/mailroom-uidlist`, 'utf8').trim().split('\n');
    expect(text).toHaveLength(keep.length + 1);
    expect(text[0]).toMatch(new RegExp(`^1 V${mb.uidValidity} N${all.at(-1)! + 1}$`));
    expect(text.slice(1).map((l) => Number(l.split(' ')[0]))).toEqual(keep);
    await mb.close();
    await store.close();
    // a new process agrees, and the next UID is still above every UID ever given
    const s2 = new MaildirStore({ rootOf: () => root() });
    const u2 = await s2.forUser('a');
    const again = await u2.open('INBOX', { readOnly: true });
    expect(again.uids()).toEqual(keep);
    expect((await u2.append('INBOX', sampleMessage('after compaction'))).uid).toBe(all.at(-1)! + 1);
    await again.close();
    await s2.close();
  });
});
