// Remote delivery through a static route to a second smtp-server on
// 127.0.0.1 acting as the remote MX: 2xx delivered, 4xx retried later, 5xx
// bounced (RFC 3464) into the sender's local Maildir.
import { createServer } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AccountStore } from '../src/accounts/store.js';
import { nextHops } from '../src/delivery/route.js';
import { body, envelope, message, parseDsn, queueEnv, type QueueEnv } from './queue-env.js';

interface Received {
  from: string;
  to: string[];
  data: string;
  secure: boolean;
}

const received: Received[] = [];
const tempOnce = new Set<string>();
let mx: SMTPServer;
let port = 0;

beforeAll(async () => {
  mx = new SMTPServer({
    authOptional: true,
    logger: false,
    onRcptTo(address, _session, cb) {
      const a = address.address.toLowerCase();
      if (a.startsWith('bad')) {
        const e = Object.assign(new Error('5.1.1 <' + a + '>: Recipient address rejected'), { responseCode: 550 });
        return cb(e);
      }
      if (a.startsWith('temp') && !tempOnce.has(a)) {
        tempOnce.add(a);
        return cb(Object.assign(new Error('4.2.1 try again later'), { responseCode: 451 }));
      }
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
          secure: session.secure,
        });
        cb(null);
      });
    },
  });
  await new Promise<void>((resolve) => mx.listen(0, '127.0.0.1', resolve));
  port = (mx.server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => mx.close(() => resolve()));
});

let env: QueueEnv | null = null;
afterEach(async () => {
  await env?.close();
  env = null;
  received.length = 0;
});

const routed = (setup?: (a: AccountStore) => Promise<void>) => queueEnv({ routes: { 'example.net': { host: '127.0.0.1', port } }, setup });

describe('remote delivery', () => {
  it('2xx: delivered over opportunistic STARTTLS, with a Received line, and the entry removed', async () => {
    env = await routed();
    await env.queue.intake.enqueue(envelope('carol@example.org', ['dave@example.net', 'erin@example.net']), body('outbound'));
    await env.queue.runner.idle();
    expect(received).toHaveLength(1); // one transaction for the two recipients of one domain
    const [r] = received;
    expect(r.from).toBe('carol@example.org');
    expect(r.to).toEqual(['dave@example.net', 'erin@example.net']);
    expect(r.secure).toBe(true);
    expect(r.data).toMatch(/^Received: from client\.example\.com \(\[192\.0\.2\.7\]\)\r\n\tby mx\.example\.org \(Mailroom\) with ESMTP id /);
    expect(r.data).toContain('Subject: outbound');
    expect(await env.queue.spool.ids()).toEqual([]);
  });

  it('4xx is retried later and then succeeds; 5xx bounces to the sender with the remote reply', async () => {
    env = await routed(async (a) => {
      await a.addUser('carol@example.org', 'x');
    });
    const born = env.clock.now;
    const id = await env.queue.intake.enqueue(envelope('carol@example.org', ['ok@example.net', 'temp@example.net', 'bad@example.net']), body('mixed'));
    await env.queue.runner.idle();
    expect(received.map((r) => r.to)).toEqual([['ok@example.net']]);
    const info = await env.queue.spool.readInfo(id);
    expect(info?.recipients.map((r) => [r.address, r.state, r.status])).toEqual([
      ['ok@example.net', 'delivered', '2.0.0'],
      ['temp@example.net', 'deferred', '4.2.1'],
      ['bad@example.net', 'failed', '5.1.1'],
    ]);
    expect(info?.nextTry).toBe(born + 20 * 20 * 1000); // remote step 20: first retry after 400 s

    const [bounce] = env.inbox('carol@example.org');
    const dsn = parseDsn(bounce);
    expect(dsn.perRecipient).toHaveLength(1);
    const r = dsn.perRecipient[0];
    expect(r.get('final-recipient')).toBe('rfc822;bad@example.net');
    expect(r.get('action')).toBe('failed');
    expect(r.get('status')).toBe('5.1.1');
    expect(r.get('remote-mta')).toBe('dns; 127.0.0.1');
    expect(r.get('diagnostic-code')).toMatch(/^smtp; 550 5\.1\.1 <bad@example\.net>: Recipient address rejected/);
    expect(dsn.original).toContain('Subject: mixed');

    env.clock.now = born + 400_000;
    await env.queue.runner.idle();
    expect(received.map((x) => x.to)).toEqual([['ok@example.net'], ['temp@example.net']]);
    expect(await env.queue.spool.ids()).toEqual([]);
    expect(env.inbox('carol@example.org')).toHaveLength(1); // no second report
  });

  it('a destination that does not answer defers every recipient (4.4.1)', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    env = await queueEnv({ routes: { '*': { host: '127.0.0.1', port: closed } } });
    const id = await env.queue.intake.enqueue(envelope('carol@example.org', ['x@example.com']), body('nowhere'));
    await env.queue.runner.idle();
    const r = (await env.queue.spool.readInfo(id))?.recipients[0];
    expect(r).toMatchObject({ state: 'deferred', status: '4.4.1', route: 'remote' });
    expect(r?.diagnostic).toMatch(/ECONNREFUSED|ECONNECTION/);
  });

  it('a forward to a remote address carries Delivered-To of the forwarding address', async () => {
    env = await routed(async (a) => {
      await a.addUser('bob@example.org', 'x');
      await a.setForward('bob@example.org', { to: ['bob.elsewhere@example.net'], keepCopy: false });
    });
    await env.queue.intake.enqueue(envelope('carol@example.com', ['bob@example.org']), body('forwarded'));
    await env.queue.runner.idle();
    expect(received).toHaveLength(1);
    expect(received[0].to).toEqual(['bob.elsewhere@example.net']);
    expect(received[0].from).toBe('carol@example.com');
    expect(received[0].data).toMatch(/^Delivered-To: bob@example\.org\r\nReceived: /);
    expect(env.inbox('bob@example.org')).toEqual([]);
  });

  it('a null sender is relayed with MAIL FROM:<> and never bounced', async () => {
    env = await routed();
    await env.queue.intake.enqueue(envelope('', ['ok2@example.net', 'bad2@example.net']), body('from-null'));
    await env.queue.runner.idle();
    expect(received.map((r) => [r.from, r.to])).toEqual([['', ['ok2@example.net']]]);
    expect(await env.queue.spool.ids()).toEqual([]);
  });
});

describe('next hops', () => {
  const resolver = (records: { exchange: string; priority: number }[] | Error) => ({
    resolveMx: async () => {
      if (records instanceof Error) throw records;
      return records;
    },
  });
  const err = (code: string) => Object.assign(new Error(code), { code });

  it('uses a static route, then "*", then MX records by preference, then the domain itself', async () => {
    const routes = { 'example.net': { host: '127.0.0.1', port: 2626 }, '*': { host: 'smarthost', port: 587 } };
    expect(await nextHops('Example.NET.', routes, resolver([]))).toEqual({ kind: 'hosts', hosts: [{ host: '127.0.0.1', port: 2626 }] });
    expect(await nextHops('other.org', routes, resolver([]))).toEqual({ kind: 'hosts', hosts: [{ host: 'smarthost', port: 587 }] });
    const mxs = resolver([
      { exchange: 'b.mx.org', priority: 20 },
      { exchange: 'a.mx.org.', priority: 10 },
    ]);
    expect(await nextHops('mx.org', {}, mxs)).toEqual({ kind: 'hosts', hosts: [{ host: 'a.mx.org', port: 25 }, { host: 'b.mx.org', port: 25 }] });
    expect(await nextHops('nomx.org', {}, resolver(err('ENODATA')))).toEqual({ kind: 'hosts', hosts: [{ host: 'nomx.org', port: 25 }] });
  });

  it('a null MX and a non-existent domain fail; a DNS failure defers', async () => {
    expect(await nextHops('null.org', {}, resolver([{ exchange: '', priority: 0 }]))).toMatchObject({ kind: 'failed', outcome: { kind: 'failed', status: '5.1.10' } });
    expect(await nextHops('nx.org', {}, resolver(err('ENOTFOUND')))).toMatchObject({ kind: 'failed', outcome: { kind: 'failed', status: '5.1.2' } });
    expect(await nextHops('slow.org', {}, resolver(err('ETIMEOUT')))).toMatchObject({ kind: 'failed', outcome: { kind: 'deferred', status: '4.4.3' } });
  });
});
