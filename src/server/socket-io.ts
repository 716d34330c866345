/**
 * SessionIO (protocol/session-io.ts) over a TCP or TLS socket.
 *
 * Output: writes are corked until the next turn of the event loop, so a
 * session that writes a hundred small responses in a row sends a few packets,
 * not a hundred; a write that fills the socket buffer resolves only on
 * 'drain', which is what bounds memory when FETCH streams 100,000 bodies.
 *
 * Input: chunks go to the sink (the session) as they arrive, except while the
 * session has paused input; then they are held here and the socket is paused
 * so the kernel applies TCP flow control to the client.
 *
 * STARTTLS (RFC 3501 6.2.1, and the injection attack of CVE-2011-0411): input
 * held here when the upgrade starts was sent by the client before it could
 * have seen our "OK Begin TLS", so it is dropped, never handed to the session
 * after the handshake. Bytes still inside the net.Socket are fed to the TLS
 * engine by Node, where cleartext fails the handshake instead of becoming a
 * command.
 */
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { SessionIO } from '../../protocol/session-io.js';
import { normalizeAddress } from './address.js';
import { quickAcker } from './quick-ack.js';

export interface InputSink {
  receive(chunk: Buffer): void;
  /** the connection is gone (either side closed it, or it failed) */
  closed(): void;
}

export interface SocketIOOptions {
  /** the context to use for STARTTLS; null when TLS is not available */
  tlsContext: () => SecureContext | null;
  /** a TLS handshake not finished by then is abandoned */
  handshakeTimeoutMs?: number;
  /** after close(), a peer that does not close its side is cut off after this */
  closeTimeoutMs?: number;
  /** errors of the connection, for the log (ECONNRESET and the like) */
  onError?: (err: Error) => void;
}

const RESOLVED = Promise.resolve();
/** longest stretch of writing before the event loop gets a turn */
const TURN_EVERY_MS = 10;
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export function isLoopback(address: string): boolean {
  const a = normalizeAddress(address);
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

export class SocketSessionIO implements SessionIO {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly loopback: boolean;
  /** bytes delivered to the session, and bytes the session wrote (for the logout log line) */
  bytesIn = 0;
  bytesOut = 0;

  private sock: Socket;
  private sink: InputSink | null = null;
  private paused = false;
  private pending: Buffer[] = [];
  private delivering = false;
  private corked = false;
  private lastTurn = performance.now();
  private isClosed = false;
  private upgrading = false;
  private drainWaiters: (() => void)[] = [];
  private markClosed!: () => void;
  /** resolves when the connection is gone */
  readonly whenClosed = new Promise<void>((r) => {
    this.markClosed = r;
  });
  /** TCP_QUICKACK (quick-ack.ts): acknowledges each read at once, so that a client's Nagle never waits on our delayed ACK */
  private readonly ackNow: (() => void) | null;
  private readonly onData = (chunk: Buffer) => {
    this.ackNow?.();
    this.arrived(chunk);
  };
  private readonly onDrain = () => this.wakeWriters();
  private readonly onClose = () => this.gone();
  private readonly onErr = (err: Error) => this.o.onError?.(err);

  constructor(
    socket: Socket,
    private readonly o: SocketIOOptions,
  ) {
    this.sock = socket;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.loopback = isLoopback(this.remoteAddress);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    // the descriptor stays the same under STARTTLS's TLSSocket
    this.ackNow = quickAcker(socket);
    this.listen(socket);
    // Nothing is read until a sink is attached.
    socket.pause();
  }

  get secure(): boolean {
    return this.sock instanceof TLSSocket && this.sock.encrypted === true;
  }

  get tlsAvailable(): boolean {
    return !this.secure && !this.isClosed && this.o.tlsContext() !== null;
  }

  get closedAlready(): boolean {
    return this.isClosed;
  }

  /** The TLS protocol in use ("TLSv1.3"), or null in cleartext. */
  get tlsProtocol(): string | null {
    return this.sock instanceof TLSSocket ? this.sock.getProtocol() : null;
  }

  /** Starts delivering input to `sink`. */
  attach(sink: InputSink): void {
    this.sink = sink;
    if (this.isClosed) {
      sink.closed();
      return;
    }
    if (!this.paused) this.deliverPending();
  }

  write(data: Buffer | string, written?: () => void): Promise<void> {
    if (this.isClosed || this.sock.destroyed) {
      written?.();
      return RESOLVED;
    }
    this.bytesOut += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    if (!this.corked) {
      this.corked = true;
      this.sock.cork();
      setImmediate(() => this.uncork());
    }
    // A stream calls a write's callback once it is done with the chunk: sent,
    // or failed or discarded when the socket was destroyed (with an error).
    if (this.sock.write(data, written && (() => written()))) return this.turnDue() ? nextTurn() : RESOLVED;
    // The buffer is full: flush now ('drain' never comes while corked) and wait.
    this.uncork();
    const drained = this.waitDrain();
    return this.turnDue() ? drained.then(nextTurn) : drained;
  }

  /**
   * Whether a session that has been writing for a while should let the event
   * loop turn. On loopback the kernel takes data as fast as we make it, and
   * Node reports a completed write without ever returning to the loop, so a
   * FETCH 1:* could otherwise hold the process for seconds: no other session
   * served, no timer, no file I/O completed (the cache flush included).
   */
  private turnDue(): boolean {
    const now = performance.now();
    if (now - this.lastTurn < TURN_EVERY_MS) return false;
    this.lastTurn = now;
    return true;
  }

  async pipe(source: AsyncIterable<Buffer>): Promise<void> {
    for await (const chunk of source) {
      if (this.isClosed) break; // leaving the loop closes the source (the file)
      await this.write(chunk);
    }
  }

  startTls(): Promise<void> {
    const ctx = this.o.tlsContext();
    if (!ctx) return Promise.reject(new Error('TLS is not available on this connection'));
    if (this.secure || this.upgrading) return Promise.reject(new Error('TLS is already active'));
    if (this.isClosed) return Promise.reject(new Error('the connection is closed'));
    this.upgrading = true;
    this.uncork();
    // CVE-2011-0411: whatever we hold was pipelined in cleartext; never deliver it.
    this.pending = [];
    const plain = this.sock;
    this.unlisten(plain);
    plain.pause();
    const tls = new TLSSocket(plain, { isServer: true, secureContext: ctx });
    this.sock = tls;
    this.listen(tls);
    tls.pause();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error('TLS handshake timed out')), this.o.handshakeTimeoutMs ?? 30_000);
      const done = () => {
        clearTimeout(timer);
        tls.off('secure', onSecure);
        tls.off('error', fail);
        tls.off('close', onClosed);
        this.upgrading = false;
      };
      const onSecure = () => {
        done();
        if (!this.paused) tls.resume();
        resolve();
      };
      const fail = (err: Error) => {
        done();
        tls.destroy();
        reject(err);
      };
      const onClosed = () => fail(new Error('the connection closed during the TLS handshake'));
      tls.once('secure', onSecure);
      tls.once('error', fail);
      tls.once('close', onClosed);
    });
  }

  pause(): void {
    this.paused = true;
    this.sock.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.deliverPending();
  }

  close(): void {
    if (this.isClosed) return;
    this.uncork();
    this.sock.end();
    const t = setTimeout(() => this.sock.destroy(), this.o.closeTimeoutMs ?? 5_000);
    t.unref();
  }

  /** Cut the connection now (shutdown deadline, limits). */
  destroy(): void {
    this.sock.destroy();
  }

  private listen(s: Socket): void {
    s.on('data', this.onData);
    s.on('drain', this.onDrain);
    s.on('close', this.onClose);
    s.on('error', this.onErr);
  }

  private unlisten(s: Socket): void {
    s.off('data', this.onData);
    s.off('drain', this.onDrain);
    s.off('close', this.onClose);
    // 'error' stays: an error on the raw socket after the upgrade must not crash the process
  }

  private arrived(chunk: Buffer): void {
    if (!this.sink || this.paused || this.pending.length > 0 || this.delivering) {
      this.pending.push(chunk);
      if (this.paused || !this.sink) this.sock.pause();
      if (!this.delivering && !this.paused && this.sink) this.deliverPending();
      return;
    }
    this.bytesIn += chunk.length;
    this.sink.receive(chunk);
  }

  private deliverPending(): void {
    if (this.delivering || !this.sink) return;
    this.delivering = true;
    try {
      while (!this.paused && this.pending.length > 0 && !this.isClosed) {
        const chunk = this.pending.shift()!;
        this.bytesIn += chunk.length;
        this.sink.receive(chunk);
      }
    } finally {
      this.delivering = false;
    }
    if (!this.paused && !this.upgrading && !this.isClosed) this.sock.resume();
  }

  private uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.sock.uncork();
  }

  private waitDrain(): Promise<void> {
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private wakeWriters(): void {
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const r of w) r();
  }

  private gone(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.pending = [];
    this.wakeWriters();
    this.markClosed();
    this.sink?.closed();
  }
}
