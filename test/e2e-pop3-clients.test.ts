// POP3 end to end with independent clients against a spawned `mailroom serve`:
// Python's poplib (cleartext on loopback, STLS, implicit TLS) and curl
// pop3:// / pop3s://, checked against the Maildir files and an IMAP client.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uidl } from '../protocol/pop3/uidl.js';
import { imapView, inboxAsServed, RawPop3, run, spawnPop3Serve, writePop3Config, type Pop3ServeProcess } from './helpers/pop3-server.js';
import { PASSWORD, seedUser } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';

const READER = 'pat@example.test';
const DELETER = 'del@example.test';
const CORPUS = 8;
/** plus one crafted message whose lines start with dots (corpus messages may have none) */
const MESSAGES = CORPUS + 1;
const DOTTED = 'From: dots@example.test\nSubject: dots\n\n.leading dot\n..two dots\n.\nmixed ending\r\n.last line\n';
const tmp = tempDir('mailroom-pop3-clients-');
let srv: Pop3ServeProcess;
let readerMaildir: string;

beforeAll(async () => {
  const data = join(tmp.dir, 'data');
  readerMaildir = await seedUser(data, READER, CORPUS);
  writeFileSync(join(readerMaildir, 'cur', '1800000000.dots.test:2,'), DOTTED);
  await seedUser(data, DELETER, MESSAGES);
  const { file } = await writePop3Config(tmp.dir);
  srv = await spawnPop3Serve(file, tmp.dir);
});
afterAll(async () => {
  await srv?.stop();
  tmp.cleanup();
});

// One script, one action per run; prints JSON. Bodies travel as hex so that
// no byte is reinterpreted on the way.
const PYTHON = String.raw`
import json, poplib, socket, ssl, sys
poplib._MAXLINE = 1 << 20  # corpus messages have lines longer than poplib's 2048 default
action, mode, port, user, password = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
args = sys.argv[6:]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE  # the server's certificate is self-signed

def connect():
    if mode == 'implicit':
        return poplib.POP3_SSL('127.0.0.1', port, context=ctx, timeout=20)
    m = poplib.POP3('127.0.0.1', port, timeout=20)
    if mode == 'stls':
        m.stls(context=ctx)
    return m

def login(m):
    m.user(user)
    m.pass_(password)

out = {}
if action == 'survey':
    m = connect()
    out['capa'] = {k: v for k, v in m.capa().items()}
    out['tls'] = isinstance(m.sock, ssl.SSLSocket)
    login(m)
    count, size = m.stat()
    out['stat'] = [count, size]
    out['list'] = [l.decode() for l in m.list()[1]]
    out['uidl'] = [l.decode() for l in m.uidl()[1]]
    out['list1'] = m.list(1).decode()
    out['uidl1'] = m.uidl(1).decode()
    out['retr'] = [b''.join(l + b'\r\n' for l in m.retr(i)[1]).hex() for i in range(1, count + 1)]
    out['top0'] = b''.join(l + b'\r\n' for l in m.top(1, 0)[1]).hex()
    out['top3'] = b''.join(l + b'\r\n' for l in m.top(1, 3)[1]).hex()
    out['quit'] = m.quit().decode()
elif action == 'dele':
    m = connect()
    login(m)
    out['dele'] = m.dele(int(args[0])).decode()
    out['stat'] = list(m.stat())
    if args[1] == 'quit':
        out['quit'] = m.quit().decode()
    else:
        m.sock.close()  # hang up without QUIT: RFC 1939 says no UPDATE
elif action == 'inuse':
    a = connect()
    login(a)
    b = connect()
    b.user(user)
    try:
        b.pass_(password)
        out['second'] = 'accepted'
    except poplib.error_proto as e:
        out['second'] = e.args[0].decode()
    out['first_stat'] = list(a.stat())
    a.quit()
    b.user(user)
    out['after_release'] = b.pass_(password).decode()
    b.quit()
elif action == 'badpass':
    m = connect()
    m.user(user)
    try:
        m.pass_(password + 'x')
        out['pass'] = 'accepted'
    except poplib.error_proto as e:
        out['pass'] = e.args[0].decode()
    m.quit()
print(json.dumps(out))
`;

async function python(action: string, mode: 'plain' | 'stls' | 'implicit', user: string, ...args: string[]): Promise<Record<string, unknown>> {
  const port = mode === 'implicit' ? srv.ports.pop3s : srv.ports.pop3;
  const r = await run('python3', ['-c', PYTHON, action, mode, String(port), user, PASSWORD, ...args]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout.toString()) as Record<string, unknown>;
}

/** The header and the blank line after it, then the first `lines` body lines (RFC 1939 TOP). */
function topOfMessage(msg: Buffer, lines: number): Buffer {
  const text = msg.toString('latin1');
  const end = text.indexOf('\r\n\r\n') + 4;
  let at = end;
  for (let i = 0; i < lines && at < text.length; i++) {
    const nl = text.indexOf('\r\n', at);
    at = nl < 0 ? text.length : nl + 2;
  }
  return Buffer.from(text.slice(0, at), 'latin1');
}

interface Survey {
  capa: Record<string, string[]>;
  tls: boolean;
  stat: [number, number];
  list: string[];
  uidl: string[];
  list1: string;
  uidl1: string;
  retr: string[];
  top0: string;
  top3: string;
  quit: string;
}

describe('Python poplib', () => {
  for (const mode of ['plain', 'stls', 'implicit'] as const) {
    it(`STAT, LIST, UIDL, RETR and TOP agree with the Maildir and with IMAP (${mode})`, async () => {
      const imap = await imapView(srv.ports.imap, READER);
      const s = (await python('survey', mode, READER)) as unknown as Survey;
      expect(s.tls).toBe(mode !== 'plain');
      expect(Object.keys(s.capa)).toEqual(expect.arrayContaining(['TOP', 'UIDL', 'USER', 'RESP-CODES', 'PIPELINING', 'SASL']));
      if (mode === 'plain') expect(Object.keys(s.capa)).toContain('STLS');
      else expect(Object.keys(s.capa)).not.toContain('STLS');

      const disk = inboxAsServed(readerMaildir);
      expect(s.stat[0]).toBe(MESSAGES);
      expect(disk).toHaveLength(MESSAGES);
      expect(s.stat[1]).toBe(disk.reduce((n, b) => n + b.length, 0));

      // LIST: numbered 1..n, sizes as RETR sends them, summing to STAT's
      const sizes = s.list.map((l, i) => {
        const [n, size] = l.split(' ');
        expect(Number(n)).toBe(i + 1);
        return Number(size);
      });
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(s.stat[1]);
      expect(s.list1).toBe(`+OK ${s.list[0]}`);

      // UIDL: Dovecot's %08Xu%08Xv of IMAP's UID and UIDVALIDITY, message n = sequence n
      expect(imap.uids).toHaveLength(MESSAGES);
      expect(s.uidl).toEqual(imap.uids.map((uid, i) => `${i + 1} ${uidl(imap.uidValidity, uid)}`));
      expect(s.uidl1).toBe(`+OK ${s.uidl[0]}`);
      expect(new Set(s.uidl.map((l) => l.split(' ')[1])).size).toBe(MESSAGES);

      // RETR (poplib undoes the dot-stuffing) = the stored file with CRLF = IMAP's BODY[]
      const retr = s.retr.map((h) => Buffer.from(h, 'hex'));
      retr.forEach((body, i) => {
        expect(body.length, `message ${i + 1}`).toBe(sizes[i]);
        expect(body.equals(imap.bodies[i]), `message ${i + 1} vs IMAP`).toBe(true);
      });
      expect(retr.map((b) => b.toString('hex')).sort()).toEqual(disk.map((b) => b.toString('hex')).sort());

      expect(Buffer.from(s.top0, 'hex').toString('latin1')).toBe(topOfMessage(retr[0], 0).toString('latin1'));
      expect(Buffer.from(s.top3, 'hex').toString('latin1')).toBe(topOfMessage(retr[0], 3).toString('latin1'));
      expect(s.quit).toMatch(/^\+OK/);
    });
  }

  it('a message with leading dots is dot-stuffed on the wire, and whole once the client undoes it', async () => {
    const imap = await imapView(srv.ports.imap, READER);
    const n = imap.bodies.findIndex((b) => b.toString('latin1').startsWith('From: dots@')) + 1;
    expect(n).toBeGreaterThan(0);
    const c = await RawPop3.open(srv.ports.pop3);
    try {
      expect(await c.line()).toMatch(/^\+OK/);
      expect(await c.command(`USER ${READER}`)).toMatch(/^\+OK/);
      expect(await c.command(`PASS ${PASSWORD}`)).toMatch(/^\+OK/);
      expect(await c.command(`RETR ${n}`)).toMatch(/^\+OK/);
      const wire = await c.multiLine();
      // RFC 1939 section 3: every line starting with "." gets one more; bare LFs become CRLF
      expect(wire.slice(3)).toEqual(['..leading dot', '...two dots', '..', 'mixed ending', '..last line', '.']);
      // RETR n-1 then n: the server has read n ahead and sends it from memory; the same bytes
      expect(await c.command(`RETR ${n - 1}`)).toMatch(/^\+OK/);
      await c.multiLine();
      expect(await c.command(`RETR ${n}`)).toMatch(/^\+OK/);
      expect(await c.multiLine()).toEqual(wire);
      expect(await c.command('QUIT')).toMatch(/^\+OK/);
    } finally {
      c.close();
    }
    const s = (await python('survey', 'plain', READER)) as unknown as Survey;
    const expected = Buffer.from(DOTTED.replace(/\r?\n/g, '\r\n'), 'latin1');
    expect(Buffer.from(s.retr[n - 1], 'hex').toString('latin1')).toBe(expected.toString('latin1'));
  });

  it('DELE then a dropped connection removes nothing; DELE then QUIT removes the message, and IMAP sees it gone', async () => {
    const before = await imapView(srv.ports.imap, DELETER, false);
    expect(before.uids).toHaveLength(MESSAGES);

    const dropped = (await python('dele', 'stls', DELETER, '1', 'drop')) as { dele: string; stat: number[] };
    expect(dropped.dele).toMatch(/^\+OK/);
    expect(dropped.stat[0]).toBe(MESSAGES - 1);
    // the session ends when the server notices the hang-up; the lock is free once it has
    const again = await waitFor(() => python('survey', 'plain', DELETER) as Promise<unknown> as Promise<Survey>);
    expect(again.stat[0]).toBe(MESSAGES);
    expect((await imapView(srv.ports.imap, DELETER, false)).uids).toEqual(before.uids);

    const quit = (await python('dele', 'implicit', DELETER, '2', 'quit')) as { dele: string; quit: string };
    expect(quit.dele).toMatch(/^\+OK/);
    expect(quit.quit).toMatch(/^\+OK/);
    const after = await imapView(srv.ports.imap, DELETER, false);
    expect(after.uids).toEqual(before.uids.filter((u) => u !== before.uids[1]));
    expect(after.uidValidity).toBe(before.uidValidity);
  });

  it('a second session on the same maildrop gets -ERR [IN-USE]; it may log in once the first has quit', async () => {
    const r = (await python('inuse', 'plain', DELETER)) as { second: string; first_stat: number[]; after_release: string };
    expect(r.second).toMatch(/^-ERR \[IN-USE\]/);
    expect(r.first_stat[0]).toBeGreaterThan(0);
    expect(r.after_release).toMatch(/^\+OK/);
  });

  it('a wrong password gets -ERR [AUTH]', async () => {
    const r = (await python('badpass', 'stls', READER)) as { pass: string };
    expect(r.pass).toMatch(/^-ERR \[AUTH\]/);
  });
});

/** Retries `f` (an IN-USE refusal right after a hang-up is expected for a moment), bounded. */
async function waitFor<T>(f: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await f();
    } catch (e) {
      if (i >= 50) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('POP3 beside IMAP', () => {
  it('an IMAP session open on the INBOX sees the POP3 deletions as EXPUNGE; mail appended meanwhile waits for the next POP3 login', async () => {
    const imap = new ImapFlow({ host: '127.0.0.1', port: srv.ports.imap, secure: false, auth: { user: DELETER, pass: PASSWORD }, tls: { rejectUnauthorized: false }, logger: false });
    await imap.connect();
    const pop = await RawPop3.open(srv.ports.pop3);
    try {
      const box = await imap.mailboxOpen('INBOX');
      const before = box.exists;
      const expunged: number[] = [];
      imap.on('expunge', (e: { seq: number }) => expunged.push(e.seq));

      expect(await pop.line()).toMatch(/^\+OK/);
      expect(await pop.command(`USER ${DELETER}`)).toMatch(/^\+OK/);
      expect(await pop.command(`PASS ${PASSWORD}`)).toMatch(/^\+OK/);
      expect(await pop.command('STAT')).toMatch(new RegExp(`^\\+OK ${before} `));
      // RFC 1939 section 4: the maildrop as of login; a message appended now is not listed
      await imap.append('INBOX', Buffer.from('From: late@example.test\r\nSubject: late\r\n\r\nafter the POP3 login\r\n'));
      expect(await pop.command('STAT')).toMatch(new RegExp(`^\\+OK ${before} `));
      expect(await pop.command(`RETR ${before + 1}`)).toMatch(/^-ERR/);
      expect(await pop.command('DELE 1')).toMatch(/^\+OK/);
      expect(await pop.command('DELE 2')).toMatch(/^\+OK/);
      expect(await pop.command('QUIT')).toMatch(/^\+OK/);

      await imap.noop();
      expect(expunged).toHaveLength(2);
      const status = await imap.status('INBOX', { messages: true });
      expect(status && status.messages).toBe(before + 1 - 2);

      const next = (await python('survey', 'plain', DELETER)) as unknown as Survey;
      expect(next.stat[0]).toBe(before - 1);
      expect(Buffer.from(next.retr[next.retr.length - 1], 'hex').toString()).toContain('after the POP3 login');
    } finally {
      pop.close();
      await imap.logout().catch(() => {});
    }
  });
});

describe('curl pop3://', () => {
  const auth = ['-u', `${READER}:${PASSWORD}`, '--silent', '--show-error'];

  for (const scheme of ['pop3', 'pop3 with STLS', 'pop3s'] as const) {
    it(`LIST and RETR (${scheme})`, async () => {
      const base = scheme === 'pop3s' ? `pop3s://127.0.0.1:${srv.ports.pop3s}` : `pop3://127.0.0.1:${srv.ports.pop3}`;
      const tls = scheme === 'pop3' ? [] : ['-k', ...(scheme === 'pop3 with STLS' ? ['--ssl-reqd'] : [])];
      const imap = await imapView(srv.ports.imap, READER);
      const list = await run('curl', [...auth, ...tls, `${base}/`]);
      expect(list.code, list.stderr).toBe(0);
      const lines = list.stdout.toString().trim().split(/\r?\n/);
      expect(lines).toHaveLength(MESSAGES);
      expect(lines.map((l) => Number(l.split(' ')[1]))).toEqual(imap.bodies.map((b) => b.length));
      for (const n of [1, MESSAGES]) {
        const msg = await run('curl', [...auth, ...tls, `${base}/${n}`]);
        expect(msg.code, msg.stderr).toBe(0);
        expect(msg.stdout.equals(imap.bodies[n - 1]), `message ${n}`).toBe(true);
      }
    });
  }

  it('a wrong password is refused (CURLE_LOGIN_DENIED)', async () => {
    const bad = await run('curl', ['-u', `${READER}:wrong`, '--silent', `pop3://127.0.0.1:${srv.ports.pop3}/`]);
    expect(bad.code).toBe(67);
  });
});
