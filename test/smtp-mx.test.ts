// The MX listener (smtp.port): local recipients only, never a relay; what
// reaches the queue, and when the client hears 250.
import nodemailer from 'nodemailer';
import { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Harness, RawClient, startHarness } from './smtp-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ limits: { maxMessageSize: 64 * 1024, maxRecipients: 3 } });
});
afterAll(() => h.close());

function transport() {
  return nodemailer.createTransport({ host: '127.0.0.1', port: h.port('smtp'), secure: false, tls: { rejectUnauthorized: false } });
}

async function session(): Promise<RawClient> {
  const c = await RawClient.connect(h.port('smtp'));
  expect((await c.reply()).code).toBe(220);
  expect((await c.cmd('EHLO client.example.net')).code).toBe(250);
  return c;
}

describe('MX: accepting mail for local users', () => {
  it('nodemailer delivers to a local user; 250 2.0.0 names the queue id, sent only after the spool is durable', async () => {
    const before = h.queue.spooled().length;
    // hold the spool's last step a while: a 250 sent before enqueue resolved would arrive during the hold
    h.queue.hold = () => new Promise((r) => setTimeout(r, 200));
    let resolvedWhenReplied: string | null | undefined;
    try {
      const info = await transport().sendMail({
        envelope: { from: 'someone@example.net', to: ['alice@example.org'] },
        raw: 'From: someone@example.net\r\nTo: alice@example.org\r\nSubject: hi\r\n\r\nHello Alice.\r\n.dot line\r\n',
      });
      resolvedWhenReplied = h.queue.lastResolvedId;
      expect(info.response).toMatch(/^250 2\.0\.0 Ok: queued as (\S+)$/);
      const id = /queued as (\S+)$/.exec(info.response)![1];
      expect(resolvedWhenReplied).toBe(id);
    } finally {
      h.queue.hold = null;
    }
    const all = h.queue.spooled();
    expect(all.length).toBe(before + 1);
    const m = all.at(-1)!;
    expect(m.envelope.from).toBe('someone@example.net');
    expect(m.envelope.recipients).toEqual([{ address: 'alice@example.org' }]);
    expect(m.envelope.received).toMatchObject({ remoteAddress: '127.0.0.1', protocol: 'ESMTPS' });
    // CRLF became LF, dot-stuffing undone
    expect(m.body.toString()).toBe('From: someone@example.net\nTo: alice@example.org\nSubject: hi\n\nHello Alice.\n.dot line\n');
  });

  it('offers the ESMTP extensions, STARTTLS and no AUTH', async () => {
    const c = await RawClient.connect(h.port('smtp'));
    expect((await c.reply()).text).toMatch(/^mx\.example\.org ESMTP/);
    const ehlo = await c.cmd('EHLO client.example.net');
    const caps = ehlo.lines.slice(1);
    expect(caps).toEqual(expect.arrayContaining(['PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'DSN', 'STARTTLS', `SIZE ${64 * 1024}`]));
    expect(caps.some((l) => l.startsWith('AUTH'))).toBe(false);
    expect((await c.cmd('AUTH PLAIN AGFsaWNlAHB3')).code).toBe(500); // not a command here
    await c.cmd('QUIT');
    c.close();
  });

  it('aliases and a catch-all are local recipients', async () => {
    const c = await session();
    expect((await c.cmd('MAIL FROM:<x@example.net>')).code).toBe(250);
    expect((await c.cmd('RCPT TO:<sales@example.org>')).text).toBe('2.1.5 Accepted');
    expect((await c.cmd('RCPT TO:<anything@EXAMPLE.COM>')).code).toBe(250);
    c.close();
  });

  it('the null sender <> is accepted', async () => {
    const c = await session();
    expect((await c.cmd('MAIL FROM:<>')).code).toBe(250);
    expect((await c.cmd('RCPT TO:<alice@example.org>')).code).toBe(250);
    expect((await c.cmd('DATA')).code).toBe(354);
    const r = await c.cmd('Subject: bounce\r\n\r\nreport\r\n.');
    expect(r.code).toBe(250);
    const m = h.queue.spooled().find((s) => r.text.endsWith(s.id))!;
    expect(m.envelope.from).toBe('');
    c.close();
  });
});

describe('MX: refusals', () => {
  it('a remote recipient is a relay attempt: 554 5.7.1', async () => {
    const c = await session();
    await c.cmd('MAIL FROM:<alice@example.org>');
    const r = await c.cmd('RCPT TO:<victim@example.net>');
    expect(r.code).toBe(554);
    expect(r.text).toMatch(/^5\.7\.1 <victim@example\.net>: Relay access denied$/);
    // an address literal is not one of our domains either
    expect((await c.cmd('RCPT TO:<postmaster@[192.0.2.1]>')).code).toBe(554);
    c.close();
  });

  it('nodemailer sees the relay refusal as a 554 with 5.7.1', async () => {
    const err = await transport()
      .sendMail({ envelope: { from: 'a@example.net', to: ['b@example.net'] }, raw: 'Subject: x\r\n\r\nx\r\n' })
      .then(() => null, (e: { responseCode?: number; response?: string }) => e);
    expect(err?.responseCode).toBe(554);
    expect(err?.response).toMatch(/^554 5\.7\.1 /);
  });

  it('an unknown user of a local domain: 550 5.1.1', async () => {
    const c = await session();
    await c.cmd('MAIL FROM:<a@example.net>');
    const r = await c.cmd('RCPT TO:<nobody@example.org>');
    expect(r.code).toBe(550);
    expect(r.text).toMatch(/^5\.1\.1 /);
    c.close();
  });

  it('a full mailbox: 452 4.2.2; a declared size beyond the quota itself: 552 5.2.2', async () => {
    const c = await session();
    await c.cmd('MAIL FROM:<a@example.net>');
    const full = await c.cmd('RCPT TO:<carol@example.org>');
    expect([full.code, full.text.slice(0, 5)]).toEqual([452, '4.2.2']);
    expect((await c.cmd('RCPT TO:<bob@example.org>')).code).toBe(250); // 1000-byte quota, empty
    await c.cmd('RSET');
    await c.cmd('MAIL FROM:<a@example.net> SIZE=5000');
    const never = await c.cmd('RCPT TO:<bob@example.org>');
    expect([never.code, never.text.slice(0, 5)]).toEqual([552, '5.2.2']);
    await c.cmd('RSET');
    await c.cmd('MAIL FROM:<a@example.net> SIZE=500');
    expect((await c.cmd('RCPT TO:<bob@example.org>')).code).toBe(250);
    c.close();
  });

  it('too many recipients: 452 4.5.3', async () => {
    const c = await session();
    await c.cmd('MAIL FROM:<a@example.net>');
    for (const r of ['alice@example.org', 'sales@example.org', 'x@example.com']) expect((await c.cmd(`RCPT TO:<${r}>`)).code).toBe(250);
    const r = await c.cmd('RCPT TO:<y@example.com>');
    expect([r.code, r.text.slice(0, 5)]).toEqual([452, '4.5.3']);
    c.close();
  });

  it('SIZE: refused at MAIL FROM when declared too big, 552 5.3.4', async () => {
    const c = await session();
    const r = await c.cmd(`MAIL FROM:<a@example.net> SIZE=${64 * 1024 + 1}`);
    expect([r.code, r.text.slice(0, 5)]).toEqual([552, '5.3.4']);
    c.close();
  });

  it('SIZE: a message that grows past the limit during DATA is refused with 552 5.3.4 and nothing is queued', async () => {
    const before = h.queue.spooled().length;
    const settledBefore = h.queue.outcomes.length;
    const c = await session();
    await c.cmd('MAIL FROM:<a@example.net>');
    await c.cmd('RCPT TO:<alice@example.org>');
    expect((await c.cmd('DATA')).code).toBe(354);
    const line = `${'x'.repeat(998)}\r\n`;
    for (let i = 0; i < 80; i++) c.write(line); // 80 KB > 64 KB
    const r = await c.cmd('.');
    expect([r.code, r.text.slice(0, 5)]).toEqual([552, '5.3.4']);
    await h.queue.settled(settledBefore + 1);
    expect(h.queue.outcomes.at(-1)).toBe('rejected');
    expect(h.queue.spooled().length).toBe(before);
    // the session goes on
    expect((await c.cmd('MAIL FROM:<a@example.net>')).code).toBe(250);
    c.close();
  });

  it('a client that hangs up mid-DATA leaves no queue entry', async () => {
    const before = h.queue.spooled().length;
    const settledBefore = h.queue.outcomes.length;
    const c = await session();
    await c.cmd('MAIL FROM:<a@example.net>');
    await c.cmd('RCPT TO:<alice@example.org>');
    expect((await c.cmd('DATA')).code).toBe(354);
    c.write('Subject: half\r\n\r\nthe first half of a message');
    c.close();
    await h.queue.settled(settledBefore + 1);
    expect(h.queue.outcomes.at(-1)).toBe('rejected');
    expect(h.queue.spooled().length).toBe(before);
    expect(h.queue.leftovers()).toEqual([]);
  });
});

describe('MX: ESMTP parameters reach the queue', () => {
  it('PIPELINING: the replies of one group leave in one write (RFC 2920 3.2); an error is not held back', async () => {
    // Socket writes of this process that carry SMTP replies: grouped, the
    // three replies are one _writev; ungrouped, three _write calls.
    type WriteFn = (this: Socket, ...a: unknown[]) => void;
    const proto = Socket.prototype as unknown as { _write: WriteFn; _writev: WriteFn };
    const realWrite = proto._write;
    const realWritev = proto._writev;
    const c = await session();
    const seen: string[] = [];
    const text = (x: unknown) => (Array.isArray(x) ? x.map((e: { chunk: unknown }) => String(e.chunk)).join('') : String(x));
    const w = vi.spyOn(proto, '_write').mockImplementation(function (this: Socket, ...a: unknown[]) {
      seen.push(text(a[0]));
      return realWrite.call(this, ...a);
    });
    const wv = vi.spyOn(proto, '_writev').mockImplementation(function (this: Socket, ...a: unknown[]) {
      seen.push(text(a[0]));
      return realWritev.call(this, ...a);
    });
    try {
      c.write('MAIL FROM:<p@example.net>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n');
      expect([(await c.reply()).code, (await c.reply()).code, (await c.reply()).code]).toEqual([250, 250, 354]);
      expect(seen.filter((x) => x.startsWith('250 ') || x.startsWith('354 '))).toEqual([expect.stringMatching(/^250 .*\r\n250 .*\r\n354 .*\r\n$/)]);
      expect((await c.cmd('Subject: grouped\r\n\r\nbody\r\n.')).code).toBe(250);
      seen.length = 0;
      c.write('MAIL FROM:<p@example.net>\r\nRCPT TO:<nobody@example.org>\r\nRSET\r\n');
      expect([(await c.reply()).code, (await c.reply()).code, (await c.reply()).code]).toEqual([250, 550, 250]);
      // the 550 flushed the held 250 and went out on its own, in order
      expect(seen.filter((x) => /^(250|550) /.test(x)).map((x) => x.slice(0, 3))).toEqual(['250', '550', '250']);
    } finally {
      w.mockRestore();
      wv.mockRestore();
      await c.cmd('QUIT');
    }
  });

  it('PIPELINING: a whole transaction in one write gets its replies in order', async () => {
    const c = await session();
    c.write(
      'MAIL FROM:<p@example.net> BODY=8BITMIME RET=HDRS ENVID=env+2B1\r\n' +
        'RCPT TO:<alice@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;alice@example.org\r\n' +
        'RCPT TO:<nobody@example.org>\r\n' +
        'RCPT TO:<sales@example.org> NOTIFY=NEVER\r\n' +
        'DATA\r\n',
    );
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await c.reply()).code);
    expect(codes).toEqual([250, 250, 550, 250, 354]);
    const r = await c.cmd('Subject: caf\u00e9\r\n\r\n8-bit body: \u00e9t\u00e9\r\n.');
    expect(r.code).toBe(250);
    const m = h.queue.spooled().find((s) => r.text.endsWith(s.id))!;
    expect(m.envelope).toMatchObject({
      from: 'p@example.net',
      bodyType: '8BITMIME',
      ret: 'HDRS',
      envId: 'env+1',
      recipients: [
        { address: 'alice@example.org', notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;alice@example.org' },
        { address: 'sales@example.org', notify: ['NEVER'] },
      ],
    });
    expect(m.body.toString('utf8')).toBe('Subject: caf\u00e9\n\n8-bit body: \u00e9t\u00e9\n');
    c.close();
  });

  it('SMTPUTF8: an internationalised address is accepted and marked', async () => {
    const c = await session();
    expect((await c.cmd('MAIL FROM:<s\u00e9n@example.net> SMTPUTF8')).code).toBe(250);
    expect((await c.cmd('RCPT TO:<j\u00f6rg@example.org>')).code).toBe(250);
    await c.cmd('DATA');
    const r = await c.cmd('Subject: gr\u00fc\u00dfe\r\n\r\nhi\r\n.');
    expect(r.code).toBe(250);
    const m = h.queue.spooled().find((s) => r.text.endsWith(s.id))!;
    expect(m.envelope).toMatchObject({ from: 's\u00e9n@example.net', smtputf8: true, recipients: [{ address: 'j\u00f6rg@example.org' }] });
    c.close();
  });

  it('commands pipelined after STARTTLS, before the handshake, are discarded (STARTTLS injection)', async () => {
    const c = await session();
    c.write('STARTTLS\r\nMAIL FROM:<injected@example.net>\r\n');
    expect((await c.reply()).code).toBe(220);
    // what follows the handshake is only what was sent over TLS
    const t = await (async () => {
      c.socket.removeAllListeners('data');
      const { connect } = await import('node:tls');
      const s = connect({ socket: c.socket as import('node:net').Socket, rejectUnauthorized: false });
      await new Promise((r) => s.once('secureConnect', r));
      return s;
    })();
    const lines: string[] = [];
    t.setEncoding('utf8');
    t.on('data', (d: string) => lines.push(...d.split('\r\n').filter(Boolean)));
    t.write('EHLO client.example.net\r\nRCPT TO:<alice@example.org>\r\nQUIT\r\n');
    await new Promise((r) => t.once('close', r));
    const codes = lines.filter((l) => / /.test(l.slice(3, 4))).map((l) => l.slice(0, 3));
    // EHLO, then RCPT without MAIL (503: the injected MAIL was not run), then QUIT
    expect(codes).toEqual(['250', '503', '221']);
  });

  it('STARTTLS upgrades the MX session; the protocol is then ESMTPS', async () => {
    const c = await session();
    expect((await c.startTls()).code).toBe(220);
    expect((await c.cmd('EHLO client.example.net')).lines).not.toContain('STARTTLS');
    await c.cmd('MAIL FROM:<t@example.net>');
    await c.cmd('RCPT TO:<alice@example.org>');
    await c.cmd('DATA');
    const r = await c.cmd('Subject: tls\r\n\r\nx\r\n.');
    const m = h.queue.spooled().find((s) => r.text.endsWith(s.id))!;
    expect(m.envelope.received).toMatchObject({ helo: 'client.example.net', protocol: 'ESMTPS' });
    c.close();
  });
});
