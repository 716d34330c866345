// LMTP (RFC 2033) on a TCP port and a Unix socket: LHLO, local recipients
// only, and one reply per accepted recipient after the final dot (4.2).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, RawClient, startHarness } from './smtp-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ lmtpSocket: true });
});
afterAll(() => h.close());

const socketPath = () => h.smtp.addresses().find((a) => a.path !== undefined)!.path!;

for (const via of ['tcp', 'unix'] as const) {
  describe(`LMTP over ${via}`, () => {
    async function session(): Promise<RawClient> {
      const c = await RawClient.connect(via === 'tcp' ? h.port('lmtp') : socketPath());
      const greeting = await c.reply();
      expect(greeting.code).toBe(220);
      expect(greeting.text).toMatch(/LMTP/);
      return c;
    }

    it('EHLO is not LMTP; LHLO lists the extensions, without AUTH or STARTTLS', async () => {
      const c = await session();
      expect((await c.cmd('EHLO mta.example.org')).code).toBe(500);
      const r = await c.cmd('LHLO mta.example.org');
      expect(r.code).toBe(250);
      expect(r.lines).toEqual(expect.arrayContaining(['PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'DSN']));
      expect(r.lines.some((l) => l.startsWith('AUTH') || l === 'STARTTLS')).toBe(false);
      c.close();
    });

    it('one reply per accepted recipient after DATA, in RCPT order, all naming one queue entry', async () => {
      const c = await session();
      await c.cmd('LHLO mta.example.org');
      c.write(
        'MAIL FROM:<sender@example.net>\r\n' +
          'RCPT TO:<alice@example.org>\r\n' +
          'RCPT TO:<nobody@example.org>\r\n' +
          'RCPT TO:<outside@example.net>\r\n' +
          'RCPT TO:<bob@example.org>\r\n' +
          'DATA\r\n',
      );
      const rcpt = [];
      for (let i = 0; i < 6; i++) rcpt.push(await c.reply());
      expect(rcpt.map((r) => r.code)).toEqual([250, 250, 550, 554, 250, 354]);
      c.write('Subject: lmtp\r\n\r\nhello\r\n.\r\n');
      const alice = await c.reply();
      const bob = await c.reply();
      expect(alice.text).toMatch(/^2\.0\.0 <alice@example\.org> Ok: queued as (\S+)$/);
      expect(bob.text).toMatch(/^2\.0\.0 <bob@example\.org> Ok: queued as (\S+)$/);
      const id = alice.text.split(' ').at(-1)!;
      expect(bob.text.endsWith(id)).toBe(true);
      const m = h.queue.spooled().find((s) => s.id === id)!;
      expect(m.envelope).toMatchObject({ from: 'sender@example.net', recipients: [{ address: 'alice@example.org' }, { address: 'bob@example.org' }], received: { protocol: 'LMTP' } });
      expect(m.body.toString()).toBe('Subject: lmtp\n\nhello\n');
      expect((await c.cmd('QUIT')).code).toBe(221);
      c.close();
    });
  });
}

describe('LMTP failures are reported per recipient', () => {
  it('a message too big gets a 552 5.3.4 for each recipient', async () => {
    const small = await startHarness({ limits: { maxMessageSize: 2048 } });
    try {
      const c = await RawClient.connect(small.port('lmtp'));
      await c.reply();
      await c.cmd('LHLO mta.example.org');
      await c.cmd('MAIL FROM:<s@example.net>');
      await c.cmd('RCPT TO:<alice@example.org>');
      await c.cmd('RCPT TO:<sales@example.org>');
      expect((await c.cmd('DATA')).code).toBe(354);
      c.write(`Subject: big\r\n\r\n${'y'.repeat(3000)}\r\n.\r\n`);
      const replies = [await c.reply(), await c.reply()];
      expect(replies.map((r) => [r.code, r.text.slice(0, 5)])).toEqual([
        [552, '5.3.4'],
        [552, '5.3.4'],
      ]);
      expect(small.queue.spooled()).toEqual([]);
      c.close();
    } finally {
      await small.close();
    }
  });
});
