// The storage contract (DESIGN.md "Storage interfaces"), run against the
// Maildir store in a temporary directory. Everything goes through
// MailStore / UserStore / Mailbox, plus direct file operations where the test
// plays an outside tool (mutt, maildrop, a person with rm).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { existsSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { MaildirStore } from '../maildir/store.js';
import { CacheFile } from '../maildir/cache-file.js';
import { isWatching } from '../maildir/watcher.js';
import { provisionMaildir } from '../maildir/provision.js';
import { isStoreError, StoreError } from '../maildir/errors.js';
import type { UserStore } from '../maildir/types.js';
import { sampleMessage, tempDir } from './helpers/tmp.js';

let tmp: ReturnType<typeof tempDir>;
let store: MaildirStore;
let user: UserStore;
const root = () => `${tmp.dir}/Maildir`;

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function expectCode(p: Promise<unknown>, code: StoreError['code']) {
  await expect(p).rejects.toSatisfy((e: unknown) => isStoreError(e, code));
}

beforeEach(async () => {
  tmp = tempDir();
  await provisionMaildir(root());
  store = new MaildirStore({ rootOf: () => root() });
  user = await store.forUser('alice@example.org');
});
afterEach(async () => {
  await store.close();
  tmp.cleanup();
});

describe('folders', () => {
  it('a new user has INBOX and the special-use folders, subscribed', async () => {
    const list = await user.list();
    expect(list.map((m) => [m.name, m.specialUse ?? null, m.subscribed])).toEqual([
      ['INBOX', null, true],
      ['Archive', '\\Archive', true],
      ['Drafts', '\\Drafts', true],
      ['Junk', '\\Junk', true],
      ['Sent', '\\Sent', true],
      ['Trash', '\\Trash', true],
    ]);
    // Courier's subscription format
    expect(readFileSync(`${root()}/courierimapsubscribed`, 'utf8').split('\n')).toContain('INBOX.Sent');
    expect(existsSync(`${root()}/.Sent/maildirfolder`)).toBe(true);
  });

  it('creates nested folders with children flags and non-ASCII names in modified UTF-7 on disk', async () => {
    await user.create('Work/Projects/Äpfel');
    expect(existsSync(`${root()}/.Work.Projects.&AMQ-pfel/cur`)).toBe(true);
    const list = await user.list();
    const byName = new Map(list.map((m) => [m.name, m]));
    expect(byName.get('Work')).toMatchObject({ nonExistent: true, hasChildren: true });
    expect(byName.get('Work/Projects')).toMatchObject({ nonExistent: true, hasChildren: true });
    expect(byName.get('Work/Projects/Äpfel')).toMatchObject({ hasChildren: false });
    expect(byName.get('Work/Projects/Äpfel')?.nonExistent).toBeUndefined();
    await user.create('Work');
    expect((await user.list()).find((m) => m.name === 'Work')).toMatchObject({ hasChildren: true });
    expect((await user.list()).find((m) => m.name === 'Work')?.nonExistent).toBeUndefined();
  });

  it('refuses names that could escape the root or break the layout', async () => {
    for (const bad of ['', '..', '../x', '/etc', 'a/../b', 'a.b', 'a//b', 'a/', 'x\u0000y', 'tab\there', '\\x']) {
      await expectCode(user.create(bad), 'BADNAME');
    }
    await expectCode(user.create('INBOX'), 'ALREADYEXISTS');
    await expectCode(user.create('inbox'), 'ALREADYEXISTS');
    await expectCode(user.create('Sent'), 'ALREADYEXISTS');
  });

  it('deletes a folder; its children stay and the name becomes a \\Noselect parent', async () => {
    await user.create('A');
    await user.create('A/B');
    await user.delete('A');
    const byName = new Map((await user.list()).map((m) => [m.name, m]));
    expect(byName.get('A')).toMatchObject({ nonExistent: true, hasChildren: true });
    expect(byName.has('A/B')).toBe(true);
    await expectCode(user.delete('A'), 'NONEXISTENT');
    await expectCode(user.delete('INBOX'), 'CANNOT');
  });

  it('renames a folder with its children, subscriptions and special use following', async () => {
    await user.create('A');
    await user.create('A/B');
    await user.subscribe('A/B', true);
    await user.append('A/B', sampleMessage('kept'));
    await user.rename('A', 'Z');
    const names = (await user.list()).map((m) => m.name);
    expect(names).toContain('Z/B');
    expect(names).not.toContain('A');
    expect((await user.list()).find((m) => m.name === 'Z/B')?.subscribed).toBe(true);
    expect((await user.status('Z/B')).messages).toBe(1);
    await user.rename('Sent', 'Sent Items');
    expect((await user.list()).find((m) => m.name === 'Sent Items')?.specialUse).toBe('\\Sent');
    await expectCode(user.rename('Nope', 'X'), 'NONEXISTENT');
    await expectCode(user.rename('Z', 'Trash'), 'ALREADYEXISTS');
    await expectCode(user.rename('Z', 'Z/inner'), 'CANNOT');
  });

  it('renaming INBOX moves its messages and leaves INBOX empty (RFC 3501 6.3.5)', async () => {
    await user.append('INBOX', sampleMessage('one'));
    await user.append('INBOX', sampleMessage('two'));
    await user.rename('INBOX', 'Old');
    expect((await user.status('INBOX')).messages).toBe(0);
    expect((await user.status('Old')).messages).toBe(2);
  });

  it('UIDVALIDITY differs between folders and for a re-created namesake', async () => {
    await user.create('X');
    const v1 = (await user.status('X')).uidValidity;
    await user.delete('X');
    await user.create('X');
    const v2 = (await user.status('X')).uidValidity;
    expect(v2).not.toBe(v1);
    const all = await Promise.all(['INBOX', 'Sent', 'Trash', 'X'].map(async (n) => (await user.status(n)).uidValidity));
    expect(new Set(all).size).toBe(4);
  });

  it('unsubscribes, and subscribing survives a new store', async () => {
    await user.subscribe('Junk', false);
    const again = await new MaildirStore({ rootOf: () => root() }).forUser('x');
    expect((await again.list()).find((m) => m.name === 'Junk')?.subscribed).toBe(false);
  });
});

describe('messages', () => {
  it('append returns increasing UIDs and the bytes read back are the bytes written', async () => {
    const a = await user.append('INBOX', sampleMessage('first'), { flags: ['\\Seen', '$Label1'], internalDate: new Date('2020-01-02T03:04:05Z') });
    const b = await user.append('INBOX', Readable.from([Buffer.from('Subject: streamed\n\n'), Buffer.from('body\n')]));
    expect(b.uid).toBeGreaterThan(a.uid);
    expect(a.uidValidity).toBe((await user.status('INBOX')).uidValidity);
    const mb = await user.open('INBOX', { readOnly: false });
    expect(mb.uids()).toEqual([a.uid, b.uid]);
    expect(mb.meta(a.uid)?.flags).toEqual(['\\Seen', '$Label1']);
    expect((await mb.internalDate(a.uid)).toISOString()).toBe('2020-01-02T03:04:05.000Z');
    expect(await readAll((await mb.read(a.uid)).stream)).toEqual(sampleMessage('first'));
    const part = await mb.read(b.uid, { start: 9, length: 8 });
    expect(part.size).toBe(8);
    expect((await readAll(part.stream)).toString()).toBe('streamed');
    // RFC822.SIZE counts CRLF line endings
    expect(await mb.rfc822Size(b.uid)).toBe(Buffer.byteLength('Subject: streamed\r\n\r\nbody\r\n'));
    await mb.close();
  });

  it('a stream that fails half-way leaves nothing in new/ or cur/', async () => {
    async function* broken() {
      yield Buffer.from('Subject: half\n\n');
      throw new Error('connection lost');
    }
    await expect(user.append('INBOX', Readable.from(broken()))).rejects.toThrow('connection lost');
    expect(readdirSync(`${root()}/new`)).toEqual([]);
    expect(readdirSync(`${root()}/cur`)).toEqual([]);
    expect(readdirSync(`${root()}/tmp`).filter((n) => !n.startsWith('.'))).toEqual([]);
  });

  it('flags and keywords: add, remove, replace on many UIDs; names in the file name and keywords file', async () => {
    const uids: number[] = [];
    for (let i = 0; i < 5; i++) uids.push((await user.append('INBOX', sampleMessage(`m${i}`))).uid);
    const mb = await user.open('INBOX', { readOnly: false });
    await mb.setFlags(uids, 'add', ['\\Flagged', 'Important']);
    await mb.setFlags(uids.slice(0, 2), 'remove', ['\\Flagged']);
    const out = await mb.setFlags([uids[4]], 'replace', ['\\Answered', '\\Draft', 'important']);
    expect(out).toEqual([{ uid: uids[4], flags: ['\\Answered', '\\Draft', 'Important'], recent: true }]);
    expect(mb.meta(uids[0])?.flags).toEqual(['Important']);
    expect(mb.meta(uids[2])?.flags).toEqual(['\\Flagged', 'Important']);
    const names = readdirSync(`${root()}/cur`).sort();
    expect(names.filter((n) => n.endsWith(':2,Fa'))).toHaveLength(2);
    expect(names.filter((n) => n.endsWith(':2,DRa'))).toHaveLength(1);
    expect(readFileSync(`${root()}/mailroom-keywords`, 'utf8')).toBe('0 Important\n');
    expect(mb.keywords()).toEqual(['Important']);
    await mb.close();
  });

  it('silent setFlags changes the same files and returns no metas', async () => {
    const uids: number[] = [];
    for (let i = 0; i < 3; i++) uids.push((await user.append('INBOX', sampleMessage(`s${i}`))).uid);
    const mb = await user.open('INBOX', { readOnly: false });
    expect(await mb.setFlags(uids, 'add', ['\\Seen', 'Later'], { silent: true })).toEqual([]);
    for (const uid of uids) expect(mb.meta(uid)?.flags).toEqual(['\\Seen', 'Later']);
    expect(readdirSync(`${root()}/cur`).filter((n) => n.endsWith(':2,Sa'))).toHaveLength(3);
    await mb.close();
  });

  it('more than 26 keywords is a typed LIMIT error', async () => {
    const { uid } = await user.append('INBOX', sampleMessage('kw'));
    const mb = await user.open('INBOX', { readOnly: false });
    const many = Array.from({ length: 27 }, (_, i) => `kw${i}`);
    await expectCode(mb.setFlags([uid], 'add', many), 'LIMIT');
    await mb.close();
  });

  it('\\Recent goes to exactly one session; EXAMINE does not take it', async () => {
    writeFileSync(`${root()}/new/1700000000.M1P1Q1.outside`, 'Subject: dropped in\n\nx\n');
    const ro = await user.open('INBOX', { readOnly: true });
    expect(ro.meta(ro.uids()[0])?.recent).toBe(false);
    expect(existsSync(`${root()}/new/1700000000.M1P1Q1.outside`)).toBe(true); // read-only does not move it
    const s1 = await user.open('INBOX', { readOnly: false });
    const s2 = await user.open('INBOX', { readOnly: false });
    const uid = s1.uids()[0];
    expect(s1.meta(uid)?.recent).toBe(true);
    expect(s2.meta(uid)?.recent).toBe(false);
    expect(readdirSync(`${root()}/cur`)).toEqual(['1700000000.M1P1Q1.outside:2,']);
    writeFileSync(`${root()}/new/1700000001.M1P1Q2.outside`, 'Subject: second\n\nx\n');
    const c2 = await s2.sync();
    const c1 = await s1.sync();
    expect(c2.added).toHaveLength(1);
    expect(c2.recent).toEqual(c2.added);
    expect(c1.added).toEqual(c2.added);
    expect(c1.recent).toEqual([]);
    for (const m of [ro, s1, s2]) await m.close();
  });

  it('expunge removes only \\Deleted messages (all, or those in a UID set) and other handles learn of it at sync', async () => {
    const uids: number[] = [];
    for (let i = 0; i < 4; i++) uids.push((await user.append('INBOX', sampleMessage(`e${i}`))).uid);
    const a = await user.open('INBOX', { readOnly: false });
    const b = await user.open('INBOX', { readOnly: false });
    await a.setFlags([uids[0], uids[1], uids[2]], 'add', ['\\Deleted']);
    expect(await a.expunge([uids[1], uids[3]])).toEqual([uids[1]]);
    expect(await a.expunge()).toEqual([uids[0], uids[2]]);
    expect(a.uids()).toEqual([uids[3]]);
    // b still sees them until it syncs (RFC 3501 7.4.1 is the session's job)
    expect(b.uids()).toEqual(uids);
    expect(b.meta(uids[0])?.flags).toEqual(['\\Deleted']);
    const ch = await b.sync();
    expect(ch.expunged).toEqual([uids[0], uids[1], uids[2]]);
    expect(ch.flags).toEqual([]); // flags of expunged messages are not reported
    expect(b.uids()).toEqual([uids[3]]);
    expect((await a.sync()).expunged).toEqual([]);
    await a.close();
    await b.close();
  });

  it('copy keeps flags and keywords and reports UID pairs; move removes from the source', async () => {
    const x = await user.append('INBOX', sampleMessage('x'), { flags: ['\\Flagged', 'Work'] });
    const y = await user.append('INBOX', sampleMessage('y'));
    const mb = await user.open('INBOX', { readOnly: false });
    const c = await mb.copy([y.uid, x.uid], 'Archive');
    expect(c.uidValidity).toBe((await user.status('Archive')).uidValidity);
    expect(c.pairs.map((p) => p[0])).toEqual([x.uid, y.uid]);
    const arch = await user.open('Archive', { readOnly: false });
    expect(arch.uids()).toEqual(c.pairs.map((p) => p[1]));
    expect(arch.meta(c.pairs[0][1])?.flags).toEqual(['\\Flagged', 'Work']);
    expect(await readAll((await arch.read(c.pairs[1][1])).stream)).toEqual(sampleMessage('y'));
    // a hard link: same inode
    const src = readdirSync(`${root()}/cur`).find((n) => n.includes(':2,F'))!;
    const dst = readdirSync(`${root()}/.Archive/cur`).find((n) => n.includes(':2,F'))!;
    expect(statSync(`${root()}/.Archive/cur/${dst}`).ino).toBe(statSync(`${root()}/cur/${src}`).ino);
    const m = await mb.copy([x.uid], 'Trash', { move: true });
    expect(m.pairs).toHaveLength(1);
    expect(mb.uids()).toEqual([y.uid]);
    expect((await user.status('Trash')).messages).toBe(1);
    await expectCode(mb.copy([y.uid], 'Nowhere'), 'NONEXISTENT');
    await mb.close();
    await arch.close();
  });

  it('status counts messages, unseen, recent and CRLF size', async () => {
    await user.append('Drafts', sampleMessage('s1'), { flags: ['\\Seen'] });
    await user.append('Drafts', sampleMessage('s2'));
    const st = await user.status('Drafts');
    expect(st).toMatchObject({ messages: 2, unseen: 1, recent: 2 });
    const crlf = (b: Buffer) => b.length + (b.toString('latin1').match(/\n/g) ?? []).length;
    expect(st.size).toBe(crlf(sampleMessage('s1')) + crlf(sampleMessage('s2')));
    expect(st.uidNext).toBeGreaterThan(2);
    await expectCode(user.status('Nope'), 'NONEXISTENT');
  });

  it('a read-only handle refuses writes', async () => {
    const { uid } = await user.append('INBOX', sampleMessage('ro'));
    const mb = await user.open('INBOX', { readOnly: true });
    await expectCode(mb.setFlags([uid], 'add', ['\\Seen']), 'READONLY');
    await expectCode(mb.expunge(), 'READONLY');
    await mb.close();
  });
});

describe('sync with changes made underneath', () => {
  it('sees a delivery into new/, a rename by mutt, and a file deleted by hand', async () => {
    const a = await user.append('INBOX', sampleMessage('a'));
    const b = await user.append('INBOX', sampleMessage('b'));
    const mb = await user.open('INBOX', { readOnly: false });
    // maildrop delivers
    writeFileSync(`${root()}/new/1800000000.M5P5Q5.maildrop`, 'Subject: from maildrop\n\nhi\n');
    // mutt marks a as seen and replied by renaming
    const aName = readdirSync(`${root()}/cur`).find((n) => n.startsWith(readdirSync(`${root()}/cur`).sort()[0].split(':')[0]))!;
    renameSync(`${root()}/cur/${aName}`, `${root()}/cur/${aName.split(':')[0]}:2,RS`);
    // someone removes b by hand
    const bName = readdirSync(`${root()}/cur`).sort()[1];
    unlinkSync(`${root()}/cur/${bName}`);
    const ch = await mb.sync();
    expect(ch.expunged).toEqual([b.uid]);
    expect(ch.flags).toEqual([{ uid: a.uid, flags: ['\\Seen', '\\Answered'] }]);
    expect(ch.added).toHaveLength(1);
    expect(ch.added[0]).toBeGreaterThan(b.uid);
    // the foreign name is kept, only the info is added
    expect(readdirSync(`${root()}/cur`)).toContain('1800000000.M5P5Q5.maildrop:2,');
    expect((await mb.sync()).added).toEqual([]);
    await mb.close();
  });

  it('a handle opened unwatched arms no watch, and still sees changes made underneath at its next sync', async () => {
    const a = await user.append('INBOX', sampleMessage('a'));
    const b = await user.append('INBOX', sampleMessage('b'));
    const mb = await user.open('INBOX', { readOnly: false, watch: false });
    expect(isWatching(root())).toBe(false);
    await mb.setFlags([a.uid], 'add', ['\\Seen'], { silent: true });
    // someone removes b by hand, at once (too soon for the directory's mtime to be trusted alone)
    unlinkSync(`${root()}/cur/${readdirSync(`${root()}/cur`).find((n) => !n.endsWith('S'))!}`);
    const ch = await mb.sync();
    expect(ch.expunged).toEqual([b.uid]);
    expect(mb.meta(a.uid)?.flags).toEqual(['\\Seen']);
    // a watched handle on the same folder arms the watch
    const watched = await user.open('INBOX', { readOnly: true });
    expect(isWatching(root())).toBe(true);
    expect(watched.uids()).toEqual([a.uid]);
    await watched.close();
    await mb.close();
  });

  it('keeps foreign names and unknown info intact when flags change', async () => {
    writeFileSync(`${root()}/cur/weird-name-from-elsewhere:2,SX`, 'Subject: w\n\n');
    const mb = await user.open('INBOX', { readOnly: false });
    const uid = mb.uids()[0];
    expect(mb.meta(uid)?.flags).toEqual(['\\Seen']);
    await mb.setFlags([uid], 'add', ['\\Flagged']);
    expect(readdirSync(`${root()}/cur`)).toEqual(['weird-name-from-elsewhere:2,FSX']);
    await mb.close();
  });

  it('UIDs are stable across a new store (a restart) and never reused', async () => {
    const a = await user.append('INBOX', sampleMessage('p1'));
    const b = await user.append('INBOX', sampleMessage('p2'));
    const mb = await user.open('INBOX', { readOnly: false });
    await mb.setFlags([b.uid], 'add', ['\\Deleted']);
    await mb.expunge();
    await mb.close();
    const fresh = await new MaildirStore({ rootOf: () => root() }).forUser('x');
    const again = await fresh.open('INBOX', { readOnly: false });
    expect(again.uids()).toEqual([a.uid]);
    const c = await fresh.append('INBOX', sampleMessage('p3'));
    expect(c.uid).toBeGreaterThan(b.uid);
    await again.close();
  });

  it('a deleted uidlist does not lose mail (messages renumbered under a new UIDVALIDITY)', async () => {
    await user.append('INBOX', sampleMessage('u1'));
    const before = (await user.status('INBOX')).uidValidity;
    unlinkSync(`${root()}/mailroom-uidlist`);
    const fresh = await new MaildirStore({ rootOf: () => root() }).forUser('x');
    const st = await fresh.status('INBOX');
    expect(st.messages).toBe(1);
    expect(st.uidValidity).not.toBe(before);
  });
});

describe('quota', () => {
  it('is enforced on append and copy with a typed OVERQUOTA error, and tracked in maildirsize', async () => {
    const us = user as Awaited<ReturnType<MaildirStore['forUser']>>;
    await us.quotaFile.setLimit({ bytes: 600, messages: 3 });
    expect(readFileSync(`${root()}/maildirsize`, 'utf8').split('\n')[0]).toBe('600S,3C');
    const a = await user.append('INBOX', sampleMessage('q1'));
    const q = await user.quota();
    expect(q).toMatchObject({ usedMessages: 1, limitBytes: 600, limitMessages: 3 });
    expect(q.usedBytes).toBe(sampleMessage('q1').length);
    await expectCode(user.append('INBOX', Buffer.alloc(500, 'x')), 'OVERQUOTA');
    await expectCode(user.deliver('INBOX', Buffer.alloc(500, 'x')), 'OVERQUOTA');
    expect(readdirSync(`${root()}/new`)).toEqual([]);
    expect(readdirSync(`${root()}/cur`)).toHaveLength(1);
    await user.append('INBOX', sampleMessage('q2'));
    const mb = await user.open('INBOX', { readOnly: false });
    await mb.copy([a.uid], 'Archive');
    await expectCode(mb.copy([a.uid], 'Archive'), 'OVERQUOTA');
    await mb.setFlags([a.uid], 'add', ['\\Deleted']);
    await mb.expunge();
    expect((await user.quota()).usedMessages).toBe(2);
    await mb.close();
  });
});

describe('search', () => {
  it('evaluates flags, sizes, headers and bodies over the handle view', async () => {
    const small = await user.append('INBOX', sampleMessage('alpha report', 'short\n'), { flags: ['\\Seen'] });
    const big = await user.append('INBOX', sampleMessage('beta notes', 'x'.repeat(3000) + '\nneedle in the body\n'));
    const mb = await user.open('INBOX', { readOnly: false });
    expect(await mb.search({ type: 'flag', flag: '\\Seen', set: true })).toEqual([small.uid]);
    expect(await mb.search({ type: 'size', op: 'larger', octets: 1000 })).toEqual([big.uid]);
    expect(await mb.search({ type: 'header', field: 'subject', value: 'ALPHA' })).toEqual([small.uid]);
    expect(await mb.search({ type: 'body', value: 'Needle' })).toEqual([big.uid]);
    expect(await mb.search({ type: 'not', key: { type: 'body', value: 'needle' } })).toEqual([small.uid]);
    expect(await mb.search({ type: 'or', left: { type: 'uid', ranges: [{ from: small.uid, to: small.uid }] }, right: { type: 'text', value: 'beta' } })).toEqual([small.uid, big.uid]);
    await mb.close();
  });

  it('finds FROM in cached records as in parsed messages, ASCII or not, escaped or not', async () => {
    const from = (f: string, subject: string) => Buffer.from(`From: ${f}\nSubject: ${subject}\n\nbody\n`);
    const msgs: [string, string, boolean][] = [
      ['Linux Fan <fan@example.org>', 'plain', true],
      ['=?UTF-8?B?77ys77yp77yu77y177y4?= <wide@example.org>', 'full-width letters, NFKC', true],
      ['"The \\"LINUX\\" guy" <q@example.org>', 'quoted, escaped', true],
      ['=?UTF-8?Q?Ren=C3=A9?= <linux@example.org>', 'non-ASCII name, ASCII address', true],
      ['=?UTF-8?B?TGludXggRmFu?= <fan2@example.org>', 'an encoded word that says "Linux Fan" (records keep raw values)', true],
      ['Someone <s2@example.org>\nTo: linux@example.org', 'in another field only', false],
      ['Lin Ux <lin@example.org>', 'split by a space', false],
      ['=?UTF-8?Q?Andr=C3=A9?= <andre@example.org>', 'non-ASCII, no match', false],
      ['Someone <someone@example.org>', 'nothing', false],
    ];
    const uids: number[] = [];
    for (const [f, subject] of msgs) uids.push((await user.append('INBOX', from(f, subject))).uid);
    const want = uids.filter((_, i) => msgs[i]![2]);
    const key = { type: 'header', field: 'from', value: 'LINUX' } as const;
    const mb = await user.open('INBOX', { readOnly: false });
    expect(await mb.search(key)).toEqual(want); // parsed now, the records written to the cache file
    await mb.close();
    await store.close();
    // a fresh process's view: every header comes from the cache file, checked before it is decoded
    store = new MaildirStore({ rootOf: () => root() });
    user = await store.forUser('alice@example.org');
    const checked = vi.spyOn(CacheFile.prototype, 'headBytes');
    try {
      const again = await user.open('INBOX', { readOnly: false });
      expect(await again.search(key)).toEqual(want);
      expect(checked.mock.results.filter((r) => r.value !== undefined)).toHaveLength(msgs.length);
      await again.close();
    } finally {
      checked.mockRestore();
    }
  });
});
