// The session listener with stand-in sessions: limits, and shutdown that
// waits for sessions to finish and cuts the ones still open at the deadline.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ConnectionLimits } from '../src/server/connection-limits.js';
import { SessionListener, type Connection, type ProtocolSession } from '../src/server/listener.js';

const log = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Greets, echoes lines; on shutdown says BYE and closes after `finishMs` (never, if null). */
function echoSession(conn: Connection, finishMs: number | null, calls: string[]): ProtocolSession {
  return {
    start: () => conn.io.write('* OK hello\r\n'),
    receive: (chunk) => void conn.io.write(chunk),
    closed: () => calls.push('closed'),
    async shutdown(reason) {
      calls.push(`shutdown:${reason}`);
      if (finishMs === null) return new Promise<void>(() => {});
      await sleep(finishMs);
      await conn.io.write(`* BYE ${reason}\r\n`);
      conn.io.close();
    },
  };
}

async function client(port: number): Promise<{ sock: Socket; text: () => string; closed: Promise<unknown> }> {
  const sock = connect(port, '127.0.0.1');
  let text = '';
  sock.on('data', (b) => (text += b.toString()));
  sock.on('error', () => {});
  const closed = once(sock, 'close');
  await once(sock, 'connect');
  return { sock, text: () => text, closed };
}

function listener(finishMs: number | null, calls: string[], limits = { maxConnections: 10, maxConnectionsPerIp: 10 }, port = 0): SessionListener {
  return new SessionListener({
    name: 'test',
    host: '127.0.0.1',
    port,
    implicitTls: false,
    tls: null,
    limits: new ConnectionLimits(limits),
    log,
    createSession: (conn) => echoSession(conn, finishMs, calls),
    refusal: (reason) => `* BYE too many (${reason})\r\n`,
  });
}

describe('ConnectionLimits', () => {
  it('counts in total and per address, one spelling per address, and releases once', () => {
    const l = new ConnectionLimits({ maxConnections: 3, maxConnectionsPerIp: 2 });
    const a = l.admit('10.0.0.1');
    const b = l.admit('::ffff:10.0.0.1');
    expect(a.ok && b.ok).toBe(true);
    expect(l.admit('10.0.0.1')).toEqual({ ok: false, reason: 'perIp' });
    const c = l.admit('10.0.0.2');
    expect(c.ok).toBe(true);
    expect(l.admit('10.0.0.3')).toEqual({ ok: false, reason: 'total' });
    if (a.ok) {
      a.release();
      a.release();
    }
    expect(l.open).toBe(2);
    expect(l.openFrom('10.0.0.1')).toBe(1);
    expect(l.admit('10.0.0.3').ok).toBe(true);
  });
});

describe('SessionListener', () => {
  it('serves, refuses over the total with the refusal line, and counts sessions', async () => {
    const calls: string[] = [];
    const l = listener(0, calls, { maxConnections: 1, maxConnectionsPerIp: 5 });
    const { port } = await l.listen();
    const a = await client(port);
    await sleep(50);
    const b = await client(port);
    await b.closed;
    expect(a.text()).toBe('* OK hello\r\n');
    expect(b.text()).toBe('* BYE too many (total)\r\n');
    expect(l.sessionCount).toBe(1);
    a.sock.write('ping\r\n');
    await sleep(50);
    expect(a.text()).toBe('* OK hello\r\nping\r\n');
    a.sock.destroy();
    await sleep(50);
    expect(calls).toEqual(['closed']);
    expect(l.sessionCount).toBe(0);
    await l.shutdown('bye', 1000);
  });

  it('shutdown waits for sessions to say BYE and close, then stops listening', async () => {
    const calls: string[] = [];
    const l = listener(150, calls);
    const { port } = await l.listen();
    const c = await client(port);
    await sleep(30);
    await l.shutdown('Server shutting down', 5000);
    await c.closed;
    expect(c.text()).toBe('* OK hello\r\n* BYE Server shutting down\r\n');
    expect(calls).toEqual(['shutdown:Server shutting down', 'closed']);
    const late = connect(port, '127.0.0.1');
    const [err] = (await once(late, 'error')) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNREFUSED');
  });

  it('a session that does not finish is cut at the deadline', async () => {
    const calls: string[] = [];
    const l = listener(null, calls);
    const { port } = await l.listen();
    const c = await client(port);
    await sleep(30);
    await l.shutdown('now', 200);
    await c.closed;
    expect(calls).toEqual(['shutdown:now', 'closed']);
  });

  it('a port in use is a one-line error', async () => {
    const calls: string[] = [];
    const a = listener(0, calls);
    const { port } = await a.listen();
    const b = listener(0, calls, undefined, port);
    await expect(b.listen()).rejects.toThrow(`test: cannot listen on 127.0.0.1:${port}: the port is already in use`);
    await a.shutdown('x', 100);
  });
});
