/**
 * One listening socket (cleartext with STARTTLS, or implicit TLS) that hands
 * each admitted connection to a new protocol session over a SocketSessionIO.
 * It knows nothing of IMAP beyond what the caller gives it (the session
 * factory and the refusal line), so POP3 can use it as is.
 *
 * Shutdown (SIGTERM): stop accepting, ask every session to finish
 * (`shutdown(reason)`: the session sends BYE once its running command, e.g. an
 * APPEND being written, completes), and cut whatever is still open at the
 * deadline.
 */
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket, type Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { EX, MailroomError } from '../errors.js';
import type { TlsProvider } from '../tls/context.js';
import { formatEndpoint } from './address.js';
import type { ConnectionLimits } from './connection-limits.js';
import { SocketSessionIO } from './socket-io.js';

export interface ProtocolSession {
  start(): Promise<void>;
  receive(chunk: Buffer): void;
  closed(): void;
  /** BYE once the running command is done; give up waiting for it after deadlineMs */
  shutdown(reason: string, deadlineMs?: number): Promise<void>;
}

export interface Connection {
  id: string;
  io: SocketSessionIO;
  log: Logger;
  listener: string;
}

export interface ListenerOptions {
  /** for logs and messages: "imap", "imaps" */
  name: string;
  host: string;
  /** 0 picks a free port (tests) */
  port: number;
  implicitTls: boolean;
  tls: TlsProvider | null;
  limits: ConnectionLimits;
  log: Logger;
  createSession(conn: Connection): ProtocolSession;
  /** what to send a connection refused by the limits before closing it */
  refusal(reason: 'total' | 'perIp'): string;
  handshakeTimeoutMs?: number;
}

let nextId = 1;

export class SessionListener {
  private server: Server | TlsServer;
  private live = new Map<SocketSessionIO, { session: ProtocolSession; conn: Connection }>();
  private stopReload: (() => void) | null = null;
  private accepting = false;

  constructor(private readonly o: ListenerOptions) {
    if (o.implicitTls) {
      if (!o.tls) throw new Error(`${o.name}: implicit TLS needs a certificate`);
      const tls = o.tls;
      const server = createTlsServer({ ...tls.current.options, handshakeTimeout: o.handshakeTimeoutMs ?? 30_000 });
      server.on('secureConnection', (s: TLSSocket) => this.accept(s));
      server.on('tlsClientError', (err, s) => {
        o.log.debug({ remote: s.remoteAddress, err: err.message }, 'TLS handshake failed');
      });
      // SIGHUP: new handshakes use the renewed certificate; open sessions are untouched.
      this.stopReload = tls.onReload((c) => server.setSecureContext(c.options));
      this.server = server;
    } else {
      this.server = createTcpServer((s) => this.accept(s));
    }
    this.server.on('error', (err) => o.log.error({ listener: o.name, err: err.message }, 'listener error'));
  }

  /** Binds; a taken port or a forbidden one becomes a MailroomError with a plain message. */
  listen(): Promise<AddressInfo> {
    const { host, port, name } = this.o;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        this.server.off('listening', onListening);
        const where = formatEndpoint(host, port);
        if (err.code === 'EADDRINUSE') reject(new MailroomError(EX.UNAVAILABLE, `${name}: cannot listen on ${where}: the port is already in use (another mail server, or another mailroom with the same ports?)`, { cause: err }));
        else if (err.code === 'EACCES') reject(new MailroomError(EX.UNAVAILABLE, `${name}: cannot listen on ${where}: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)`, { cause: err }));
        else if (err.code === 'EADDRNOTAVAIL') reject(new MailroomError(EX.UNAVAILABLE, `${name}: cannot listen on ${where}: no such local address (check "bind" in the configuration)`, { cause: err }));
        else reject(new MailroomError(EX.UNAVAILABLE, `${name}: cannot listen on ${where}: ${err.message}`, { cause: err }));
      };
      const onListening = () => {
        this.server.off('error', onError);
        this.accepting = true;
        resolve(this.server.address() as AddressInfo);
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
      this.server.listen({ host, port, backlog: 511 });
    });
  }

  get name(): string {
    return this.o.name;
  }

  get implicitTls(): boolean {
    return this.o.implicitTls;
  }

  get address(): AddressInfo | null {
    return (this.server.address() as AddressInfo | null) ?? null;
  }

  get sessionCount(): number {
    return this.live.size;
  }

  /** Stops accepting; open sessions go on. */
  stopAccepting(): Promise<void> {
    this.stopReload?.();
    this.stopReload = null;
    if (!this.accepting) return Promise.resolve();
    this.accepting = false;
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /**
   * Asks every session to end (`* BYE reason` once its command is done) and
   * waits up to `deadlineMs`; connections still open then are cut.
   */
  async shutdown(reason: string, deadlineMs: number): Promise<void> {
    const closing = this.stopAccepting();
    const all = [...this.live.entries()];
    const finished = Promise.all(
      all.map(([io, { session, conn }]) =>
        session.shutdown(reason, deadlineMs).catch((err: unknown) => conn.log.warn({ err: String(err) }, 'session shutdown failed')).then(() => io.whenClosed),
      ),
    );
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((r) => {
      timer = setTimeout(() => r('late'), deadlineMs);
    });
    const outcome = await Promise.race([finished.then(() => 'done' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'late') {
      const left = [...this.live.keys()];
      this.o.log.warn({ listener: this.o.name, cut: left.length }, 'shutdown deadline reached; remaining connections cut');
      for (const io of left) io.destroy();
      await Promise.all(left.map((io) => io.whenClosed)); // 'close' follows destroy() within a tick
    }
    await closing;
  }

  private accept(socket: Socket): void {
    const { o } = this;
    const id = (nextId++).toString(36);
    const remote = socket.remoteAddress ?? '';
    const log = o.log.child({ conn: id });
    if (!this.accepting || !remote) {
      socket.destroy();
      return;
    }
    const admission = o.limits.admit(remote);
    if (!admission.ok) {
      log.warn({ listener: o.name, remote, reason: admission.reason }, 'connection refused: limit reached');
      socket.on('error', () => {});
      socket.end(o.refusal(admission.reason));
      setTimeout(() => socket.destroy(), 2_000).unref();
      return;
    }
    const io = new SocketSessionIO(socket, {
      tlsContext: () => (o.tls && !o.implicitTls ? o.tls.current.context : null),
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      onError: (err) => log.debug({ err: err.message }, 'connection error'),
    });
    const started = Date.now();
    const conn: Connection = { id, io, log, listener: o.name };
    log.info({ listener: o.name, remote, port: io.remotePort, tls: io.secure }, 'connect');
    let session: ProtocolSession;
    try {
      session = o.createSession(conn);
    } catch (err) {
      admission.release();
      log.error({ err: String(err) }, 'session could not be created');
      socket.destroy();
      return;
    }
    this.live.set(io, { session, conn });
    io.attach({
      receive: (chunk) => session.receive(chunk),
      closed: () => {
        this.live.delete(io);
        admission.release();
        log.info({ bytesIn: io.bytesIn, bytesOut: io.bytesOut, tls: io.secure, seconds: Math.round((Date.now() - started) / 100) / 10 }, 'disconnect');
        try {
          session.closed();
        } catch (err) {
          log.error({ err: String(err) }, 'session close handler failed');
        }
      },
    });
    session.start().catch((err: unknown) => {
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'session failed');
      io.destroy();
    });
  }
}
