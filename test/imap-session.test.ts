// ImapSession behaviour that a single transcript cannot show: several sessions on one
// mailbox, changes made outside (by hand in new/), IDLE pushes, RFC 3501 7.4.1's
// "no EXPUNGE during FETCH/STORE/SEARCH", aborted APPENDs, STARTTLS, timers, shutdown.
import { readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ALICE, imapWorld, type ImapWorld } from './helpers/memory-io.js';
import { sampleMessage } from './helpers/tmp.js';

let world: ImapWorld;

async function seed(n: number, mailbox = 'INBOX'): Promise<void> {
  const user = await world.store.forUser(ALICE);
  for (let i = 1; i <= n; i++) await user.append(mailbox, sampleMessage(`Message ${i}`));
}

/** untagged lines of a reply, without the tagged completion */
const untagged = (reply: string): string[] => reply.split('\r\n').filter((l) => l.startsWith('* '));

describe('ImapSession', () => {
  beforeEach(async () => {
    world = await imapWorld();
  });
  afterEach(async () => {
    await world.close();
  });

  it('two sessions on one INBOX: flags, expunges and new mail are announced to the other, \\Recent to exactly one', async () => {
    await seed(2);
    const a = await world.login();
    const b = await world.login();
    expect(await a.send('SELECT INBOX')).toContain('* 2 RECENT');
    expect(await b.send('SELECT INBOX')).toContain('* 0 RECENT');

    await a.send('STORE 1 +FLAGS (\\Flagged)');
    expect(untagged(await b.send('NOOP'))).toEqual(['* 1 FETCH (FLAGS (\\Flagged))']);

    await a.send('STORE 2 +FLAGS.SILENT (\\Deleted)');
    expect(untagged(await a.send('EXPUNGE'))).toEqual(['* 2 EXPUNGE']);
    expect(untagged(await b.send('NOOP'))).toContain('* 2 EXPUNGE');

    await seed(1);
    const seenByA = untagged(await a.send('NOOP'));
    const seenByB = untagged(await b.send('NOOP'));
    expect(seenByA.filter((l) => l.endsWith('EXISTS'))).toEqual(['* 2 EXISTS']);
    expect(seenByB.filter((l) => l.endsWith('EXISTS'))).toEqual(['* 2 EXISTS']);
    // A still holds \Recent of message 1 and gets the new one; B gets none
    expect(seenByA.filter((l) => l.endsWith('RECENT'))).toEqual(['* 2 RECENT']);
    expect(seenByB.filter((l) => l.endsWith('RECENT'))).toEqual(['* 0 RECENT']);
    expect(untagged(await a.send('FETCH 2 FLAGS'))).toEqual(['* 2 FETCH (FLAGS (\\Recent))']);
    expect(untagged(await b.send('FETCH 2 FLAGS'))).toEqual(['* 2 FETCH (FLAGS ())']);
  });

  it('a STORE on more messages than one batch answers every message once, in order, and changes them all', async () => {
    await seed(600);
    const a = await world.login();
    await a.send('SELECT INBOX');
    await a.send('STORE 5 +FLAGS.SILENT (\\Seen)');
    const reply = await a.send('UID STORE 1:* +FLAGS (\\Flagged)');
    expect(reply).toMatch(/OK Store completed\r\n$/);
    const want = Array.from({ length: 600 }, (_, i) => `* ${i + 1} FETCH (FLAGS (${i === 4 ? '\\Seen \\Flagged' : '\\Flagged'} \\Recent) UID ${i + 1})`);
    expect(untagged(reply)).toEqual(want);
    const b = await world.login();
    await b.send('EXAMINE INBOX');
    expect(untagged(await b.send('SEARCH UNFLAGGED'))).toEqual(['* SEARCH']);
  });

  it('MOVE by one session is an EXPUNGE for the other, after its next allowed command', async () => {
    await seed(3);
    const a = await world.login();
    const b = await world.login();
    await a.send('SELECT INBOX');
    await b.send('SELECT INBOX');
    const moved = await a.send('UID MOVE 2 Archive');
    expect(moved).toMatch(/\* OK \[COPYUID \d+ 2 1\] Moved UIDs\.\r\n\* 2 EXPUNGE\r\n/);
    expect(untagged(await b.send('NOOP'))).toEqual(['* 2 EXPUNGE']);
  });

  it('never sends EXPUNGE during FETCH, STORE or SEARCH; numbers stay put until NOOP', async () => {
    await seed(3);
    const a = await world.login();
    const b = await world.login();
    await a.send('SELECT INBOX');
    await b.send('SELECT INBOX');
    await b.send('STORE 2 +FLAGS.SILENT (\\Deleted)');
    await b.send('EXPUNGE');

    // RFC822.SIZE needs the message: the expunged one is skipped (RFC 2180 4.1.2)
    const fetched = await a.send('FETCH 1:3 (UID RFC822.SIZE)');
    expect(fetched).not.toMatch(/^\* \d+ EXPUNGE/m);
    expect(untagged(fetched).map((l) => l.replace(/ RFC822\.SIZE \d+/, ''))).toEqual(['* 1 FETCH (UID 1)', '* 3 FETCH (UID 3)']);
    expect(fetched).toMatch(/NO \[EXPUNGEISSUED\]/);

    const stored = await a.send('STORE 3 +FLAGS (\\Seen)');
    expect(stored).not.toMatch(/^\* \d+ EXPUNGE/m);
    expect(untagged(stored)).toEqual(['* 3 FETCH (FLAGS (\\Seen \\Recent))']);

    const searched = await a.send('SEARCH ALL');
    expect(searched).not.toMatch(/^\* \d+ EXPUNGE/m);
    expect(untagged(searched)).toEqual(['* SEARCH 1 3']);

    const uidSearched = await a.send('UID SEARCH ALL');
    expect(uidSearched).not.toMatch(/^\* \d+ EXPUNGE/m);

    expect(untagged(await a.send('NOOP'))).toEqual(['* 2 EXPUNGE']);
    expect(untagged(await a.send('SEARCH ALL'))).toEqual(['* SEARCH 1 2']);
  });

  it('IDLE: EXISTS pushed after another session APPENDs, then DONE', async () => {
    const a = await world.login();
    const b = await world.login();
    await a.send('SELECT INBOX');
    a.session.receive(Buffer.from('i1 IDLE\r\n'));
    await a.io.waitFor('+ idling\r\n');
    const t0 = Date.now();
    b.session.receive(Buffer.from('x APPEND INBOX {20+}\r\nSubject: hi\r\n\r\nHello\r\n'));
    const pushed = await a.io.waitFor(/\* \d+ RECENT\r\n/);
    process.stdout.write(`IDLE push after another session's APPEND: ${Date.now() - t0} ms\n`);
    expect(pushed).toMatch(/^\* \d+ EXISTS\r\n/);
    a.session.receive(Buffer.from('DONE\r\n'));
    expect(await a.io.waitFor(/i1 OK .*\r\n/)).toContain('i1 OK Idle completed');
  });

  it('IDLE: a file dropped into new/ by hand is announced (the store watcher)', async () => {
    const a = await world.login();
    await a.send('SELECT INBOX');
    a.session.receive(Buffer.from('i1 IDLE\r\n'));
    await a.io.waitFor('+ idling\r\n');
    const tmp = join(world.aliceRoot, 'tmp', 'byhand.1');
    writeFileSync(tmp, sampleMessage('dropped'));
    renameSync(tmp, join(world.aliceRoot, 'new', '1700000000.M1P1.byhand'));
    expect(await a.io.waitFor('* 1 EXISTS\r\n')).toContain('* 1 EXISTS');
    a.session.receive(Buffer.from('DONE\r\n'));
    await a.io.waitFor(/i1 OK .*\r\n/);
    expect(untagged(await a.send('FETCH 1 (UID FLAGS)'))).toEqual(['* 1 FETCH (UID 1 FLAGS (\\Recent))']);
  });

  it('IDLE sends "* OK Still here" as keepalive', async () => {
    await world.close();
    world = await imapWorld({ idleKeepaliveMs: 30 });
    const a = await world.login();
    a.session.receive(Buffer.from('i1 IDLE\r\n'));
    await a.io.waitFor('+ idling\r\n');
    await a.io.waitFor('* OK Still here\r\n');
    a.session.receive(Buffer.from('DONE\r\n'));
    await a.io.waitFor(/i1 OK Idle completed\r\n/);
  });

  it('an APPEND cut off by a disconnect leaves nothing behind', async () => {
    const a = await world.login();
    a.session.receive(Buffer.from('x APPEND INBOX {100000}\r\n'));
    await a.io.waitFor('+ Ready for literal data\r\n');
    a.session.receive(Buffer.alloc(40_000, 0x61));
    // let storage start writing the tmp file
    const tmpDir = join(world.aliceRoot, 'tmp');
    await a.io.until(() => readdirSync(tmpDir).length > 0).catch(() => {});
    a.session.closed();
    await a.io.until(() => readdirSync(tmpDir).length === 0);
    const user = await world.store.forUser(ALICE);
    expect((await user.status('INBOX')).messages).toBe(0);
    expect(readdirSync(join(world.aliceRoot, 'new'))).toEqual([]);
    expect(readdirSync(join(world.aliceRoot, 'cur'))).toEqual([]);
  });

  it('STARTTLS discards commands pipelined in cleartext (CVE-2011-0411)', async () => {
    const { io, session } = await world.connect({ loopback: false, tlsAvailable: true });
    await io.waitFor('\r\n');
    session.receive(Buffer.from('a STARTTLS\r\nb LOGIN alice secret\r\nc CAPABILITY\r\n'));
    await io.waitFor('a OK Begin TLS negotiation now\r\n');
    await io.until(() => io.secure);
    session.receive(Buffer.from('d CAPABILITY\r\n'));
    const out = await io.waitFor(/d OK .*\r\n/);
    expect(io.output).not.toMatch(/^b /m);
    expect(io.output).not.toMatch(/^c /m);
    expect(io.tlsStarts).toBe(1);
    expect(out).toContain('AUTH=PLAIN');
    expect(out).not.toContain('STARTTLS');
    expect(out).not.toContain('LOGINDISABLED');
  });

  it('LOGINDISABLED on a cleartext non-loopback connection; allowed by the operator or on loopback', async () => {
    const remote = await world.connect({ loopback: false });
    const greeting = await remote.io.waitFor('\r\n');
    expect(greeting).toContain('LOGINDISABLED');
    expect(greeting).not.toContain('AUTH=');
    remote.session.receive(Buffer.from('a LOGIN alice secret\r\n'));
    expect(await remote.io.waitFor(/a .*\r\n/)).toBe('a NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure connections\r\n');

    const local = await world.connect({ loopback: true });
    expect(await local.io.waitFor('\r\n')).not.toContain('LOGINDISABLED');

    await world.close();
    world = await imapWorld({ allowPlaintextAuth: true });
    const allowed = await world.connect({ loopback: false });
    expect(await allowed.io.waitFor('\r\n')).toContain('AUTH=PLAIN');
    allowed.session.receive(Buffer.from('a LOGIN alice secret\r\n'));
    expect(await allowed.io.waitFor(/a .*\r\n/)).toMatch(/^a OK \[CAPABILITY /);
  });

  it('autologout before login, with BYE', async () => {
    await world.close();
    world = await imapWorld({ limits: { appendLimit: 1 << 20, maxLineLength: 8192, idleTimeoutMs: 30 * 60_000, preauthTimeoutMs: 30, maxAuthFailures: 3 } });
    const { io } = await world.connect();
    await io.waitFor('* BYE Autologout; idle for too long\r\n');
    await io.until(() => io.closed);
  });

  it('shutdown interrupts IDLE with BYE and closes', async () => {
    const a = await world.login();
    await a.send('SELECT INBOX');
    a.session.receive(Buffer.from('i1 IDLE\r\n'));
    await a.io.waitFor('+ idling\r\n');
    await a.session.shutdown('Server shutting down');
    expect(await a.io.waitFor('* BYE Server shutting down\r\n')).toBeTruthy();
    expect(a.io.closed).toBe(true);
  });

  it('shutdown lets an APPEND being received finish', async () => {
    const a = await world.login();
    a.session.receive(Buffer.from('x APPEND INBOX {20}\r\n'));
    await a.io.waitFor('+ Ready for literal data\r\n');
    a.session.receive(Buffer.from('Subject: hi\r\n'));
    const stopping = a.session.shutdown('Server shutting down', 5000);
    a.session.receive(Buffer.from('\r\nHello\r\ny NOOP\r\n'));
    await stopping;
    expect(a.io.output).toMatch(/x OK \[APPENDUID \d+ 1\] Append completed\r\n\* BYE Server shutting down\r\n$/);
    const user = await world.store.forUser(ALICE);
    expect((await user.status('INBOX')).messages).toBe(1);
  });

  it('an unexpected error is NO [SERVERBUG], logged, and the session goes on', async () => {
    await world.close();
    world = await imapWorld({
      store: {
        forUser: async () => {
          throw new Error('disk on fire');
        },
      },
    });
    const { io, session } = await world.connect();
    await io.waitFor('\r\n');
    session.receive(Buffer.from('a LOGIN alice secret\r\nb NOOP\r\n'));
    expect(await io.waitFor(/b OK .*\r\n/)).toMatch(/^a NO \[SERVERBUG\] .*\r\nb OK NOOP completed\r\n$/);
    expect(world.log.entries.some((e) => e.level === 'error')).toBe(true);
  });
});
