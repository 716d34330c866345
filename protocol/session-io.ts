/**
 * What a protocol session needs from its connection (DESIGN.md layer rule 1:
 * sessions never touch sockets). src/ implements it over net/tls sockets;
 * tests implement it in memory.
 */
export interface SessionIO {
  /**
   * Queue bytes; resolves once the connection can take more (backpressure).
   * `written`, if given, is called once the connection no longer refers to
   * `data` (handed to the kernel, or dropped with a closed connection), so
   * the caller may fill that Buffer again (buffer-pool.ts). Resolving says
   * nothing about that: a queued write may still be pending.
   */
  write(data: Buffer | string, written?: () => void): Promise<void>;
  /**
   * Send a body from `source` with backpressure, never holding more than a
   * chunk or two. The caller has already written the `{n}\r\n` and guarantees
   * the source yields exactly n bytes.
   */
  pipe(source: AsyncIterable<Buffer>): Promise<void>;
  /**
   * Upgrade to TLS (STARTTLS/STLS). Everything the client sent before the
   * handshake and that the session has not consumed is discarded by the
   * session (CVE-2011-0411); resolves when the handshake is done.
   */
  startTls(): Promise<void>;
  /** stop / restart delivering input (while a command runs, or a literal is awaited) */
  pause(): void;
  resume(): void;
  /** close the connection after what was written is flushed */
  close(): void;
  readonly secure: boolean;
  /** TLS could be started on this connection (a certificate is configured and not yet secure) */
  readonly tlsAvailable: boolean;
  readonly remoteAddress: string;
  /** 127.0.0.0/8 or ::1 (cleartext authentication may be allowed there) */
  readonly loopback: boolean;
}

/** The accounts service the sessions authenticate against (src/accounts/auth.ts implements it). */
export interface Authenticator {
  authenticate(
    identity: string,
    password: string,
    remoteAddress: string,
  ): Promise<{ ok: true; address: string } | { ok: false; reason: 'failed' | 'locked' | 'disabled' | 'unavailable' }>;
}

/** Structured logging the sessions may use (pino's shape); never given a password or a body. */
export interface SessionLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}
