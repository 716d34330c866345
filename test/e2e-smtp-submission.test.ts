// Submission through a running `mailroom serve`: AUTH before anything, then
// relay to a remote domain over a static route (`routes: remote.test →
// 127.0.0.1:PORT`) to a small smtp-server on loopback acting as its MX. A 4xx
// from that MX is retried on the queue's schedule; a 5xx comes back to the
// sender as an RFC 3464 report, read over IMAP.
import { ImapFlow } from 'imapflow';
import { createTransport } from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountStore } from '../src/accounts/store.js';
import { PASSWORD, seedUser } from './helpers/server.js';
import { inboxFiles, spawnSmtpServe, waitFor, writeSmtpConfig, type SmtpServeConfig, type SmtpServeProcess } from './helpers/smtp-server.js';
import { tempDir } from './helpers/tmp.js';
import { parseDsn } from './queue-env.js';
import { RawClient, plain } from './smtp-harness.js';

interface Received {
  from: string;
  to: string[];
  data: string;
}

const tmp = tempDir('mailroom-e2e-submission-');
const received: Received[] = [];
/** every RCPT TO the remote MX was offered, with its answer */
const offered: { to: string; code: number }[] = [];
let mx: SMTPServer;
let cfg: SmtpServeConfig;
let srv: SmtpServeProcess;
let accounts: AccountStore;

beforeAll(async () => {
  // the remote MX: "temp…" refused once with 451, "bad…" always 550, anyone else accepted
  mx = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, cb) {
      const a = address.address.toLowerCase();
      const seen = offered.some((o) => o.to === a);
      const code = a.startsWith('bad') ? 550 : a.startsWith('temp') && !seen ? 451 : 250;
      offered.push({ to: a, code });
      if (code === 550) return cb(Object.assign(new Error('5.1.1 <' + a + '>: Recipient address rejected: no such user'), { responseCode: 550 }));
      if (code === 451) return cb(Object.assign(new Error('4.2.1 <' + a + '>: greylisted, try again later'), { responseCode: 451 }));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks).toString('latin1'),
        });
        cb(null);
      });
    },
  });
  await new Promise<void>((resolve) => mx.listen(0, '127.0.0.1', resolve));
  const mxPort = (mx.server.address() as { port: number }).port;

  cfg = await writeSmtpConfig(tmp.dir, {
    with: ['submission', 'submissions', 'imap'],
    routes: { 'remote.test': `127.0.0.1:${mxPort}` },
    // qmail's schedule with c = 1: the first retry a second after arrival, then 4 s, 9 s…
    queue: 'retryRemote: 1, retryLocal: 1, scanIntervalSeconds: 1',
  });
  await seedUser(cfg.data, 'alice@example.test', 0);
  accounts = new AccountStore(cfg.data);
  srv = await spawnSmtpServe(cfg);
});

afterAll(async () => {
  await srv?.stop();
  await new Promise<void>((resolve) => mx.close(() => resolve()));
  tmp.cleanup();
});

const message = (subject: string) =>
  `From: Alice <alice@example.test>\r\nTo: someone@remote.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.test>\r\n\r\nHello from ${subject}.\r\n`;

async function submit(to: string[], subject: string, o: { implicitTls?: boolean } = {}): Promise<string> {
  const t = createTransport({
    host: '127.0.0.1',
    port: o.implicitTls ? cfg.ports.submissions! : cfg.ports.submission!,
    secure: o.implicitTls ?? false,
    auth: { user: 'alice@example.test', pass: PASSWORD },
    tls: { rejectUnauthorized: false },
  });
  try {
    return (await t.sendMail({ envelope: { from: 'alice@example.test', to }, raw: message(subject) })).response;
  } finally {
    t.close();
  }
}

describe('submission', () => {
  it('wants AUTH before MAIL FROM, and then takes mail for another domain', async () => {
    const c = await RawClient.connect(cfg.ports.submission!);
    expect((await c.reply()).code).toBe(220);
    const ehlo = await c.cmd('EHLO client.example');
    expect(ehlo.lines).toContain('AUTH PLAIN LOGIN');
    const refused = await c.cmd('MAIL FROM:<alice@example.test>');
    expect(refused.code).toBe(530);
    expect(refused.text).toMatch(/^5\.7\.0 /);
    expect((await c.cmd(`AUTH PLAIN ${plain('alice@example.test', 'wrong')}`)).code).toBe(535);
    expect((await c.cmd(`AUTH PLAIN ${plain('alice@example.test', PASSWORD)}`)).code).toBe(235);
    expect((await c.cmd('MAIL FROM:<alice@example.test>')).code).toBe(250);
    expect((await c.cmd('RCPT TO:<someone@elsewhere.test>')).code).toBe(250);
    expect((await c.cmd('RSET')).code).toBe(250);
    await c.cmd('QUIT');
    c.close();
  });

  it('relays to the remote MX of a static route, with our Received line on top', async () => {
    expect(await submit(['ok@remote.test'], 'relayed')).toMatch(/^250 2\.0\.0 /);
    const got = await waitFor('the relayed message at the remote MX', () => received.find((r) => r.data.includes('Subject: relayed')));
    expect(got.from).toBe('alice@example.test');
    expect(got.to).toEqual(['ok@remote.test']);
    expect(got.data).toMatch(/^Received: from [^\r\n]*\r\n\tby mail\.example\.test \(Mailroom\) with ESMTPSA id /);
    expect(got.data).toContain(message('relayed'));
  });

  it('implicit TLS (RFC 8314) submission relays too', async () => {
    expect(await submit(['ok2@remote.test'], 'over tls', { implicitTls: true })).toMatch(/^250 /);
    await waitFor('the message at the remote MX', () => received.find((r) => r.data.includes('Subject: over tls')));
  });

  it('a 4xx from the remote MX is retried on the schedule and then delivered', async () => {
    expect(await submit(['temp@remote.test'], 'greylisted')).toMatch(/^250 /);
    const got = await waitFor('the retried delivery', () => received.find((r) => r.data.includes('Subject: greylisted')), 20_000);
    expect(got.to).toEqual(['temp@remote.test']);
    expect(offered.filter((o) => o.to === 'temp@remote.test').map((o) => o.code)).toEqual([451, 250]);
    expect(srv.logs().some((l) => l.msg === 'delivery deferred' && l.to === 'temp@remote.test' && l.status === '4.2.1')).toBe(true);
  });

  it('a 5xx from the remote MX comes back as an RFC 3464 report in the sender’s INBOX', async () => {
    expect(await submit(['bad@remote.test'], 'doomed')).toMatch(/^250 /);
    const box = accounts.maildirPath('alice@example.test');
    await waitFor(`the bounce in ${box}`, () => inboxFiles(box).some((f) => /multipart\/report/i.test(f.text) && f.text.includes('Subject: doomed')), 20_000);
    const c = new ImapFlow({ host: '127.0.0.1', port: cfg.ports.imap!, secure: false, doSTARTTLS: false, auth: { user: 'alice@example.test', pass: PASSWORD }, logger: false });
    c.on('error', () => {});
    await c.connect();
    try {
      await c.mailboxOpen('INBOX');
      let source = '';
      for await (const m of c.fetch('1:*', { source: true })) {
        const text = m.source?.toString('latin1') ?? '';
        if (/multipart\/report/i.test(text) && text.includes('Subject: doomed')) source = text;
      }
      expect(source).toMatch(/^Return-Path: <>\r\n/);
      const dsn = parseDsn(source);
      expect(dsn.contentType).toMatch(/^multipart\/report;.*report-type="?delivery-status"?/i);
      expect(dsn.perMessage.get('reporting-mta')).toBe('dns; mail.example.test');
      expect(dsn.perRecipient).toHaveLength(1);
      const r = dsn.perRecipient[0];
      expect(r.get('final-recipient')).toBe('rfc822;bad@remote.test');
      expect(r.get('action')).toBe('failed');
      expect(r.get('status')).toBe('5.1.1');
      expect(r.get('remote-mta')).toBe('dns; 127.0.0.1');
      expect(r.get('diagnostic-code')).toMatch(/^smtp; 550 /);
      expect(dsn.originalType).toMatch(/^(message\/rfc822|text\/rfc822-headers)$/i);
      expect(dsn.original).toContain('Subject: doomed');
      expect(source).toMatch(/Content-Type: message\/delivery-status/i);
    } finally {
      await c.logout();
    }
  });
});
