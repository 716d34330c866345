// End to end over real sockets: `imapflow` against a Mailroom server started
// in this process on ephemeral ports, a user whose INBOX holds SpamAssassin
// corpus messages (bench/corpus.mjs), everything compared with the files on disk.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImapFlow, type FetchMessageObject, type MessageStructureObject } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, seedUser, startInProcess, type InProcessServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';

const USER = 'alice@example.test';
const MESSAGES = 40;
const tmp = tempDir('mailroom-e2e-');
let srv: InProcessServer;
let maildir: string;
let cert: Buffer;

interface DiskMessage {
  name: string;
  crlf: Buffer;
  flags: string;
}

/** The INBOX as files: name, content with LF→CRLF (what IMAP serves), the flag letters. */
function diskInbox(): DiskMessage[] {
  const out: DiskMessage[] = [];
  for (const sub of ['cur', 'new']) {
    for (const name of readdirSync(join(maildir, sub))) {
      const raw = readFileSync(join(maildir, sub, name));
      out.push({ name, crlf: Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1'), flags: name.includes(':2,') ? name.split(':2,')[1] : '' });
    }
  }
  return out;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** STATUS messages of a mailbox */
async function messagesIn(c: ImapFlow, box: string): Promise<number> {
  const s = await c.status(box, { messages: true });
  if (!s || s.messages === undefined) throw new Error(`no STATUS for ${box}`);
  return s.messages;
}

function client(o: { port?: number; secure?: boolean; starttls?: boolean } = {}): ImapFlow {
  const c = new ImapFlow({
    host: '127.0.0.1',
    port: o.port ?? srv.port,
    secure: o.secure ?? false,
    doSTARTTLS: o.starttls,
    auth: { user: USER, pass: PASSWORD },
    logger: false,
    tls: { ca: cert, servername: 'mail.example.test' },
    disableAutoIdle: true,
  });
  c.on('error', () => {});
  return c;
}

async function connected(o: Parameters<typeof client>[0] = {}): Promise<ImapFlow> {
  const c = client(o);
  await c.connect();
  return c;
}

beforeAll(async () => {
  maildir = await seedUser(join(tmp.dir, 'data'), USER, MESSAGES);
  srv = await startInProcess(tmp.dir);
  cert = readFileSync(srv.server.tls.current.certPath);
});
afterAll(async () => {
  await srv?.stop();
  tmp.cleanup();
});

describe('IMAP end to end with imapflow', () => {
  it('LIST, STATUS and SELECT agree with the Maildir', async () => {
    const c = await connected();
    const list = await c.list();
    const names = list.map((m) => m.path).sort();
    expect(names).toEqual(expect.arrayContaining(['INBOX', 'Sent', 'Archive', 'Drafts', 'Trash']));
    expect(list.find((m) => m.path === 'Sent')?.specialUse).toBe('\\Sent');
    expect(list.find((m) => m.path === 'INBOX')?.delimiter).toBe('/');
    const disk = diskInbox();
    const status = await c.status('INBOX', { messages: true, unseen: true, uidNext: true, uidValidity: true });
    expect(status).toMatchObject({ messages: MESSAGES, unseen: disk.filter((m) => !m.flags.includes('S')).length, uidNext: MESSAGES + 1 });
    const box = await c.mailboxOpen('INBOX');
    expect(box.exists).toBe(MESSAGES);
    expect(box.uidNext).toBe(MESSAGES + 1);
    expect(box.uidValidity).toBe(status && status.uidValidity);
    await c.logout();
  });

  it('FETCH of every item matches the files: BODY[] byte for byte, sizes, flags, headers, envelope, body structure', async () => {
    const c = await connected();
    await c.mailboxOpen('INBOX', { readOnly: true });
    const fetched = await c.fetchAll('1:*', { uid: true, flags: true, envelope: true, bodyStructure: true, internalDate: true, size: true, source: true, headers: true });
    const disk = new Map(diskInbox().map((m) => [sha(m.crlf), m]));
    expect(fetched).toHaveLength(MESSAGES);
    const seenFiles = new Set<string>();
    for (const msg of fetched) {
      const file = disk.get(sha(msg.source!));
      expect(file, `BODY[] of UID ${msg.uid} is not any file on disk byte for byte`).toBeDefined();
      seenFiles.add(file!.name);
      expect(msg.size).toBe(file!.crlf.length);
      const letters: Record<string, string> = { S: '\\Seen', F: '\\Flagged', R: '\\Answered', D: '\\Draft', T: '\\Deleted' };
      expect([...msg.flags!].filter((f) => f.startsWith('\\')).sort()).toEqual([...file!.flags].map((l) => letters[l]).filter(Boolean).sort());
      const text = file!.crlf.toString('latin1');
      const headerEnd = text.indexOf('\r\n\r\n') + 4;
      expect(msg.headers!.toString('latin1')).toBe(text.slice(0, headerEnd));
      const mid = /^message-id:\s*(<[^>\r\n]*>)/im.exec(text.slice(0, headerEnd))?.[1];
      if (mid) expect(msg.envelope!.messageId).toBe(mid);
      expect(msg.internalDate).toBeInstanceOf(Date);
    }
    expect(seenFiles.size).toBe(MESSAGES);

    // BODYSTRUCTURE sizes are the lengths of BODY[part] (RFC 3501 7.4.2: size in octets of the encoded body)
    let checkedParts = 0;
    for (const msg of fetched.slice(0, 20)) {
      const leaves: { part: string; size: number }[] = [];
      const walk = (n: MessageStructureObject) => {
        if (n.childNodes?.length) n.childNodes.forEach(walk);
        else leaves.push({ part: n.part ?? '1', size: n.size ?? 0 });
      };
      walk(msg.bodyStructure!);
      const one = (await c.fetchOne(String(msg.uid), { bodyParts: leaves.map((l) => l.part) }, { uid: true })) as FetchMessageObject;
      for (const l of leaves) {
        expect(one.bodyParts?.get(l.part)?.length, `UID ${msg.uid} part ${l.part}`).toBe(l.size);
        checkedParts++;
      }
    }
    expect(checkedParts).toBeGreaterThanOrEqual(20);
    // BODY.PEEK never set \Seen
    const after = await c.fetchAll('1:*', { flags: true });
    expect(after.filter((m) => m.flags?.has('\\Seen')).length).toBe(fetched.filter((m) => m.flags?.has('\\Seen')).length);
    await c.logout();
  });

  it('SEARCH finds by flag, by header and by sender', async () => {
    const c = await connected();
    await c.mailboxOpen('INBOX');
    const all = await c.fetchAll('1:*', { uid: true, flags: true, headers: ['message-id', 'from'] });
    const unseen = all.filter((m) => !m.flags!.has('\\Seen')).map((m) => m.uid);
    expect(await c.search({ seen: false }, { uid: true })).toEqual(unseen);
    const flagged = all.filter((m) => m.flags!.has('\\Flagged')).map((m) => m.uid);
    expect(await c.search({ flagged: true }, { uid: true })).toEqual(flagged);
    const target = all.find((m) => /message-id:\s*<[^>]+>/i.test(m.headers!.toString()))!;
    const id = /message-id:\s*(<[^>]+>)/i.exec(target.headers!.toString())![1];
    expect(await c.search({ header: { 'message-id': id } }, { uid: true })).toEqual([target.uid]);
    const from = /@([A-Za-z0-9.-]+)/.exec(all[0].headers!.toString().split(/\r\n(?!\s)/).find((l) => /^from:/i.test(l)) ?? '')?.[1];
    if (from) expect(await c.search({ from }, { uid: true })).toContain(all[0].uid);
    await c.logout();
  });

  it('STORE changes flags on the wire and in the file name', async () => {
    const c = await connected();
    await c.mailboxOpen('INBOX');
    const [first] = await c.fetchAll('1', { uid: true });
    expect(await c.messageFlagsAdd(String(first.uid), ['\\Flagged', '\\Answered'], { uid: true })).toBe(true);
    const one = (await c.fetchOne(String(first.uid), { flags: true }, { uid: true })) as FetchMessageObject;
    expect(one.flags!.has('\\Flagged') && one.flags!.has('\\Answered')).toBe(true);
    const bodies = await c.fetchAll(String(first.uid), { source: true }, { uid: true });
    const file = diskInbox().find((m) => sha(m.crlf) === sha(bodies[0].source!))!;
    expect(file.flags).toMatch(/F/);
    expect(file.flags).toMatch(/R/);
    await c.messageFlagsRemove(String(first.uid), ['\\Flagged'], { uid: true });
    const again = (await c.fetchOne(String(first.uid), { flags: true }, { uid: true })) as FetchMessageObject;
    expect(again.flags!.has('\\Flagged')).toBe(false);
    await c.logout();
  });

  it('COPY and MOVE report COPYUID; the copies have the same bytes', async () => {
    const c = await connected();
    await c.mailboxOpen('INBOX');
    const src = await c.fetchAll('1:3', { uid: true, source: true });
    const archived = await messagesIn(c, 'Archive');
    const copied = await c.messageCopy(`${src[0].uid}:${src[1].uid}`, 'Archive', { uid: true });
    expect(copied && copied.uidMap?.size).toBe(2);
    expect(copied && copied.uidValidity).toBeTruthy();
    const moved = await c.messageMove(String(src[2].uid), 'Trash', { uid: true });
    const trashUid = moved && moved.uidMap?.get(src[2].uid);
    expect(trashUid).toBeGreaterThan(0);
    expect(await messagesIn(c, 'INBOX')).toBe(MESSAGES - 1);
    expect(await messagesIn(c, 'Archive')).toBe(archived + 2);
    await c.mailboxOpen('Archive');
    const destUid = copied && copied.uidMap!.get(src[0].uid)!;
    const inArchive = (await c.fetchOne(String(destUid), { source: true }, { uid: true })) as FetchMessageObject;
    expect(inArchive.source!.equals(src[0].source!)).toBe(true);
    await c.mailboxOpen('Trash');
    const inTrash = (await c.fetchOne(String(trashUid), { source: true }, { uid: true })) as FetchMessageObject;
    expect(inTrash.source!.equals(src[2].source!)).toBe(true);
    await c.logout();
  });

  it('APPEND reports APPENDUID and stores the message; EXPUNGE removes it from disk', async () => {
    const c = await connected();
    await c.mailboxOpen('INBOX');
    const body = Buffer.from(`From: Bob <bob@example.test>\r\nTo: ${USER}\r\nSubject: appended\r\nMessage-ID: <appended-1@example.test>\r\n\r\nHello from APPEND.\r\n`);
    const before = diskInbox().length;
    const r = await c.append('INBOX', body, ['\\Seen'], new Date('2026-01-02T03:04:05Z'));
    expect(r && r.uid).toBeGreaterThan(MESSAGES);
    expect(r && r.uidValidity).toBeTruthy();
    const uid = String(r && r.uid);
    const got = (await c.fetchOne(uid, { source: true, flags: true, internalDate: true }, { uid: true })) as FetchMessageObject;
    expect(got.source!.equals(body)).toBe(true);
    expect(got.flags!.has('\\Seen')).toBe(true);
    expect((got.internalDate as Date).toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(diskInbox().length).toBe(before + 1);
    expect(diskInbox().some((m) => m.crlf.equals(body))).toBe(true);
    expect(await c.messageDelete(uid, { uid: true })).toBe(true);
    expect(diskInbox().some((m) => m.crlf.equals(body))).toBe(false);
    expect(await c.search({ uid }, { uid: true })).toEqual([]);
    await c.logout();
  });

  it('IDLE announces an APPEND from a second client and a file dropped into new/ by hand', async () => {
    const watcher = await connected();
    const box = await watcher.mailboxOpen('INBOX');
    const start = box.exists;
    let exists = start;
    watcher.on('exists', (e: { count: number }) => (exists = e.count));
    const idling = watcher.idle();
    await sleep(100);
    const other = await connected();
    const r = await other.append('INBOX', Buffer.from('Subject: idle test\r\n\r\nping\r\n'));
    await other.logout();
    for (let i = 0; i < 40 && exists === start; i++) await sleep(50);
    expect(exists).toBe(start + 1);

    const name = `${Math.floor(Date.now() / 1000)}.M1P1Q1.handmade`;
    writeFileSync(join(maildir, 'tmp', name), 'Subject: dropped by hand\n\nhello\n');
    renameSync(join(maildir, 'tmp', name), join(maildir, 'new', name));
    for (let i = 0; i < 40 && exists === start + 1; i++) await sleep(50);
    expect(exists).toBe(start + 2);
    await watcher.noop(); // ends IDLE
    await idling;
    // one UID per file, the dropped file right after the appended one
    const uids = (await watcher.fetchAll('1:*', { uid: true })).map((m) => m.uid);
    expect(uids).toHaveLength(diskInbox().length);
    expect(new Set(uids).size).toBe(uids.length);
    const last = (await watcher.fetchOne('*', { uid: true, source: true })) as FetchMessageObject;
    expect(last.uid).toBe((r ? r.uid! : 0) + 1);
    expect(last.source!.toString()).toBe('Subject: dropped by hand\r\n\r\nhello\r\n');
    await watcher.logout();
  });

  it('STARTTLS on the plain port and implicit TLS on the TLS port, with the generated certificate', async () => {
    const viaStartTls = await connected({ starttls: true });
    expect(viaStartTls.secureConnection).toBe(true);
    expect(await messagesIn(viaStartTls, 'INBOX')).toBeGreaterThan(0);
    await viaStartTls.logout();
    const implicit = await connected({ port: srv.tlsPort, secure: true });
    expect(implicit.secureConnection).toBe(true);
    expect(implicit.capabilities.has('STARTTLS')).toBe(false);
    await implicit.mailboxOpen('INBOX');
    await implicit.logout();
  });

  it('logs connect, login and disconnect with byte counts, and never the password', async () => {
    const text = srv.logText();
    expect(text).not.toContain(PASSWORD);
    const disconnects = srv.logs.filter((l) => l.msg === 'disconnect');
    expect(disconnects.length).toBeGreaterThan(3);
    expect(disconnects.every((l) => typeof l.bytesIn === 'number' && typeof l.bytesOut === 'number')).toBe(true);
    expect(srv.logs.some((l) => l.msg === 'connect' && l.remote === '127.0.0.1')).toBe(true);
    expect(text).toContain(USER);
  });
});
