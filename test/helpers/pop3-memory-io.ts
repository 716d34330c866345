/**
 * An in-memory SessionIO for POP3 session tests: records what the session
 * writes, streams piped bodies chunk by chunk (yielding to the event loop
 * between chunks, like a socket draining), and simulates STLS.
 */
import type { SessionIO } from '../../protocol/session-io.js';

export interface MemoryIOOptions {
  secure?: boolean;
  tlsAvailable?: boolean;
  loopback?: boolean;
  remoteAddress?: string;
}

export class Pop3MemoryIO implements SessionIO {
  readonly out: Buffer[] = [];
  /** sizes of the chunks that went through pipe(), to check that bodies stream */
  readonly pipedChunks: number[] = [];
  closedByServer = false;
  pauses = 0;
  resumes = 0;
  secure: boolean;
  tlsAvailable: boolean;
  readonly loopback: boolean;
  readonly remoteAddress: string;
  /** runs while the TLS "handshake" is in progress (e.g. to inject bytes that must be discarded) */
  duringHandshake?: () => void;
  /** make pipe() fail after this many chunks (a read error mid-message) */
  failPipeAfter?: number;

  constructor(o: MemoryIOOptions = {}) {
    this.secure = o.secure ?? false;
    this.tlsAvailable = o.tlsAvailable ?? false;
    this.loopback = o.loopback ?? true;
    this.remoteAddress = o.remoteAddress ?? (this.loopback ? '127.0.0.1' : '192.0.2.7');
  }

  async write(data: Buffer | string, written?: () => void): Promise<void> {
    // a Buffer the session will fill again once written() is called is copied first
    this.out.push(typeof data === 'string' ? Buffer.from(data, 'utf8') : written ? Buffer.from(data) : data);
    written?.();
  }

  async pipe(source: AsyncIterable<Buffer>): Promise<void> {
    let n = 0;
    for await (const chunk of source) {
      if (this.failPipeAfter !== undefined && n >= this.failPipeAfter) throw new Error('connection reset');
      this.pipedChunks.push(chunk.length);
      this.out.push(chunk);
      n++;
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  async startTls(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
    this.duringHandshake?.();
    this.secure = true;
    this.tlsAvailable = false;
  }

  pause(): void {
    this.pauses++;
  }

  resume(): void {
    this.resumes++;
  }

  close(): void {
    this.closedByServer = true;
  }

  /** Everything written so far, as one buffer. */
  bytes(): Buffer {
    return Buffer.concat(this.out);
  }

  /** Everything written since the last take(), as latin1 text (bytes preserved). */
  take(): string {
    const s = Buffer.concat(this.out).toString('latin1');
    this.out.length = 0;
    return s;
  }
}
