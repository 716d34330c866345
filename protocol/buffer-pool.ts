/**
 * Output buffers of one size, used again once the connection has sent them
 * (SessionIO.write's `written`).
 *
 * Why: a FETCH of message bodies or a run of RETRs fills a fresh 64 KiB
 * buffer for every 64 KiB it sends. Each is an ArrayBuffer outside V8's
 * heap, and allocating them at that rate makes V8 start a full marking
 * cycle every few dozen milliseconds. Measured after a session had listed
 * its 10,000-message folder (FETCH 1:* ENVELOPE…), `FETCH 1:1000
 * BODY.PEEK[]` cost 42-59 ms of server CPU with 13-20 marking cycles over
 * ten fetches; with the buffers used again, 21-26 ms and 2 cycles.
 *
 * A buffer is only ever given back by whoever took it, after the last write
 * of it completed; one that is never given back (a connection gone, a reply
 * made and then not sent) is simply collected.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];

  /**
   * @param size every buffer's length
   * @param keep at most this many idle buffers are kept (the rest are left to the collector)
   */
  constructor(
    readonly size: number,
    private readonly keep: number,
  ) {}

  /** A buffer of `size` bytes (contents undefined), used by no one else until given back. */
  take(): Buffer {
    // allocUnsafeSlow: its own memory, never a slice of Node's shared pool
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  /** Takes back a buffer from take() that nothing refers to any more. */
  give(b: Buffer): void {
    if (b.length === this.size && b.byteOffset === 0 && this.free.length < this.keep) this.free.push(b);
  }

  /** idle buffers held (for tests) */
  get idle(): number {
    return this.free.length;
  }
}

/** The pool shared by the IMAP and POP3 response writers: 64 KiB buffers, up to 1 MiB idle. */
export const outputBuffers = new BufferPool(64 * 1024, 16);
