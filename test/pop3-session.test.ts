// POP3 sessions against the real Maildir store: exact RETR bytes, streaming,
// UPDATE only on QUIT, the maildrop lock, snapshot semantics, STLS injection,
// IMAP's view of POP3's deletions, shutdown, autologout, pipelining.
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ALICE, exchange, gatedStore, pop3Fixture, type Pop3Fixture } from './helpers/pop3-harness.js';
import { MAILDROP_LOCK_NAME } from '../maildir/maildrop-lock.js';
import { isWatching } from '../maildir/watcher.js';
import type { Pop3Session } from '../protocol/pop3/session.js';
import type { Pop3MemoryIO } from './helpers/pop3-memory-io.js';

/** The stored message as POP3 must deliver it: CRLF line endings, a final CRLF (a trailing CR only gets its LF). */
function expectedCrlf(stored: Buffer): string {
  const s = stored.toString('latin1').replace(/\r?\n/g, '\r\n');
  return s.endsWith('\r\n') ? s : s.endsWith('\r') ? `${s}\n` : `${s}\r\n`;
}

/** A multi-line reply body: the terminator checked and removed, byte-stuffing undone. */
function unstuff(reply: string): string {
  expect(reply.endsWith('\r\n.\r\n')).toBe(true);
  const body = reply.slice(0, -3);
  return body
    .split('\r\n')
    .map((l) => (l.startsWith('.') ? l.slice(1) : l))
    .join('\r\n');
}

/** Split "+OK ...\r\n<body>" into the status line and the rest. */
function statusAndBody(reply: string): [string, string] {
  const i = reply.indexOf('\r\n');
  return [reply.slice(0, i), reply.slice(i + 2)];
}

async function login(fx: Pop3Fixture, o: Parameters<Pop3Fixture['connect']>[0] = {}): Promise<{ session: Pop3Session; io: Pop3MemoryIO }> {
  const c = await fx.connect(o);
  const reply = await exchange(c.session, c.io, `USER ${ALICE}`, 'PASS secret');
  expect(reply).toMatch(/\+OK Logged in/);
  return c;
}

let fx: Pop3Fixture | undefined;
afterEach(() => {
  fx?.cleanup();
  fx = undefined;
});

const tricky = [
  Buffer.from('Subject: dots\n\n.\n..\n.leading\nmiddle . dot\n.\n'),
  Buffer.from('Subject: crlf\r\n\r\nalready\r\ncrlf\r\n'),
  Buffer.from('Subject: mixed\r\n\nbare\nand\r\ncrlf\n'),
  Buffer.from('Subject: none\n\nno final newline'),
  Buffer.from('Subject: cr\n\nends in a CR\r'),
  Buffer.from('Subject: empty body\n\n'),
  Buffer.from('.Subject-less message starting with a dot\n\nbody\n'),
];

describe('RETR', () => {
  it('returns each stored message exactly, modulo CRLF and byte-stuffing, with the size LIST gives', async () => {
    fx = await pop3Fixture(tricky);
    const { session, io } = await login(fx);
    const list = await exchange(session, io, 'LIST');
    for (const [k, stored] of tricky.entries()) {
      const n = k + 1;
      const want = expectedCrlf(stored);
      const [status, body] = statusAndBody(await exchange(session, io, `RETR ${n}`));
      const size = Number(/^\+OK (\d+) octets$/.exec(status)?.[1]);
      const got = unstuff(body);
      expect(got, `message ${n}`).toBe(want);
      // the listed size is the CRLF size of what RETR sends (before stuffing and terminator)
      const crlfSize = stored.toString('latin1').replace(/\r?\n/g, '\r\n').length;
      expect(size, `message ${n}`).toBe(crlfSize);
      expect(list).toContain(`\r\n${n} ${crlfSize}\r\n`);
    }
  });

  it('sizes the messages another MDA left without W= by reading them, and the others from their names', async () => {
    fx = await pop3Fixture(tricky.slice(0, 3)); // delivered by us: S= and W= in the name
    const foreign = [Buffer.from('Subject: foreign 1\n\nline\nline\n'), Buffer.from('Subject: foreign 2\r\n\r\ncrlf\r\nbare\n')];
    foreign.forEach((b, k) => writeFileSync(join(fx!.rootOf(ALICE), 'cur', `1600000000.M${k}P1.other:2,S`), b));
    const { session, io } = await login(fx);
    const all = [...tricky.slice(0, 3), ...foreign];
    const crlf = all.map((b) => b.toString('latin1').replace(/\r?\n/g, '\r\n').length);
    expect(await exchange(session, io, 'STAT')).toBe(`+OK ${all.length} ${crlf.reduce((a, b) => a + b, 0)}\r\n`);
    const list = await exchange(session, io, 'LIST');
    // discovery order: ours (delivered first) then the foreign ones, by name
    expect(list.split('\r\n').slice(1, -2).map((l) => Number(l.split(' ')[1])).sort((a, b) => a - b)).toEqual([...crlf].sort((a, b) => a - b));
  });

  it('pipelined RETRs in any order, around a DELE, get the same bytes as RETRs sent one at a time (read-ahead kept in step)', async () => {
    fx = await pop3Fixture(tricky);
    const { session, io } = await login(fx);
    const one: string[] = [];
    for (let n = 1; n <= tricky.length; n++) one.push(await exchange(session, io, `RETR ${n}`));
    const piped = await exchange(session, io, 'RETR 1', 'RETR 2', 'DELE 4', 'RETR 3', 'RETR 4', 'RETR 5', 'RETR 2', 'RETR 7', 'RETR 6');
    const want = [one[0], one[1], '+OK Message 4 marked for deletion\r\n', one[2], '-ERR Message 4 is marked for deletion\r\n', one[4], one[1], one[6], one[5]];
    expect(piped).toBe(want.join(''));
  });

  it('TOP of messages read ahead whole for RETR: opened again and cut, the RETRs after it unchanged', async () => {
    fx = await pop3Fixture(tricky);
    const { session, io } = await login(fx);
    const retr2 = await exchange(session, io, 'RETR 2'); // reads 3.. ahead, whole
    expect(await exchange(session, io, 'TOP 3 1')).toBe('+OK Top of message follows\r\nSubject: mixed\r\n\r\nbare\r\n.\r\n');
    expect(await exchange(session, io, 'TOP 1 1')).toBe('+OK Top of message follows\r\nSubject: dots\r\n\r\n..\r\n.\r\n');
    const [status, body] = statusAndBody(await exchange(session, io, 'RETR 3'));
    expect(status).toBe(`+OK ${expectedCrlf(tricky[2]!).length} octets`);
    expect(unstuff(body)).toBe(expectedCrlf(tricky[2]!));
    expect(await exchange(session, io, 'RETR 2')).toBe(retr2);
  });

  it('streams a 5 MB message in bounded chunks', async () => {
    const line = `${'x'.repeat(70)}\n.starts with a dot\n`;
    const big = Buffer.from(`Subject: big\n\n${line.repeat(Math.ceil((5 * 1024 * 1024) / line.length))}`);
    fx = await pop3Fixture([big]);
    const { session, io } = await login(fx);
    const reply = await exchange(session, io, 'RETR 1');
    const [status, body] = statusAndBody(reply);
    expect(status).toBe(`+OK ${expectedCrlf(big).length} octets`);
    expect(unstuff(body)).toBe(expectedCrlf(big));
    expect(io.pipedChunks.length).toBeGreaterThan(40);
    expect(Math.max(...io.pipedChunks)).toBeLessThanOrEqual(256 * 1024);
  });

  it('TOP n stops reading after n body lines of a large message', async () => {
    const big = Buffer.from(`Subject: big\n\n${'line\n'.repeat(400_000)}`);
    fx = await pop3Fixture([big]);
    const { session, io } = await login(fx);
    const reply = await exchange(session, io, 'TOP 1 3');
    expect(reply).toBe('+OK Top of message follows\r\nSubject: big\r\n\r\nline\r\nline\r\nline\r\n.\r\n');
    expect(io.pipedChunks.length).toBe(2); // one file chunk (cut) and the terminator
  });

  it('a read failure mid-message closes the connection instead of sending a truncated message', async () => {
    const big = Buffer.from(`Subject: big\n\n${'y'.repeat(1_000_000)}\n`);
    fx = await pop3Fixture([big]);
    const { session, io } = await login(fx);
    io.failPipeAfter = 2;
    await exchange(session, io, 'DELE 1', 'RETR 1');
    io.take();
    session.receive(Buffer.from('RSET\r\nRETR 1\r\n'));
    await session.idle();
    expect(io.take()).toMatch(/^\+OK Maildrop has 1 messages \(\d+ octets\)\r\n\+OK \d+ octets\r\n/);
    expect(io.closedByServer).toBe(true);
    // no UPDATE happened, and the lock is free again
    const again = await login(fx);
    expect(await exchange(again.session, again.io, 'STAT')).toMatch(/^\+OK 1 /);
  });
});

describe('UPDATE', () => {
  it('DELE + QUIT removes the messages; DELE + dropped connection removes nothing', async () => {
    fx = await pop3Fixture(tricky.slice(0, 3));
    const a = await login(fx);
    expect(await exchange(a.session, a.io, 'DELE 1', 'DELE 3')).toBe('+OK Message 1 marked for deletion\r\n+OK Message 3 marked for deletion\r\n');
    a.session.closed();
    await a.session.idle();
    const inbox = await (await fx.store.forUser(ALICE)).status('INBOX');
    expect(inbox.messages).toBe(3);

    const b = await login(fx);
    await exchange(b.session, b.io, 'DELE 1', 'DELE 3');
    expect(await exchange(b.session, b.io, 'QUIT')).toMatch(/^\+OK .*\(1 messages left\)\r\n$/);
    expect(b.io.closedByServer).toBe(true);
    expect((await (await fx.store.forUser(ALICE)).status('INBOX')).messages).toBe(1);

    const c = await login(fx);
    const [, body] = statusAndBody(await exchange(c.session, c.io, 'RETR 1'));
    expect(unstuff(body)).toBe(expectedCrlf(tricky[1]));
  });

  it('an IMAP handle on the same INBOX sees POP3 deletions as expunges, and RETR marks \\Seen at QUIT', async () => {
    fx = await pop3Fixture(tricky.slice(0, 3));
    const imap = await (await fx.store.forUser(ALICE)).open('INBOX', { readOnly: false });
    const uids = imap.uids().slice();
    const { session, io } = await login(fx);
    await exchange(session, io, 'RETR 2', 'DELE 3', 'QUIT');
    const changes = await imap.sync();
    expect(changes.expunged).toEqual([uids[2]]);
    expect(imap.meta(uids[1])?.flags).toContain('\\Seen');
    expect(imap.meta(uids[0])?.flags).not.toContain('\\Seen');
    await imap.close();
  });

  it('UIDL agrees with IMAP UIDVALIDITY and UIDs', async () => {
    fx = await pop3Fixture(tricky.slice(0, 2));
    const mb = await (await fx.store.forUser(ALICE)).open('INBOX', { readOnly: true });
    const hex = (n: number) => n.toString(16).padStart(8, '0');
    const want = mb.uids().map((u, i) => `${i + 1} ${hex(u)}${hex(mb.uidValidity)}`);
    await mb.close();
    const { session, io } = await login(fx);
    expect(await exchange(session, io, 'UIDL')).toBe(`+OK Unique-ID listing follows\r\n${want.join('\r\n')}\r\n.\r\n`);
  });
});

describe('the maildrop lock', () => {
  it('a second session gets [IN-USE] and stays in AUTHORIZATION; the lock is free after QUIT', async () => {
    fx = await pop3Fixture(tricky.slice(0, 1));
    const a = await login(fx);
    const b = await fx.connect();
    expect(await exchange(b.session, b.io, `USER ${ALICE}`, 'PASS secret')).toBe(
      '+OK Send your password\r\n-ERR [IN-USE] The maildrop is in use by another POP3 session\r\n',
    );
    expect(b.io.closedByServer).toBe(false);
    expect(await exchange(b.session, b.io, 'STAT')).toBe('-ERR STAT is only valid after login\r\n');
    await exchange(a.session, a.io, 'QUIT');
    expect(await exchange(b.session, b.io, `USER ${ALICE}`, 'PASS secret')).toMatch(/\+OK Logged in/);
  });

  it('the INBOX is not watched for a POP3 session (a snapshot needs no news; each own rename would cost an event)', async () => {
    fx = await pop3Fixture(tricky.slice(0, 2));
    const a = await login(fx);
    expect(await exchange(a.session, a.io, 'STAT')).toMatch(/^\+OK 2 /);
    expect(isWatching(fx.rootOf(ALICE))).toBe(false);
    await exchange(a.session, a.io, 'RETR 1', 'QUIT');
    const mb = await (await fx.store.forUser(ALICE)).open('INBOX', { readOnly: true });
    expect(mb.meta(mb.uids()[0]!)?.flags).toEqual(['\\Seen']);
    await mb.close();
  });

  it('a stale lock left by a dead process on this host is broken', async () => {
    fx = await pop3Fixture(tricky.slice(0, 1));
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    expect(dead).toBeGreaterThan(0);
    writeFileSync(join(fx.rootOf(ALICE), MAILDROP_LOCK_NAME), `${hostname()} ${dead}\n`);
    await login(fx);
  });

  it('shutdown says why, applies no deletions and releases the lock', async () => {
    fx = await pop3Fixture(tricky.slice(0, 2));
    const a = await login(fx);
    await exchange(a.session, a.io, 'DELE 1');
    await a.session.shutdown('Server shutting down');
    expect(a.io.take()).toBe('-ERR [SYS/TEMP] Server shutting down\r\n');
    expect(a.io.closedByServer).toBe(true);
    const b = await login(fx);
    expect(await exchange(b.session, b.io, 'STAT')).toMatch(/^\+OK 2 /);
  });

  it('autologout after the idle timeout releases the lock without UPDATE', async () => {
    fx = await pop3Fixture(tricky.slice(0, 2));
    const a = await login(fx, { limits: { idleTimeoutMs: 20 } });
    await exchange(a.session, a.io, 'DELE 1');
    for (let i = 0; i < 500 && !a.io.closedByServer; i++) await new Promise((r) => setTimeout(r, 10));
    await a.session.idle();
    expect(a.io.take()).toBe('-ERR Autologout: idle for too long\r\n');
    const b = await login(fx);
    expect(await exchange(b.session, b.io, 'STAT')).toMatch(/^\+OK 2 /);
  });
});

describe('opening the maildrop after PASS', () => {
  const tick = () => new Promise((r) => setTimeout(r, 20));

  it('answers PASS once the lock is held, before the INBOX is listed; the first command waits for the listing', async () => {
    fx = await pop3Fixture(tricky.slice(0, 2));
    let open!: () => void;
    const c = await fx.connect({ store: gatedStore(fx.store, new Promise<void>((r) => (open = r))) });
    expect(await exchange(c.session, c.io, `USER ${ALICE}`, 'PASS secret')).toBe('+OK Send your password\r\n+OK Logged in\r\n');
    // the lock is already ours
    const other = await fx.connect();
    expect(await exchange(other.session, other.io, `USER ${ALICE}`, 'PASS secret')).toMatch(/-ERR \[IN-USE\]/);
    c.session.receive(Buffer.from('STAT\r\n'));
    await tick();
    expect(c.io.take()).toBe('');
    open();
    await c.session.idle();
    expect(c.io.take()).toMatch(/^\+OK 2 \d+\r\n$/);
  });

  it('a maildrop that cannot be opened: the first command gets -ERR [SYS/TEMP], the session ends, the lock is released', async () => {
    fx = await pop3Fixture(tricky.slice(0, 1));
    const broken = Promise.reject(new Error('disk on fire'));
    broken.catch(() => {});
    const c = await fx.connect({ store: gatedStore(fx.store, broken) });
    expect(await exchange(c.session, c.io, `USER ${ALICE}`, 'PASS secret')).toMatch(/\+OK Logged in\r\n$/);
    expect(await exchange(c.session, c.io, 'LIST', 'STAT')).toBe('-ERR [SYS/TEMP] The maildrop could not be opened, try again later\r\n');
    expect(c.io.closedByServer).toBe(true);
    expect(c.log.entries.some((e) => e.level === 'error' && e.msg === 'pop3 could not open the maildrop')).toBe(true);
    const b = await login(fx);
    expect(await exchange(b.session, b.io, 'STAT')).toMatch(/^\+OK 1 /);
  });

  it('QUIT right after PASS waits for the open, and a client gone before any command leaves the lock free', async () => {
    fx = await pop3Fixture(tricky.slice(0, 1));
    let open!: () => void;
    const a = await fx.connect({ store: gatedStore(fx.store, new Promise<void>((r) => (open = r))) });
    await exchange(a.session, a.io, `USER ${ALICE}`, 'PASS secret');
    a.session.receive(Buffer.from('QUIT\r\n'));
    await tick();
    open();
    await a.session.idle();
    expect(a.io.take()).toMatch(/^\+OK .*\(1 messages left\)\r\n$/);

    let open2!: () => void;
    const b = await fx.connect({ store: gatedStore(fx.store, new Promise<void>((r) => (open2 = r))) });
    await exchange(b.session, b.io, `USER ${ALICE}`, 'PASS secret');
    b.session.closed();
    open2();
    await b.session.idle();
    const c = await login(fx);
    expect(await exchange(c.session, c.io, 'STAT')).toMatch(/^\+OK 1 /);
  });
});

describe('snapshot semantics', () => {
  it('messages delivered during a session are not shown to it, and are at the next login', async () => {
    fx = await pop3Fixture(tricky.slice(0, 2));
    const a = await login(fx);
    const before = await exchange(a.session, a.io, 'STAT', 'LIST', 'UIDL');
    await (await fx.store.forUser(ALICE)).append('INBOX', Buffer.from('Subject: late\n\nlate\n'));
    await (await fx.store.forUser(ALICE)).deliver('INBOX', Buffer.from('Subject: later\n\nlater\n'));
    expect(await exchange(a.session, a.io, 'STAT', 'LIST', 'UIDL')).toBe(before);
    expect(await exchange(a.session, a.io, 'RETR 3')).toBe('-ERR No such message (the maildrop has 2)\r\n');
    await exchange(a.session, a.io, 'QUIT');
    const b = await login(fx);
    expect(await exchange(b.session, b.io, 'STAT')).toMatch(/^\+OK 4 /);
  });
});

describe('STLS', () => {
  it('discards commands pipelined behind STLS and bytes sent during the handshake', async () => {
    fx = await pop3Fixture(tricky.slice(0, 1));
    const { session, io } = await fx.connect({ loopback: false, tlsAvailable: true });
    io.duringHandshake = () => session.receive(Buffer.from('QUIT\r\n'));
    const reply = await exchange(session, io, 'STLS', 'USER evil@example.org', 'CAPA');
    expect(reply).toBe('+OK Begin TLS negotiation\r\n');
    expect(io.secure).toBe(true);
    expect(io.closedByServer).toBe(false);
    // the injected USER was not kept: PASS has no user to go with
    expect(await exchange(session, io, 'PASS secret')).toBe('-ERR Send USER first\r\n');
    expect(await exchange(session, io, `USER ${ALICE}`, 'PASS secret')).toMatch(/\+OK Logged in/);
  });

  it('discards a partial line buffered before STLS', async () => {
    fx = await pop3Fixture([]);
    const { session, io } = await fx.connect({ loopback: false, tlsAvailable: true });
    io.take();
    session.receive(Buffer.from('STLS\r\nUSER ev'));
    await session.idle();
    session.receive(Buffer.from('il\r\nNOOP\r\n'));
    await session.idle();
    // "il" is the rest of a discarded line; NOOP is answered as a wrong-state command
    expect(io.take()).toBe('+OK Begin TLS negotiation\r\n-ERR Unknown command\r\n-ERR NOOP is only valid after login\r\n');
  });
});

describe('pipelining and flow control', () => {
  it('answers hundreds of commands sent in one chunk, in order, pausing input while they queue', async () => {
    fx = await pop3Fixture(tricky.slice(0, 3));
    const { session, io } = await login(fx);
    const cmds = Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? 'STAT' : i % 3 === 1 ? `LIST ${(i % 4) + 1}` : 'NOOP'));
    const reply = await exchange(session, io, ...cmds);
    const lines = reply.slice(0, -2).split('\r\n');
    expect(lines).toHaveLength(300);
    cmds.forEach((c, i) => {
      if (c === 'STAT') expect(lines[i]).toMatch(/^\+OK 3 \d+$/);
      else if (c === 'NOOP') expect(lines[i]).toBe('+OK');
      else if (c === 'LIST 4') expect(lines[i]).toBe('-ERR No such message (the maildrop has 3)');
      else expect(lines[i]).toMatch(new RegExp(`^\\+OK ${c.slice(5)} \\d+$`));
    });
    expect(io.pauses).toBeGreaterThan(0);
    expect(io.resumes).toBe(io.pauses);
  });
});
