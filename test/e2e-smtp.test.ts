// End to end through one `mailroom serve` process (built dist/, real sockets
// on 127.0.0.1): nodemailer hands mail to the MX port, the queue delivers it
// into Maildirs, an IMAP client idling since before the send sees it arrive,
// and POP3 serves the same bytes. Then aliases, a forward that keeps a copy,
// a catch-all and loop detection, relay refusal and the null sender, all
// through the running server.
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { createTransport } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountStore } from '../src/accounts/store.js';
import { PASSWORD, seedUser } from './helpers/server.js';
import { inboxFiles, spawnSmtpServe, waitFor, writeSmtpConfig, type SmtpServeConfig, type SmtpServeProcess } from './helpers/smtp-server.js';
import { tempDir } from './helpers/tmp.js';
import { parseDsn } from './queue-env.js';
import { RawClient } from './smtp-harness.js';

const tmp = tempDir('mailroom-e2e-smtp-');
let cfg: SmtpServeConfig;
let srv: SmtpServeProcess;
let accounts: AccountStore;
const maildir = (user: string) => accounts.maildirPath(user);

beforeAll(async () => {
  cfg = await writeSmtpConfig(tmp.dir, { with: ['imap', 'pop3'] });
  for (const u of ['alice', 'bob', 'carol', 'dave', 'frank', 'gina', 'hank'].map((n) => `${n}@example.test`)) await seedUser(cfg.data, u, 0);
  accounts = new AccountStore(cfg.data);
  await accounts.addDomain('other.test');
  await accounts.addAlias('team@example.test', ['alice@example.test', 'bob@example.test']);
  await accounts.setForward('carol@example.test', { to: ['dave@example.test'], keepCopy: true });
  await accounts.addAlias('@other.test', ['gina@example.test']);
  // hank forwards everything to an alias that points back at hank: a loop the accounts resolve once
  await accounts.addAlias('back@example.test', ['hank@example.test']);
  await accounts.setForward('hank@example.test', { to: ['back@example.test'], keepCopy: false });
  srv = await spawnSmtpServe(cfg);
});

afterAll(async () => {
  await srv?.stop();
  tmp.cleanup();
});

const crlf = (s: string) => s.replace(/\r?\n/g, '\r\n');

/** A message with what tends to get mangled: 8-bit text, a leading dot, trailing spaces, a long line. */
function message(subject: string, extra = ''): string {
  return crlf(
    `${extra}From: Frank <frank@example.test>\nTo: somebody\nSubject: ${subject}\nMessage-ID: <${subject.replace(/\W/g, '')}@e2e.test>\n` +
      `Date: Tue, 24 Nov 2026 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n` +
      `Grüße aus Köln.\n.a line that starts with a dot\n..and two\ntrailing spaces   \n${'x'.repeat(900)}\n\nbye\n`,
  );
}

async function send(from: string, to: string[], raw: string): Promise<string> {
  const t = createTransport({ host: '127.0.0.1', port: cfg.ports.smtp!, secure: false, tls: { rejectUnauthorized: false } });
  try {
    const info = await t.sendMail({ envelope: { from, to }, raw });
    return info.response;
  } finally {
    t.close();
  }
}

function imap(user: string): ImapFlow {
  const c = new ImapFlow({ host: '127.0.0.1', port: cfg.ports.imap!, secure: false, doSTARTTLS: false, auth: { user, pass: PASSWORD }, logger: false, disableAutoIdle: true });
  c.on('error', () => {});
  return c;
}

/** The trace header lines Mailroom prepends, in order, and everything after them. */
function splitTrace(text: string): { trace: string[]; rest: string } {
  const trace: string[] = [];
  let rest = text;
  for (;;) {
    const m = /^(Return-Path|Delivered-To|Received):[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*/i.exec(rest);
    if (!m) break;
    trace.push(m[1].toLowerCase());
    rest = rest.slice(m[0].length);
  }
  return { trace, rest };
}

/** RETR over a raw socket, USER/PASS (allowed from loopback), the dot-stuffing undone. */
async function pop3Retrieve(user: string, n: number): Promise<string> {
  const s = connect(cfg.ports.pop3!, '127.0.0.1');
  await once(s, 'connect');
  let buf = '';
  s.setEncoding('latin1');
  s.on('data', (d: string) => (buf += d));
  const until = (re: RegExp) => waitFor(`POP3 ${re}`, () => re.test(buf) && buf, 10_000);
  try {
    await until(/^\+OK[^\r\n]*\r\n/);
    for (const line of [`USER ${user}`, `PASS ${PASSWORD}`]) {
      buf = '';
      s.write(`${line}\r\n`);
      await until(/^\+OK[^\r\n]*\r\n/);
    }
    buf = '';
    s.write(`RETR ${n}\r\n`);
    await until(/\r\n\.\r\n$/);
    expect(buf.startsWith('+OK')).toBe(true);
    const body = buf.slice(buf.indexOf('\r\n') + 2, buf.length - 3);
    return body.replace(/^\./gm, '');
  } finally {
    s.write('QUIT\r\n');
    s.end();
  }
}

const noQueue = () => waitFor('an empty queue', () => readdirSync(join(cfg.data, 'queue', 'info')).length === 0);

describe('nodemailer → MX → queue → Maildir → IMAP IDLE and POP3', () => {
  it('delivers to a local user; an idling IMAP client is pushed EXISTS and fetches the same bytes plus the trace headers', async () => {
    const c = imap('alice@example.test');
    await c.connect();
    await c.mailboxOpen('INBOX');
    const exists = new Promise<number>((resolve) => c.on('exists', (e: { count: number }) => resolve(e.count)));
    const idling = c.idle();
    await new Promise((r) => setTimeout(r, 100)); // IDLE is on the wire before the send

    const raw = message('first contact');
    const reply = await send('frank@example.test', ['alice@example.test'], raw);
    expect(reply).toMatch(/^250 2\.0\.0 Ok: queued as \S+/);

    // The IDLE session is told without asking (a push, not a poll). How fast is
    // measured by the benchmarks, not asserted here (project rule: no timings in
    // npm test); the generous bound only keeps a broken push from hanging the suite.
    const count = await Promise.race([exists, new Promise<number>((_, reject) => setTimeout(() => reject(new Error('no EXISTS pushed during IDLE')), 15_000))]);
    expect(count).toBe(1);
    await c.noop(); // ends IDLE
    await idling;

    const msg = await c.fetchOne('*', { source: true });
    await c.logout();
    const fetched = msg && msg.source ? msg.source.toString('latin1') : '';
    const { trace, rest } = splitTrace(fetched);
    expect(trace).toEqual(['return-path', 'delivered-to', 'received']);
    expect(rest).toBe(Buffer.from(raw, 'utf8').toString('latin1'));
    expect(fetched).toMatch(/^Return-Path: <frank@example\.test>\r\nDelivered-To: alice@example\.test\r\nReceived: from /);

    const files = inboxFiles(maildir('alice@example.test'));
    expect(files).toHaveLength(1);
    expect(crlf(files[0].text)).toBe(fetched);

    expect(await pop3Retrieve('alice@example.test', 1)).toBe(fetched);
  });

  it('an alias reaches each of its targets once', async () => {
    expect(await send('frank@example.test', ['team@example.test'], message('to the team'))).toMatch(/^250 /);
    for (const u of ['alice@example.test', 'bob@example.test']) {
      const m = await waitFor(`the team message for ${u}`, () => inboxFiles(maildir(u)).find((f) => f.text.includes('Subject: to the team')));
      expect(m.text).toMatch(new RegExp(`^Return-Path: <frank@example\\.test>\\nDelivered-To: ${u.replace('.', '\\.')}\\n`));
    }
    await noQueue();
    expect(inboxFiles(maildir('bob@example.test')).filter((f) => f.text.includes('Subject: to the team'))).toHaveLength(1);
  });

  it('a forward that keeps a copy: the user and the forward target both get it', async () => {
    expect(await send('frank@example.test', ['carol@example.test'], message('forward me'))).toMatch(/^250 /);
    const atCarol = await waitFor('carol’s copy', () => inboxFiles(maildir('carol@example.test')).find((f) => f.text.includes('Subject: forward me')));
    const atDave = await waitFor('dave’s copy', () => inboxFiles(maildir('dave@example.test')).find((f) => f.text.includes('Subject: forward me')));
    expect(atCarol.text).toMatch(/^Return-Path: <frank@example\.test>\nDelivered-To: carol@example\.test\n/);
    expect(atDave.text).toMatch(/^Return-Path: <frank@example\.test>\nDelivered-To: dave@example\.test\n/);
  });

  it('a catch-all takes mail for any name in its domain', async () => {
    expect(await send('frank@example.test', ['whoever@other.test', 'someone.else@other.test'], message('caught'))).toMatch(/^250 /);
    await noQueue();
    const caught = inboxFiles(maildir('gina@example.test')).filter((f) => f.text.includes('Subject: caught'));
    expect(caught).toHaveLength(1); // both names lead to one mailbox, delivered once
  });

  it('loop detection: a message that already passed through an alias bounces (5.4.6) to its sender instead of circling', async () => {
    const raw = message('looping', 'Delivered-To: team@example.test\r\n');
    expect(await send('frank@example.test', ['team@example.test'], raw)).toMatch(/^250 /);
    const bounce = await waitFor('the loop bounce', () => inboxFiles(maildir('frank@example.test')).find((f) => f.text.includes('Subject: looping') && /multipart\/report/i.test(f.text)));
    const dsn = parseDsn(bounce.text);
    expect(dsn.perRecipient.map((g) => g.get('status'))).toEqual(['5.4.6']);
    expect(dsn.perRecipient[0].get('final-recipient')).toBe('rfc822;team@example.test');
    await noQueue();
    for (const u of ['alice@example.test', 'bob@example.test']) expect(inboxFiles(maildir(u)).some((f) => f.text.includes('Subject: looping'))).toBe(false);
  });

  it('loop detection: a forward that leads back to the user is refused at RCPT time, not accepted and lost', async () => {
    await expect(send('frank@example.test', ['hank@example.test'], message('round and round'))).rejects.toThrow(/550 5\.1\.1/);
    expect(inboxFiles(maildir('hank@example.test'))).toHaveLength(0);
  });
});

describe('what the MX port refuses and what it never answers', () => {
  it('refuses to relay: a remote recipient gets 554 5.7.1, an unknown local one 550 5.1.1', async () => {
    const c = await RawClient.connect(cfg.ports.smtp!);
    expect((await c.reply()).code).toBe(220);
    expect((await c.cmd('EHLO client.example')).code).toBe(250);
    expect((await c.cmd('MAIL FROM:<alice@example.test>')).code).toBe(250);
    const relay = await c.cmd('RCPT TO:<someone@remote.test>');
    expect(relay.code).toBe(554);
    expect(relay.text).toMatch(/^5\.7\.1 /);
    const unknown = await c.cmd('RCPT TO:<nobody@example.test>');
    expect(unknown.code).toBe(550);
    expect(unknown.text).toMatch(/^5\.1\.1 /);
    expect((await c.cmd('DATA')).code).toBe(503); // no valid recipients
    c.close();
  });

  it('accepts mail from <>, delivers it, and never bounces it when delivery fails', async () => {
    expect(await send('', ['alice@example.test'], message('from the void'))).toMatch(/^250 /);
    const got = await waitFor('the null-sender message', () => inboxFiles(maildir('alice@example.test')).find((f) => f.text.includes('Subject: from the void')));
    expect(got.text).toMatch(/^Return-Path: <>\n/);

    // a looping message is accepted at RCPT time and fails at delivery (5.4.6): with <> as sender, nobody hears of it
    const before = inboxFiles(maildir('frank@example.test')).length;
    expect(await send('', ['team@example.test'], message('nowhere to go', 'Delivered-To: team@example.test\r\n'))).toMatch(/^250 /);
    await noQueue();
    const log = srv.logs();
    const failed = log.filter((l) => l.msg === 'delivery failed' && l.to === 'team@example.test' && l.status === '5.4.6');
    expect(failed.length).toBeGreaterThan(0);
    expect(log.some((l) => l.msg === 'delivery status notification queued' && l.to === '')).toBe(false);
    // and nothing turned up anywhere as a bounce
    expect(inboxFiles(maildir('frank@example.test'))).toHaveLength(before);
  });
});
