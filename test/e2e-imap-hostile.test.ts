// Bad input over real sockets: the server answers (BAD, NO or BYE), never
// crashes, and keeps serving other clients throughout.
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, seedUser, startInProcess, type InProcessServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';

const USER = 'carol@example.test';
const tmp = tempDir('mailroom-hostile-');
let srv: InProcessServer;
let maildir: string;

beforeAll(async () => {
  maildir = await seedUser(join(tmp.dir, 'data'), USER, 3);
  srv = await startInProcess(tmp.dir);
});
afterAll(async () => {
  await srv?.stop();
  tmp.cleanup();
});

/** A raw IMAP connection: send bytes, wait for a line matching a pattern. */
class Raw {
  text = '';
  closed = false;
  private constructor(readonly sock: Socket) {
    sock.on('data', (b) => (this.text += b.toString('latin1')));
    sock.on('close', () => (this.closed = true));
    sock.on('error', () => {});
  }
  static async open(): Promise<Raw> {
    const r = new Raw(connect(srv.port, '127.0.0.1'));
    await r.until(/^\* OK .*\r\n/m);
    return r;
  }
  send(data: string | Buffer): void {
    this.sock.write(data);
  }
  /** resolves with the first match in what arrived since `from`; rejects on close without it */
  async until(re: RegExp, timeoutMs = 10_000): Promise<string> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.text);
      if (m) return m[0];
      if (this.closed) throw new Error(`closed without ${re}: ${JSON.stringify(this.text.slice(-300))}`);
      if (Date.now() > end) throw new Error(`timeout waiting for ${re}: ${JSON.stringify(this.text.slice(-300))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  async login(): Promise<void> {
    this.send(`L LOGIN ${USER} "${PASSWORD}"\r\n`);
    await this.until(/^L OK .*\r\n/m);
  }
}

/** A well-behaved client still gets full service. */
async function stillServing(): Promise<void> {
  const c = new ImapFlow({ host: '127.0.0.1', port: srv.port, secure: false, doSTARTTLS: false, auth: { user: USER, pass: PASSWORD }, logger: false });
  c.on('error', () => {});
  await c.connect();
  const box = await c.mailboxOpen('INBOX');
  expect(box.exists).toBeGreaterThanOrEqual(3);
  await c.logout();
}

describe('hostile and broken clients', () => {
  it('garbage bytes get BAD (or BYE), never a crash', async () => {
    const r = await Raw.open();
    r.send(Buffer.concat([randomBytes(4096).map((b) => (b === 0x0a || b === 0x0d ? 0x20 : b)), Buffer.from('\r\n')]));
    await r.until(/^(\S+ BAD|\* BAD|\* BYE).*\r\n/m);
    r.sock.destroy();
    await stillServing();
  });

  it('a 10 MB line is refused as too long and the connection can go on', async () => {
    const r = await Raw.open();
    const chunk = 'A'.repeat(1024 * 1024);
    r.send('T1 NOOP ');
    for (let i = 0; i < 10; i++) r.send(chunk);
    r.send('\r\nT2 NOOP\r\n');
    await r.until(/(^|\n)(T1 BAD|\* BAD|\* BYE)[^\r\n]*\r\n/);
    if (!r.closed && !/\* BYE/.test(r.text)) await r.until(/^T2 OK .*\r\n/m);
    r.sock.destroy();
    await stillServing();
  });

  it('a literal larger than APPENDLIMIT is refused without a continuation', async () => {
    const r = await Raw.open();
    await r.login();
    r.send('A1 APPEND INBOX {999999999}\r\n');
    const reply = await r.until(/^(A1 (NO|BAD)|\* BYE)[^\r\n]*\r\n/m);
    expect(reply).toMatch(/TOOBIG|LIMIT|too large|larger/i);
    expect(r.text).not.toMatch(/^\+ /m);
    r.sock.destroy();
    await stillServing();
  });

  it('unbalanced parentheses and deep nesting are BAD, and the next command works', async () => {
    const r = await Raw.open();
    await r.login();
    r.send('S1 SELECT INBOX\r\n');
    await r.until(/^S1 OK .*\r\n/m);
    r.send('F1 FETCH 1 (FLAGS UID\r\n');
    await r.until(/^F1 BAD .*\r\n/m);
    r.send('F2 FETCH 1 FLAGS)\r\n');
    await r.until(/^F2 BAD .*\r\n/m);
    r.send(`Q1 SEARCH ${'('.repeat(5000)}ALL${')'.repeat(5000)}\r\n`);
    await r.until(/^Q1 BAD .*\r\n/m);
    r.send('N1 NOOP\r\n');
    await r.until(/^N1 OK .*\r\n/m);
    r.sock.destroy();
  });

  it('commands in the wrong state are refused', async () => {
    const r = await Raw.open();
    r.send('W1 SELECT INBOX\r\n');
    await r.until(/^W1 (BAD|NO) .*\r\n/m);
    r.send('W2 FETCH 1 FLAGS\r\n');
    await r.until(/^W2 (BAD|NO) .*\r\n/m);
    await r.login();
    r.send('W3 FETCH 1 FLAGS\r\n');
    await r.until(/^W3 (BAD|NO) .*\r\n/m);
    r.send('W4 LOGIN again please\r\n');
    await r.until(/^W4 (BAD|NO) .*\r\n/m);
    r.send('W5 LOGOUT\r\n');
    await r.until(/^W5 OK .*\r\n/m);
    expect(r.text).toMatch(/^\* BYE/m);
  });

  it('a client that disconnects in the middle of an APPEND literal leaves no message behind', async () => {
    const count = () => readdirSync(join(maildir, 'cur')).length + readdirSync(join(maildir, 'new')).length;
    const before = count();
    const r = await Raw.open();
    await r.login();
    r.send('P1 APPEND INBOX {5000}\r\n');
    await r.until(/^\+ .*\r\n/m);
    r.send('Subject: half\r\n\r\n' + 'x'.repeat(1000));
    await new Promise((res) => setTimeout(res, 100));
    r.sock.destroy();
    await new Promise((res) => setTimeout(res, 300));
    expect(count()).toBe(before);
    expect(readdirSync(join(maildir, 'tmp'))).toEqual([]);
    await stillServing();
  });
});
