// Submission (RFC 6409) on smtp.submissionPort with STARTTLS, and on
// smtp.tlsPort with implicit TLS (RFC 8314): AUTH first, then the user's own
// sender addresses, then any recipient.
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, PASSWORD, plain, RawClient, startHarness } from './smtp-harness.js';

async function greeted(port: number, tls = false): Promise<RawClient> {
  const c = tls ? await RawClient.connectTls(port) : await RawClient.connect(port);
  expect((await c.reply()).code).toBe(220);
  return c;
}

describe('submission from loopback (plaintext AUTH allowed there)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ limits: { maxAuthFailures: 3 } });
  });
  afterAll(() => h.close());

  it('MAIL before AUTH: 530 5.7.0', async () => {
    const c = await greeted(h.port('submission'));
    const ehlo = await c.cmd('EHLO client.example.org');
    expect(ehlo.lines).toEqual(expect.arrayContaining(['AUTH PLAIN LOGIN', 'STARTTLS']));
    const r = await c.cmd('MAIL FROM:<alice@example.org>');
    expect([r.code, r.text.slice(0, 5)]).toEqual([530, '5.7.0']);
    c.close();
  });

  it('the user may send as themselves or an alias of theirs, not as anyone else (553 5.7.1)', async () => {
    const c = await greeted(h.port('submission'));
    await c.cmd('EHLO client.example.org');
    expect((await c.cmd(`AUTH PLAIN ${plain('alice@example.org', PASSWORD)}`)).code).toBe(235);
    for (const from of ['alice@example.org', 'ALICE@example.org', 'sales@example.org', 'whoever@example.com', '']) {
      expect((await c.cmd(`MAIL FROM:<${from}>`)).code, from).toBe(250);
      await c.cmd('RSET');
    }
    for (const from of ['bob@example.org', 'alice@example.net', 'nobody@example.org']) {
      const r = await c.cmd(`MAIL FROM:<${from}>`);
      expect([r.code, r.text.slice(0, 5)], from).toEqual([553, '5.7.1']);
    }
    c.close();
  });

  it('an authenticated user may send to remote recipients; unknown local ones are still refused', async () => {
    const c = await greeted(h.port('submission'));
    await c.cmd('EHLO client.example.org');
    await c.cmd(`AUTH PLAIN ${plain('alice@example.org', PASSWORD)}`);
    await c.cmd('MAIL FROM:<alice@example.org>');
    expect((await c.cmd('RCPT TO:<friend@example.net>')).code).toBe(250);
    expect((await c.cmd('RCPT TO:<nobody@example.org>')).code).toBe(550);
    await c.cmd('DATA');
    const r = await c.cmd('Subject: out\r\n\r\nhello\r\n.');
    expect(r.code).toBe(250);
    const m = h.queue.spooled().find((s) => r.text.endsWith(s.id))!;
    expect(m.envelope).toMatchObject({
      from: 'alice@example.org',
      recipients: [{ address: 'friend@example.net' }],
      received: { protocol: 'ESMTPA', authUser: 'alice@example.org' },
    });
    c.close();
  });

  it('nodemailer: STARTTLS then AUTH LOGIN on the submission port', async () => {
    const t = nodemailer.createTransport({
      host: '127.0.0.1',
      port: h.port('submission'),
      secure: false,
      requireTLS: true,
      auth: { user: 'alice@example.org', pass: PASSWORD },
      authMethod: 'LOGIN',
      tls: { rejectUnauthorized: false },
    });
    const info = await t.sendMail({ from: 'alice@example.org', to: 'friend@example.net', subject: 'via nodemailer', text: 'hi' });
    expect(info.response).toMatch(/^250 2\.0\.0 Ok: queued as /);
    const m = h.queue.spooled().find((s) => info.response.endsWith(s.id))!;
    expect(m.envelope.received).toMatchObject({ protocol: 'ESMTPSA', authUser: 'alice@example.org' });
  });

  it('nodemailer over implicit TLS (smtp.tlsPort)', async () => {
    const t = nodemailer.createTransport({
      host: '127.0.0.1',
      port: h.port('submissions'),
      secure: true,
      auth: { user: 'alice@example.org', pass: PASSWORD },
      tls: { rejectUnauthorized: false },
    });
    const info = await t.sendMail({ from: 'sales@example.org', to: ['friend@example.net', 'alice@example.org'], subject: 'tls', text: 'hi' });
    expect(info.accepted).toEqual(['friend@example.net', 'alice@example.org']);
    const m = h.queue.spooled().find((s) => info.response.endsWith(s.id))!;
    expect(m.envelope.from).toBe('sales@example.org');
    expect(m.envelope.received.protocol).toBe('ESMTPSA');
  });

  it('nodemailer with the wrong password gets 535 5.7.8', async () => {
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: h.port('submissions'), secure: true, auth: { user: 'alice@example.org', pass: 'wrong' }, tls: { rejectUnauthorized: false } });
    const err = await t.sendMail({ from: 'alice@example.org', to: 'x@example.net', text: 'x' }).then(
      () => null,
      (e: { responseCode?: number; response?: string }) => e,
    );
    expect(err?.responseCode).toBe(535);
    expect(err?.response).toMatch(/^535 5\.7\.8 /);
  });

  it('too many AUTH failures on one connection: 421 and the connection is closed', async () => {
    const c = await greeted(h.port('submission'));
    await c.cmd('EHLO client.example.org');
    expect((await c.cmd(`AUTH PLAIN ${plain('alice@example.org', 'bad1')}`)).code).toBe(535);
    expect((await c.cmd(`AUTH PLAIN ${plain('alice@example.org', 'bad2')}`)).code).toBe(535);
    const r = await c.cmd(`AUTH PLAIN ${plain('alice@example.org', 'bad3')}`);
    expect([r.code, r.text.slice(0, 5)]).toEqual([421, '4.7.0']);
    expect((await c.reply()).code).toBe(0); // closed
  });

  it('PLAIN with an authorization identity other than the user is refused', async () => {
    const c = await greeted(h.port('submission'));
    await c.cmd('EHLO client.example.org');
    const token = Buffer.from(`bob@example.org\0alice@example.org\0${PASSWORD}`).toString('base64');
    expect((await c.cmd(`AUTH PLAIN ${token}`)).code).toBe(535);
    c.close();
  });
});

describe('submission from a non-loopback peer', () => {
  let h: Harness;
  beforeAll(async () => {
    // tests can only connect from 127.0.0.1, so loopback is declared not local here
    h = await startHarness({ plaintextAuthFrom: () => false });
  });
  afterAll(() => h.close());

  it('cleartext: AUTH is not offered and is refused with 538 5.7.11; after STARTTLS it works', async () => {
    const c = await greeted(h.port('submission'));
    const ehlo = await c.cmd('EHLO client.example.org');
    expect(ehlo.lines.some((l) => l.startsWith('AUTH'))).toBe(false);
    expect(ehlo.lines).toContain('STARTTLS');
    const r = await c.cmd('AUTH LOGIN');
    expect([r.code, r.text.slice(0, 6)]).toEqual([538, '5.7.11']);
    expect((await c.cmd('MAIL FROM:<alice@example.org>')).code).toBe(530);
    expect((await c.startTls()).code).toBe(220);
    expect((await c.cmd('EHLO client.example.org')).lines).toContain('AUTH PLAIN LOGIN');
    expect((await c.cmd(`AUTH PLAIN ${plain('alice@example.org', PASSWORD)}`)).code).toBe(235);
    expect((await c.cmd('MAIL FROM:<alice@example.org>')).code).toBe(250);
    c.close();
  });

  it('implicit TLS needs no STARTTLS', async () => {
    const c = await greeted(h.port('submissions'), true);
    expect((await c.cmd('EHLO client.example.org')).lines).toContain('AUTH PLAIN LOGIN');
    expect((await c.cmd(`AUTH PLAIN ${plain('alice@example.org', PASSWORD)}`)).code).toBe(235);
    c.close();
  });
});

describe('auth.allowPlaintext lets a non-loopback peer authenticate in cleartext', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ plaintextAuthFrom: () => false, allowPlaintextAuth: true });
  });
  afterAll(() => h.close());

  it('AUTH is offered and accepted without TLS', async () => {
    const c = await greeted(h.port('submission'));
    expect((await c.cmd('EHLO client.example.org')).lines).toContain('AUTH PLAIN LOGIN');
    expect((await c.cmd(`AUTH PLAIN ${plain('alice@example.org', PASSWORD)}`)).code).toBe(235);
    c.close();
  });
});

describe('connection limits', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ limits: { maxConnections: 2 } });
  });
  afterAll(() => h.close());

  it('past maxConnections (all listeners together) a client gets 421 4.7.0; a slot freed is reused', async () => {
    const a = await greeted(h.port('smtp'));
    const b = await greeted(h.port('submission'));
    const c = await RawClient.connect(h.port('lmtp'));
    const r = await c.reply();
    expect([r.code, r.text.slice(0, 5)]).toEqual([421, '4.7.0']);
    expect((await c.reply()).code).toBe(0);
    await a.cmd('QUIT');
    a.close();
    // the gate is released when smtp-server reports the close; retry until it has
    let d: RawClient;
    let first;
    do {
      d = await RawClient.connect(h.port('smtp'));
      first = await d.reply();
      if (first.code !== 220) d.close();
    } while (first.code !== 220);
    expect(first.code).toBe(220);
    b.close();
    d.close();
  });
});
