// The socket adapter (src/server/socket-io.ts) over real loopback sockets:
// input pausing, write backpressure, STARTTLS and the CVE-2011-0411 rule,
// and the immediate ACK of every read.
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { connect as netConnect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SocketSessionIO, isLoopback } from '../src/server/socket-io.js';
import { TlsProvider } from '../src/tls/context.js';
import { tempDir } from './helpers/tmp.js';

// the package the server itself uses for TCP_QUICKACK (src/server/quick-ack.ts)
const { getsockopt, setsockopt } = createRequire(import.meta.url)('sockopt') as {
  getsockopt: (s: Socket, level: number, option: number) => number;
  setsockopt: (s: Socket, level: number, option: number, value: number) => void;
};
const IPPROTO_TCP = 6;
const TCP_QUICKACK = 12;

const tmp = tempDir('mailroom-sockio-');
let tls: TlsProvider;
beforeAll(async () => {
  tls = (await TlsProvider.fromConfig({ tls: null, data: tmp.dir, hostname: 'mail.example.test' })).provider;
});
afterAll(() => tmp.cleanup());

/** A server whose every connection becomes a SocketSessionIO handed to `onIO`. */
async function serve(onIO: (io: SocketSessionIO) => void, withTls = true): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => onIO(new SocketSessionIO(s, { tlsContext: () => (withTls ? tls.current.context : null) })));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

function client(port: number): Promise<Socket> {
  const s = netConnect(port, '127.0.0.1');
  return once(s, 'connect').then(() => s);
}

/** Reads from a socket until `pred` holds for what was read (leaving the socket open). */
function readUntil(s: Socket, pred: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (pred(text)) {
        s.off('data', onData);
        s.off('close', onClose);
        s.pause();
        resolve(text);
      }
    };
    const onClose = () => reject(new Error(`connection ended after ${JSON.stringify(text)}`));
    s.on('data', onData);
    s.once('close', onClose);
    s.resume();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SocketSessionIO', () => {
  it('knows loopback addresses in every spelling', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect(isLoopback(a), a).toBe(true);
    for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '2001:db8::1', '', '1270.0.0.1']) expect(isLoopback(a), a).toBe(false);
  });

  it('delivers input, holds it while paused, and gives it all back in order on resume', async () => {
    const got: string[] = [];
    let io!: SocketSessionIO;
    const { server, port } = await serve((x) => {
      io = x;
      x.attach({
        receive: (c) => {
          got.push(c.toString());
          if (got.length === 1) x.pause();
        },
        closed: () => {},
      });
    });
    const c = await client(port);
    c.write('first\r\n');
    await sleep(100);
    for (let i = 0; i < 20; i++) c.write(`line ${i}\r\n`);
    await sleep(150);
    expect(got).toEqual(['first\r\n']);
    expect(io.remoteAddress).toBe('127.0.0.1');
    expect(io.loopback).toBe(true);
    expect(io.secure).toBe(false);
    expect(io.tlsAvailable).toBe(true);
    io.resume();
    await sleep(100);
    expect(got.join('')).toBe('first\r\n' + Array.from({ length: 20 }, (_, i) => `line ${i}\r\n`).join(''));
    expect(io.bytesIn).toBe(got.join('').length);
    c.destroy();
    server.close();
  });

  it('many small writes arrive whole and in order; close() flushes first and tells the sink', async () => {
    let closedSeen = false;
    const { server, port } = await serve((io) => {
      io.attach({ receive: () => {}, closed: () => (closedSeen = true) });
      void (async () => {
        for (let i = 0; i < 5000; i++) await io.write(`* ${i} FETCH (FLAGS ())\r\n`);
        io.close();
      })();
    });
    const c = await client(port);
    let text = '';
    for await (const chunk of c) text += chunk.toString();
    const lines = text.split('\r\n').filter(Boolean);
    expect(lines).toHaveLength(5000);
    expect(lines[4999]).toBe('* 4999 FETCH (FLAGS ())');
    await sleep(50);
    expect(closedSeen).toBe(true);
    server.close();
  });

  it('pipe() takes from the source only as fast as the client reads (backpressure)', async () => {
    const total = 64 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let produced = 0;
    async function* source() {
      while (produced < total) {
        produced += chunk.length;
        yield chunk;
      }
    }
    let piped!: Promise<void>;
    const { server, port } = await serve((io) => {
      io.attach({ receive: () => {}, closed: () => {} });
      piped = io.pipe(source()).then(() => io.close());
    });
    const c = await client(port);
    c.pause();
    await sleep(300);
    // Kernel and stream buffers hold a few MB at most; the rest must still be unread at the source.
    expect(produced).toBeLessThan(16 * 1024 * 1024);
    c.resume();
    let received = 0;
    for await (const b of c) received += (b as Buffer).length;
    await piped;
    expect(received).toBe(total);
    server.close();
  });

  it("a write's `written` comes once the socket is done with the buffer, and at once on a closed connection", async () => {
    const big = Buffer.alloc(32 * 1024 * 1024, 0x62); // more than the kernel's buffers hold for a reader that does not read
    let io!: SocketSessionIO;
    const { server, port } = await serve((x) => {
      io = x;
      io.attach({ receive: () => {}, closed: () => {} });
    });
    const c = await client(port);
    c.pause();
    await sleep(50);
    let written = 0;
    void io.write(big, () => written++);
    await sleep(300);
    expect(written).toBe(0); // most of it is still waiting for the client
    c.resume();
    let received = 0;
    c.on('data', (b: Buffer) => (received += b.length));
    while (received < big.length) await sleep(20);
    await sleep(20);
    expect(written).toBe(1);
    c.destroy();
    await io.whenClosed;
    let late = 0;
    await io.write(Buffer.from('gone'), () => late++);
    expect(late).toBe(1);
    server.close();
  });

  it('STARTTLS: upgrades in place, input after the handshake is decrypted for the sink', async () => {
    const got: string[] = [];
    let io!: SocketSessionIO;
    const { server, port } = await serve((x) => {
      io = x;
      x.attach({
        receive: (c) => {
          const text = c.toString();
          got.push(text);
          if (text.startsWith('a STARTTLS')) {
            x.pause();
            void x.write('a OK Begin TLS negotiation now\r\n').then(() => x.startTls()).then(() => {
              void x.write('* TLS ready\r\n');
              x.resume();
            });
          }
        },
        closed: () => {},
      });
    });
    const c = await client(port);
    c.write('a STARTTLS\r\n');
    await readUntil(c, (t) => t.includes('a OK'));
    const secure = tlsConnect({ socket: c, ca: tls.current.options.cert as Buffer, servername: 'mail.example.test' });
    await once(secure, 'secureConnect');
    await readUntil(secure, (t) => t.includes('* TLS ready'));
    expect(io.secure).toBe(true);
    expect(io.tlsAvailable).toBe(false);
    expect(io.tlsProtocol).toMatch(/^TLSv1\.[23]$/);
    secure.write('b NOOP\r\n');
    await sleep(100);
    expect(got).toEqual(['a STARTTLS\r\n', 'b NOOP\r\n']);
    secure.destroy();
    server.close();
  });

  it('STARTTLS: cleartext the client pipelined before the handshake never reaches the sink (CVE-2011-0411)', async () => {
    const afterTls: string[] = [];
    let upgraded = false;
    let handshake: Promise<void> | null = null;
    const { server, port } = await serve((x) => {
      x.attach({
        receive: (c) => {
          const text = c.toString();
          if (upgraded) afterTls.push(text);
          else if (text.startsWith('a STARTTLS')) {
            // a session pauses while a command runs; the injected line arrives meanwhile
            x.pause();
            handshake = sleep(150)
              .then(() => x.write('a OK Begin TLS negotiation now\r\n'))
              .then(() => x.startTls())
              .then(() => {
                upgraded = true;
                x.resume();
              });
            handshake.catch(() => {});
          }
        },
        closed: () => {},
      });
    });
    const c = await client(port);
    c.write('a STARTTLS\r\n');
    await sleep(50);
    c.write('b LOGIN injected secret\r\n');
    await readUntil(c, (t) => t.includes('a OK'));
    const secure = tlsConnect({ socket: c, ca: tls.current.options.cert as Buffer, servername: 'mail.example.test' });
    const outcome = await new Promise<'tls' | 'failed'>((resolve) => {
      secure.once('secureConnect', () => resolve('tls'));
      secure.once('error', () => resolve('failed'));
      secure.once('close', () => resolve('failed'));
    });
    if (outcome === 'tls') {
      secure.write('c NOOP\r\n');
      await sleep(150);
      expect(afterTls).toEqual(['c NOOP\r\n']);
    } else {
      // the injected bytes were fed to the TLS engine and broke the handshake: also safe
      await expect(handshake).rejects.toThrow();
    }
    expect(afterTls.join('')).not.toContain('injected');
    secure.destroy();
    server.close();
  });

  it('acknowledges every read at once (TCP_QUICKACK), in cleartext and after STARTTLS', async () => {
    // The server socket is put into the kernel's delayed-ACK ("ping-pong")
    // mode just before the client writes; when the sink gets the bytes, the
    // read must already have left that mode (getsockopt TCP_QUICKACK = 1).
    // Without the acker it reads 0 until the delayed-ACK timer fires, 40 ms on.
    const states: [string, number][] = [];
    let raw!: Socket;
    const { server, port } = await serve((x) => {
      x.attach({
        receive: (c) => {
          const text = c.toString();
          states.push([text, getsockopt(raw, IPPROTO_TCP, TCP_QUICKACK)]);
          if (text.startsWith('a STARTTLS')) {
            x.pause();
            void x.write('a OK Begin TLS negotiation now\r\n').then(() => x.startTls()).then(() => {
              void x.write('* TLS ready\r\n');
              x.resume();
            });
          } else void x.write('* ok\r\n');
        },
        closed: () => {},
      });
    });
    server.on('connection', (s) => (raw = s));
    const pingPong = () => setsockopt(raw, IPPROTO_TCP, TCP_QUICKACK, 0);
    const c = await client(port);
    pingPong();
    expect(getsockopt(raw, IPPROTO_TCP, TCP_QUICKACK)).toBe(0);
    c.write('a NOOP\r\n');
    await readUntil(c, (t) => t.includes('* ok'));
    pingPong();
    c.write('a STARTTLS\r\n');
    await readUntil(c, (t) => t.includes('a OK'));
    const secure = tlsConnect({ socket: c, ca: tls.current.options.cert as Buffer, servername: 'mail.example.test' });
    await once(secure, 'secureConnect');
    await readUntil(secure, (t) => t.includes('* TLS ready'));
    pingPong();
    secure.write('b NOOP\r\n');
    await readUntil(secure, (t) => t.includes('* ok'));
    expect(states).toEqual([['a NOOP\r\n', 1], ['a STARTTLS\r\n', 1], ['b NOOP\r\n', 1]]);
    secure.destroy();
    server.close();
  });

  it('startTls() is refused when no certificate is available', async () => {
    let io!: SocketSessionIO;
    const { server, port } = await serve((x) => {
      io = x;
      x.attach({ receive: () => {}, closed: () => {} });
    }, false);
    const c = await client(port);
    await sleep(30);
    expect(io.tlsAvailable).toBe(false);
    await expect(io.startTls()).rejects.toThrow(/not available/);
    c.destroy();
    server.close();
  });
});
