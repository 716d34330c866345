// Bad input over real sockets to a spawned `mailroom serve`: every case gets
// an answer (or, for garbage in place of a TLS handshake, a closed
// connection), and the process goes on serving a client that was connected
// all along and a new one.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { RawPop3, spawnPop3Serve, writePop3Config, type Pop3ServeProcess } from './helpers/pop3-server.js';
import { PASSWORD, seedUser } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';

const USER = 'eve@example.test';
const BYSTANDER = 'bob@example.test';
const MESSAGES = 3;
/** the smallest pop3.loginTimeoutSeconds the configuration accepts */
const LOGIN_TIMEOUT_S = 5;
const tmp = tempDir('mailroom-pop3-hostile-');
let srv: Pop3ServeProcess;
let bystander: RawPop3;

async function loggedIn(user: string): Promise<RawPop3> {
  const c = await RawPop3.open(srv.ports.pop3);
  expect(await c.line()).toMatch(/^\+OK/);
  expect(await c.command(`USER ${user}`)).toMatch(/^\+OK/);
  expect(await c.command(`PASS ${PASSWORD}`)).toMatch(/^\+OK/);
  return c;
}

beforeAll(async () => {
  const data = join(tmp.dir, 'data');
  await seedUser(data, USER, MESSAGES);
  await seedUser(data, BYSTANDER, 2);
  const { file } = await writePop3Config(tmp.dir, `loginTimeoutSeconds: ${LOGIN_TIMEOUT_S}`);
  srv = await spawnPop3Serve(file, tmp.dir);
  bystander = await loggedIn(BYSTANDER);
});
afterAll(async () => {
  bystander?.close();
  await srv?.stop();
  tmp.cleanup();
});

// after every case: the process is up, the client connected all along is answered, and a new one too
afterEach(async () => {
  expect(srv.alive(), srv.stderr().slice(-2000)).toBe(true);
  expect(await bystander.command('STAT')).toMatch(/^\+OK 2 \d+$/);
  const fresh = await loggedIn(USER);
  expect(await fresh.command('STAT')).toMatch(new RegExp(`^\\+OK ${MESSAGES} \\d+$`));
  expect(await fresh.command('QUIT')).toMatch(/^\+OK/);
  fresh.close();
});

it('overlong lines get -ERR, once each, and the session goes on', async () => {
  const c = await RawPop3.open(srv.ports.pop3);
  try {
    expect(await c.line()).toMatch(/^\+OK/);
    expect(await c.command('X'.repeat(10_000))).toMatch(/^-ERR Line too long/);
    // a megabyte in small pieces, the line end coming last
    for (let i = 0; i < 64; i++) c.send(Buffer.alloc(16_384, 0x41));
    expect(await c.command('')).toMatch(/^-ERR Line too long/);
    expect(await c.command(`USER ${USER}`)).toMatch(/^\+OK/);
    expect(await c.command(`PASS ${PASSWORD}`)).toMatch(/^\+OK/);
    expect(await c.command(`LIST 1 ${'9'.repeat(5000)}`)).toMatch(/^-ERR Line too long/);
    expect(await c.command('LIST 1')).toMatch(/^\+OK 1 \d+$/);
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
    expect(await c.waitClosed()).toBe(true);
  } finally {
    c.close();
  }
});

it('unknown commands and binary garbage get -ERR', async () => {
  const c = await RawPop3.open(srv.ports.pop3);
  try {
    expect(await c.line()).toMatch(/^\+OK/);
    expect(await c.command('XYZZY plugh')).toMatch(/^-ERR/);
    expect(await c.command('')).toMatch(/^-ERR/);
    c.send(Buffer.from([0x00, 0xff, 0xfe, 0x1b, 0x5b, 0x41, 0x0d, 0x0a]));
    expect(await c.line()).toMatch(/^-ERR/);
    expect(await c.command('GET / HTTP/1.1')).toMatch(/^-ERR/);
    expect(await c.command('CAPA')).toBe('+OK Capability list follows');
    expect((await c.multiLine()).pop()).toBe('.');
  } finally {
    c.close();
  }
});

it('commands in the wrong state get -ERR and change nothing', async () => {
  const c = await RawPop3.open(srv.ports.pop3);
  try {
    expect(await c.line()).toMatch(/^\+OK/);
    for (const cmd of ['STAT', 'LIST', 'RETR 1', 'DELE 1', 'TOP 1 0', 'UIDL', 'NOOP', 'RSET']) expect(await c.command(cmd), cmd).toMatch(/^-ERR/);
    expect(await c.command(`PASS ${PASSWORD}`)).toMatch(/^-ERR/); // no USER yet
    expect(await c.command(`USER ${USER}`)).toMatch(/^\+OK/);
    expect(await c.command(`PASS ${PASSWORD}`)).toMatch(/^\+OK/);
    for (const cmd of [`USER ${USER}`, `PASS ${PASSWORD}`, 'STLS', 'AUTH PLAIN']) expect(await c.command(cmd), cmd).toMatch(/^-ERR/);
    expect(await c.command('STAT')).toMatch(new RegExp(`^\\+OK ${MESSAGES} `));
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
  } finally {
    c.close();
  }
});

it('message numbers out of range or malformed get -ERR; a deleted message cannot be retrieved; RSET undoes DELE', async () => {
  const c = await loggedIn(USER);
  try {
    for (const cmd of ['RETR 0', `RETR ${MESSAGES + 1}`, 'RETR 99999999999999', 'RETR 99999999999999999999', 'RETR -1', 'RETR one', 'RETR', 'LIST 0', `UIDL ${MESSAGES + 1}`, 'DELE 0', 'TOP 1', 'TOP 1 -1', `TOP ${MESSAGES + 1} 0`]) {
      expect(await c.command(cmd), cmd).toMatch(/^-ERR/);
    }
    expect(await c.command('DELE 1')).toMatch(/^\+OK/);
    expect(await c.command('DELE 1')).toMatch(/^-ERR/);
    expect(await c.command('RETR 1')).toMatch(/^-ERR/);
    expect(await c.command('STAT')).toMatch(new RegExp(`^\\+OK ${MESSAGES - 1} `));
    expect(await c.command('RSET')).toMatch(/^\+OK/);
    expect(await c.command('STAT')).toMatch(new RegExp(`^\\+OK ${MESSAGES} `));
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
  } finally {
    c.close();
  }
});

it('pipelined commands are answered in order', async () => {
  const c = await RawPop3.open(srv.ports.pop3);
  try {
    expect(await c.line()).toMatch(/^\+OK/);
    c.send(`USER ${USER}\r\nPASS ${PASSWORD}\r\nSTAT\r\nBOGUS\r\nLIST 2\r\nRETR ${MESSAGES + 1}\r\nNOOP\r\nQUIT\r\n`);
    expect(await c.line()).toMatch(/^\+OK/);
    expect(await c.line()).toMatch(/^\+OK/);
    expect(await c.line()).toMatch(new RegExp(`^\\+OK ${MESSAGES} `));
    expect(await c.line()).toMatch(/^-ERR/);
    expect(await c.line()).toMatch(/^\+OK 2 \d+$/);
    expect(await c.line()).toMatch(/^-ERR/);
    expect(await c.line()).toMatch(/^\+OK/);
    expect(await c.line()).toMatch(/^\+OK/);
    expect(await c.line()).toBe(null);
  } finally {
    c.close();
  }
});

it('after STLS, pipelined cleartext commands are not run and garbage instead of a handshake closes the connection', async () => {
  const c = await RawPop3.open(srv.ports.pop3);
  try {
    expect(await c.line()).toMatch(/^\+OK/);
    // RFC 2595 section 4: what follows STLS in the same packet must not be executed
    c.send(`STLS\r\nUSER ${USER}\r\nPASS ${PASSWORD}\r\n`);
    expect(await c.line()).toMatch(/^\+OK/);
    c.send('this is not a TLS ClientHello\r\n'.repeat(20));
    expect(await c.waitClosed()).toBe(true);
    // no +OK for the discarded USER/PASS: only TLS alert bytes, if anything, came back
    expect(c.unread()).not.toMatch(/\+OK|-ERR/);
  } finally {
    c.close();
  }
  // and the maildrop was never locked by it
  const other = await loggedIn(USER);
  expect(await other.command('QUIT')).toMatch(/^\+OK/);
  other.close();
});

it('a client that hangs up in the middle of a command line and one that hangs up mid-RETR leave the server serving', async () => {
  const half = await RawPop3.open(srv.ports.pop3);
  expect(await half.line()).toMatch(/^\+OK/);
  half.send('USER half-a-comm');
  half.close();
  const c = await loggedIn(USER);
  c.send('RETR 1\r\n');
  expect(await c.line()).toMatch(/^\+OK/);
  c.close();
});

it('a client that never logs in is disconnected after pop3.loginTimeoutSeconds; one that logged in is not', async () => {
  const lurker = await RawPop3.open(srv.ports.pop3);
  const user = await loggedIn(USER);
  try {
    expect(await lurker.line()).toMatch(/^\+OK/);
    expect(await lurker.command('CAPA')).toMatch(/^\+OK/);
    await lurker.multiLine();
    // well before the idle timeout (10 minutes at least) could say anything
    expect(await lurker.line((LOGIN_TIMEOUT_S + 10) * 1000)).toMatch(/^-ERR .*[Ll]ogin timeout/);
    expect(await lurker.waitClosed()).toBe(true);
    expect(await user.command('NOOP')).toMatch(/^\+OK/);
    expect(await user.command('QUIT')).toMatch(/^\+OK/);
  } finally {
    lurker.close();
    user.close();
  }
}, 30_000);
